package handlers_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/testenv/fixture"
)

// stack starts a local stack (embedded DynamoDB, no demo) for one test.
func stack(t *testing.T, clk clock.Clock) *devstack.Stack {
	t.Helper()
	return stackWith(t, devstack.Options{Clock: clk})
}

// stackWith starts a local stack with o and stops it when the test ends.
func stackWith(t *testing.T, o devstack.Options) *devstack.Stack {
	t.Helper()
	return fixture.Stack(t, o)
}

type client struct {
	t    *testing.T
	base string
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

func (c client) do(method, path, token string, body []byte, hdr map[string]string) reply {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, b}
}

func (c client) token(sub, role string) string {
	c.t.Helper()
	r := c.do("POST", "/dev/token", "", []byte(`{"sub":"`+sub+`","role":"`+role+`"}`), nil)
	if r.status != 200 {
		c.t.Fatalf("dev token: %d %s", r.status, r.body)
	}
	return r.json(c.t)["token"].(string)
}

const eventBody = `{"name":"Club night","venue":"Small Hall","startsAt":"2027-06-01T20:00:00Z","saleOpensAt":"2027-05-01T10:00:00Z",
 "holdSeconds":600,"maxTicketsPerAccount":2,"queue":{"mode":"off","admitPerMinute":600},
 "sections":[{"id":"A","name":"Balcony","priceCents":4500,"currency":"EUR","rows":[{"id":"1","seats":20},{"id":"2","seats":15}]},
             {"id":"GA","name":"Floor","priceCents":3000,"currency":"EUR","capacity":300}]}`

func TestCatalogSliceEndToEnd(t *testing.T) {
	st := stack(t, nil)
	c := client{t, st.URL()}
	org := c.token("organizer-1", "organizer")

	if r := c.do("GET", "/healthz", "", nil, nil); r.status != 200 || r.json(t)["status"] != "ok" {
		t.Fatalf("healthz: %d %s", r.status, r.body)
	}

	created := c.do("POST", "/admin/v1/events", org, []byte(eventBody), nil)
	if created.status != 201 {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	ev := created.json(t)
	id, _ := ev["eventId"].(string)
	if id == "" || ev["capacity"].(float64) != 335 || ev["createdBy"] != "organizer-1" || ev["saleState"] != "SCHEDULED" {
		t.Fatalf("created event: %s", created.body)
	}
	if loc := created.header.Get("Location"); loc != "/admin/v1/events/"+id {
		t.Fatalf("Location = %q", loc)
	}

	t.Run("AdminReadsEvent", func(t *testing.T) {
		r := c.do("GET", "/admin/v1/events/"+id, org, nil, nil)
		if r.status != 200 || r.json(t)["eventId"] != id {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("FanReadsEventWithSeatMap", func(t *testing.T) {
		r := c.do("GET", "/v1/events/"+id, "", nil, nil)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		secs := r.json(t)["sections"].([]any)
		if rows := secs[0].(map[string]any)["rows"].([]any); len(rows) != 2 {
			t.Fatalf("rows = %v", rows)
		}
		if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "max-age=5") {
			t.Fatalf("Cache-Control = %q", cc)
		}
	})
	t.Run("ListShowsEventWithoutRows", func(t *testing.T) {
		r := c.do("GET", "/v1/events", "", nil, nil)
		evs := r.json(t)["events"].([]any)
		if r.status != 200 || len(evs) != 1 || evs[0].(map[string]any)["eventId"] != id {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if _, has := evs[0].(map[string]any)["sections"].([]any)[0].(map[string]any)["rows"]; has {
			t.Fatal("listing carries the seat map")
		}
	})
	t.Run("AvailabilityCountsEveryPlace", func(t *testing.T) {
		r := c.do("GET", "/v1/events/"+id+"/availability", "", nil, nil)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		var av struct {
			EventID  string
			Sections []struct {
				ID                              string
				Capacity, Available, Held, Sold int
			}
			Seats map[string]string
		}
		if err := json.Unmarshal(r.body, &av); err != nil {
			t.Fatal(err)
		}
		if av.EventID != id || len(av.Seats) != 35 || av.Seats["A-2-15"] != "AVAILABLE" || len(av.Sections) != 2 ||
			av.Sections[0].Available != 35 || av.Sections[1].Available != 300 || av.Sections[1].Capacity != 300 {
			t.Fatalf("availability: %s", r.body)
		}
		if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "max-age=2") {
			t.Fatalf("Cache-Control = %q", cc)
		}
	})
}

// TestBadInputGetsJSONErrors covers every endpoint's refusals: each answer
// has the contract's status and {"error":{"code","message"}} body.
func TestBadInputGetsJSONErrors(t *testing.T) {
	clk := clock.NewManual(time.Now())
	st := stack(t, clk)
	c := client{t, st.URL()}
	expired := c.token("fan-2", "fan")
	clk.Advance(13 * time.Hour) // the dev issuer's tokens live 12 h
	org := c.token("organizer-1", "organizer")
	fan := c.token("fan-1", "fan")

	venue := func(mutate string) []byte { return []byte(strings.Replace(eventBody, `"capacity":300`, mutate, 1)) }
	big := []byte(`{"name":"` + strings.Repeat("x", 1<<20) + `"}`)
	cases := []struct {
		name, method, path, token string
		body                      []byte
		hdr                       map[string]string
		status                    int
		code                      string
	}{
		{"CreateMalformedJSON", "POST", "/admin/v1/events", org, []byte(`{"name":`), nil, 400, "INVALID_JSON"},
		{"CreateNotObject", "POST", "/admin/v1/events", org, []byte(`"event"`), nil, 400, "INVALID_JSON"},
		{"CreateEmptyBody", "POST", "/admin/v1/events", org, []byte(``), nil, 400, "INVALID_JSON"},
		{"CreateUnknownField", "POST", "/admin/v1/events", org, []byte(strings.Replace(eventBody, `"name"`, `"colour":"red","name"`, 1)), nil, 400, "UNKNOWN_FIELD"},
		{"CreateWrongType", "POST", "/admin/v1/events", org, []byte(strings.Replace(eventBody, `"holdSeconds":600`, `"holdSeconds":"ten"`, 1)), nil, 400, "INVALID_REQUEST"},
		{"CreateMissingIdentity", "POST", "/admin/v1/events", "", []byte(eventBody), nil, 401, "UNAUTHORIZED"},
		{"CreateGarbageToken", "POST", "/admin/v1/events", "not.a.jwt", []byte(eventBody), nil, 401, "UNAUTHORIZED"},
		{"CreateExpiredToken", "POST", "/admin/v1/events", expired, []byte(eventBody), nil, 401, "UNAUTHORIZED"},
		{"CreateAsFan", "POST", "/admin/v1/events", fan, []byte(eventBody), nil, 401, "UNAUTHORIZED"},
		{"CreateOversized", "POST", "/admin/v1/events", org, big, nil, 413, "PAYLOAD_TOO_LARGE"},
		{"CreateNotJSONContentType", "POST", "/admin/v1/events", org, []byte(eventBody), map[string]string{"Content-Type": "text/plain"}, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"CreateZeroSeats", "POST", "/admin/v1/events", org, venue(`"capacity":0`), nil, 422, "INVALID_VENUE"},
		{"CreateNegativePrice", "POST", "/admin/v1/events", org, []byte(strings.Replace(eventBody, `"priceCents":4500`, `"priceCents":-4500`, 1)), nil, 422, "INVALID_VENUE"},
		{"CreateDuplicateSectionIDs", "POST", "/admin/v1/events", org, []byte(strings.Replace(eventBody, `"id":"GA"`, `"id":"A"`, 1)), nil, 422, "INVALID_VENUE"},
		{"CreateDuplicateRowIDs", "POST", "/admin/v1/events", org, []byte(strings.Replace(eventBody, `{"id":"2","seats":15}`, `{"id":"1","seats":15}`, 1)), nil, 422, "INVALID_VENUE"},
		{"CreateNoSections", "POST", "/admin/v1/events", org, []byte(`{"name":"x","venue":"y","startsAt":"2027-06-01T20:00:00Z","saleOpensAt":"2027-05-01T10:00:00Z","sections":[]}`), nil, 422, "INVALID_VENUE"},
		{"AdminGetMissingIdentity", "GET", "/admin/v1/events/whatever", "", nil, nil, 401, "UNAUTHORIZED"},
		{"AdminGetAsFan", "GET", "/admin/v1/events/whatever", fan, nil, nil, 401, "UNAUTHORIZED"},
		{"AdminGetUnknown", "GET", "/admin/v1/events/whatever", org, nil, nil, 404, "NOT_FOUND"},
		{"GetUnknownEvent", "GET", "/v1/events/nope", "", nil, nil, 404, "NOT_FOUND"},
		{"GetImpossibleEventID", "GET", "/v1/events/bad%20id!", "", nil, nil, 404, "NOT_FOUND"},
		{"AvailabilityUnknownEvent", "GET", "/v1/events/nope/availability", "", nil, nil, 404, "NOT_FOUND"},
		{"UnknownRoute", "GET", "/v1/nothing-here", "", nil, nil, 404, "NOT_FOUND"},
		{"WrongMethod", "DELETE", "/v1/events", "", nil, nil, 405, "METHOD_NOT_ALLOWED"},
		{"DevTokenMalformed", "POST", "/dev/token", "", []byte(`{"sub":`), nil, 400, "INVALID_JSON"},
		{"DevTokenUnknownField", "POST", "/dev/token", "", []byte(`{"sub":"a","admin":true}`), nil, 400, "UNKNOWN_FIELD"},
		{"DevTokenNoSub", "POST", "/dev/token", "", []byte(`{"role":"fan"}`), nil, 400, "INVALID_REQUEST"},
		{"DevTokenBadRole", "POST", "/dev/token", "", []byte(`{"sub":"a","role":"root"}`), nil, 400, "INVALID_REQUEST"},
		{"DevTokenOversized", "POST", "/dev/token", "", big, nil, 413, "PAYLOAD_TOO_LARGE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do(tc.method, tc.path, tc.token, tc.body, tc.hdr)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
			e, ok := r.json(t)["error"].(map[string]any)
			if !ok || e["code"] != tc.code || e["message"] == "" {
				t.Fatalf("error body %s, want code %s", r.body, tc.code)
			}
		})
	}
	// Nothing was created by any refused request.
	if r := c.do("GET", "/v1/events", "", nil, nil); len(r.json(t)["events"].([]any)) != 0 {
		t.Fatalf("refused requests created events: %s", r.body)
	}
}

func TestDemoEventIsSeeded(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 22,000 places")
	}
	st := fixture.Stack(t, devstack.Options{Demo: true})
	c := client{t, st.URL()}
	r := c.do("GET", "/v1/events/"+devstack.DemoEventID+"/availability", "", nil, nil)
	var av struct {
		Sections []struct {
			ID        string
			Capacity  int
			Available int
		}
		Seats map[string]string
	}
	if err := json.Unmarshal(r.body, &av); err != nil || r.status != 200 {
		t.Fatalf("%d %v", r.status, err)
	}
	reserved, ga := 0, 0
	for _, s := range av.Sections {
		if s.ID == "GA" {
			ga += s.Available
		} else {
			reserved += s.Available
		}
	}
	if reserved != 20000 || len(av.Seats) != 20000 || ga != 2000 {
		t.Fatalf("demo: %d reserved (%d seat states), %d GA", reserved, len(av.Seats), ga)
	}
	// The second demo event sells through the waiting room, whose
	// status publishes the draw's seed hash before the sale.
	r = c.do("GET", "/v1/events/"+devstack.DemoQueueEventID+"/queue-status", "", nil, nil)
	var qs struct {
		SaleState       string
		ShuffleSeedHash string
	}
	if err := json.Unmarshal(r.body, &qs); err != nil || r.status != 200 || qs.SaleState != "SCHEDULED" || len(qs.ShuffleSeedHash) != 64 {
		t.Fatalf("demo queue event: %d %s", r.status, r.body)
	}
}
