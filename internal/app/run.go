package app

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

// RunHTTP is the whole main of an HTTP Lambda function: wire from the
// environment, fail fast on bad configuration, serve.
func RunHTTP(name string) {
	fn, err := HTTPFunctionFromEnv(context.Background(), name)
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
	lambda.Start(fn.Handle)
}

// RunTask is the whole main of an order-workflow task function.
func RunTask(name string) {
	a, err := FromEnv(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
	task, err := a.Task(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
	lambda.Start(func(ctx context.Context, in []byte) ([]byte, error) { return task(ctx, in) })
}
