package openapi_test

import (
	"strings"
	"testing"
)

// staff is TestConformance's part for the box office, roles and the audit
// log, on org's event with an issued and a pending order of fan, whose
// address is fanEmail.
func (c *conformance) staff(org, fan, fanEmail, event, issued, pending string) {
	t := c.t
	oversized := []byte(`{"subject":"` + strings.Repeat("a", 16<<10) + `"}`)
	reason := []byte(`{"reason":"lost phone"}`)
	grant := []byte(`{"subject":"box-1","role":"box-office"}`)
	reissue := func(id string) string { return "/admin/v1/orders/" + id + "/reissue" }
	for _, cs := range []call{
		{name: "org events", method: "GET", path: "/admin/v1/events", token: org, status: 200, valid: true},
		{name: "org events without identity", method: "GET", path: "/admin/v1/events", status: 401, code: "UNAUTHORIZED"},
		{name: "org events as a fan", method: "GET", path: "/admin/v1/events", token: fan, status: 401, code: "UNAUTHORIZED"},
		{name: "org events as staff without a grant", method: "GET", path: "/admin/v1/events", token: c.ungranted(), status: 403, code: "FORBIDDEN"},

		{name: "check-in events", method: "GET", path: "/admin/v1/checkin/events", token: org, status: 200, valid: true, check: func(t *testing.T, b []byte) {
			if !strings.Contains(string(b), event) {
				t.Errorf("the owner's check-in events lack %s: %s", event, truncate(b))
			}
		}},
		{name: "check-in events without identity", method: "GET", path: "/admin/v1/checkin/events", status: 401, code: "UNAUTHORIZED"},
		{name: "check-in events as a fan", method: "GET", path: "/admin/v1/checkin/events", token: fan, status: 401, code: "UNAUTHORIZED"},
		{name: "check-in events as staff without a grant", method: "GET", path: "/admin/v1/checkin/events", token: c.ungranted(), status: 403, code: "FORBIDDEN"},

		{name: "gate kit", method: "GET", path: "/admin/v1/events/" + event + "/gate-kit", token: org, status: 200, valid: true},
		{name: "gate kit without identity", method: "GET", path: "/admin/v1/events/" + event + "/gate-kit", status: 401, code: "UNAUTHORIZED"},
		{name: "gate kit as a fan", method: "GET", path: "/admin/v1/events/" + event + "/gate-kit", token: fan, status: 401, code: "UNAUTHORIZED"},
		{name: "gate kit as a scanner of another event", method: "GET", path: "/admin/v1/events/" + event + "/gate-kit", token: c.scannerElsewhere(), status: 403, code: "FORBIDDEN"},
		{name: "gate kit of an unknown event", method: "GET", path: "/admin/v1/events/nope/gate-kit", token: org, status: 404, code: "NOT_FOUND", valid: true},

		{name: "order as staff", method: "GET", path: "/admin/v1/orders/" + issued, token: org, status: 200, valid: true},
		{name: "order as staff without identity", method: "GET", path: "/admin/v1/orders/" + issued, status: 401, code: "UNAUTHORIZED"},
		{name: "order as staff as a fan", method: "GET", path: "/admin/v1/orders/" + issued, token: fan, status: 401, code: "UNAUTHORIZED"},
		{name: "order as staff as a scanner of another event", method: "GET", path: "/admin/v1/orders/" + issued, token: c.scannerElsewhere(), status: 403, code: "FORBIDDEN"},
		{name: "unknown order as staff", method: "GET", path: "/admin/v1/orders/no-such-order", token: org, status: 404, code: "NOT_FOUND", valid: true},

		{name: "find orders by seat", method: "GET", path: "/admin/v1/events/" + event + "/orders?seat=A-1-2", token: org, status: 200, valid: true},
		{name: "find orders by a long seat", method: "GET", path: "/admin/v1/events/" + event + "/orders?seat=" + strings.Repeat("s", 200), token: org, status: 400, code: "INVALID_REQUEST"},
		{name: "find orders by email", method: "GET", path: "/admin/v1/events/" + event + "/orders?email=" + strings.ToUpper(fanEmail), token: org, status: 200, valid: true, check: func(t *testing.T, b []byte) {
			if !strings.Contains(string(b), issued) || !strings.Contains(string(b), `"email":"`+fanEmail+`"`) {
				t.Errorf("orders by %s lack %s: %s", fanEmail, issued, truncate(b))
			}
		}},
		{name: "find orders by an email nobody used", method: "GET", path: "/admin/v1/events/" + event + "/orders?email=nobody@example.test", token: org, status: 200, valid: true, check: func(t *testing.T, b []byte) {
			if strings.Contains(string(b), issued) {
				t.Errorf("orders by an unused address list %s: %s", issued, truncate(b))
			}
		}},
		{name: "find orders by a long email", method: "GET", path: "/admin/v1/events/" + event + "/orders?email=" + strings.Repeat("e", 300), token: org, status: 400, code: "INVALID_REQUEST"},
		{name: "find orders without identity", method: "GET", path: "/admin/v1/events/" + event + "/orders", status: 401, code: "UNAUTHORIZED"},
		{name: "find orders as a fan", method: "GET", path: "/admin/v1/events/" + event + "/orders", token: fan, status: 401, code: "UNAUTHORIZED"},
		{name: "find orders as a scanner of another event", method: "GET", path: "/admin/v1/events/" + event + "/orders", token: c.scannerElsewhere(), status: 403, code: "FORBIDDEN"},
		{name: "find orders of an unknown event", method: "GET", path: "/admin/v1/events/nope/orders", token: org, status: 404, code: "NOT_FOUND", valid: true},

		{name: "reissue", method: "POST", path: reissue(issued), token: org, body: reason, status: 200, valid: true},
		{name: "reissue without a reason", method: "POST", path: reissue(issued), token: org, body: []byte(`{}`), status: 400, code: "INVALID_REQUEST"},
		{name: "reissue without identity", method: "POST", path: reissue(issued), body: reason, status: 401, code: "UNAUTHORIZED"},
		{name: "reissue as a fan", method: "POST", path: reissue(issued), token: fan, body: reason, status: 401, code: "UNAUTHORIZED"},
		{name: "reissue as a scanner of another event", method: "POST", path: reissue(issued), token: c.scannerElsewhere(), body: reason, status: 403, code: "FORBIDDEN"},
		{name: "reissue an unknown order", method: "POST", path: reissue("no-such-order"), token: org, body: reason, status: 404, code: "NOT_FOUND", valid: true},
		{name: "reissue an unpaid order", method: "POST", path: reissue(pending), token: org, body: reason, status: 409, code: "INVALID_STATE", valid: true},
		{name: "reissue oversized", method: "POST", path: reissue(issued), token: org, body: oversized, status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "reissue as text", method: "POST", path: reissue(issued), token: org, body: reason, contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},

		{name: "grant", method: "POST", path: "/admin/v1/staff", token: org, body: grant, status: 200, valid: true},
		{name: "grant an unknown role", method: "POST", path: "/admin/v1/staff", token: org, body: []byte(`{"subject":"x","role":"janitor"}`), status: 400, code: "INVALID_REQUEST"},
		{name: "grant a scanner no event", method: "POST", path: "/admin/v1/staff", token: org, body: []byte(`{"subject":"x","role":"scanner"}`), status: 400, code: "INVALID_REQUEST"},
		{name: "grant without identity", method: "POST", path: "/admin/v1/staff", body: grant, status: 401, code: "UNAUTHORIZED"},
		{name: "grant as a fan", method: "POST", path: "/admin/v1/staff", token: fan, body: grant, status: 401, code: "UNAUTHORIZED"},
		{name: "grant as staff without a grant", method: "POST", path: "/admin/v1/staff", token: c.ungranted(), body: grant, status: 403, code: "FORBIDDEN"},
		{name: "grant oversized", method: "POST", path: "/admin/v1/staff", token: org, body: oversized, status: 413, code: "PAYLOAD_TOO_LARGE"},
		{name: "grant as text", method: "POST", path: "/admin/v1/staff", token: org, body: grant, contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "staff", method: "GET", path: "/admin/v1/staff", token: org, status: 200, valid: true},
		{name: "staff without identity", method: "GET", path: "/admin/v1/staff", status: 401, code: "UNAUTHORIZED"},
		{name: "staff as a fan", method: "GET", path: "/admin/v1/staff", token: fan, status: 401, code: "UNAUTHORIZED"},
		{name: "staff as staff without a grant", method: "GET", path: "/admin/v1/staff", token: c.ungranted(), status: 403, code: "FORBIDDEN"},
		{name: "revoke", method: "DELETE", path: "/admin/v1/staff/box-1", token: org, status: 200, valid: true},
		{name: "revoke again", method: "DELETE", path: "/admin/v1/staff/box-1", token: org, status: 404, code: "NOT_FOUND", valid: true},
		{name: "revoke without identity", method: "DELETE", path: "/admin/v1/staff/box-1", status: 401, code: "UNAUTHORIZED"},
		{name: "revoke as a fan", method: "DELETE", path: "/admin/v1/staff/box-1", token: fan, status: 401, code: "UNAUTHORIZED"},
		{name: "revoke as staff without a grant", method: "DELETE", path: "/admin/v1/staff/box-1", token: c.ungranted(), status: 403, code: "FORBIDDEN"},

		{name: "audit", method: "GET", path: "/admin/v1/audit", token: org, status: 200, valid: true, check: func(t *testing.T, b []byte) {
			for _, want := range []string{"event.create", "order.reissue", "staff.grant", "staff.revoke"} {
				if !strings.Contains(string(b), want) {
					t.Errorf("audit log has no %s: %s", want, truncate(b))
				}
			}
		}},
		{name: "audit without identity", method: "GET", path: "/admin/v1/audit", status: 401, code: "UNAUTHORIZED"},
		{name: "audit as a fan", method: "GET", path: "/admin/v1/audit", token: fan, status: 401, code: "UNAUTHORIZED"},
		{name: "audit as staff without a grant", method: "GET", path: "/admin/v1/audit", token: c.ungranted(), status: 403, code: "FORBIDDEN"},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}
}
