// Command infra is StarArena's CDK app; cdk.json runs it (`cdk synth`,
// `cdk deploy`, `cdklocal deploy`). Deployment choices are CDK context
// (`-c key=value`); stack.SettingsFromContext lists them.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/stararena/stararena/infra/stack"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	settings, err := stack.SettingsFromContext(app)
	if err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		os.Exit(2)
	}
	// No account lookups: synth needs no credentials, and the templates
	// deploy to any account of the bootstrapped Regions (or LocalStack).
	stack.NewApp(app, settings, nil)
	app.Synth(nil)
}
