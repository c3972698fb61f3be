package openapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/draw"
	"github.com/stararena/stararena/internal/limits"
)

// Per-account limits the journey runs into: joins (the local stack's
// stand-in for the WAF rule) and admissions (internal/app).
const (
	joinLimit      = limits.JoinsPerMinute
	admissionLimit = limits.AdmissionsPerMinute
)

// waitroom is TestConformance's part for the virtual waiting room. The
// event has the queue on, a sale that opens tomorrow and one place, so the
// inlet's inventory cap lets exactly one position through. Two fans join
// before the organizer opens the sale early (the draw orders them), one
// joins after it (first come, first served), one never joins. The served
// fan is admitted, holds the place and pays; the sell-out then reaches the
// fan still waiting. Steps run in order because each leaves state the next
// relies on; the inlet is driven by hand (TickAll) rather than waited for.
func (c *conformance) waitroom(st *devstack.Stack, org string) {
	t := c.t
	event := c.createEvent("event with a waiting room", org, createBody(func(m map[string]any) {
		m["holdSeconds"] = 3600 // 36 s at the stack's time scale: longer than this part
		m["queue"] = map[string]any{"mode": "on", "admitPerMinute": 600}
		m["sections"] = []any{map[string]any{"id": "GA", "name": "Floor", "priceCents": 3000, "currency": "EUR", "capacity": 1}}
	}))
	early := []string{"fan-queue-1", "fan-queue-2"}
	tokens := map[string]string{}
	for _, sub := range append(early, "fan-queue-late", "fan-queue-never") {
		tokens[sub] = c.token(sub, "fan")
	}
	base := "/v1/events/" + event
	status, me, drawDoc, join, admission := base+"/queue-status", base+"/queue/me", base+"/queue/draw", base+"/queue", base+"/admission"
	sale := "/admin/v1/events/" + event + "/sale"
	oversized := []byte(`{"x":"` + strings.Repeat("a", 16<<10) + `"}`)

	// Before the sale: the seed's hash is public, the draw is not, and
	// every place is pending.
	var seedHash string
	c.step("queue status before the draw", call{method: "GET", path: status, status: 200, valid: true,
		check: func(t *testing.T, b []byte) {
			s := queueStatusOf(t, b)
			if s.SaleState != "SCHEDULED" || s.ServingPosition != 0 || s.AdmitPerMinute != 600 || s.SoldOut || len(s.ShuffleSeedHash) != 64 || s.ShuffleSeed != "" {
				t.Errorf("queue status %s", b)
			}
			seedHash = s.ShuffleSeedHash
		},
		checkHeader: wantCacheControl("public, max-age=2")})
	if seedHash == "" {
		t.Fatal("no seed hash published")
	}
	for _, cs := range []call{
		{name: "draw before it happened", method: "GET", path: drawDoc, status: 409, code: "INVALID_STATE", valid: true,
			check: wantDetails(fmt.Sprintf(`{"shuffleSeedHash":%q}`, seedHash))},
		{name: "draw part before it happened", method: "GET", path: drawDoc + "/0", status: 409, code: "INVALID_STATE", valid: true,
			check: wantDetails(fmt.Sprintf(`{"shuffleSeedHash":%q}`, seedHash))},
		{name: "draw part not named by hex digits", method: "GET", path: drawDoc + "/xyz", status: 400, code: "INVALID_REQUEST"},
		{name: "join", method: "POST", path: join, token: tokens[early[0]], status: 202, valid: true, check: wantJoinAccepted},
		{name: "join again", method: "POST", path: join, token: tokens[early[0]], status: 202, valid: true, check: wantJoinAccepted},
		{name: "join of a second fan", method: "POST", path: join, token: tokens[early[1]], status: 202, valid: true, check: wantJoinAccepted},
		{name: "join without identity", method: "POST", path: join, status: 401, code: "UNAUTHORIZED"},
		{name: "join with an invalid identity", method: "POST", path: join, token: "not-a-jwt", status: 401, code: "UNAUTHORIZED"},
		{name: "join oversized", method: "POST", path: join, token: tokens[early[0]], body: oversized, status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "join unqueueable", method: "POST", path: "/v1/events/%01/queue", token: tokens[early[0]], status: 400, code: "INVALID_REQUEST"},
		// Joins are asynchronous: right after one, the place may or may not
		// exist yet; either way it has no position before the draw.
		{name: "place right after joining", method: "GET", path: me, token: tokens[early[0]], status: 200, valid: true, check: wantPlace("PENDING", 0, 0)},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}
	c.drainJoins(st)
	for _, cs := range []call{
		{name: "place once the join is processed", method: "GET", path: me, token: tokens[early[0]], status: 200, valid: true, check: wantPlace("PENDING", 0, 0)},
		{name: "place of a fan who never joined", method: "GET", path: me, token: tokens["fan-queue-never"], status: 200, valid: true, check: wantPlace("PENDING", 0, 0)},
		{name: "place without identity", method: "GET", path: me, status: 401, code: "UNAUTHORIZED"},
		{name: "place at an unknown event", method: "GET", path: "/v1/events/nope/queue/me", token: tokens[early[0]], status: 404, code: "NOT_FOUND", valid: true},
		{name: "place at an event without a waiting room", method: "GET", path: "/v1/events/" + devstack.DemoEventID + "/queue/me", token: tokens[early[0]], status: 404, code: "NOT_FOUND", valid: true},
		{name: "queue status of an unknown event", method: "GET", path: "/v1/events/nope/queue-status", status: 404, code: "NOT_FOUND", valid: true},
		{name: "queue status of an impossible event id", method: "GET", path: "/v1/events/" + strings.Repeat("x", 65) + "/queue-status", status: 404, code: "NOT_FOUND"},
		{name: "queue status of an event without a waiting room", method: "GET", path: "/v1/events/" + devstack.DemoEventID + "/queue-status", status: 404, code: "NOT_FOUND", valid: true},
		{name: "draw of an event without a waiting room", method: "GET", path: "/v1/events/" + devstack.DemoEventID + "/queue/draw", status: 404, code: "NOT_FOUND", valid: true},
		{name: "draw of an unknown event", method: "GET", path: "/v1/events/nope/queue/draw", status: 404, code: "NOT_FOUND", valid: true},
		{name: "draw part of an event without a waiting room", method: "GET", path: "/v1/events/" + devstack.DemoEventID + "/queue/draw/0", status: 404, code: "NOT_FOUND", valid: true},
		{name: "admission before the sale", method: "POST", path: admission, token: tokens[early[0]], status: 409, code: "SALE_NOT_OPEN", valid: true,
			check: wantDetails(`{"saleState":"SCHEDULED"}`)},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}

	// A join is accepted without looking the event up, until the account
	// has joined 30 times in the minute (the window may roll over once).
	t.Run("joins over the limit", func(t *testing.T) {
		flood, accepted := c.token("fan-queue-flood", "fan"), 0
		for range 2*joinLimit + 1 {
			code, b := c.attempt(t, call{method: "POST", path: "/v1/events/no-such-event/queue", token: flood})
			switch code {
			case http.StatusAccepted:
				accepted++
				continue
			case http.StatusTooManyRequests:
				if accepted == 0 || errorCode(t, b) != "RATE_LIMITED" {
					t.Fatalf("after %d joins: %d %s", accepted, code, b)
				}
				return
			default:
				t.Fatalf("join %d: %d %s", accepted+1, code, b)
			}
		}
		t.Fatalf("%d joins in a row accepted; want RATE_LIMITED after %d", accepted, joinLimit)
	})

	// The organizer opens the sale early: the inlet draws the early fans
	// (after a 2 s grace) and serves one position, all the one place allows.
	c.step("organizer opens the sale early", call{method: "POST", path: sale, token: org, body: []byte(`{"action":"open","admitPerMinute":600}`), status: 200, valid: true,
		check: func(t *testing.T, b []byte) {
			var ev struct {
				SaleState string
				Sale      struct{ Status, OpenedAt string }
				Queue     struct{ AdmitPerMinute int }
			}
			if mustJSON(t, b, &ev); ev.SaleState != "OPEN" || ev.Sale.Status != "OPEN" || ev.Sale.OpenedAt == "" || ev.Queue.AdmitPerMinute != 600 {
				t.Errorf("event %s", truncate(b))
			}
		}})
	drawn := c.tickUntil(st, "the inlet draws and serves", status, func(s queueStatus) bool { return s.ShuffleSeed != "" && s.ServingPosition > 0 })
	seed, err := hex.DecodeString(drawn.ShuffleSeed)
	if sum := sha256.Sum256(seed); err != nil || hex.EncodeToString(sum[:]) != seedHash || drawn.ShuffleSeedHash != seedHash || drawn.ServingPosition != 1 || drawn.SaleState != "OPEN" ||
		drawn.PositionsGiven != 2 || drawn.DrawEntrants != 2 || drawn.DrawPartDigits != 1 {
		t.Fatalf("after the draw: %+v; want the seed of hash %s revealed and position 1 served", drawn, seedHash)
	}
	// The seed decides who is first.
	entrantOf := map[string]string{}
	for _, sub := range early {
		entrantOf[draw.EntrantID(event, sub)] = sub
	}
	order := draw.Order(seed, []string{draw.EntrantID(event, early[0]), draw.EntrantID(event, early[1])})
	served, waiting := tokens[entrantOf[order[0]]], tokens[entrantOf[order[1]]]

	var adm, expires string
	for _, cs := range []call{
		{name: "place of the fan drawn first", method: "GET", path: me, token: served, status: 200, valid: true, check: wantPlace("ADMITTABLE", 1, 1)},
		{name: "place of the fan drawn second", method: "GET", path: me, token: waiting, status: 200, valid: true, check: wantPlace("WAITING", 2, 1)},
		{name: "join after the opening", method: "POST", path: join, token: tokens["fan-queue-late"], status: 202, valid: true, check: wantJoinAccepted},
		{name: "admission of a fan not served yet", method: "POST", path: admission, token: waiting, body: []byte(`{}`), status: 409, code: "QUEUE_REQUIRED", valid: true,
			check: func(t *testing.T, b []byte) {
				d := queueDetailsOf(t, b)
				if d.State != "WAITING" || d.Position != 2 || d.ServingPosition != 1 || d.EtaSeconds < 1 {
					t.Errorf("details %+v", d)
				}
			}},
		{name: "admission of a fan who never joined", method: "POST", path: admission, token: tokens["fan-queue-never"], status: 409, code: "QUEUE_REQUIRED", valid: true,
			check: wantDetails(`{"servingPosition":1,"state":"NOT_IN_QUEUE"}`)},
		// The bot check runs at the edge (ADR 22): a bot-check answer here is a field the API does not take.
		{name: "admission with a bot-check answer", method: "POST", path: admission, token: served, body: []byte(`{"proof":"x"}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "admission with a mistyped presale code", method: "POST", path: admission, token: served, body: []byte(`{"presaleCode":7}`), status: 400, code: "INVALID_REQUEST"},
		{name: "admission with a long presale code", method: "POST", path: admission, token: served, body: []byte(`{"presaleCode":"` + strings.Repeat("p", 65) + `"}`), status: 400, code: "INVALID_REQUEST"},
		{name: "admission of the served fan", method: "POST", path: admission, token: served, body: []byte(`{}`), status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				adm = admissionToken(t, b)
				var a struct{ ExpiresAt string }
				mustJSON(t, b, &a)
				expires = a.ExpiresAt
			}},
		// A refresh gets the same admission (same expiry), not a second one.
		{name: "admission asked again", method: "POST", path: admission, token: served, status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				var a struct{ ExpiresAt string }
				if mustJSON(t, b, &a); a.ExpiresAt != expires {
					t.Errorf("second admission expires %s, the first %s", a.ExpiresAt, expires)
				}
			}},
		{name: "place of an admitted fan", method: "GET", path: me, token: served, status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				if p := placeOf(t, b); p.State != "ADMITTED" || p.Position != 1 || p.AdmissionExpiresAt != expires {
					t.Errorf("place %s; want ADMITTED until %s", b, expires)
				}
			}},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}
	if adm == "" {
		t.Fatal("the served fan got no admission")
	}
	// The late fan queues behind the draw, first come.
	c.drainJoins(st)
	c.step("place of a fan who joined after the opening", call{method: "GET", path: me, token: tokens["fan-queue-late"], status: 200, valid: true, check: wantPlace("WAITING", 3, 1)})

	// The served fan holds the one place and pays for it.
	var orderID, paymentID string
	c.step("hold with the waiting room's admission", call{method: "POST", path: base + "/holds", token: served, body: sectionBody(adm, "GA", 1), status: 201, valid: true,
		check: func(t *testing.T, b []byte) { orderID = orderOf(t, b).OrderID }})
	if orderID == "" {
		t.Fatal("no hold")
	}
	for _, cs := range []call{
		{name: "place once the admission made a hold", method: "GET", path: me, token: served, status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				if wantPlace("ADMITTED", 1, 1)(t, b); placeOf(t, b).AdmissionExpiresAt != "" {
					t.Errorf("place %s: a used admission has no expiry", b)
				}
			}},
		{name: "admission once it was used", method: "POST", path: admission, token: served, status: 409, code: "QUEUE_REQUIRED", valid: true,
			check: wantDetails(`{"position":1,"servingPosition":1,"state":"ADMITTED"}`)},
		{name: "payment of the held place", method: "POST", path: "/v1/orders/" + orderID + "/payments", token: served, body: []byte(`{"provider":"sandbox"}`), status: 201, valid: true,
			check: func(t *testing.T, b []byte) {
				var p struct{ PaymentID string }
				mustJSON(t, b, &p)
				paymentID = p.PaymentID
			}},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}
	c.step("the fan pays", call{method: "POST", path: "/sandbox/payments/" + paymentID + "/complete",
		body: []byte(`{"outcome":"succeeded","webhook":"deliver"}`), status: 200, valid: true, check: wantPayment("succeeded")})

	// Nothing is left available or held: the inlet says so, and the fans
	// still waiting hear it.
	c.tickUntil(st, "the inlet sees the sell-out", status, func(s queueStatus) bool { return s.SoldOut })
	for _, cs := range []call{
		{name: "place of a fan the sale sold out before", method: "GET", path: me, token: waiting, status: 200, valid: true, check: wantPlace("SOLD_OUT", 2, 1)},
		{name: "admission after the sell-out", method: "POST", path: admission, token: waiting, status: 409, code: "SOLD_OUT", valid: true,
			check: wantDetails(`{"state":"SOLD_OUT"}`)},
		{name: "draw", method: "GET", path: drawDoc, status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				var p draw.Published
				mustJSON(t, b, &p)
				if err := draw.Verify(p); err != nil || p.EventID != event || p.SeedHash != seedHash || len(p.Entrants) != 2 ||
					p.Entrants[0].Entrant != order[0] || p.Entrants[1].Entrant != order[1] {
					t.Errorf("draw %s: %v", b, err)
				}
			},
			checkHeader: wantCacheControl("public, max-age=60")},
		// The part of the draw that lists the fan drawn first (ids are
		// named by one hex digit in a draw this small).
		{name: "draw part", method: "GET", path: drawDoc + "/" + order[0][:1], status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				var p struct {
					EventID, Part string
					Entrants      []draw.Entrant
				}
				mustJSON(t, b, &p)
				found := false
				for _, e := range p.Entrants {
					if !strings.HasPrefix(e.Entrant, p.Part) {
						t.Errorf("part %s lists %s", p.Part, e.Entrant)
					}
					found = found || (e.Entrant == order[0] && e.Position == 1)
				}
				if p.EventID != event || p.Part != order[0][:1] || !found {
					t.Errorf("draw part %s; want %s at position 1", b, order[0])
				}
			},
			checkHeader: wantCacheControl("public, max-age=60")},
		{name: "draw part named by too many digits", method: "GET", path: drawDoc + "/" + order[0][:2], status: 400, code: "INVALID_REQUEST", valid: true,
			check: wantDetails(`{"drawPartDigits":1}`)},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}

	// Admissions are limited per account and event (the window may roll
	// over once); each refused one says when to come back.
	t.Run("admissions over the limit", func(t *testing.T) {
		c.overLimit(t, call{method: "POST", path: admission, token: c.token("fan-queue-eager", "fan")}, http.StatusConflict, admissionLimit)
	})

	// The organizer's report, then pausing and closing the sale.
	report := "/admin/v1/events/" + event + "/report"
	saleState := func(want string) func(*testing.T, []byte) {
		return func(t *testing.T, b []byte) {
			var ev struct{ SaleState string }
			if mustJSON(t, b, &ev); ev.SaleState != want {
				t.Errorf("saleState %s, want %s", ev.SaleState, want)
			}
		}
	}
	for _, cs := range []call{
		{name: "report of the waiting room", method: "GET", path: report, token: org, status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				var r struct {
					Queue struct {
						Mode                                                                     string
						AdmitPerMinute                                                           int
						Joined, ServingPosition, Served, Admitted, Used, Abandoned, DrawEntrants int64
						Drawn, SoldOut                                                           bool
						RateMultiplier                                                           float64
					}
				}
				mustJSON(t, b, &r)
				q := r.Queue
				if q.Mode != "on" || q.AdmitPerMinute != 600 || q.Joined != 3 || q.ServingPosition != 1 || q.Served != 1 || q.Admitted != 1 ||
					q.Used != 1 || q.Abandoned != 0 || q.DrawEntrants != 2 || !q.Drawn || !q.SoldOut || q.RateMultiplier < 0.1 || q.RateMultiplier > 1 {
					t.Errorf("queue report %+v", q)
				}
			}},
		{name: "sale with an unknown action", method: "POST", path: sale, token: org, body: []byte(`{"action":"resume"}`), status: 400, code: "INVALID_REQUEST"},
		{name: "sale without an action", method: "POST", path: sale, token: org, body: []byte(`{}`), status: 400, code: "INVALID_REQUEST"},
		{name: "sale with a rate of zero", method: "POST", path: sale, token: org, body: []byte(`{"action":"open","admitPerMinute":0}`), status: 400, code: "INVALID_REQUEST"},
		{name: "sale with a mistyped rate", method: "POST", path: sale, token: org, body: []byte(`{"action":"open","admitPerMinute":"fast"}`), status: 400, code: "INVALID_REQUEST"},
		{name: "sale with an unknown field", method: "POST", path: sale, token: org, body: []byte(`{"action":"open","reason":"x"}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "sale malformed", method: "POST", path: sale, token: org, body: []byte(`{"action":`), status: 400, code: "INVALID_JSON"},
		{name: "sale without a body", method: "POST", path: sale, token: org, status: 400, code: "INVALID_JSON"},
		{name: "sale of an unknown event", method: "POST", path: "/admin/v1/events/nope/sale", token: org, body: []byte(`{"action":"pause"}`), status: 404, code: "NOT_FOUND", valid: true},
		{name: "sale of an impossible event id", method: "POST", path: "/admin/v1/events/" + strings.Repeat("x", 65) + "/sale", token: org, body: []byte(`{"action":"pause"}`), status: 404, code: "NOT_FOUND"},
		{name: "sale without identity", method: "POST", path: sale, body: []byte(`{"action":"pause"}`), status: 401, code: "UNAUTHORIZED"},
		{name: "sale as a fan", method: "POST", path: sale, token: served, body: []byte(`{"action":"pause"}`), status: 401, code: "UNAUTHORIZED"},
		{name: "sale as a scanner of another event", method: "POST", path: sale, token: c.scannerElsewhere(), body: []byte(`{"action":"pause"}`), status: 403, code: "FORBIDDEN"},
		{name: "sale oversized", method: "POST", path: sale, token: org, body: oversized, status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "sale as text", method: "POST", path: sale, token: org, body: []byte(`{"action":"pause"}`), contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "pause the sale", method: "POST", path: sale, token: org, body: []byte(`{"action":"pause"}`), status: 200, valid: true, check: saleState("PAUSED")},
		{name: "queue status of a paused sale", method: "GET", path: status, status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				if s := queueStatusOf(t, b); s.SaleState != "PAUSED" || s.ServingPosition != 1 || !s.SoldOut {
					t.Errorf("queue status %s", b)
				}
			}},
		{name: "admission while the sale is paused", method: "POST", path: admission, token: waiting, status: 409, code: "SALE_NOT_OPEN", valid: true,
			check: wantDetails(`{"saleState":"PAUSED"}`), afterCache: true},
		{name: "close the sale", method: "POST", path: sale, token: org, body: []byte(`{"action":"close"}`), status: 200, valid: true, check: saleState("CLOSED")},
		{name: "close the sale again", method: "POST", path: sale, token: org, body: []byte(`{"action":"close"}`), status: 200, valid: true, check: saleState("CLOSED")},
		{name: "open a closed sale", method: "POST", path: sale, token: org, body: []byte(`{"action":"open"}`), status: 409, code: "INVALID_STATE", valid: true},
		{name: "pause a closed sale", method: "POST", path: sale, token: org, body: []byte(`{"action":"pause","admitPerMinute":100}`), status: 409, code: "INVALID_STATE", valid: true},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}
}

// drainJoins waits until the assigner has processed every join sent.
func (c *conformance) drainJoins(st *devstack.Stack) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := st.Queue("joins").WaitIdle(ctx); err != nil {
		c.t.Fatal(err)
	}
}

// tickUntil runs the waiting room's inlet once, as its schedule does, and
// reads queue-status, until done accepts the status (at most 20 s).
func (c *conformance) tickUntil(st *devstack.Stack, name, path string, done func(queueStatus) bool) queueStatus {
	c.t.Helper()
	var s queueStatus
	ok := c.t.Run(name, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for {
			if _, err := st.App.Waitroom.TickAll(ctx); err != nil {
				t.Fatalf("inlet: %v", err)
			}
			_, b := c.exchange(t, call{method: "GET", path: path, status: 200, valid: true})
			if s = queueStatusOf(t, b); done(s) {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("queue status 20 s later: %s", b)
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	if !ok {
		c.t.FailNow()
	}
	return s
}

// attempt sends a call whose status the test does not fix in advance,
// validates the response against the spec and returns its status and body.
func (c *conformance) attempt(t *testing.T, cs call) (int, []byte) {
	t.Helper()
	resp, b := c.send(t, cs)
	return resp.StatusCode, b
}

type queueStatus struct {
	SaleState       string
	ServingPosition int64
	AdmitPerMinute  int
	SoldOut         bool
	ShuffleSeedHash string
	ShuffleSeed     string
	PositionsGiven  int64
	DrawEntrants    int64
	DrawPartDigits  int
}

func queueStatusOf(t *testing.T, b []byte) queueStatus {
	t.Helper()
	var s queueStatus
	mustJSON(t, b, &s)
	return s
}

type queuePlace struct {
	State                                              string
	Position, ServingPosition, EtaSeconds, PollSeconds int64
	AdmissionExpiresAt                                 string
}

func placeOf(t *testing.T, b []byte) queuePlace {
	t.Helper()
	var p queuePlace
	mustJSON(t, b, &p)
	return p
}

// wantPlace checks a fan's place (position 0: none). A WAITING place has an
// ETA; every other state has none, and an admission expiry only while
// ADMITTED (checked by the caller).
func wantPlace(state string, position, serving int64) func(*testing.T, []byte) {
	return func(t *testing.T, b []byte) {
		p := placeOf(t, b)
		if p.State != state || p.Position != position || p.ServingPosition != serving || (p.EtaSeconds > 0) != (state == "WAITING") ||
			p.PollSeconds < 2 || (p.AdmissionExpiresAt != "" && state != "ADMITTED") {
			t.Errorf("place %s; want %s at position %d, serving %d", b, state, position, serving)
		}
	}
}

type queueDetails struct {
	State                                 string
	Position, ServingPosition, EtaSeconds int64
}

func queueDetailsOf(t *testing.T, b []byte) queueDetails {
	t.Helper()
	var e struct {
		Error struct{ Details queueDetails }
	}
	mustJSON(t, b, &e)
	return e.Error.Details
}

func wantJoinAccepted(t *testing.T, b []byte) {
	var r struct{ MD5OfMessageBody, MessageId string }
	if mustJSON(t, b, &r); len(r.MD5OfMessageBody) != 32 || r.MessageId == "" {
		t.Errorf("join answer %s", b)
	}
}

func wantCacheControl(want string) func(*testing.T, http.Header) {
	return func(t *testing.T, h http.Header) {
		if got := h.Get("Cache-Control"); got != want {
			t.Errorf("Cache-Control %q, want %q", got, want)
		}
	}
}

func errorCode(t *testing.T, b []byte) string {
	t.Helper()
	var e struct{ Error struct{ Code string } }
	mustJSON(t, b, &e)
	return e.Error.Code
}
