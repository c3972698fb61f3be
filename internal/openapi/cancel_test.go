package openapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/payments/sandbox"
)

// cancellation exercises postponing an event with a buyer's refund in its
// window, and cancelling one: the sale closes, the saga refunds the issued
// order and revokes its ticket, and the progress says so.
func (c *conformance) cancellation(st *devstack.Stack, org string) {
	t := c.t
	past := time.Now().Add(-time.Minute).UTC().Truncate(time.Second).Format(time.RFC3339)
	newEvent := func(name string) string {
		return c.createEvent(name, org, createBody(func(m map[string]any) {
			m["saleOpensAt"] = past
			m["holdSeconds"] = 3600
			m["queue"] = map[string]any{"mode": "off"}
		}))
	}
	moved, cancelled := newEvent("event to postpone"), newEvent("event to cancel")
	fan, other := c.token("fan-cancel", "fan"), c.token("fan-cancel-other", "fan")
	hold := func(name, event string, seat string) string { return c.holdSeats(name, event, fan, seat) }
	issue := func(name, orderID string) { c.payAndIssue(name, fan, orderID) }
	first, second := hold("hold on the event to postpone", moved, "A-1-1"), hold("second hold on the event to postpone", moved, "A-1-2")
	issue("order to refund on request", first)
	issue("order whose refund meets a failing provider", second)
	doomed := hold("hold on the event to cancel", cancelled, "A-1-1")
	issue("order of the cancelled event", doomed)
	open := hold("open hold on the event to cancel", cancelled, "A-1-2")

	late := c.admit(cancelled, other) // admitted before the cancel: the hold is refused all the same

	ask := func(id string) string { return "/v1/orders/" + id + "/refund" }
	postpone := func(ev string) string { return "/admin/v1/events/" + ev + "/postpone" }
	stamp := func(d time.Duration) string {
		return time.Now().Add(d).UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	later := []byte(`{"startsAt":"` + stamp(90*24*time.Hour) + `","refundUntil":"` + stamp(45*24*time.Hour) + `"}`)
	cancel := func(ev string) string { return "/admin/v1/events/" + ev + "/cancel" }
	progress := func(ev string) string { return "/admin/v1/events/" + ev + "/cancellation" }
	reason := []byte(`{"reason":"The artist is ill."}`)
	oversized := []byte(`{"reason":"` + strings.Repeat("a", 16<<10) + `"}`)
	for _, cs := range []call{
		{name: "buyer refund before any postponement", method: "POST", path: ask(first), token: fan, status: 409, code: "REFUND_WINDOW_CLOSED", valid: true},
		{name: "postpone without identity", method: "POST", path: postpone(moved), body: later, status: 401, code: "UNAUTHORIZED"},
		{name: "postpone as a fan", method: "POST", path: postpone(moved), token: fan, body: later, status: 401, code: "UNAUTHORIZED"},
		{name: "postpone as a scanner of another event", method: "POST", path: postpone(moved), token: c.scannerElsewhere(), body: later, status: 403, code: "FORBIDDEN"},
		{name: "postpone with an unknown field", method: "POST", path: postpone(moved), token: org, body: []byte(`{"startsAt":"2030-01-01T00:00:00Z","refundUntil":"2029-01-01T00:00:00Z","x":1}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "postpone with the window after the date", method: "POST", path: postpone(moved), token: org, body: []byte(`{"startsAt":"` + stamp(time.Hour) + `","refundUntil":"` + stamp(2*time.Hour) + `"}`), status: 400, code: "INVALID_REQUEST", valid: true},
		{name: "postpone an unknown event", method: "POST", path: postpone("nope"), token: org, body: later, status: 404, code: "NOT_FOUND", valid: true},
		{name: "postpone oversized", method: "POST", path: postpone(moved), token: org, body: oversized, status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "postpone as text", method: "POST", path: postpone(moved), token: org, body: later, contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "postpone", method: "POST", path: postpone(moved), token: org, body: later, status: 200, valid: true, check: func(t *testing.T, b []byte) {
			var ev struct {
				Postponed struct{ RefundUntil time.Time }
				SaleState string
			}
			if mustJSON(t, b, &ev); ev.Postponed.RefundUntil.IsZero() || ev.SaleState != "OPEN" {
				t.Errorf("postponed event %s", truncate(b))
			}
		}},
		{name: "buyer refund without identity", method: "POST", path: ask(first), status: 401, code: "UNAUTHORIZED"},
		{name: "buyer refund of another's order", method: "POST", path: ask(first), token: other, status: 404, code: "NOT_FOUND", valid: true},
		{name: "buyer refund with a field", method: "POST", path: ask(first), token: fan, body: []byte(`{"why":"x"}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "buyer refund oversized", method: "POST", path: ask(first), token: fan, body: oversized, status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "buyer refund as text", method: "POST", path: ask(first), token: fan, body: []byte(`{}`), contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "buyer refund", method: "POST", path: ask(first), token: fan, status: 200, valid: true, check: wantStatus("REFUNDED")},
		{name: "buyer refund again", method: "POST", path: ask(first), token: fan, body: []byte(`{}`), status: 200, valid: true, check: wantStatus("REFUNDED")},

		{name: "cancel without identity", method: "POST", path: cancel(cancelled), body: reason, status: 401, code: "UNAUTHORIZED"},
		{name: "cancel as a fan", method: "POST", path: cancel(cancelled), token: fan, body: reason, status: 401, code: "UNAUTHORIZED"},
		{name: "cancel as a scanner of another event", method: "POST", path: cancel(cancelled), token: c.scannerElsewhere(), body: reason, status: 403, code: "FORBIDDEN"},
		{name: "cancel without a reason", method: "POST", path: cancel(cancelled), token: org, body: []byte(`{}`), status: 400, code: "INVALID_REQUEST", valid: false},
		{name: "cancel with an unknown field", method: "POST", path: cancel(cancelled), token: org, body: []byte(`{"reason":"x","refund":false}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "cancel an unknown event", method: "POST", path: cancel("nope"), token: org, body: reason, status: 404, code: "NOT_FOUND", valid: true},
		{name: "cancel oversized", method: "POST", path: cancel(cancelled), token: org, body: oversized, status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "cancel as text", method: "POST", path: cancel(cancelled), token: org, body: reason, contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "progress of an event not cancelled", method: "GET", path: progress(moved), token: org, status: 404, code: "NOT_FOUND", valid: true},
		{name: "cancel", method: "POST", path: cancel(cancelled), token: org, body: reason, status: 202, valid: true},
		{name: "cancel again", method: "POST", path: cancel(cancelled), token: org, body: []byte(`{"reason":"Something else."}`), status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				var p struct{ Reason string }
				if mustJSON(t, b, &p); p.Reason != "The artist is ill." {
					t.Errorf("second cancel answered %s", truncate(b))
				}
			}},
		{name: "cancelled event", method: "GET", path: "/v1/events/" + cancelled, status: 200, valid: true, check: func(t *testing.T, b []byte) {
			var ev struct {
				SaleState string
				Cancelled struct{ Reason string }
			}
			if mustJSON(t, b, &ev); ev.SaleState != "CANCELLED" || ev.Cancelled.Reason != "The artist is ill." {
				t.Errorf("cancelled event %s", truncate(b))
			}
		}},
		{name: "admission to a cancelled event", method: "POST", path: "/v1/events/" + cancelled + "/admission", token: other, status: 409, code: "EVENT_CANCELLED", valid: true,
			afterCache: true},
		{name: "postpone a cancelled event", method: "POST", path: postpone(cancelled), token: org, body: later, status: 409, code: "EVENT_CANCELLED", valid: true},
		{name: "progress without identity", method: "GET", path: progress(cancelled), status: 401, code: "UNAUTHORIZED"},
		{name: "progress as a fan", method: "GET", path: progress(cancelled), token: fan, status: 401, code: "UNAUTHORIZED"},
		{name: "progress as a scanner of another event", method: "GET", path: progress(cancelled), token: c.scannerElsewhere(), status: 403, code: "FORBIDDEN"},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}

	// Holds read the event through a cache of a few seconds (ADR 14): the
	// refusal comes once it lapses, whatever token the fan holds.
	c.step("hold on a cancelled event", call{method: "POST", path: "/v1/events/" + cancelled + "/holds", token: other,
		body: seatsBody(late, "A-1-3"), status: 409, code: "EVENT_CANCELLED", valid: true, afterCache: true})

	// The provider fails the buyer's refund once: accepted (202).
	st.Sandbox.SetFailures(sandbox.OpRefund, sandbox.Fault{Times: 1})
	c.step("buyer refund while the provider fails", call{method: "POST", path: ask(second), token: fan, status: 202, valid: true, check: wantStatus("REFUND_PENDING")})

	// One pass of the saga, as the reconciler's schedule runs it.
	if _, err := st.App.RunCancellations(context.Background()); err != nil {
		t.Fatalf("cancellation pass: %v", err)
	}
	c.step("progress", call{method: "GET", path: progress(cancelled), token: org, status: 200, valid: true, check: func(t *testing.T, b []byte) {
		var p struct {
			Orders, Refunded, HoldsReleased int
		}
		if mustJSON(t, b, &p); p.Orders != 1 || p.Refunded != 1 || p.HoldsReleased < 1 {
			t.Errorf("progress after a pass %s", truncate(b))
		}
	}})
	c.step("cancelled event's order", call{method: "GET", path: "/v1/orders/" + doomed, token: fan, status: 200, valid: true, check: wantStatus("REFUNDED")})
	c.step("cancelled event's open hold", call{method: "GET", path: "/v1/orders/" + open, token: fan, status: 200, valid: true, check: wantStatus("CANCELLED")})
	c.step("cancelled event's tickets", call{method: "GET", path: "/v1/orders/" + doomed + "/tickets", token: fan, status: 200, valid: true,
		check: func(t *testing.T, b []byte) {
			var ts []struct{ Status string }
			if mustJSON(t, b, &ts); len(ts) != 1 || ts[0].Status != "REVOKED" {
				t.Errorf("tickets %s", truncate(b))
			}
		}})
}
