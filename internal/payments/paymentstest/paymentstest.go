// Package paymentstest is the conformance suite of payments.Provider and
// the helpers to run it: every provider runs Run; StartStripeMock starts a
// stripe-mock for the Stripe adapter.
package paymentstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/payments"
)

// Harness is a provider under test and what the suite needs to drive it.
type Harness struct {
	Provider payments.Provider
	// Descriptor is the provider's registry entry (its package's
	// Descriptor()): the suite checks that it is usable and names the
	// provider under test.
	Descriptor payments.Descriptor
	// Stateful says the provider remembers what it is asked: false for
	// stripe-mock, which answers every call with a fixture, so the suite
	// then checks only input validation, mapping and webhooks.
	Stateful bool
	// Pay completes a payment as the fan would (succeed or decline).
	// Required when Stateful.
	Pay func(t *testing.T, paymentID string, succeed bool)
	// Sign signs a webhook body at ts as the provider does, with the
	// secret the provider verifies with.
	Sign func(payload []byte, ts time.Time) string
	// APIVersion, if set, is put in the events the suite builds (the
	// Stripe provider refuses events of another release train).
	APIVersion string
}

// Now is the instant the suite signs and verifies webhooks at.
var Now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Run runs the conformance suite; newHarness makes a fresh provider per
// subtest.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Run("NameMatchesDescriptor", func(t *testing.T) {
		h := newHarness(t)
		if err := h.Descriptor.Validate(); err != nil {
			t.Fatal(err)
		}
		if n := h.Provider.Name(); n != h.Descriptor.Name {
			t.Fatalf("Name() = %q, descriptor says %q", n, h.Descriptor.Name)
		}
	})
	t.Run("CreatePaymentMapsFields", func(t *testing.T) { testCreate(t, newHarness(t)) })
	t.Run("CreatePaymentRejectsBadInput", func(t *testing.T) { testCreateInvalid(t, newHarness(t)) })
	t.Run("InvalidIDs", func(t *testing.T) { testInvalidIDs(t, newHarness(t)) })
	t.Run("PaymentsForUnknownOrderIsEmpty", func(t *testing.T) {
		h := newHarness(t)
		got, err := h.Provider.PaymentsForOrder(context.Background(), "order-without-payments")
		if err != nil || len(got) != 0 {
			t.Fatalf("PaymentsForOrder = %v, %v; want none", got, err)
		}
	})
	t.Run("Webhooks", func(t *testing.T) { testWebhooks(t, newHarness(t)) })

	stateful := func(name string, fn func(*testing.T, Harness)) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			if !h.Stateful {
				t.Skip("the provider under test keeps no state (stripe-mock)")
			}
			fn(t, h)
		})
	}
	stateful("CreatePaymentIsIdempotentPerOrder", testIdempotentCreate)
	stateful("GetPayment", testGet)
	stateful("PayRefundIdempotent", testPayAndRefund)
	stateful("RefundNeedsAPaidPayment", testRefundUnpaid)
	stateful("DeclinedThenPaid", testDeclinedThenPaid)
}

func orderID(t *testing.T) string {
	return fmt.Sprintf("order-%s-%d", strings.NewReplacer("/", "-", " ", "_").Replace(t.Name()), time.Now().UnixNano())
}

func testCreate(t *testing.T, h Harness) {
	ctx := context.Background()
	oid := orderID(t)
	p, err := h.Provider.CreatePayment(ctx, oid, 4200, "eur")
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == "" || p.OrderID != oid || p.AmountCents != 4200 || p.Currency != "EUR" || p.Created.IsZero() || !p.Status.Valid() {
		t.Fatalf("CreatePayment = %+v; want an id, order %s, 4200 EUR, a created time and a valid status", p, oid)
	}
	if p.CheckoutURL == "" && p.ClientSecret == "" {
		t.Fatalf("CreatePayment = %+v: neither a checkout URL nor a client secret", p)
	}
	if h.Stateful && p.Status != payments.StatusRequiresPayment {
		t.Fatalf("new payment status %q, want %q", p.Status, payments.StatusRequiresPayment)
	}
}

func testCreateInvalid(t *testing.T, h Harness) {
	ctx := context.Background()
	cases := []struct {
		name     string
		order    string
		amount   int64
		currency string
	}{
		{"empty order", "", 100, "EUR"},
		{"order with quote", "o'1", 100, "EUR"},
		{"order with slash", "o/1", 100, "EUR"},
		{"long order", strings.Repeat("o", payments.MaxIDLength+1), 100, "EUR"},
		{"zero amount", "o1", 0, "EUR"},
		{"negative amount", "o1", -5, "EUR"},
		{"huge amount", "o1", payments.MaxAmountCents + 1, "EUR"},
		{"bad currency", "o1", 100, "EURO"},
		{"empty currency", "o1", 100, ""},
	}
	for _, c := range cases {
		if _, err := h.Provider.CreatePayment(ctx, c.order, c.amount, c.currency); !errors.Is(err, payments.ErrInvalid) {
			t.Errorf("%s: CreatePayment error = %v, want ErrInvalid", c.name, err)
		}
	}
}

func testInvalidIDs(t *testing.T, h Harness) {
	ctx := context.Background()
	if _, err := h.Provider.GetPayment(ctx, ""); !errors.Is(err, payments.ErrInvalid) {
		t.Errorf("GetPayment(\"\") error = %v, want ErrInvalid", err)
	}
	if _, err := h.Provider.PaymentsForOrder(ctx, "a'b"); !errors.Is(err, payments.ErrInvalid) {
		t.Errorf("PaymentsForOrder(quote) error = %v, want ErrInvalid", err)
	}
	if _, err := h.Provider.Refund(ctx, "pi_123", ""); !errors.Is(err, payments.ErrInvalid) {
		t.Errorf("Refund without key error = %v, want ErrInvalid", err)
	}
	if _, err := h.Provider.Refund(ctx, "", "key"); !errors.Is(err, payments.ErrInvalid) {
		t.Errorf("Refund without payment error = %v, want ErrInvalid", err)
	}
}

func testIdempotentCreate(t *testing.T, h Harness) {
	ctx := context.Background()
	oid := orderID(t)
	const n = 16
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := h.Provider.CreatePayment(ctx, oid, 1500, "EUR")
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = p.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent creates for one order gave %v; want one payment", ids)
		}
	}
	all, err := h.Provider.PaymentsForOrder(ctx, oid)
	if err != nil || len(all) != 1 || all[0].ID != ids[0] {
		t.Fatalf("PaymentsForOrder = %+v, %v; want just %s", all, err, ids[0])
	}
	if _, err := h.Provider.CreatePayment(ctx, oid, 1600, "EUR"); !errors.Is(err, payments.ErrConflict) {
		t.Fatalf("create again with another amount: %v, want ErrConflict", err)
	}
	if _, err := h.Provider.CreatePayment(ctx, oid, 1500, "USD"); !errors.Is(err, payments.ErrConflict) {
		t.Fatalf("create again with another currency: %v, want ErrConflict", err)
	}
}

func testGet(t *testing.T, h Harness) {
	ctx := context.Background()
	created, err := h.Provider.CreatePayment(ctx, orderID(t), 999, "USD")
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.Provider.GetPayment(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got != created {
		t.Fatalf("GetPayment = %+v, want %+v", got, created)
	}
	if _, err := h.Provider.GetPayment(ctx, "pi_doesnotexist"); !errors.Is(err, payments.ErrNotFound) {
		t.Fatalf("GetPayment(unknown) error = %v, want ErrNotFound", err)
	}
}

func testPayAndRefund(t *testing.T, h Harness) {
	ctx := context.Background()
	oid := orderID(t)
	p, err := h.Provider.CreatePayment(ctx, oid, 2500, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	h.Pay(t, p.ID, true)
	got, err := h.Provider.GetPayment(ctx, p.ID)
	if err != nil || !got.Paid() || got.AmountRefundedCents != 0 {
		t.Fatalf("after paying: %+v, %v", got, err)
	}
	all, err := h.Provider.PaymentsForOrder(ctx, oid)
	if err != nil || len(all) != 1 || !all[0].Paid() {
		t.Fatalf("PaymentsForOrder after paying = %+v, %v", all, err)
	}
	r1, err := h.Provider.Refund(ctx, p.ID, "refund-"+oid)
	if err != nil {
		t.Fatal(err)
	}
	if r1.ID == "" || r1.PaymentID != p.ID || r1.AmountCents != 2500 || r1.Status != "succeeded" {
		t.Fatalf("Refund = %+v", r1)
	}
	r2, err := h.Provider.Refund(ctx, p.ID, "refund-"+oid)
	if err != nil || r2 != r1 {
		t.Fatalf("Refund again with the same key = %+v, %v; want %+v", r2, err, r1)
	}
	if _, err := h.Provider.Refund(ctx, p.ID, "another-key-"+oid); !errors.Is(err, payments.ErrConflict) {
		t.Fatalf("second refund under another key: %v, want ErrConflict", err)
	}
	got, err = h.Provider.GetPayment(ctx, p.ID)
	if err != nil || got.Status != payments.StatusSucceeded || got.AmountRefundedCents != 2500 {
		t.Fatalf("after refund: %+v, %v; want succeeded with 2500 refunded", got, err)
	}
	other, err := h.Provider.CreatePayment(ctx, orderID(t)+"-b", 100, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	h.Pay(t, other.ID, true)
	if _, err := h.Provider.Refund(ctx, other.ID, "refund-"+oid); !errors.Is(err, payments.ErrConflict) {
		t.Fatalf("refund key reused for another payment: %v, want ErrConflict", err)
	}
}

func testRefundUnpaid(t *testing.T, h Harness) {
	ctx := context.Background()
	p, err := h.Provider.CreatePayment(ctx, orderID(t), 700, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Provider.Refund(ctx, p.ID, "k-"+p.ID); !errors.Is(err, payments.ErrConflict) {
		t.Fatalf("refund of an unpaid payment: %v, want ErrConflict", err)
	}
	if _, err := h.Provider.Refund(ctx, "pi_doesnotexist", "k-unknown"); !errors.Is(err, payments.ErrNotFound) {
		t.Fatalf("refund of an unknown payment: %v, want ErrNotFound", err)
	}
}

func testDeclinedThenPaid(t *testing.T, h Harness) {
	ctx := context.Background()
	p, err := h.Provider.CreatePayment(ctx, orderID(t), 700, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	h.Pay(t, p.ID, false)
	if got, err := h.Provider.GetPayment(ctx, p.ID); err != nil || got.Status != payments.StatusFailed {
		t.Fatalf("after a decline: %+v, %v; want failed", got, err)
	}
	h.Pay(t, p.ID, true)
	if got, err := h.Provider.GetPayment(ctx, p.ID); err != nil || got.Status != payments.StatusSucceeded {
		t.Fatalf("after paying on a second try: %+v, %v; want succeeded", got, err)
	}
}

// Event builds a Stripe-shaped event body.
func Event(id, typ, apiVersion string, created time.Time, object map[string]any) []byte {
	ev := map[string]any{
		"id": id, "object": "event", "type": typ, "created": created.Unix(), "livemode": false,
		"pending_webhooks": 1, "data": map[string]any{"object": object},
	}
	if apiVersion != "" {
		ev["api_version"] = apiVersion
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return b
}

// Intent is a payment_intent object for Event.
func Intent(paymentID, orderID, status string) map[string]any {
	return map[string]any{
		"id": paymentID, "object": "payment_intent", "status": status, "amount": 1500, "currency": "eur",
		"metadata": map[string]any{payments.MetadataOrderID: orderID},
	}
}

func testWebhooks(t *testing.T, h Harness) {
	p := h.Provider
	created := Now.Add(-time.Minute)
	body := Event("evt_conf_1", payments.EventPaymentSucceeded, h.APIVersion, created, Intent("pi_conf_1", "order-conf-1", "succeeded"))

	t.Run("valid", func(t *testing.T) {
		ev, err := p.ParseWebhook(body, h.Sign(body, Now), Now)
		if err != nil {
			t.Fatal(err)
		}
		want := payments.WebhookEvent{ID: "evt_conf_1", Type: payments.EventPaymentSucceeded, PaymentID: "pi_conf_1", OrderID: "order-conf-1", Created: created.Truncate(time.Second)}
		if ev != want {
			t.Fatalf("ParseWebhook = %+v, want %+v", ev, want)
		}
	})
	t.Run("tolerance edges", func(t *testing.T) {
		for _, d := range []time.Duration{payments.DefaultTolerance, -payments.DefaultTolerance} {
			if _, err := p.ParseWebhook(body, h.Sign(body, Now.Add(d)), Now); err != nil {
				t.Errorf("signed %s from now: %v, want accepted", d, err)
			}
		}
		for _, d := range []time.Duration{payments.DefaultTolerance + time.Second, -payments.DefaultTolerance - time.Second, 24 * time.Hour} {
			if _, err := p.ParseWebhook(body, h.Sign(body, Now.Add(-d)), Now); !errors.Is(err, payments.ErrStale) {
				t.Errorf("signed %s before now: %v, want ErrStale", d, err)
			}
		}
	})
	t.Run("tampered body", func(t *testing.T) {
		hdr := h.Sign(body, Now)
		tampered := []byte(strings.Replace(string(body), "pi_conf_1", "pi_conf_2", 1))
		if _, err := p.ParseWebhook(tampered, hdr, Now); !errors.Is(err, payments.ErrBadSignature) {
			t.Fatalf("tampered body: %v, want ErrBadSignature", err)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		if _, err := p.ParseWebhook(body, payments.Sign("whsec_not_the_secret", body, Now), Now); !errors.Is(err, payments.ErrBadSignature) {
			t.Fatalf("wrong secret: %v, want ErrBadSignature", err)
		}
	})
	t.Run("rolled secret: any v1 may match", func(t *testing.T) {
		good := h.Sign(body, Now)
		_, v1, _ := strings.Cut(good, ",v1=")
		hdr := fmt.Sprintf("t=%d,v1=%s,v0=abc,v1=%s", Now.Unix(), strings.Repeat("ab", 32), v1)
		if _, err := p.ParseWebhook(body, hdr, Now); err != nil {
			t.Fatalf("header %q: %v", hdr, err)
		}
	})
	t.Run("malformed header", func(t *testing.T) {
		good := h.Sign(body, Now)
		_, v1, _ := strings.Cut(good, ",v1=")
		ts := fmt.Sprint(Now.Unix())
		for _, hdr := range []string{
			"", "garbage", "v1=" + v1, "t=" + ts, "t=abc,v1=" + v1, "t=-5,v1=" + v1, "t=0" + ts + ",v1=" + v1,
			"t=" + ts + ",t=" + ts + ",v1=" + v1, "t=" + ts + ",v1=" + v1 + ",", ",t=" + ts + ",v1=" + v1,
			"t=" + ts + ",v0=" + v1, strings.Repeat("x", 5000),
		} {
			if _, err := p.ParseWebhook(body, hdr, Now); !errors.Is(err, payments.ErrMalformed) {
				t.Errorf("header %q: %v, want ErrMalformed", hdr, err)
			}
		}
	})
	t.Run("charge.refunded names the payment", func(t *testing.T) {
		b := Event("evt_conf_2", payments.EventChargeRefunded, h.APIVersion, created, map[string]any{
			"id": "ch_conf", "object": "charge", "payment_intent": "pi_conf_1", "amount_refunded": 1500,
			"metadata": map[string]any{},
		})
		ev, err := p.ParseWebhook(b, h.Sign(b, Now), Now)
		if err != nil || ev.PaymentID != "pi_conf_1" || ev.Type != payments.EventChargeRefunded || ev.OrderID != "" {
			t.Fatalf("ParseWebhook(charge.refunded) = %+v, %v", ev, err)
		}
	})
	t.Run("other event types parse without a payment", func(t *testing.T) {
		b := Event("evt_conf_3", "customer.created", h.APIVersion, created, map[string]any{"id": "cus_1", "object": "customer"})
		ev, err := p.ParseWebhook(b, h.Sign(b, Now), Now)
		if err != nil || ev.PaymentID != "" || ev.Type != "customer.created" {
			t.Fatalf("ParseWebhook(customer.created) = %+v, %v", ev, err)
		}
	})
	t.Run("signed but unreadable", func(t *testing.T) {
		for name, b := range map[string][]byte{
			"not JSON":            []byte("not json"),
			"not an event":        []byte(`{"id":"x","object":"payment_intent"}`),
			"payment without id":  Event("evt_conf_4", payments.EventPaymentSucceeded, h.APIVersion, created, map[string]any{"object": "payment_intent"}),
			"payment wrong shape": Event("evt_conf_5", payments.EventPaymentSucceeded, h.APIVersion, created, map[string]any{"id": "ch_1", "object": "charge"}),
			"no id":               Event("", payments.EventPaymentSucceeded, h.APIVersion, created, Intent("pi_1", "o", "succeeded")),
		} {
			if _, err := p.ParseWebhook(b, h.Sign(b, Now), Now); !errors.Is(err, payments.ErrBadPayload) {
				t.Errorf("%s: %v, want ErrBadPayload", name, err)
			}
		}
	})
}
