package devstack_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/testenv/fixture"
	"github.com/stararena/stararena/internal/topology"
)

// The local API Gateway answers a known path asked with another method
// 405 with Allow (Lambda, SQS, local and sandbox routes alike), an unknown
// path 404, and its join limit (the WAF's stand-in) 429 with Retry-After.
func TestUnroutedRequestsAndTheJoinLimit(t *testing.T) {
	st := fixture.Stack(t, devstack.Options{WebDir: "../../web"})
	send := func(method, path, token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, st.URL()+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp
	}
	for _, c := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"POST", "/v1/events/e-1", http.StatusMethodNotAllowed, "GET"},
		{"HEAD", "/v1/events/e-1/holds", http.StatusMethodNotAllowed, "POST"},
		{"PUT", "/v1/orders/o-1", http.StatusMethodNotAllowed, "DELETE, GET"},
		{"GET", "/v1/events/e-1/queue", http.StatusMethodNotAllowed, "POST"},
		{"GET", "/dev/token", http.StatusMethodNotAllowed, "POST"},
		{"DELETE", "/sandbox/payments/p-1", http.StatusMethodNotAllowed, "GET"},
		{"POST", "/healthz", http.StatusMethodNotAllowed, "GET"},
		{"GET", "/v1/nothing", http.StatusNotFound, ""},
		{"GET", "/v1/events/e-1/nothing", http.StatusNotFound, ""},
	} {
		resp := send(c.method, c.path, "")
		if resp.StatusCode != c.status || resp.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d Allow %q, want %d Allow %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Allow"), c.status, c.allow)
		}
		if ct := resp.Header.Get("Content-Type"); c.method != "HEAD" && !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s: Content-Type %q, want the JSON error", c.method, c.path, ct)
		}
	}

	tok, _, err := st.Issuer.Issue("joiner-1", auth.RoleFan)
	if err != nil {
		t.Fatal(err)
	}
	// Twice the limit and one: whatever window boundary falls between
	// them, one window sees more than the limit.
	limited := 0
	for range 2*limits.JoinsPerMinute + 1 {
		resp := send("POST", "/v1/events/e-1/queue", tok)
		if resp.StatusCode == http.StatusTooManyRequests {
			limited++
			if ra := resp.Header.Get("Retry-After"); ra != "60" {
				t.Fatalf("429 with Retry-After %q, want 60 (the WAF's)", ra)
			}
		}
	}
	if limited == 0 {
		t.Fatalf("none of %d joins limited", 2*limits.JoinsPerMinute+1)
	}
}

// The local file server sends the site's security headers, the ones
// CloudFront's response headers policy adds in AWS.
func TestSiteSendsTheSecurityHeaders(t *testing.T) {
	st := fixture.Stack(t, devstack.Options{WebDir: "../../web"})
	want := topology.SiteSecurityHeaders().Header()
	for _, path := range []string{"/", "/console/", "/app.js", "/style.css"} {
		resp, err := http.Get(st.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		for k, v := range want {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("GET %s: %s = %q, want %q", path, k, got, v)
			}
		}
	}
	if csp := want["Content-Security-Policy"]; !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("the CSP allows inline script: %s", csp)
	}
}

// TestServiceWorkerIsServedAsScriptAndNeverCached: the browser refuses a
// worker that is not JavaScript, and an HTTP-cached one would keep an old
// app shell after a deploy; the other files keep their defaults.
func TestServiceWorkerIsServedAsScriptAndNeverCached(t *testing.T) {
	st := fixture.Stack(t, devstack.Options{WebDir: "../../web"})
	get := func(path string) *http.Response {
		t.Helper()
		resp, err := http.Get(st.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		return resp
	}
	sw := get(topology.ServiceWorkerPath)
	if ct := sw.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("sw.js Content-Type %q", ct)
	}
	if cc := sw.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("sw.js Cache-Control %q, want no-cache", cc)
	}
	if csp := sw.Header.Get("Content-Security-Policy"); csp != topology.SiteSecurityHeaders().ContentSecurityPolicy {
		t.Errorf("sw.js CSP %q", csp)
	}
	if cc := get("/app.js").Header.Get("Cache-Control"); cc != "" {
		t.Errorf("app.js Cache-Control %q: only the worker is special", cc)
	}
}
