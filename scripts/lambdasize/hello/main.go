// Command hello is the smallest useful Go Lambda function: it answers any
// event with a fixed API Gateway response. scripts/lambdasize builds it as
// scripts/build.sh builds the functions and measures them against it.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"},
			Body: `{"hello":"world"}`}, nil
	})
}
