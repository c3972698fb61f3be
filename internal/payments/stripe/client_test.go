package stripe

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/payments"
)

// seen is one request the fake Stripe received.
type seen struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
	Body         string
}

// fakeStripe is an httptest server answering with answer, for what
// stripe-mock cannot show: several pages, errors, retries, dropped and
// slow answers.
type fakeStripe struct {
	srv *httptest.Server

	mu   sync.Mutex
	reqs []seen
}

func newFake(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, n int)) *fakeStripe {
	t.Helper()
	f := &fakeStripe{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: string(body)})
		n := len(f.reqs)
		f.mu.Unlock()
		answer(w, r, n)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeStripe) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_fake")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func intentJSON(id, orderID string, created int64) map[string]any {
	return map[string]any{"id": id, "object": "payment_intent", "amount": 1500, "currency": "eur", "status": "succeeded",
		"created": created, "client_secret": id + "_secret", "metadata": map[string]any{"order_id": orderID},
		"latest_charge": map[string]any{"id": "ch_" + id, "object": "charge", "amount_refunded": 0}}
}

func errorJSON(typ, code string) map[string]any {
	return map[string]any{"error": map[string]any{"type": typ, "code": code, "message": typ + " " + code}}
}

// fakeProvider is a provider on f whose waits between retries are
// recorded instead of slept.
func fakeProvider(t *testing.T, f *fakeStripe, tweak func(*Options)) (*Provider, *[]time.Duration) {
	t.Helper()
	p := newProvider(t, f.srv.URL, tweak)
	var waits []time.Duration
	var mu sync.Mutex
	p.c.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return ctx.Err()
	}
	return p, &waits
}

func TestRequestHeaders(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/refunds" {
			writeJSON(w, 200, map[string]any{"id": "re_1", "object": "refund", "amount": 1500, "status": "succeeded", "payment_intent": "pi_1"})
			return
		}
		writeJSON(w, 200, intentJSON("pi_1", "o-1", 100))
	})
	p, _ := fakeProvider(t, f, nil)
	if _, err := p.GetPayment(ctx, "pi_1"); err != nil {
		t.Fatal(err)
	}
	r, err := p.Refund(ctx, "pi_1", "refund:o-1")
	if err != nil || r.PaymentID != "pi_1" || r.AmountCents != 1500 {
		t.Fatalf("refund %+v, %v", r, err)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	for _, q := range reqs {
		if q.Header.Get("Authorization") != "Bearer "+apiKey || q.Header.Get("Stripe-Version") != "2026-02-25.clover" ||
			!strings.HasPrefix(q.Header.Get("User-Agent"), "StarArena/") {
			t.Errorf("%s %s headers %v", q.Method, q.Path, q.Header)
		}
	}
	get, post := reqs[0], reqs[1]
	if get.Header.Get("Idempotency-Key") != "" || get.Header.Get("Content-Type") != "" || get.Body != "" {
		t.Errorf("GET sent a key, a content type or a body: %+v", get)
	}
	if post.Header.Get("Idempotency-Key") != "refund:o-1" || post.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
		post.Body != "payment_intent=pi_1" || len(post.Query) != 0 {
		t.Errorf("POST %+v", post)
	}
}

func TestListPagesWithStartingAfter(t *testing.T) {
	// GIVEN 250 PaymentIntents, newest first, served 100 to a page
	const total = 250
	ids := make([]string, total)
	for i := range ids {
		ids[i] = fmt.Sprintf("pi_%03d", total-i) // pi_250 is the newest
	}
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		start := 0
		if after := r.URL.Query().Get("starting_after"); after != "" {
			for i, id := range ids {
				if id == after {
					start = i + 1
				}
			}
		}
		end := min(start+100, total)
		data := []any{}
		for i := start; i < end; i++ {
			order := "other"
			if i%50 == 0 {
				order = "o-paged"
			}
			data = append(data, intentJSON(ids[i], order, int64(total-i)))
		}
		writeJSON(w, 200, map[string]any{"object": "list", "url": "/v1/payment_intents", "data": data, "has_more": end < total})
	})
	now := time.Unix(1_000_000, 0)
	p, _ := fakeProvider(t, f, func(o *Options) { o.Lookup = LookupList; o.ListWindow = time.Hour; o.Clock = clock.NewManual(now) })

	// WHEN every PaymentIntent since a time is listed
	got, err := p.PaymentsSince(ctx, now.Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// THEN three pages were asked for, each after the last id of the one before
	reqs := f.requests()
	wantAfter := []string{"", "pi_151", "pi_051"}
	if len(reqs) != len(wantAfter) {
		t.Fatalf("%d requests, want %d", len(reqs), len(wantAfter))
	}
	for i, q := range reqs {
		if q.Method != "GET" || q.Path != "/v1/payment_intents" || q.Query.Get("starting_after") != wantAfter[i] ||
			q.Query.Get("limit") != "100" || q.Query.Get("expand[0]") != "data.latest_charge" ||
			q.Query.Get("created[gte]") != fmt.Sprint(now.Add(-2*time.Hour).Unix()) {
			t.Errorf("request %d: %s %s %v", i+1, q.Method, q.Path, q.Query)
		}
	}
	// AND every PaymentIntent came back once, oldest first
	if len(got) != total || got[0].ID != "pi_001" || got[total-1].ID != "pi_250" {
		t.Fatalf("%d payments, from %s to %s", len(got), got[0].ID, got[len(got)-1].ID)
	}

	// AND the list lookup of an order reads every page, keeps its own
	t.Run("PaymentsForOrderList", func(t *testing.T) {
		got, err := p.PaymentsForOrder(ctx, "o-paged")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 5 || got[0].ID != "pi_050" || got[4].ID != "pi_250" {
			t.Fatalf("PaymentsForOrder = %+v", got)
		}
		reqs := f.requests()[3:]
		if len(reqs) != 3 || reqs[0].Query.Get("created[gte]") != fmt.Sprint(now.Add(-time.Hour).Unix()) {
			t.Fatalf("requests %+v", reqs)
		}
	})

	// AND MaxScan stops the paging once exceeded
	t.Run("MaxScan", func(t *testing.T) {
		before := len(f.requests())
		p, _ := fakeProvider(t, f, func(o *Options) { o.MaxScan = 150 })
		if _, err := p.PaymentsSince(ctx, now.Add(-2*time.Hour)); !errors.Is(err, payments.ErrUnavailable) {
			t.Fatalf("PaymentsSince beyond MaxScan: %v, want ErrUnavailable", err)
		}
		if n := len(f.requests()) - before; n != 2 {
			t.Fatalf("%d pages read for a scan bound of 150, want 2", n)
		}
	})
}

func TestSearchPagesWithNextPage(t *testing.T) {
	// GIVEN a search whose results come in three pages, linked by cursors
	pages := map[string]map[string]any{
		"": {"object": "search_result", "has_more": true, "next_page": "cursor+2/=",
			"data": []any{intentJSON("pi_c", "o-s", 30), intentJSON("pi_x", "o-other", 31)}},
		"cursor+2/=": {"object": "search_result", "has_more": true, "next_page": "cursor3",
			"data": []any{intentJSON("pi_a", "o-s", 10)}},
		"cursor3": {"object": "search_result", "has_more": false, "next_page": nil,
			"data": []any{intentJSON("pi_b", "o-s", 20)}},
	}
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		pg, ok := pages[r.URL.Query().Get("page")]
		if !ok {
			writeJSON(w, 400, errorJSON("invalid_request_error", "parameter_invalid"))
			return
		}
		writeJSON(w, 200, pg)
	})
	p, _ := fakeProvider(t, f, nil)

	// WHEN the order's payments are searched for
	got, err := p.PaymentsForOrder(ctx, "o-s")
	if err != nil {
		t.Fatal(err)
	}
	// THEN each page after the first names the previous one's next_page
	reqs := f.requests()
	wantPage := []string{"", "cursor+2/=", "cursor3"}
	if len(reqs) != len(wantPage) {
		t.Fatalf("%d requests, want %d", len(reqs), len(wantPage))
	}
	for i, q := range reqs {
		_, hasPage := q.Query["page"]
		if q.Path != "/v1/payment_intents/search" || q.Query.Get("page") != wantPage[i] || hasPage != (i > 0) ||
			q.Query.Get("query") != "metadata['order_id']:'o-s'" || q.Query.Get("limit") != "100" ||
			q.Query.Get("expand[0]") != "data.latest_charge" {
			t.Errorf("request %d: %s %v", i+1, q.Path, q.Query)
		}
	}
	// AND the order's three payments come back oldest first, the other order's not at all
	if len(got) != 3 || got[0].ID != "pi_a" || got[1].ID != "pi_b" || got[2].ID != "pi_c" {
		t.Fatalf("PaymentsForOrder = %+v", got)
	}

	t.Run("HasMoreWithoutCursorIsAnError", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int) {
			writeJSON(w, 200, map[string]any{"object": "search_result", "has_more": true, "next_page": nil, "data": []any{}})
		})
		p, _ := fakeProvider(t, f, nil)
		if _, err := p.PaymentsForOrder(ctx, "o-s"); !errors.Is(err, payments.ErrUnavailable) {
			t.Fatalf("has_more without next_page: %v, want ErrUnavailable", err)
		}
		if n := len(f.requests()); n != 1 {
			t.Fatalf("%d requests", n)
		}
	})
	t.Run("ListHasMoreWithoutDataIsAnError", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int) {
			writeJSON(w, 200, map[string]any{"object": "list", "has_more": true, "data": []any{}})
		})
		p, _ := fakeProvider(t, f, nil)
		if _, err := p.PaymentsSince(ctx, time.Unix(0, 0)); !errors.Is(err, payments.ErrUnavailable) {
			t.Fatalf("has_more without data: %v, want ErrUnavailable", err)
		}
		if n := len(f.requests()); n != 1 {
			t.Fatalf("%d requests", n)
		}
	})
}

func TestRetryDecision(t *testing.T) {
	h := func(v string) http.Header {
		hd := http.Header{}
		if v != "" {
			hd.Set("Stripe-Should-Retry", v)
		}
		return hd
	}
	apiErr := &apiError{Status: 400}
	for _, c := range []struct {
		name   string
		err    error
		status int
		header http.Header
		want   bool
	}{
		{"NoAnswer", errors.New("connection reset by peer"), 0, nil, true},
		{"Timeout", &url.Error{Op: "Post", URL: "x", Err: context.DeadlineExceeded}, 0, nil, true},
		{"CertificateRefused", &tls.CertificateVerificationError{Err: errors.New("unknown authority")}, 0, nil, false},
		{"Conflict", apiErr, 409, h(""), true},
		{"RateLimited", apiErr, 429, h(""), true},
		{"ServerError", apiErr, 500, h(""), true},
		{"Unavailable", apiErr, 503, h(""), true},
		{"BadRequest", apiErr, 400, h(""), false},
		{"PaymentRequired", apiErr, 402, h(""), false},
		{"NotFound", apiErr, 404, h(""), false},
		{"Unauthorized", apiErr, 401, h(""), false},
		{"ShouldRetryFalseOnServerError", apiErr, 500, h("false"), false},
		{"ShouldRetryFalseOnConflict", apiErr, 409, h("false"), false},
		{"ShouldRetryTrueOnBadRequest", apiErr, 400, h("true"), true},
		{"ShouldRetryOtherValueIgnored", apiErr, 400, h("maybe"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := retryable(c.err, c.status, c.header); got != c.want {
				t.Fatalf("retryable(%v, %d, %v) = %v, want %v", c.err, c.status, c.header, got, c.want)
			}
		})
	}
}

func TestRetryDelay(t *testing.T) {
	for n, base := range []time.Duration{500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second, 5 * time.Second, 5 * time.Second} {
		for range 200 {
			d := retryDelay(n)
			if d > base || d < base*3/4 || d < minRetryDelay {
				t.Fatalf("retryDelay(%d) = %s, want within [%s, %s] and at least %s", n, d, base*3/4, base, minRetryDelay)
			}
		}
	}
}

func TestRetries(t *testing.T) {
	t.Run("WriteRetriedWithTheSameKeyAndBody", func(t *testing.T) {
		// GIVEN Stripe answers a create with a 409, then a 429 lock timeout, then the PaymentIntent
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			switch n {
			case 1:
				writeJSON(w, 409, errorJSON("idempotency_error", ""))
			case 2:
				writeJSON(w, 429, errorJSON("invalid_request_error", "lock_timeout"))
			default:
				writeJSON(w, 200, intentJSON("pi_r", "o-r", 5))
			}
		})
		p, waits := fakeProvider(t, f, func(o *Options) { o.MaxNetworkRetries = retries(2) })
		// WHEN the order's payment is created
		pay, err := p.CreatePayment(ctx, "o-r", 1500, "EUR")
		// THEN the third attempt's answer is the result
		if err != nil || pay.ID != "pi_r" {
			t.Fatalf("CreatePayment = %+v, %v", pay, err)
		}
		// AND all three attempts carried the order's key and the same body
		reqs := f.requests()
		if len(reqs) != 3 {
			t.Fatalf("%d requests, want 3", len(reqs))
		}
		for _, q := range reqs {
			if q.Header.Get("Idempotency-Key") != "payment-intent:o-r" || q.Body != reqs[0].Body {
				t.Errorf("attempt: key %q body %q, first body %q", q.Header.Get("Idempotency-Key"), q.Body, reqs[0].Body)
			}
		}
		if want := "amount=1500&automatic_payment_methods[enabled]=true&currency=eur&metadata[order_id]=o-r"; reqs[0].Body != want {
			t.Errorf("body %q, want %q", reqs[0].Body, want)
		}
		// AND it waited the backoff before each retry
		if len(*waits) != 2 || (*waits)[0] < minRetryDelay || (*waits)[1] < (*waits)[0]*3/4 {
			t.Errorf("waits %v", *waits)
		}
	})

	t.Run("GiveUpAfterMaxNetworkRetries", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 503, errorJSON("api_error", "")) })
		p, waits := fakeProvider(t, f, func(o *Options) { o.MaxNetworkRetries = retries(3) })
		if _, err := p.GetPayment(ctx, "pi_1"); !errors.Is(err, payments.ErrUnavailable) {
			t.Fatalf("GetPayment: %v, want ErrUnavailable", err)
		}
		if n := len(f.requests()); n != 4 || len(*waits) != 3 {
			t.Fatalf("%d requests and %d waits, want 4 and 3", n, len(*waits))
		}
	})

	t.Run("StripeSaysDoNotRetry", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Stripe-Should-Retry", "false")
			writeJSON(w, 500, errorJSON("api_error", ""))
		})
		p, _ := fakeProvider(t, f, func(o *Options) { o.MaxNetworkRetries = retries(2) })
		if _, err := p.Refund(ctx, "pi_1", "k-1"); !errors.Is(err, payments.ErrUnavailable) {
			t.Fatalf("Refund: %v, want ErrUnavailable", err)
		}
		if n := len(f.requests()); n != 1 {
			t.Fatalf("%d requests, want 1", n)
		}
	})

	t.Run("StripeSaysRetry", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 1 {
				w.Header().Set("Stripe-Should-Retry", "true")
				writeJSON(w, 400, errorJSON("invalid_request_error", "some_transient_state"))
				return
			}
			writeJSON(w, 200, intentJSON("pi_1", "o-1", 1))
		})
		p, _ := fakeProvider(t, f, func(o *Options) { o.MaxNetworkRetries = retries(2) })
		if _, err := p.GetPayment(ctx, "pi_1"); err != nil {
			t.Fatal(err)
		}
		if n := len(f.requests()); n != 2 {
			t.Fatalf("%d requests, want 2", n)
		}
	})

	t.Run("InvalidRequestNotRetried", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			writeJSON(w, 400, errorJSON("invalid_request_error", "parameter_invalid_integer"))
		})
		p, _ := fakeProvider(t, f, func(o *Options) { o.MaxNetworkRetries = retries(2) })
		if _, err := p.CreatePayment(ctx, "o-1", 100, "EUR"); !errors.Is(err, payments.ErrInvalid) {
			t.Fatalf("CreatePayment: %v, want ErrInvalid", err)
		}
		if n := len(f.requests()); n != 1 {
			t.Fatalf("%d requests, want 1", n)
		}
	})

	t.Run("TruncatedAnswerRetried", func(t *testing.T) {
		// The status and part of the body arrive, then the connection drops.
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 1 {
				w.Header().Set("Content-Length", "500")
				w.WriteHeader(200)
				_, _ = w.Write([]byte(`{"id":"pi_`))
				w.(http.Flusher).Flush()
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					_ = conn.Close()
				}
				return
			}
			writeJSON(w, 200, intentJSON("pi_t", "o-t", 1))
		})
		p, _ := fakeProvider(t, f, func(o *Options) { o.MaxNetworkRetries = retries(1) })
		pay, err := p.GetPayment(ctx, "pi_t")
		if err != nil || pay.ID != "pi_t" {
			t.Fatalf("GetPayment = %+v, %v", pay, err)
		}
		if n := len(f.requests()); n != 2 {
			t.Fatalf("%d requests, want 2", n)
		}
	})

	t.Run("TimeoutRetriedThenUnavailable", func(t *testing.T) {
		// Every attempt outlives the client's timeout.
		release := make(chan struct{})
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		defer close(release)
		p, waits := fakeProvider(t, f, func(o *Options) {
			o.MaxNetworkRetries = retries(1)
			o.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond}
		})
		if _, err := p.GetPayment(ctx, "pi_1"); !errors.Is(err, payments.ErrUnavailable) {
			t.Fatalf("GetPayment: %v, want ErrUnavailable", err)
		}
		if len(*waits) != 1 {
			t.Fatalf("%d retries, want 1", len(*waits))
		}
	})

	t.Run("ContextEndsWhileWaiting", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 500, errorJSON("api_error", "")) })
		p := newProvider(t, f.srv.URL, func(o *Options) { o.MaxNetworkRetries = retries(5) })
		cctx, cancel := context.WithCancel(ctx)
		p.c.sleep = func(c context.Context, d time.Duration) error {
			cancel() // the caller gives up during the first wait
			return sleepContext(c, d)
		}
		_, err := p.GetPayment(cctx, "pi_1")
		if !errors.Is(err, context.Canceled) || errors.Is(err, payments.ErrUnavailable) {
			t.Fatalf("GetPayment: %v, want the caller's context.Canceled", err)
		}
		if n := len(f.requests()); n != 1 {
			t.Fatalf("%d requests after the caller gave up, want 1", n)
		}
	})

	t.Run("CertificateRefusedNotRetried", func(t *testing.T) {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.Error("a request reached the server past a refused certificate")
		}))
		defer srv.Close()
		srv.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
		p := newProvider(t, srv.URL, func(o *Options) { o.MaxNetworkRetries = retries(2) })
		tries := 0
		p.c.sleep = func(context.Context, time.Duration) error { tries++; return nil }
		if _, err := p.GetPayment(ctx, "pi_1"); !errors.Is(err, payments.ErrUnavailable) {
			t.Fatalf("GetPayment: %v, want ErrUnavailable", err)
		}
		if tries != 0 {
			t.Fatalf("%d retries after a refused certificate", tries)
		}
	})
}

func TestErrorAnswers(t *testing.T) {
	for _, c := range []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"CardDeclined", 402, `{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}`, payments.ErrInvalid},
		{"PaymentIntentUnexpectedState", 400, `{"error":{"type":"invalid_request_error","code":"payment_intent_unexpected_state","message":"x"}}`, payments.ErrConflict},
		{"Forbidden", 403, `{"error":{"type":"invalid_request_error","message":"restricted key"}}`, payments.ErrUnavailable},
		{"NotAStripeError", 400, `{"message":"from a proxy"}`, payments.ErrUnavailable},
		{"NotJSON", 502, `<html>Bad Gateway</html>`, payments.ErrUnavailable},
		{"SuccessNotJSON", 200, `<html>captive portal</html>`, payments.ErrUnavailable},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("Request-Id", "req_answer")
				w.WriteHeader(c.status)
				_, _ = io.WriteString(w, c.body)
			})
			p, _ := fakeProvider(t, f, nil)
			_, err := p.CreatePayment(ctx, "o-1", 100, "EUR")
			if !errors.Is(err, c.want) {
				t.Fatalf("CreatePayment: %v, want %v", err, c.want)
			}
			if strings.HasPrefix(c.body, `{"error"`) && !strings.Contains(err.Error(), "req_answer") {
				t.Fatalf("error %q does not name the request id", err)
			}
		})
	}
}

func TestLoggerOption(t *testing.T) {
	// GIVEN a logger at debug level and Stripe answering a decline, then a 500, then success
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch n {
		case 1:
			writeJSON(w, 402, errorJSON("card_error", "card_declined"))
		case 2:
			writeJSON(w, 500, errorJSON("api_error", ""))
		default:
			writeJSON(w, 200, intentJSON("pi_1", "o-1", 1))
		}
	})
	p, _ := fakeProvider(t, f, func(o *Options) { o.Logger = logger; o.MaxNetworkRetries = retries(1) })
	_, _ = p.CreatePayment(ctx, "o-1", 100, "EUR")
	if _, err := p.GetPayment(ctx, "pi_1"); err != nil {
		t.Fatal(err)
	}
	// THEN every line names the provider; the decline is debug, the 500 and its retry warnings
	mu.Lock()
	defer mu.Unlock()
	var lines []map[string]any
	for line := range strings.Lines(buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		if m["provider"] != Name {
			t.Errorf("line without provider=stripe: %s", line)
		}
		lines = append(lines, m)
	}
	level := func(msg string, status float64) []string {
		var out []string
		for _, m := range lines {
			if m["msg"] == msg && (status == 0 || m["status"] == status) {
				out = append(out, m["level"].(string))
			}
		}
		return out
	}
	if got := level("stripe error answer", 402); len(got) != 1 || got[0] != "DEBUG" {
		t.Errorf("the 402 was logged at %v, want DEBUG once", got)
	}
	if got := level("stripe error answer", 500); len(got) != 1 || got[0] != "WARN" {
		t.Errorf("the 500 was logged at %v, want WARN once", got)
	}
	if got := level("stripe request retried", 0); len(got) != 1 || got[0] != "WARN" {
		t.Errorf("the retry was logged at %v, want WARN once", got)
	}
	if got := level("stripe request", 0); len(got) != 3 {
		t.Errorf("%d request lines, want 3", len(got))
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func TestNewRefusesABadAPIBase(t *testing.T) {
	for _, base := range []string{"ftp://api.stripe.com", "api.stripe.com", "http://", "https://api.stripe.com/?x=1", "://x"} {
		if _, err := New(Options{APIKey: "sk_test_1", APIBase: base}); err == nil {
			t.Errorf("New with API base %q succeeded", base)
		}
	}
	if _, err := New(Options{APIKey: "sk_test_1", MaxNetworkRetries: retries(-1)}); err == nil {
		t.Error("New with negative retries succeeded")
	}
}

func TestPaymentIDStaysInThePath(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int) { writeJSON(w, 200, intentJSON("pi_1", "o-1", 1)) })
	p, _ := fakeProvider(t, f, nil)
	if _, err := p.GetPayment(ctx, "pi_1?expand[0]=customer#x%41"); err != nil {
		t.Fatal(err)
	}
	q := f.requests()[0]
	if q.Path != "/v1/payment_intents/pi_1?expand[0]=customer#x%41" || len(q.Query) != 1 || q.Query.Get("expand[0]") != "latest_charge" {
		t.Fatalf("path %q, query %v", q.Path, q.Query)
	}
}
