package stripe

import (
	"bytes"
	"encoding/json"
)

// The parts of Stripe's API objects the provider reads (API version
// APIVersion). Unknown fields are ignored: Stripe adds fields without a new
// version.

// paymentIntent is a PaymentIntent.
type paymentIntent struct {
	ID           string            `json:"id"`
	Amount       int64             `json:"amount"`
	Currency     string            `json:"currency"`
	Status       string            `json:"status"`
	ClientSecret string            `json:"client_secret"`
	Created      int64             `json:"created"`
	Metadata     map[string]string `json:"metadata"`
	// LatestCharge is the charge's id, or the charge when expanded.
	LatestCharge *charge `json:"latest_charge"`
	// LastPaymentError is the last attempt's error, null when none.
	LastPaymentError *lastPaymentError `json:"last_payment_error"`
}

// lastPaymentError is a PaymentIntent's last_payment_error (an API error
// object).
type lastPaymentError struct {
	Type        string `json:"type"`
	Code        string `json:"code"`
	DeclineCode string `json:"decline_code"`
	Message     string `json:"message"`
}

// charge is a Charge, or only its id where it is not expanded.
type charge struct {
	ID             string `json:"id"`
	AmountRefunded int64  `json:"amount_refunded"`
}

// UnmarshalJSON takes an expandable field: an id as a string, or the
// object.
func (c *charge) UnmarshalJSON(b []byte) error {
	if id, ok, err := expandableID(b); ok || err != nil {
		*c = charge{ID: id}
		return err
	}
	type plain charge
	return json.Unmarshal(b, (*plain)(c))
}

// refund is a Refund.
type refund struct {
	ID     string `json:"id"`
	Amount int64  `json:"amount"`
	Status string `json:"status"`
	// PaymentIntent is the refunded PaymentIntent, an id or the object.
	PaymentIntent *objectID `json:"payment_intent"`
}

// objectID is an expandable field of which only the id is read.
type objectID struct {
	ID string `json:"id"`
}

// UnmarshalJSON takes an id as a string, or the object.
func (o *objectID) UnmarshalJSON(b []byte) error {
	if id, ok, err := expandableID(b); ok || err != nil {
		*o = objectID{ID: id}
		return err
	}
	type plain objectID
	return json.Unmarshal(b, (*plain)(o))
}

// expandableID reads an expandable field that was not expanded: ok when b
// is a JSON string (the id).
func expandableID(b []byte) (id string, ok bool, err error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '"' {
		return "", false, nil
	}
	err = json.Unmarshal(b, &id)
	return id, true, err
}

// page is one page of a list ("object": "list") or of a search
// ("object": "search_result") of PaymentIntents.
type page struct {
	Object  string           `json:"object"`
	Data    []*paymentIntent `json:"data"`
	HasMore bool             `json:"has_more"`
	// NextPage is a search's cursor for the next page (null on the last).
	NextPage string `json:"next_page"`
}

// errorBody is the body of every error answer: {"error": {...}}.
type errorBody struct {
	Error *struct {
		Type        string `json:"type"`
		Code        string `json:"code"`
		DeclineCode string `json:"decline_code"`
		Message     string `json:"message"`
		Param       string `json:"param"`
	} `json:"error"`
}
