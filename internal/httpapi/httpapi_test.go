package httpapi_test

import (
	"context"
	"net/http"
	"testing"

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
