package openapi_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// transfers exercises ticket transfers (ADR 29): alice buys two seats,
// offers one to bob by email and one to carol, who is at the event's limit
// (CONFLICT) and whose offer alice cancels; bob accepts; at the gate
// alice's old code answers REVOKED "transferred" and bob's new one
// ADMITTED; the box office's order history tells it.
func (c *conformance) transfers(org string) {
	t := c.t
	past := time.Now().Add(-time.Minute).UTC().Truncate(time.Second).Format(time.RFC3339)
	event := c.createEvent("event with transfers", org, createBody(func(m map[string]any) {
		m["saleOpensAt"] = past
		m["holdSeconds"] = 3600
		m["maxTicketsPerAccount"] = 2
		m["queue"] = map[string]any{"mode": "off"}
	}))
	alice, bob, carol := c.token("fan-transfer-alice", "fan"), c.token("fan-transfer-bob", "fan"), c.token("fan-transfer-carol", "fan")
	buy := func(name, token string, seats ...string) string {
		id := c.holdSeats(name+": hold", event, token, seats...)
		c.payAndIssue(name, token, id)
		return id
	}
	order := buy("alice buys two seats", alice, "A-1-1", "A-1-2")
	buy("carol buys her limit", carol, "A-2-1", "A-2-2")
	var tks []struct{ TicketID, Seat, Status, Code string }
	c.step("alice's tickets", call{method: "GET", path: "/v1/orders/" + order + "/tickets", token: alice, status: 200, valid: true,
		check: func(t *testing.T, b []byte) { mustJSON(t, b, &tks) }})
	if len(tks) != 2 {
		t.Fatalf("alice has %d tickets, want 2", len(tks))
	}
	offer := func(i int) string { return "/v1/tickets/" + tks[i].TicketID + "/transfers" }
	to := func(who string) []byte { b, _ := json.Marshal(map[string]string{"to": who}); return b }
	var toBob, toCarol string
	transferID := func(dst *string, status string) func(*testing.T, []byte) {
		return func(t *testing.T, b []byte) {
			var v struct{ TransferID, Status string }
			mustJSON(t, b, &v)
			if v.Status != status {
				t.Errorf("transfer %s, want %s", b, status)
			}
			if dst != nil {
				*dst = v.TransferID
			}
		}
	}
	oversized := []byte(`{"to":"` + strings.Repeat("a", 16<<10) + `"}`)
	for _, cs := range []call{
		{name: "offer without identity", method: "POST", path: offer(0), body: to("bob@example.test"), status: 401, code: "UNAUTHORIZED"},
		{name: "offer with an unknown field", method: "POST", path: offer(0), token: alice, body: []byte(`{"to":"x@example.test","note":"hi"}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "offer to nobody", method: "POST", path: offer(0), token: alice, body: to(""), status: 400, code: "INVALID_REQUEST", valid: true},
		{name: "offer to oneself", method: "POST", path: offer(0), token: alice, body: to("fan-transfer-alice@example.test"), status: 400, code: "INVALID_REQUEST", valid: true},
		{name: "offer another fan's ticket", method: "POST", path: offer(0), token: bob, body: to("carol@example.test"), status: 404, code: "NOT_FOUND", valid: true},
		{name: "offer an unknown ticket", method: "POST", path: "/v1/tickets/aaaaaaaaaaaaaaaa/transfers", token: alice, body: to("x@example.test"), status: 404, code: "NOT_FOUND", valid: true},
		{name: "offer oversized", method: "POST", path: offer(0), token: alice, body: oversized, status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "offer as text", method: "POST", path: offer(0), token: alice, body: to("x@example.test"), contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "offer to bob by email", method: "POST", path: offer(0), token: alice, body: to("Fan-Transfer-Bob@example.test"), status: 201, valid: true, check: transferID(&toBob, "PENDING")},
		{name: "offer the same ticket again", method: "POST", path: offer(0), token: alice, body: to("fan-transfer-carol"), status: 409, code: "INVALID_STATE", valid: true},
		{name: "offer to carol by account", method: "POST", path: offer(1), token: alice, body: to("fan-transfer-carol"), status: 201, valid: true, check: transferID(&toCarol, "PENDING")},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}
	if toBob == "" || toCarol == "" {
		t.Fatal("no transfers offered")
	}
	accept := func(id string) string { return "/v1/transfers/" + id + "/accept" }
	cancel := func(id string) string { return "/v1/transfers/" + id + "/cancel" }
	incoming := func(want string) func(*testing.T, []byte) {
		return func(t *testing.T, b []byte) {
			var l struct {
				Incoming []struct{ TransferID, Status string }
			}
			mustJSON(t, b, &l)
			if len(l.Incoming) != 1 || l.Incoming[0].TransferID != toBob || l.Incoming[0].Status != want {
				t.Errorf("bob's transfers %s, want %s %s", truncate(b), toBob, want)
			}
		}
	}
	var bobs []struct{ TicketID, Seat, Status, Code string }
	for _, cs := range []call{
		{name: "bob's transfers", method: "GET", path: "/v1/me/transfers", token: bob, status: 200, valid: true, check: incoming("PENDING")},
		{name: "transfers without identity", method: "GET", path: "/v1/me/transfers", status: 401, code: "UNAUTHORIZED"},
		{name: "accept without identity", method: "POST", path: accept(toBob), status: 401, code: "UNAUTHORIZED"},
		{name: "accept another's transfer", method: "POST", path: accept(toBob), token: carol, status: 404, code: "NOT_FOUND", valid: true},
		{name: "accept with a field", method: "POST", path: accept(toBob), token: bob, body: []byte(`{"why":"x"}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "accept oversized", method: "POST", path: accept(toBob), token: bob, body: oversized, status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "accept as text", method: "POST", path: accept(toBob), token: bob, body: []byte(`{}`), contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "accept at the limit", method: "POST", path: accept(toCarol), token: carol, status: 409, code: "CONFLICT", valid: true},
		{name: "cancel without identity", method: "POST", path: cancel(toCarol), status: 401, code: "UNAUTHORIZED"},
		{name: "cancel as the recipient", method: "POST", path: cancel(toCarol), token: carol, status: 404, code: "NOT_FOUND", valid: true},
		{name: "cancel with a field", method: "POST", path: cancel(toCarol), token: alice, body: []byte(`{"why":"x"}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "cancel oversized", method: "POST", path: cancel(toCarol), token: alice, body: oversized, status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "cancel as text", method: "POST", path: cancel(toCarol), token: alice, body: []byte(`{}`), contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "cancel", method: "POST", path: cancel(toCarol), token: alice, body: []byte(`{}`), status: 200, valid: true, check: transferID(nil, "CANCELLED")},
		{name: "cancel again", method: "POST", path: cancel(toCarol), token: alice, status: 409, code: "INVALID_STATE", valid: true},
		{name: "accept a cancelled transfer", method: "POST", path: accept(toCarol), token: carol, status: 409, code: "INVALID_STATE", valid: true},
		{name: "accept", method: "POST", path: accept(toBob), token: bob, status: 200, valid: true, check: func(t *testing.T, b []byte) {
			var v struct {
				Status  string
				Tickets []struct{ TicketID, Seat, Status, Code string }
			}
			mustJSON(t, b, &v)
			bobs = v.Tickets
			if v.Status != "ACCEPTED" || len(bobs) != 1 || bobs[0].Status != "VALID" || bobs[0].Seat != "A-1-1" || bobs[0].Code == tks[0].Code {
				t.Errorf("accepted %s", truncate(b))
			}
		}},
		{name: "accept again", method: "POST", path: accept(toBob), token: bob, body: []byte(`{}`), status: 200, valid: true, check: transferID(nil, "ACCEPTED")},
		{name: "bob's transfers after accepting", method: "GET", path: "/v1/me/transfers", token: bob, status: 200, valid: true, check: incoming("ACCEPTED")},
		{name: "cancel an accepted transfer", method: "POST", path: cancel(toBob), token: alice, status: 409, code: "INVALID_STATE", valid: true},
		{name: "alice's tickets after the transfer", method: "GET", path: "/v1/orders/" + order + "/tickets", token: alice, status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				var ts []struct{ Status, Code string }
				mustJSON(t, b, &ts)
				if len(ts) != 2 || ts[0].Status != "TRANSFERRED" || ts[0].Code != "" || ts[1].Status != "VALID" {
					t.Errorf("alice's tickets %s", truncate(b))
				}
			}},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}
	if len(bobs) != 1 {
		t.Fatal("bob received no ticket")
	}
	scan := func(code, nonce string) []byte {
		b, _ := json.Marshal(map[string]string{"eventId": event, "code": code, "nonce": nonce, "gate": "east 1"})
		return b
	}
	gate := func(want, reason string) func(*testing.T, []byte) {
		return func(t *testing.T, b []byte) {
			var r struct{ Result, Reason string }
			mustJSON(t, b, &r)
			if r.Result != want || r.Reason != reason {
				t.Errorf("check-in %s, want %s %q", b, want, reason)
			}
		}
	}
	for _, cs := range []call{
		{name: "alice's old code at the gate", method: "POST", path: "/v1/checkin", token: org, body: scan(tks[0].Code, "transfer-1"), status: 200, valid: true, check: gate("REVOKED", "transferred")},
		{name: "bob's code at the gate", method: "POST", path: "/v1/checkin", token: org, body: scan(bobs[0].Code, "transfer-2"), status: 200, valid: true, check: gate("ADMITTED", "")},
		{name: "gate kit lists the transferred ticket", method: "GET", path: "/admin/v1/events/" + event + "/gate-kit", token: org, status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				var k struct {
					Revocations []struct{ OrderID, Seat, Reason string }
				}
				mustJSON(t, b, &k)
				if len(k.Revocations) != 1 || k.Revocations[0].OrderID != order || k.Revocations[0].Seat != "A-1-1" || k.Revocations[0].Reason != "transferred" {
					t.Errorf("gate kit revocations %s", truncate(b))
				}
			}},
		{name: "the order's history tells the transfers", method: "GET", path: "/admin/v1/orders/" + order, token: org, status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				var v struct {
					History []struct{ What, Actor string }
				}
				mustJSON(t, b, &v)
				seen := map[string]string{}
				for _, e := range v.History {
					seen[e.What] += e.Actor + " "
				}
				if seen["transfer offered"] != "fan-transfer-alice fan-transfer-alice " || seen["transfer accepted"] != "fan-transfer-bob " ||
					seen["transfer cancelled"] != "fan-transfer-alice " {
					t.Errorf("history %s", truncate(b))
				}
			}},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}
}
