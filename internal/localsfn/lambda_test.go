package localsfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type invokeResult struct {
	status   int
	funcErr  string
	errType  string
	body     map[string]any
	rawBody  string
	executed string
}

func invoke(t *testing.T, url, fn, payload string, header ...string) invokeResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/2015-03-31/functions/"+fn+"/invocations", strings.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := invokeResult{status: res.StatusCode, funcErr: res.Header.Get("X-Amz-Function-Error"),
		errType: res.Header.Get("X-Amzn-ErrorType"), rawBody: string(b), executed: res.Header.Get("X-Amz-Executed-Version")}
	_ = json.Unmarshal(b, &r.body)
	return r
}

type wrappedTyped struct{ err error }

func (w wrappedTyped) Error() string { return "wrapped: " + w.err.Error() }
func (w wrappedTyped) Unwrap() error { return w.err }

func TestLambdaEndpoint(t *testing.T) {
	srv := httptest.NewServer(LambdaEndpoint(map[string]LambdaFunc{
		"echo": func(_ context.Context, p json.RawMessage) (json.RawMessage, error) { return p, nil },
		"nil":  func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, nil },
		"typed": func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return nil, wrappedTyped{&FunctionError{Type: "TicketIssuerUnavailable", Message: "issuer down"}}
		},
		"plain": func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, errors.New("boom") },
		"panics": func(context.Context, json.RawMessage) (json.RawMessage, error) {
			panic(fmt.Errorf("nil map"))
		},
		"bad-json": func(context.Context, json.RawMessage) (json.RawMessage, error) { return json.RawMessage("{"), nil },
	}))
	defer srv.Close()

	r := invoke(t, srv.URL, "echo", `{"orderId":"o1"}`)
	if r.status != 200 || r.funcErr != "" || r.body["orderId"] != "o1" || r.executed != "$LATEST" {
		t.Errorf("echo: %+v", r)
	}
	// A function ARN (as the Lambda SDK sends it) names the same function.
	r = invoke(t, srv.URL, "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aecho", `{"a":1}`)
	if r.status != 200 || r.body["a"] != float64(1) {
		t.Errorf("echo by ARN: %+v", r)
	}
	if r = invoke(t, srv.URL, "echo", ""); r.status != 200 || r.rawBody != "{}" {
		t.Errorf("empty payload: %+v", r)
	}
	if r = invoke(t, srv.URL, "nil", `{}`); r.status != 200 || r.rawBody != "null" {
		t.Errorf("nil result: %+v", r)
	}

	r = invoke(t, srv.URL, "typed", `{}`)
	if r.status != 200 || r.funcErr != "Unhandled" || r.body["errorType"] != "TicketIssuerUnavailable" ||
		!strings.Contains(fmt.Sprint(r.body["errorMessage"]), "issuer down") {
		t.Errorf("typed error: %+v", r)
	}
	r = invoke(t, srv.URL, "plain", `{}`)
	if r.status != 200 || r.funcErr != "Unhandled" || r.body["errorType"] != "Error" || r.body["errorMessage"] != "boom" {
		t.Errorf("plain error: %+v", r)
	}
	r = invoke(t, srv.URL, "panics", `{}`)
	if r.status != 200 || r.funcErr != "Unhandled" || r.body["errorType"] != "errorString" {
		t.Errorf("panic: %+v", r)
	}
	if r = invoke(t, srv.URL, "bad-json", `{}`); r.funcErr != "Unhandled" || r.body["errorType"] != "Runtime.MarshalError" {
		t.Errorf("invalid result: %+v", r)
	}

	r = invoke(t, srv.URL, "nope", `{}`)
	if r.status != 404 || r.errType != "ResourceNotFoundException" || !strings.Contains(r.rawBody, "function:nope") {
		t.Errorf("unknown function: %+v", r)
	}
	if r = invoke(t, srv.URL, "echo", `{not json`); r.status != 400 || r.errType != "InvalidRequestContentException" {
		t.Errorf("invalid payload: %+v", r)
	}
	if r = invoke(t, srv.URL, "echo", `{}`, "X-Amz-Invocation-Type", "Event"); r.status != 400 || r.errType != "InvalidParameterValueException" {
		t.Errorf("async invocation: %+v", r)
	}
	if r = invoke(t, srv.URL, "echo", `"`+strings.Repeat("x", maxPayload)+`"`); r.status != 413 || r.errType != "RequestTooLargeException" {
		t.Errorf("oversized payload: status %d type %q", r.status, r.errType)
	}
}
