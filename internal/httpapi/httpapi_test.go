package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/topology"
)

func request(method, path, routeKey string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{RouteKey: routeKey, RawPath: path}
	ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = method, path
	return ev
}

// A path the function serves, asked with another method (a catch-all
// route, or API Gateway passing it on): 405 with every method of the path
// in Allow, including other functions'; an unknown path stays 404.
func TestWrongMethodIs405WithAllow(t *testing.T) {
	tp := topology.Default()
	ok := func(context.Context, *httpapi.Request) (httpapi.Response, error) {
		return httpapi.JSON(200, map[string]any{}), nil
	}
	handlers := map[string]httpapi.Handler{}
	for _, r := range tp.RoutesOf("orders") {
		handlers[r.Key()] = ok
	}
	fn, err := httpapi.NewFunction("orders", tp, handlers, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"PUT", "/v1/orders/o-1", http.StatusMethodNotAllowed, "DELETE, GET"},
		{"POST", "/v1/orders/o-1/tickets", http.StatusMethodNotAllowed, "GET"},
		{"GET", "/v1/events/e-1/holds", http.StatusMethodNotAllowed, "POST"},
		{"GET", "/v1/orders/o-1/nothing", http.StatusNotFound, ""},
		{"GET", "/v1/orders//tickets", http.StatusNotFound, ""},
	} {
		resp, _ := fn.Handle(context.Background(), request(c.method, c.path, "$default"))
		if resp.StatusCode != c.status || resp.Headers["Allow"] != c.allow {
			t.Errorf("%s %s: %d Allow %q, want %d Allow %q (%s)", c.method, c.path, resp.StatusCode, resp.Headers["Allow"], c.status, c.allow, resp.Body)
		}
		if c.status == http.StatusMethodNotAllowed && resp.Body == "" {
			t.Errorf("%s %s: no JSON error body", c.method, c.path)
		}
	}
}

// Every 429 and 503 carries Retry-After: the wait the error names, else a
// default (a rate window, a second).
func TestRetryAfterOnEvery429And503(t *testing.T) {
	tp := topology.Topology{Functions: []topology.Function{{Name: "f"}},
		Routes: []topology.Route{{Method: "GET", Path: "/x", Function: "f", Integration: topology.IntegrationLambda}}}
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"limited with a wait", apperr.New(apperr.RateLimited, "slow down").With("retryAfterSeconds", 17), "17"},
		{"limited without a wait", apperr.New(apperr.RateLimited, "slow down"), "60"},
		{"unavailable with a wait", apperr.New(apperr.Unavailable, "busy").With("retryAfterSeconds", 3), "3"},
		{"unavailable", apperr.New(apperr.Unavailable, "busy"), "1"},
		{"a throttled dependency", fault.E("get", fault.Unavailable, nil), "1"},
		{"conflict", apperr.New(apperr.Conflict, "no"), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			fn, err := httpapi.NewFunction("f", tp, map[string]httpapi.Handler{"GET /x": func(context.Context, *httpapi.Request) (httpapi.Response, error) {
				return httpapi.Response{}, c.err
			}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, _ := fn.Handle(context.Background(), request("GET", "/x", "GET /x"))
			if got := resp.Headers["Retry-After"]; got != c.want {
				t.Fatalf("%d: Retry-After %q, want %q", resp.StatusCode, got, c.want)
			}
		})
	}
}

// A handler that is still waiting on its dependencies when its share of
// the function's deadline runs out answers 503 UNAVAILABLE with
// Retry-After, before the deadline (which would answer 500).
func TestAHandlerOutOfBudgetAnswers503BeforeTheDeadline(t *testing.T) {
	tp := topology.Topology{Functions: []topology.Function{{Name: "f"}},
		Routes: []topology.Route{{Method: "GET", Path: "/x", Function: "f", Integration: topology.IntegrationLambda}}}
	fn, err := httpapi.NewFunction("f", tp, map[string]httpapi.Handler{"GET /x": func(ctx context.Context, _ *httpapi.Request) (httpapi.Response, error) {
		<-ctx.Done() // a dependency that never answers
		return httpapi.Response{}, fmt.Errorf("read: %w", ctx.Err())
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, _ := fn.Handle(ctx, request("GET", "/x", "GET /x"))
	if ctx.Err() != nil {
		t.Fatal("the handler was answered at the function's deadline, not within its budget")
	}
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Headers["Retry-After"] == "" || !strings.Contains(resp.Body, `"UNAVAILABLE"`) {
		t.Fatalf("%d Retry-After %q %s, want 503 UNAVAILABLE with Retry-After", resp.StatusCode, resp.Headers["Retry-After"], resp.Body)
	}
}

// A request to a CDN route without the origin proof skipped CloudFront and
// its WAF: 403 with the contract's JSON error. The current and the previous
// proof pass (a rotation overlaps); staff routes, whose callers use the
// API's own address, need none.
func TestOriginProofRequiredOnCDNRoutes(t *testing.T) {
	tp := topology.Default()
	ok := func(context.Context, *httpapi.Request) (httpapi.Response, error) {
		return httpapi.JSON(200, map[string]any{}), nil
	}
	function := func(name string) *httpapi.Function {
		handlers := map[string]httpapi.Handler{}
		for _, r := range tp.RoutesOf(name) {
			handlers[r.Key()] = ok
		}
		fn, err := httpapi.NewFunction(name, tp, handlers, nil)
		if err != nil {
			t.Fatal(err)
		}
		return fn.RequireOrigin("proof-new", "proof-old", "")
	}
	catalog := function("catalog")
	for _, c := range []struct {
		name, proof string
		status      int
	}{
		{"none", "", http.StatusForbidden},
		{"prefix", "proof-ne", http.StatusForbidden},
		{"current", "proof-new", http.StatusOK},
		{"previous", "proof-old", http.StatusOK},
	} {
		ev := request("GET", "/v1/events", "GET /v1/events")
		if c.proof != "" {
			ev.Headers = map[string]string{strings.ToLower(topology.OriginHeader): c.proof}
		}
		resp, _ := catalog.Handle(context.Background(), ev)
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d, want %d (%s)", c.name, resp.StatusCode, c.status, resp.Body)
			continue
		}
		if c.status == http.StatusForbidden {
			var body httpapi.ErrorBody
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || body.Error.Code != apperr.Forbidden ||
				!strings.Contains(body.Error.Message, "site's address") {
				t.Errorf("%s: body %s, want a FORBIDDEN error naming the site's address", c.name, resp.Body)
			}
		}
	}
	// No proof on a staff route: refused for the missing identity, not
	// for the origin.
	admin := function("admin")
	resp, _ := admin.Handle(context.Background(), request("GET", "/admin/v1/events/e-1/report", "GET /admin/v1/events/{eventId}/report"))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("staff route without proof: %d, want 401 (%s)", resp.StatusCode, resp.Body)
	}
}
