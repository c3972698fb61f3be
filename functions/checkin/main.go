// Command checkin is the "checkin" Lambda function (see internal/topology).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/stararena/stararena/internal/app"
)

func main() {
	fn, err := app.HTTPFunctionFromEnv(context.Background(), "checkin")
	if err != nil {
		fmt.Fprintln(os.Stderr, "checkin:", err)
		os.Exit(1)
	}
	lambda.Start(fn.Handle)
}
