package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/checkout"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/localsfn"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/payments"
	"github.com/stararena/stararena/internal/payments/sandbox"
	"github.com/stararena/stararena/internal/reconcile"
	"github.com/stararena/stararena/internal/stepfunctions"
	"github.com/stararena/stararena/internal/testenv/fixture"
	"github.com/stararena/stararena/internal/tickets"
	"github.com/stararena/stararena/internal/workflow"
)

// timeScale runs the 60 s hold in 0.6 s and the issue retries in ms.
const timeScale = 0.01

// issuer wraps the ticket service; down makes it fail like an outage.
type issuer struct {
	svc   *tickets.Service
	down  atomic.Bool
	calls counter
}

func (i *issuer) IssueOrder(ctx context.Context, o orders.Order) (orders.Order, []string, error) {
	i.calls.add(o.ID)
	if i.down.Load() {
		return o, nil, apperr.New(apperr.Unavailable, "ticket service down")
	}
	return i.svc.IssueOrder(ctx, o)
}

// counter counts calls per order.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[id]++
}

func (c *counter) of(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[id]
}

// reads counts the tasks' reads of each order (workflow.Tasks.Store).
type reads struct {
	workflow.OrderReader
	counter
}

func (r *reads) GetOrder(ctx context.Context, id string) (orders.Order, error) {
	r.add(id)
	return r.OrderReader.GetOrder(ctx, id)
}

// asks counts the confirmation's questions to the provider per order.
type asks struct {
	reconcile.PaymentLookup
	counter
}

func (a *asks) PaymentsForOrder(ctx context.Context, provider, orderID string) ([]orders.Payment, error) {
	a.add(orderID)
	return a.PaymentLookup.PaymentsForOrder(ctx, provider, orderID)
}

// rig is the money path on real parts: the embedded DynamoDB server, the
// Step Functions sidecar running internal/workflow/order.asl.json, the
// sandbox provider delivering signed webhooks to the webhook handler.
type rig struct {
	*app.App
	crashes crashes
	box     *sandbox.Sandbox
	om      *orders.Service
	flow    *stepfunctions.Flow
	tickets *tickets.Service
	issuer  *issuer
	reads   *reads
	asks    *asks
	ev      catalog.Event
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	a := fixture.NewApp(t, fixture.AppOptions{Logger: quiet})
	var err error
	r := &rig{App: a}

	var webhooks atomic.Pointer[checkout.Webhooks]
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		_, err := webhooks.Load().Handle(req.Context(), "sandbox", body, req.Header.Get("Stripe-Signature"))
		if err != nil {
			w.WriteHeader(apperr.Status(apperr.CodeOf(err)))
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(hook.Close)
	r.box, err = sandbox.New(sandbox.Options{WebhookURL: hook.URL, Secret: "whsec_test", TimeScale: timeScale, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.box.Close() })
	providers := checkout.Providers{"sandbox": r.box}

	tkr, _ := tickets.GenerateKeyring()
	codec, err := tickets.NewCodec(tkr)
	if err != nil {
		t.Fatal(err)
	}
	r.tickets = tickets.NewService(a.Stores.Tickets, codec, tickets.Options{Logger: quiet})
	r.issuer = &issuer{svc: r.tickets}

	var resumer orders.Resumer = lazyResumer{r}
	r.om = orders.NewService(a.Stores.Orders, providers, resumer, orders.ServiceOptions{Logger: quiet, MaxTickets: fixture.MaxTickets(a)})
	webhooks.Store(checkout.NewWebhooks(providers, a.Stores.ProviderEvents, r.om, nil, quiet))

	r.reads = &reads{OrderReader: a.Stores.Orders}
	r.asks = &asks{PaymentLookup: providers}
	tasks := &workflow.Tasks{Orders: r.om, Inventory: a.Inventory, Store: r.reads, Payments: r.asks,
		Providers: []string{"sandbox"}, Tickets: r.issuer, Log: quiet, Crash: r.crashes.at}
	funcs := map[string]localsfn.LambdaFunc{}
	for name, h := range tasks.Handlers() {
		funcs[name] = localsfn.LambdaFunc(h)
	}
	lambdas := httptest.NewServer(localsfn.LambdaEndpoint(funcs))
	t.Cleanup(lambdas.Close)
	sd, err := localsfn.Start(ctx, localsfn.Options{LambdaURL: lambdas.URL, TimeScale: timeScale,
		Definitions: map[string]string{workflow.Name: workflow.DefinitionPath}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sd.Close() })
	r.flow = stepfunctions.New(sd.Client(), sd.StateMachineArn(workflow.Name))

	r.ev = fixture.OpenEvent(t, a, fixture.Event{HoldSeconds: 60, Rows: 2})
	return r
}

// crashes fails a crash point a set number of times.
type crashes struct {
	mu    sync.Mutex
	left  map[string]int
	fired map[string]int
}

func (c *crashes) arm(point string, times int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.left == nil {
		c.left, c.fired = map[string]int{}, map[string]int{}
	}
	c.left[point] = times
}

func (c *crashes) at(point string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.left[point] > 0 {
		c.left[point]--
		c.fired[point]++
		return fmt.Errorf("injected crash at %s", point)
	}
	return nil
}

func (c *crashes) count(point string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fired[point]
}

// lazyResumer breaks the construction cycle orders → flow → sidecar → tasks → orders.
type lazyResumer struct{ r *rig }

func (l lazyResumer) PaymentArrived(ctx context.Context, token string, o orders.Order) error {
	return l.r.flow.PaymentArrived(ctx, token, o)
}
func (l lazyResumer) LatePaymentAccepted(ctx context.Context, o orders.Order) error {
	return l.r.flow.LatePaymentAccepted(ctx, o)
}

// buy holds seats and starts the order workflow, as the holds function does.
func (r *rig) buy(t *testing.T, account string, seats ...string) (orders.Order, payments.Payment) {
	t.Helper()
	ctx := context.Background()
	o := fixture.Hold(t, r.App, account, r.ev.ID, inventory.HoldRequest{Seats: seats})
	if err := r.flow.Start(ctx, o); err != nil {
		t.Fatal(err)
	}
	pay, err := r.box.CreatePayment(ctx, o.ID, o.AmountCents, o.Currency)
	if err != nil {
		t.Fatal(err)
	}
	return o, pay
}

// settle waits until the order is in a terminal state, or fails after a
// generous bound: the assertion is the final state, not the timing.
func (r *rig) settle(t *testing.T, id string, want orders.Status) orders.Order {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		o, err := r.Stores.Orders.GetOrder(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if o.Status == want {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s is %s, want %s", id, o.Status, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *rig) ticketCount(t *testing.T, orderID string) int {
	t.Helper()
	ts, err := r.tickets.ForOrder(context.Background(), orderID)
	if err != nil {
		t.Fatal(err)
	}
	return len(ts)
}

func (r *rig) seatState(t *testing.T, seat string) string {
	t.Helper()
	st, _ := r.Stores.Inventory.SeatHolders(context.Background(), r.ev.ID, []string{seat})
	return st[seat].State
}

func TestMoneyPath(t *testing.T) {
	r := newRig(t)
	complete := func(t *testing.T, p payments.Payment, webhook string) {
		t.Helper()
		if _, err := r.box.Complete(p.ID, sandbox.Completion{Outcome: sandbox.OutcomeSucceeded, Webhook: webhook}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("WebhookDeliveredIssuesTickets", func(t *testing.T) {
		o, p := r.buy(t, "fan-1", "A-1-1", "A-1-2")
		complete(t, p, sandbox.WebhookDeliver)
		if got := r.settle(t, o.ID, orders.Issued); len(got.TicketIDs) != 2 {
			t.Fatalf("the ISSUED order lists %v, want its 2 tickets", got.TicketIDs)
		}
		if n := r.ticketCount(t, o.ID); n != 2 || r.seatState(t, "A-1-1") != catalog.SeatSold {
			t.Fatalf("%d tickets, seat %s", n, r.seatState(t, "A-1-1"))
		}
		// The payment's resume carried the paid order to the issue step,
		// whose transaction was the only check. On a busy machine the
		// webhook can come after the 0.6 s hold (then the provider was
		// asked and the issue step read the order) or a slow task be
		// invoked again (its carried order is refused, and it reads).
		n, asked, issues := r.reads.of(o.ID), r.asks.of(o.ID), r.issuer.calls.of(o.ID)
		if asked == 0 && issues == 1 && n != 0 {
			t.Fatalf("the workflow's tasks read the order %d times, want 0", n)
		}
		if n > asked+issues-1 {
			t.Fatalf("the workflow's tasks read the order %d times for %d questions to the provider and %d issue attempts", n, asked, issues)
		}
	})
	t.Run("LostWebhookIssuedThroughTheActiveQuery", func(t *testing.T) {
		o, p := r.buy(t, "fan-2", "A-1-3")
		complete(t, p, sandbox.WebhookDrop)
		r.settle(t, o.ID, orders.Issued) // after the hold's timeout, ConfirmPayment asks the sandbox
		if n := r.ticketCount(t, o.ID); n != 1 {
			t.Fatalf("%d tickets", n)
		}
		// No payment resumed the wait: the issue step read the order.
		if n := r.reads.of(o.ID); n != 1 {
			t.Fatalf("the workflow's tasks read the order %d times, want 1", n)
		}
	})
	t.Run("DuplicateAndReorderedWebhooksMakeOneSale", func(t *testing.T) {
		o, p := r.buy(t, "fan-3", "A-1-4")
		complete(t, p, sandbox.WebhookDuplicate)
		r.settle(t, o.ID, orders.Issued)
		o2, p2 := r.buy(t, "fan-4", "A-1-5")
		complete(t, p2, sandbox.WebhookReorder)
		r.settle(t, o2.ID, orders.Issued)
		if r.ticketCount(t, o.ID) != 1 || r.ticketCount(t, o2.ID) != 1 {
			t.Fatal("a duplicate made more tickets")
		}
		ps, _ := r.box.PaymentsForOrder(context.Background(), o.ID)
		if len(ps) != 1 || ps[0].AmountRefundedCents != 0 {
			t.Fatalf("payments %+v", ps)
		}
	})
	t.Run("UnpaidHoldIsReleasedAtExpiry", func(t *testing.T) {
		o, _ := r.buy(t, "fan-5", "A-1-6")
		r.settle(t, o.ID, orders.Expired)
		if r.seatState(t, "A-1-6") != catalog.SeatAvailable {
			t.Fatalf("seat %s", r.seatState(t, "A-1-6"))
		}
	})
	t.Run("LatePaymentWithSeatsFreeIsIssued", func(t *testing.T) {
		o, p := r.buy(t, "fan-6", "A-1-7")
		r.settle(t, o.ID, orders.Expired)
		complete(t, p, sandbox.WebhookDeliver)
		r.settle(t, o.ID, orders.Issued)
		if r.ticketCount(t, o.ID) != 1 {
			t.Fatal("late payment without tickets")
		}
	})
	t.Run("LatePaymentWithSeatsGoneIsRefunded", func(t *testing.T) {
		o, p := r.buy(t, "fan-7", "A-1-8")
		r.settle(t, o.ID, orders.Expired)
		other, _ := r.buy(t, "fan-8", "A-1-8")
		complete(t, p, sandbox.WebhookDeliver)
		r.settle(t, o.ID, orders.Refunded)
		got, _ := r.box.GetPayment(context.Background(), p.ID)
		if got.AmountRefundedCents != got.AmountCents {
			t.Fatalf("refunded %d of %d", got.AmountRefundedCents, got.AmountCents)
		}
		if st, _ := r.Stores.Inventory.SeatHolders(context.Background(), r.ev.ID, []string{"A-1-8"}); st["A-1-8"].OrderID != other.ID {
			t.Fatalf("the other fan lost the seat: %+v", st["A-1-8"])
		}
	})
	t.Run("IssuerOutageEndsInIssueFailed", func(t *testing.T) {
		r.issuer.down.Store(true)
		o, p := r.buy(t, "fan-9", "A-1-9")
		complete(t, p, sandbox.WebhookDeliver)
		r.settle(t, o.ID, orders.IssueFailed)
		r.issuer.down.Store(false)
		// The reconciler's repair is the same task the workflow runs.
		tasks := &workflow.Tasks{Orders: r.om, Store: r.Stores.Orders, Tickets: r.issuer}
		if _, err := tasks.Issue(context.Background(), workflow.OrderInput{OrderID: o.ID}); err != nil {
			t.Fatal(err)
		}
		r.settle(t, o.ID, orders.Issued)
		if n := r.ticketCount(t, o.ID); n != 1 {
			t.Fatalf("%d tickets", n)
		}
	})
	t.Run("CrashAfterIssuingIsRepaired", func(t *testing.T) {
		// The tickets and the move to ISSUED are one transaction: the task
		// dies after it, the retried task finds the order ISSUED, queues
		// its confirmation and crashes no more.
		r.crashes.arm(workflow.CrashAfterTicketsIssued, 2)
		o, p := r.buy(t, "fan-10", "A-1-10")
		complete(t, p, sandbox.WebhookDeliver)
		r.settle(t, o.ID, orders.Issued)
		if n, fired := r.ticketCount(t, o.ID), r.crashes.count(workflow.CrashAfterTicketsIssued); n != 1 || fired != 1 {
			t.Fatalf("%d tickets after %d crashes, want 1 after 1", n, fired)
		}
	})
	t.Run("CarriedOrderThatMovedOnIsReadAgain", func(t *testing.T) {
		// A retry of the issue step carries the order as the payment left
		// it (PAID), though the first attempt issued it: the transaction
		// refuses, the task reads the order and issues nothing more.
		o, p := r.buy(t, "fan-12", "A-2-9")
		complete(t, p, sandbox.WebhookDeliver)
		issued := r.settle(t, o.ID, orders.Issued)
		left := issued
		left.Status, left.Version, left.TicketIDs = orders.Paid, issued.Version-1, nil
		mine := &reads{OrderReader: r.Stores.Orders}
		tasks := &workflow.Tasks{Orders: r.om, Store: mine, Tickets: r.issuer, Log: slog.New(slog.DiscardHandler)}
		out, err := tasks.Issue(context.Background(), workflow.OrderInput{OrderID: o.ID, Payment: &workflow.Resumed{Paid: true, Order: &left}})
		if err != nil {
			t.Fatal(err)
		}
		if out["status"] != orders.Issued || r.ticketCount(t, o.ID) != 1 || mine.of(o.ID) != 1 {
			t.Fatalf("answer %v, %d tickets, %d reads; want ISSUED, 1 ticket, 1 read", out, r.ticketCount(t, o.ID), mine.of(o.ID))
		}
	})
	t.Run("TicketsIssuedWithoutTheOrderMarkedAreMarked", func(t *testing.T) {
		// Tickets written by the create-only path (Issue) before a crash
		// left the order PAID or ISSUE_FAILED: the task marks the order
		// ISSUED and keeps those tickets.
		r.issuer.down.Store(true)
		defer r.issuer.down.Store(false)
		o, p := r.buy(t, "fan-13", "A-2-1")
		complete(t, p, sandbox.WebhookDeliver)
		r.settle(t, o.ID, orders.IssueFailed)
		r.issuer.down.Store(false)
		failed, err := r.Stores.Orders.GetOrder(context.Background(), o.ID)
		if err != nil {
			t.Fatal(err)
		}
		before, err := r.tickets.Issue(context.Background(), failed)
		if err != nil || len(before) != 1 {
			t.Fatalf("create-only issue: %d tickets, %v", len(before), err)
		}
		tasks := &workflow.Tasks{Orders: r.om, Store: r.Stores.Orders, Tickets: r.issuer}
		if _, err := tasks.Issue(context.Background(), workflow.OrderInput{OrderID: o.ID}); err != nil {
			t.Fatal(err)
		}
		r.settle(t, o.ID, orders.Issued)
		after, err := r.tickets.ForOrder(context.Background(), o.ID)
		if err != nil || len(after) != 1 || after[0].ID != before[0].ID || after[0].Version != before[0].Version {
			t.Fatalf("tickets after marking: %+v, %v; want the ones issued before", after, err)
		}
	})
	t.Run("RefundBeforeIssuingLeavesNoTickets", func(t *testing.T) {
		// The order is refunded between the task's read and its
		// transaction: the transaction's condition on the order refuses
		// the tickets, and the task answers the order as it is.
		r.issuer.down.Store(true)
		defer r.issuer.down.Store(false)
		o, p := r.buy(t, "fan-14", "A-2-2")
		complete(t, p, sandbox.WebhookDeliver)
		r.settle(t, o.ID, orders.IssueFailed)
		r.issuer.down.Store(false)
		read, err := r.Stores.Orders.GetOrder(context.Background(), o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Stores.Orders.SetStatus(context.Background(), read, []orders.Status{orders.IssueFailed}, orders.RefundPending, nil, time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.tickets.IssueOrder(context.Background(), read); !errors.Is(err, tickets.ErrOrderMoved) {
			t.Fatalf("issuing a refunded order read before its refund: %v, want ErrOrderMoved", err)
		}
		tasks := &workflow.Tasks{Orders: r.om, Store: r.Stores.Orders, Tickets: r.issuer}
		out, err := tasks.Issue(context.Background(), workflow.OrderInput{OrderID: o.ID})
		if err != nil || out["status"] != orders.RefundPending {
			t.Fatalf("task on a refunded order: %v, %v", out, err)
		}
		if n := r.ticketCount(t, o.ID); n != 0 {
			t.Fatalf("%d tickets for an order refunded before issuing", n)
		}
	})
	t.Run("CrashAfterApplyingALostPaymentIsRepaired", func(t *testing.T) {
		// The webhook is lost; the active query applies the payment and
		// crashes before answering; the retried task finds the order paid.
		r.crashes.arm(workflow.CrashAfterPaymentApply, 1)
		o, p := r.buyGA(t, "fan-11", 2)
		complete(t, p, sandbox.WebhookDrop)
		r.settle(t, o.ID, orders.Issued)
		if n, fired := r.ticketCount(t, o.ID), r.crashes.count(workflow.CrashAfterPaymentApply); n != 2 || fired != 1 {
			t.Fatalf("%d tickets after %d crashes", n, fired)
		}
	})
}

func (r *rig) buyGA(t *testing.T, account string, q int) (orders.Order, payments.Payment) {
	t.Helper()
	ctx := context.Background()
	tok, _, err := r.Gate.Admit(ctx, account, r.ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	o, err := r.Inventory.Hold(ctx, account, r.ev.ID, inventory.HoldRequest{AdmissionToken: tok, Section: "GA", Quantity: q}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.flow.Start(ctx, o); err != nil {
		t.Fatal(err)
	}
	pay, err := r.box.CreatePayment(ctx, o.ID, o.AmountCents, o.Currency)
	if err != nil {
		t.Fatal(err)
	}
	return o, pay
}

// raceEvent creates an event with one row of n seats and the rig's hold
// time, for races that need a seat per order.
func (r *rig) raceEvent(t *testing.T, n int) catalog.Event {
	t.Helper()
	p, hold := int64(5000), 60
	req := catalog.CreateEventRequest{Name: "Race", Venue: "Hall", HoldSeconds: &hold,
		StartsAt: time.Now().Add(time.Hour).UTC().Format(time.RFC3339), SaleOpensAt: time.Now().Add(-time.Hour).UTC().Format(time.RFC3339),
		Queue:    &catalog.QueueRequest{Mode: catalog.QueueOff},
		Sections: []catalog.SectionRequest{{ID: "R", PriceCents: &p, Currency: "EUR", Rows: []catalog.Row{{ID: "1", Seats: n}}}}}
	ev, err := req.Event()
	if err != nil {
		t.Fatal(err)
	}
	if ev, err = r.Catalog.Create(context.Background(), ev, "org", "org"); err != nil {
		t.Fatal(err)
	}
	return ev
}

// racer is one fan of TestTimerAndPaymentRaceThroughTheWorkflow.
type racer struct {
	seat   string
	offset time.Duration // when the fan pays, relative to the workflow's hold timeout
	rival  bool          // another fan grabs the seat as soon as it is free
	order  orders.Order
	pay    payments.Payment
	// rivalOrder is the rival's hold, when it got the seat.
	rivalOrder string
}

// TestTimerAndPaymentRaceThroughTheWorkflow: GIVEN 40 orders whose fans
// pay within a few ms of the moment the workflow's payment wait times out
// (some before, some after), and for every fourth order a rival fan who
// tries to hold the same seat from just before that moment on
// WHEN the webhook, the workflow's timeout, ConfirmPayment, ReleaseHold and
// the rival's hold race on the same orders and seats, through the real
// Step Functions sidecar, the sandbox's signed webhooks and the embedded
// DynamoDB
// THEN every order ends terminal; no order ends EXPIRED while its payment
// is captured and not refunded; every captured payment either pays exactly
// one ISSUED order or is refunded exactly once; tickets exist only for
// ISSUED orders, one set each; no seat is SOLD without an ISSUED order; and
// the reconciler finds nothing left to repair.
func TestTimerAndPaymentRaceThroughTheWorkflow(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 40 order workflows")
	}
	const n = 40
	r := newRig(t)
	r.ev = r.raceEvent(t, n)
	ctx := context.Background()
	timeout := time.Duration(float64(r.ev.HoldSeconds) * timeScale * float64(time.Second))

	racers := make([]*racer, n)
	for i := range racers {
		// Offsets from 30 ms before to 87 ms after the timeout, 3 ms
		// apart: the timeout itself starts a chain (ConfirmPayment asks
		// the sandbox, then ReleaseHold) that takes a few ms, so payments
		// land before, inside and after it.
		racers[i] = &racer{seat: fmt.Sprintf("R-1-%d", i+1), offset: time.Duration(-30+3*i) * time.Millisecond, rival: i%4 == 3}
	}

	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i, rc := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.race(ctx, i, rc, timeout); err != nil {
				errs <- fmt.Errorf("racer %d (%s): %w", i, rc.seat, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	// Settled: the sandbox has no delivery pending or in flight (so no
	// payment is still on its way to an order) and every order is terminal.
	var ids []string
	for _, rc := range racers {
		ids = append(ids, rc.order.ID)
		if rc.rivalOrder != "" {
			ids = append(ids, rc.rivalOrder)
		}
	}
	final := r.settleAll(t, ids, 20*time.Second)

	var captured, refunded, issued, late, rivalsWon int
	for i, rc := range racers {
		o := final[rc.order.ID]
		ps, err := r.box.PaymentsForOrder(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 1 || !ps[0].Paid() {
			t.Fatalf("racer %d: provider payments %+v", i, ps)
		}
		p := ps[0]
		captured++
		refundEvents := 0
		for _, e := range r.box.Events(p.ID) {
			if e.Type == payments.EventChargeRefunded {
				refundEvents++
			}
		}
		isRefunded := p.AmountRefundedCents == p.AmountCents
		if isRefunded {
			refunded++
		}
		switch o.Status {
		case orders.Issued:
			issued++
			if o.Late {
				late++
			}
			if o.PaymentID != p.ID || isRefunded || refundEvents != 0 {
				t.Errorf("racer %d: ISSUED order paid by %q, provider payment %s refunded %d/%d (%d refund events)",
					i, o.PaymentID, p.ID, p.AmountRefundedCents, p.AmountCents, refundEvents)
			}
		case orders.Refunded:
			if !isRefunded || refundEvents != 1 {
				t.Errorf("racer %d: REFUNDED order, provider refunded %d/%d with %d refund events", i, p.AmountRefundedCents, p.AmountCents, refundEvents)
			}
			rec, ok, err := r.Stores.Orders.GetPayment(ctx, "sandbox", p.ID)
			if err != nil || !ok || !rec.Refunded {
				t.Errorf("racer %d: payment record %+v (found %v, %v)", i, rec, ok, err)
			}
		default:
			// EXPIRED with the money kept is the bug this test hunts.
			t.Errorf("racer %d: order %s is %s with payment %s captured (refunded %d/%d)", i, o.ID, o.Status, p.ID, p.AmountRefundedCents, p.AmountCents)
		}
		if rc.rivalOrder != "" {
			rivalsWon++
			if st := final[rc.rivalOrder].Status; st != orders.Expired {
				t.Errorf("racer %d: the rival's unpaid hold is %s, want EXPIRED", i, st)
			}
		}
		// Every payment here is captured, so a refund means the seat went
		// to the rival before the late payment could take it back, and the
		// other way round.
		if (o.Status == orders.Refunded) != (rc.rivalOrder != "") {
			t.Errorf("racer %d: order %s while the rival holds %q", i, o.Status, rc.rivalOrder)
		}
	}
	t.Logf("%d orders: %d issued (%d of them through the late-payment path), %d refunded; rivals got %d seats",
		n, issued, late, refunded, rivalsWon)
	if captured != issued+refunded {
		t.Errorf("%d captured payments, %d issued orders + %d refunds", captured, issued, refunded)
	}

	// Tickets exist for ISSUED orders only, one per place.
	for _, id := range ids {
		o := final[id]
		want := 0
		if o.Status == orders.Issued {
			want = o.Places()
		}
		ts, err := r.tickets.ForOrder(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) != want {
			t.Errorf("order %s (%s) has %d tickets, want %d", id, o.Status, len(ts), want)
		}
		for _, tk := range ts {
			if tk.Status != tickets.StatusValid {
				t.Errorf("order %s ticket %s is %s", id, tk.ID, tk.Status)
			}
		}
	}

	// No seat is SOLD or HELD without an ISSUED order that lists it, and
	// every ISSUED order's seats are sold to it.
	seatIDs := make([]string, n)
	for i, rc := range racers {
		seatIDs[i] = rc.seat
	}
	holders, err := r.Stores.Inventory.SeatHolders(ctx, r.ev.ID, seatIDs)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if o := final[id]; o.Status == orders.Issued {
			for _, s := range o.Seats {
				if h := holders[s]; h.State != catalog.SeatSold || h.OrderID != id {
					t.Errorf("ISSUED order %s: seat %s is %+v", id, s, h)
				}
			}
		}
	}
	for _, s := range seatIDs {
		h := holders[s]
		switch h.State {
		case catalog.SeatAvailable:
		case catalog.SeatSold:
			if o, ok := final[h.OrderID]; !ok || o.Status != orders.Issued {
				t.Errorf("seat %s is SOLD to order %q (%s)", s, h.OrderID, o.Status)
			}
		default:
			t.Errorf("seat %s is %+v after every order settled", s, h)
		}
	}

	// The reconciler, looking at the same event, has nothing to report.
	rep, err := r.Reconciler.Run(ctx, r.ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Found != 0 || rep.Checked.Seats != n {
		t.Errorf("reconciler after the race: %+v", rep)
	}
}

// race runs one racer: hold, start the workflow, create the payment, pay at
// timeout+offset; a rival, when there is one, tries to take the seat from
// just before the timeout until it gets it or the order is paid.
func (r *rig) race(ctx context.Context, i int, rc *racer, timeout time.Duration) error {
	account := fmt.Sprintf("racer-%d", i)
	tok, _, err := r.Gate.Admit(ctx, account, r.ev.ID)
	if err != nil {
		return err
	}
	o, err := r.Inventory.Hold(ctx, account, r.ev.ID, inventory.HoldRequest{AdmissionToken: tok, Seats: []string{rc.seat}}, "")
	if err != nil {
		return err
	}
	rc.order = o
	// The payment wait starts a moment after StartExecution returns; the
	// offsets spread the payments across that uncertainty.
	if err := r.flow.Start(ctx, o); err != nil {
		return err
	}
	expiry := time.Now().Add(timeout)
	if rc.pay, err = r.box.CreatePayment(ctx, o.ID, o.AmountCents, o.Currency); err != nil {
		return err
	}
	rivalDone := make(chan error, 1)
	if rc.rival {
		go func() { rivalDone <- r.rival(ctx, i, rc, expiry.Add(-10*time.Millisecond)) }()
	} else {
		rivalDone <- nil
	}
	time.Sleep(time.Until(expiry.Add(rc.offset))) // the moment the fan pays, not a wait for a result
	if _, err := r.box.Complete(rc.pay.ID, sandbox.Completion{Outcome: sandbox.OutcomeSucceeded, Webhook: sandbox.WebhookDeliver}); err != nil {
		return err
	}
	return <-rivalDone
}

// rival tries to hold rc's seat for another account from start on, until
// it holds it, the order is paid (the seat is sold) or 3 s have passed.
func (r *rig) rival(ctx context.Context, i int, rc *racer, start time.Time) error {
	account := fmt.Sprintf("rival-%d", i)
	time.Sleep(time.Until(start))
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		tok, _, err := r.Gate.Admit(ctx, account, r.ev.ID)
		if err != nil {
			return err
		}
		o, err := r.Inventory.Hold(ctx, account, r.ev.ID, inventory.HoldRequest{AdmissionToken: tok, Seats: []string{rc.seat}}, "")
		if err == nil {
			rc.rivalOrder = o.ID
			return r.flow.Start(ctx, o) // unpaid: its own workflow expires it
		}
		if code := apperr.CodeOf(err); code != apperr.SeatsUnavailable && code != apperr.Unavailable {
			return err
		}
		cur, err := r.Stores.Orders.GetOrder(ctx, rc.order.ID)
		if err != nil {
			return err
		}
		if cur.Status == orders.Paid || cur.Status == orders.Issued || cur.Status == orders.IssueFailed {
			return nil // sold to the racer: nothing to take
		}
		time.Sleep(2 * time.Millisecond) // pace the retries
	}
	return nil
}

// settleAll waits until the sandbox has no webhook pending or in flight
// and every order is terminal, in the same look, and returns the orders;
// it fails after bound.
func (r *rig) settleAll(t *testing.T, ids []string, bound time.Duration) map[string]orders.Order {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(bound)
	done, cancel := context.WithCancel(ctx)
	cancel() // WaitIdle on a done context: nil only when idle now
	for {
		idle := r.box.WaitIdle(done) == nil
		got, err := r.Stores.Reconcile.OrdersByID(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		var open []string
		for _, id := range ids {
			if o, ok := got[id]; !ok || !o.Status.Terminal() {
				open = append(open, id+" "+string(o.Status))
			}
		}
		if len(open) == 0 && idle && r.box.WaitIdle(done) == nil {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("not settled after %s: sandbox idle %v, open orders %v", bound, idle, open)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
