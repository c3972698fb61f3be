package stripe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/checkout"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/payments"
	"github.com/stararena/stararena/internal/payments/paymentstest"
	"github.com/stararena/stararena/internal/pricing"
)

const (
	apiKey        = "sk_test_123"
	webhookSecret = "whsec_test_stararena"
)

var ctx = context.Background()

// exchange is one request the recording proxy passed to stripe-mock (or
// answered itself) and the answer.
type exchange struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
	Form         url.Values
	Status       int
	RespHeader   http.Header
	RespBody     []byte
}

// recorder sits between the adapter and stripe-mock: it records what the
// adapter sends (stripe-mock keeps nothing) and can answer instead of
// stripe-mock with a canned Stripe error (stripe-mock cannot produce them).
type recorder struct {
	srv *httptest.Server

	mu     sync.Mutex
	ex     []exchange
	inject func(r *http.Request) (status int, body string, ok bool)
}

func newRecorder(t *testing.T, mockURL string) *recorder {
	t.Helper()
	target, err := url.Parse(mockURL)
	if err != nil {
		t.Fatal(err)
	}
	rc := &recorder{}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = nil
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		ex := exchange{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Form: form}
		rc.mu.Lock()
		inject := rc.inject
		rc.mu.Unlock()
		rw := httptest.NewRecorder()
		status, canned, ok := injectOrNot(inject, r)
		if ok && status == dropConnection {
			rc.mu.Lock()
			rc.ex = append(rc.ex, ex)
			rc.mu.Unlock()
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		if ok {
			rw.Header().Set("Content-Type", "application/json")
			rw.Header().Set("Request-Id", "req_canned")
			rw.WriteHeader(status)
			_, _ = rw.WriteString(canned)
		} else {
			rp.ServeHTTP(rw, r)
		}
		ex.Status, ex.RespHeader, ex.RespBody = rw.Code, rw.Header().Clone(), rw.Body.Bytes()
		rc.mu.Lock()
		rc.ex = append(rc.ex, ex)
		rc.mu.Unlock()
		for k, v := range rw.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rw.Code)
		_, _ = w.Write(rw.Body.Bytes())
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// dropConnection as an injected status closes the connection unanswered.
const dropConnection = -1

func injectOrNot(inject func(*http.Request) (int, string, bool), r *http.Request) (int, string, bool) {
	if inject == nil {
		return 0, "", false
	}
	return inject(r)
}

// take returns and forgets the exchanges so far.
func (rc *recorder) take() []exchange {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	ex := rc.ex
	rc.ex = nil
	return ex
}

func (rc *recorder) setInject(f func(r *http.Request) (int, string, bool)) {
	rc.mu.Lock()
	rc.inject = f
	rc.mu.Unlock()
}

func newProvider(t *testing.T, base string, tweak func(*Options)) *Provider {
	t.Helper()
	o := Options{APIKey: apiKey, WebhookSecret: webhookSecret, APIBase: base, MaxNetworkRetries: retries(0),
		Logger: slog.New(slog.DiscardHandler)}
	if tweak != nil {
		tweak(&o)
	}
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func retries(n int64) *int64 { return &n }

func sign(payload []byte, ts time.Time) string { return payments.Sign(webhookSecret, payload, ts) }

// TestAgainstStripeMock runs everything that needs stripe-mock against one
// stripe-mock process.
func TestAgainstStripeMock(t *testing.T) {
	mock := paymentstest.StartStripeMock(t)

	t.Run("Conformance", func(t *testing.T) {
		paymentstest.Run(t, func(t *testing.T) paymentstest.Harness {
			return paymentstest.Harness{
				Provider: newProvider(t, mock, nil), Descriptor: Descriptor(), Stateful: false, Sign: sign, APIVersion: APIVersion,
			}
		})
	})

	t.Run("CreatePaymentRequestShape", func(t *testing.T) {
		rc := newRecorder(t, mock)
		p := newProvider(t, rc.srv.URL, nil)
		pay, err := p.CreatePayment(ctx, "order-1", 1500, "EUR")
		if err != nil {
			t.Fatal(err)
		}
		again, err := p.CreatePayment(ctx, "order-1", 1500, "EUR")
		if err != nil {
			t.Fatal(err)
		}
		ex := rc.take()
		if len(ex) != 2 {
			t.Fatalf("%d requests", len(ex))
		}
		for _, e := range ex {
			if e.Method != "POST" || e.Path != "/v1/payment_intents" || e.Status != 200 {
				t.Fatalf("request %s %s → %d %s", e.Method, e.Path, e.Status, e.RespBody)
			}
			if k := e.Header.Get("Idempotency-Key"); k != "payment-intent:order-1" {
				t.Fatalf("Idempotency-Key %q", k)
			}
			// stripe-mock reflects the key it received.
			if k := e.RespHeader.Get("Idempotency-Key"); k != "payment-intent:order-1" {
				t.Fatalf("stripe-mock saw Idempotency-Key %q", k)
			}
			if e.Header.Get("Authorization") != "Bearer "+apiKey || e.Header.Get("Stripe-Version") != APIVersion {
				t.Fatalf("headers %v", e.Header)
			}
			want := url.Values{
				"amount": {"1500"}, "currency": {"eur"}, "metadata[order_id]": {"order-1"},
				"automatic_payment_methods[enabled]": {"true"},
			}
			if e.Form.Encode() != want.Encode() {
				t.Fatalf("form %v, want %v", e.Form, want)
			}
		}
		// Mapping of stripe-mock's answer: the amount and currency are
		// reflected from the request, the rest is its fixture.
		if !strings.HasPrefix(pay.ID, "pi_") || pay.AmountCents != 1500 || pay.Currency != "EUR" || pay.OrderID != "order-1" ||
			pay.ClientSecret == "" || pay.CheckoutURL != "" || !pay.Created.Equal(time.Unix(1234567890, 0)) {
			t.Fatalf("payment %+v", pay)
		}
		// stripe-mock is stateless: it answers a repeated key with a new
		// id. Only Stripe itself can show that the key deduplicates.
		_ = again
	})

	// The payment of an order with fees and tax asks Stripe for the
	// order's total, not its face value (ADR 26): 2 × 45.00 + 2 × 3.50
	// fees, 20 % on top = 116.40.
	t.Run("PricedOrderChargesItsTotal", func(t *testing.T) {
		rc := newRecorder(t, mock)
		o := orders.Order{ID: "order-fees", Status: orders.PendingPayment, Currency: "EUR", Seats: []string{"A-1-1", "A-1-2"}}
		o.SetPrice((&pricing.Pricing{FeeCents: 350, TaxBasisPoints: 2000, TaxMode: pricing.Exclusive}).Price(9000, 2))
		pay, err := checkout.Providers{"stripe": newProvider(t, rc.srv.URL, nil)}.StartPayment(ctx, o, "stripe")
		if err != nil {
			t.Fatal(err)
		}
		ex := rc.take()
		if len(ex) != 1 || ex[0].Form.Get("amount") != "11640" || ex[0].Form.Get("currency") != "eur" {
			t.Fatalf("requests %+v, want one for amount 11640 eur", ex)
		}
		if pay.AmountCents != o.AmountCents || o.Breakdown().TotalCents != 11640 {
			t.Fatalf("payment of %d for an order of %d", pay.AmountCents, o.AmountCents)
		}
	})

	t.Run("GetPaymentRequestShapeAndMapping", func(t *testing.T) {
		rc := newRecorder(t, mock)
		p := newProvider(t, rc.srv.URL, nil)
		pay, err := p.GetPayment(ctx, "pi_123")
		if err != nil {
			t.Fatal(err)
		}
		ex := rc.take()
		if len(ex) != 1 || ex[0].Method != "GET" || ex[0].Path != "/v1/payment_intents/pi_123" || ex[0].Query.Get("expand[0]") != "latest_charge" {
			t.Fatalf("requests %+v", ex)
		}
		var raw struct {
			Status           string          `json:"status"`
			LastPaymentError json.RawMessage `json:"last_payment_error"`
			LatestCharge     struct {
				Object         string `json:"object"`
				AmountRefunded int64  `json:"amount_refunded"`
			} `json:"latest_charge"`
		}
		if err := json.Unmarshal(ex[0].RespBody, &raw); err != nil || raw.LatestCharge.Object != "charge" {
			t.Fatalf("stripe-mock did not expand latest_charge: %s", ex[0].RespBody)
		}
		// The fixture is requires_payment_method with a last_payment_error:
		// a declined attempt in this port's words.
		if raw.Status != "requires_payment_method" || string(raw.LastPaymentError) == "null" {
			t.Fatalf("fixture changed: %s", ex[0].RespBody)
		}
		if pay.ID != "pi_123" || pay.Status != payments.StatusFailed || pay.AmountCents != 1099 || pay.Currency != "USD" ||
			pay.AmountRefundedCents != raw.LatestCharge.AmountRefunded || pay.OrderID != "" {
			t.Fatalf("payment %+v", pay)
		}
	})

	t.Run("PaymentsForOrderSearch", func(t *testing.T) {
		rc := newRecorder(t, mock)
		p := newProvider(t, rc.srv.URL, nil)
		got, err := p.PaymentsForOrder(ctx, "order-1")
		if err != nil {
			t.Fatal(err)
		}
		ex := rc.take()
		if len(ex) != 1 || ex[0].Path != "/v1/payment_intents/search" || ex[0].Status != 200 {
			t.Fatalf("requests %+v", ex)
		}
		q := ex[0].Query
		if q.Get("query") != "metadata['order_id']:'order-1'" || q.Get("limit") != "100" || q.Get("expand[0]") != "data.latest_charge" {
			t.Fatalf("search query %v", q)
		}
		var res struct {
			Object string           `json:"object"`
			Data   []map[string]any `json:"data"`
		}
		if err := json.Unmarshal(ex[0].RespBody, &res); err != nil || res.Object != "search_result" || len(res.Data) == 0 {
			t.Fatalf("stripe-mock search answer %s", ex[0].RespBody)
		}
		// stripe-mock ignores the query and answers its fixture, whose
		// metadata has no order_id: the adapter's own filter drops it.
		if len(got) != 0 {
			t.Fatalf("PaymentsForOrder = %+v; the fixture is not order-1's", got)
		}
	})

	t.Run("PaymentsForOrderList", func(t *testing.T) {
		rc := newRecorder(t, mock)
		p := newProvider(t, rc.srv.URL, func(o *Options) { o.Lookup = LookupList; o.ListWindow = time.Hour })
		before := time.Now()
		got, err := p.PaymentsForOrder(ctx, "order-1")
		if err != nil || len(got) != 0 {
			t.Fatalf("PaymentsForOrder = %+v, %v", got, err)
		}
		ex := rc.take()
		if len(ex) != 1 || ex[0].Path != "/v1/payment_intents" || ex[0].Status != 200 || ex[0].Query.Get("limit") != "100" {
			t.Fatalf("requests %+v", ex)
		}
		gte := ex[0].Query.Get("created[gte]")
		if want := before.Add(-time.Hour).Unix(); gte == "" || mustInt(t, gte) < want-5 || mustInt(t, gte) > want+5 {
			t.Fatalf("created[gte] = %q, want about %d", gte, want)
		}
	})

	t.Run("RefundRequestShape", func(t *testing.T) {
		rc := newRecorder(t, mock)
		p := newProvider(t, rc.srv.URL, nil)
		r, err := p.Refund(ctx, "pi_123", "refund:order-1")
		if err != nil {
			t.Fatal(err)
		}
		ex := rc.take()
		if len(ex) != 1 || ex[0].Method != "POST" || ex[0].Path != "/v1/refunds" || ex[0].Header.Get("Idempotency-Key") != "refund:order-1" ||
			ex[0].Form.Encode() != (url.Values{"payment_intent": {"pi_123"}}).Encode() || ex[0].RespHeader.Get("Idempotency-Key") != "refund:order-1" {
			t.Fatalf("requests %+v", ex)
		}
		if !strings.HasPrefix(r.ID, "re_") || r.PaymentID != "pi_123" || r.AmountCents <= 0 || r.Status != "succeeded" {
			t.Fatalf("refund %+v", r)
		}
	})

	t.Run("ErrorMapping", func(t *testing.T) { testErrorMapping(t, mock) })

	t.Run("FixtureEventNeedsMatchingAPIVersion", func(t *testing.T) {
		req, _ := http.NewRequest("GET", mock+"/v1/events/evt_123", nil)
		req.Header.Set("Authorization", "Bearer "+apiKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		now := time.Now()
		// stripe-mock's event fixture has "api_version": null, which
		// stripe-go refuses: the adapter does not ignore the mismatch
		// unless told to.
		if _, err := newProvider(t, mock, nil).ParseWebhook(body, sign(body, now), now); !errors.Is(err, payments.ErrBadPayload) || !strings.Contains(err.Error(), "API version") {
			t.Fatalf("fixture event: %v, want an API version ErrBadPayload", err)
		}
		lax := newProvider(t, mock, func(o *Options) { o.IgnoreAPIVersionMismatch = true })
		ev, err := lax.ParseWebhook(body, sign(body, now), now)
		if err != nil || ev.ID == "" || ev.Type == "" {
			t.Fatalf("fixture event with IgnoreAPIVersionMismatch: %+v, %v", ev, err)
		}
	})
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		t.Fatalf("%q is not an integer", s)
	}
	return n
}

func stripeError(typ, code, msg string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"type": typ, "code": code, "message": msg}})
	return string(b)
}

func testErrorMapping(t *testing.T, mock string) {
	// From stripe-mock itself: a key it does not accept.
	if _, err := newProvider(t, mock, func(o *Options) { o.APIKey = "sk_live_not_a_test_key" }).GetPayment(ctx, "pi_1"); !errors.Is(err, payments.ErrUnavailable) {
		t.Errorf("401 from stripe-mock: %v, want ErrUnavailable", err)
	}

	// Canned Stripe errors (stripe-mock answers success to everything
	// valid).
	rc := newRecorder(t, mock)
	cases := []struct {
		name   string
		status int
		body   string
		call   func(p *Provider) error
		want   error
	}{
		{"resource_missing", 404, stripeError("invalid_request_error", "resource_missing", "No such payment_intent: 'pi_1'"),
			func(p *Provider) error { _, err := p.GetPayment(ctx, "pi_1"); return err }, payments.ErrNotFound},
		{"idempotency_error", 400, stripeError("idempotency_error", "", "Keys for idempotent requests can only be used with the same parameters"),
			func(p *Provider) error { _, err := p.CreatePayment(ctx, "order-1", 1600, "EUR"); return err }, payments.ErrConflict},
		{"charge_already_refunded", 400, stripeError("invalid_request_error", "charge_already_refunded", "Charge has already been refunded."),
			func(p *Provider) error { _, err := p.Refund(ctx, "pi_1", "k2"); return err }, payments.ErrConflict},
		{"other invalid request", 400, stripeError("invalid_request_error", "parameter_invalid_integer", "Invalid integer"),
			func(p *Provider) error { _, err := p.CreatePayment(ctx, "order-1", 1600, "EUR"); return err }, payments.ErrInvalid},
		{"rate limited", 429, stripeError("invalid_request_error", "rate_limit", "Too many requests"),
			func(p *Provider) error { _, err := p.GetPayment(ctx, "pi_1"); return err }, payments.ErrUnavailable},
		{"lock timeout", 409, stripeError("invalid_request_error", "lock_timeout", "lock"),
			func(p *Provider) error { _, err := p.GetPayment(ctx, "pi_1"); return err }, payments.ErrUnavailable},
		{"server error", 500, stripeError("api_error", "", "boom"),
			func(p *Provider) error { _, err := p.PaymentsForOrder(ctx, "o"); return err }, payments.ErrUnavailable},
	}
	p := newProvider(t, rc.srv.URL, nil)
	for _, c := range cases {
		rc.setInject(func(*http.Request) (int, string, bool) { return c.status, c.body, true })
		if err := c.call(p); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}

	// A refund Stripe refuses with a plain 400 because the payment was
	// never paid: the adapter re-fetches (from stripe-mock: the fixture is
	// a declined, unpaid intent) and reports a conflict.
	rc.setInject(func(r *http.Request) (int, string, bool) {
		if r.Method == "POST" && r.URL.Path == "/v1/refunds" {
			return 400, stripeError("invalid_request_error", "", "This PaymentIntent does not have a successful charge to refund."), true
		}
		return 0, "", false
	})
	if _, err := p.Refund(ctx, "pi_1", "k3"); !errors.Is(err, payments.ErrConflict) {
		t.Errorf("refund of an unpaid intent: %v, want ErrConflict", err)
	}

	// A connection that drops before the answer: stripe-go retries (after
	// its 0.5 s backoff), with the same idempotency key, and the retry gets
	// through. Keep-alives are off so that net/http's transport, which
	// itself replays a request with an Idempotency-Key on a reused
	// connection, is not the one retrying.
	rc.take()
	var calls atomic.Int32
	rc.setInject(func(r *http.Request) (int, string, bool) {
		if calls.Add(1) == 1 {
			return dropConnection, "", true
		}
		return 0, "", false
	})
	retrying := newProvider(t, rc.srv.URL, func(o *Options) {
		o.MaxNetworkRetries = retries(1)
		o.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	})
	if _, err := retrying.CreatePayment(ctx, "order-9", 100, "EUR"); err != nil {
		t.Errorf("create after a dropped connection: %v", err)
	}
	ex := rc.take()
	if len(ex) != 2 || ex[0].Header.Get("Idempotency-Key") != "payment-intent:order-9" || ex[1].Header.Get("Idempotency-Key") != "payment-intent:order-9" || ex[1].Status != 200 {
		t.Errorf("%d requests: %+v", len(ex), ex)
	}
	rc.setInject(nil)

	// Nobody listening.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	_ = ln.Close()
	if _, err := newProvider(t, dead, nil).GetPayment(ctx, "pi_1"); !errors.Is(err, payments.ErrUnavailable) {
		t.Errorf("connection refused: %v, want ErrUnavailable", err)
	}

	// The caller's context ending is the caller's error, not the provider's.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := newProvider(t, mock, nil).GetPayment(cctx, "pi_1"); !errors.Is(err, context.Canceled) || errors.Is(err, payments.ErrUnavailable) {
		t.Errorf("canceled context: %v", err)
	}
}

func TestStatusMapping(t *testing.T) {
	for _, c := range []struct {
		status   string
		declined bool
		want     payments.Status
	}{
		{"requires_payment_method", false, payments.StatusRequiresPayment},
		{"requires_payment_method", true, payments.StatusFailed},
		{"requires_confirmation", false, payments.StatusRequiresPayment},
		{"requires_action", false, payments.StatusRequiresPayment},
		{"processing", false, payments.StatusProcessing},
		{"requires_capture", false, payments.StatusProcessing},
		{"succeeded", false, payments.StatusSucceeded},
		{"canceled", false, payments.StatusCanceled},
		{"some_future_status", false, payments.StatusProcessing},
	} {
		if got := Status(c.status, c.declined); got != c.want {
			t.Errorf("%s (error %v): %s, want %s", c.status, c.declined, got, c.want)
		}
	}
	pay := fromIntent(&paymentIntent{ID: "pi_1", Amount: 500, Currency: "eur", Status: "succeeded", Created: 10,
		Metadata: map[string]string{"order_id": "o-1"}, LatestCharge: &charge{AmountRefunded: 500}})
	if pay.OrderID != "o-1" || pay.Currency != "EUR" || pay.AmountRefundedCents != 500 || !pay.Paid() {
		t.Fatalf("fromIntent = %+v", pay)
	}
}

func TestNewValidatesOptions(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without a key succeeded")
	}
	if _, err := New(Options{APIKey: "sk_test_1", Lookup: "scan"}); err == nil {
		t.Error("New with an unknown lookup succeeded")
	}
	p, err := New(Options{APIKey: "sk_test_1"})
	if err != nil || p.opts.APIBase != DefaultAPIBase || p.Name() != "stripe" {
		t.Fatalf("defaults: %+v, %v", p, err)
	}
	// Without a webhook secret nothing verifies.
	body := paymentstest.Event("evt_1", payments.EventPaymentSucceeded, APIVersion, time.Now(), paymentstest.Intent("pi_1", "o", "succeeded"))
	if _, err := p.ParseWebhook(body, sign(body, time.Now()), time.Now()); !errors.Is(err, payments.ErrBadSignature) {
		t.Fatalf("no secret: %v", err)
	}
}

func TestDescriptorBuildsFromItsSettings(t *testing.T) {
	d := Descriptor()
	// GIVEN the three variables the descriptor declares
	p, err := d.New(payments.Values{EnvAPIKey: "sk_test_1", EnvWebhookSecret: "whsec_1", EnvAPIBase: "http://127.0.0.1:12111/"})
	if err != nil {
		t.Fatal(err)
	}
	// THEN each reaches its option
	o := p.(*Provider).opts
	if o.APIKey != "sk_test_1" || o.WebhookSecret != "whsec_1" || o.APIBase != "http://127.0.0.1:12111" {
		t.Fatalf("options %+v", o)
	}
	// AND the API key is what turns the provider on
	if on, err := d.Configured(payments.Values{EnvWebhookSecret: "whsec_1"}); on || err != nil {
		t.Fatalf("webhook secret alone: configured=%v, %v", on, err)
	}
	if on, err := d.Configured(payments.Values{EnvAPIKey: "sk_test_1"}); !on || err != nil {
		t.Fatalf("API key alone: configured=%v, %v", on, err)
	}
}
