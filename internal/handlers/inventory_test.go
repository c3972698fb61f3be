package handlers_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func openEventBody(queue string) []byte {
	now := time.Now().UTC()
	b := strings.NewReplacer(
		`"saleOpensAt":"2027-05-01T10:00:00Z"`, `"saleOpensAt":"`+now.Add(-time.Minute).Format(time.RFC3339)+`"`,
		`"startsAt":"2027-06-01T20:00:00Z"`, `"startsAt":"`+now.Add(48*time.Hour).Format(time.RFC3339)+`"`,
		`"queue":{"mode":"off","admitPerMinute":600}`, `"queue":{"mode":"`+queue+`","admitPerMinute":600}`,
	).Replace(eventBody)
	return []byte(b)
}

func TestHoldJourneyOverHTTP(t *testing.T) {
	st := stack(t, nil)
	c := client{t, st.URL()}
	org := c.token("organizer-1", "organizer")
	fan := c.token("fan-1", "fan")
	other := c.token("fan-2", "fan")

	r := c.do("POST", "/admin/v1/events", org, openEventBody("off"), nil)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	id := r.json(t)["eventId"].(string)
	queued := c.do("POST", "/admin/v1/events", org, openEventBody("on"), nil).json(t)["eventId"].(string)
	scheduled := c.do("POST", "/admin/v1/events", org, []byte(eventBody), nil).json(t)["eventId"].(string)

	admit := func(tok, event string) string {
		t.Helper()
		r := c.do("POST", "/v1/events/"+event+"/admission", tok, []byte(`{}`), nil)
		if r.status != 200 {
			t.Fatalf("admission: %d %s", r.status, r.body)
		}
		return r.json(t)["admissionToken"].(string)
	}
	hold := func(tok, body string, hdr map[string]string) reply {
		return c.do("POST", "/v1/events/"+id+"/holds", tok, []byte(body), hdr)
	}

	adm := admit(fan, id)
	r = hold(fan, `{"admissionToken":"`+adm+`","seats":["A-1-1","A-1-2"]}`, map[string]string{"Idempotency-Key": "k1"})
	if r.status != 201 {
		t.Fatalf("hold: %d %s", r.status, r.body)
	}
	order := r.json(t)
	orderID := order["orderId"].(string)
	if order["status"] != "PENDING_PAYMENT" || order["amountCents"].(float64) != 9000 || order["currency"] != "EUR" {
		t.Fatalf("hold answer %s", r.body)
	}

	t.Run("OrderRecordsTheBuyersEmail", func(t *testing.T) {
		// The dev token's default address; the order confirmation goes there.
		o, err := st.App.Stores.Orders.GetOrder(context.Background(), orderID)
		if err != nil || o.Email != "fan-1@example.test" {
			t.Fatalf("order email %q (%v), want the token's fan-1@example.test", o.Email, err)
		}
	})
	t.Run("RetryWithSameKeyReturnsSameOrder", func(t *testing.T) {
		again := hold(fan, `{"admissionToken":"`+adm+`","seats":["A-1-1","A-1-2"]}`, map[string]string{"Idempotency-Key": "k1"})
		if again.status != 201 || again.json(t)["orderId"] != orderID {
			t.Fatalf("%d %s", again.status, again.body)
		}
	})
	t.Run("SeatTakenNamesTheSeat", func(t *testing.T) {
		r := hold(other, `{"admissionToken":"`+admit(other, id)+`","seats":["A-1-2","A-1-3"]}`, nil)
		if r.status != 409 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		e := r.json(t)["error"].(map[string]any)
		seats, _ := json.Marshal(e["details"].(map[string]any)["seats"])
		if e["code"] != "SEATS_UNAVAILABLE" || string(seats) != `["A-1-2"]` {
			t.Fatalf("%s", r.body)
		}
	})
	t.Run("OwnerReadsOrder", func(t *testing.T) {
		r := c.do("GET", "/v1/orders/"+orderID, fan, nil, nil)
		if r.status != 200 || r.json(t)["orderId"] != orderID {
			t.Fatalf("%d %s", r.status, r.body)
		}
		list := c.do("GET", "/v1/me/orders", fan, nil, nil)
		if list.status != 200 || len(list.json(t)["orders"].([]any)) != 1 {
			t.Fatalf("%d %s", list.status, list.body)
		}
	})
	t.Run("OtherFanCannotSeeOrCancel", func(t *testing.T) {
		if r := c.do("GET", "/v1/orders/"+orderID, other, nil, nil); r.status != 404 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if r := c.do("DELETE", "/v1/orders/"+orderID, other, nil, nil); r.status != 404 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("CancelTwiceIsANoOp", func(t *testing.T) {
		for range 2 {
			r := c.do("DELETE", "/v1/orders/"+orderID, fan, nil, nil)
			if r.status != 200 || r.json(t)["status"] != "CANCELLED" {
				t.Fatalf("%d %s", r.status, r.body)
			}
		}
	})
	t.Run("AdmissionNeedsTheQueueWhenOn", func(t *testing.T) {
		r := c.do("POST", "/v1/events/"+queued+"/admission", fan, nil, nil)
		if r.status != 409 || r.json(t)["error"].(map[string]any)["code"] != "QUEUE_REQUIRED" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("AdmissionWaitsForTheSale", func(t *testing.T) {
		r := c.do("POST", "/v1/events/"+scheduled+"/admission", fan, nil, nil)
		if r.status != 409 || r.json(t)["error"].(map[string]any)["code"] != "SALE_NOT_OPEN" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})

	fresh := admit(fan, id)
	cases := []struct {
		name, token, body string
		hdr               map[string]string
		status            int
		code              string
	}{
		{"NoIdentity", "", `{"admissionToken":"x","seats":["A-1-5"]}`, nil, 401, "UNAUTHORIZED"},
		{"Malformed", fan, `{"admissionToken":`, nil, 400, "INVALID_JSON"},
		{"UnknownField", fan, `{"admissionToken":"x","seats":["A-1-5"],"vip":true}`, nil, 400, "UNKNOWN_FIELD"},
		{"NoToken", fan, `{"seats":["A-1-5"]}`, nil, 400, "INVALID_REQUEST"},
		{"SeatsAndSection", fan, `{"admissionToken":"x","seats":["A-1-5"],"section":"GA","quantity":1}`, nil, 400, "INVALID_REQUEST"},
		{"BadSeatID", fan, `{"admissionToken":"x","seats":["A 1 5"]}`, nil, 400, "INVALID_REQUEST"},
		{"DuplicateSeat", fan, `{"admissionToken":"x","seats":["A-1-5","A-1-5"]}`, nil, 400, "INVALID_REQUEST"},
		{"ZeroQuantity", fan, `{"admissionToken":"x","section":"GA","quantity":0}`, nil, 400, "INVALID_REQUEST"},
		{"SeatDoesNotExist", fan, `{"admissionToken":"` + fresh + `","seats":["A-9-1"]}`, nil, 422, "UNPROCESSABLE"},
		{"SectionDoesNotExist", fan, `{"admissionToken":"` + fresh + `","section":"Z","quantity":1}`, nil, 422, "UNPROCESSABLE"},
		{"OverTheLimit", fan, `{"admissionToken":"` + fresh + `","section":"GA","quantity":3}`, nil, 403, "LIMIT_EXCEEDED"},
		{"ForgedToken", fan, `{"admissionToken":"eyJhbGciOiJFZDI1NTE5In0.e30.AAAA","seats":["A-1-5"]}`, nil, 403, "ADMISSION_INVALID"},
		{"OtherFansToken", other, `{"admissionToken":"` + fresh + `","seats":["A-1-5"]}`, nil, 403, "ADMISSION_INVALID"},
		{"BadIdempotencyKey", fan, `{"admissionToken":"x","seats":["A-1-5"]}`, map[string]string{"Idempotency-Key": strings.Repeat("k", 200)}, 400, "INVALID_REQUEST"},
		{"KeyReusedWithOtherBody", fan, `{"admissionToken":"` + adm + `","seats":["A-2-1"]}`, map[string]string{"Idempotency-Key": "k1"}, 422, "IDEMPOTENCY_KEY_REUSED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := hold(tc.token, tc.body, tc.hdr)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if code := r.json(t)["error"].(map[string]any)["code"]; code != tc.code {
				t.Fatalf("code %v, want %s", code, tc.code)
			}
		})
	}
	t.Run("OrderRoutesRefuseBadInput", func(t *testing.T) {
		if r := c.do("GET", "/v1/orders/nope", fan, nil, nil); r.status != 404 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if r := c.do("GET", "/v1/me/orders", "", nil, nil); r.status != 401 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if r := c.do("POST", "/v1/events/"+id+"/admission", fan, []byte(`{"x":1}`), nil); r.status != 400 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
}
