package openapi_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stararena/stararena/internal/openapi"
)

// TestValidatorRejectsUndocumentedResponses proves the conformance test can
// fail: responses that differ from the document in status, content type,
// headers, fields or error code are rejected, and the unchanged response
// is accepted.
func TestValidatorRejectsUndocumentedResponses(t *testing.T) {
	spec := loadSpec(t)
	const health = `{"status":"ok"}`
	const notFound = `{"error":{"code":"NOT_FOUND","message":"no event \"nope\""}}`
	noStore := map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"}
	with := func(h map[string]string, k, v string) map[string]string {
		out := map[string]string{}
		for a, b := range h {
			out[a] = b
		}
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	const holds = "POST /v1/events/demo/holds"
	const order = `{"orderId":"0b7e6c5e-8f0a-4a57-9a55-8d1e2f3a4b5c","eventId":"demo","status":"PENDING_PAYMENT","seats":["A-1-1"],` +
		`"quantity":1,"amountCents":14900,"currency":"EUR","expiresAt":"2027-01-01T00:15:00Z","createdAt":"2027-01-01T00:00:00Z",` +
		`"updatedAt":"2027-01-01T00:00:00Z","payment":null,"tickets":[],` +
		`"breakdown":{"faceValueCents":14900,"feeCents":0,"taxCents":0,"totalCents":14900,"taxBasisPoints":0},"refund":null,"lastDecline":null}`
	created := with(noStore, "Location", "/v1/orders/0b7e6c5e-8f0a-4a57-9a55-8d1e2f3a4b5c")
	const admission = "POST /v1/events/demo/admission"
	const joined = `{"MD5OfMessageBody":"0f2e5c8e4b7f3a7d9c1b2a3e4f5d6c7b","MessageId":"5fe7a3c2-8d1b-4e6f-9a0c-1b2d3e4f5a6b"}`
	const seedHash = "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"
	const queueStatus = `{"eventId":"demo","saleState":"SCHEDULED","servingPosition":0,"admitPerMinute":600,"admittingPerMinute":600,"soldOut":false,` +
		`"updatedAt":"2027-01-01T00:00:00Z","shuffleSeedHash":"` + seedHash + `"}`
	cached2 := with(noStore, "Cache-Control", "public, max-age=2")
	cases := []struct {
		name    string
		path    string // "METHOD /path" or a GET path
		status  int
		headers map[string]string
		body    string
		ok      bool
	}{
		{"documented health", "/healthz", 200, noStore, health, true},
		{"documented 404", "/v1/events/nope", 404, noStore, notFound, true},
		{"undocumented details", "/v1/events/nope", 404, noStore, `{"error":{"code":"NOT_FOUND","message":"m","details":{"id":"nope"}}}`, false},
		{"empty details", holds, 409, noStore, `{"error":{"code":"SEATS_UNAVAILABLE","message":"m","details":{}}}`, false},
		{"seats taken", holds, 409, noStore, `{"error":{"code":"SEATS_UNAVAILABLE","message":"m","details":{"seats":["A-1-2"]}}}`, true},
		{"places left", holds, 409, noStore, `{"error":{"code":"SEATS_UNAVAILABLE","message":"m","details":{"available":1}}}`, true},
		{"seats and places left", holds, 409, noStore, `{"error":{"code":"SEATS_UNAVAILABLE","message":"m","details":{"seats":["A-1-2"],"available":1}}}`, false},
		{"seats unavailable without details", holds, 409, noStore, `{"error":{"code":"SEATS_UNAVAILABLE","message":"m"}}`, false},
		{"seat that is no seat id", holds, 409, noStore, `{"error":{"code":"SEATS_UNAVAILABLE","message":"m","details":{"seats":["A 1 2"]}}}`, false},
		{"sold out with details", holds, 409, noStore, `{"error":{"code":"SOLD_OUT","message":"m","details":{"available":1}}}`, false},
		{"sold out", holds, 409, noStore, `{"error":{"code":"SOLD_OUT","message":"m"}}`, true},
		{"queue state missing", "POST /v1/events/demo/admission", 409, noStore, `{"error":{"code":"QUEUE_REQUIRED","message":"m","details":{"saleState":"OPEN"}}}`, false},
		{"sale state", "POST /v1/events/demo/admission", 409, noStore, `{"error":{"code":"SALE_NOT_OPEN","message":"m","details":{"saleState":"SCHEDULED"}}}`, true},
		{"documented hold", holds, 201, created, order, true},
		{"hold without Location", holds, 201, noStore, order, false},
		{"hold answered 200", holds, 200, created, order, false},
		{"unknown order status", holds, 201, created, strings.Replace(order, "PENDING_PAYMENT", "HELD", 1), false},
		{"GA order without section", holds, 201, created, strings.Replace(order, `["A-1-1"]`, `[]`, 1), false},
		{"GA order", holds, 201, created, strings.Replace(order, `["A-1-1"]`, `[],"section":"GA"`, 1), true},
		{"order with a ticket", "/v1/orders/x", 200, noStore, strings.Replace(order, `"tickets":[]`, `"tickets":[{}]`, 1), false},
		{"cancel of a paid order", "DELETE /v1/orders/x", 409, noStore, `{"error":{"code":"INVALID_STATE","message":"m"}}`, true},
		{"orders", "/v1/me/orders", 200, noStore, `{"orders":[` + order + `]}`, true},
		{"order without its breakdown", "/v1/orders/x", 200, noStore, strings.Replace(order, `"breakdown"`, `"lines"`, 1), false},
		{"refunded order", "/v1/orders/x", 200, noStore, strings.Replace(strings.Replace(order, `"PENDING_PAYMENT"`, `"REFUNDED"`, 1), `"refund":null`,
			`"refund":{"status":"REFUNDED","amountCents":14900,"currency":"EUR","requestedAt":"2027-01-01T00:01:00Z","refundedAt":"2027-01-01T00:01:02Z","reason":"the show moved"}`, 1), true},
		{"refund without a reason", "/v1/orders/x", 200, noStore, strings.Replace(order, `"refund":null`,
			`"refund":{"status":"REFUNDED","amountCents":14900,"currency":"EUR","requestedAt":"2027-01-01T00:01:00Z"}`, 1), false},
		{"declined attempt", "/v1/orders/x", 200, noStore, strings.Replace(order, `"lastDecline":null`,
			`"lastDecline":{"at":"2027-01-01T00:02:00Z","code":"insufficient_funds","reason":"Your card has insufficient funds.","attempts":1}`, 1), true},
		{"decline without its count", "/v1/orders/x", 200, noStore, strings.Replace(order, `"lastDecline":null`,
			`"lastDecline":{"at":"2027-01-01T00:02:00Z","code":"generic_decline","reason":"Your card was declined."}`, 1), false},
		{"orders as a bare array", "/v1/me/orders", 200, noStore, `[` + order + `]`, false},
		{"undocumented status", "/healthz", 418, noStore, health, false},
		{"undocumented 404 on healthz", "/healthz", 404, noStore, notFound, false},
		{"undocumented field", "/healthz", 200, noStore, `{"status":"ok","uptime":3}`, false},
		{"wrong value", "/healthz", 200, noStore, `{"status":"degraded"}`, false},
		{"not JSON", "/healthz", 200, with(noStore, "Content-Type", "text/plain"), "ok", false},
		{"no Cache-Control", "/healthz", 200, with(noStore, "Cache-Control", ""), health, false},
		{"cacheable error", "/v1/events/nope", 404, with(noStore, "Cache-Control", "public, max-age=5"), notFound, false},
		{"availability cached too long", "/v1/events/demo/availability", 200, with(noStore, "Cache-Control", "public, max-age=10"),
			`{"eventId":"demo","asOf":"2027-01-01T00:00:00Z","sections":[{"id":"GA","kind":"ga","capacity":1,"available":1,"held":0,"sold":0}],"seats":{}}`, false},
		{"local time", "/v1/events/demo/availability", 200, with(noStore, "Cache-Control", "public, max-age=2"),
			`{"eventId":"demo","asOf":"2027-01-01T01:00:00+01:00","sections":[{"id":"GA","kind":"ga","capacity":1,"available":1,"held":0,"sold":0}],"seats":{}}`, false},
		{"bad seat state", "/v1/events/demo/availability", 200, with(noStore, "Cache-Control", "public, max-age=2"),
			`{"eventId":"demo","asOf":"2027-01-01T00:00:00Z","sections":[{"id":"A","kind":"reserved","capacity":1,"available":1,"held":0,"sold":0}],"seats":{"A-1-1":"FREE"}}`, false},
		{"valid availability", "/v1/events/demo/availability", 200, with(noStore, "Cache-Control", "public, max-age=2"),
			`{"eventId":"demo","asOf":"2027-01-01T00:00:00.123Z","sections":[{"id":"A","kind":"reserved","capacity":1,"available":1,"held":0,"sold":0}],"seats":{"A-1-1":"AVAILABLE"}}`, true},
		{"wrong error code", "/v1/events/nope", 404, noStore, `{"error":{"code":"FORBIDDEN","message":"m"}}`, false},
		{"unknown error code", "/v1/events/nope", 404, noStore, `{"error":{"code":"OOPS","message":"m"}}`, false},
		{"error without message", "/v1/events/nope", 404, noStore, `{"error":{"code":"NOT_FOUND"}}`, false},
		{"bare API Gateway error", "/v1/events/nope", 404, noStore, `{"message":"Not Found"}`, false},
		{"undocumented path", "/v2/events", 200, noStore, health, false},

		// The waiting room.
		{"waiting", admission, 409, noStore, `{"error":{"code":"QUEUE_REQUIRED","message":"m","details":{"state":"WAITING","position":3,"servingPosition":1,"etaSeconds":1}}}`, true},
		{"waiting without an ETA", admission, 409, noStore, `{"error":{"code":"QUEUE_REQUIRED","message":"m","details":{"state":"WAITING","position":3,"servingPosition":1}}}`, false},
		{"not in the queue but a position", admission, 409, noStore, `{"error":{"code":"QUEUE_REQUIRED","message":"m","details":{"state":"NOT_IN_QUEUE","position":3,"servingPosition":1}}}`, false},
		{"queue state without serving position", admission, 409, noStore, `{"error":{"code":"QUEUE_REQUIRED","message":"m","details":{"state":"NOT_IN_QUEUE"}}}`, false},
		{"queue state a fan cannot be refused in", admission, 409, noStore, `{"error":{"code":"QUEUE_REQUIRED","message":"m","details":{"state":"ADMITTABLE","position":1,"servingPosition":1}}}`, false},
		{"sold out for the queue", admission, 409, noStore, `{"error":{"code":"SOLD_OUT","message":"m","details":{"state":"SOLD_OUT"}}}`, true},
		{"sold out in another state", admission, 409, noStore, `{"error":{"code":"SOLD_OUT","message":"m","details":{"state":"WAITING"}}}`, false},
		{"admissions limited", admission, 429, noStore, `{"error":{"code":"RATE_LIMITED","message":"m","details":{"retryAfterSeconds":17}}}`, true},
		{"admissions limited without retry", admission, 429, noStore, `{"error":{"code":"RATE_LIMITED","message":"m"}}`, false},
		{"join accepted", "POST /v1/events/demo/queue", 202, noStore, joined, true},
		{"join answered 200", "POST /v1/events/demo/queue", 200, noStore, joined, false},
		{"join answer with a place", "POST /v1/events/demo/queue", 202, noStore, strings.Replace(joined, "}", `,"position":1}`, 1), false},
		{"place", "/v1/events/demo/queue/me", 200, noStore, `{"state":"WAITING","position":3,"servingPosition":1,"etaSeconds":1,"pollSeconds":2}`, true},
		{"pending place with a position", "/v1/events/demo/queue/me", 200, noStore, `{"state":"PENDING","position":3,"servingPosition":1,"etaSeconds":0,"pollSeconds":2}`, false},
		{"served place with an ETA", "/v1/events/demo/queue/me", 200, noStore, `{"state":"ADMITTABLE","position":1,"servingPosition":1,"etaSeconds":5,"pollSeconds":2}`, false},
		{"unknown place state", "/v1/events/demo/queue/me", 200, noStore, `{"state":"SERVED","position":1,"servingPosition":1,"etaSeconds":0,"pollSeconds":2}`, false},
		{"queue status", "/v1/events/demo/queue-status", 200, cached2, queueStatus, true},
		{"queue status cached too long", "/v1/events/demo/queue-status", 200, with(noStore, "Cache-Control", "public, max-age=5"), queueStatus, false},
		{"queue status with a short seed", "/v1/events/demo/queue-status", 200, cached2, strings.Replace(queueStatus, `"}`, `","shuffleSeed":"00"}`, 1), false},
		{"draw not yet", "/v1/events/demo/queue/draw", 409, noStore, `{"error":{"code":"INVALID_STATE","message":"m","details":{"shuffleSeedHash":"` + seedHash + `"}}}`, true},
		{"draw not yet without the hash", "/v1/events/demo/queue/draw", 409, noStore, `{"error":{"code":"INVALID_STATE","message":"m"}}`, false},
		{"draw with an account", "/v1/events/demo/queue/draw", 200, with(noStore, "Cache-Control", "public, max-age=60"),
			`{"eventId":"demo","shuffleSeedHash":"` + seedHash + `","shuffleSeed":"` + seedHash + `","entrants":[{"entrant":"fan-1","position":1}]}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method, path, ok := strings.Cut(c.path, " ")
			if !ok {
				method, path = http.MethodGet, c.path
			}
			req, err := http.NewRequest(method, "http://127.0.0.1:8080"+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp := &http.Response{StatusCode: c.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(c.body)), Request: req}
			for k, v := range c.headers {
				resp.Header.Set(k, v)
			}
			err = spec.ValidateResponse(req, resp)
			switch {
			case c.ok && err != nil:
				t.Fatalf("a documented response was rejected: %v", err)
			case !c.ok && err == nil:
				t.Fatal("an undocumented response was accepted")
			}
			if !c.ok {
				t.Log(err) // why it was refused (go test -v)
			}
			if b, _ := io.ReadAll(resp.Body); string(b) != c.body {
				t.Errorf("validation consumed the body: %q", b)
			}
		})
	}
}

// TestLoadRejectsInvalidDocuments checks that Load refuses what is not a
// valid OpenAPI 3.1 document, so a broken spec fails loudly instead of
// validating nothing.
func TestLoadRejectsInvalidDocuments(t *testing.T) {
	docs := map[string]string{
		"not YAML":     "openapi: [3.1.0",
		"OpenAPI 3.0":  "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n",
		"no info":      "openapi: 3.1.0\npaths: {}\n",
		"bad response": "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    get:\n      responses:\n        '200': 5\n",
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "openapi.yaml")
			if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := openapi.Load(path); err == nil {
				t.Fatal("Load accepted an invalid document")
			} else {
				t.Log(err)
			}
		})
	}
	if _, err := openapi.Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Fatal("Load accepted a missing file")
	}
}
