package openapi_test

import (
	"slices"
	"strings"
	"testing"
)

// seatManagement is TestConformance's part for an organizer's seat
// management (ADR 30): kill, hold back, release, accessibility marks and
// the summary, and the requests those routes refuse.
func (c *conformance) seatManagement(org, fan string) {
	ev := c.createEvent("seat management event", org, createBody(func(m map[string]any) {
		secs := m["sections"].([]any)
		a := secs[0].(map[string]any)
		a["wheelchair"], a["companion"] = []string{"A-2-1"}, []string{"A-2-2"}
	}))
	seats := func(ev, rest string) string {
		if rest == "/../comps" {
			return "/admin/v1/events/" + ev + "/comps"
		}
		return "/admin/v1/events/" + ev + "/seats" + rest
	}
	type result struct {
		Changed, Unchanged []string
		Refused            []struct{ Seat, State, Reason string }
	}
	type summary struct {
		Sections []struct {
			Section                                           string
			Killed, HeldBack, Comps                           int
			KilledSeats, HeldBackSeats, Wheelchair, Companion []string
		}
	}
	changed := func(want ...string) func(t *testing.T, b []byte) {
		return func(t *testing.T, b []byte) {
			var r result
			mustJSON(t, b, &r)
			if !slices.Equal(r.Changed, want) {
				t.Errorf("changed %v, want %v: %s", r.Changed, want, truncate(b))
			}
		}
	}
	kill := []byte(`{"seats":["A-1-1"]}`)
	for _, cs := range []call{
		{name: "seats killed", method: "POST", path: seats(ev, "/kill"), token: org, body: kill, status: 200, valid: true, check: changed("A-1-1")},
		{name: "seats held back by range", method: "POST", path: seats(ev, "/hold-back"), token: org, body: []byte(`{"section":"A","fromRow":"1","toRow":"1","fromSeat":1,"toSeat":3}`), status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				var r result
				mustJSON(t, b, &r)
				if !slices.Equal(r.Changed, []string{"A-1-2", "A-1-3"}) || len(r.Refused) != 1 || r.Refused[0].Seat != "A-1-1" || r.Refused[0].State != "KILLED" {
					t.Errorf("hold back answered %s", truncate(b))
				}
			}},
		{name: "seats released", method: "POST", path: seats(ev, "/release"), token: org, body: []byte(`{"seats":["A-1-3"]}`), status: 200, valid: true, check: changed("A-1-3")},
		{name: "seats marked wheelchair", method: "POST", path: seats(ev, "/accessibility"), token: org, body: []byte(`{"seats":["A-2-2"],"mark":"wheelchair"}`), status: 200, valid: true},
		{name: "comp by seat to an email", method: "POST", path: "/admin/v1/events/" + ev + "/comps", token: org, body: []byte(`{"seats":["A-1-3"],"to":"guest@example.com"}`), status: 201, valid: true,
			check: func(t *testing.T, b []byte) {
				var c struct {
					OrderID string
					Seats   []string
					Tickets int
				}
				mustJSON(t, b, &c)
				if c.OrderID == "" || !slices.Equal(c.Seats, []string{"A-1-3"}) || c.Tickets != 1 {
					t.Errorf("comp answered %s", truncate(b))
				}
			}},
		{name: "comp by quantity takes a held-back seat first", method: "POST", path: "/admin/v1/events/" + ev + "/comps", token: org, body: []byte(`{"section":"A","quantity":1,"to":"artist-1"}`), status: 201, valid: true,
			check: func(t *testing.T, b []byte) {
				var c struct{ Seats []string }
				mustJSON(t, b, &c)
				if !slices.Equal(c.Seats, []string{"A-1-2"}) {
					t.Errorf("comp by quantity took %v, want the held-back A-1-2", c.Seats)
				}
			}},
		{name: "comp of a killed seat", method: "POST", path: "/admin/v1/events/" + ev + "/comps", token: org, body: []byte(`{"seats":["A-1-1"],"to":"guest@example.com"}`), status: 409, code: "SEATS_UNAVAILABLE", valid: true},
		{name: "comp report counts comps apart", method: "GET", path: "/admin/v1/events/" + ev + "/report", token: org, status: 200, valid: true, check: func(t *testing.T, b []byte) {
			var r struct {
				RevenueCents int64
				Comps        struct{ Orders, Tickets int }
			}
			mustJSON(t, b, &r)
			if r.Comps.Orders != 2 || r.Comps.Tickets != 2 || r.RevenueCents != 0 {
				t.Errorf("report %s: want 2 comp orders of 2 tickets and no revenue", truncate(b))
			}
		}},
		{name: "seat summary", method: "GET", path: seats(ev, ""), token: org, status: 200, valid: true, check: func(t *testing.T, b []byte) {
			var s summary
			mustJSON(t, b, &s)
			if len(s.Sections) != 1 || !slices.Equal(s.Sections[0].Wheelchair, []string{"A-2-1", "A-2-2"}) || len(s.Sections[0].Companion) != 0 || s.Sections[0].Comps != 2 {
				t.Errorf("summary %s", truncate(b))
			}
		}},
		{name: "comp without recipient", method: "POST", path: "/admin/v1/events/" + ev + "/comps", token: org, body: []byte(`{"seats":["A-2-1"]}`), status: 400, code: "INVALID_REQUEST"},
		{name: "comp unknown field", method: "POST", path: "/admin/v1/events/" + ev + "/comps", token: org, body: []byte(`{"seats":["A-2-1"],"to":"x@example.com","price":0}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "comp not in the venue", method: "POST", path: "/admin/v1/events/" + ev + "/comps", token: org, body: []byte(`{"seats":["A-7-1"],"to":"x@example.com"}`), status: 422, code: "INVALID_VENUE", valid: true},
		{name: "comp of an unknown event", method: "POST", path: "/admin/v1/events/nope/comps", token: org, body: []byte(`{"seats":["A-2-1"],"to":"x@example.com"}`), status: 404, code: "NOT_FOUND", valid: true},
		{name: "seats killed neither list nor range", method: "POST", path: seats(ev, "/kill"), token: org, body: []byte(`{}`), status: 400, code: "INVALID_REQUEST"},
		{name: "seats killed unknown field", method: "POST", path: seats(ev, "/kill"), token: org, body: []byte(`{"seats":["A-1-1"],"why":"camera"}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "seats killed not in the venue", method: "POST", path: seats(ev, "/kill"), token: org, body: []byte(`{"seats":["A-9-1"]}`), status: 422, code: "INVALID_VENUE", valid: true},
		{name: "seats held back not in the venue", method: "POST", path: seats(ev, "/hold-back"), token: org, body: []byte(`{"section":"GA"}`), status: 422, code: "INVALID_VENUE", valid: true},
		{name: "seats released not in the venue", method: "POST", path: seats(ev, "/release"), token: org, body: []byte(`{"section":"A","fromRow":"7"}`), status: 422, code: "INVALID_VENUE", valid: true},
		{name: "seats marked not in the venue", method: "POST", path: seats(ev, "/accessibility"), token: org, body: []byte(`{"seats":["B-1-1"],"mark":"companion"}`), status: 422, code: "INVALID_VENUE", valid: true},
		{name: "seats marked with an unknown mark", method: "POST", path: seats(ev, "/accessibility"), token: org, body: []byte(`{"seats":["A-1-1"],"mark":"ramp"}`), status: 400, code: "INVALID_REQUEST"},
		{name: "seats held back both list and range", method: "POST", path: seats(ev, "/hold-back"), token: org, body: []byte(`{"seats":["A-1-1"],"section":"A"}`), status: 400, code: "INVALID_REQUEST"},
		{name: "seats released empty body", method: "POST", path: seats(ev, "/release"), token: org, body: []byte(``), status: 400, code: "INVALID_JSON"},
		{name: "seat summary of an unknown event", method: "GET", path: seats("nope", ""), token: org, status: 404, code: "NOT_FOUND", valid: true},
		{name: "seats killed of an unknown event", method: "POST", path: seats("nope", "/kill"), token: org, body: kill, status: 404, code: "NOT_FOUND", valid: true},
		{name: "seats held back of an unknown event", method: "POST", path: seats("nope", "/hold-back"), token: org, body: kill, status: 404, code: "NOT_FOUND", valid: true},
		{name: "seats released of an unknown event", method: "POST", path: seats("nope", "/release"), token: org, body: kill, status: 404, code: "NOT_FOUND", valid: true},
		{name: "seats marked of an unknown event", method: "POST", path: seats("nope", "/accessibility"), token: org, body: []byte(`{"seats":["A-1-1"],"mark":"none"}`), status: 404, code: "NOT_FOUND", valid: true},
	} {
		c.t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}
	// Who may: a fan's token is no staff token; a scanner of another event
	// is staff without the power; bodies over the limit and of another
	// type are refused before the handler.
	for _, r := range []struct{ method, rest string }{{"GET", ""}, {"POST", "/kill"}, {"POST", "/hold-back"}, {"POST", "/release"}, {"POST", "/accessibility"}, {"POST", "/../comps"}} {
		var body []byte
		if r.method == "POST" {
			body = kill
			switch r.rest {
			case "/accessibility":
				body = []byte(`{"seats":["A-1-1"],"mark":"none"}`)
			case "/../comps":
				body = []byte(`{"seats":["A-2-1"],"to":"x@example.com"}`)
			}
		}
		name := "seats " + r.method + r.rest
		for _, cs := range []call{
			{name: name + " without identity", method: r.method, path: seats(ev, r.rest), body: body, status: 401, code: "UNAUTHORIZED"},
			{name: name + " as a fan", method: r.method, path: seats(ev, r.rest), token: fan, body: body, status: 401, code: "UNAUTHORIZED"},
			{name: name + " as a scanner of another event", method: r.method, path: seats(ev, r.rest), token: c.scannerElsewhere(), body: body, status: 403, code: "FORBIDDEN"},
		} {
			c.t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
		}
		if r.method == "POST" {
			for _, cs := range []call{
				{name: name + " oversized", method: "POST", path: seats(ev, r.rest), token: org, body: []byte(`{"seats":["` + strings.Repeat("a", 16<<10) + `"]}`), status: 413, code: "PAYLOAD_TOO_LARGE"},
				{name: name + " as text", method: "POST", path: seats(ev, r.rest), token: org, body: body, contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
			} {
				c.t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
			}
		}
	}
}
