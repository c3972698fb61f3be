package openapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// presale is TestConformance's part for presale codes: creating and
// listing them, and admission in and before the presale window with a
// missing, unknown, good and used-up code.
func (c *conformance) presale(org, fan string) {
	t := c.t
	stamp := func(d time.Duration) string {
		return time.Now().Add(d).UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	// A presale open now (waiting room on: presale fans bypass it), one
	// opening in half an hour, and a sale already open.
	inWindow := c.createEvent("presale event", org, createBody(func(m map[string]any) { m["saleOpensAt"] = stamp(time.Hour) }))
	later := c.createEvent("later presale event", org, createBody(func(m map[string]any) { m["saleOpensAt"] = stamp(time.Hour) }))
	open := c.createEvent("open sale event", org, createBody(func(m map[string]any) {
		m["saleOpensAt"] = stamp(-time.Minute)
		m["queue"] = map[string]any{"mode": "off"}
	}))
	codes := func(ev string) string { return "/admin/v1/events/" + ev + "/presale-codes" }
	body := func(count, uses int, opensAt string) []byte {
		return fmt.Appendf(nil, `{"count":%d,"uses":%d,"opensAt":%q}`, count, uses, opensAt)
	}
	good := body(2, 1, stamp(-time.Minute))
	var created struct{ Codes []string }
	c.t.Run("create presale codes", func(t *testing.T) {
		_, b := c.exchange(t, call{method: "POST", path: codes(inWindow), token: org, body: good, status: 201, valid: true})
		mustJSON(t, b, &created)
	})
	if len(created.Codes) != 2 {
		t.Fatalf("created codes: %v", created.Codes)
	}
	oversized := []byte(`{"opensAt":"` + strings.Repeat("a", 16<<10) + `"}`)
	admitWith := func(code string) []byte { b, _ := json.Marshal(map[string]string{"presaleCode": code}); return b }
	admission := func(ev string) string { return "/v1/events/" + ev + "/admission" }
	fan2 := c.token("presale-fan-2", "fan")
	for _, cs := range []call{
		{name: "presale codes later", method: "POST", path: codes(later), token: org, body: body(1, 3, stamp(30*time.Minute)), status: 201, valid: true},
		{name: "presale codes count 0", method: "POST", path: codes(inWindow), token: org, body: body(0, 1, stamp(-time.Minute)), status: 400, code: "INVALID_REQUEST"},
		{name: "presale codes opening after the sale", method: "POST", path: codes(inWindow), token: org, body: body(1, 1, stamp(2*time.Hour)), status: 400, code: "INVALID_REQUEST"},
		{name: "presale codes unknown field", method: "POST", path: codes(inWindow), token: org, body: []byte(`{"count":1,"uses":1,"opensAt":"2027-01-01T00:00:00Z","vip":true}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "presale codes without identity", method: "POST", path: codes(inWindow), body: good, status: 401, code: "UNAUTHORIZED"},
		{name: "presale codes as a fan", method: "POST", path: codes(inWindow), token: fan, body: good, status: 401, code: "UNAUTHORIZED"},
		{name: "presale codes as a scanner of another event", method: "POST", path: codes(inWindow), token: c.scannerElsewhere(), body: good, status: 403, code: "FORBIDDEN"},
		{name: "presale codes of an unknown event", method: "POST", path: codes("nope"), token: org, body: good, status: 404, code: "NOT_FOUND", valid: true},
		{name: "presale codes after the sale opened", method: "POST", path: codes(open), token: org, body: good, status: 409, code: "INVALID_STATE", valid: true},
		{name: "presale codes oversized", method: "POST", path: codes(inWindow), token: org, body: oversized, status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "presale codes as text", method: "POST", path: codes(inWindow), token: org, body: good, contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},

		{name: "presale event in the window", method: "GET", path: "/v1/events/" + inWindow, status: 200, valid: true, check: func(t *testing.T, b []byte) {
			var ev struct {
				SaleState string
				Presale   struct{ OpensAt time.Time }
			}
			mustJSON(t, b, &ev)
			if ev.SaleState != "PRESALE" || ev.Presale.OpensAt.IsZero() {
				t.Errorf("event in its presale window: %s", truncate(b))
			}
		}},
		{name: "presale admission without a code", method: "POST", path: admission(inWindow), token: fan, status: 403, code: "PRESALE_CODE_REQUIRED", valid: true, afterCache: true},
		{name: "presale admission with an unknown code", method: "POST", path: admission(inWindow), token: fan, body: admitWith("ABCD-EFGH-JKMN-PQRS"), status: 403, code: "PRESALE_CODE_UNKNOWN", valid: true, afterCache: true},
		{name: "presale admission with a code", method: "POST", path: admission(inWindow), token: fan, body: admitWith(created.Codes[0]), status: 200, valid: true, afterCache: true},
		{name: "presale admission with a used-up code", method: "POST", path: admission(inWindow), token: fan2, body: admitWith(created.Codes[0]), status: 409, code: "PRESALE_CODE_EXHAUSTED", valid: true, afterCache: true},
		{name: "presale admission with a code too long", method: "POST", path: admission(inWindow), token: fan, body: admitWith(strings.Repeat("A", 65)), status: 400, code: "INVALID_REQUEST"},
		{name: "presale admission before the window", method: "POST", path: admission(later), token: fan, body: admitWith(created.Codes[1]), status: 409, code: "SALE_NOT_OPEN", valid: true,
			afterCache: true, until: func(b []byte) bool { return strings.Contains(string(b), "presaleOpensAt") }, check: func(t *testing.T, b []byte) {
				var e struct {
					Error struct {
						Details struct{ SaleState, PresaleOpensAt string }
					}
				}
				mustJSON(t, b, &e)
				if d := e.Error.Details; d.SaleState != "SCHEDULED" || d.PresaleOpensAt == "" {
					t.Errorf("details %+v, want SCHEDULED and when the presale opens", d)
				}
			}},
		{name: "a code in the public sale is ignored", method: "POST", path: admission(open), token: fan, body: admitWith("ABCD-EFGH-JKMN-PQRS"), status: 200, valid: true},

		{name: "presale codes list", method: "GET", path: codes(inWindow), token: org, status: 200, valid: true, check: func(t *testing.T, b []byte) {
			var l struct {
				Uses  int
				Codes []struct{ Hint string }
			}
			mustJSON(t, b, &l)
			if l.Uses != 2 || len(l.Codes) != 2 {
				t.Errorf("presale codes: %s", truncate(b))
			}
		}},
		{name: "presale codes list of an event without presale", method: "GET", path: codes(open), token: org, status: 200, valid: true},
		{name: "presale codes list without identity", method: "GET", path: codes(inWindow), status: 401, code: "UNAUTHORIZED"},
		{name: "presale codes list as a fan", method: "GET", path: codes(inWindow), token: fan, status: 401, code: "UNAUTHORIZED"},
		{name: "presale codes list as a scanner of another event", method: "GET", path: codes(inWindow), token: c.scannerElsewhere(), status: 403, code: "FORBIDDEN"},
		{name: "presale codes list of an unknown event", method: "GET", path: codes("nope"), token: org, status: 404, code: "NOT_FOUND", valid: true},
	} {
		c.step(cs.name, cs)
	}
}
