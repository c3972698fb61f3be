package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stararena/stararena/internal/reconcile"
	"github.com/stararena/stararena/internal/waitlist"
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
		reports, offers, err := a.RunSchedule(ctx)
		return map[string]any{"events": len(reports), "waitlistSweeps": len(offers)}, err
	}, nil
}

// RunSchedule is one run of the reconciler's schedule: repairs first, so
// places its releases free are on offer at once, then the waiting lists'
// sweep (ADR 25). A failed repair run does not hold back the offers.
func (a *App) RunSchedule(ctx context.Context) ([]reconcile.Report, []waitlist.SweepResult, error) {
	reports, rerr := a.Reconciler.RunAll(ctx)
	sweeps, werr := a.Waitlist.SweepAll(ctx)
	if werr != nil {
		a.Log.ErrorContext(ctx, "waiting list sweep failed", "err", werr)
	}
	return reports, sweeps, errors.Join(rerr, werr)
}
