package openapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/orders"
)

// purchase is TestConformance's part for admission, holds and orders: one
// event on sale without a waiting room (A: 5 reserved seats, GA: 3 places,
// 4 tickets per account), one on sale behind the waiting room, and
// scheduled (an event whose sale has not opened). Steps run in order
// because each leaves state the next relies on.
func (c *conformance) purchase(st *devstack.Stack, org, scheduled string) {
	t := c.t
	past := time.Now().Add(-time.Minute).UTC().Truncate(time.Second).Format(time.RFC3339)
	open := c.createEvent("event on sale", org, createBody(func(m map[string]any) {
		m["saleOpensAt"] = past
		m["holdSeconds"] = 3600 // 36 s at the stack's time scale: longer than the test
		m["maxTicketsPerAccount"] = 4
		m["queue"] = map[string]any{"mode": "off"}
		m["sections"].([]any)[1].(map[string]any)["capacity"] = 3
	}))
	queued := c.createEvent("event behind the waiting room", org, createBody(func(m map[string]any) {
		m["saleOpensAt"] = past
	}))
	fan1, fan2, fan3, fan4 := c.token("fan-1", "fan"), c.token("fan-2", "fan"), c.token("fan-3", "fan"), c.token("fan-4", "fan")

	admission := "/v1/events/" + open + "/admission"
	oversized := []byte(`{"x":"` + strings.Repeat("a", 16<<10) + `"}`)
	var adm1 string
	for _, cs := range []call{
		{name: "admission with an empty object", method: "POST", path: admission, token: fan1, body: []byte(`{}`), status: 200, valid: true,
			check: func(t *testing.T, b []byte) { adm1 = admissionToken(t, b) }},
		{name: "admission without a body", method: "POST", path: admission, token: fan1, status: 200, valid: true},
		{name: "admission with a field", method: "POST", path: admission, token: fan1, body: []byte(`{"seats":2}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "admission malformed", method: "POST", path: admission, token: fan1, body: []byte(`{`), status: 400, code: "INVALID_JSON"},
		{name: "admission without identity", method: "POST", path: admission, body: []byte(`{}`), status: 401, code: "UNAUTHORIZED"},
		{name: "admission with an invalid identity", method: "POST", path: admission, token: "not-a-jwt", status: 401, code: "UNAUTHORIZED"},
		{name: "admission to an unknown event", method: "POST", path: "/v1/events/nope/admission", token: fan1, status: 404, code: "NOT_FOUND", valid: true},
		{name: "admission before the sale", method: "POST", path: "/v1/events/" + scheduled + "/admission", token: fan1, status: 409, code: "SALE_NOT_OPEN", valid: true,
			check: wantDetails(`{"saleState":"SCHEDULED"}`)},
		{name: "admission behind the waiting room", method: "POST", path: "/v1/events/" + queued + "/admission", token: fan1, status: 409, code: "QUEUE_REQUIRED", valid: true,
			check: wantDetails(`{"servingPosition":0,"state":"NOT_IN_QUEUE"}`)},
		{name: "admission oversized", method: "POST", path: admission, token: fan1, body: oversized, status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "admission as text", method: "POST", path: admission, token: fan1, body: []byte(`{}`), contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}
	if adm1 == "" {
		t.Fatal("no admission token")
	}
	adm1b, adm2, adm3, adm4 := c.admit(open, fan1), c.admit(open, fan2), c.admit(open, fan3), c.admit(open, fan4)

	holds := "/v1/events/" + open + "/holds"
	key := map[string]string{"Idempotency-Key": "7d9f2c1e-3b4a-4c5d-8e6f-0a1b2c3d4e5f"}
	first := seatsBody(adm1, "A-1-2", "A-1-1")
	var order1, gaOrder3 string
	manySeats := make([]string, 21)
	for i := range manySeats {
		manySeats[i] = fmt.Sprintf("A-1-%d", i+1)
	}
	for _, cs := range []call{
		{name: "hold seats", method: "POST", path: holds, token: fan1, body: first, headers: key, status: 201, valid: true,
			check: func(t *testing.T, b []byte) {
				o := orderOf(t, b)
				order1 = o.OrderID
				if o.Status != "PENDING_PAYMENT" || !slices.Equal(o.Seats, []string{"A-1-1", "A-1-2"}) || o.Section != "" ||
					o.Quantity != 2 || o.AmountCents != 9000 || o.Currency != "EUR" || o.EventID != open {
					t.Errorf("hold answer %s", b)
				}
			},
			checkHeader: func(t *testing.T, h http.Header) {
				if want := "/v1/orders/" + order1; h.Get("Location") != want {
					t.Errorf("Location %q, want %q", h.Get("Location"), want)
				}
			}},
		{name: "hold retried with its key", method: "POST", path: holds, token: fan1, body: first, headers: key, status: 201, valid: true,
			check: func(t *testing.T, b []byte) {
				if o := orderOf(t, b); o.OrderID != order1 {
					t.Errorf("retry created order %s, want %s", o.OrderID, order1)
				}
			}},
		{name: "hold key reused for another request", method: "POST", path: holds, token: fan1, body: seatsBody(adm1, "A-2-1"), headers: key, status: 422, code: "IDEMPOTENCY_KEY_REUSED", valid: true},
		{name: "hold with a used admission token", method: "POST", path: holds, token: fan1, body: seatsBody(adm1, "A-2-1"), status: 403, code: "ADMISSION_INVALID", valid: true},
		{name: "hold with a forged admission token", method: "POST", path: holds, token: fan1, body: seatsBody("eyJhbGciOiJFZDI1NTE5In0.e30.AAAA", "A-2-1"), status: 403, code: "ADMISSION_INVALID", valid: true},
		{name: "hold with another fan's admission token", method: "POST", path: holds, token: fan1, body: seatsBody(adm2, "A-2-1"), status: 403, code: "ADMISSION_INVALID", valid: true},
		{name: "hold of a taken seat", method: "POST", path: holds, token: fan2, body: seatsBody(adm2, "A-1-2", "A-1-3"), status: 409, code: "SEATS_UNAVAILABLE", valid: true,
			check: wantDetails(`{"seats":["A-1-2"]}`)},
		{name: "hold of general admission", method: "POST", path: holds, token: fan2, body: sectionBody(adm2, "GA", 2), status: 201, valid: true,
			check: func(t *testing.T, b []byte) {
				if o := orderOf(t, b); len(o.Seats) != 0 || o.Section != "GA" || o.Quantity != 2 || o.AmountCents != 6000 {
					t.Errorf("GA hold answer %s", b)
				}
			}},
		{name: "hold of more places than are left", method: "POST", path: holds, token: fan3, body: sectionBody(adm3, "GA", 2), status: 409, code: "SEATS_UNAVAILABLE", valid: true,
			check: wantDetails(`{"available":1}`)},
		{name: "hold of the last place", method: "POST", path: holds, token: fan3, body: sectionBody(adm3, "GA", 1), status: 201, valid: true,
			check: func(t *testing.T, b []byte) { gaOrder3 = orderOf(t, b).OrderID }},
		{name: "hold in a sold-out section", method: "POST", path: holds, token: fan4, body: sectionBody(adm4, "GA", 1), status: 409, code: "SOLD_OUT", valid: true},
		{name: "hold over the event's limit", method: "POST", path: holds, token: fan1, body: sectionBody(adm1b, "A", 5), status: 403, code: "LIMIT_EXCEEDED", valid: true},
		{name: "hold over what the account has left", method: "POST", path: holds, token: fan1, body: seatsBody(adm1b, "A-2-1", "A-2-2", "A-1-3"), status: 403, code: "LIMIT_EXCEEDED", valid: true},
		{name: "hold of more than 20 seats", method: "POST", path: holds, token: fan1, body: seatsBody(adm1b, manySeats...), status: 403, code: "LIMIT_EXCEEDED"},
		{name: "hold of the best available seats", method: "POST", path: holds, token: fan4, body: sectionBody(adm4, "A", 2), status: 201, valid: true,
			check: func(t *testing.T, b []byte) {
				if o := orderOf(t, b); len(o.Seats) != 2 || o.Section != "A" || o.Quantity != 2 || o.AmountCents != 9000 {
					t.Errorf("best-available hold answer %s", b)
				}
			}},
		{name: "hold of a seat the venue lacks", method: "POST", path: holds, token: fan1, body: seatsBody(adm1b, "A-9-1"), status: 422, code: "UNPROCESSABLE", valid: true},
		{name: "hold in a section the venue lacks", method: "POST", path: holds, token: fan1, body: sectionBody(adm1b, "Z", 1), status: 422, code: "UNPROCESSABLE", valid: true},
		{name: "hold before the sale", method: "POST", path: "/v1/events/" + scheduled + "/holds", token: fan1, body: seatsBody(adm1b, "A-1-1"), status: 409, code: "SALE_NOT_OPEN", valid: true},
		{name: "hold at an unknown event", method: "POST", path: "/v1/events/nope/holds", token: fan1, body: seatsBody(adm1b, "A-1-1"), status: 404, code: "NOT_FOUND", valid: true},
		{name: "hold malformed", method: "POST", path: holds, token: fan1, body: []byte(`{"admissionToken":`), status: 400, code: "INVALID_JSON"},
		{name: "hold with a repeated key", method: "POST", path: holds, token: fan1, body: []byte(`{"admissionToken":"x","seats":["A-1-5"],"seats":["A-1-1"]}`), status: 400, code: "INVALID_JSON"},
		{name: "hold with an unknown field", method: "POST", path: holds, token: fan1, body: []byte(`{"admissionToken":"x","seats":["A-1-5"],"vip":true}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "hold with a field in another case", method: "POST", path: holds, token: fan1, body: []byte(`{"AdmissionToken":"x","seats":["A-1-5"]}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "hold without admission token", method: "POST", path: holds, token: fan1, body: []byte(`{"seats":["A-1-5"]}`), status: 400, code: "INVALID_REQUEST"},
		{name: "hold of seats and a section", method: "POST", path: holds, token: fan1, body: []byte(`{"admissionToken":"x","seats":["A-1-5"],"section":"GA","quantity":1}`), status: 400, code: "INVALID_REQUEST"},
		{name: "hold with a long Idempotency-Key", method: "POST", path: holds, token: fan1, body: seatsBody(adm1b, "A-2-1"), headers: map[string]string{"Idempotency-Key": strings.Repeat("k", 129)}, status: 400, code: "INVALID_REQUEST"},
		{name: "hold without identity", method: "POST", path: holds, body: seatsBody(adm1b, "A-2-1"), status: 401, code: "UNAUTHORIZED"},
		{name: "hold oversized", method: "POST", path: holds, token: fan1, body: oversized, status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "hold as text", method: "POST", path: holds, token: fan1, body: seatsBody(adm1b, "A-2-1"), contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}
	if order1 == "" || gaOrder3 == "" {
		t.Fatal("the holds the order cases need were not made")
	}

	// Expire one hold the way the order workflow's release does at
	// expiresAt (without waiting for it), so cancelling it is refused.
	if o, err := st.App.Inventory.Release(context.Background(), gaOrder3, orders.Expired); err != nil || o.Status != orders.Expired {
		t.Fatalf("expire %s: %v (%s)", gaOrder3, err, o.Status)
	}

	order := "/v1/orders/" + order1
	for _, cs := range []call{
		{name: "owner reads an order", method: "GET", path: order, token: fan1, status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				if o := orderOf(t, b); o.OrderID != order1 || o.Status != "PENDING_PAYMENT" {
					t.Errorf("order %s", b)
				}
			}},
		{name: "another fan reads an order", method: "GET", path: order, token: fan2, status: 404, code: "NOT_FOUND", valid: true},
		{name: "read an unknown order", method: "GET", path: "/v1/orders/nope", token: fan1, status: 404, code: "NOT_FOUND", valid: true},
		{name: "read an impossible order id", method: "GET", path: "/v1/orders/" + strings.Repeat("x", 65), token: fan1, status: 404, code: "NOT_FOUND"},
		{name: "read an order without identity", method: "GET", path: order, status: 401, code: "UNAUTHORIZED"},
		{name: "list my orders", method: "GET", path: "/v1/me/orders", token: fan1, status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				var l struct{ Orders []orderView }
				mustJSON(t, b, &l)
				if len(l.Orders) != 1 || l.Orders[0].OrderID != order1 {
					t.Errorf("fan-1's orders: %s", b)
				}
			}},
		{name: "list orders of an account without any", method: "GET", path: "/v1/me/orders", token: c.token("fan-5", "fan"), status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				if string(b) != `{"orders":[]}` {
					t.Errorf("orders %s", b)
				}
			}},
		{name: "list orders without identity", method: "GET", path: "/v1/me/orders", status: 401, code: "UNAUTHORIZED"},
		{name: "another fan cancels an order", method: "DELETE", path: order, token: fan2, status: 404, code: "NOT_FOUND", valid: true},
		{name: "cancel an unknown order", method: "DELETE", path: "/v1/orders/nope", token: fan1, status: 404, code: "NOT_FOUND", valid: true},
		{name: "cancel without identity", method: "DELETE", path: order, status: 401, code: "UNAUTHORIZED"},
		{name: "cancel a hold", method: "DELETE", path: order, token: fan1, status: 200, valid: true, check: wantStatus("CANCELLED")},
		{name: "cancel a hold again", method: "DELETE", path: order, token: fan1, status: 200, valid: true, check: wantStatus("CANCELLED")},
		{name: "cancel an expired hold", method: "DELETE", path: "/v1/orders/" + gaOrder3, token: fan3, status: 409, code: "INVALID_STATE", valid: true},
		{name: "read an expired hold", method: "GET", path: "/v1/orders/" + gaOrder3, token: fan3, status: 200, valid: true, check: wantStatus("EXPIRED")},
		// A retry is answered with the order as it is now.
		{name: "hold retried after its cancel", method: "POST", path: holds, token: fan1, body: first, headers: key, status: 201, valid: true, check: wantStatus("CANCELLED")},
		// The cancel released the seats.
		{name: "hold after a cancel", method: "POST", path: holds, token: fan1, body: seatsBody(adm1b, "A-1-1", "A-1-2"), status: 201, valid: true},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}
}

// admit gets an admission token for event through the API.
func (c *conformance) admit(event, token string) string {
	c.t.Helper()
	var adm string
	c.t.Run("admission", func(t *testing.T) {
		_, b := c.exchange(t, call{method: "POST", path: "/v1/events/" + event + "/admission", token: token, status: 200, valid: true})
		adm = admissionToken(t, b)
	})
	if adm == "" {
		c.t.Fatal("no admission token")
	}
	return adm
}

func admissionToken(t *testing.T, b []byte) string {
	t.Helper()
	var a struct {
		AdmissionToken string
		ExpiresAt      time.Time
	}
	mustJSON(t, b, &a)
	if a.AdmissionToken == "" || time.Until(a.ExpiresAt) < time.Minute {
		t.Fatalf("admission %s", b)
	}
	return a.AdmissionToken
}

func seatsBody(adm string, seats ...string) []byte {
	b, _ := json.Marshal(map[string]any{"admissionToken": adm, "seats": seats})
	return b
}

func sectionBody(adm, section string, quantity int) []byte {
	b, _ := json.Marshal(map[string]any{"admissionToken": adm, "section": section, "quantity": quantity})
	return b
}

type orderView struct {
	OrderID     string
	EventID     string
	Status      string
	Seats       []string
	Section     string
	Quantity    int
	AmountCents int64
	Currency    string
}

func orderOf(t *testing.T, b []byte) orderView {
	t.Helper()
	var o orderView
	mustJSON(t, b, &o)
	return o
}

func wantStatus(status string) func(*testing.T, []byte) {
	return func(t *testing.T, b []byte) {
		if o := orderOf(t, b); o.Status != status {
			t.Errorf("status %s, want %s: %s", o.Status, status, b)
		}
	}
}

// wantDetails checks the error's details.
func wantDetails(want string) func(*testing.T, []byte) {
	return func(t *testing.T, b []byte) {
		var e struct {
			Error struct{ Details json.RawMessage }
		}
		mustJSON(t, b, &e)
		if string(e.Error.Details) != want {
			t.Errorf("details %s, want %s", e.Error.Details, want)
		}
	}
}
