package handlers_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/tenancy"
	"github.com/stararena/stararena/internal/topology"
)

// staffBodies is a valid body for every staff route that takes one; a new
// staff route without one here fails TestTenancyOnEveryStaffRoute.
func staffBodies(event string) map[string]string {
	bodies := map[string]string{
		"POST /admin/v1/events":                         eventBody,
		"POST /admin/v1/events/{eventId}/sale":          `{"action":"open"}`,
		"POST /admin/v1/events/{eventId}/presale-codes": `{"count":1,"uses":1,"opensAt":"2027-01-01T00:00:00Z"}`,
		"POST /admin/v1/events/{eventId}/pricing":       `{"feeCents":100}`,
		"POST /admin/v1/events/{eventId}/waitlist":      `{"offerMinutes":10}`,
		"POST /admin/v1/events/{eventId}/cancel":        `{"reason":"The artist is ill."}`,
		"POST /admin/v1/events/{eventId}/postpone":      `{"startsAt":"2030-01-01T00:00:00Z","refundUntil":"2029-01-01T00:00:00Z"}`,
		"POST /admin/v1/orders/{orderId}/refund":        `{"reason":"fan asked"}`,
		"POST /admin/v1/orders/{orderId}/reissue":       `{"reason":"lost phone"}`,
		"POST /admin/v1/staff":                          `{"subject":"temp-1","role":"box-office"}`,
		"POST /admin/v1/reconcile":                      fmt.Sprintf(`{"eventId":%q}`, event),
		"POST /v1/checkin":                              fmt.Sprintf(`{"eventId":%q,"code":"T2.k.AAAA.BBBB","nonce":"n-%%s","gate":"g"}`, event),
	}
	// Seat management and comps (ADR 30); a comp by quantity takes a new
	// seat for every caller let through.
	for route, body := range map[string]string{
		"POST /admin/v1/events/{eventId}/seats/kill":          `{"seats":["A-2-15"]}`,
		"POST /admin/v1/events/{eventId}/seats/hold-back":     `{"seats":["A-2-14"]}`,
		"POST /admin/v1/events/{eventId}/seats/release":       `{"seats":["A-2-14"]}`,
		"POST /admin/v1/events/{eventId}/seats/accessibility": `{"seats":["A-2-13"],"mark":"wheelchair"}`,
		"POST /admin/v1/events/{eventId}/comps":               `{"section":"A","quantity":1,"to":"guest-%s@example.com"}`,
	} {
		bodies[route] = body
	}
	return bodies
}

// TestTenancyOnEveryStaffRoute walks every staff route of the topology.
// GIVEN organization org-a's event with an issued order, its owner, a
// manager, a box office, a scanner assigned to the event and one assigned
// to another event, a fan, and org-b's owner WHEN each calls each route on
// org-a's event or order THEN org-b's owner gets 404 NOT_FOUND wherever the
// route names org-a's event or order (and sees nothing of org-a elsewhere),
// each role is refused (403) or let through as the route's declared role
// says, the fan by the staff routes' authorizer (401, as its token is the
// fans' client's), and a ticket of one event answers WRONG_EVENT at another's gate.
func TestTenancyOnEveryStaffRoute(t *testing.T) {
	st := stackWith(t, devstack.Options{TimeScale: 0.01})
	c := client{t, st.URL()}
	owner := c.token("org-a", "organizer")
	event, order, code := issuedOrder(t, c, owner)
	r := c.do("POST", "/admin/v1/events", owner, []byte(eventBody), nil)
	if r.status != 201 {
		t.Fatalf("second event: %d %s", r.status, r.body)
	}
	other := r.json(t)["eventId"].(string)

	grant := func(sub, role string, events ...string) string {
		t.Helper()
		b, _ := json.Marshal(map[string]any{"subject": sub, "role": role, "events": events})
		if r := c.do("POST", "/admin/v1/staff", owner, b, nil); r.status != 200 {
			t.Fatalf("grant %s %s: %d %s", sub, role, r.status, r.body)
		}
		return staffToken(t, c, sub, "org-a")
	}
	type caller struct {
		name  string
		token string
		role  tenancy.Role // "": none in org-a
		// assigned: a scanner assigned to the route's event.
		assigned bool
	}
	callers := []caller{
		{"owner", owner, tenancy.Owner, true},
		{"manager", grant("mgr", "manager"), tenancy.Manager, true},
		{"box office", grant("box", "box-office"), tenancy.BoxOffice, true},
		{"scanner", grant("scan", "scanner", event), tenancy.Scanner, true},
		{"scanner of another event", grant("scan-2", "scanner", other), tenancy.Scanner, false},
		{"fan", c.token("fan-9", "fan"), "", false},
	}

	// The gate page's choice: a scanner's own events, every event for owners.
	for _, cl := range []struct {
		who, token string
		want       []string
	}{{"scanner", callers[3].token, []string{event}}, {"scanner of another event", callers[4].token, []string{other}}, {"owner", owner, []string{event, other}}} {
		r := c.do("GET", "/admin/v1/checkin/events", cl.token, nil, nil)
		var got struct{ Events []struct{ EventID string } }
		if err := json.Unmarshal(r.body, &got); r.status != 200 || err != nil {
			t.Fatalf("%s's check-in events: %d %s", cl.who, r.status, r.body)
		}
		ids := []string{}
		for _, e := range got.Events {
			ids = append(ids, e.EventID)
		}
		if slices.Sort(ids); !slices.Equal(ids, slices.Sorted(slices.Values(cl.want))) {
			t.Errorf("%s's check-in events: %v, want %v", cl.who, ids, cl.want)
		}
	}

	// A ticket of event is WRONG_EVENT at other's gate, and stays valid.
	scan := func(token, ev, nonce string) map[string]any {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"eventId": ev, "code": code, "nonce": nonce, "gate": "g"})
		r := c.do("POST", "/v1/checkin", token, b, nil)
		if r.status != 200 {
			t.Fatalf("check-in at %s: %d %s", ev, r.status, r.body)
		}
		return r.json(t)
	}
	if got := scan(callers[4].token, other, "w-1"); got["result"] != "WRONG_EVENT" || got["eventId"] != event {
		t.Fatalf("ticket of %s at %s's gate: %v", event, other, got)
	}
	if got := scan(callers[3].token, event, "w-2"); got["result"] != "ADMITTED" {
		t.Fatalf("ticket at its own gate after a wrong-event scan: %v", got)
	}

	bodies := staffBodies(event)
	outsider := c.token("org-b", "organizer")
	n := 0
	for _, route := range topology.Default().Routes {
		if route.Auth != topology.AuthOrganizer {
			continue
		}
		path := strings.NewReplacer("{eventId}", event, "{orderId}", order, "{subject}", "temp-1").Replace(route.Path)
		body := func() []byte {
			if route.Method != "POST" {
				return nil
			}
			b, ok := bodies[route.Key()]
			if !ok {
				t.Fatalf("%s: no sample body in staffBodies", route.Key())
			}
			n++
			return []byte(strings.ReplaceAll(b, "%s", fmt.Sprint(n)))
		}
		t.Run(route.Key(), func(t *testing.T) {
			r := c.do(route.Method, path, outsider, body(), nil)
			if route.Scope == topology.ScopeOrg {
				if strings.Contains(string(r.body), event) || strings.Contains(string(r.body), order) || strings.Contains(string(r.body), "org-a") {
					t.Errorf("org-b's owner sees org-a: %d %s", r.status, r.body)
				}
			} else if r.status != 404 || r.json(t)["error"].(map[string]any)["code"] != "NOT_FOUND" {
				t.Errorf("org-b's owner on org-a's %s: %d %s, want 404 NOT_FOUND", path, r.status, r.body)
			}
			for _, cl := range callers {
				// A scanner's events matter where the route names one.
				allowed := cl.role != "" && tenancy.Allows(cl.role, route.Staff) &&
					(cl.role != tenancy.Scanner || cl.assigned || route.Scope == topology.ScopeOrg)
				r := c.do(route.Method, path, cl.token, body(), nil)
				want, code := 403, "FORBIDDEN"
				if cl.name == "fan" {
					want, code = 401, "UNAUTHORIZED"
				}
				refused := r.status == want && r.json(t)["error"].(map[string]any)["code"] == code
				switch {
				case allowed && slices.Contains([]int{401, 403, 404}, r.status):
					t.Errorf("%s (declared %s) refused: %d %s", cl.name, route.Staff, r.status, r.body)
				case !allowed && !refused:
					t.Errorf("%s (declared %s) let through: %d %s", cl.name, route.Staff, r.status, r.body)
				}
			}
		})
	}
}

func staffToken(t *testing.T, c client, sub, org string) string {
	t.Helper()
	r := c.do("POST", "/dev/token", "", []byte(fmt.Sprintf(`{"sub":%q,"role":"staff","org":%q}`, sub, org)), nil)
	if r.status != 200 {
		t.Fatalf("staff token: %d %s", r.status, r.body)
	}
	return r.json(t)["token"].(string)
}

// issuedOrder creates an open event as org, and a fan's issued order of one
// seat in it; it returns the event, the order and the ticket's code.
func issuedOrder(t *testing.T, c client, org string) (event, order, code string) {
	t.Helper()
	fan := c.token("fan-1", "fan")
	body := fmt.Sprintf(`{"name":"Tenancy night","venue":"Hall","startsAt":%q,"saleOpensAt":%q,"holdSeconds":600,"queue":{"mode":"off"},
		"sections":[{"id":"A","name":"Stalls","priceCents":4500,"currency":"EUR","rows":[{"id":"1","seats":4}]}]}`,
		time.Now().Add(24*time.Hour).UTC().Format(time.RFC3339), time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	r := c.do("POST", "/admin/v1/events", org, []byte(body), nil)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	event = r.json(t)["eventId"].(string)
	order = holdSeat(t, c, fan, event, "A-1-1")
	if r = c.do("POST", "/v1/orders/"+order+"/payments", fan, []byte(`{"provider":"sandbox"}`), nil); r.status != 201 {
		t.Fatalf("payment: %d %s", r.status, r.body)
	}
	pay := r.json(t)["paymentId"].(string)
	if r = c.do("POST", "/sandbox/payments/"+pay+"/complete", "", []byte(`{"outcome":"succeeded"}`), nil); r.status != 200 {
		t.Fatalf("complete: %d %s", r.status, r.body)
	}
	deadline := time.Now().Add(60 * time.Second)
	for c.do("GET", "/v1/orders/"+order, fan, nil, nil).json(t)["status"] != "ISSUED" {
		if time.Now().After(deadline) {
			t.Fatal("order not ISSUED 60 s after payment")
		}
		time.Sleep(50 * time.Millisecond)
	}
	r = c.do("GET", "/v1/orders/"+order+"/tickets", fan, nil, nil)
	var ts []struct{ Code string }
	if err := json.Unmarshal(r.body, &ts); err != nil || len(ts) != 1 || ts[0].Code == "" {
		t.Fatalf("tickets: %s %v", r.body, err)
	}
	return event, order, ts[0].Code
}

// holdSeat admits token's fan to event and holds seat: the order id.
func holdSeat(t *testing.T, c client, token, event, seat string) string {
	t.Helper()
	r := c.do("POST", "/v1/events/"+event+"/admission", token, nil, nil)
	if r.status != 200 {
		t.Fatalf("admission: %d %s", r.status, r.body)
	}
	b, _ := json.Marshal(map[string]any{"admissionToken": r.json(t)["admissionToken"], "seats": []string{seat}})
	if r = c.do("POST", "/v1/events/"+event+"/holds", token, b, nil); r.status != 201 {
		t.Fatalf("hold %s: %d %s", seat, r.status, r.body)
	}
	return r.json(t)["orderId"].(string)
}
