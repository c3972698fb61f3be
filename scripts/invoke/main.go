// Command invoke runs one function's handler in-process on a sample Lambda
// event and prints its response:
//
//	go run ./scripts/invoke -fn catalog -event events/catalog-get-event.json
//	make invoke FN=admin EVENT=events/admin-create-event.json
//	make invoke FN=reconciler EVENT=events/scheduled-event.json
//
// The handler runs against the local stack's data layer: an embedded
// DynamoDB with the tables of the topology and the demo event, or the
// DynamoDB-compatible server at -endpoint (default
// $AWS_ENDPOINT_URL_DYNAMODB, then $AWS_ENDPOINT_URL; dynalite, DynamoDB
// Local, LocalStack: the credentials are dummies), where the table
// ($TABLE_NAME, default stararena) is created when missing and the demo
// event is seeded unless -demo=false. The function's logs go to stderr
// ($LOG_LEVEL); the response (status, headers, body pretty-printed) to
// stdout. The scheduled functions (inlet, reconciler) take an EventBridge
// scheduled event and print what their handler returns.
//
// Exit status: 0 when the function answered (whatever the HTTP status), 1
// for an unknown function, an unreadable or malformed event or a failure to
// set up, 2 for bad usage.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stararena/stararena/internal/config"
	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/payments/providers"
	"github.com/stararena/stararena/internal/topology"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command; it returns the exit status.
func run(ctx context.Context, args []string, getenv config.Getenv, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fn := fs.String("fn", "", "function name from internal/topology (e.g. catalog, admin)")
	eventPath := fs.String("event", "", "path of the event JSON (e.g. events/catalog-get-event.json)")
	endpoint := fs.String("endpoint", "", "DynamoDB endpoint to use instead of an embedded one (default $AWS_ENDPOINT_URL_DYNAMODB)")
	demo := fs.Bool("demo", true, "seed the demo event (id \"demo\") when it does not exist")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./scripts/invoke -fn <function> -event <file.json> [-endpoint URL] [-demo=false]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *fn == "" || *eventPath == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "invoke:", err)
		return 1
	}

	tp := topology.Default()
	if _, ok := tp.Function(*fn); !ok {
		return fail(fmt.Errorf("unknown function %q; the topology has %s", *fn, strings.Join(functionNames(tp), ", ")))
	}
	data, err := os.ReadFile(*eventPath)
	if err != nil {
		return fail(fmt.Errorf("read event: %w", err))
	}
	// Check the event before paying for a stack.
	ev, err := decodeEvent(tp, *fn, data, false)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", *eventPath, err))
	}

	cfg, err := config.FromEnv(getenv, providers.All()...)
	if err != nil {
		return fail(err)
	}
	if *endpoint != "" {
		cfg.DynamoEndpoint = *endpoint
	}
	st, err := startStack(ctx, cfg, *demo, slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel})))
	if err != nil {
		return fail(err)
	}
	defer closeStack(st)

	out, err := invoke(ctx, st, *fn, ev)
	if err != nil {
		return fail(err)
	}
	if err := printJSON(stdout, out); err != nil {
		return fail(err)
	}
	return 0
}

func functionNames(tp topology.Topology) []string {
	names := make([]string, 0, len(tp.Functions))
	for _, f := range tp.Functions {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return names
}

// startStack brings up the local stack's data layer (and its functions) on
// a loopback port nobody needs to know.
func startStack(ctx context.Context, cfg config.Config, demo bool, log *slog.Logger) (*devstack.Stack, error) {
	st, err := devstack.Start(ctx, devstack.Options{Addr: "127.0.0.1:0", Config: cfg, Demo: demo, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("start local stack: %w", err)
	}
	return st, nil
}

func closeStack(st *devstack.Stack) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = st.Close(ctx)
}

// scheduledEvent is an EventBridge scheduled-rule event, kept as sent: the
// scheduled functions take the raw JSON, as Lambda hands it to them.
type scheduledEvent struct {
	raw json.RawMessage
}

// decodeEvent parses data as the event type function fn receives. strict
// also rejects fields the event type does not know (tests use it to keep the
// samples free of typos).
func decodeEvent(tp topology.Topology, fn string, data []byte, strict bool) (any, error) {
	routes := tp.RoutesOf(fn)
	var probe struct {
		RouteKey string `json:"routeKey"`
	}
	if isScheduled(tp, fn) && (len(routes) == 0 || json.Unmarshal(data, &probe) != nil || probe.RouteKey == "") {
		return decodeScheduled(fn, data, strict)
	}
	if len(routes) == 0 {
		// Queue consumers and state machine tasks get other event types;
		// add them here when they need a local invoker.
		return nil, fmt.Errorf("function %q has no HTTP routes, no schedule and no local invoker for its event source yet", fn)
	}
	var ev events.APIGatewayV2HTTPRequest
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(&ev); err != nil {
		return nil, fmt.Errorf("not an API Gateway HTTP API (payload v2) event: %w", err)
	}
	if dec.More() {
		return nil, errors.New("data after the event object")
	}
	if ev.Version != "2.0" {
		return nil, fmt.Errorf("version is %q; HTTP functions take payload format 2.0", ev.Version)
	}
	for _, r := range routes {
		if r.Key() == ev.RouteKey {
			return ev, nil
		}
	}
	keys := make([]string, len(routes))
	for i, r := range routes {
		keys[i] = r.Key()
	}
	return nil, fmt.Errorf("routeKey %q is not a route of %s (%s)", ev.RouteKey, fn, strings.Join(keys, "; "))
}

// isScheduled reports whether a schedule of the topology invokes fn.
func isScheduled(tp topology.Topology, fn string) bool {
	for _, s := range tp.Schedules {
		if s.Function == fn {
			return true
		}
	}
	return false
}

// decodeScheduled checks that data is an EventBridge scheduled-rule event
// (what the schedule delivers to fn).
func decodeScheduled(fn string, data []byte, strict bool) (any, error) {
	var ev events.EventBridgeEvent
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(&ev); err != nil {
		return nil, fmt.Errorf("not an EventBridge event for the scheduled function %s: %w", fn, err)
	}
	if dec.More() {
		return nil, errors.New("data after the event object")
	}
	if ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" {
		return nil, fmt.Errorf("detail-type %q from %q: %s takes a scheduled event (\"Scheduled Event\" from aws.events) or one of its HTTP routes", ev.DetailType, ev.Source, fn)
	}
	return scheduledEvent{raw: json.RawMessage(data)}, nil
}

// invoke runs function fn's handler on ev, as Lambda would.
func invoke(ctx context.Context, st *devstack.Stack, fn string, ev any) (any, error) {
	switch e := ev.(type) {
	case events.APIGatewayV2HTTPRequest:
		f, err := st.App.HTTPFunction(fn)
		if err != nil {
			return nil, err
		}
		// A sample is a request as CloudFront forwards it, with the origin
		// proof, here the stack's own (ADR 22).
		e.Headers = maps.Clone(e.Headers)
		if e.Headers == nil {
			e.Headers = map[string]string{}
		}
		e.Headers[strings.ToLower(topology.OriginHeader)] = st.OriginProof()
		resp, err := f.Handle(ctx, e)
		if err != nil {
			return nil, fmt.Errorf("%s returned an error (API Gateway would answer 500): %w", fn, err)
		}
		return httpOutput(resp), nil
	case scheduledEvent:
		f, err := st.App.ScheduledFunction(fn)
		if err != nil {
			return nil, err
		}
		out, err := f(ctx, e.raw)
		if err != nil {
			return nil, fmt.Errorf("%s returned an error (EventBridge would retry the invocation): %w", fn, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("no invoker for %T", ev)
}

// output is an HTTP function's response as printed: a JSON body is shown
// as JSON, anything else as a string.
type output struct {
	StatusCode        int                 `json:"statusCode"`
	Headers           map[string]string   `json:"headers,omitempty"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders,omitempty"`
	Cookies           []string            `json:"cookies,omitempty"`
	IsBase64Encoded   bool                `json:"isBase64Encoded,omitempty"`
	Body              any                 `json:"body,omitempty"`
}

func httpOutput(resp events.APIGatewayV2HTTPResponse) output {
	out := output{
		StatusCode: resp.StatusCode, Headers: resp.Headers, MultiValueHeaders: resp.MultiValueHeaders,
		Cookies: resp.Cookies, IsBase64Encoded: resp.IsBase64Encoded,
	}
	if resp.Body != "" {
		out.Body = resp.Body
		if !resp.IsBase64Encoded && json.Valid([]byte(resp.Body)) {
			out.Body = json.RawMessage(resp.Body)
		}
	}
	return out
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
