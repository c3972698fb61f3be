package rush

import (
	"context"
	"fmt"
	"time"

	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/reconcile"
	"github.com/stararena/stararena/internal/workflow"
)

// offsetClock is the wall clock moved forward by d.
type offsetClock struct{ d time.Duration }

func (c offsetClock) Now() time.Time { return time.Now().UTC().Add(c.d) }

// taskIssuer issues tickets through the workflow's own task, as the
// application's reconciler does.
type taskIssuer struct{ t *workflow.Tasks }

func (i taskIssuer) IssueTickets(ctx context.Context, orderID string) error {
	_, err := i.t.Issue(ctx, workflow.OrderInput{OrderID: orderID})
	return err
}

// ReconcileRound is one run of the final reconciliation.
type ReconcileRound struct {
	Found      int            `json:"found"`
	Repaired   int            `json:"repaired"`
	NeedsHuman int            `json:"needsHuman"`
	Kinds      map[string]int `json:"kinds"`
	Seconds    float64        `json:"seconds"`
}

// reconcileUntilQuiet runs the reconciler until a run finds nothing. The
// money path ran on the scaled clock while orders carry real expiry times
// (a 15-minute hold that lasted 9 s expires in the database 15 minutes
// after it was made), so this reconciler reads the time as it will be once
// every hold, issue deadline and grace period of the sale has passed: what
// the scheduled reconciler of a real sale sees a quarter of an hour later.
func (s *sim) reconcileUntilQuiet(ctx context.Context) (rounds []ReconcileRound, quiet bool, err error) {
	a := s.st.App
	// Its requests are the simulation's final check, not the sale's: name
	// them apart in the report's breakdown.
	ctx = dynamo.WithCaller(ctx, "final-reconcile")
	ahead := time.Duration(s.cfg.HoldSeconds)*time.Second + dynamo.IssueDeadline + 10*time.Minute
	rec := reconcile.New(a.Stores.Reconcile, a.Catalog, a.Inventory, a.Orders, a.Providers, taskIssuer{a.Tasks},
		reconcile.Options{Clock: offsetClock{ahead}, Logger: a.Log, Providers: a.Providers.Names(), Tickets: a.Tickets, Metrics: a.Metrics})
	for range 10 {
		start := time.Now()
		reps, err := rec.SweepAll(ctx)
		if err != nil {
			return rounds, false, fmt.Errorf("reconcile: %w", err)
		}
		r := ReconcileRound{Kinds: map[string]int{}}
		for _, rep := range reps {
			r.Found += rep.Found
			r.Repaired += rep.Repaired
			r.NeedsHuman += rep.NeedsHuman
			for _, f := range rep.Findings {
				r.Kinds[f.Kind]++
			}
		}
		r.Seconds = time.Since(start).Seconds()
		rounds = append(rounds, r)
		// Repairs move money and start workflows (refund webhooks, late
		// issuing): let them finish before looking again.
		if err := s.settle(ctx); err != nil {
			return rounds, false, err
		}
		if r.Found == 0 {
			return rounds, true, nil
		}
	}
	return rounds, false, nil
}
