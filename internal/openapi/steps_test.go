package openapi_test

import (
	"testing"
	"time"
)

// holdSeats is the step that holds seats on event for token's fan through
// the admission it gets first; it answers the new order's id.
func (c *conformance) holdSeats(name, event, token string, seats ...string) string {
	var id string
	c.step(name, call{method: "POST", path: "/v1/events/" + event + "/holds", token: token, body: seatsBody(c.admit(event, token), seats...),
		status: 201, valid: true, check: func(t *testing.T, b []byte) { id = orderOf(t, b).OrderID }})
	if id == "" {
		c.t.Fatalf("%s: no order", name)
	}
	return id
}

// payAndIssue pays for token's order at the sandbox with the webhook
// delivered, then waits for the workflow to issue its tickets.
func (c *conformance) payAndIssue(name, token, orderID string) {
	var paymentID string
	c.step(name+": payment", call{method: "POST", path: "/v1/orders/" + orderID + "/payments", token: token, body: []byte(`{"provider":"sandbox"}`), status: 201, valid: true,
		check: func(t *testing.T, b []byte) {
			var p struct{ PaymentID string }
			mustJSON(t, b, &p)
			paymentID = p.PaymentID
		}})
	c.step(name+": pay", call{method: "POST", path: "/sandbox/payments/" + paymentID + "/complete",
		body: []byte(`{"outcome":"succeeded","webhook":"deliver"}`), status: 200, valid: true, check: wantPayment("succeeded")})
	c.waitIssued(name+": issued", token, orderID)
}

// waitIssued is the step that polls a paid order until the workflow has
// issued it, failing after 20 s.
func (c *conformance) waitIssued(name, token, orderID string) {
	c.t.Run(name, func(t *testing.T) {
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			_, b := c.exchange(t, call{method: "GET", path: "/v1/orders/" + orderID, token: token, status: 200, valid: true})
			if st := orderOf(t, b).Status; st == "ISSUED" {
				return
			} else if time.Now().After(deadline) {
				t.Fatalf("order is %s 20 s after payment, want ISSUED", st)
			}
		}
	})
}
