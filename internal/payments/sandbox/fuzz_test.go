package sandbox

import (
	"errors"
	"strings"
	"testing"

	"github.com/stararena/stararena/internal/payments"
	"github.com/stararena/stararena/internal/payments/paymentstest"
)

// FuzzParseWebhookBody feeds the sandbox's webhook parser correctly signed
// bodies of any shape: it must not panic, must refuse with ErrBadPayload
// only (the signature is good), and what it accepts must name an event and,
// for payment_intent events, a payment.
func FuzzParseWebhookBody(f *testing.F) {
	now := paymentstest.Now
	f.Add(paymentstest.Event("evt_1", payments.EventPaymentSucceeded, "", now, paymentstest.Intent("pi_1", "o-1", "succeeded")))
	f.Add(paymentstest.Event("evt_2", payments.EventChargeRefunded, "", now, map[string]any{"id": "ch_1", "object": "charge", "payment_intent": "pi_1"}))
	f.Add(paymentstest.Event("evt_3", "customer.created", "", now, map[string]any{"id": "cus_1", "object": "customer"}))
	f.Add([]byte(`{"id":"evt_4","object":"event","type":"payment_intent.processing","created":1,"data":{"object":{"id":null,"object":"payment_intent","metadata":[]}}}`))
	f.Add([]byte(`{"object":"event","data":{"object":{"payment_intent":{"id":7}}}}`))
	f.Add([]byte(`null`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseWebhook(secret, body, payments.Sign(secret, body, now), now)
		if err != nil {
			if !errors.Is(err, payments.ErrBadPayload) {
				t.Fatalf("a correctly signed body was refused with %v", err)
			}
			return
		}
		if ev.ID == "" || ev.Type == "" || ev.Created.IsZero() {
			t.Fatalf("accepted an event without id, type or time: %+v", ev)
		}
		if strings.HasPrefix(ev.Type, "payment_intent.") && ev.PaymentID == "" {
			t.Fatalf("accepted a payment event without a payment: %+v", ev)
		}
		// A body that verifies must not verify under another secret.
		if _, err := ParseWebhook(secret+"x", body, payments.Sign(secret, body, now), now); !errors.Is(err, payments.ErrBadSignature) {
			t.Fatalf("verified under the wrong secret: %v", err)
		}
	})
}
