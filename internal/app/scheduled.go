package app

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
)

// ScheduledFunction is the handler of a function that an EventBridge
// schedule of the topology invokes, exactly as its Lambda main starts it, so
// `make invoke` runs the same code on a sample event.
func (a *App) ScheduledFunction(name string) (func(ctx context.Context, raw json.RawMessage) (any, error), error) {
	switch name {
	case "inlet":
		return a.Inlet(), nil
	case "reconciler":
		return a.ReconcilerFunction()
	}
	return nil, fmt.Errorf("no scheduled function %q", name)
}

// ReconcilerFunction is the "reconciler" function: the HTTP API invokes it
// for POST /admin/v1/reconcile (payload format 2.0, recognised by its
// routeKey), and the schedule with any other event, which reconciles every
// event.
func (a *App) ReconcilerFunction() (func(ctx context.Context, raw json.RawMessage) (any, error), error) {
	fn, err := a.HTTPFunction("reconciler")
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			RouteKey string `json:"routeKey"`
		}
		if json.Unmarshal(raw, &probe) == nil && probe.RouteKey != "" {
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("reconciler: decode HTTP event: %w", err)
			}
			return fn.Handle(ctx, ev)
		}
		reports, err := a.Reconciler.RunAll(ctx)
		return map[string]any{"events": len(reports)}, err
	}, nil
}
