package inventory_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/orders"
)

// TestHoldTimingsAreMeasuredPerHold: a service with Timings reports each
// hold once, with the order it made, the transactions it sent on the
// embedded DynamoDB and the workflow start its OnHold hook recorded, and
// the parts never add up to more than the whole.
func TestHoldTimingsAreMeasuredPerHold(t *testing.T) {
	w := newWorld(t)
	ev := w.event(t, 2, 0, 4)
	var mu sync.Mutex
	var got []inventory.Timing
	const workflow = 20 * time.Millisecond
	svc := inventory.NewService(w.Stores.Inventory, w.Catalog, w.Tokens, inventory.Options{
		OnHold: func(ctx context.Context, o orders.Order) error {
			start := time.Now()
			time.Sleep(workflow) // stands in for StartExecution's round trip
			inventory.RecordWorkflowStart(ctx, time.Since(start))
			return nil
		},
		Timings: func(tm inventory.Timing) {
			mu.Lock()
			got = append(got, tm)
			mu.Unlock()
		},
	})
	ctx := context.Background()
	req := inventory.HoldRequest{AdmissionToken: w.token(t, "fan-1", ev.ID), Seats: []string{"A-1-1"}}
	o, err := svc.Hold(ctx, "fan-1", ev.ID, req, "key-1")
	if err != nil {
		t.Fatal(err)
	}
	// The same key again: a replay. Its transaction is refused on the
	// key's record (the record is read only then), no workflow starts.
	if _, err := svc.Hold(ctx, "fan-1", ev.ID, req, "key-1"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d timings for 2 holds", len(got))
	}
	first, replay := got[0], got[1]
	if first.OrderID != o.ID || first.IdempotencyKey != "key-1" || first.Account != "fan-1" {
		t.Errorf("timing names order %q key %q account %q, want %q key-1 fan-1", first.OrderID, first.IdempotencyKey, first.Account, o.ID)
	}
	if first.Attempts != 1 || first.Transaction <= 0 {
		t.Errorf("first hold: %d transactions taking %v, want 1 taking some time", first.Attempts, first.Transaction)
	}
	if first.WorkflowStart < workflow || first.AfterCommit < first.WorkflowStart {
		t.Errorf("workflow start %v, after commit %v: want at least %v, after commit ≥ workflow start", first.WorkflowStart, first.AfterCommit, workflow)
	}
	if first.BeforeTransaction <= 0 || first.Total < first.BeforeTransaction+first.Transaction+first.AfterCommit {
		t.Errorf("total %v < before %v + transaction %v + after commit %v", first.Total, first.BeforeTransaction, first.Transaction, first.AfterCommit)
	}
	if replay.OrderID != o.ID || replay.Attempts != 1 || replay.WorkflowStart != 0 || replay.AfterCommit != 0 {
		t.Errorf("replay: order %q, %d transactions (%v), workflow %v, after commit %v; want the same order, one refused transaction and no workflow",
			replay.OrderID, replay.Attempts, replay.Transaction, replay.WorkflowStart, replay.AfterCommit)
	}
}
