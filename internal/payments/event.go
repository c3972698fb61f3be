package payments

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/stararena/stararena/internal/limits"
)

// MetadataOrderID is the metadata key holding a payment's order id.
const MetadataOrderID = "order_id"

// EventFromObject maps the parts of a Stripe-shaped event to a
// WebhookEvent. object is the event's data.object as generic JSON.
//
//   - payment_intent.* events must carry a payment_intent object with an
//     id: PaymentID is that id.
//   - for a charge or refund object (charge.refunded, ...), PaymentID is its
//     payment_intent (a string, or an expanded object's id), possibly empty
//     for charges made without a PaymentIntent.
//   - other objects leave PaymentID empty.
//
// OrderID is the object's metadata "order_id" when it is a string.
// It returns ErrBadPayload for an empty id or type, a non-positive created
// time or a payment_intent event that is not about a payment intent.
func EventFromObject(id, typ string, created int64, object map[string]any) (WebhookEvent, error) {
	ev := WebhookEvent{ID: id, Type: typ}
	if id == "" || len(id) > limits.ProviderIDBytes || typ == "" || len(typ) > limits.ProviderIDBytes {
		return ev, fmt.Errorf("%w: event needs an id and a type", ErrBadPayload)
	}
	if created <= 0 {
		return ev, fmt.Errorf("%w: event %s has no created time", ErrBadPayload, id)
	}
	ev.Created = time.Unix(created, 0).UTC()
	kind, _ := object["object"].(string)
	if md, ok := object["metadata"].(map[string]any); ok {
		ev.OrderID, _ = md[MetadataOrderID].(string)
	}
	switch kind {
	case "payment_intent":
		ev.PaymentID, _ = object["id"].(string)
	case "charge", "refund":
		switch pi := object["payment_intent"].(type) {
		case string:
			ev.PaymentID = pi
		case map[string]any:
			ev.PaymentID, _ = pi["id"].(string)
		}
	}
	if strings.HasPrefix(typ, "payment_intent.") && (kind != "payment_intent" || ev.PaymentID == "") {
		return ev, fmt.Errorf("%w: %s event %s does not carry a payment intent", ErrBadPayload, typ, id)
	}
	return ev, nil
}

// DecodeEvent reads a Stripe-shaped event body that has already been
// verified:
//
//	{"id":"evt_...","object":"event","type":"...","created":<unix>,
//	 "data":{"object":{"id":"pi_...","object":"payment_intent","metadata":{"order_id":"..."},...}}}
//
// Unknown fields are ignored (providers add fields). Errors wrap
// ErrBadPayload.
func DecodeEvent(body []byte) (WebhookEvent, error) {
	var w struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Type    string `json:"type"`
		Created int64  `json:"created"`
		Data    *struct {
			Object map[string]any `json:"object"`
		} `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return WebhookEvent{}, fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	if dec.More() {
		return WebhookEvent{}, fmt.Errorf("%w: data after the event", ErrBadPayload)
	}
	if w.Object != "event" {
		return WebhookEvent{}, fmt.Errorf("%w: object is %q, want \"event\"", ErrBadPayload, clip(w.Object))
	}
	if w.Data == nil || w.Data.Object == nil {
		return WebhookEvent{}, fmt.Errorf("%w: event has no data.object", ErrBadPayload)
	}
	return EventFromObject(w.ID, w.Type, w.Created, w.Data.Object)
}

var currencyPat = regexp.MustCompile(`^[A-Za-z]{3}$`)

// CheckCreate validates CreatePayment's arguments the same way for every
// provider and returns the currency in upper case. Errors wrap ErrInvalid.
func CheckCreate(orderID string, amountCents int64, currency string) (string, error) {
	if err := CheckID("order id", orderID); err != nil {
		return "", err
	}
	if amountCents <= 0 || amountCents > MaxAmountCents {
		return "", fmt.Errorf("%w: amount %d is not in 1..%d", ErrInvalid, amountCents, MaxAmountCents)
	}
	if !currencyPat.MatchString(currency) {
		return "", fmt.Errorf("%w: currency %q is not an ISO 4217 code", ErrInvalid, clip(currency))
	}
	return strings.ToUpper(currency), nil
}

// CheckID validates an id or idempotency key: 1..MaxIDLength printable
// ASCII characters, no space, quote or backslash (so it is safe in a
// search query and a URL path). Errors wrap ErrInvalid.
func CheckID(what, id string) error {
	if id == "" || len(id) > MaxIDLength {
		return fmt.Errorf("%w: %s must be 1..%d characters", ErrInvalid, what, MaxIDLength)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= ' ' || c >= 0x7f || c == '\'' || c == '"' || c == '\\' || c == '/' {
			return fmt.Errorf("%w: %s %q has a character outside printable ASCII or one of ' \" \\ /", ErrInvalid, what, clip(id))
		}
	}
	return nil
}
