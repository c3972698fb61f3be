package devstack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stararena/stararena/internal/topology"
)

// serveOnce answers one GET through a route whose function is fn, within
// lim, and returns the status, the error code and how long it took.
func serveOnce(t *testing.T, fn V2Handler, lim clocks) (int, string, time.Duration) {
	t.Helper()
	route := topology.Route{Method: "GET", Path: "/v1/slow", Integration: topology.IntegrationLambda, Function: "slow", Auth: topology.AuthNone}
	srv := httptest.NewServer(lambdaRoute(route, nil, fn, lim))
	defer srv.Close()
	began := time.Now()
	resp, err := http.Get(srv.URL + "/v1/slow")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	took := time.Since(began)
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		Error struct{ Code string }
	}
	_ = json.Unmarshal(b, &e)
	return resp.StatusCode, e.Error.Code, took
}

func ok(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Body: "{}"}, nil
}

// TestFunctionTimeoutIsTheDeadlineAndAnswers500: the function's context
// carries its timeout as deadline; when it overruns, the route answers
// 500 at the timeout (Lambda stops the function; API Gateway reports the
// integration failure), whether the function heeds the context or not.
func TestFunctionTimeoutIsTheDeadlineAndAnswers500(t *testing.T) {
	lim := clocks{function: 100 * time.Millisecond, integration: 5 * time.Second}
	var left atomic.Int64
	heeds := func(ctx context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		d, has := ctx.Deadline()
		if has {
			left.Store(int64(time.Until(d)))
		}
		<-ctx.Done()
		return events.APIGatewayV2HTTPResponse{}, ctx.Err()
	}
	status, code, took := serveOnce(t, heeds, lim)
	if status != http.StatusInternalServerError || code != "INTERNAL" {
		t.Fatalf("an overrunning function: %d %s, want 500 INTERNAL", status, code)
	}
	if l := time.Duration(left.Load()); l <= 0 || l > lim.function {
		t.Fatalf("the function saw %s left before its deadline, want at most its %s timeout", l, lim.function)
	}
	if took < lim.function || took > lim.function+time.Second {
		t.Fatalf("answered after %s, want at the %s timeout", took, lim.function)
	}

	release := make(chan struct{})
	defer close(release)
	ignores := func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		<-release
		return ok(context.Background(), events.APIGatewayV2HTTPRequest{})
	}
	if status, _, took := serveOnce(t, ignores, lim); status != http.StatusInternalServerError || took > lim.function+time.Second {
		t.Fatalf("a function ignoring its deadline: %d after %s, want 500 at the timeout", status, took)
	}

	late := func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		<-ctx.Done()
		return ok(ctx, ev) // a success Lambda would never have returned
	}
	if status, _, _ := serveOnce(t, late, lim); status != http.StatusInternalServerError {
		t.Fatalf("an answer after the deadline: %d, want 500", status)
	}
	if status, _, _ := serveOnce(t, ok, lim); status != http.StatusOK {
		t.Fatalf("a prompt function: %d, want 200", status)
	}
	panics := func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		panic("boom")
	}
	if status, _, _ := serveOnce(t, panics, lim); status != http.StatusInternalServerError {
		t.Fatalf("a panicking function: %d, want 500", status)
	}
}

// TestIntegrationTimeoutAnswers503: a function allowed longer than API
// Gateway waits is cut off by the integration timeout with 503.
func TestIntegrationTimeoutAnswers503(t *testing.T) {
	lim := clocks{function: 10 * time.Second, integration: 100 * time.Millisecond}
	release := make(chan struct{})
	defer close(release)
	slow := func(ctx context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return events.APIGatewayV2HTTPResponse{}, ctx.Err()
	}
	status, code, took := serveOnce(t, slow, lim)
	if status != http.StatusServiceUnavailable || code != "UNAVAILABLE" {
		t.Fatalf("%d %s, want 503 UNAVAILABLE", status, code)
	}
	if took < lim.integration || took > lim.integration+time.Second {
		t.Fatalf("answered after %s, want at the %s integration timeout", took, lim.integration)
	}
}

// TestRouteClocks: the defaults are AWS's (the topology timeout, 30 s),
// DeadlineScale stretches both, and a negative value switches them off.
func TestRouteClocks(t *testing.T) {
	holds, found := topology.Default().Function("holds")
	if !found || holds.Timeout == 0 {
		t.Fatal("the topology declares no timeout for holds")
	}
	for name, tc := range map[string]struct {
		o    Options
		want clocks
	}{
		"Defaults":         {Options{}, clocks{holds.Timeout, 30 * time.Second}},
		"ShortIntegration": {Options{IntegrationTimeout: time.Second}, clocks{holds.Timeout, time.Second}},
		"Scaled":           {Options{DeadlineScale: 4}, clocks{4 * holds.Timeout, 2 * time.Minute}},
		"NoIntegration":    {Options{IntegrationTimeout: -1}, clocks{holds.Timeout, 0}},
		"Off":              {Options{DeadlineScale: -1}, clocks{}},
	} {
		if got := routeClocks(holds, tc.o); got != tc.want {
			t.Errorf("%s: %+v, want %+v", name, got, tc.want)
		}
	}
}
