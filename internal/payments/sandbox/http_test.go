package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/payments"
)

type httpResult struct {
	Status int
	Header http.Header
	Body   []byte
}

func do(t *testing.T, h http.Handler, method, path, contentType, body string) httpResult {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return httpResult{Status: rec.Code, Header: rec.Header(), Body: b}
}

func TestHTTPComplete(t *testing.T) {
	rc := newReceiver(t, nil)
	sb := newSandbox(t, rc, clock.NewManual(t0), nil)
	h := sb.Handler()
	p := create(t, sb, "order-1")

	r := do(t, h, "POST", "/sandbox/payments/"+p.ID+"/complete", "application/json", `{"outcome":"succeeded","webhook":"deliver"}`)
	if r.Status != http.StatusOK {
		t.Fatalf("complete: %d %s", r.Status, r.Body)
	}
	var v PaymentView
	if err := json.Unmarshal(r.Body, &v); err != nil || v.ID != p.ID || v.Status != "succeeded" || v.OrderID != "order-1" || v.AmountCents != 1500 {
		t.Fatalf("complete answered %s (%v)", r.Body, err)
	}
	if d := rc.next(t); d.Err != nil || d.Event.PaymentID != p.ID {
		t.Fatalf("webhook %+v, %v", d.Event, d.Err)
	}
	idle(t, sb)

	r = do(t, h, "GET", "/sandbox/payments/"+p.ID, "", "")
	if err := json.Unmarshal(r.Body, &v); err != nil || r.Status != 200 || len(v.Events) != 1 || v.Events[0].Delivered != 1 || v.Refunds == nil {
		t.Fatalf("GET payment: %d %s", r.Status, r.Body)
	}
	if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers %v", r.Header)
	}

	q := create(t, sb, "order-2")
	r = do(t, h, "POST", "/sandbox/payments/"+q.ID+"/complete", "application/json", `{"outcome":"succeeded","webhook":"delay","delaySeconds":0.5}`)
	if r.Status != http.StatusOK {
		t.Fatalf("complete with delay: %d %s", r.Status, r.Body)
	}
	if d := rc.next(t); d.Event.PaymentID != q.ID {
		t.Fatalf("delayed webhook for %s", d.Event.PaymentID)
	}

	r = do(t, h, "POST", "/sandbox/orders/order-1/duplicate-capture", "", "")
	if r.Status != http.StatusCreated {
		t.Fatalf("duplicate capture: %d %s", r.Status, r.Body)
	}
	r = do(t, h, "POST", "/sandbox/orders/order-2/duplicate-capture", "application/json", `{"webhook":"drop"}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("duplicate capture with a body: %d %s", r.Status, r.Body)
	}
}

func TestHTTPErrors(t *testing.T) {
	sb := newSandbox(t, nil, clock.NewManual(t0), nil)
	h := sb.Handler()
	p := create(t, sb, "order-1")
	paid := create(t, sb, "order-paid")
	complete(t, sb, paid.ID, Completion{Outcome: OutcomeSucceeded})
	done := "/sandbox/payments/" + p.ID + "/complete"
	const js = "application/json"
	cases := []struct {
		name, method, path, ct, body string
		status                       int
		code                         string
	}{
		{"unknown payment", "POST", "/sandbox/payments/pi_nope/complete", js, `{"outcome":"succeeded"}`, 404, "NOT_FOUND"},
		{"no outcome", "POST", done, js, `{}`, 400, "INVALID_REQUEST"},
		{"bad outcome", "POST", done, js, `{"outcome":"maybe"}`, 400, "INVALID_REQUEST"},
		{"bad webhook", "POST", done, js, `{"outcome":"succeeded","webhook":"sometimes"}`, 400, "INVALID_REQUEST"},
		{"delay without delay webhook", "POST", done, js, `{"outcome":"succeeded","webhook":"deliver","delaySeconds":5}`, 400, "INVALID_REQUEST"},
		{"negative delay", "POST", done, js, `{"outcome":"succeeded","webhook":"delay","delaySeconds":-1}`, 400, "INVALID_REQUEST"},
		{"zero delay", "POST", done, js, `{"outcome":"succeeded","webhook":"delay","delaySeconds":0}`, 400, "INVALID_REQUEST"},
		{"huge delay", "POST", done, js, `{"outcome":"succeeded","webhook":"delay","delaySeconds":1e9}`, 400, "INVALID_REQUEST"},
		{"delay as string", "POST", done, js, `{"outcome":"succeeded","webhook":"delay","delaySeconds":"5"}`, 400, "INVALID_REQUEST"},
		{"unknown field", "POST", done, js, `{"outcome":"succeeded","tip":1}`, 400, "UNKNOWN_FIELD"},
		{"wrong case", "POST", done, js, `{"Outcome":"succeeded"}`, 400, "UNKNOWN_FIELD"},
		{"repeated key", "POST", done, js, `{"outcome":"declined","outcome":"succeeded"}`, 400, "INVALID_JSON"},
		{"not JSON", "POST", done, js, `outcome=succeeded`, 400, "INVALID_JSON"},
		{"empty", "POST", done, js, ``, 400, "INVALID_JSON"},
		{"trailing data", "POST", done, js, `{"outcome":"succeeded"} {}`, 400, "INVALID_JSON"},
		{"array", "POST", done, js, `[]`, 400, "INVALID_JSON"},
		{"wrong media type", "POST", done, "text/plain", `{"outcome":"succeeded"}`, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"too large", "POST", done, js, `{"outcome":"` + strings.Repeat("x", maxBody) + `"}`, 413, "PAYLOAD_TOO_LARGE"},
		{"already paid", "POST", "/sandbox/payments/" + paid.ID + "/complete", js, `{"outcome":"succeeded"}`, 409, "CONFLICT"},
		{"get unknown", "GET", "/sandbox/payments/pi_nope", "", "", 404, "NOT_FOUND"},
		{"checkout unknown", "GET", "/sandbox/checkout/pi_nope", "", "", 404, "NOT_FOUND"},
		{"unknown route", "GET", "/sandbox/nothing", "", "", 404, "NOT_FOUND"},
		{"wrong method", "DELETE", "/sandbox/payments/" + p.ID, "", "", 404, "NOT_FOUND"},
		{"duplicate capture, unknown order", "POST", "/sandbox/orders/nope/duplicate-capture", "", "", 404, "NOT_FOUND"},
		{"duplicate capture, bad webhook", "POST", "/sandbox/orders/order-1/duplicate-capture", js, `{"webhook":"sometimes"}`, 400, "INVALID_REQUEST"},
		{"duplicate capture, unknown field", "POST", "/sandbox/orders/order-1/duplicate-capture", js, `{"outcome":"succeeded"}`, 400, "UNKNOWN_FIELD"},
	}
	for _, c := range cases {
		r := do(t, h, c.method, c.path, c.ct, c.body)
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(r.Body, &e); err != nil || r.Status != c.status || e.Error.Code != c.code || e.Error.Message == "" ||
			r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s (%v), want %d %s", c.name, r.Status, r.Body, err, c.status, c.code)
		}
	}
	if got, _ := sb.GetPayment(ctx, p.ID); got.Status != payments.StatusRequiresPayment {
		t.Fatalf("bad requests changed the payment: %+v", got)
	}
}

func TestCheckoutPage(t *testing.T) {
	rc := newReceiver(t, nil)
	sb := newSandbox(t, rc, clock.NewManual(t0), nil)
	h := sb.Handler()
	p, err := sb.CreatePayment(ctx, "order-<b>&", 4250, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	page := "/sandbox/checkout/" + p.ID
	r := do(t, h, "GET", page, "", "")
	body := string(r.Body)
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("checkout: %d %v", r.Status, r.Header)
	}
	for _, want := range []string{
		`<html lang="en">`, `action="../payments/` + p.ID + `/complete"`, `name="outcome" value="succeeded"`,
		`name="outcome" value="declined"`, ">Decline</button>", "Pay 42.50 EUR", `<label for="webhook">`,
		`order-&lt;b&gt;&amp;`, `role="status"`,
		// The way back to the order, its id carried in the query.
		`<a href="/?order=order-%3cb%3e%26">Back to your order</a>`, `<select id="declineCode" name="declineCode">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, banned := range []string{"<script", "src=", "http://", "https://", "order-<b>"} {
		if strings.Contains(body, banned) {
			t.Errorf("page contains %q", banned)
		}
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}

	// The form posts form-encoded and comes back to the page.
	form := url.Values{"outcome": {"declined"}, "webhook": {"deliver"}, "delaySeconds": {""}, "declineCode": {"insufficient_funds"}}.Encode()
	r = do(t, h, "POST", "/sandbox/payments/"+p.ID+"/complete", "application/x-www-form-urlencoded", form)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != page {
		t.Fatalf("form post: %d Location %q", r.Status, r.Header.Get("Location"))
	}
	if d := rc.next(t); d.Event.Type != payments.EventPaymentFailed {
		t.Fatalf("webhook %s", d.Event.Type)
	}
	if got, _ := sb.GetPayment(ctx, p.ID); got.DeclineCode != "insufficient_funds" || got.DeclineMessage != "Your card has insufficient funds." {
		t.Fatalf("the decline the form chose: %+v", got)
	}
	badCode := url.Values{"outcome": {"declined"}, "declineCode": {"stolen_card"}}.Encode()
	if r = do(t, h, "POST", "/sandbox/payments/"+p.ID+"/complete", "application/x-www-form-urlencoded", badCode); r.Header.Get("Location") != page+"?error=INVALID_REQUEST" {
		t.Fatalf("unknown decline code: Location %q", r.Header.Get("Location"))
	}
	if body := string(do(t, h, "GET", page, "", "").Body); !strings.Contains(body, ">failed<") || !strings.Contains(body, "<form") {
		t.Fatalf("after a decline the page should offer to pay again:\n%s", body)
	}

	bad := url.Values{"outcome": {"succeeded"}, "webhook": {"deliver"}, "delaySeconds": {"5"}}.Encode()
	r = do(t, h, "POST", "/sandbox/payments/"+p.ID+"/complete", "application/x-www-form-urlencoded", bad)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != page+"?error=INVALID_REQUEST" {
		t.Fatalf("bad form post: %d Location %q", r.Status, r.Header.Get("Location"))
	}
	if body := string(do(t, h, "GET", page+"?error=INVALID_REQUEST", "", "").Body); !strings.Contains(body, `role="alert"`) {
		t.Fatal("the page does not show the error")
	}
	if body := string(do(t, h, "GET", page+"?error=<script>alert(1)</script>", "", "").Body); strings.Contains(body, "alert(1)") {
		t.Fatal("the page reflects its query string")
	}
	unknown := url.Values{"outcome": {"succeeded"}, "extra": {"1"}}.Encode()
	if r = do(t, h, "POST", "/sandbox/payments/"+p.ID+"/complete", "application/x-www-form-urlencoded", unknown); r.Header.Get("Location") != page+"?error=UNKNOWN_FIELD" {
		t.Fatalf("unknown form field: Location %q", r.Header.Get("Location"))
	}

	ok := url.Values{"outcome": {"succeeded"}, "webhook": {"drop"}}.Encode()
	do(t, h, "POST", "/sandbox/payments/"+p.ID+"/complete", "application/x-www-form-urlencoded", ok)
	body = string(do(t, h, "GET", page, "", "").Body)
	if !strings.Contains(body, ">succeeded<") || strings.Contains(body, "<form") {
		t.Fatalf("a paid payment's page still offers the form:\n%s", body)
	}
	if !strings.Contains(body, "This payment has succeeded: there is nothing more to pay.") || strings.Contains(body, "is succeeded") ||
		!strings.Contains(body, "Back to your order") {
		t.Fatalf("a paid payment's page does not say so in words, or has no way back:\n%s", body)
	}
}

func TestFormatAmount(t *testing.T) {
	for _, c := range []struct {
		cents int64
		cur   string
		want  string
	}{{1500, "EUR", "15.00 EUR"}, {5, "USD", "0.05 USD"}, {1234, "JPY", "1234 JPY"}, {-250, "EUR", "-2.50 EUR"}} {
		if got := FormatAmount(c.cents, c.cur); got != c.want {
			t.Errorf("FormatAmount(%d, %s) = %q, want %q", c.cents, c.cur, got, c.want)
		}
	}
}
