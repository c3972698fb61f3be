// Command infra is StarArena's CDK app; cdk.json runs it (`cdk synth`,
// `cdk deploy`, `cdklocal deploy`).
package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/stararena/stararena/infra/stack"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	stack.NewStarArenaStack(app, "StarArena", &stack.Props{
		// Env-agnostic (no Env): no account or region lookups, so synth needs
		// no credentials and the same template deploys to AWS or LocalStack.
	})
	app.Synth(nil)
}
