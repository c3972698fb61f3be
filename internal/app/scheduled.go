package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"golang.org/x/sync/errgroup"

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
	fn, err := a.serve(ReconcilerHTTP)
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
		return a.RunScheduled(ctx)
	}, nil
}

// RunScheduled is what the reconciler's schedule does each minute, in AWS
// and in the local stack alike: the repairs and the waiting lists' offers,
// and beside them the cancellation sagas' passes (paced to the provider's
// refund rate, so they must not hold back the repairs).
func (a *App) RunScheduled(ctx context.Context) (map[string]any, error) {
	var g errgroup.Group
	var reports []reconcile.Report
	var offers []waitlist.SweepResult
	var passes int
	g.Go(func() (err error) { reports, offers, err = a.RunSchedule(ctx); return err })
	g.Go(func() (err error) { passes, err = a.RunCancellations(ctx); return err })
	err := g.Wait()
	return map[string]any{"events": len(reports), "waitlistSweeps": len(offers), "cancellations": passes}, err
}

// RunSchedule is one run of the reconciler's schedule: repairs first, so
// places its releases free are on offer at once, then the waiting lists'
// sweep (ADR 25). A failed repair run does not hold back the offers.
func (a *App) RunSchedule(ctx context.Context) ([]reconcile.Report, []waitlist.SweepResult, error) {
	reports, rerr := a.reconcilerSvc().RunAll(ctx)
	sweeps, werr := a.waitlistSvc().SweepAll(ctx)
	if werr != nil {
		a.Log.ErrorContext(ctx, "waiting list sweep failed", "err", werr)
	}
	return reports, sweeps, errors.Join(rerr, werr)
}

// RunCancellations gives every cancelled upcoming event one pass of its
// cancellation saga (one at a time: each pass is paced to the provider's
// refund rate, and passes of several events at once would add up), and
// queues the notices of every postponed one not yet told. It answers how
// many cancellation passes ran; the first error ends none of the others.
func (a *App) RunCancellations(ctx context.Context) (int, error) {
	evs, err := a.catalogSvc().Live(ctx)
	cancel := a.cancellationSvc()
	if err != nil {
		return 0, fmt.Errorf("cancellations: %w", err)
	}
	var errs []error
	n := 0
	for i := range evs {
		if evs[i].Postponed != nil && evs[i].Cancelled == nil {
			// The postponement's notices, once per order (a done one
			// costs a read).
			if _, err := cancel.Notify(ctx, &evs[i]); err != nil {
				a.Log.WarnContext(ctx, "postponement notices failed; the next run resumes them", "eventId", evs[i].ID, "err", err)
				errs = append(errs, err)
			}
		}
		if evs[i].Cancelled == nil {
			continue
		}
		n++
		if _, err := cancel.Run(ctx, &evs[i]); err != nil {
			a.Log.WarnContext(ctx, "cancellation pass failed; the next run resumes it", "eventId", evs[i].ID, "err", err)
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}
