package openapi_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/payments/sandbox"
)

// refund is TestConformance's part for an organizer's refund: two orders
// paid through the sandbox (one issued, one paid), refused refunds, the
// refund of the issued order (its ticket then checks in REVOKED and its
// seat can be held again), and a refund the provider fails once (202, then
// completed by repeating it).
func (c *conformance) refund(st *devstack.Stack, org string) {
	t := c.t
	past := time.Now().Add(-time.Minute).UTC().Truncate(time.Second).Format(time.RFC3339)
	event := c.createEvent("event for refunds", org, createBody(func(m map[string]any) {
		m["saleOpensAt"] = past
		m["holdSeconds"] = 3600 // 36 s at the stack's time scale: longer than this part
		m["queue"] = map[string]any{"mode": "off"}
	}))
	fan, other := c.token("fan-refund", "fan"), c.token("fan-refund-other", "fan")
	hold := func(name, token string, seats ...string) string { return c.holdSeats(name, event, token, seats...) }
	pay := func(name, orderID string) { c.payAndIssue(name, fan, orderID) }
	issued := hold("hold a seat to refund", fan, "A-1-1")
	pay("first order", issued)
	failing := hold("hold a seat to refund while the provider fails", fan, "A-1-2")
	pay("second order", failing)
	pending := hold("hold a seat and not pay", fan, "A-1-3")
	c.staff(org, fan, "fan-refund@example.test", event, failing, pending)

	var code string
	c.step("tickets before the refund", call{method: "GET", path: "/v1/orders/" + issued + "/tickets", token: fan, status: 200, valid: true,
		check: func(t *testing.T, b []byte) {
			var ts []struct{ Status, Code string }
			if mustJSON(t, b, &ts); len(ts) != 1 || ts[0].Status != "VALID" {
				t.Fatalf("tickets %s", truncate(b))
			}
			code = ts[0].Code
		}})

	refund := func(id string) string { return "/admin/v1/orders/" + id + "/refund" }
	reason := []byte(`{"reason":"the fan cannot attend"}`)
	oversized := []byte(`{"reason":"` + strings.Repeat("a", 16<<10) + `"}`)
	refunded := func(t *testing.T, b []byte) {
		var o struct {
			OrderID, Status string
			Payment         json.RawMessage
			Tickets         []json.RawMessage
		}
		if mustJSON(t, b, &o); o.OrderID != issued || o.Status != "REFUNDED" || string(o.Payment) != "null" || len(o.Tickets) != 0 {
			t.Errorf("refund answer %s", truncate(b))
		}
	}
	scan := func(nonce string) []byte {
		b, _ := json.Marshal(map[string]string{"eventId": event, "code": code, "nonce": nonce, "gate": "east 1"})
		return b
	}
	for _, cs := range []call{
		{name: "refund without identity", method: "POST", path: refund(issued), body: reason, status: 401, code: "UNAUTHORIZED"},
		{name: "refund as a fan", method: "POST", path: refund(issued), token: fan, body: reason, status: 401, code: "UNAUTHORIZED"},
		{name: "refund as a scanner of another event", method: "POST", path: refund(issued), token: c.scannerElsewhere(), body: reason, status: 403, code: "FORBIDDEN"},
		{name: "refund malformed", method: "POST", path: refund(issued), token: org, body: []byte(`{"reason":`), status: 400, code: "INVALID_JSON"},
		{name: "refund with an unknown field", method: "POST", path: refund(issued), token: org, body: []byte(`{"reason":"x","amountCents":100}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "refund with a mistyped reason", method: "POST", path: refund(issued), token: org, body: []byte(`{"reason":7}`), status: 400, code: "INVALID_REQUEST"},
		{name: "refund with a long reason", method: "POST", path: refund(issued), token: org, body: []byte(`{"reason":"` + strings.Repeat("r", 201) + `"}`), status: 400, code: "INVALID_REQUEST"},
		{name: "refund oversized", method: "POST", path: refund(issued), token: org, body: oversized, status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "refund as text", method: "POST", path: refund(issued), token: org, body: reason, contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "refund an unknown order", method: "POST", path: refund("no-such-order"), token: org, body: reason, status: 404, code: "NOT_FOUND", valid: true},
		{name: "refund an unpaid order", method: "POST", path: refund(pending), token: org, body: reason, status: 409, code: "INVALID_STATE", valid: true},
		{name: "refund", method: "POST", path: refund(issued), token: org, body: reason, status: 200, valid: true, check: refunded},
		{name: "refund again without a body", method: "POST", path: refund(issued), token: org, status: 200, valid: true, check: refunded},
		{name: "refunded order", method: "GET", path: "/v1/orders/" + issued, token: fan, status: 200, valid: true, check: wantStatus("REFUNDED")},
		{name: "refunded tickets", method: "GET", path: "/v1/orders/" + issued + "/tickets", token: fan, status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				var ts []struct{ Status, Code string }
				if mustJSON(t, b, &ts); len(ts) != 1 || ts[0].Status != "REVOKED" || ts[0].Code != "" {
					t.Errorf("tickets %s", truncate(b))
				}
			}},
		{name: "check in a refunded ticket", method: "POST", path: "/v1/checkin", token: org, body: scan("refund-scan-1"), status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				var r struct{ Result string }
				if mustJSON(t, b, &r); r.Result != "REVOKED" {
					t.Errorf("check-in %s", b)
				}
			}},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}
	// The refunded seat is on sale again.
	hold("hold the refunded seat", other, "A-1-1")

	// The provider fails the refund once: accepted (202), completed by
	// asking again.
	st.Sandbox.SetFailures(sandbox.OpRefund, sandbox.Fault{Times: 1})
	c.step("refund while the provider fails", call{method: "POST", path: refund(failing), token: org, status: 202, valid: true, check: wantStatus("REFUND_PENDING")})
	c.step("refund again once it answers", call{method: "POST", path: refund(failing), token: org, body: []byte(`{}`), status: 200, valid: true, check: wantStatus("REFUNDED")})
}
