package checkout_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/checkout"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/payments"
	"github.com/stararena/stararena/internal/payments/sandbox"
	"github.com/stararena/stararena/internal/testenv"
)

// TestWebhookRefusesBadSignaturesAndAcknowledgesReplays: GIVEN the sandbox
// provider and the real store WHEN a delivery is forged, stale, or a replay
// of an event THEN forged and stale ones are 400 and change nothing, and
// a replay has no second effect.
func TestWebhookRefusesBadSignaturesAndAcknowledgesReplays(t *testing.T) {
	ctx := context.Background()
	db, table := testenv.DynamoDB(t)
	stores := dynamo.NewStores(db, table, nil)
	box, err := sandbox.New(sandbox.Options{Secret: "whsec_a", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer box.Close()
	om := orders.NewService(stores.Orders, checkout.Providers{"sandbox": box}, nil, orders.ServiceOptions{Logger: slog.New(slog.DiscardHandler)})
	wh := checkout.NewWebhooks(checkout.Providers{"sandbox": box}, stores.ProviderEvents, om, nil, slog.New(slog.DiscardHandler))

	body := []byte(`{"id":"evt_1","object":"event","type":"payment_intent.processing","created":1,"data":{"object":{"id":"pi_x","object":"payment_intent","status":"processing","metadata":{"order_id":"o1"},"amount":100,"currency":"eur"}}}`)
	now := time.Now()
	cases := map[string]string{
		"WrongSecret": payments.Sign("whsec_b", body, now),
		"Stale":       payments.Sign("whsec_a", body, now.Add(-301*time.Second)),
		"Malformed":   "t=abc,v1=zz",
		"Missing":     "",
	}
	for name, sig := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := wh.Handle(ctx, "sandbox", body, sig)
			if apperr.Status(apperr.CodeOf(err)) != 400 {
				t.Fatalf("err = %v, want a 400", err)
			}
		})
	}
	t.Run("UnknownProvider", func(t *testing.T) {
		if _, err := wh.Handle(ctx, "paypal", body, payments.Sign("whsec_a", body, now)); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ReplayAcknowledgedOnce", func(t *testing.T) {
		sig := payments.Sign("whsec_a", body, now)
		first, err := wh.Handle(ctx, "sandbox", body, sig)
		if err == nil {
			t.Fatalf("a payment the provider does not know was applied: %+v", first)
		}
		// The sandbox does not know pi_x: the re-fetch fails, the event
		// stays unfinished and a redelivery is processed again, not
		// swallowed as a duplicate.
		if _, err := wh.Handle(ctx, "sandbox", body, sig); err == nil {
			t.Fatal("the redelivery of an unfinished event was swallowed")
		}
		p, err := box.CreatePayment(ctx, "o2", 100, "EUR")
		if err != nil {
			t.Fatal(err)
		}
		ok := []byte(`{"id":"evt_2","object":"event","type":"payment_intent.processing","created":1,"data":{"object":{"id":"` + p.ID + `","object":"payment_intent","status":"processing","metadata":{"order_id":"o2"},"amount":100,"currency":"eur"}}}`)
		sig = payments.Sign("whsec_a", ok, now)
		// A payment not succeeded changes nothing: the event is not
		// recorded, and its replay is handled again, changing nothing
		// again (an event that changed something is recorded and its
		// replay acknowledged: TestDeclinedCardWebhookAgainstStripeMock).
		for i := range 2 {
			r, err := wh.Handle(ctx, "sandbox", ok, sig)
			if err != nil || r.Duplicate || r.Outcome != "" {
				t.Fatalf("delivery %d: %+v %v", i+1, r, err)
			}
		}
		if first, err := stores.ProviderEvents.FinishEvent(ctx, "sandbox", "evt_2", now); err != nil || !first {
			t.Fatalf("the event of a payment not succeeded was recorded: first %v, %v", first, err)
		}
	})
}
