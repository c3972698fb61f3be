package openapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/devstack"
)

// waitlist is TestConformance's part for the waiting list after
// sell-out: joining before and after the sell-out, reading and leaving
// it, the organizer's summary and window, a returned place offered to
// the first fan, admission refused to others meanwhile, and the offered
// fan's hold.
func (c *conformance) waitlist(st *devstack.Stack, org string) {
	t := c.t
	past := time.Now().Add(-time.Minute).UTC().Truncate(time.Second).Format(time.RFC3339)
	ev := c.createEvent("one-seat event", org, createBody(func(m map[string]any) {
		m["saleOpensAt"] = past
		m["holdSeconds"] = 3600 // 36 s at the stack's time scale: the buyer's hold outlasts the list's steps
		m["queue"] = map[string]any{"mode": "off"}
		m["sections"] = []any{map[string]any{"id": "A", "name": "Stalls", "priceCents": 4500, "currency": "EUR",
			"rows": []any{map[string]any{"id": "1", "seats": 1}}}}
	}))
	scheduled := c.createEvent("waitlist before the sale", org, createBody(nil))
	buyer, first, second, other := c.token("wl-buyer", "fan"), c.token("wl-first", "fan"), c.token("wl-second", "fan"), c.token("wl-other", "fan")
	list := "/v1/events/" + ev + "/waitlist"
	admin := "/admin/v1/events/" + ev + "/waitlist"
	oversized := []byte(`{"x":"` + strings.Repeat("a", 16<<10) + `"}`)

	c.do(t, call{name: "join with places for sale", method: "POST", path: list, token: first, status: 409, code: "NOT_SOLD_OUT", valid: true,
		check: wantDetails(`{"available":1}`)})
	var order string
	t.Run("buyer holds the only seat", func(t *testing.T) {
		adm := c.admit(ev, buyer)
		_, b := c.exchange(t, call{method: "POST", path: "/v1/events/" + ev + "/holds", token: buyer, body: seatsBody(adm, "A-1-1"), status: 201, valid: true})
		var o orderView
		mustJSON(t, b, &o)
		order = o.OrderID
	})
	// The availability projection shows the sale-out within its freshness
	// window: join until it does.
	t.Run("join once sold out", func(t *testing.T) {
		deadline := time.Now().Add(15 * time.Second)
		for {
			status, b := c.attempt(t, call{method: "POST", path: list, token: first, body: []byte(`{"quantity":1}`)})
			if status == 201 {
				break
			}
			if (status != 409 && status != 503) || time.Now().After(deadline) {
				t.Fatalf("join after the sell-out: %d %s", status, b)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	for _, cs := range []call{
		{name: "join again", method: "POST", path: list, token: first, status: 200, valid: true, check: wantWaitlist("WAITING", 0)},
		{name: "second fan joins", method: "POST", path: list, token: second, body: []byte(`{}`), status: 201, valid: true, check: wantWaitlist("WAITING", 1)},
		{name: "join for 0 places", method: "POST", path: list, token: other, body: []byte(`{"quantity":0}`), status: 400, code: "INVALID_REQUEST"},
		{name: "join with a field", method: "POST", path: list, token: other, body: []byte(`{"seats":1}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "join without identity", method: "POST", path: list, status: 401, code: "UNAUTHORIZED"},
		{name: "join an unknown event", method: "POST", path: "/v1/events/nope/waitlist", token: other, status: 404, code: "NOT_FOUND", valid: true},
		{name: "join before the sale", method: "POST", path: "/v1/events/" + scheduled + "/waitlist", token: other, status: 409, code: "SALE_NOT_OPEN", valid: true},
		{name: "join oversized", method: "POST", path: list, token: other, body: oversized, status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "join as text", method: "POST", path: list, token: other, body: []byte(`{}`), contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "read the list", method: "GET", path: list, token: second, status: 200, valid: true, check: wantWaitlist("WAITING", 1)},
		{name: "read a list never joined", method: "GET", path: list, token: other, status: 404, code: "NOT_FOUND", valid: true},
		{name: "read without identity", method: "GET", path: list, status: 401, code: "UNAUTHORIZED"},
		{name: "leave without identity", method: "DELETE", path: list, status: 401, code: "UNAUTHORIZED"},
		{name: "leave a list never joined", method: "DELETE", path: list, token: other, status: 404, code: "NOT_FOUND", valid: true},

		{name: "waitlist summary", method: "GET", path: admin, token: org, status: 200, valid: true},
		{name: "waitlist summary as a fan", method: "GET", path: admin, token: other, status: 401, code: "UNAUTHORIZED"},
		{name: "waitlist summary as a scanner of another event", method: "GET", path: admin, token: c.scannerElsewhere(), status: 403, code: "FORBIDDEN"},
		{name: "waitlist summary without identity", method: "GET", path: admin, status: 401, code: "UNAUTHORIZED"},
		{name: "waitlist summary of an unknown event", method: "GET", path: "/admin/v1/events/nope/waitlist", token: org, status: 404, code: "NOT_FOUND", valid: true},
		{name: "offer window", method: "POST", path: admin, token: org, body: []byte(`{"offerMinutes":30}`), status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				var s struct{ OfferMinutes, Waiting int }
				mustJSON(t, b, &s)
				if s.OfferMinutes != 30 || s.Waiting != 2 {
					t.Errorf("summary %s; want 2 waiting, 30-minute offers", b)
				}
			}},
		{name: "offer window 0", method: "POST", path: admin, token: org, body: []byte(`{"offerMinutes":0}`), status: 400, code: "INVALID_REQUEST"},
		{name: "offer window with a field", method: "POST", path: admin, token: org, body: []byte(`{"offerMinutes":5,"x":1}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "offer window without identity", method: "POST", path: admin, body: []byte(`{"offerMinutes":5}`), status: 401, code: "UNAUTHORIZED"},
		{name: "offer window as a fan", method: "POST", path: admin, token: other, body: []byte(`{"offerMinutes":5}`), status: 401, code: "UNAUTHORIZED"},
		{name: "offer window as a scanner of another event", method: "POST", path: admin, token: c.scannerElsewhere(), body: []byte(`{"offerMinutes":5}`), status: 403, code: "FORBIDDEN"},
		{name: "offer window of an unknown event", method: "POST", path: "/admin/v1/events/nope/waitlist", token: org, body: []byte(`{"offerMinutes":5}`), status: 404, code: "NOT_FOUND", valid: true},
		{name: "offer window oversized", method: "POST", path: admin, token: org, body: oversized, status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "offer window as text", method: "POST", path: admin, token: org, body: []byte(`{"offerMinutes":5}`), contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}

	// The buyer cancels: the place comes back and the schedule's sweep
	// offers it to the first fan once the projection shows it.
	c.do(t, call{name: "buyer cancels", method: "DELETE", path: "/v1/orders/" + order, token: buyer, status: 200, valid: true})
	var offer struct {
		Offer struct{ AdmissionToken string }
	}
	t.Run("sweep offers the returned place", func(t *testing.T) {
		deadline := time.Now().Add(15 * time.Second)
		for {
			if _, err := st.App.Waitlist.Sweep(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			_, b := c.exchange(t, call{method: "GET", path: list, token: first, status: 200, valid: true})
			mustJSON(t, b, &offer)
			if offer.Offer.AdmissionToken != "" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no offer 15 s after the cancel: %s", b)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	for _, cs := range []call{
		{name: "second fan while the offer is out", method: "GET", path: list, token: second, status: 200, valid: true, check: wantWaitlist("WAITING", 0)},
		{name: "admission while the list comes first", method: "POST", path: "/v1/events/" + ev + "/admission", token: other, status: 409, code: "WAITLIST_FIRST", valid: true,
			check: wantDetails(`{"waitlist":"` + list + `"}`)},
		{name: "offered fan's admission", method: "POST", path: "/v1/events/" + ev + "/admission", token: first, status: 200, valid: true},
		{name: "offered fan holds", method: "POST", path: "/v1/events/" + ev + "/holds", token: first, body: seatsBody(offer.Offer.AdmissionToken, "A-1-1"), status: 201, valid: true},
		{name: "offer used", method: "GET", path: list, token: first, status: 200, valid: true, check: wantWaitlist("USED", -1)},
		{name: "second fan leaves", method: "DELETE", path: list, token: second, status: 204, valid: true},
		{name: "second fan leaves again", method: "DELETE", path: list, token: second, status: 404, code: "NOT_FOUND", valid: true},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}
}

// wantWaitlist checks an entry's status and, when ahead >= 0, how many
// fans are ahead.
func wantWaitlist(status string, ahead int) func(t *testing.T, b []byte) {
	return func(t *testing.T, b []byte) {
		t.Helper()
		var e struct {
			Status, Policy string
			Ahead          *int
		}
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		if e.Status != status || e.Policy != "first-come-first-served" || (ahead >= 0 && (e.Ahead == nil || *e.Ahead != ahead)) {
			t.Errorf("entry %s; want %s with %d ahead", b, status, ahead)
		}
	}
}
