package reconcile_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/reconcile"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/testenv/fixture"
)

// requestLog records every request the application's DynamoDB client sends
// to the local DynamoDB, with its parameters as JSON, so a test can tell
// which requests name an event.
type requestLog struct {
	mu   sync.Mutex
	reqs []string
}

func (l *requestLog) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("logRequests",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			b, _ := json.Marshal(in.Parameters)
			l.mu.Lock()
			l.reqs = append(l.reqs, string(b))
			l.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

// since returns the requests logged from mark on.
func (l *requestLog) since(mark int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.reqs[mark:]...)
}

func (l *requestLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.reqs)
}

// newLoggedWorld is newWorld on a client whose requests are logged, with a
// reconciler that also checks refunded orders' tickets.
func newLoggedWorld(t *testing.T) (*world, *requestLog) {
	t.Helper()
	db, table := testenv.DynamoDB(t)
	log := &requestLog{}
	logged := dynamodb.New(db.Options(), func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, log.middleware) })
	clk := clock.NewManual(time.Now())
	a := fixture.NewApp(t, fixture.AppOptions{Clock: clk, DB: logged, Table: table})
	w := &world{App: a, clk: clk, prov: &provider{payments: map[string][]orders.Payment{}, refunded: map[string]bool{}}}
	w.om = orders.NewService(a.Stores.Orders, w.prov, nil, orders.ServiceOptions{Clock: clk})
	w.iss = &issuer{tasks: a.Tasks}
	w.rec = reconcile.New(a.Stores.Reconcile, a.Catalog, a.Inventory, w.om, w.prov, w.iss,
		reconcile.Options{Clock: clk, Grace: time.Minute, Providers: []string{"sandbox"}, Tickets: a.Tickets})
	w.ev = fixture.OpenEvent(t, a, fixture.Event{HoldSeconds: 60})
	return w, log
}

// idleEvent creates an event whose sale opens in a month.
func idleEvent(t *testing.T, w *world, name string) catalog.Event {
	t.Helper()
	now := w.clk.Now()
	price, ga := int64(5000), 10
	req := catalog.CreateEventRequest{
		Name: name, Venue: "Hall",
		StartsAt:    now.Add(60 * 24 * time.Hour).UTC().Format(time.RFC3339),
		SaleOpensAt: now.Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339),
		Queue:       &catalog.QueueRequest{Mode: catalog.QueueOff},
		Sections: []catalog.SectionRequest{
			{ID: "A", PriceCents: &price, Currency: "EUR", Rows: []catalog.Row{{ID: "1", Seats: 10}}},
			{ID: "GA", PriceCents: &price, Currency: "EUR", Capacity: &ga},
		},
	}
	ev, err := req.Event()
	if err != nil {
		t.Fatal(err)
	}
	if ev, err = w.Catalog.Create(context.Background(), ev, "organizer-1", "organizer-1"); err != nil {
		t.Fatal(err)
	}
	return ev
}

// runAll runs the schedule's reconciliation and returns the events' reports
// by id.
func runAll(t *testing.T, rec *reconcile.Service) map[string]reconcile.Report {
	t.Helper()
	reps, err := rec.RunAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]reconcile.Report{}
	for _, r := range reps {
		out[r.EventID] = r
	}
	return out
}

// TestIdleEventsCostTheScheduledRunNoRequestOfTheirOwn: GIVEN events whose
// sale opens in a month and that nothing ever touched, beside one on sale,
// WHEN the scheduled run reconciles THEN no request it sends names an idle
// event, it stores no report for them, and ten times the idle events cost
// the run not one request more.
func TestIdleEventsCostTheScheduledRunNoRequestOfTheirOwn(t *testing.T) {
	w, log := newLoggedWorld(t)
	var idle []catalog.Event
	for i := range 3 {
		idle = append(idle, idleEvent(t, w, "Idle "+string(rune('a'+i))))
	}
	runAll(t, w.rec) // the first run has no previous report to start from
	w.clk.Advance(time.Minute)

	count := func() (int, []string) {
		t.Helper()
		mark := log.mark()
		reps := runAll(t, w.rec)
		if _, ok := reps[w.ev.ID]; !ok {
			t.Fatalf("the event on sale was not reconciled: %v", reps)
		}
		for _, ev := range idle {
			if _, ok := reps[ev.ID]; ok {
				t.Errorf("the idle event %s was reconciled", ev.ID)
			}
		}
		reqs := log.since(mark)
		return len(reqs), reqs
	}
	few, reqs := count()
	for _, ev := range idle {
		for _, r := range reqs {
			if strings.Contains(r, ev.ID) {
				t.Errorf("a request of the scheduled run names the idle event %s: %s", ev.ID, r)
			}
		}
	}
	for i := range 27 {
		idle = append(idle, idleEvent(t, w, "More idle "+string(rune('a'+i))))
	}
	w.clk.Advance(time.Minute)
	many, reqs := count()
	t.Logf("scheduled run: %d requests with 3 idle events, %d with 30", few, many)
	if many != few {
		t.Errorf("the run sent %d requests with 30 idle events and %d with 3: idle events cost requests of their own", many, few)
	}
	for _, ev := range idle {
		for _, r := range reqs {
			if strings.Contains(r, ev.ID) {
				t.Errorf("a request of the scheduled run names the idle event %s: %.300s", ev.ID, r)
			}
		}
	}
}

// quietDown closes the world's sale and runs the schedule, a little more
// than DueQuiet apart, until it no longer visits the event: what the
// sale left is done and its mark is cleared.
func quietDown(t *testing.T, w *world) {
	t.Helper()
	if _, err := w.Catalog.ControlSale(context.Background(), w.ev.ID, catalog.SaleRequest{Action: catalog.ActionClose}, "organizer-1"); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		w.clk.Advance(reconcile.DueQuiet + time.Minute)
		r, visited := runAll(t, w.rec)[w.ev.ID]
		if !visited {
			return
		}
		if r.Found != 0 {
			t.Fatalf("the closed sale left findings: %+v", r.Findings)
		}
	}
	t.Fatal("the schedule kept visiting an event with nothing open long after its sale closed")
}

// TestEventThatBecomesActiveAfterIdleIsReconciledByTheNextRun: GIVEN an
// event whose sale closed and that the schedule has stopped visiting
// WHEN something gives it work again — a comp issued, a refund recorded,
// a late payment, a cancellation — THEN the next scheduled run reconciles
// it and repairs what is wrong, and once nothing is open it is left again.
func TestEventThatBecomesActiveAfterIdleIsReconciledByTheNextRun(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*world, orders.Order, orders.Order) {
		w, _ := newLoggedWorld(t)
		sold := w.pay(t, w.hold(t, "fan-1", "A-1-1"))
		if err := w.iss.IssueTickets(ctx, sold.ID); err != nil {
			t.Fatal(err)
		}
		expired := w.hold(t, "fan-2", "A-1-2")
		if _, err := w.Inventory.Release(ctx, expired.ID, orders.Expired); err != nil {
			t.Fatal(err)
		}
		quietDown(t, w)
		sold, err := w.Stores.Orders.GetOrder(ctx, sold.ID)
		if err != nil {
			t.Fatal(err)
		}
		expired, err = w.Stores.Orders.GetOrder(ctx, expired.ID)
		if err != nil {
			t.Fatal(err)
		}
		return w, sold, expired
	}
	finding := func(t *testing.T, w *world, kind, orderID string) {
		t.Helper()
		r, visited := runAll(t, w.rec)[w.ev.ID]
		if !visited {
			t.Fatal("the next run did not reconcile the event that became active")
		}
		for _, f := range r.Findings {
			if f.Kind == kind && f.OrderID == orderID && f.Repaired {
				return
			}
		}
		t.Fatalf("the next run found %+v, want %s of %s repaired", r.Findings, kind, orderID)
	}

	t.Run("comp issued", func(t *testing.T) {
		w, _, _ := setup(t)
		// A comp whose tickets were never stored (its issuing crashed).
		now := w.clk.Now()
		comp := orders.Order{ID: "comp-1", EventID: w.ev.ID, Account: "guest-1", Status: orders.Issued, Section: "A",
			Seats: []string{"A-1-5"}, Currency: "EUR", CreatedAt: now, UpdatedAt: now, ExpiresAt: now, PaidAt: now, Version: 1}
		if err := w.Stores.Inventory.CreateComp(ctx, comp); err != nil {
			t.Fatal(err)
		}
		w.clk.Advance(time.Minute)
		finding(t, w, reconcile.IssuedNoTickets, comp.ID)
	})
	t.Run("refund recorded", func(t *testing.T) {
		w, sold, _ := setup(t)
		// An organizer's refund begun and never completed.
		if err := w.Stores.Orders.BeginRefund(ctx, sold, begun(w), w.clk.Now()); err != nil {
			t.Fatal(err)
		}
		w.clk.Advance(2 * time.Minute) // past the grace
		finding(t, w, reconcile.RefundIncomplete, sold.ID)
		if st := w.status(t, sold.ID); st != orders.Refunded {
			t.Fatalf("refund left %s", st)
		}
	})
	t.Run("late payment", func(t *testing.T) {
		w, _, expired := setup(t)
		// The fan's payment lands long after the hold expired: the order
		// takes its seat again, and the workflow that would issue it is
		// lost.
		p := orders.Payment{Provider: "sandbox", ID: "pi_late", OrderID: expired.ID, Succeeded: true, AmountCents: expired.AmountCents, Currency: expired.Currency}
		w.prov.payments[expired.ID] = []orders.Payment{p}
		if _, err := w.om.PaymentCaptured(ctx, p); err != nil {
			t.Fatal(err)
		}
		if st := w.status(t, expired.ID); st.Terminal() {
			t.Fatalf("the late payment left the order %s: nothing for the reconciler", st)
		}
		w.clk.Advance(10 * time.Minute) // past the issue deadline and the grace
		r, visited := runAll(t, w.rec)[w.ev.ID]
		if !visited || len(r.Findings) == 0 || r.Findings[0].OrderID != expired.ID || !r.Findings[0].Repaired {
			t.Fatalf("the next run (visited %v) found %+v, want the late order %s repaired", visited, r.Findings, expired.ID)
		}
	})
	t.Run("cancellation started", func(t *testing.T) {
		w, sold, _ := setup(t)
		if _, _, err := w.Catalog.Cancel(ctx, w.ev.ID, "storm", "organizer-1"); err != nil {
			t.Fatal(err)
		}
		w.clk.Advance(time.Minute)
		if _, visited := runAll(t, w.rec)[w.ev.ID]; !visited {
			t.Fatal("the run after the cancellation did not reconcile the event")
		}
		// The saga's refund of the sold order, begun and not completed,
		// is the reconciler's once its grace has passed, long after the
		// cancellation.
		w.clk.Advance(2 * reconcile.DueQuiet)
		if err := w.Stores.Orders.BeginRefund(ctx, sold, begun(w), w.clk.Now()); err != nil {
			t.Fatal(err)
		}
		w.clk.Advance(2 * time.Minute)
		finding(t, w, reconcile.RefundIncomplete, sold.ID)
	})
	t.Run("left again once done", func(t *testing.T) {
		w, sold, _ := setup(t)
		if err := w.Stores.Orders.BeginRefund(ctx, sold, begun(w), w.clk.Now()); err != nil {
			t.Fatal(err)
		}
		w.clk.Advance(2 * time.Minute)
		finding(t, w, reconcile.RefundIncomplete, sold.ID)
		// The refund's tickets are re-checked for RevokeWindow, then the
		// event is idle again.
		for range 4 {
			w.clk.Advance(reconcile.RevokeWindow / 2)
			r, visited := runAll(t, w.rec)[w.ev.ID]
			if !visited {
				return
			}
			t.Logf("still visited: %+v", r)
		}
		t.Fatal("the event stayed due after its refund was done and out of the window")
	})
}

// begun is what the orders service sets on an order when it begins an
// organizer's refund.
func begun(w *world) map[string]any {
	return map[string]any{"refundRequestedBy": "organizer-1", "refundRequestedAt": w.clk.Now(), "refundHoldsPlaces": true}
}

// TestScheduledRunReadsOnlyWhatChangedSinceItsLastRun: GIVEN an issued
// order with its payment recorded, which a scheduled run has checked WHEN
// the next run comes within the overlap that lists the order again THEN it
// reads neither the order's seats nor the payment's record again; and
// once the order changes (a refund that left its seat sold) the next run
// reads the seat again and reports the drift.
func TestScheduledRunReadsOnlyWhatChangedSinceItsLastRun(t *testing.T) {
	ctx := context.Background()
	w, log := newLoggedWorld(t)
	o := w.pay(t, w.hold(t, "fan-1", "A-1-1"))
	w.prov.payments[o.ID] = []orders.Payment{{Provider: "sandbox", ID: "pi_" + o.ID, OrderID: o.ID, Succeeded: true, AmountCents: o.AmountCents, Currency: o.Currency}}
	if err := w.iss.IssueTickets(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	w.clk.Advance(time.Second)
	if r := runAll(t, w.rec)[w.ev.ID]; r.Checked.Seats != 1 || r.Found != 0 {
		t.Fatalf("first run: %+v, want the issued order's seat checked and nothing found", r)
	}

	w.clk.Advance(30 * time.Second) // within ChangeOverlap: the order is listed again
	mark := log.mark()
	r := runAll(t, w.rec)[w.ev.ID]
	if r.Checked.Orders != 1 || r.Checked.Seats != 0 || r.Found != 0 {
		t.Fatalf("second run: %+v, want the order listed, its seat not read again", r)
	}
	for _, req := range log.since(mark) {
		if strings.Contains(req, "PAYMENT#") {
			t.Errorf("the second run read a payment record it had seen accounted for: %.300s", req)
		}
	}

	// The order changes: a refund that completes but leaves the seat sold
	// (begun without holding its places back).
	sold, err := w.Stores.Orders.GetOrder(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Stores.Orders.BeginRefund(ctx, sold, nil, w.clk.Now()); err != nil {
		t.Fatal(err)
	}
	w.clk.Advance(2 * time.Minute) // past the grace
	r = runAll(t, w.rec)[w.ev.ID]
	if k := kinds(r); k[reconcile.RefundIncomplete] != 1 || k[reconcile.SoldSeatUnpaid] != 1 {
		t.Fatalf("after the order changed: %+v, want the refund completed and the seat still sold reported", r.Findings)
	}
}
