// Command mark-issue-failed is the order workflow's "mark-issue-failed" task (see
// internal/workflow/order.asl.json); Step Functions invokes it.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/stararena/stararena/internal/app"
)

func main() {
	a, err := app.FromEnv(context.Background())
	if err == nil {
		var task func(context.Context, []byte) ([]byte, error)
		if h, terr := a.Task("mark-issue-failed"); terr == nil {
			task = func(ctx context.Context, in []byte) ([]byte, error) { return h(ctx, in) }
		} else {
			err = terr
		}
		if err == nil {
			lambda.Start(task)
			return
		}
	}
	fmt.Fprintln(os.Stderr, "mark-issue-failed:", err)
	os.Exit(1)
}
