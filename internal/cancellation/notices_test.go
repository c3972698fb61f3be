package cancellation_test

import (
	"context"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/cancellation"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/mail"
)

func (w *world) postpone(t *testing.T, by time.Duration) catalog.Event {
	t.Helper()
	now := w.clk.Now()
	ev, err := w.Catalog.Postpone(context.Background(), w.ev.ID, catalog.PostponeRequest{
		StartsAt: now.Add(by), RefundUntil: now.Add(by / 2)}, "org-1")
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func (w *world) notify(t *testing.T, ev catalog.Event) cancellation.Notices {
	t.Helper()
	nt, err := w.saga.Notify(context.Background(), &ev)
	if err != nil {
		t.Fatal(err)
	}
	return nt
}

// causes are the postponement notices queued so far, by order.
func (w *world) causes() map[string][]string {
	w.queue.mu.Lock()
	defer w.queue.mu.Unlock()
	out := map[string][]string{}
	for _, r := range w.queue.reqs {
		if r.Kind == mail.EventPostponed {
			out[r.OrderID] = append(out[r.OrderID], r.Postponed)
		}
	}
	return out
}

// TestPostponementNotifiesEveryTicketHolderOncePerPostponement: GIVEN two
// issued orders, a paid one, an open hold and a refunded order WHEN the
// event is postponed and the schedule runs twice THEN one notice is queued
// per order that holds tickets, stamped with the postponement, and the
// second run queues nothing; an order bought after the new date was set
// gets none; a second postponement queues a new notice for each holder.
func TestPostponementNotifiesEveryTicketHolderOncePerPostponement(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	var holders []string
	for _, seat := range []string{"A-1-1", "A-1-2"} {
		o := w.hold(t, "fan-"+seat, inventory.HoldRequest{Seats: []string{seat}})
		w.issue(t, o)
		holders = append(holders, o.ID)
	}
	paid := w.hold(t, "fan-paid", inventory.HoldRequest{Seats: []string{"A-1-3"}})
	w.pay(t, paid)
	holders = append(holders, paid.ID)
	w.hold(t, "fan-pending", inventory.HoldRequest{Seats: []string{"A-1-4"}})
	refunded := w.hold(t, "fan-refunded", inventory.HoldRequest{Seats: []string{"A-1-5"}})
	w.issue(t, refunded)
	if _, err := w.svc.RefundOrder(ctx, refunded.ID, "org-1", "changed plans"); err != nil {
		t.Fatal(err)
	}

	w.clk.Advance(time.Second)
	ev := w.postpone(t, 60*24*time.Hour)
	stamp := ev.Postponed.At.UTC().Format(time.RFC3339Nano)
	w.clk.Advance(time.Second)
	late := w.hold(t, "fan-late", inventory.HoldRequest{Seats: []string{"A-1-6"}})
	w.issue(t, late)

	nt := w.notify(t, ev)
	if nt.State != cancellation.Done || nt.Notified != len(holders) {
		t.Fatalf("first run: %+v, want DONE with %d notified", nt, len(holders))
	}
	if again := w.notify(t, ev); again.Notified != len(holders) || again.Passes != 1 {
		t.Errorf("second run changed the notices: %+v", again)
	}
	got := w.causes()
	if len(got) != len(holders) {
		t.Errorf("notices for %d orders, want %d: %v", len(got), len(holders), got)
	}
	for _, id := range holders {
		if s := got[id]; len(s) != 1 || s[0] != stamp {
			t.Errorf("order %s: notices %v, want one stamped %s", id, s, stamp)
		}
	}

	// A second postponement is a new cause for every holder, the late
	// buyer included.
	w.clk.Advance(time.Minute)
	ev = w.postpone(t, 90*24*time.Hour)
	second := ev.Postponed.At.UTC().Format(time.RFC3339Nano)
	if nt := w.notify(t, ev); nt.Notified != len(holders)+1 || !nt.At.Equal(ev.Postponed.At) {
		t.Fatalf("after the second postponement: %+v", nt)
	}
	got = w.causes()
	for _, id := range append(holders, late.ID) {
		if s := got[id]; len(s) == 0 || s[len(s)-1] != second {
			t.Errorf("order %s: notices %v, want the last stamped %s", id, s, second)
		}
	}
	if s := got[refunded.ID]; len(s) != 0 {
		t.Errorf("the refunded order got notices %v", s)
	}
}

// TestOnePassAfterTheSettleTimeRefundsAndNotifies: GIVEN two issued orders
// WHEN the first pass of the saga starts after the settle time THEN it
// refunds both and queues both buyers' notices in the same pass (it reads
// the orders as its refunds left them, not as the listing had them).
func TestOnePassAfterTheSettleTimeRefundsAndNotifies(t *testing.T) {
	w := newWorld(t)
	var ids []string
	for _, seat := range []string{"A-1-1", "A-1-2"} {
		o := w.hold(t, "fan-"+seat, inventory.HoldRequest{Seats: []string{seat}})
		w.issue(t, o)
		ids = append(ids, o.ID)
	}
	if _, _, err := w.saga.Cancel(context.Background(), w.ev.ID, "The artist is ill.", "manager-1"); err != nil {
		t.Fatal(err)
	}
	w.clk.Advance(time.Minute)
	p := w.pass(t)
	if p.State != cancellation.Done || p.Refunded != 2 || p.Notified != 2 {
		t.Fatalf("one pass: %+v, want DONE with 2 refunded and 2 notified", p)
	}
	w.queue.mu.Lock()
	defer w.queue.mu.Unlock()
	told := map[string]bool{}
	for _, r := range w.queue.reqs {
		if r.Kind == mail.EventCancelled {
			told[r.OrderID] = true
		}
	}
	for _, id := range ids {
		if !told[id] {
			t.Errorf("order %s: no cancellation notice queued", id)
		}
	}
}
