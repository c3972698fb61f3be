package stripe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/checkout"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/payments"
	"github.com/stararena/stararena/internal/payments/paymentstest"
	"github.com/stararena/stararena/internal/payments/stripe"
	"github.com/stararena/stararena/internal/testenv/fixture"
)

// TestDeclinedCardWebhookAgainstStripeMock: GIVEN the Stripe adapter on
// stripe-mock, whose PaymentIntent fixture is a declined attempt
// (requires_payment_method with a last_payment_error), and a held order
// WHEN a signed payment_intent.payment_failed webhook names it, twice
// THEN the handler re-fetches the intent through the adapter and the order
// notes the decline once, with the decline code and message of the
// intent's last_payment_error, and stays held.
//
// stripe-mock keeps no state and cannot decline a card, so its answer
// never carries the order id the adapter put in the intent's metadata nor
// a card error; the proxy adds both to the fixture and changes nothing
// else.
func TestDeclinedCardWebhookAgainstStripeMock(t *testing.T) {
	ctx := context.Background()
	mock := paymentstest.StartStripeMock(t)
	a := fixture.NewApp(t, fixture.AppOptions{})
	ev := fixture.OpenEvent(t, a, fixture.Event{})
	o := fixture.Hold(t, a, "fan-stripe-decline", ev.ID, inventory.HoldRequest{Seats: []string{"A-1-1"}})

	target, err := url.Parse(mock)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(r *http.Response) error {
		if r.Request.Method != http.MethodGet || !strings.HasPrefix(r.Request.URL.Path, "/v1/payment_intents/") || r.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		var pi map[string]any
		if err := json.Unmarshal(body, &pi); err != nil {
			return err
		}
		md, _ := pi["metadata"].(map[string]any)
		if md == nil {
			md = map[string]any{}
		}
		md[payments.MetadataOrderID] = o.ID
		pi["metadata"] = md
		// The fixture's last_payment_error is a bare {"type":...}:
		// stripe-mock cannot decline a card. A declined card's error, in
		// Stripe's documented shape, stands in for it.
		pi["last_payment_error"] = map[string]any{"type": "card_error", "code": "card_declined",
			"decline_code": "insufficient_funds", "message": "Your card has insufficient funds."}
		if body, err = json.Marshal(pi); err != nil {
			return err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Del("Content-Length")
		return nil
	}
	proxy := httptest.NewServer(rp)
	defer proxy.Close()

	const secret = "whsec_test_decline"
	prov, err := stripe.New(stripe.Options{APIKey: "sk_test_123", WebhookSecret: secret, APIBase: proxy.URL,
		MaxNetworkRetries: new(int64), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ps := checkout.Providers{stripe.Name: prov}
	om := orders.NewService(a.Stores.Orders, ps, nil, orders.ServiceOptions{Logger: slog.New(slog.DiscardHandler)})
	wh := checkout.NewWebhooks(ps, a.Stores.ProviderEvents, om, nil, slog.New(slog.DiscardHandler))

	created := time.Now().Add(-2 * time.Second).Truncate(time.Second)
	body := []byte(fmt.Sprintf(`{"id":"evt_decline_1","object":"event","api_version":%q,"type":"payment_intent.payment_failed","created":%d,`+
		`"data":{"object":{"id":"pi_123","object":"payment_intent","status":"requires_payment_method","metadata":{"order_id":%q}}}}`,
		stripe.APIVersion, created.Unix(), o.ID))
	for i := range 2 {
		now := time.Now()
		res, err := wh.Handle(ctx, stripe.Name, body, payments.Sign(secret, body, now))
		if err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
		if want := i == 1; res.Duplicate != want {
			t.Fatalf("delivery %d: %+v", i+1, res)
		}
		if i == 0 && res.Outcome != orders.OutcomeDeclined {
			t.Fatalf("first delivery: %+v", res)
		}
	}
	got, err := a.Stores.Orders.GetOrder(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != orders.PendingPayment || got.Declines != 1 || got.DeclineCode != "insufficient_funds" || got.DeclineReason != "Your card has insufficient funds." ||
		!got.DeclinedAt.Equal(created) || got.DeclineEventID != "evt_decline_1" {
		t.Fatalf("order after a declined card: %+v", got)
	}
}
