package openapi_test

import (
	"strings"
	"testing"
)

// botLevel is TestConformance's part for an event's bot level: raising
// and lowering it, and the requests the route refuses.
func (c *conformance) botLevel(org, fan string) {
	ev := c.createEvent("bot level event", org, createBody(nil))
	level := func(ev string) string { return "/admin/v1/events/" + ev + "/bot-level" }
	captcha := []byte(`{"level":"captcha"}`)
	for _, cs := range []call{
		{name: "bot level raised", method: "PUT", path: level(ev), token: org, body: captcha, status: 200, valid: true, check: func(t *testing.T, b []byte) {
			var st struct{ EventID, Level string }
			mustJSON(t, b, &st)
			if st.EventID != ev || st.Level != "captcha" {
				t.Errorf("answer %s", truncate(b))
			}
		}},
		{name: "bot level lowered", method: "PUT", path: level(ev), token: org, body: []byte(`{"level":"challenge"}`), status: 200, valid: true},
		{name: "bot level off", method: "PUT", path: level(ev), token: org, body: []byte(`{"level":"off"}`), status: 400, code: "INVALID_REQUEST"},
		{name: "bot level unknown field", method: "PUT", path: level(ev), token: org, body: []byte(`{"level":"captcha","events":"all"}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "bot level without identity", method: "PUT", path: level(ev), body: captcha, status: 401, code: "UNAUTHORIZED"},
		{name: "bot level as a fan", method: "PUT", path: level(ev), token: fan, body: captcha, status: 401, code: "UNAUTHORIZED"},
		{name: "bot level as a scanner of another event", method: "PUT", path: level(ev), token: c.scannerElsewhere(), body: captcha, status: 403, code: "FORBIDDEN"},
		{name: "bot level of an unknown event", method: "PUT", path: level("nope"), token: org, body: captcha, status: 404, code: "NOT_FOUND", valid: true},
		{name: "bot level oversized", method: "PUT", path: level(ev), token: org, body: []byte(`{"level":"` + strings.Repeat("a", 16<<10) + `"}`), status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "bot level as text", method: "PUT", path: level(ev), token: org, body: captcha, contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
	} {
		c.t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}
}
