package openapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/payments"
)

// sandboxSecret signs the local stack's sandbox webhooks; the test signs
// its own deliveries with it.
const sandboxSecret = "whsec_openapi_conformance"

// money is TestConformance's part for payments, provider callbacks,
// tickets, check-in, the organizer report and reconciliation: one full
// journey (hold, pay at the sandbox, webhook, workflow to ISSUED, tickets,
// check-in, report, reconcile) with the failures of each step.
func (c *conformance) money(org string) {
	t := c.t
	past := time.Now().Add(-time.Minute).UTC().Truncate(time.Second).Format(time.RFC3339)
	event := c.createEvent("event for the money path", org, createBody(func(m map[string]any) {
		m["saleOpensAt"] = past
		m["holdSeconds"] = 3600 // 36 s at the stack's time scale
		m["queue"] = map[string]any{"mode": "off"}
	}))
	fan, other := c.token("fan-money", "fan"), c.token("fan-other", "fan")
	adm := c.admit(event, fan)
	var orderID, spare string
	holds := "/v1/events/" + event + "/holds"
	c.step("hold two seats", call{method: "POST", path: holds, token: fan, body: seatsBody(adm, "A-1-1", "A-1-2"), status: 201, valid: true,
		check: func(t *testing.T, b []byte) { orderID = orderOf(t, b).OrderID }})
	c.step("hold a spare place", call{method: "POST", path: holds, token: fan, body: sectionBody(c.admit(event, fan), "GA", 1), status: 201, valid: true,
		check: func(t *testing.T, b []byte) { spare = orderOf(t, b).OrderID }})
	c.step("cancel the spare place", call{method: "DELETE", path: "/v1/orders/" + spare, token: fan, status: 200, valid: true, check: wantStatus("CANCELLED")})
	if orderID == "" || spare == "" {
		t.Fatal("no orders to pay")
	}

	// Holds and payment requests are limited per account: junk ones too.
	t.Run("holds over the limit", func(t *testing.T) {
		c.overLimit(t, call{method: "POST", path: holds, token: c.token("fan-hold-limited", "fan"), body: seatsBody("junk", "A-1-1")},
			http.StatusForbidden, limits.HoldsPerMinute)
	})
	t.Run("payments over the limit", func(t *testing.T) {
		c.overLimit(t, call{method: "POST", path: "/v1/orders/nope/payments", token: c.token("fan-pay-limited", "fan"),
			body: []byte(`{"provider":"sandbox"}`)}, http.StatusNotFound, limits.PaymentsPerMinute)
	})

	pay := "/v1/orders/" + orderID + "/payments"
	sandbox := []byte(`{"provider":"sandbox"}`)
	oversized := []byte(`{"x":"` + strings.Repeat("a", 16<<10) + `"}`)
	var paymentID, checkoutURL string
	for _, cs := range []call{
		{name: "pay without identity", method: "POST", path: pay, body: sandbox, status: 401, code: "UNAUTHORIZED"},
		{name: "pay malformed", method: "POST", path: pay, token: fan, body: []byte(`{"provider":`), status: 400, code: "INVALID_JSON"},
		{name: "pay without a body", method: "POST", path: pay, token: fan, status: 400, code: "INVALID_JSON"},
		{name: "pay with an unknown field", method: "POST", path: pay, token: fan, body: []byte(`{"provider":"sandbox","card":"4242"}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "pay with an unknown provider", method: "POST", path: pay, token: fan, body: []byte(`{"provider":"paypal"}`), status: 400, code: "INVALID_REQUEST"},
		{name: "pay with a provider not configured here", method: "POST", path: pay, token: fan, body: []byte(`{"provider":"stripe"}`), status: 400, code: "INVALID_REQUEST", valid: true},
		{name: "pay another fan's order", method: "POST", path: pay, token: other, body: sandbox, status: 404, code: "NOT_FOUND", valid: true},
		{name: "pay an unknown order", method: "POST", path: "/v1/orders/nope/payments", token: fan, body: sandbox, status: 404, code: "NOT_FOUND", valid: true},
		{name: "pay a cancelled order", method: "POST", path: "/v1/orders/" + spare + "/payments", token: fan, body: sandbox, status: 409, code: "INVALID_STATE", valid: true},
		{name: "pay oversized", method: "POST", path: pay, token: fan, body: oversized, status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "pay as text", method: "POST", path: pay, token: fan, body: sandbox, contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "pay at the sandbox", method: "POST", path: pay, token: fan, body: sandbox, status: 201, valid: true,
			check: func(t *testing.T, b []byte) {
				var p struct{ PaymentID, Provider, CheckoutURL string }
				mustJSON(t, b, &p)
				paymentID, checkoutURL = p.PaymentID, p.CheckoutURL
				if p.Provider != "sandbox" || !strings.HasSuffix(p.CheckoutURL, "/sandbox/checkout/"+p.PaymentID) {
					t.Errorf("payment %s", b)
				}
			}},
		{name: "pay again", method: "POST", path: pay, token: fan, body: sandbox, status: 201, valid: true,
			check: func(t *testing.T, b []byte) {
				var p struct{ PaymentID string }
				if mustJSON(t, b, &p); p.PaymentID != paymentID {
					t.Errorf("a retry made payment %s, want %s", p.PaymentID, paymentID)
				}
			}},
		{name: "tickets before payment", method: "GET", path: "/v1/orders/" + orderID + "/tickets", token: fan, status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				if string(b) != "[]" {
					t.Errorf("tickets %s", b)
				}
			}},
		{name: "another fan's tickets", method: "GET", path: "/v1/orders/" + orderID + "/tickets", token: other, status: 404, code: "NOT_FOUND", valid: true},
		{name: "tickets of an unknown order", method: "GET", path: "/v1/orders/nope/tickets", token: fan, status: 404, code: "NOT_FOUND", valid: true},
		{name: "tickets without identity", method: "GET", path: "/v1/orders/" + orderID + "/tickets", status: 401, code: "UNAUTHORIZED"},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}
	if paymentID == "" || !strings.HasPrefix(checkoutURL, c.base) {
		t.Fatalf("no sandbox payment (checkout %q)", checkoutURL)
	}

	// The sandbox: the pay page, what the provider knows, paying.
	complete := "/sandbox/payments/" + paymentID + "/complete"
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for _, cs := range []call{
		{name: "pay page", method: "GET", path: strings.TrimPrefix(checkoutURL, c.base), headers: map[string]string{"Accept": "text/html"}, status: 200, valid: true,
			checkHeader: func(t *testing.T, h http.Header) {
				if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
					t.Errorf("Content-Type %q", h.Get("Content-Type"))
				}
			}},
		{name: "pay page of an unknown payment", method: "GET", path: "/sandbox/checkout/pi_nope", status: 404, code: "NOT_FOUND", valid: true},
		{name: "sandbox payment", method: "GET", path: "/sandbox/payments/" + paymentID, status: 200, valid: true, check: wantPayment("requires_payment")},
		{name: "sandbox unknown payment", method: "GET", path: "/sandbox/payments/pi_nope", status: 404, code: "NOT_FOUND", valid: true},
		{name: "complete with an unknown outcome", method: "POST", path: complete, body: []byte(`{"outcome":"maybe"}`), status: 400, code: "INVALID_REQUEST"},
		{name: "complete without outcome", method: "POST", path: complete, body: []byte(`{}`), status: 400, code: "INVALID_REQUEST"},
		{name: "complete with a delay but no delay webhook", method: "POST", path: complete, body: []byte(`{"outcome":"succeeded","delaySeconds":3}`), status: 400, code: "INVALID_REQUEST"},
		{name: "complete with an unknown field", method: "POST", path: complete, body: []byte(`{"outcome":"succeeded","card":"4242"}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "complete malformed", method: "POST", path: complete, body: []byte(`{"outcome"`), status: 400, code: "INVALID_JSON"},
		{name: "complete oversized", method: "POST", path: complete, body: []byte(`{"outcome":"` + strings.Repeat("a", 5<<10) + `"}`), status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "complete as text", method: "POST", path: complete, body: []byte(`{"outcome":"succeeded"}`), contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "complete an unknown payment", method: "POST", path: "/sandbox/payments/pi_nope/complete", body: []byte(`{"outcome":"succeeded"}`), status: 404, code: "NOT_FOUND", valid: true},
		{name: "pay page form with an unknown field", method: "POST", path: complete, body: []byte("outcome=succeeded&card=4242"), contentType: form["Content-Type"], status: 303,
			checkHeader: func(t *testing.T, h http.Header) {
				if want := "/sandbox/checkout/" + paymentID + "?error=UNKNOWN_FIELD"; h.Get("Location") != want {
					t.Errorf("Location %q, want %q", h.Get("Location"), want)
				}
			}},
		{name: "duplicate capture before any payment", method: "POST", path: "/sandbox/orders/" + spare + "/duplicate-capture", status: 404, code: "NOT_FOUND", valid: true},
		{name: "pay", method: "POST", path: complete, body: []byte(`{"outcome":"succeeded","webhook":"deliver"}`), status: 200, valid: true, check: wantPayment("succeeded")},
		{name: "pay twice", method: "POST", path: complete, body: []byte(`{"outcome":"succeeded"}`), status: 409, code: "CONFLICT", valid: true},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}

	// The webhook moves the order to PAID and the workflow issues the
	// tickets.
	c.waitIssued("order issued", fan, orderID)
	var tickets []struct{ TicketID, Seat, Status, Code, QR string }
	c.step("tickets", call{method: "GET", path: "/v1/orders/" + orderID + "/tickets", token: fan, status: 200, valid: true,
		check: func(t *testing.T, b []byte) {
			mustJSON(t, b, &tickets)
			if len(tickets) != 2 || tickets[0].Seat != "A-1-1" || tickets[1].Seat != "A-1-2" {
				t.Fatalf("tickets %s", truncate(b))
			}
			for _, tk := range tickets {
				if tk.Status != "VALID" || tk.Code == "" || !strings.HasPrefix(tk.QR, "data:image/png;base64,") {
					t.Errorf("ticket %+v", tk)
				}
			}
		}})
	if len(tickets) != 2 {
		t.Fatal("no tickets to check in")
	}

	// Check-in at the gate.
	scan := func(code, nonce string) []byte {
		b, _ := json.Marshal(map[string]string{"eventId": event, "code": code, "nonce": nonce, "gate": "north 3"})
		return b
	}
	code := tickets[0].Code
	result := func(want string) func(*testing.T, []byte) {
		return func(t *testing.T, b []byte) {
			var r struct{ Result, TicketID, Seat string }
			mustJSON(t, b, &r)
			ok := r.Result == want && r.TicketID == tickets[0].TicketID && r.Seat == "A-1-1"
			if want == "INVALID" {
				ok = string(b) == `{"result":"INVALID"}`
			}
			if !ok {
				t.Errorf("check-in %s, want %s", b, want)
			}
		}
	}
	for _, cs := range []call{
		{name: "check in", method: "POST", path: "/v1/checkin", token: org, body: scan(code, "scan-1"), status: 200, valid: true, check: result("ADMITTED")},
		{name: "check in again", method: "POST", path: "/v1/checkin", token: org, body: scan(code, "scan-2"), status: 200, valid: true, check: result("ALREADY_USED")},
		{name: "check in retried", method: "POST", path: "/v1/checkin", token: org, body: scan(code, "scan-1"), status: 200, valid: true, check: result("ADMITTED")},
		{name: "check in a forged code", method: "POST", path: "/v1/checkin", token: org, body: scan("T2.k.AAAA.BBBB", "scan-3"), status: 200, valid: true, check: result("INVALID")},
		{name: "check in as a fan", method: "POST", path: "/v1/checkin", token: fan, body: scan(code, "scan-4"), status: 401, code: "UNAUTHORIZED"},
		{name: "check in as a scanner of another event", method: "POST", path: "/v1/checkin", token: c.scannerElsewhere(), body: scan(code, "scan-4"), status: 403, code: "FORBIDDEN"},
		{name: "check in without identity", method: "POST", path: "/v1/checkin", body: scan(code, "scan-4"), status: 401, code: "UNAUTHORIZED"},
		{name: "check in without nonce", method: "POST", path: "/v1/checkin", token: org, body: []byte(`{"code":"x"}`), status: 400, code: "INVALID_REQUEST"},
		{name: "check in with a spaced nonce", method: "POST", path: "/v1/checkin", token: org, body: scan(code, "scan 4"), status: 400, code: "INVALID_REQUEST"},
		{name: "check in with an unknown field", method: "POST", path: "/v1/checkin", token: org, body: []byte(`{"code":"x","nonce":"n","door":1}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "check in malformed", method: "POST", path: "/v1/checkin", token: org, body: []byte(`{"code":`), status: 400, code: "INVALID_JSON"},
		{name: "check in oversized", method: "POST", path: "/v1/checkin", token: org, body: oversized, status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "check in as text", method: "POST", path: "/v1/checkin", token: org, body: scan(code, "scan-4"), contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "tickets after check-in", method: "GET", path: "/v1/orders/" + orderID + "/tickets", token: fan, status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				var ts []struct{ Status string }
				if mustJSON(t, b, &ts); len(ts) != 2 || ts[0].Status != "USED" || ts[1].Status != "VALID" {
					t.Errorf("tickets %s", truncate(b))
				}
			}},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}
	c.rotating(event, orderID, fan, org)

	// Provider callbacks sent by the test itself.
	event1 := webhookEvent("evt_openapi_1", paymentID, orderID)
	signed := func(body []byte) map[string]string {
		return map[string]string{payments.SignatureHeader: payments.Sign(sandboxSecret, body, time.Now())}
	}
	webhook := "/webhooks/sandbox"
	// The payment was applied by the sandbox's own delivery: this event
	// changes nothing, is not recorded, and its replay answers the same.
	webhookResult := func(t *testing.T, b []byte) {
		if want := `{"eventId":"evt_openapi_1","duplicate":false,"outcome":"ALREADY_PAID"}`; string(b) != want {
			t.Errorf("webhook answer %s, want %s", b, want)
		}
	}
	for _, cs := range []call{
		{name: "webhook", method: "POST", path: webhook, body: event1, headers: signed(event1), status: 200, valid: true, check: webhookResult},
		{name: "webhook replayed", method: "POST", path: webhook, body: event1, headers: signed(event1), status: 200, valid: true, check: webhookResult},
		{name: "webhook with a bad signature", method: "POST", path: webhook, body: event1, headers: signed([]byte("other")), status: 400, code: "WEBHOOK_SIGNATURE_INVALID", valid: true},
		{name: "webhook with a stale signature", method: "POST", path: webhook, body: event1,
			headers: map[string]string{payments.SignatureHeader: payments.Sign(sandboxSecret, event1, time.Now().Add(-10*time.Minute))}, status: 400, code: "WEBHOOK_SIGNATURE_INVALID", valid: true},
		{name: "webhook unsigned", method: "POST", path: webhook, body: event1, status: 400, code: "WEBHOOK_SIGNATURE_INVALID"},
		{name: "webhook that is no event", method: "POST", path: webhook, body: []byte(`{"hello":"world"}`), headers: signed([]byte(`{"hello":"world"}`)), status: 400, code: "INVALID_REQUEST"},
		{name: "webhook of an unknown provider", method: "POST", path: "/webhooks/paypal", body: event1, headers: signed(event1), status: 404, code: "NOT_FOUND", valid: true},
		{name: "webhook oversized", method: "POST", path: webhook, body: []byte(`{"x":"` + strings.Repeat("a", 256<<10) + `"}`), headers: signed(nil), status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "webhook as text", method: "POST", path: webhook, body: event1, headers: signed(event1), contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		// A second capture for the paid order, its webhook dropped: the
		// journey's order and report stay as they are.
		{name: "duplicate capture", method: "POST", path: "/sandbox/orders/" + orderID + "/duplicate-capture", body: []byte(`{"webhook":"drop"}`), status: 201, valid: true, check: wantPayment("succeeded")},
		{name: "duplicate capture with an unknown webhook", method: "POST", path: "/sandbox/orders/" + orderID + "/duplicate-capture", body: []byte(`{"webhook":"lose"}`), status: 400, code: "INVALID_REQUEST"},
		{name: "duplicate capture oversized", method: "POST", path: "/sandbox/orders/" + orderID + "/duplicate-capture", body: oversized, status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "duplicate capture as text", method: "POST", path: "/sandbox/orders/" + orderID + "/duplicate-capture", body: []byte(`{}`), contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}

	// The organizer's report and reconciliation.
	report := "/admin/v1/events/" + event + "/report"
	reconcileEvent := []byte(fmt.Sprintf(`{"eventId":%q}`, event))
	// Seat counts come from the availability projection, which may be up
	// to 2 s (the stack's Freshness) behind.
	t.Run("report", func(t *testing.T) {
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, b := c.exchange(t, call{method: "GET", path: report, token: org, status: 200, valid: true})
			var r struct {
				Capacity, Sold, Held int
				OrdersByStatus       map[string]int
				RevenueCents         int64
				LastReconcile        json.RawMessage
			}
			mustJSON(t, b, &r)
			if r.Capacity != 55 || r.RevenueCents != 9000 || fmt.Sprint(r.OrdersByStatus) != "map[CANCELLED:1 ISSUED:1]" || string(r.LastReconcile) != "null" {
				t.Fatalf("report %s", b)
			}
			if r.Sold == 2 && r.Held == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("report 5 s after issue: %s; want sold 2, held 0", b)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	for _, cs := range []call{
		{name: "report of an unknown event", method: "GET", path: "/admin/v1/events/nope/report", token: org, status: 404, code: "NOT_FOUND", valid: true},
		{name: "report for a fan", method: "GET", path: report, token: fan, status: 401, code: "UNAUTHORIZED"},
		{name: "report as a scanner of another event", method: "GET", path: report, token: c.scannerElsewhere(), status: 403, code: "FORBIDDEN"},
		{name: "report without identity", method: "GET", path: report, status: 401, code: "UNAUTHORIZED"},
		{name: "reconcile", method: "POST", path: "/admin/v1/reconcile", token: org, body: reconcileEvent, status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				var r struct {
					Reports []struct {
						EventID string
						Found   int
						Checked struct{ Seats int }
					}
				}
				if mustJSON(t, b, &r); len(r.Reports) != 1 || r.Reports[0].EventID != event || r.Reports[0].Checked.Seats != 5 {
					t.Errorf("reconcile %s", b)
				}
			}},
		{name: "report after reconcile", method: "GET", path: report, token: org, status: 200, valid: true,
			check: func(t *testing.T, b []byte) {
				var r struct{ LastReconcile struct{ EventID string } }
				if mustJSON(t, b, &r); r.LastReconcile.EventID != event {
					t.Errorf("report %s", b)
				}
			}},
		{name: "reconcile an unknown event", method: "POST", path: "/admin/v1/reconcile", token: org, body: []byte(`{"eventId":"nope"}`), status: 404, code: "NOT_FOUND", valid: true},
		{name: "reconcile with an unknown field", method: "POST", path: "/admin/v1/reconcile", token: org, body: []byte(`{"event":"x"}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "reconcile malformed", method: "POST", path: "/admin/v1/reconcile", token: org, body: []byte(`{"eventId"`), status: 400, code: "INVALID_JSON"},
		{name: "reconcile as a fan", method: "POST", path: "/admin/v1/reconcile", token: fan, body: reconcileEvent, status: 401, code: "UNAUTHORIZED"},
		{name: "reconcile as a scanner of another event", method: "POST", path: "/admin/v1/reconcile", token: c.scannerElsewhere(), body: reconcileEvent, status: 403, code: "FORBIDDEN"},
		{name: "reconcile without identity", method: "POST", path: "/admin/v1/reconcile", body: reconcileEvent, status: 401, code: "UNAUTHORIZED"},
		{name: "reconcile oversized", method: "POST", path: "/admin/v1/reconcile", token: org, body: oversized, status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "reconcile as text", method: "POST", path: "/admin/v1/reconcile", token: org, body: reconcileEvent, contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}
}

// step runs one call as a subtest.
// overLimit sends cs until its per-account limit answers 429 (the window
// may roll over once): every earlier answer is before, and the 429 says
// when to come back in its body and in Retry-After.
func (c *conformance) overLimit(t *testing.T, cs call, before, limit int) {
	t.Helper()
	for i := range 2*limit + 1 {
		resp, b := c.send(t, cs)
		switch resp.StatusCode {
		case before:
			continue
		case http.StatusTooManyRequests:
			var e struct {
				Error struct {
					Code    string
					Details struct{ RetryAfterSeconds int }
				}
			}
			mustJSON(t, b, &e)
			secs := e.Error.Details.RetryAfterSeconds
			if i == 0 || e.Error.Code != "RATE_LIMITED" || secs < 1 || secs > 60 || resp.Header.Get("Retry-After") != strconv.Itoa(secs) {
				t.Fatalf("after %d requests: %s (Retry-After %q)", i, b, resp.Header.Get("Retry-After"))
			}
			return
		default:
			t.Fatalf("request %d: %d %s", i+1, resp.StatusCode, b)
		}
	}
	t.Fatalf("%d requests in a row answered; want RATE_LIMITED after %d", 2*limit+1, limit)
}

func (c *conformance) step(name string, cs call) {
	c.t.Run(name, func(t *testing.T) { c.do(t, cs) })
}

// webhookEvent is a Stripe-shaped payment_intent.succeeded event.
func webhookEvent(id, paymentID, orderID string) []byte {
	b, _ := json.Marshal(map[string]any{"id": id, "object": "event", "type": "payment_intent.succeeded", "created": time.Now().Unix(),
		"data": map[string]any{"object": map[string]any{"id": paymentID, "object": "payment_intent", "status": "succeeded",
			"metadata": map[string]any{"order_id": orderID}}}})
	return b
}

func wantPayment(status string) func(*testing.T, []byte) {
	return func(t *testing.T, b []byte) {
		var p struct{ Status string }
		if mustJSON(t, b, &p); p.Status != status {
			t.Errorf("payment %s, want status %s", truncate(b), status)
		}
	}
}
