package openapi_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/tickets"
)

// rotating is TestConformance's part for rotating codes (ADR 28): the
// owner's ticket carries its rotation secret, a code made from it admits
// in its window and answers EXPIRED outside it, and the organizer's
// rotating-only setting refuses the static code and reaches the gate kit.
// It uses the order's second ticket (seat A-1-2), still unused, and leaves
// the event accepting printed codes again.
func (c *conformance) rotating(event, orderID, fan, org string) {
	t := c.t
	var ts []struct {
		TicketID, Seat, Code string
		Rotation             *tickets.Rotation
	}
	c.step("tickets with rotation", call{method: "GET", path: "/v1/orders/" + orderID + "/tickets", token: fan, status: 200, valid: true,
		check: func(t *testing.T, b []byte) {
			if mustJSON(t, b, &ts); len(ts) != 2 || ts[1].Rotation == nil || !ts[1].Rotation.Printable || ts[1].Rotation.StepSeconds != 30 {
				t.Fatalf("tickets %s", truncate(b))
			}
		}})
	if len(ts) != 2 || ts[1].Rotation == nil {
		t.Fatal("no rotation secret to make codes with")
	}
	secret, err := base64.RawURLEncoding.DecodeString(ts[1].Rotation.Secret)
	if err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) string {
		code, err := tickets.RotatingCode(ts[1].Code, secret, tickets.Step(time.Now().Add(d)))
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	scan := func(code, nonce string, scannedAt ...time.Time) []byte {
		m := map[string]string{"eventId": event, "code": code, "nonce": nonce, "gate": "north 3"}
		for _, at := range scannedAt {
			m["scannedAt"] = at.UTC().Format(time.RFC3339)
		}
		b, _ := json.Marshal(m)
		return b
	}
	result := func(want string) func(*testing.T, []byte) {
		return func(t *testing.T, b []byte) {
			var r struct{ Result, TicketID, Seat string }
			if mustJSON(t, b, &r); r.Result != want || r.TicketID != ts[1].TicketID || r.Seat != "A-1-2" {
				t.Errorf("check-in %s, want %s", b, want)
			}
		}
	}
	mode := func(m string) []byte { return []byte(`{"mode":"` + m + `"}`) }
	set := "/admin/v1/events/" + event + "/ticket-codes"
	wantMode := func(m string) func(*testing.T, []byte) {
		return func(t *testing.T, b []byte) {
			var ev struct{ TicketCodes string }
			if mustJSON(t, b, &ev); ev.TicketCodes != m {
				t.Errorf("ticketCodes in %s, want %s", truncate(b), m)
			}
		}
	}
	for _, cs := range []call{
		{name: "check in a screenshot of a rotating code", method: "POST", path: "/v1/checkin", token: org, body: scan(at(-3*time.Minute), "rot-1"), status: 200, valid: true, check: result("EXPIRED")},
		{name: "set rotating codes only", method: "PUT", path: set, token: org, body: mode("ROTATING_ONLY"), status: 200, valid: true, check: wantMode("ROTATING_ONLY")},
		{name: "check in a printed code at a rotating-only event", method: "POST", path: "/v1/checkin", token: org, body: scan(ts[1].Code, "rot-2"), status: 200, valid: true, check: result("STATIC_NOT_ACCEPTED")},
		{name: "gate kit of a rotating-only event", method: "GET", path: "/admin/v1/events/" + event + "/gate-kit", token: org, status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				var k struct {
					TicketCodes  string
					RotationKeys []struct{ KID, Key string }
				}
				if mustJSON(t, b, &k); k.TicketCodes != "ROTATING_ONLY" || len(k.RotationKeys) == 0 {
					t.Errorf("gate kit %s", truncate(b))
				}
			}},
		{name: "check in an offline scan sent with its time", method: "POST", path: "/v1/checkin", token: org, body: scan(at(-3*time.Minute), "rot-3", time.Now().Add(-3*time.Minute)), status: 200, valid: true, check: result("ADMITTED")},
		{name: "check in a live rotating code after its ticket got in", method: "POST", path: "/v1/checkin", token: org, body: scan(at(0), "rot-4"), status: 200, valid: true, check: result("ALREADY_USED")},
		{name: "check in with a scan time in the future", method: "POST", path: "/v1/checkin", token: org, body: scan(at(0), "rot-5", time.Now().Add(time.Hour)), status: 400, code: "INVALID_REQUEST", valid: true},
		{name: "check in with a scan time two days ago", method: "POST", path: "/v1/checkin", token: org, body: scan(at(0), "rot-6", time.Now().Add(-48*time.Hour)), status: 400, code: "INVALID_REQUEST", valid: true},
		{name: "check in with a malformed scan time", method: "POST", path: "/v1/checkin", token: org, body: []byte(`{"eventId":"` + event + `","code":"x","nonce":"rot-7","scannedAt":"yesterday"}`), status: 400, code: "INVALID_REQUEST"},
		{name: "set ticket codes unknown mode", method: "PUT", path: set, token: org, body: mode("STATIC"), status: 400, code: "INVALID_REQUEST"},
		{name: "set ticket codes unknown field", method: "PUT", path: set, token: org, body: []byte(`{"mode":"ROTATING_ONLY","print":true}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "set ticket codes malformed", method: "PUT", path: set, token: org, body: []byte(`{"mode":`), status: 400, code: "INVALID_JSON"},
		{name: "set ticket codes without identity", method: "PUT", path: set, body: mode("ROTATING_ONLY"), status: 401, code: "UNAUTHORIZED"},
		{name: "set ticket codes as a fan", method: "PUT", path: set, token: fan, body: mode("ROTATING_ONLY"), status: 401, code: "UNAUTHORIZED"},
		{name: "set ticket codes as a scanner of another event", method: "PUT", path: set, token: c.scannerElsewhere(), body: mode("ROTATING_ONLY"), status: 403, code: "FORBIDDEN"},
		{name: "set ticket codes of an unknown event", method: "PUT", path: "/admin/v1/events/nope/ticket-codes", token: org, body: mode("ROTATING_ONLY"), status: 404, code: "NOT_FOUND", valid: true},
		{name: "set ticket codes oversized", method: "PUT", path: set, token: org, body: []byte(`{"mode":"` + strings.Repeat("m", 16<<10) + `"}`), status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "set ticket codes as text", method: "PUT", path: set, token: org, body: mode("ROTATING_ONLY"), contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "allow printed codes again", method: "PUT", path: set, token: org, body: mode("ROTATING_AND_PRINTABLE"), status: 200, valid: true, check: wantMode("ROTATING_AND_PRINTABLE")},
	} {
		c.step(cs.name, cs)
	}
}
