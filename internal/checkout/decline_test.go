package checkout_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/checkout"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/payments"
	"github.com/stararena/stararena/internal/payments/sandbox"
	"github.com/stararena/stararena/internal/reconcile"
	"github.com/stararena/stararena/internal/testenv/fixture"
)

// TestADeclinedCardIsNotedAndTheFanPaysAgain: GIVEN a held order and the
// sandbox provider posting signed webhooks to the real handler WHEN the
// card is declined (its webhook delivered twice), the fan pays again and
// then a second capture for the same order arrives late THEN the order
// notes the decline once and stays held, the second attempt on the same
// payment pays it, a decline afterwards notes nothing, and the late
// capture is refunded as a duplicate — by the webhook, or by the
// reconciler's sweep when its webhook is lost.
func TestADeclinedCardIsNotedAndTheFanPaysAgain(t *testing.T) {
	ctx := context.Background()
	a := fixture.NewApp(t, fixture.AppOptions{})
	ev := fixture.OpenEvent(t, a, fixture.Event{})
	quiet := slog.New(slog.DiscardHandler)

	var wh *checkout.Webhooks
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if _, err := wh.Handle(r.Context(), "sandbox", body, r.Header.Get("Stripe-Signature")); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer hook.Close()
	box, err := sandbox.New(sandbox.Options{Secret: "whsec_decline", WebhookURL: hook.URL, TimeScale: 0.001, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer box.Close()
	ps := checkout.Providers{"sandbox": box}
	om := orders.NewService(a.Stores.Orders, ps, nil, orders.ServiceOptions{Logger: quiet, MaxTickets: fixture.MaxTickets(a)})
	wh = checkout.NewWebhooks(ps, a.Stores.ProviderEvents, om, nil, quiet)
	settle := func() {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := box.WaitIdle(wctx); err != nil {
			t.Fatal(err)
		}
	}
	get := func(id string) orders.Order {
		t.Helper()
		o, err := a.Stores.Orders.GetOrder(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}

	o := fixture.Hold(t, a, "fan-decline", ev.ID, inventory.HoldRequest{Seats: []string{"A-1-1"}})
	pay, err := ps.StartPayment(ctx, o, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := box.Complete(pay.ID, sandbox.Completion{Outcome: sandbox.OutcomeDeclined, Webhook: sandbox.WebhookDuplicate}); err != nil {
		t.Fatal(err)
	}
	settle()
	declined := get(o.ID)
	if declined.Status != orders.PendingPayment || declined.Declines != 1 || declined.DeclineCode != sandbox.DeclineCode ||
		declined.DeclineReason != sandbox.DeclineMessage || declined.DeclinedAt.IsZero() || declined.DeclineEventID == "" {
		t.Fatalf("after a declined card delivered twice: %+v", declined)
	}
	if declined.Version != o.Version {
		t.Fatalf("a decline moved the order's version %d → %d: it must not race the payment's transitions", o.Version, declined.Version)
	}

	t.Run("SameEventAgainNotesNothing", func(t *testing.T) {
		p, _ := box.GetPayment(ctx, pay.ID)
		out, err := om.PaymentDeclined(ctx, orders.Payment{Provider: "sandbox", ID: p.ID, OrderID: o.ID, Declined: true,
			DeclineCode: p.DeclineCode, DeclineReason: p.DeclineMessage}, orders.Decline{EventID: declined.DeclineEventID, At: time.Now()})
		if err != nil || out != orders.OutcomeDeclined {
			t.Fatalf("%s %v", out, err)
		}
		if got := get(o.ID); got.Declines != 1 || !got.DeclinedAt.Equal(declined.DeclinedAt) {
			t.Fatalf("the same event noted again: %+v", got)
		}
	})

	// Pay again: the pay route answers the same payment, which takes a
	// second attempt, as a Stripe PaymentIntent does after a decline.
	again, err := ps.StartPayment(ctx, get(o.ID), "sandbox")
	if err != nil || again.ID != pay.ID || again.Status != payments.StatusFailed {
		t.Fatalf("pay again: %+v %v", again, err)
	}
	if _, err := box.Complete(again.ID, sandbox.Completion{Outcome: sandbox.OutcomeSucceeded}); err != nil {
		t.Fatal(err)
	}
	settle()
	paid := get(o.ID)
	if paid.Status != orders.Paid || paid.PaymentID != pay.ID || paid.Declines != 1 {
		t.Fatalf("after paying again: %+v", paid)
	}
	if p, _ := box.GetPayment(ctx, pay.ID); p.DeclineCode != "" {
		t.Fatalf("a succeeded payment still names a decline: %+v", p)
	}

	t.Run("DeclineAfterPaymentNotesNothing", func(t *testing.T) {
		out, err := om.PaymentDeclined(ctx, orders.Payment{Provider: "sandbox", ID: "pi_other", OrderID: o.ID, Declined: true,
			DeclineCode: "insufficient_funds"}, orders.Decline{EventID: "evt_late_decline"})
		if err != nil || out != orders.OutcomeNotHeld {
			t.Fatalf("%s %v", out, err)
		}
		if got := get(o.ID); got.Declines != 1 || got.DeclineCode != sandbox.DeclineCode || got.Version != paid.Version {
			t.Fatalf("a decline changed a paid order: %+v", got)
		}
	})

	t.Run("LateSecondCaptureIsRefunded", func(t *testing.T) {
		dup, err := box.DuplicateCapture(o.ID, sandbox.WebhookDeliver, 0)
		if err != nil {
			t.Fatal(err)
		}
		settle()
		rec, ok, err := a.Stores.Orders.GetPayment(ctx, "sandbox", dup.ID)
		if err != nil || !ok || rec.Role != orders.RoleDuplicate || !rec.Refunded {
			t.Fatalf("record of the second capture: %+v %v %v", rec, ok, err)
		}
		if p, _ := box.GetPayment(ctx, dup.ID); p.AmountRefundedCents != p.AmountCents {
			t.Fatalf("the second capture was not refunded at the provider: %+v", p)
		}
		if p, _ := box.GetPayment(ctx, pay.ID); p.AmountRefundedCents != 0 {
			t.Fatalf("the paying capture was refunded: %+v", p)
		}
	})

	t.Run("LostWebhookSecondCaptureRefundedByTheReconciler", func(t *testing.T) {
		dup, err := box.DuplicateCapture(o.ID, sandbox.WebhookDrop, 0)
		if err != nil {
			t.Fatal(err)
		}
		settle()
		if _, ok, _ := a.Stores.Orders.GetPayment(ctx, "sandbox", dup.ID); ok {
			t.Fatal("a dropped webhook was applied")
		}
		rec := reconcile.New(a.Stores.Reconcile, a.Catalog, a.Inventory, om, ps, nil, reconcile.Options{Logger: quiet, Providers: []string{"sandbox"}})
		if _, err := rec.SweepPayments(ctx); err != nil {
			t.Fatal(err)
		}
		r, ok, err := a.Stores.Orders.GetPayment(ctx, "sandbox", dup.ID)
		if err != nil || !ok || r.Role != orders.RoleDuplicate || !r.Refunded {
			t.Fatalf("record of the lost second capture: %+v %v %v", r, ok, err)
		}
		if p, _ := box.GetPayment(ctx, dup.ID); p.AmountRefundedCents != p.AmountCents {
			t.Fatalf("not refunded at the provider: %+v", p)
		}
		if got := get(o.ID); got.Status != orders.Paid || got.PaymentID != pay.ID {
			t.Fatalf("the order changed: %+v", got)
		}
	})
}
