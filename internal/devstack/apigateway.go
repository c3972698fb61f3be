package devstack

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/uuid"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/topology"
)

// apiGatewayMaxBody is the HTTP API payload limit (10 MB).
const apiGatewayMaxBody = 10 << 20

// V2Handler is the Lambda handler shape of an HTTP API (payload v2) route.
type V2Handler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// APIGatewayIntegrationTimeout is the longest an HTTP API waits for an
// integration before answering 503.
const APIGatewayIntegrationTimeout = 30 * time.Second

// clocks are the two time limits on an HTTP invocation in AWS: the
// function's timeout, which Lambda enforces by stopping it (API Gateway
// then answers 500), and API Gateway's integration timeout (503). Zero is
// no limit.
type clocks struct {
	function, integration time.Duration
}

// routeClocks are the limits a route's function runs under: its topology
// timeout and API Gateway's, both multiplied by o.DeadlineScale.
func routeClocks(fn topology.Function, o Options) clocks {
	scale := o.DeadlineScale
	switch {
	case scale < 0:
		return clocks{}
	case scale == 0:
		scale = 1
	}
	integration := o.IntegrationTimeout
	switch {
	case integration < 0:
		integration = 0
	case integration == 0:
		integration = APIGatewayIntegrationTimeout
	}
	return clocks{function: time.Duration(float64(fn.Timeout) * scale), integration: time.Duration(float64(integration) * scale)}
}

// errFunctionTimeout and errIntegrationTimeout are what the limits of
// clocks end an invocation with.
var (
	errFunctionTimeout    = errors.New("function timed out")
	errIntegrationTimeout = errors.New("integration timed out")
)

// invoke runs fn within c. The function sees its timeout as its context's
// deadline, as in Lambda. Lambda stops a function at its timeout whatever
// it does; a goroutine cannot be stopped, so one that overruns is left to
// finish and its answer dropped. A panic is a function error, as the Lambda
// runtime reports it.
func (c clocks) invoke(ctx context.Context, fn V2Handler, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if c.function <= 0 && c.integration <= 0 {
		return fn(ctx, ev)
	}
	fnCtx, cancel := ctx, context.CancelFunc(func() {})
	if c.function > 0 {
		fnCtx, cancel = context.WithTimeout(ctx, c.function)
	}
	defer cancel()
	type result struct {
		resp events.APIGatewayV2HTTPResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("function panicked: %v", p)}
			}
		}()
		resp, err := fn(fnCtx, ev)
		done <- result{resp, err}
	}()
	var integration <-chan time.Time
	if c.integration > 0 {
		t := time.NewTimer(c.integration)
		defer t.Stop()
		integration = t.C
	}
	var stopped <-chan struct{}
	if c.function > 0 {
		stopped = fnCtx.Done()
	}
	timedOut := func() (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("%w after %s", errFunctionTimeout, c.function)
	}
	select {
	case r := <-done:
		if ctx.Err() == nil && errors.Is(fnCtx.Err(), context.DeadlineExceeded) {
			// It answered, but only after Lambda would have stopped it.
			return timedOut()
		}
		return r.resp, r.err
	case <-stopped:
		if ctx.Err() != nil {
			return events.APIGatewayV2HTTPResponse{}, ctx.Err()
		}
		return timedOut()
	case <-integration:
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("%w after %s", errIntegrationTimeout, c.integration)
	case <-ctx.Done():
		return events.APIGatewayV2HTTPResponse{}, ctx.Err()
	}
}

// lambdaRoute serves one route the way API Gateway would: run the route's
// authorizer, build the payload v2 event (route key, path parameters,
// lower-cased headers, claims), invoke the function within its clocks and
// write its response.
func lambdaRoute(route topology.Route, verify func(string) (map[string]string, error), fn V2Handler, lim clocks) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, apiGatewayMaxBody))
		if err != nil {
			httpapi.WriteError(w, apperr.New(apperr.TooLarge, "request body over the 10 MB API limit"))
			return
		}
		ev := toEvent(r, route, body)
		switch route.Auth {
		case topology.AuthFan, topology.AuthOrganizer:
			// verify is the route class's authorizer (Stack.authorizer): it
			// proves who the caller is; what it may do, the handler checks.
			// The machine API's IAM path is not emulated.
			claims, ok := authorize(w, r, verify)
			if !ok {
				return
			}
			ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
			}
		}
		ctx := lambdacontext.NewContext(r.Context(), &lambdacontext.LambdaContext{AwsRequestID: ev.RequestContext.RequestID})
		resp, err := lim.invoke(ctx, fn, ev)
		if errors.Is(err, errIntegrationTimeout) {
			httpapi.WriteError(w, apperr.Wrap(err, apperr.Unavailable, "the function did not answer within API Gateway's %s", lim.integration))
			return
		}
		if err != nil {
			// What API Gateway answers when the integration fails,
			// including a function stopped at its timeout.
			httpapi.WriteError(w, apperr.Wrap(err, apperr.Internal, "internal error"))
			return
		}
		writeResponse(w, resp)
	})
}

// onlyMethod serves route's method with h and every other with unrouted:
// ServeMux lets HEAD reach GET patterns, an HTTP API route matches its
// method only.
func onlyMethod(route topology.Route, h, unrouted http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != route.Method {
			unrouted.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// unrouted answers a request no route takes: 405 with Allow when its path
// is a route's with another method, else 404.
func unrouted(routes []topology.Route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if allowed := topology.AllowedMethods(routes, r.URL.Path); len(allowed) > 0 {
			httpapi.WriteMethodNotAllowed(w, r, allowed)
			return
		}
		httpapi.WriteError(w, apperr.New(apperr.NotFound, "no route %s %s", r.Method, r.URL.Path))
	}
}

// authorize runs the JWT authorizer on a request: the claims, or false
// after answering 401.
func authorize(w http.ResponseWriter, r *http.Request, verify func(string) (map[string]string, error)) (map[string]string, bool) {
	tok, ok := auth.BearerToken(r.Header.Get("Authorization"))
	if !ok {
		httpapi.WriteError(w, apperr.New(apperr.Unauthorized, "sign in: send Authorization: Bearer <token>"))
		return nil, false
	}
	claims, err := verify(tok)
	if err != nil {
		httpapi.WriteError(w, apperr.Wrap(err, apperr.Unauthorized, "the bearer token is invalid or expired"))
		return nil, false
	}
	return claims, true
}

func toEvent(r *http.Request, route topology.Route, body []byte) events.APIGatewayV2HTTPRequest {
	now := time.Now()
	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       route.Key(),
		RawPath:        r.URL.EscapedPath(),
		RawQueryString: r.URL.RawQuery,
		Headers:        map[string]string{},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:   route.Key(),
			AccountID:  "000000000000",
			Stage:      "$default",
			RequestID:  uuid.NewString(),
			DomainName: r.Host,
			APIID:      "local",
			Time:       now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:  now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, UserAgent: r.UserAgent(),
			},
		},
	}
	ev.RequestContext.HTTP.SourceIP, _, _ = net.SplitHostPort(r.RemoteAddr)
	for _, name := range pathParams(route.Path) {
		if ev.PathParameters == nil {
			ev.PathParameters = map[string]string{}
		}
		ev.PathParameters[name] = r.PathValue(name)
	}
	if q := r.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters = map[string]string{}
		for k, v := range q {
			ev.QueryStringParameters[k] = strings.Join(v, ",")
		}
	}
	for k, v := range r.Header {
		if k == "Cookie" {
			for _, c := range r.Cookies() {
				ev.Cookies = append(ev.Cookies, c.Name+"="+c.Value)
			}
			continue
		}
		ev.Headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	if len(body) > 0 {
		if utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return ev
}

func pathParams(path string) []string {
	var names []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, strings.TrimSuffix(strings.Trim(seg, "{}"), "+"))
		}
	}
	return names
}

// muxPattern turns an API Gateway route into a ServeMux pattern; greedy
// {proxy+} becomes {proxy...}.
func muxPattern(route topology.Route) string {
	p := route.Path
	if i := strings.Index(p, "+}"); i >= 0 {
		p = p[:i] + "...}"
	}
	return route.Method + " " + p
}

func writeResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) {
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	out := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			httpapi.WriteError(w, apperr.Wrap(err, apperr.Internal, "bad function response"))
			return
		}
		out = b
	}
	if resp.StatusCode == 0 {
		resp.StatusCode = http.StatusOK
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(out)
}
