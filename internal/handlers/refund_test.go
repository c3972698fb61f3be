package handlers_test

import (
	"encoding/json"
	"testing"

	"github.com/stararena/stararena/internal/devstack"
)

// TestOrganizerRefundThroughTheAPI: GIVEN an order bought and issued
// through the local stack's API (sandbox payment, webhook, workflow) WHEN
// a fan and then an organizer ask to refund it THEN the fan is refused
// (401, by the staff routes' authorizer), the organizer gets the REFUNDED order, the fan sees it refunded
// with revoked tickets, a gate answers REVOKED, the seat is on sale again,
// and an unpaid order cannot be refunded (409).
func TestOrganizerRefundThroughTheAPI(t *testing.T) {
	// Scaled time: a webhook delivery that fails under load is retried in
	// milliseconds, not the provider's 5 s and 15 s.
	st := stackWith(t, devstack.Options{TimeScale: 0.01})
	c := client{t, st.URL()}
	org, fan := c.token("organizer-1", "organizer"), c.token("fan-1", "fan")
	event, order, code := issuedOrder(t, c, org)
	hold := func(token, seat string) string { return holdSeat(t, c, token, event, seat) }
	var r reply
	var ts []struct{ Status, Code string }

	refund := "/admin/v1/orders/" + order + "/refund"
	if r = c.do("POST", refund, fan, []byte(`{}`), nil); r.status != 401 || r.json(t)["error"].(map[string]any)["code"] != "UNAUTHORIZED" {
		t.Fatalf("fan refund: %d %s", r.status, r.body)
	}
	if r = c.do("POST", refund, "", []byte(`{}`), nil); r.status != 401 {
		t.Fatalf("anonymous refund: %d %s", r.status, r.body)
	}
	if r = c.do("POST", refund, org, []byte(`{"reason":"cancelled by the fan","x":1}`), nil); r.status != 400 {
		t.Fatalf("unknown field: %d %s", r.status, r.body)
	}
	if r = c.do("GET", "/v1/orders/"+order, fan, nil, nil); r.json(t)["status"] != "ISSUED" {
		t.Fatalf("refused refunds changed the order: %s", r.body)
	}
	r = c.do("POST", refund, org, []byte(`{"reason":"cancelled by the fan"}`), nil)
	if r.status != 200 || r.json(t)["status"] != "REFUNDED" || r.json(t)["orderId"] != order {
		t.Fatalf("refund: %d %s", r.status, r.body)
	}
	if r = c.do("GET", "/v1/orders/"+order, fan, nil, nil); r.json(t)["status"] != "REFUNDED" || r.json(t)["payment"] != nil {
		t.Fatalf("fan's view: %s", r.body)
	}
	r = c.do("GET", "/v1/orders/"+order+"/tickets", fan, nil, nil)
	ts = nil
	if err := json.Unmarshal(r.body, &ts); err != nil || len(ts) != 1 || ts[0].Status != "REVOKED" || ts[0].Code != "" {
		t.Fatalf("tickets after the refund: %s", r.body)
	}
	scan, _ := json.Marshal(map[string]string{"eventId": event, "code": code, "nonce": "n-1", "gate": "g"})
	if r = c.do("POST", "/v1/checkin", org, scan, nil); r.status != 200 || r.json(t)["result"] != "REVOKED" {
		t.Fatalf("check-in: %d %s", r.status, r.body)
	}
	if r = c.do("POST", refund, org, nil, nil); r.status != 200 || r.json(t)["status"] != "REFUNDED" {
		t.Fatalf("second refund: %d %s", r.status, r.body)
	}
	if other := hold(c.token("fan-2", "fan"), "A-1-1"); other == order {
		t.Fatal("the same order came back")
	}
	pending := hold(fan, "A-1-2")
	if r = c.do("POST", "/admin/v1/orders/"+pending+"/refund", org, nil, nil); r.status != 409 || r.json(t)["error"].(map[string]any)["code"] != "INVALID_STATE" {
		t.Fatalf("unpaid order: %d %s", r.status, r.body)
	}
	if r = c.do("POST", "/admin/v1/orders/nope/refund", org, nil, nil); r.status != 404 {
		t.Fatalf("unknown order: %d %s", r.status, r.body)
	}
}
