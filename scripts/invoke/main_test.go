package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/config"
	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/localdynamo"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/payments/providers"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/topology"
)

// otherSamples are the files of events/ not named after one function, with
// the check each must pass.
var otherSamples = map[string]func(t *testing.T, st *devstack.Stack, data []byte){
	// EventBridge's scheduled rule event: every scheduled function of the
	// topology runs on it.
	"scheduled-event.json": func(t *testing.T, st *devstack.Stack, data []byte) {
		var ev events.EventBridgeEvent
		strictDecode(t, data, &ev)
		if ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" || ev.Time.IsZero() ||
			ev.AccountID == "" || ev.Region == "" || len(ev.Resources) != 1 || !json.Valid(ev.Detail) {
			t.Errorf("not an EventBridge scheduled event: %+v", ev)
		}
		tp := topology.Default()
		for _, s := range tp.Schedules {
			t.Run(s.Function, func(t *testing.T) {
				check, ok := scheduled[s.Function]
				if !ok {
					t.Fatalf("schedule %s invokes %s, which has no check in scheduled", s.Name, s.Function)
				}
				dec, err := decodeEvent(tp, s.Function, data, true)
				if err != nil {
					t.Fatal(err)
				}
				before := time.Now().UTC()
				out, err := invoke(context.Background(), st, s.Function, dec)
				if err != nil {
					t.Fatal(err)
				}
				b, err := json.Marshal(out)
				if err != nil {
					t.Fatal(err)
				}
				check(t, st, b, before)
			})
		}
	},
}

// scheduled checks what each scheduled function answers to the scheduled
// event, and that it did its work.
var scheduled = map[string]func(t *testing.T, st *devstack.Stack, out []byte, before time.Time){
	// One tick per invocation unless the input asks for runFor.
	"inlet": func(t *testing.T, _ *devstack.Stack, out []byte, _ time.Time) {
		if string(out) != `{"ticks":1}` {
			t.Errorf("inlet answered %s, want one tick", out)
		}
	},
	// The payment sweep only: the demo's sales open in a minute and have
	// nothing open, so the scheduled run leaves their events alone (ADR 14,
	// "Reconciler work follows activity") and stores no report for them.
	"reconciler": func(t *testing.T, st *devstack.Stack, out []byte, before time.Time) {
		var got struct{ Events int }
		if err := json.Unmarshal(out, &got); err != nil || got.Events != 1 {
			t.Errorf("reconciler answered %s, want the payment sweep alone", out)
		}
		org := devToken(t, st, devstack.DemoOrg, "organizer")
		var rep struct {
			LastReconcile *struct{ StartedAt time.Time }
		}
		getJSON(t, st.URL()+"/admin/v1/events/"+devstack.DemoEventID+"/report", org, &rep)
		if rep.LastReconcile != nil && !rep.LastReconcile.StartedAt.Before(before) {
			t.Errorf("the scheduled run reconciled the idle demo event: %+v", rep.LastReconcile)
		}
	},
}

func devToken(t *testing.T, st *devstack.Stack, sub, role string) string {
	t.Helper()
	resp, err := http.Post(st.URL()+"/dev/token", "application/json", strings.NewReader(fmt.Sprintf(`{"sub":%q,"role":%q}`, sub, role)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("dev token: %d %v", resp.StatusCode, err)
	}
	return tok.Token
}

func getJSON(t *testing.T, url, token string, dst any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(dst); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// stateful lists the routes whose samples cannot answer 2xx on their own in
// a fresh local stack: the error they answer there as they are (what
// `make invoke` prints with the embedded DynamoDB) and how the test
// prepares the state that makes them answer 2xx. See events/README.md.
var stateful = map[string]struct {
	status int
	code   string
	// openCode, when set, is the error the sample answers as it is once the
	// demo sale is open.
	openCode string
	prepare  func(t *testing.T, st *devstack.Stack, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest
}{
	// The demo sale opens a minute after the stack starts.
	"POST /v1/events/{eventId}/admission": {409, "SALE_NOT_OPEN", "", nil},
	// The same; after it, the sample's admission token is refused: only the
	// stack's own key signs valid ones.
	"POST /v1/events/{eventId}/holds": {409, "SALE_NOT_OPEN", "ADMISSION_INVALID", withAdmissionToken},
	// The sample's order does not exist.
	"GET /v1/orders/{orderId}":    {404, "NOT_FOUND", "", withOrder},
	"DELETE /v1/orders/{orderId}": {404, "NOT_FOUND", "", withOrder},
}

// TestSampleEvents keeps events/ from rotting: every <fn>-*.json decodes
// strictly into the event type of function fn, is shaped like what API
// Gateway sends for one of fn's routes, and answers 2xx when run through
// the function against the demo data, or, for the routes in stateful, the
// listed error as it is and 2xx once the state it needs is prepared.
func TestSampleEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every sample on the demo stack (22,000 places, about 20 s); run without -short")
	}
	root := testenv.RepoRoot(t)
	files, err := filepath.Glob(filepath.Join(root, "events", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples in events/ (%v)", err)
	}
	tp := topology.Default()
	st, clk := testStack(t)
	covered := map[string]bool{}
	type later struct {
		name, fn string
		ev       events.APIGatewayV2HTTPRequest
	}
	var needState []later
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if check, ok := otherSamples[name]; ok {
				check(t, st, data)
				return
			}
			fn, _, _ := strings.Cut(strings.TrimSuffix(name, ".json"), "-")
			if _, ok := tp.Function(fn); !ok {
				t.Fatalf("%s: %q is no function of the topology; name samples <function>-<what>.json or list them in otherSamples", name, fn)
			}
			ev, err := decodeEvent(tp, fn, data, true)
			if err != nil {
				t.Fatal(err)
			}
			req := ev.(events.APIGatewayV2HTTPRequest)
			checkHTTPEvent(t, tp, req)
			covered[req.RouteKey] = true

			resp := invokeSample(t, st, fn, req)
			if s, ok := stateful[req.RouteKey]; ok {
				if code := errorCode(resp); resp.StatusCode != s.status || code != s.code {
					t.Fatalf("%s answered %d %s, want %d %s as documented in events/README.md: %s", fn, resp.StatusCode, code, s.status, s.code, resp.Body)
				}
				needState = append(needState, later{name, fn, req})
				return
			}
			want2xx(t, fn, resp)
		})
	}

	// The state the others need: a stack that has run for more than a
	// minute (the demo sale is open), then per sample a fresh admission
	// token or an order of the sample's account. Each run cancels the holds
	// it leaves, so the account stays within the demo's ticket limit.
	clk.Advance(2 * time.Minute)
	for _, s := range needState {
		t.Run(s.name+" prepared", func(t *testing.T) {
			ev := s.ev
			if want := stateful[ev.RouteKey].openCode; want != "" {
				if code := errorCode(invokeSample(t, st, s.fn, ev)); code != want {
					t.Errorf("as it is, with the sale open: %s, want %s as documented in events/README.md", code, want)
				}
			}
			if prepare := stateful[ev.RouteKey].prepare; prepare != nil {
				ev = prepare(t, st, ev)
			}
			checkHTTPEvent(t, tp, ev)
			want2xx(t, s.fn, invokeSample(t, st, s.fn, ev))
			cancelHolds(t, st, ev.RequestContext.Authorizer.JWT.Claims["sub"])
		})
	}

	var missing []string
	for _, r := range tp.Routes {
		if r.Integration == topology.IntegrationLambda && !covered[r.Key()] {
			missing = append(missing, r.Key())
		}
	}
	if len(missing) > 0 {
		t.Logf("routes without a sample event in events/: %s", strings.Join(missing, "; "))
	}
}

func invokeSample(t *testing.T, st *devstack.Stack, fn string, ev events.APIGatewayV2HTTPRequest) output {
	t.Helper()
	out, err := invoke(context.Background(), st, fn, ev)
	if err != nil {
		t.Fatal(err)
	}
	return out.(output)
}

func want2xx(t *testing.T, fn string, resp output) {
	t.Helper()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		t.Fatalf("%s answered %d: %s", fn, resp.StatusCode, resp.Body)
	}
	if ct := resp.Headers["Content-Type"]; ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if _, ok := resp.Body.(json.RawMessage); !ok {
		t.Errorf("body is not JSON: %v", resp.Body)
	}
}

func errorCode(resp output) string {
	var e struct{ Error struct{ Code string } }
	if b, ok := resp.Body.(json.RawMessage); ok {
		_ = json.Unmarshal(b, &e)
	}
	return e.Error.Code
}

// withAdmissionToken puts a fresh admission token for the sample's account
// and event in the body, as POST .../admission would issue it.
func withAdmissionToken(t *testing.T, st *devstack.Stack, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
	t.Helper()
	tok, _, err := st.App.Tokens.Issue(ev.RequestContext.Authorizer.JWT.Claims["sub"], ev.PathParameters["eventId"])
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(ev.Body), &body); err != nil {
		t.Fatal(err)
	}
	body["admissionToken"] = tok
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	ev.Body = string(b)
	ev.Headers = maps.Clone(ev.Headers)
	ev.Headers["content-length"] = fmt.Sprint(len(b))
	return ev
}

// withOrder holds a general-admission place of the demo for the sample's
// account and points the sample at that order.
func withOrder(t *testing.T, st *devstack.Stack, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
	t.Helper()
	sub := ev.RequestContext.Authorizer.JWT.Claims["sub"]
	tok, _, err := st.App.Tokens.Issue(sub, devstack.DemoEventID)
	if err != nil {
		t.Fatal(err)
	}
	o, err := st.App.Inventory.Hold(context.Background(), sub, devstack.DemoEventID, inventory.HoldRequest{AdmissionToken: tok, Section: "GA", Quantity: 1}, "")
	if err != nil {
		t.Fatal(err)
	}
	ev.PathParameters = map[string]string{"orderId": o.ID}
	ev.RawPath = "/v1/orders/" + o.ID
	ev.RequestContext.HTTP.Path = ev.RawPath
	return ev
}

// cancelHolds cancels the account's unpaid holds.
func cancelHolds(t *testing.T, st *devstack.Stack, account string) {
	t.Helper()
	ctx := context.Background()
	list, err := st.App.Inventory.Orders(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range list {
		if o.Status == orders.PendingPayment {
			if _, err := st.App.Inventory.Cancel(ctx, account, o.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
}

var templateParam = regexp.MustCompile(`\{([^}/]+)\}`)

// checkHTTPEvent checks that req looks like what API Gateway sends for its
// route: consistent route keys, method and path, path parameters that fill
// the template, lower-case header names, JWT claims on routes with an
// authorizer.
func checkHTTPEvent(t *testing.T, tp topology.Topology, req events.APIGatewayV2HTTPRequest) {
	t.Helper()
	var route topology.Route
	for _, r := range tp.Routes {
		if r.Key() == req.RouteKey {
			route = r
		}
	}
	rc := req.RequestContext
	if rc.RouteKey != req.RouteKey {
		t.Errorf("requestContext.routeKey %q != routeKey %q", rc.RouteKey, req.RouteKey)
	}
	if rc.HTTP.Method != route.Method {
		t.Errorf("requestContext.http.method %q, route method %q", rc.HTTP.Method, route.Method)
	}
	if rc.HTTP.Path != req.RawPath {
		t.Errorf("requestContext.http.path %q != rawPath %q", rc.HTTP.Path, req.RawPath)
	}
	want := templateParam.ReplaceAllStringFunc(route.Path, func(p string) string {
		return req.PathParameters[strings.Trim(p, "{}")]
	})
	if want != req.RawPath {
		t.Errorf("rawPath %q does not fill %s with pathParameters %v", req.RawPath, route.Path, req.PathParameters)
	}
	if n := len(templateParam.FindAllString(route.Path, -1)); n != len(req.PathParameters) {
		t.Errorf("%d pathParameters for a route with %d", len(req.PathParameters), n)
	}
	for k := range req.Headers {
		if k != strings.ToLower(k) {
			t.Errorf("header %q: API Gateway lower-cases header names", k)
		}
	}
	if rc.Stage == "" || rc.RequestID == "" || rc.APIID == "" || rc.TimeEpoch == 0 || rc.Time == "" {
		t.Errorf("requestContext lacks stage, requestId, apiId or time: %+v", rc)
	}
	if req.Body != "" && !req.IsBase64Encoded {
		if !json.Valid([]byte(req.Body)) || req.Headers["content-type"] != "application/json" {
			t.Errorf("body is not JSON sent as application/json")
		}
		if cl := req.Headers["content-length"]; cl != fmt.Sprint(len(req.Body)) {
			t.Errorf("content-length %q, body has %d bytes", cl, len(req.Body))
		}
	}
	authorized := rc.Authorizer != nil && rc.Authorizer.JWT != nil && rc.Authorizer.JWT.Claims["sub"] != ""
	switch route.Auth {
	case topology.AuthFan, topology.AuthOrganizer:
		if !authorized {
			t.Errorf("route %s needs requestContext.authorizer.jwt.claims with a sub", route.Key())
		}
	default:
		if rc.Authorizer != nil {
			t.Errorf("route %s has no authorizer but the event carries one", route.Key())
		}
	}
}

func strictDecode(t *testing.T, data []byte, dst any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		t.Fatal(err)
	}
}

// TestRun drives the command as a developer would.
func TestRun(t *testing.T) {
	root := testenv.RepoRoot(t)
	healthz := filepath.Join(root, "events", "catalog-healthz.json")
	scheduledEvent := filepath.Join(root, "events", "scheduled-event.json")
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"version":"2.0","routeKey":"GET /nope"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
		out  string // expected in stdout
		err  string // expected in stderr
	}{
		{name: "no flags", args: nil, code: 2, err: "usage"},
		{name: "unknown function", args: []string{"-fn", "nope", "-event", healthz}, code: 1, err: `unknown function "nope"`},
		{name: "missing event", args: []string{"-fn", "catalog", "-event", filepath.Join(root, "events", "missing.json")}, code: 1, err: "read event"},
		{name: "route of another function", args: []string{"-fn", "admin", "-event", healthz}, code: 1, err: "not a route of admin"},
		{name: "unknown route", args: []string{"-fn", "catalog", "-event", bad}, code: 1, err: "not a route of catalog"},
		{name: "healthz", args: []string{"-fn", "catalog", "-event", healthz, "-demo=false"}, code: 0, out: `"statusCode": 200`},
		// make invoke FN=inlet|reconciler EVENT=events/scheduled-event.json
		{name: "inlet on its schedule", args: []string{"-fn", "inlet", "-event", scheduledEvent}, code: 0, out: `"ticks": 1`},
		{name: "reconciler on its schedule", args: []string{"-fn", "reconciler", "-event", scheduledEvent}, code: 0, out: `"events": 1`},
		{name: "scheduled event for an HTTP function", args: []string{"-fn", "catalog", "-event", scheduledEvent}, code: 1, err: "payload format 2.0"},
		{name: "HTTP event of another function for a scheduled one", args: []string{"-fn", "inlet", "-event", healthz}, code: 1, err: "Scheduled Event"},
	}
	env := testEnv(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if testing.Short() && strings.HasSuffix(c.name, "on its schedule") {
				t.Skip("seeds the demo events (22,000 places) for a scheduled run; run without -short")
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), c.args, env, &stdout, &stderr)
			if code != c.code || !strings.Contains(stdout.String(), c.out) || !strings.Contains(stderr.String(), c.err) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, c.code, stdout.String(), stderr.String())
			}
			if c.code == 0 && c.name == "healthz" {
				var resp struct {
					StatusCode int
					Headers    map[string]string
					Body       map[string]string
				}
				if err := json.Unmarshal(stdout.Bytes(), &resp); err != nil || resp.Body["status"] != "ok" {
					t.Fatalf("output is not the health response (%v): %s", err, stdout.String())
				}
			}
		})
	}
}

// testEnv is the environment of a test run: quiet logs, the embedded
// DynamoDB (or AWS_ENDPOINT_URL_DYNAMODB when set) and a table of its own.
func testEnv(t *testing.T) config.Getenv {
	table := fmt.Sprintf("invoke-%d", time.Now().UnixNano())
	return func(k string) string {
		switch k {
		case "LOG_LEVEL":
			return "error"
		case "TABLE_NAME":
			return table
		case "AWS_ENDPOINT_URL_DYNAMODB", "AWS_REGION":
			return os.Getenv(k)
		}
		return ""
	}
}

// testStack is the local stack the samples run on, with a clock the test
// can move forward.
func testStack(t *testing.T) (*devstack.Stack, *clock.Offset) {
	t.Helper()
	clk := &clock.Offset{}
	return demoStack(t, testEnv(t), clk), clk
}

// demoStack starts the local stack with the demo events on the
// environment getenv and the clock clk.
func demoStack(t *testing.T, getenv config.Getenv, clk *clock.Offset) *devstack.Stack {
	t.Helper()
	cfg, err := config.FromEnv(getenv, providers.All()...)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	st, err := devstack.Start(context.Background(), devstack.Options{Addr: "127.0.0.1:0", Config: cfg, Demo: true, Logger: log, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeStack(st) })
	return st
}

// TestRunWithEndpoint points the command at an existing DynamoDB-compatible
// server (a separate embedded one, which reports its tables ACTIVE as the
// table helper waits for): the function's writes land there.
func TestRunWithEndpoint(t *testing.T) {
	root := testenv.RepoRoot(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: localdynamo.New(localdynamo.Options{}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	endpoint := "http://" + ln.Addr().String()

	env := testEnv(t)
	var stdout, stderr bytes.Buffer
	args := []string{"-fn", "admin", "-event", filepath.Join(root, "events", "admin-create-event.json"), "-endpoint", endpoint, "-demo=false"}
	if code := run(context.Background(), args, env, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var resp struct {
		StatusCode int
		Body       struct{ EventID string }
	}
	if err := json.Unmarshal(stdout.Bytes(), &resp); err != nil || resp.StatusCode != 201 || resp.Body.EventID == "" {
		t.Fatalf("not a created event (%v): %s", err, stdout.String())
	}
	db, err := dynamo.NewClient(context.Background(), dynamo.ClientOptions{Region: "us-east-1", Endpoint: endpoint, StaticCredentials: true})
	if err != nil {
		t.Fatal(err)
	}
	st := dynamo.NewStores(db, env("TABLE_NAME"), clock.System{}).Catalog
	if ev, err := st.GetEvent(context.Background(), resp.Body.EventID); err != nil || ev.CreatedBy != "organizer-1" {
		t.Fatalf("event %s not in the endpoint's table (createdBy %q): %v", resp.Body.EventID, ev.CreatedBy, err)
	}
}
