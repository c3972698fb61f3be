// Command reconciler is the "reconciler" Lambda function: EventBridge runs
// it every minute over every event, and POST /admin/v1/reconcile runs it on
// demand.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/stararena/stararena/internal/app"
)

func main() {
	ctx := context.Background()
	a, err := app.FromEnv(ctx, "reconciler")
	if err != nil {
		fmt.Fprintln(os.Stderr, "reconciler:", err)
		os.Exit(1)
	}
	fn, err := a.HTTPFunction("reconciler")
	if err != nil {
		fmt.Fprintln(os.Stderr, "reconciler:", err)
		os.Exit(1)
	}
	lambda.Start(func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			RouteKey string `json:"routeKey"`
		}
		if json.Unmarshal(raw, &probe) == nil && probe.RouteKey != "" {
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, err
			}
			return fn.Handle(ctx, ev)
		}
		reports, err := a.Reconciler.RunAll(ctx) // the schedule
		return map[string]any{"events": len(reports)}, err
	})
}
