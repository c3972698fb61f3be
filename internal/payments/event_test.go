package payments

import (
	"errors"
	"testing"
	"time"
)

func TestDecodeEvent(t *testing.T) {
	ev, err := DecodeEvent([]byte(`{"id":"evt_1","object":"event","type":"payment_intent.succeeded","created":1772366400,
		"data":{"object":{"id":"pi_1","object":"payment_intent","status":"succeeded","metadata":{"order_id":"o-1"},"amount":1500}},
		"future_field":{"x":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := WebhookEvent{ID: "evt_1", Type: EventPaymentSucceeded, PaymentID: "pi_1", OrderID: "o-1", Created: time.Unix(1772366400, 0).UTC()}
	if ev != want {
		t.Fatalf("DecodeEvent = %+v, want %+v", ev, want)
	}

	ev, err = DecodeEvent([]byte(`{"id":"evt_2","object":"event","type":"charge.refunded","created":1,
		"data":{"object":{"id":"ch_1","object":"charge","payment_intent":{"id":"pi_9","object":"payment_intent"}}}}`))
	if err != nil || ev.PaymentID != "pi_9" {
		t.Fatalf("charge with expanded payment_intent: %+v, %v", ev, err)
	}

	for name, body := range map[string]string{
		"empty":             ``,
		"array":             `[]`,
		"trailing data":     `{"id":"evt_1","object":"event","type":"x","created":1,"data":{"object":{}}} {}`,
		"not an event":      `{"id":"evt_1","object":"charge","type":"x","created":1,"data":{"object":{}}}`,
		"no data":           `{"id":"evt_1","object":"event","type":"x","created":1}`,
		"null object":       `{"id":"evt_1","object":"event","type":"x","created":1,"data":{"object":null}}`,
		"no created":        `{"id":"evt_1","object":"event","type":"x","data":{"object":{}}}`,
		"no type":           `{"id":"evt_1","object":"event","created":1,"data":{"object":{}}}`,
		"id not a string":   `{"id":1,"object":"event","type":"x","created":1,"data":{"object":{}}}`,
		"pi event, no pi":   `{"id":"evt_1","object":"event","type":"payment_intent.succeeded","created":1,"data":{"object":{"object":"payment_intent"}}}`,
		"pi event, charge":  `{"id":"evt_1","object":"event","type":"payment_intent.succeeded","created":1,"data":{"object":{"id":"ch_1","object":"charge"}}}`,
		"pi id not string":  `{"id":"evt_1","object":"event","type":"payment_intent.succeeded","created":1,"data":{"object":{"id":5,"object":"payment_intent"}}}`,
		"created not a int": `{"id":"evt_1","object":"event","type":"x","created":"1","data":{"object":{}}}`,
	} {
		if _, err := DecodeEvent([]byte(body)); !errors.Is(err, ErrBadPayload) {
			t.Errorf("%s: DecodeEvent error = %v, want ErrBadPayload", name, err)
		}
	}
}

func TestCheckCreate(t *testing.T) {
	cur, err := CheckCreate("3f2a9c1e-0000-4000-8000-000000000001", 1500, "eur")
	if err != nil || cur != "EUR" {
		t.Fatalf("CheckCreate = %q, %v", cur, err)
	}
	for _, id := range []string{"", "a b", "a\"b", `a\b`, "a/b", "é", "a\x00"} {
		if err := CheckID("order id", id); !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckID(%q) = %v, want ErrInvalid", id, err)
		}
	}
}

func TestStatusValid(t *testing.T) {
	for _, s := range []Status{StatusRequiresPayment, StatusProcessing, StatusSucceeded, StatusFailed, StatusCanceled} {
		if !s.Valid() {
			t.Errorf("%s not valid", s)
		}
	}
	if Status("requires_payment_method").Valid() {
		t.Error("a Stripe status is not a port status")
	}
}
