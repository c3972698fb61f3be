package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/config"
	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/lambdarie"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/topology"
	"github.com/stararena/stararena/internal/workflow"
)

// TestSamplesUnderLambdaEmulator runs the functions as they ship: every
// function's bootstrap, built by scripts/build.sh for linux on this
// machine's architecture, runs under AWS's Lambda Runtime Interface Emulator
// on the in-process stack's table, and every sample of events/ must get
// from it the answer the in-process invoke gets (the status, headers and
// error code; the whole body for reads, the body's shape for writes, whose
// ids and tokens are new on each call). The functions without a sample get
// a probe each (a request without credentials for the HTTP ones, an empty
// batch for the queue consumers, an empty input for the workflow's tasks), so each
// binary starts and answers at least once.
func TestSamplesUnderLambdaEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function for linux/" + runtime.GOARCH + " and runs each under the Lambda emulator on the demo stack (a few minutes); run without -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the Lambda runtime interface emulator runs on Linux only")
	}
	ctx := context.Background()
	root := testenv.RepoRoot(t)
	tp := topology.Default()
	dir := t.TempDir()
	rie, err := lambdarie.BuildEmulator(ctx, root, dir)
	if err != nil {
		t.Fatal(err)
	}
	names := functionNames(tp)
	if err := lambdarie.BuildBootstraps(ctx, root, dir, runtime.GOARCH, "functions", names...); err != nil {
		t.Fatal(err)
	}

	// The stack starts two minutes in the past, so the demo sale it seeds
	// (opening a minute after start-up) is already open by the wall clock
	// the binaries read; moving the stack's clock on then puts both on the
	// same time.
	env := withKeys(t, testEnv(t))
	clk := &clock.Offset{}
	clk.Advance(-2 * time.Minute)
	st := demoStack(t, env, clk)
	clk.Advance(2 * time.Minute)

	fns := map[string]*lambdarie.Function{}
	t.Cleanup(func() {
		for _, f := range fns {
			f.Close()
		}
	})
	binary := func(t *testing.T, fn string, payload []byte) []byte {
		t.Helper()
		f, ok := fns[fn]
		if !ok {
			f, err = lambdarie.Start(ctx, rie, filepath.Join(dir, fn, "bootstrap"), functionEnv(st, env, fn))
			if err != nil {
				t.Fatal(err)
			}
			fns[fn] = f
		}
		out, err := f.Invoke(ctx, payload)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	files, err := filepath.Glob(filepath.Join(root, "events", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples in events/ (%v)", err)
	}
	// The scheduled functions first, before the samples make orders: those
	// are paid through the stack's sandbox provider, which exists only in
	// process, and the reconciler's payment sweep fails on an order whose
	// provider the function does not have.
	sort.SliceStable(files, func(i, j int) bool {
		return filepath.Base(files[i]) == "scheduled-event.json" && filepath.Base(files[j]) != "scheduled-event.json"
	})
	for _, path := range files {
		name := filepath.Base(path)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if name == "scheduled-event.json" {
			for _, s := range tp.Schedules {
				t.Run(name+"/"+s.Function, func(t *testing.T) {
					ev, err := decodeEvent(tp, s.Function, data, true)
					if err != nil {
						t.Fatal(err)
					}
					want, err := invoke(ctx, st, s.Function, ev)
					if err != nil {
						t.Fatal(err)
					}
					sameJSON(t, want, binary(t, s.Function, data))
				})
			}
			continue
		}
		fn, _, _ := strings.Cut(strings.TrimSuffix(name, ".json"), "-")
		t.Run(name, func(t *testing.T) {
			ev, err := decodeEvent(tp, fn, data, true)
			if err != nil {
				t.Fatal(err)
			}
			req := ev.(events.APIGatewayV2HTTPRequest)
			sameHTTPAnswer(t, st, fn, req, nil, binary)
			if prepare := stateful[req.RouteKey].prepare; prepare != nil {
				t.Run("prepared", func(t *testing.T) { sameHTTPAnswer(t, st, fn, req, prepare, binary) })
			}
		})
	}

	sampled := map[string]bool{"scheduled": true}
	for _, path := range files {
		fn, _, _ := strings.Cut(strings.TrimSuffix(filepath.Base(path), ".json"), "-")
		sampled[fn] = true
	}
	for _, fn := range names {
		if sampled[fn] || isScheduled(tp, fn) {
			continue
		}
		t.Run("probe/"+fn, func(t *testing.T) { probe(t, st, tp, fn, binary) })
	}

	var inits []string
	for _, fn := range names {
		if f, ok := fns[fn]; ok {
			d, err := f.InitDuration()
			if err != nil {
				t.Errorf("%s: %v", fn, err)
				continue
			}
			inits = append(inits, fmt.Sprintf("%s %.1f ms", fn, float64(d.Microseconds())/1000))
		}
	}
	if len(inits) != len(names) {
		t.Errorf("%d of %d functions ran under the emulator", len(inits), len(names))
	}
	t.Logf("init durations under the emulator: %s", strings.Join(inits, ", "))
	// The functions log at warn (functionEnv): a warning would be a failure
	// the answers hide, such as a hold whose workflow did not start.
	for fn, f := range fns {
		if out := f.Output(); strings.Contains(out, `"level":"ERROR"`) || strings.Contains(out, `"level":"WARN"`) {
			t.Errorf("%s logged a warning or an error:\n%s", fn, out)
		}
	}
}

type binaryInvoke func(t *testing.T, fn string, payload []byte) []byte

// sameHTTPAnswer runs req (prepared by prepare, when set) through fn in
// process and through its binary and compares the answers. A read shares
// one prepared request; a write gets one each, and the holds it leaves are
// cancelled so the next run finds the same places free.
func sameHTTPAnswer(t *testing.T, st *devstack.Stack, fn string, req events.APIGatewayV2HTTPRequest,
	prepare func(*testing.T, *devstack.Stack, events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest, binary binaryInvoke) {
	t.Helper()
	read := req.RequestContext.HTTP.Method == "GET"
	prep := func() events.APIGatewayV2HTTPRequest {
		if prepare == nil {
			return req
		}
		return prepare(t, st, req)
	}
	account := ""
	if a := req.RequestContext.Authorizer; a != nil && a.JWT != nil {
		account = a.JWT.Claims["sub"]
	}
	settle := func() {
		if !read && account != "" {
			cancelHolds(t, st, account)
		}
	}
	ev := prep()
	want := invokeSample(t, st, fn, ev)
	settle()
	if !read {
		ev = prep()
		// A second request of its own, not a retry of the first.
		if k, ok := ev.Headers["idempotency-key"]; ok {
			ev.Headers = maps.Clone(ev.Headers)
			ev.Headers["idempotency-key"] = k + "-binary"
		}
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if raw := binary(t, fn, payload); json.Unmarshal(raw, &resp) != nil || resp.StatusCode == 0 {
		t.Fatalf("the binary's answer is no API Gateway response: %s", raw)
	}
	got := httpOutput(resp)
	settle()

	if got.StatusCode != want.StatusCode || errorCode(got) != errorCode(want) || !reflect.DeepEqual(headers(got, read), headers(want, read)) {
		t.Fatalf("binary answered %d %s %v, in process %d %s %v\nbinary: %s\nin process: %s", got.StatusCode, errorCode(got), got.Headers,
			want.StatusCode, errorCode(want), want.Headers, got.Body, want.Body)
	}
	if read {
		sameJSON(t, want.Body, mustJSON(t, got.Body))
		return
	}
	if g, w := shape(t, got.Body), shape(t, want.Body); !reflect.DeepEqual(g, w) {
		t.Fatalf("binary's body has the shape %v, in process %v\nbinary: %s\nin process: %s", g, w, got.Body, want.Body)
	}
}

// headers are o's headers; for a write, the Location's last segment (the
// id it created) is left out.
func headers(o output, read bool) map[string]string {
	h := maps.Clone(o.Headers)
	if loc, ok := h["Location"]; ok && !read {
		h["Location"] = loc[:strings.LastIndexByte(loc, '/')+1] + "{id}"
	}
	return h
}

// probe invokes a function that has no sample with its probe event
// (lambdarie.Probe) and compares the binary's answer with the in-process one.
func probe(t *testing.T, st *devstack.Stack, tp topology.Topology, fn string, binary binaryInvoke) {
	ctx := context.Background()
	payload := lambdarie.Probe(tp, fn)
	if len(tp.RoutesOf(fn)) > 0 {
		var req events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(payload, &req); err != nil {
			t.Fatal(err)
		}
		sameHTTPAnswer(t, st, fn, req, nil, binary)
		return
	}
	if consumer := map[string]func(context.Context, events.SQSEvent) (events.SQSEventResponse, error){
		"assigner": st.App.Assigner(), "mailer": st.App.MailerHandler(),
	}[fn]; consumer != nil {
		var batch events.SQSEvent
		if err := json.Unmarshal(payload, &batch); err != nil {
			t.Fatal(err)
		}
		want, err := consumer(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, want, binary(t, fn, payload))
		return
	}
	if fn == "projector" {
		var batch events.DynamoDBEvent
		if err := json.Unmarshal(payload, &batch); err != nil {
			t.Fatal(err)
		}
		want, err := st.App.Projector.HandleStream(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, want, binary(t, fn, payload))
		return
	}
	task, err := st.App.Task(fn)
	if err != nil {
		t.Fatalf("%s is no HTTP, queue, stream or task function: %v", fn, err)
	}
	_, werr := task(ctx, payload)
	if werr == nil {
		t.Fatalf("the %s task accepted the probe %s", fn, payload)
	}
	var got struct{ ErrorMessage string }
	if raw := binary(t, fn, payload); json.Unmarshal(raw, &got) != nil || got.ErrorMessage != werr.Error() {
		t.Fatalf("binary answered %s, in process the error %q", raw, werr)
	}
}

// sameJSON fails unless got is the JSON encoding of want.
func sameJSON(t *testing.T, want any, got []byte) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal(mustJSON(t, want), &w); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("the binary's answer is not JSON (%v): %s", err, got)
	}
	if !reflect.DeepEqual(w, g) {
		wm, _ := w.(map[string]any)
		gm, _ := g.(map[string]any)
		for k := range wm {
			if !reflect.DeepEqual(wm[k], gm[k]) && len(mustJSON(t, wm[k])) < 2000 {
				t.Errorf("%s: binary %s, in process %s", k, mustJSON(t, gm[k]), mustJSON(t, wm[k]))
			}
		}
		t.Fatalf("binary answered %.2000s\nin process %.2000s", got, mustJSON(t, want))
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// shape is v's JSON with every scalar replaced by its kind: what two
// answers to the same write share when each created its own ids.
func shape(t *testing.T, v any) any {
	t.Helper()
	var x any
	if err := json.Unmarshal(mustJSON(t, v), &x); err != nil {
		t.Fatal(err)
	}
	var walk func(any) any
	walk = func(x any) any {
		switch x := x.(type) {
		case map[string]any:
			for k, v := range x {
				x[k] = walk(v)
			}
			return x
		case []any:
			for i, v := range x {
				x[i] = walk(v)
			}
			return x
		case nil:
			return "null"
		}
		return reflect.TypeOf(x).Kind().String()
	}
	return walk(x)
}

// withKeys adds shared admission and ticket keyrings to getenv: in Lambda
// each function must verify what another signed, so the binaries refuse to
// generate their own.
func withKeys(t *testing.T, getenv config.Getenv) config.Getenv {
	adm, err := lambdarie.Keyring("adm1")
	if err != nil {
		t.Fatal(err)
	}
	tick, err := lambdarie.Keyring("t1")
	if err != nil {
		t.Fatal(err)
	}
	return func(k string) string {
		switch k {
		case "ADMISSION_KEYS":
			return adm
		case "TICKET_KEYS":
			return tick
		}
		return getenv(k)
	}
}

// functionEnv is function fn's environment in the emulator, as the CDK app
// configures it (internal/config) but pointed at the stack: its DynamoDB and
// table, its Step Functions sidecar and the shared keys.
// As in AWS, only a function with workflow access is given the state
// machine: the others are built without the Step Functions client.
func functionEnv(st *devstack.Stack, getenv config.Getenv, fn string) []string {
	vars := map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": st.DynamoEndpoint,
		"TABLE_NAME":                getenv("TABLE_NAME"),
		"ADMISSION_KEYS":            getenv("ADMISSION_KEYS"),
		"TICKET_KEYS":               getenv("TICKET_KEYS"),
		"LOG_LEVEL":                 "warn",
	}
	if f, ok := topology.Default().Function(fn); ok && f.Access.Workflow.StateMachine != "" {
		vars["AWS_ENDPOINT_URL_SFN"] = st.Sidecar().Endpoint()
		vars["STATE_MACHINE_ARN"] = st.Sidecar().StateMachineArn(workflow.Name)
	}
	return lambdarie.Env(fn, vars)
}
