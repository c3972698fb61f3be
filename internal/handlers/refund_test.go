package handlers_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/devstack"
)

// TestOrganizerRefundThroughTheAPI: GIVEN an order bought and issued
// through the local stack's API (sandbox payment, webhook, workflow) WHEN
// a fan and then an organizer ask to refund it THEN the fan is refused
// (403), the organizer gets the REFUNDED order, the fan sees it refunded
// with revoked tickets, a gate answers REVOKED, the seat is on sale again,
// and an unpaid order cannot be refunded (409).
func TestOrganizerRefundThroughTheAPI(t *testing.T) {
	// Scaled time: a webhook delivery that fails under load is retried in
	// milliseconds, not the provider's 5 s and 15 s.
	st := stackWith(t, devstack.Options{TimeScale: 0.01})
	c := client{t, st.URL()}
	org, fan := c.token("organizer-1", "organizer"), c.token("fan-1", "fan")
	body := fmt.Sprintf(`{"name":"Refund night","venue":"Hall","startsAt":%q,"saleOpensAt":%q,"holdSeconds":600,"queue":{"mode":"off"},
		"sections":[{"id":"A","name":"Stalls","priceCents":4500,"currency":"EUR","rows":[{"id":"1","seats":4}]}]}`,
		time.Now().Add(24*time.Hour).UTC().Format(time.RFC3339), time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	r := c.do("POST", "/admin/v1/events", org, []byte(body), nil)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	event := r.json(t)["eventId"].(string)
	hold := func(token, seat string) string {
		t.Helper()
		r := c.do("POST", "/v1/events/"+event+"/admission", token, nil, nil)
		if r.status != 200 {
			t.Fatalf("admission: %d %s", r.status, r.body)
		}
		b, _ := json.Marshal(map[string]any{"admissionToken": r.json(t)["admissionToken"], "seats": []string{seat}})
		if r = c.do("POST", "/v1/events/"+event+"/holds", token, b, nil); r.status != 201 {
			t.Fatalf("hold %s: %d %s", seat, r.status, r.body)
		}
		return r.json(t)["orderId"].(string)
	}
	order := hold(fan, "A-1-1")
	r = c.do("POST", "/v1/orders/"+order+"/payments", fan, []byte(`{"provider":"sandbox"}`), nil)
	if r.status != 201 {
		t.Fatalf("payment: %d %s", r.status, r.body)
	}
	pay := r.json(t)["paymentId"].(string)
	if r = c.do("POST", "/sandbox/payments/"+pay+"/complete", "", []byte(`{"outcome":"succeeded"}`), nil); r.status != 200 {
		t.Fatalf("complete: %d %s", r.status, r.body)
	}
	deadline := time.Now().Add(60 * time.Second)
	for c.do("GET", "/v1/orders/"+order, fan, nil, nil).json(t)["status"] != "ISSUED" {
		if time.Now().After(deadline) {
			t.Fatal("order not ISSUED 60 s after payment")
		}
		time.Sleep(50 * time.Millisecond)
	}
	r = c.do("GET", "/v1/orders/"+order+"/tickets", fan, nil, nil)
	var ts []struct{ Status, Code string }
	if err := json.Unmarshal(r.body, &ts); err != nil || len(ts) != 1 || ts[0].Code == "" {
		t.Fatalf("tickets: %s %v", r.body, err)
	}
	code := ts[0].Code

	refund := "/admin/v1/orders/" + order + "/refund"
	if r = c.do("POST", refund, fan, []byte(`{}`), nil); r.status != 403 || r.json(t)["error"].(map[string]any)["code"] != "FORBIDDEN" {
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
	scan, _ := json.Marshal(map[string]string{"code": code, "nonce": "n-1", "gate": "g"})
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
