package devstack

import (
	"context"
	"encoding/base64"
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

// lambdaRoute serves one route the way API Gateway would: run the route's
// authorizer, build the payload v2 event (route key, path parameters,
// lower-cased headers, claims) and write the function's response.
func lambdaRoute(route topology.Route, verify func(string) (map[string]string, error), fn V2Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != route.Method {
			// ServeMux lets HEAD reach GET patterns; an HTTP API route
			// matches its method only.
			httpapi.WriteError(w, apperr.New(apperr.NotFound, "no route %s %s", r.Method, r.URL.Path))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, apiGatewayMaxBody))
		if err != nil {
			httpapi.WriteError(w, apperr.New(apperr.TooLarge, "request body over the 10 MB API limit"))
			return
		}
		ev := toEvent(r, route, body)
		switch route.Auth {
		case topology.AuthFan, topology.AuthOrganizer:
			// In AWS organizer routes are IAM-signed; locally both route
			// classes take a dev-issuer JWT and the handler checks the role.
			claims, ok := authorize(w, r, verify)
			if !ok {
				return
			}
			ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
			}
		}
		ctx := lambdacontext.NewContext(r.Context(), &lambdacontext.LambdaContext{AwsRequestID: ev.RequestContext.RequestID})
		resp, err := fn(ctx, ev)
		if err != nil {
			// What API Gateway answers when the integration fails.
			httpapi.WriteError(w, apperr.Wrap(err, apperr.Internal, "internal error"))
			return
		}
		writeResponse(w, resp)
	})
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
