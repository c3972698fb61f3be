package openapi_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/pricing"
)

// pricedOrder is an order's price and refund as the API shows them.
type pricedOrder struct {
	OrderID, Status string
	AmountCents     int64
	Breakdown       pricing.Breakdown
	Refund          *struct {
		Status, Currency, Reason string
		AmountCents              int64
		RequestedAt, RefundedAt  time.Time
	}
}

// pricing is TestConformance's part for fees and taxes (ADR 26): an event
// created with a fee and an exclusive tax, its setting changed and refused,
// a hold whose breakdown adds up, a payment of exactly the order's total,
// the refund's details on the fan's order, and the report's split.
func (c *conformance) pricing(org string) {
	t := c.t
	past := time.Now().Add(-time.Minute).UTC().Truncate(time.Second).Format(time.RFC3339)
	event := c.createEvent("event with fees", org, createBody(func(m map[string]any) {
		m["saleOpensAt"] = past
		m["holdSeconds"] = 3600
		m["queue"] = map[string]any{"mode": "off"}
		m["pricing"] = map[string]any{"feeCents": 350, "taxBasisPoints": 2000, "taxMode": "exclusive", "seller": "Star Promotions Ltd"}
	}))
	closed := c.createEvent("closed event with fees", org, createBody(nil))
	c.step("close a sale", call{method: "POST", path: "/admin/v1/events/" + closed + "/sale", token: org, body: []byte(`{"action":"close"}`), status: 200, valid: true})
	fan := c.token("fan-fees", "fan")
	set := func(ev string) string { return "/admin/v1/events/" + ev + "/pricing" }
	inclusive := []byte(`{"feeCents":250,"taxBasisPoints":1000,"taxMode":"inclusive"}`)
	exclusive := []byte(`{"feeCents":350,"taxBasisPoints":2000,"taxMode":"exclusive","seller":"Star Promotions Ltd"}`)
	wantPricing := func(fee, bp int64, mode string) func(*testing.T, []byte) {
		return func(t *testing.T, b []byte) {
			var ev struct{ Pricing *pricing.Pricing }
			if mustJSON(t, b, &ev); ev.Pricing == nil || ev.Pricing.FeeCents != fee || ev.Pricing.TaxBasisPoints != bp || ev.Pricing.TaxMode != mode {
				t.Errorf("event pricing %s", truncate(b))
			}
		}
	}
	for _, cs := range []call{
		{name: "create with a fee over the limit", method: "POST", path: "/admin/v1/events", token: org, body: createBody(func(m map[string]any) {
			m["pricing"] = map[string]any{"feeCents": 100001}
		}), status: 400, code: "INVALID_REQUEST"},
		{name: "create with a tax rate but no mode", method: "POST", path: "/admin/v1/events", token: org, body: createBody(func(m map[string]any) {
			m["pricing"] = map[string]any{"taxBasisPoints": 2000}
		}), status: 400, code: "INVALID_REQUEST"},
		{name: "create with an unknown pricing field", method: "POST", path: "/admin/v1/events", token: org, body: createBody(func(m map[string]any) {
			m["pricing"] = map[string]any{"vat": 20}
		}), status: 400, code: "UNKNOWN_FIELD"},
		{name: "event with fees as fans see it", method: "GET", path: "/v1/events/" + event, status: 200, valid: true, check: wantPricing(350, 2000, "exclusive")},
		{name: "set pricing inclusive", method: "POST", path: set(event), token: org, body: inclusive, status: 200, valid: true, check: wantPricing(250, 1000, "inclusive")},
		{name: "set pricing back", method: "POST", path: set(event), token: org, body: exclusive, status: 200, valid: true, check: wantPricing(350, 2000, "exclusive")},
		{name: "set pricing malformed", method: "POST", path: set(event), token: org, body: []byte(`{"feeCents":`), status: 400, code: "INVALID_JSON"},
		{name: "set pricing unknown field", method: "POST", path: set(event), token: org, body: []byte(`{"feeCents":1,"vat":20}`), status: 400, code: "UNKNOWN_FIELD"},
		{name: "set pricing bad mode", method: "POST", path: set(event), token: org, body: []byte(`{"taxBasisPoints":2000,"taxMode":"included"}`), status: 400, code: "INVALID_REQUEST"},
		{name: "set pricing negative fee", method: "POST", path: set(event), token: org, body: []byte(`{"feeCents":-1}`), status: 400, code: "INVALID_REQUEST"},
		{name: "set pricing rate over the limit", method: "POST", path: set(event), token: org, body: []byte(`{"taxBasisPoints":5001,"taxMode":"exclusive"}`), status: 400, code: "INVALID_REQUEST"},
		{name: "set pricing without identity", method: "POST", path: set(event), body: exclusive, status: 401, code: "UNAUTHORIZED"},
		{name: "set pricing as a fan", method: "POST", path: set(event), token: fan, body: exclusive, status: 401, code: "UNAUTHORIZED"},
		{name: "set pricing as a scanner of another event", method: "POST", path: set(event), token: c.scannerElsewhere(), body: exclusive, status: 403, code: "FORBIDDEN"},
		{name: "set pricing of an unknown event", method: "POST", path: set("nope"), token: org, body: exclusive, status: 404, code: "NOT_FOUND", valid: true},
		{name: "set pricing of a closed sale", method: "POST", path: set(closed), token: org, body: exclusive, status: 409, code: "INVALID_STATE", valid: true},
		{name: "set pricing oversized", method: "POST", path: set(event), token: org, body: []byte(`{"seller":"` + strings.Repeat("s", 16<<10) + `"}`), status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "set pricing as text", method: "POST", path: set(event), token: org, body: exclusive, contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}

	// Two seats at 45.00 with a 3.50 fee each and 20 % on top:
	// 90.00 + 7.00 = 97.00, tax 19.40, total 116.40.
	want := pricing.Breakdown{FaceCents: 9000, FeeCents: 700, TaxCents: 1940, TotalCents: 11640, TaxBasisPoints: 2000, TaxMode: pricing.Exclusive}
	var order pricedOrder
	c.step("hold two seats with fees", call{method: "POST", path: "/v1/events/" + event + "/holds", token: fan,
		body: seatsBody(c.admit(event, fan), "A-1-1", "A-1-2"), status: 201, valid: true,
		check: func(t *testing.T, b []byte) {
			mustJSON(t, b, &order)
			if order.Breakdown != want || order.AmountCents != want.TotalCents || order.Refund != nil {
				t.Errorf("hold %s, want breakdown %+v", truncate(b), want)
			}
		}})
	if order.OrderID == "" {
		t.Fatal("no order with fees")
	}
	var paymentID string
	c.step("pay the order with fees", call{method: "POST", path: "/v1/orders/" + order.OrderID + "/payments", token: fan, body: []byte(`{"provider":"sandbox"}`), status: 201, valid: true,
		check: func(t *testing.T, b []byte) {
			var p struct{ PaymentID string }
			mustJSON(t, b, &p)
			paymentID = p.PaymentID
		}})
	c.step("the provider is asked for the total", call{method: "GET", path: "/sandbox/payments/" + paymentID, status: 200, valid: true,
		check: func(t *testing.T, b []byte) {
			var p struct {
				AmountCents int64
				Currency    string
			}
			if mustJSON(t, b, &p); p.AmountCents != want.TotalCents || p.Currency != "EUR" {
				t.Errorf("the payment asks %d %s; the order's total is %d EUR", p.AmountCents, p.Currency, want.TotalCents)
			}
		}})
	c.step("complete the payment with fees", call{method: "POST", path: "/sandbox/payments/" + paymentID + "/complete",
		body: []byte(`{"outcome":"succeeded","webhook":"deliver"}`), status: 200, valid: true, check: wantPayment("succeeded")})
	c.waitIssued("order with fees issued", fan, order.OrderID)
	report := func(check func(t *testing.T, revenue, refunded map[string]int64)) func(*testing.T, []byte) {
		return func(t *testing.T, b []byte) {
			var r struct{ Revenue, Refunded map[string]int64 }
			mustJSON(t, b, &r)
			check(t, r.Revenue, r.Refunded)
		}
	}
	split := map[string]int64{"faceValueCents": 9000, "feeCents": 700, "taxCents": 1940, "totalCents": 11640}
	zero := map[string]int64{"faceValueCents": 0, "feeCents": 0, "taxCents": 0, "totalCents": 0}
	c.step("report splits the revenue", call{method: "GET", path: "/admin/v1/events/" + event + "/report", token: org, status: 200, valid: true,
		check: report(func(t *testing.T, revenue, refunded map[string]int64) {
			if !sameSplit(revenue, split) || !sameSplit(refunded, zero) {
				t.Errorf("revenue %v refunded %v, want %v and nothing", revenue, refunded, split)
			}
		})})

	// The refund shows the fan how much, when and why.
	before := time.Now().Add(-time.Second)
	c.step("refund the order with fees", call{method: "POST", path: "/admin/v1/orders/" + order.OrderID + "/refund", token: org,
		body: []byte(`{"reason":"the show moved to a smaller hall"}`), status: 200, valid: true})
	c.step("the fan sees the refund", call{method: "GET", path: "/v1/orders/" + order.OrderID, token: fan, status: 200, valid: true,
		check: func(t *testing.T, b []byte) {
			var o pricedOrder
			mustJSON(t, b, &o)
			r := o.Refund
			if o.Status != "REFUNDED" || r == nil || r.Status != "REFUNDED" || r.AmountCents != want.TotalCents || r.Currency != "EUR" ||
				r.Reason != "the show moved to a smaller hall" || r.RequestedAt.Before(before) || r.RefundedAt.Before(r.RequestedAt) {
				t.Errorf("refunded order %s", truncate(b))
			}
			if o.Breakdown != want {
				t.Errorf("a refund changed the breakdown: %+v", o.Breakdown)
			}
		}})
	c.step("the box office sees the refund", call{method: "GET", path: "/admin/v1/orders/" + order.OrderID, token: org, status: 200, valid: true,
		check: func(t *testing.T, b []byte) {
			var o pricedOrder
			if mustJSON(t, b, &o); o.Refund == nil || o.Refund.Reason != "the show moved to a smaller hall" {
				t.Errorf("staff order %s", truncate(b))
			}
		}})
	c.step("report splits the refunds", call{method: "GET", path: "/admin/v1/events/" + event + "/report", token: org, status: 200, valid: true,
		check: report(func(t *testing.T, revenue, refunded map[string]int64) {
			if !sameSplit(revenue, zero) || !sameSplit(refunded, split) {
				t.Errorf("revenue %v refunded %v, want nothing and %v", revenue, refunded, split)
			}
		})})
}

func sameSplit(got, want map[string]int64) bool {
	b1, _ := json.Marshal(got)
	b2, _ := json.Marshal(want)
	return string(b1) == string(b2)
}
