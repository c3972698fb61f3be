package sandbox

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/payments"
	"github.com/stararena/stararena/internal/payments/paymentstest"
)

var ctx = context.Background()

func TestConformance(t *testing.T) {
	paymentstest.Run(t, func(t *testing.T) paymentstest.Harness {
		sb := newSandbox(t, nil, clock.NewManual(paymentstest.Now), nil)
		return paymentstest.Harness{
			Provider:   sb,
			Descriptor: Descriptor(),
			Stateful:   true,
			Pay: func(t *testing.T, id string, succeed bool) {
				outcome := OutcomeDeclined
				if succeed {
					outcome = OutcomeSucceeded
				}
				if _, err := sb.Complete(id, Completion{Outcome: outcome}); err != nil {
					t.Fatal(err)
				}
			},
			Sign: func(payload []byte, ts time.Time) string { return payments.Sign(secret, payload, ts) },
		}
	})
}

// create makes a payment for a fresh order.
func create(t *testing.T, sb *Sandbox, order string) payments.Payment {
	t.Helper()
	p, err := sb.CreatePayment(ctx, order, 1500, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func complete(t *testing.T, sb *Sandbox, id string, c Completion) {
	t.Helper()
	if _, err := sb.Complete(id, c); err != nil {
		t.Fatal(err)
	}
}

func TestCreateIsIdempotentPerOrder(t *testing.T) {
	sb := newSandbox(t, nil, clock.NewManual(t0), nil)
	a := create(t, sb, "order-1")
	b := create(t, sb, "order-1")
	c := create(t, sb, "order-2")
	if a != b || a.ID == c.ID {
		t.Fatalf("order-1 twice: %s, %s; order-2: %s", a.ID, b.ID, c.ID)
	}
	if !strings.HasPrefix(a.ID, "pi_") || a.CheckoutURL != "http://sandbox.test/sandbox/checkout/"+a.ID || !strings.HasPrefix(a.ClientSecret, a.ID+"_secret_") || !a.Created.Equal(t0) {
		t.Fatalf("payment %+v", a)
	}
}

func TestSucceededDeliverSendsOneSignedWebhook(t *testing.T) {
	clk := clock.NewManual(t0)
	rc := newReceiver(t, nil)
	sb := newSandbox(t, rc, clk, nil)
	p := create(t, sb, "order-1")
	complete(t, sb, p.ID, Completion{Outcome: OutcomeSucceeded, Webhook: WebhookDeliver})

	d := rc.next(t)
	if d.Err != nil {
		t.Fatalf("delivery does not verify: %v", d.Err)
	}
	want := payments.WebhookEvent{ID: d.Event.ID, Type: payments.EventPaymentSucceeded, PaymentID: p.ID, OrderID: "order-1", Created: t0}
	if d.Event != want || !strings.HasPrefix(d.Event.ID, "evt_") {
		t.Fatalf("event %+v, want %+v", d.Event, want)
	}
	if sig := d.Header.Get(payments.SignatureHeader); !strings.HasPrefix(sig, "t="+strconv.FormatInt(t0.Unix(), 10)+",v1=") {
		t.Fatalf("signature header %q", sig)
	}
	if ct := d.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q", ct)
	}
	if d.Object["status"] != "succeeded" || d.Object["object"] != "payment_intent" || d.Object["currency"] != "eur" ||
		d.Object["amount"] != float64(1500) || d.Object["metadata"].(map[string]any)["order_id"] != "order-1" {
		t.Fatalf("data.object %v", d.Object)
	}
	if d.PaymentStatus != payments.StatusSucceeded {
		t.Fatalf("active query from inside the delivery said %q", d.PaymentStatus)
	}
	idle(t, sb) // every delivery has ended: nothing more can arrive

	rc.none(t)
	if n := rc.count(); n != 1 {
		t.Fatalf("%d deliveries, want exactly 1", n)
	}
	evs := sb.Events(p.ID)
	if len(evs) != 1 || evs[0].Attempts != 1 || evs[0].Delivered != 1 || evs[0].Webhook != WebhookDeliver {
		t.Fatalf("events %+v", evs)
	}
}

func TestDropDeliversNothingButTheActiveQueryKnows(t *testing.T) {
	rc := newReceiver(t, nil)
	sb := newSandbox(t, rc, clock.NewManual(t0), nil)
	p := create(t, sb, "order-1")
	complete(t, sb, p.ID, Completion{Outcome: OutcomeSucceeded, Webhook: WebhookDrop})
	idle(t, sb)
	if n := rc.count(); n != 0 {
		t.Fatalf("%d deliveries of a dropped webhook", n)
	}
	got, err := sb.GetPayment(ctx, p.ID)
	if err != nil || got.Status != payments.StatusSucceeded {
		t.Fatalf("GetPayment = %+v, %v; want succeeded", got, err)
	}
	if evs := sb.Events(p.ID); len(evs) != 1 || evs[0].Attempts != 0 || evs[0].Webhook != WebhookDrop {
		t.Fatalf("events %+v", evs)
	}
}

func TestDuplicateDeliversTheSameEventTwice(t *testing.T) {
	rc := newReceiver(t, nil)
	sb := newSandbox(t, rc, clock.NewManual(t0), nil)
	p := create(t, sb, "order-1")
	complete(t, sb, p.ID, Completion{Outcome: OutcomeSucceeded, Webhook: WebhookDuplicate})
	a, b := rc.next(t), rc.next(t)
	if a.Err != nil || b.Err != nil || a.Event != b.Event || a.Event.Type != payments.EventPaymentSucceeded {
		t.Fatalf("deliveries %+v / %+v", a.Event, b.Event)
	}
	idle(t, sb)
	if n := rc.count(); n != 2 {
		t.Fatalf("%d deliveries, want 2", n)
	}
}

func TestDelayDeliversAfterTheScaledDelay(t *testing.T) {
	clk := newFakeClock(t0)
	rc := newReceiver(t, nil)
	sb := newSandbox(t, rc, clk, func(o *Options) { o.TimeScale = 0.5 })
	late := create(t, sb, "order-late")
	prompt := create(t, sb, "order-prompt")

	complete(t, sb, late.ID, Completion{Outcome: OutcomeSucceeded, Webhook: WebhookDelay, Delay: time.Minute})
	if d := clk.waitTimer(t); d != 30*time.Second {
		t.Fatalf("delay timer %s, want 60 s scaled by 0.5", d)
	}
	// Another payment's webhook goes out while the delayed one waits.
	complete(t, sb, prompt.ID, Completion{Outcome: OutcomeSucceeded})
	if d := rc.next(t); d.Event.PaymentID != prompt.ID {
		t.Fatalf("first delivery is for %s, want the prompt payment", d.Event.PaymentID)
	}
	clk.Advance(29 * time.Second)
	if clk.pending() != 1 {
		t.Fatal("the delayed delivery fired early")
	}
	rc.none(t)
	clk.Advance(time.Second)
	d := rc.next(t)
	if d.Err != nil || d.Event.PaymentID != late.ID || d.Event.Created != t0 {
		t.Fatalf("delayed delivery %+v, %v", d.Event, d.Err)
	}
	if sig := d.Header.Get(payments.SignatureHeader); !strings.HasPrefix(sig, "t="+strconv.FormatInt(t0.Add(30*time.Second).Unix(), 10)+",") {
		t.Fatalf("delayed delivery signed %q, want at t0+30s", sig)
	}
}

func TestDelayOnRealTimers(t *testing.T) {
	rc := newReceiver(t, nil)
	sb := newSandbox(t, rc, clock.NewManual(t0), func(o *Options) { o.TimeScale = 0.001 })
	p := create(t, sb, "order-1")
	start := time.Now()
	complete(t, sb, p.ID, Completion{Outcome: OutcomeSucceeded, Webhook: WebhookDelay, Delay: 50 * time.Second})
	rc.next(t)
	if el := time.Since(start); el < 50*time.Millisecond {
		t.Fatalf("delivered after %s, before the scaled delay of 50 ms", el)
	}
}

func TestRetriesUntil2xx(t *testing.T) {
	rc := newReceiver(t, func(n int) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	})
	sb := newSandbox(t, rc, clock.NewManual(t0), nil)
	p := create(t, sb, "order-1")
	complete(t, sb, p.ID, Completion{Outcome: OutcomeSucceeded})
	var ids []string
	for range 3 {
		d := rc.next(t)
		if d.Err != nil {
			t.Fatal(d.Err)
		}
		ids = append(ids, d.Event.ID)
	}
	idle(t, sb)
	if ids[0] != ids[1] || ids[1] != ids[2] || rc.count() != 3 {
		t.Fatalf("attempts %v (%d requests); want the same event three times", ids, rc.count())
	}
	if evs := sb.Events(p.ID); evs[0].Attempts != 3 || evs[0].Delivered != 1 || evs[0].LastError != "" {
		t.Fatalf("events %+v", evs)
	}
}

func TestRetriesGiveUpAfterMaxAttempts(t *testing.T) {
	rc := newReceiver(t, func(int) int { return http.StatusServiceUnavailable })
	sb := newSandbox(t, rc, clock.NewManual(t0), func(o *Options) { o.MaxAttempts = 3 })
	p := create(t, sb, "order-1")
	complete(t, sb, p.ID, Completion{Outcome: OutcomeSucceeded})
	for range 3 {
		rc.next(t)
	}
	idle(t, sb)
	if evs := sb.Events(p.ID); rc.count() != 3 || evs[0].Attempts != 3 || evs[0].Delivered != 0 || !strings.Contains(evs[0].LastError, "503") {
		t.Fatalf("%d requests, events %+v", rc.count(), evs)
	}
}

func TestBackoffSchedule(t *testing.T) {
	want := []time.Duration{5 * time.Second, 15 * time.Second, 45 * time.Second, 135 * time.Second, 405 * time.Second, 1215 * time.Second, time.Hour, time.Hour}
	for i, w := range want {
		if got := DefaultBackoff(i + 1); got != w {
			t.Errorf("DefaultBackoff(%d) = %s, want %s", i+1, got, w)
		}
	}
	clk := newFakeClock(t0)
	rc := newReceiver(t, func(n int) int { return map[bool]int{true: 500, false: 200}[n == 1] })
	sb := newSandbox(t, rc, clk, func(o *Options) { o.TimeScale = 1 })
	p := create(t, sb, "order-1")
	complete(t, sb, p.ID, Completion{Outcome: OutcomeSucceeded})
	rc.next(t)
	if d := clk.waitTimer(t); d != 5*time.Second {
		t.Fatalf("first retry after %s, want 5 s", d)
	}
	clk.Advance(5 * time.Second)
	if d := rc.next(t); d.Err != nil || d.Answered != 200 {
		t.Fatalf("retry %+v", d)
	}
}

func TestReorderDeliversAStaleProcessingEventAfterSucceeded(t *testing.T) {
	rc := newReceiver(t, nil)
	sb := newSandbox(t, rc, clock.NewManual(t0), nil)
	p := create(t, sb, "order-1")
	complete(t, sb, p.ID, Completion{Outcome: OutcomeSucceeded, Webhook: WebhookReorder})
	first, second := rc.next(t), rc.next(t)
	if first.Err != nil || second.Err != nil {
		t.Fatal(first.Err, second.Err)
	}
	if first.Event.Type != payments.EventPaymentSucceeded || second.Event.Type != payments.EventPaymentProcessing {
		t.Fatalf("order %s then %s", first.Event.Type, second.Event.Type)
	}
	if !second.Event.Created.Before(first.Event.Created) || second.Object["status"] != "processing" || second.Event.PaymentID != p.ID {
		t.Fatalf("stale event %+v object %v", second.Event, second.Object)
	}
	if second.PaymentStatus != payments.StatusSucceeded {
		t.Fatalf("re-fetch during the stale event said %q", second.PaymentStatus)
	}
}

func TestDeclinedSendsPaymentFailed(t *testing.T) {
	rc := newReceiver(t, nil)
	sb := newSandbox(t, rc, clock.NewManual(t0), nil)
	p := create(t, sb, "order-1")
	complete(t, sb, p.ID, Completion{Outcome: OutcomeDeclined})
	d := rc.next(t)
	if d.Err != nil || d.Event.Type != payments.EventPaymentFailed || d.Event.PaymentID != p.ID {
		t.Fatalf("delivery %+v, %v", d.Event, d.Err)
	}
	if d.Object["status"] != "requires_payment_method" || d.Object["last_payment_error"] == nil {
		t.Fatalf("object %v; want Stripe's requires_payment_method with last_payment_error", d.Object)
	}
	if d.PaymentStatus != payments.StatusFailed {
		t.Fatalf("GetPayment said %q", d.PaymentStatus)
	}
}

func TestDuplicateCaptureGivesTwoSucceededPayments(t *testing.T) {
	rc := newReceiver(t, nil)
	sb := newSandbox(t, rc, clock.NewManual(t0), nil)
	p := create(t, sb, "order-1")
	complete(t, sb, p.ID, Completion{Outcome: OutcomeSucceeded})
	rc.next(t)
	dup, err := sb.DuplicateCapture("order-1", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if d := rc.next(t); d.Err != nil || d.Event.PaymentID != dup.ID || d.Event.Type != payments.EventPaymentSucceeded {
		t.Fatalf("duplicate capture webhook %+v, %v", d.Event, d.Err)
	}
	all, err := sb.PaymentsForOrder(ctx, "order-1")
	if err != nil || len(all) != 2 || all[0].ID != p.ID || all[1].ID != dup.ID || !all[0].Paid() || !all[1].Paid() || all[1].AmountCents != 1500 {
		t.Fatalf("PaymentsForOrder = %+v, %v; want two succeeded payments", all, err)
	}
	// CreatePayment still answers the order's first payment.
	if again := create(t, sb, "order-1"); again.ID != p.ID {
		t.Fatalf("CreatePayment after a duplicate capture = %s, want %s", again.ID, p.ID)
	}
	if _, err := sb.DuplicateCapture("no-such-order", "", 0); !errors.Is(err, payments.ErrNotFound) {
		t.Fatalf("duplicate capture of an unknown order: %v", err)
	}
}

func TestRefundIsIdempotentAndAnnounced(t *testing.T) {
	rc := newReceiver(t, nil)
	sb := newSandbox(t, rc, clock.NewManual(t0), nil)
	p := create(t, sb, "order-1")
	complete(t, sb, p.ID, Completion{Outcome: OutcomeSucceeded, Webhook: WebhookDrop})
	r1, err := sb.Refund(ctx, p.ID, "refund-order-1")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := sb.Refund(ctx, p.ID, "refund-order-1")
	if err != nil || r1 != r2 || !strings.HasPrefix(r1.ID, "re_") {
		t.Fatalf("refunds %+v, %+v, %v", r1, r2, err)
	}
	d := rc.next(t)
	if d.Err != nil || d.Event.Type != payments.EventChargeRefunded || d.Event.PaymentID != p.ID || d.Object["amount_refunded"] != float64(1500) {
		t.Fatalf("refund webhook %+v %v, %v", d.Event, d.Object, d.Err)
	}
	idle(t, sb)
	if rc.count() != 1 {
		t.Fatalf("%d refund webhooks, want 1", rc.count())
	}
	// The provider's record holds one refund, the replay is not another.
	recs := sb.Refunds()
	if len(recs) != 1 || recs[0].ID != r1.ID || recs[0].PaymentID != p.ID || recs[0].IdempotencyKey != "refund-order-1" ||
		recs[0].AmountCents != 1500 || !recs[0].At.Equal(t0) {
		t.Fatalf("refund records %+v, want the one refund of %s at %v", recs, p.ID, t0)
	}
}

func TestFaultInjection(t *testing.T) {
	sb := newSandbox(t, nil, clock.NewManual(t0), nil)
	p := create(t, sb, "order-1")

	sb.SetFailures(OpGetPayment, Fault{Times: 2})
	for i := range 2 {
		if _, err := sb.GetPayment(ctx, p.ID); !errors.Is(err, payments.ErrUnavailable) {
			t.Fatalf("call %d: %v, want ErrUnavailable", i+1, err)
		}
	}
	if _, err := sb.GetPayment(ctx, p.ID); err != nil {
		t.Fatalf("third call: %v", err)
	}

	boom := errors.New("boom")
	sb.SetFailures(OpPaymentsForOrder, Fault{Times: 1, Err: boom})
	if _, err := sb.PaymentsForOrder(ctx, "order-1"); !errors.Is(err, boom) {
		t.Fatalf("custom error: %v", err)
	}

	sb.SetFailures(OpCreatePayment, Fault{Times: 1})
	if _, err := sb.CreatePayment(ctx, "order-2", 100, "EUR"); !errors.Is(err, payments.ErrUnavailable) {
		t.Fatalf("create: %v", err)
	}
	if all, _ := sb.PaymentsForOrder(ctx, "order-2"); len(all) != 0 {
		t.Fatalf("a create that failed before its effect made %+v", all)
	}

	// A refund whose response is lost: the money went back; the retry with
	// the same key finds the refund and moves nothing.
	complete(t, sb, p.ID, Completion{Outcome: OutcomeSucceeded, Webhook: WebhookDrop})
	sb.SetFailures(OpRefund, Fault{Times: 1, AfterEffect: true})
	if _, err := sb.Refund(ctx, p.ID, "k1"); !errors.Is(err, payments.ErrUnavailable) {
		t.Fatalf("refund with a lost response: %v", err)
	}
	got, _ := sb.GetPayment(ctx, p.ID)
	if got.AmountRefundedCents != 1500 {
		t.Fatalf("the lost-response refund did not take effect: %+v", got)
	}
	r, err := sb.Refund(ctx, p.ID, "k1")
	if err != nil || r.AmountCents != 1500 {
		t.Fatalf("retry: %+v, %v", r, err)
	}
	v, _ := sb.view(p.ID)
	if len(v.Refunds) != 1 {
		t.Fatalf("refunds %+v, want one", v.Refunds)
	}

	sb.SetFailures(OpGetPayment, Fault{Times: 5})
	sb.SetFailures(OpGetPayment, Fault{}) // cleared
	if _, err := sb.GetPayment(ctx, p.ID); err != nil {
		t.Fatalf("after clearing: %v", err)
	}
}

func TestCompleteRules(t *testing.T) {
	sb := newSandbox(t, nil, clock.NewManual(t0), nil)
	p := create(t, sb, "order-1")
	for _, c := range []Completion{
		{Outcome: "maybe"},
		{Outcome: OutcomeSucceeded, Webhook: "sometimes"},
		{Outcome: OutcomeSucceeded, Webhook: WebhookDeliver, Delay: time.Second},
		{Outcome: OutcomeSucceeded, Webhook: WebhookDelay, Delay: MaxDelay + 1},
	} {
		if _, err := sb.Complete(p.ID, c); !errors.Is(err, payments.ErrInvalid) {
			t.Errorf("Complete(%+v) = %v, want ErrInvalid", c, err)
		}
	}
	if _, err := sb.Complete("pi_nope", Completion{Outcome: OutcomeSucceeded}); !errors.Is(err, payments.ErrNotFound) {
		t.Errorf("unknown payment: %v", err)
	}
	complete(t, sb, p.ID, Completion{Outcome: OutcomeSucceeded})
	if _, err := sb.Complete(p.ID, Completion{Outcome: OutcomeDeclined}); !errors.Is(err, payments.ErrConflict) {
		t.Errorf("completing a succeeded payment: %v, want ErrConflict", err)
	}
}

func TestCloseStopsPendingDeliveriesWithoutLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	var requests atomic.Int32
	arrived := make(chan struct{}, 8)
	// An endpoint that never answers, until the client gives up.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // so the server notices the client leaving
		requests.Add(1)
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	transport := &http.Transport{}
	sb, err := New(Options{Secret: secret, Clock: clock.NewManual(t0), WebhookURL: hang.URL,
		HTTPClient: &http.Client{Transport: transport}})
	if err != nil {
		t.Fatal(err)
	}
	a, b := create(t, sb, "order-a"), create(t, sb, "order-b")
	complete(t, sb, a.ID, Completion{Outcome: OutcomeSucceeded, Webhook: WebhookDelay, Delay: time.Hour})
	complete(t, sb, b.ID, Completion{Outcome: OutcomeSucceeded})
	select { // b's delivery is in flight
	case <-arrived:
	case <-time.After(bound):
		t.Fatal("no delivery reached the endpoint")
	}

	done := make(chan struct{})
	go func() { _ = sb.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(bound):
		t.Fatal("Close did not return")
	}
	if n := requests.Load(); n != 1 {
		t.Fatalf("%d requests; the delayed webhook must not go out after Close", n)
	}
	// Closed: calls still work, no webhook goes out.
	c := create(t, sb, "order-c")
	complete(t, sb, c.ID, Completion{Outcome: OutcomeSucceeded})
	if evs := sb.Events(a.ID); evs[0].Attempts != 0 {
		t.Fatalf("delayed event %+v", evs)
	}
	transport.CloseIdleConnections()
	hang.CloseClientConnections()
	hang.Close()
	if n := requests.Load(); n != 1 {
		t.Fatalf("%d requests after Close", n)
	}
	deadline := time.Now().Add(bound)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d before, %d after Close\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond) // polling for goroutines to exit; bounded above
	}
}

func TestNewValidatesOptions(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without a secret succeeded")
	}
	if _, err := New(Options{Secret: "s", TimeScale: -1}); err == nil {
		t.Fatal("New with a negative time scale succeeded")
	}
}

func TestPaymentsSinceListsOldestFirst(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewManual(time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC))
	s := newSandbox(t, nil, clk, nil)
	a, err := s.CreatePayment(ctx, "order-a", 100, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	b, err := s.CreatePayment(ctx, "order-b", 200, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.PaymentsSince(ctx, time.Time{})
	if err != nil || len(all) != 2 || all[0].ID != a.ID || all[1].ID != b.ID {
		t.Fatalf("all: %+v %v", all, err)
	}
	recent, _ := s.PaymentsSince(ctx, clk.Now())
	if len(recent) != 1 || recent[0].ID != b.ID {
		t.Fatalf("recent: %+v", recent)
	}
}
