// Package httpapi turns API Gateway HTTP API (payload v2) events into calls
// of plain Go handlers and their results or errors into JSON responses. The
// same Function value runs under lambda.Start in AWS and behind the local
// stack's HTTP server.
package httpapi

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/jsonbody"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/reqid"
	"github.com/stararena/stararena/internal/retry"
	"github.com/stararena/stararena/internal/tenancy"
	"github.com/stararena/stararena/internal/topology"
)

// DefaultMaxBody is the body limit of routes that declare none.
const DefaultMaxBody = limits.BodyBytes

// Request is what a handler sees.
type Request struct {
	Event    events.APIGatewayV2HTTPRequest
	Identity auth.Identity // zero on routes without auth
	// Access is what a staff route's caller may act on: the organization,
	// its role there and the event the request touches (zero elsewhere).
	Access tenancy.Access
	Body   []byte
	route  topology.Route
}

// Path returns a path parameter.
func (r *Request) Path(name string) string { return r.Event.PathParameters[name] }

// Query returns a query string parameter.
func (r *Request) Query(name string) string { return r.Event.QueryStringParameters[name] }

// Header returns a request header (API Gateway lower-cases names).
func (r *Request) Header(name string) string { return r.Event.Headers[strings.ToLower(name)] }

// Decode strictly decodes the JSON body into dst within the route's limit.
func (r *Request) Decode(dst any) error { return jsonbody.Decode(r.Body, r.MaxBody(), dst) }

// MaxBody is the route's body limit.
func (r *Request) MaxBody() int64 {
	if r.route.MaxBodyBytes > 0 {
		return r.route.MaxBodyBytes
	}
	return DefaultMaxBody
}

// Response is a handler's answer; Body is encoded as JSON.
type Response struct {
	Status  int
	Body    any
	Headers map[string]string
}

// JSON is a response with status and body.
func JSON(status int, body any) Response { return Response{Status: status, Body: body} }

// Handler serves one route.
type Handler func(ctx context.Context, r *Request) (Response, error)

// Guard decides whether id may call a staff route needing need on target
// (tenancy.Service).
type Guard interface {
	Authorize(ctx context.Context, id auth.Identity, need topology.Staff, target tenancy.Target) (tenancy.Access, error)
}

// Function dispatches the routes of one Lambda function by route key.
type Function struct {
	name   string
	routes map[string]topology.Route
	// all is every route of the topology: a request that reaches this
	// function on another function's path with the wrong method still
	// learns that path's methods.
	all   []topology.Route
	h     map[string]Handler
	log   *slog.Logger
	guard Guard
	// origin holds the accepted origin proofs (current and previous);
	// empty: no check (tests and tools that call handlers directly).
	origin []string
}

// RequireOrigin makes f refuse a request to a CDN route
// (topology.Route.ViaCDN) that does not carry one of proofs in
// topology.OriginHeader: such a request skipped CloudFront and its WAF.
// Two proofs let a rotation overlap. Empty proofs are ignored.
func (f *Function) RequireOrigin(proofs ...string) *Function {
	f.origin = nil
	for _, p := range proofs {
		if p != "" {
			f.origin = append(f.origin, p)
		}
	}
	return f
}

// OriginRefused is the error of a request that skipped the CDN.
func OriginRefused() error {
	return apperr.New(apperr.Forbidden, "this API is reached through the site's address only (its CDN); requests to the API's own address are refused")
}

// OriginProven reports whether got is one of proofs, in constant time.
func OriginProven(got string, proofs []string) bool {
	ok := 0
	for _, p := range proofs {
		ok |= subtle.ConstantTimeCompare([]byte(got), []byte(p))
	}
	return ok == 1 && got != ""
}

func (f *Function) checkOrigin(route topology.Route, ev events.APIGatewayV2HTTPRequest) error {
	if len(f.origin) == 0 || !route.ViaCDN() || OriginProven(ev.Headers[strings.ToLower(topology.OriginHeader)], f.origin) {
		return nil
	}
	return OriginRefused()
}

// Guarded sets the guard of f's staff routes. Without one a staff route
// answers 500 rather than run unchecked.
func (f *Function) Guarded(g Guard) *Function {
	f.guard = g
	return f
}

// NewFunction binds handlers (by route key) to the routes the topology gives
// function name. Every declared route must have a handler and every handler
// a declared route, so a route cannot be deployed without code or vice versa.
func NewFunction(name string, tp topology.Topology, handlers map[string]Handler, log *slog.Logger) (*Function, error) {
	if log == nil {
		log = slog.Default()
	}
	f := &Function{name: name, routes: map[string]topology.Route{}, all: tp.Routes, h: handlers, log: log.With("function", name)}
	var missing []string
	for _, r := range tp.RoutesOf(name) {
		f.routes[r.Key()] = r
		if handlers[r.Key()] == nil {
			missing = append(missing, r.Key())
		}
	}
	for k := range handlers {
		if _, ok := f.routes[k]; !ok {
			missing = append(missing, "undeclared "+k)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("function %s: routes and handlers differ: %s", name, strings.Join(missing, ", "))
	}
	return f, nil
}

// RouteKeys lists the route keys f serves.
func (f *Function) RouteKeys() []string {
	keys := make([]string, 0, len(f.routes))
	for k := range f.routes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Handle is the Lambda handler. It never returns an error: every failure,
// including a panic, becomes a JSON error response, because API Gateway
// would turn a returned error into a bare 500.
func (f *Function) Handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse, _ error) {
	start := time.Now()
	route, ok := f.routes[ev.RouteKey]
	ctx = reqid.With(ctx, ev.RequestContext.RequestID)
	log := f.log.With("requestId", ev.RequestContext.RequestID, "route", ev.RouteKey)
	if id := ev.PathParameters["eventId"]; id != "" {
		log = log.With("eventId", id)
	}
	if id := ev.PathParameters["orderId"]; id != "" {
		log = log.With("orderId", id)
	}
	defer func() {
		if p := recover(); p != nil {
			log.ErrorContext(ctx, "handler panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp = errorResponse(apperr.New(apperr.Internal, "internal error"))
		}
		lvl := slog.LevelInfo
		if resp.StatusCode >= 500 {
			lvl = slog.LevelError
		}
		log.Log(ctx, lvl, "request", "status", resp.StatusCode, "ms", time.Since(start).Milliseconds())
	}()
	if !ok {
		if allowed := topology.AllowedMethods(f.all, ev.RequestContext.HTTP.Path); len(allowed) > 0 {
			return MethodNotAllowed(ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path, allowed), nil
		}
		return errorResponse(apperr.New(apperr.NotFound, "no route %s", ev.RouteKey)), nil
	}
	var req *Request
	err := f.checkOrigin(route, ev)
	if err == nil {
		req, err = newRequest(ev, route)
	}
	if err == nil && route.Auth == topology.AuthOrganizer {
		err = f.authorize(ctx, req)
	}
	if err == nil {
		var out Response
		if out, err = f.serve(ctx, route, req); err == nil {
			return encode(out, route, ev.RequestContext.HTTP.Method), nil
		}
	}
	if apperr.CodeOf(err) == apperr.Internal {
		log.ErrorContext(ctx, "request failed", "err", err)
	} else {
		log.InfoContext(ctx, "request refused", "code", apperr.CodeOf(err), "err", err)
	}
	return errorResponse(err), nil
}

// serve runs the route's handler within a retry budget: its calls and
// every retry of them (the SDK's, the services') get retry.DeadlineShare of
// the time the function has left, and the rest is left to answer. A
// handler that ran out of that budget answers 503 UNAVAILABLE (come back
// shortly), not the 500 a function's deadline produces.
func (f *Function) serve(ctx context.Context, route topology.Route, req *Request) (Response, error) {
	bctx, cancel := retry.Policy{}.Bound(ctx)
	defer cancel()
	out, err := f.h[route.Key()](bctx, req)
	if err != nil && ctx.Err() == nil && errors.Is(bctx.Err(), context.DeadlineExceeded) && apperr.CodeOf(err) == apperr.Internal {
		err = apperr.Wrap(err, apperr.Unavailable, "the service is busy; retry after a short pause")
	}
	return out, err
}

// authorize runs the guard on a staff route: the route's declared role, in
// the organization its scope names.
func (f *Function) authorize(ctx context.Context, req *Request) error {
	if f.guard == nil {
		return apperr.New(apperr.Internal, "staff route %s has no guard", req.route.Key())
	}
	var t tenancy.Target
	switch req.route.Scope {
	case topology.ScopeOrg:
		t.Org = true
	case topology.ScopeEvent:
		t.EventID = req.Path("eventId")
	case topology.ScopeOrder:
		t.OrderID = req.Path("orderId")
	case topology.ScopeBodyEvent:
		// A lenient look: the handler decodes the body strictly and
		// refuses what is malformed.
		var b struct {
			EventID string `json:"eventId"`
		}
		_ = json.Unmarshal(req.Body, &b)
		t.EventID = b.EventID
	}
	acc, err := f.guard.Authorize(ctx, req.Identity, req.route.Staff, t)
	if err != nil {
		return err
	}
	req.Access = acc
	return nil
}

func newRequest(ev events.APIGatewayV2HTTPRequest, route topology.Route) (*Request, error) {
	req := &Request{Event: ev, route: route}
	switch route.Auth {
	case topology.AuthFan, topology.AuthOrganizer:
		id, ok := auth.FromRequest(ev.RequestContext)
		if !ok {
			return nil, apperr.New(apperr.Unauthorized, "sign in: this route needs a valid bearer token")
		}
		if route.Auth == topology.AuthOrganizer && !id.Staff() {
			return nil, apperr.New(apperr.Forbidden, "this route is for organizers and their staff")
		}
		if id.Machine {
			// An IAM-signed caller names the organization it acts for; its
			// grants there decide what it may do.
			id.Org = ev.Headers[strings.ToLower(auth.OrgHeader)]
		}
		req.Identity = id
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, apperr.New(apperr.InvalidJSON, "request body is not valid base64")
		}
		body = b
	}
	if ev.RequestContext.HTTP.Method == http.MethodGet || ev.RequestContext.HTTP.Method == http.MethodHead {
		body = nil // a GET's body has no meaning: ignore it rather than judge it
	}
	if int64(len(body)) > req.MaxBody() {
		return nil, apperr.New(apperr.TooLarge, "request body is %d bytes; the limit is %d", len(body), req.MaxBody())
	}
	if len(body) > 0 {
		if ct := ev.Headers["content-type"]; ct != "" {
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
				return nil, apperr.New(apperr.UnsupportedMedia, "send application/json")
			}
		}
	}
	req.Body = body
	return req, nil
}

func encode(out Response, route topology.Route, method string) events.APIGatewayV2HTTPResponse {
	status := out.Status
	if status == 0 {
		status = http.StatusOK
	}
	headers := map[string]string{"Content-Type": "application/json"}
	if method == http.MethodGet && status == http.StatusOK && route.CacheTTL > 0 {
		headers["Cache-Control"] = fmt.Sprintf("public, max-age=%d", int(route.CacheTTL.Seconds()))
	} else {
		headers["Cache-Control"] = "no-store"
	}
	for k, v := range out.Headers {
		headers[k] = v
	}
	body := ""
	if out.Body != nil {
		b, err := json.Marshal(out.Body)
		if err != nil {
			return errorResponse(apperr.Wrap(err, apperr.Internal, "encode response"))
		}
		body = string(b)
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: headers, Body: body}
}

// ErrorBody is the JSON error document of the contract.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code    apperr.Code    `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// Default Retry-After of the answers that must carry one and whose error
// names no wait: a fixed rate-limit window, a busy dependency.
const (
	DefaultRateLimitedRetryAfter = int(limits.RateWindow / time.Second)
	DefaultUnavailableRetryAfter = 1
)

func errorResponse(err error) events.APIGatewayV2HTTPResponse {
	code, msg, details := apperr.Public(err)
	b, _ := json.Marshal(ErrorBody{Error: ErrorDetail{Code: code, Message: msg, Details: details}})
	resp := events.APIGatewayV2HTTPResponse{
		StatusCode: apperr.Status(code),
		Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
		Body:       string(b),
	}
	// Every 429 and 503 says when to come back, so clients and the CDN
	// back off instead of retrying at once.
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		resp.Headers["Retry-After"] = strconv.Itoa(retryAfter(details, DefaultRateLimitedRetryAfter))
	case http.StatusServiceUnavailable:
		resp.Headers["Retry-After"] = strconv.Itoa(retryAfter(details, DefaultUnavailableRetryAfter))
	}
	return resp
}

// retryAfter is details.retryAfterSeconds when the error names one.
func retryAfter(details map[string]any, def int) int {
	switch v := details["retryAfterSeconds"].(type) {
	case int:
		if v > 0 {
			return v
		}
	case int64:
		if v > 0 {
			return int(v)
		}
	case float64:
		if v > 0 {
			return int(v)
		}
	}
	return def
}

// MethodNotAllowed is the answer to a known path asked with another
// method: 405 with the Allow header listing the path's methods.
func MethodNotAllowed(method, path string, allowed []string) events.APIGatewayV2HTTPResponse {
	resp := errorResponse(apperr.New(apperr.MethodNotAllowed, "%s is not allowed on %s; use %s", method, path, strings.Join(allowed, ", ")))
	resp.Headers["Allow"] = strings.Join(allowed, ", ")
	return resp
}

// WriteError writes err as the contract's JSON error to a net/http response
// (for the local stack's own endpoints and its authorizer).
func WriteError(w http.ResponseWriter, err error) { write(w, errorResponse(err)) }

// WriteMethodNotAllowed writes MethodNotAllowed to a net/http response.
func WriteMethodNotAllowed(w http.ResponseWriter, r *http.Request, allowed []string) {
	write(w, MethodNotAllowed(r.Method, r.URL.Path, allowed))
}

// write writes a Lambda proxy response's status, headers and body to a
// net/http response.
func write(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) {
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write([]byte(resp.Body))
}
