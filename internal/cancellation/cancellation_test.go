package cancellation_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/cancellation"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/checkout"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/mail"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/payments"
	"github.com/stararena/stararena/internal/payments/sandbox"
	"github.com/stararena/stararena/internal/seatmgmt"
	"github.com/stararena/stararena/internal/testenv/fixture"
	"github.com/stararena/stararena/internal/tickets"
)

// world is a cancellation on real parts: the embedded DynamoDB, the
// sandbox provider, the ticket and order services, the inventory.
type world struct {
	*app.App
	clk    *clock.Manual
	box    *sandbox.Sandbox
	svc    *orders.Service
	tk     *tickets.Service
	saga   *cancellation.Service
	ev     catalog.Event
	queue  *queue
	starts *starts
}

// queue records the causes put on the mail queue.
type queue struct {
	mu   sync.Mutex
	reqs []mail.Request
}

func (q *queue) Enqueue(_ context.Context, r mail.Request) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.reqs = append(q.reqs, r)
	return nil
}

// starts records when each refund began, on the world's clock.
type starts struct {
	clk *clock.Manual
	svc *orders.Service
	mu  sync.Mutex
	at  []time.Time
}

func (s *starts) RefundOrder(ctx context.Context, id, by, reason string) (orders.Order, error) {
	s.mu.Lock()
	s.at = append(s.at, s.clk.Now())
	s.mu.Unlock()
	return s.svc.RefundOrder(ctx, id, by, reason)
}

const perSecond = 5

func newWorld(t *testing.T) *world {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	clk := clock.NewManual(time.Now())
	a := fixture.NewApp(t, fixture.AppOptions{Clock: clk, Logger: quiet})
	w := &world{App: a, clk: clk, queue: &queue{}}
	var err error
	if w.box, err = sandbox.New(sandbox.Options{Secret: "whsec_test", Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.box.Close() })
	tkr, _ := tickets.GenerateKeyring()
	codec, err := tickets.NewCodec(tkr)
	if err != nil {
		t.Fatal(err)
	}
	w.tk = tickets.NewService(a.Stores.Tickets, codec, tickets.Options{Clock: clk, Logger: quiet})
	w.svc = orders.NewService(a.Stores.Orders, checkout.Providers{"sandbox": w.box}, nil, orders.ServiceOptions{Clock: clk, Logger: quiet,
		Tickets: w.tk, MaxTickets: fixture.MaxTickets(a),
		EventCancelled: func(ctx context.Context, id string) (bool, error) {
			ev, err := a.Catalog.Get(ctx, id)
			return ev.Cancelled != nil, err
		}})
	w.starts = &starts{clk: clk, svc: w.svc}
	w.saga = cancellation.New(a.Stores.Cancellation, a.Catalog, w.starts, a.Inventory, w.queue, cancellation.Options{
		Clock: clk, Logger: quiet, RefundsPerSecond: perSecond, MaxFailuresInARow: 2,
		// The pass waits on the world's clock, so pacing is measured on it.
		Sleep: func(_ context.Context, d time.Duration) error { clk.Advance(d); return nil }})
	w.ev = fixture.OpenEvent(t, a, fixture.Event{MaxTicketsPerAccount: 4})
	return w
}

func (w *world) hold(t *testing.T, account string, r inventory.HoldRequest) orders.Order {
	t.Helper()
	return fixture.Hold(t, w.App, account, w.ev.ID, r)
}

func (w *world) status(t *testing.T, id string) orders.Status {
	t.Helper()
	o, err := w.Stores.Orders.GetOrder(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return o.Status
}

// refundsOf is how often the provider refunded the payment and how much.
func (w *world) refundsOf(t *testing.T, paymentID string) (int64, int) {
	t.Helper()
	p, err := w.box.GetPayment(context.Background(), paymentID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range w.box.Events(paymentID) {
		if e.Type == payments.EventChargeRefunded {
			n++
		}
	}
	return p.AmountRefundedCents, n
}

func (w *world) pass(t *testing.T) cancellation.Progress {
	t.Helper()
	ev, err := w.Catalog.Get(context.Background(), w.ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.saga.Run(context.Background(), &ev)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func wantCode(t *testing.T, what string, err error, code apperr.Code) {
	t.Helper()
	if apperr.CodeOf(err) != code {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
}

// TestCancellationRefundsEveryPaidOrderOnce: GIVEN three issued orders, a
// paid one and an open hold WHEN the event is cancelled, twice THEN the
// second cancel changes nothing; admission and holds answer
// EVENT_CANCELLED; the saga releases the hold, refunds every paid order
// once at no more than the configured rate, revokes every ticket (the gate
// answers REVOKED), leaves no place held or sold, waits out the settle time
// before it ends, queues one notice per refunded order, and further passes
// change nothing.
func TestCancellationRefundsEveryPaidOrderOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	var pays []payments.Payment
	var codes []string
	for i, seat := range []string{"A-1-1", "A-1-2", "A-1-3"} {
		o := w.hold(t, "fan-"+seat, inventory.HoldRequest{Seats: []string{seat}})
		p, ts := w.issue(t, o)
		pays = append(pays, p)
		codes = append(codes, ts[0].Code)
		_ = i
	}
	paidOnly := w.hold(t, "fan-ga", inventory.HoldRequest{Section: "GA", Quantity: 2})
	pays = append(pays, w.pay(t, paidOnly))
	pending := w.hold(t, "fan-pending", inventory.HoldRequest{Seats: []string{"A-1-9"}})

	p, created, err := w.saga.Cancel(ctx, w.ev.ID, "The artist is ill.", "manager-1")
	if err != nil || !created || p.State != cancellation.Refunding || p.Reason != "The artist is ill." {
		t.Fatalf("cancel: %+v created=%v %v", p, created, err)
	}
	again, created, err := w.saga.Cancel(ctx, w.ev.ID, "Another reason.", "manager-2")
	if err != nil || created || again.Reason != "The artist is ill." || again.RequestedBy != "manager-1" {
		t.Fatalf("second cancel changed something: %+v created=%v %v", again, created, err)
	}
	// Admissions and holds read the event through the instance's copy
	// (ADR 14): they refuse once it lapses, well inside the settle time.
	w.clk.Advance(fixture.Config(t).EventCacheTTL + time.Millisecond)
	_, err = fixture.TryHold(ctx, w.App, "fan-late", w.ev.ID, inventory.HoldRequest{Seats: []string{"A-1-5"}})
	wantCode(t, "hold after cancel", err, apperr.EventCancelled)
	_, _, err = w.Gate.Admit(ctx, "fan-late", w.ev.ID)
	wantCode(t, "admission after cancel", err, apperr.EventCancelled)
	_, err = w.Catalog.ControlSale(ctx, w.ev.ID, catalog.SaleRequest{Action: catalog.ActionOpen}, "manager-1")
	wantCode(t, "reopen after cancel", err, apperr.EventCancelled)

	first := w.pass(t)
	if first.State != cancellation.Refunding || first.Orders != 4 || first.Refunded != 4 || first.Failing != 0 || first.HoldsReleased != 1 {
		t.Fatalf("first pass (inside the settle time): %+v", first)
	}
	if len(w.queue.reqs) != 0 {
		t.Fatalf("notices queued before every refund was done: %v", w.queue.reqs)
	}
	if st := w.status(t, pending.ID); st != orders.Cancelled {
		t.Fatalf("open hold is %s, want CANCELLED", st)
	}
	for i := 1; i < len(w.starts.at); i++ {
		if gap := w.starts.at[i].Sub(w.starts.at[i-1]); gap < time.Second/perSecond {
			t.Fatalf("refunds %d and %d started %s apart; at %d/s they must be %s apart", i-1, i, gap, perSecond, time.Second/perSecond)
		}
	}

	w.clk.Advance(time.Minute)
	done := w.pass(t)
	if done.State != cancellation.Done || done.Refunded != 4 || done.Notified != 4 || done.FinishedAt.IsZero() {
		t.Fatalf("pass after the settle time: %+v", done)
	}
	seen := map[string]bool{}
	for _, r := range w.queue.reqs {
		if r.Kind != mail.EventCancelled || seen[r.OrderID] {
			t.Fatalf("notice %+v: want one event-cancelled notice per order", r)
		}
		seen[r.OrderID] = true
	}
	if len(seen) != 4 {
		t.Fatalf("notices for %d orders, want 4", len(seen))
	}
	w.clk.Advance(time.Minute)
	if later := w.pass(t); later.Passes != done.Passes || len(w.queue.reqs) != 4 {
		t.Fatalf("a pass after DONE changed something: %+v, %d notices", later, len(w.queue.reqs))
	}

	for _, pay := range pays {
		cents, n := w.refundsOf(t, pay.ID)
		if cents != pay.AmountCents || n != 1 {
			t.Fatalf("payment %s: refunded %d cents in %d refunds, want %d in 1", pay.ID, cents, n, pay.AmountCents)
		}
	}
	for i, code := range codes {
		res, err := w.tk.CheckIn(ctx, w.ev.ID, code, "nonce-"+string(rune('a'+i)), "gate 1")
		if err != nil || res.Result != tickets.Revoked {
			t.Fatalf("ticket %d at the gate: %+v %v, want REVOKED", i, res, err)
		}
	}
	av, err := w.Catalog.Rebuild(ctx, &w.ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range av {
		if s.Held != 0 || s.Sold != 0 {
			t.Fatalf("section %s after the cancellation: %d held, %d sold", s.Section, s.Held, s.Sold)
		}
	}
}

// TestCancellationRidesOutAProviderOutage: GIVEN issued orders and a
// provider whose refunds fail WHEN a pass runs THEN it stops after the
// configured failures in a row, reports them and leaves the saga
// REFUNDING; WHEN the provider is back THEN the next pass refunds every
// order once, counting the retries, and the saga ends.
func TestCancellationRidesOutAProviderOutage(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	var pays []payments.Payment
	for _, seat := range []string{"A-1-1", "A-1-2", "A-1-3"} {
		p, _ := w.issue(t, w.hold(t, "fan-"+seat, inventory.HoldRequest{Seats: []string{seat}}))
		pays = append(pays, p)
	}
	if _, _, err := w.saga.Cancel(ctx, w.ev.ID, "Venue flooded.", "manager-1"); err != nil {
		t.Fatal(err)
	}
	w.box.SetFailures(sandbox.OpRefund, sandbox.Fault{Times: 1000})
	w.clk.Advance(time.Minute)
	down := w.pass(t)
	if down.State != cancellation.Refunding || down.Refunded != 0 || down.Failing != 2 || len(w.starts.at) != 2 {
		t.Fatalf("pass while the provider is down: %+v after %d attempts; want 2 failures, then a stop", down, len(w.starts.at))
	}
	w.box.SetFailures(sandbox.OpRefund, sandbox.Fault{})
	w.clk.Advance(time.Minute)
	back := w.pass(t)
	if back.State != cancellation.Done || back.Refunded != 3 || back.Failing != 0 || back.Retries != 2 {
		t.Fatalf("pass after the outage: %+v", back)
	}
	for _, pay := range pays {
		if cents, n := w.refundsOf(t, pay.ID); cents != pay.AmountCents || n != 1 {
			t.Fatalf("payment %s: %d cents in %d refunds", pay.ID, cents, n)
		}
	}
}

// TestLatePaymentAfterTheCancellationIsRefunded: GIVEN a hold the saga
// released WHEN its payment arrives afterwards THEN the payment is
// refunded and the seat stays free, rather than the order being paid
// again for an event that will not happen.
func TestLatePaymentAfterTheCancellationIsRefunded(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	o := w.hold(t, "fan-1", inventory.HoldRequest{Seats: []string{"A-1-1"}})
	if _, _, err := w.saga.Cancel(ctx, w.ev.ID, "Cancelled.", "manager-1"); err != nil {
		t.Fatal(err)
	}
	w.pass(t)
	p, err := w.box.CreatePayment(ctx, o.ID, o.AmountCents, o.Currency)
	if err != nil {
		t.Fatal(err)
	}
	if p, err = w.box.Complete(p.ID, sandbox.Completion{Outcome: sandbox.OutcomeSucceeded, Webhook: sandbox.WebhookDrop}); err != nil {
		t.Fatal(err)
	}
	out, err := w.svc.PaymentCaptured(ctx, orders.Payment{Provider: "sandbox", ID: p.ID, OrderID: o.ID, Succeeded: true,
		AmountCents: p.AmountCents, Currency: p.Currency})
	if err != nil || out != orders.OutcomeRefunded {
		t.Fatalf("late payment: %s %v, want REFUNDED", out, err)
	}
	if cents, n := w.refundsOf(t, p.ID); cents != p.AmountCents || n != 1 {
		t.Fatalf("late payment refunded %d cents in %d refunds", cents, n)
	}
	st, err := w.Stores.Inventory.SeatHolders(ctx, w.ev.ID, []string{"A-1-1"})
	if err != nil || st["A-1-1"].State != catalog.SeatAvailable {
		t.Fatalf("seat after the late payment: %+v %v", st, err)
	}
}

func (w *world) seller() fixture.Seller {
	return fixture.Seller{Box: w.box, Orders: w.svc, Tickets: w.tk, Store: w.Stores.Orders}
}

func (w *world) pay(t *testing.T, o orders.Order) payments.Payment { return w.seller().Pay(t, o) }

func (w *world) issue(t *testing.T, o orders.Order) (payments.Payment, []tickets.IssuedTicket) {
	return w.seller().Issue(t, o)
}

// TestCancellationRevokesCompsWithoutARefund: GIVEN a complimentary order
// (no payment) beside a paid one WHEN the event is cancelled THEN the
// saga ends with both REFUNDED and no failures: the comp's tickets are
// revoked and its seat freed, and only the paid order's payment is
// refunded.
func TestCancellationRevokesCompsWithoutARefund(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	comp, err := w.Seats.Comp(ctx, w.ev.ID, "manager-1", seatmgmt.CompRequest{Seats: []string{"A-1-4"}, To: "guest@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	compTickets, err := w.tk.ForOrder(ctx, comp.OrderID)
	if err != nil || len(compTickets) != 1 {
		t.Fatalf("comp tickets: %v %v", compTickets, err)
	}
	paid, _ := w.issue(t, w.hold(t, "fan-paid", inventory.HoldRequest{Seats: []string{"A-1-5"}}))
	if _, _, err := w.saga.Cancel(ctx, w.ev.ID, "Venue flooded.", "manager-1"); err != nil {
		t.Fatal(err)
	}
	w.clk.Advance(time.Minute)
	done := w.pass(t)
	if done.State != cancellation.Done || done.Orders != 2 || done.Refunded != 2 || done.Failing != 0 {
		t.Fatalf("pass: %+v; want both orders settled, none failing", done)
	}
	if st := w.status(t, comp.OrderID); st != orders.Refunded {
		t.Fatalf("comp is %s, want REFUNDED", st)
	}
	if res, err := w.tk.CheckIn(ctx, w.ev.ID, compTickets[0].Code, "nonce-comp", "gate 1"); err != nil || res.Result != tickets.Revoked {
		t.Fatalf("comp ticket at the gate: %+v %v, want REVOKED", res, err)
	}
	if cents, n := w.refundsOf(t, paid.ID); cents != paid.AmountCents || n != 1 {
		t.Fatalf("paid order: %d cents in %d refunds", cents, n)
	}
	av, err := w.Catalog.Rebuild(ctx, &w.ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range av {
		if s.Held != 0 || s.Sold != 0 {
			t.Fatalf("section %s after the cancellation: %d held, %d sold", s.Section, s.Held, s.Sold)
		}
	}
}
