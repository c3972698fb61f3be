package localsfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stararena/stararena/internal/workflow"
)

// timeScale runs the workflow's waits 100 times faster: IssueTickets' backoff
// (2+4+8+16+32 s) takes 0.62 s, a 5 s hold 50 ms.
const timeScale = 0.01

// The real order workflow on one sidecar shared by the tests, with fake
// functions behind a LambdaEndpoint. Each test uses its own order ids.
var (
	shared     *Sidecar
	sharedErr  error
	sharedOnce sync.Once
	fakes      = newFakeFunctions()
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		_ = shared.Close()
	}
	os.Exit(code)
}

func root(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	r := filepath.Join(filepath.Dir(file), "..", "..")
	if _, err := os.Stat(filepath.Join(r, "node_modules", "aws-local-stepfunctions")); errors.Is(err, os.ErrNotExist) {
		t.Skip("node_modules/aws-local-stepfunctions absent: run `npm ci` at the repository root (make test does)")
	}
	return r
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func sidecar(t *testing.T) *Sidecar {
	t.Helper()
	r := root(t)
	sharedOnce.Do(func() {
		lambda := httptest.NewServer(LambdaEndpoint(fakes.funcs()))
		// Not closed: it lives as long as the shared sidecar, i.e. the test binary.
		shared, sharedErr = Start(context.Background(), Options{
			RepoRoot:    r,
			LambdaURL:   lambda.URL,
			TimeScale:   timeScale,
			Definitions: map[string]string{workflow.Name: workflow.DefinitionPath},
			Logger:      testLogger(),
		})
		if sharedErr == nil {
			fakes.client = shared.Client()
		}
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// ---- fake functions ------------------------------------------------------------------------

// scenario is how the fakes behave for one order.
type scenario struct {
	paid           bool // confirm-payment's answer
	paidAtRelease  bool // release-hold finds the order paid (the payment won the race)
	issuerFailures int  // issue-tickets fails with TicketIssuerUnavailable this many times; <0: always
	// resumeInline makes await-payment call SendTaskSuccess itself before it
	// returns, as it does when the payment came before the wait started.
	resumeInline bool
}

type fakeFunctions struct {
	client    *sfn.Client // set once the shared sidecar runs
	mu        sync.Mutex
	scenarios map[string]scenario
	calls     map[string][]time.Time // "<function>/<orderId>" -> call times
	tokens    map[string]chan string // orderId -> task tokens given to await-payment
	payloads  map[string]json.RawMessage
}

func newFakeFunctions() *fakeFunctions {
	return &fakeFunctions{scenarios: map[string]scenario{}, calls: map[string][]time.Time{},
		tokens: map[string]chan string{}, payloads: map[string]json.RawMessage{}}
}

func (f *fakeFunctions) tokenCh(orderID string) chan string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tokens[orderID] == nil {
		f.tokens[orderID] = make(chan string, 8)
	}
	return f.tokens[orderID]
}

func (f *fakeFunctions) set(orderID string, s scenario) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scenarios[orderID] = s
}

func (f *fakeFunctions) callTimes(fn, orderID string) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.calls[fn+"/"+orderID]...)
}

func (f *fakeFunctions) count(fn, orderID string) int { return len(f.callTimes(fn, orderID)) }

func (f *fakeFunctions) funcs() map[string]LambdaFunc {
	type payload struct {
		OrderID   string          `json:"orderId"`
		EventID   string          `json:"eventId"`
		TaskToken string          `json:"taskToken"`
		Error     json.RawMessage `json:"error"`
	}
	// record notes the call and returns the call number and the order's scenario.
	record := func(fn string, raw json.RawMessage) (payload, int, scenario, error) {
		var p payload
		if err := json.Unmarshal(raw, &p); err != nil || p.OrderID == "" {
			return p, 0, scenario{}, fmt.Errorf("%s: bad payload %s", fn, raw)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		key := fn + "/" + p.OrderID
		f.calls[key] = append(f.calls[key], time.Now())
		f.payloads[key] = raw
		return p, len(f.calls[key]), f.scenarios[p.OrderID], nil
	}
	ok := func(v any) (json.RawMessage, error) { return json.Marshal(v) }
	return map[string]LambdaFunc{
		workflow.FunctionAwaitPayment: func(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
			p, _, s, err := record(workflow.FunctionAwaitPayment, raw)
			if err != nil {
				return nil, err
			}
			if p.TaskToken == "" {
				return nil, errors.New("no task token")
			}
			if s.resumeInline {
				_, err := f.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(p.TaskToken), Output: aws.String(`{"inline":true}`)})
				if err != nil {
					return nil, err
				}
				return ok(map[string]any{"resumed": true})
			}
			f.tokenCh(p.OrderID) <- p.TaskToken // the test plays the payment webhook
			return ok(map[string]any{"stored": true})
		},
		workflow.FunctionConfirmPayment: func(_ context.Context, raw json.RawMessage) (json.RawMessage, error) {
			_, _, s, err := record(workflow.FunctionConfirmPayment, raw)
			if err != nil {
				return nil, err
			}
			return ok(map[string]any{"paid": s.paid})
		},
		workflow.FunctionIssueTickets: func(_ context.Context, raw json.RawMessage) (json.RawMessage, error) {
			p, n, s, err := record(workflow.FunctionIssueTickets, raw)
			if err != nil {
				return nil, err
			}
			if s.issuerFailures < 0 || n <= s.issuerFailures {
				return nil, &FunctionError{Type: workflow.ErrTicketIssuerUnavailable, Message: fmt.Sprintf("issuer down (call %d)", n)}
			}
			return ok(map[string]any{"tickets": []string{"T-" + p.OrderID}})
		},
		workflow.FunctionReleaseHold: func(_ context.Context, raw json.RawMessage) (json.RawMessage, error) {
			_, _, s, err := record(workflow.FunctionReleaseHold, raw)
			if err != nil {
				return nil, err
			}
			return ok(map[string]any{"released": !s.paidAtRelease, "paid": s.paidAtRelease})
		},
		workflow.FunctionMarkIssueFailed: func(_ context.Context, raw json.RawMessage) (json.RawMessage, error) {
			if _, _, _, err := record(workflow.FunctionMarkIssueFailed, raw); err != nil {
				return nil, err
			}
			return nil, nil
		},
	}
}

// ---- helpers -------------------------------------------------------------------------------

var seq atomic.Int64

// uniq makes an order id (= execution name) unique in the shared sidecar,
// also across -count runs.
func uniq(id string) string { return fmt.Sprintf("%s-%d", id, seq.Add(1)) }

func input(orderID string, holdSeconds int) string {
	b, _ := json.Marshal(workflow.Input{OrderID: orderID, EventID: "ev-1", HoldSeconds: holdSeconds})
	return string(b)
}

func startOrder(t *testing.T, s *Sidecar, orderID string, holdSeconds int) string {
	t.Helper()
	out, err := s.Client().StartExecution(context.Background(), &sfn.StartExecutionInput{
		StateMachineArn: aws.String(s.StateMachineArn(workflow.Name)),
		Name:            aws.String(orderID),
		Input:           aws.String(input(orderID, holdSeconds)),
	})
	if err != nil {
		t.Fatalf("StartExecution %s: %v", orderID, err)
	}
	return aws.ToString(out.ExecutionArn)
}

func taskToken(t *testing.T, orderID string) string {
	t.Helper()
	select {
	case tok := <-fakes.tokenCh(orderID):
		return tok
	case <-time.After(10 * time.Second):
		t.Fatalf("await-payment never got a task token for %s", orderID)
		return ""
	}
}

func awaitDone(t *testing.T, s *Sidecar, arn string) *sfn.DescribeExecutionOutput {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := s.Client().DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatalf("DescribeExecution: %v", err)
		}
		if out.Status != types.ExecutionStatusRunning {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s still RUNNING", arn)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func succeeded(t *testing.T, out *sfn.DescribeExecutionOutput) workflow.Output {
	t.Helper()
	if out.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("status %s, error %q, cause %q", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	var o workflow.Output
	if err := json.Unmarshal([]byte(aws.ToString(out.Output)), &o); err != nil {
		t.Fatalf("output %s: %v", aws.ToString(out.Output), err)
	}
	return o
}

func sendPaid(s *Sidecar, orderID, token string) error {
	_, err := s.Client().SendTaskSuccess(context.Background(), &sfn.SendTaskSuccessInput{
		TaskToken: aws.String(token),
		Output:    aws.String(fmt.Sprintf(`{"paymentId":"pay-%s"}`, orderID)),
	})
	return err
}

func wantCalls(t *testing.T, orderID string, want map[string]int) {
	t.Helper()
	for _, fn := range workflow.Functions() {
		if got := fakes.count(fn, orderID); got != want[fn] {
			t.Errorf("%s called %d times for %s, want %d", fn, got, orderID, want[fn])
		}
	}
}

// ---- the order workflow --------------------------------------------------------------------

// (a) The payment arrives: the webhook's SendTaskSuccess resumes the workflow,
// which issues the tickets.
func TestPaymentArrivesIssuesTickets(t *testing.T) {
	s := sidecar(t)
	id := uniq("paid-a")
	arn := startOrder(t, s, id, 3600)
	tok := taskToken(t, id)
	if !strings.HasPrefix(tok, "sfnlocal:v1:") {
		t.Fatalf("await-payment got %q, not a task token", tok)
	}
	if d, err := s.Client().DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)}); err != nil || d.Status != types.ExecutionStatusRunning {
		t.Fatalf("while waiting for payment: %v %v", d.Status, err)
	}
	if err := sendPaid(s, id, tok); err != nil {
		t.Fatal(err)
	}
	out := succeeded(t, awaitDone(t, s, arn))
	if out.Outcome.Status != workflow.OutcomeIssued || string(out.Payment) != `{"paymentId":"pay-`+id+`"}` || out.OrderID != id {
		t.Fatalf("output %+v", out)
	}
	if string(out.Outcome.Result) != `{"tickets":["T-`+id+`"]}` {
		t.Fatalf("outcome.result %s", out.Outcome.Result)
	}
	wantCalls(t, id, map[string]int{workflow.FunctionAwaitPayment: 1, workflow.FunctionIssueTickets: 1})

	// The token is spent: a duplicate webhook gets TaskTimedOut.
	var timedOut *types.TaskTimedOut
	if err := sendPaid(s, id, tok); !errors.As(err, &timedOut) {
		t.Fatalf("second SendTaskSuccess: want TaskTimedOut, got %v", err)
	}
}

// (b) No callback before the hold expires: the provider says unpaid, the hold
// is released; a webhook arriving after that gets TaskTimedOut.
func TestTimeoutUnpaidReleasesHold(t *testing.T) {
	s := sidecar(t)
	id := uniq("unpaid-b")
	fakes.set(id, scenario{paid: false})
	start := time.Now()
	arn := startOrder(t, s, id, 5) // 5 s hold = 50 ms here
	tok := taskToken(t, id)
	out := succeeded(t, awaitDone(t, s, arn))
	if el := time.Since(start); el < 50*time.Millisecond {
		t.Fatalf("finished after %v, before the scaled 50 ms hold", el)
	}
	if out.Outcome.Status != workflow.OutcomeReleased || out.Confirm == nil || out.Confirm.Paid || out.Payment != nil {
		t.Fatalf("output %+v", out)
	}
	var timeout struct{ Error string }
	if err := json.Unmarshal(out.Timeout, &timeout); err != nil || timeout.Error != "States.Timeout" {
		t.Fatalf("timeout = %s", out.Timeout)
	}
	wantCalls(t, id, map[string]int{workflow.FunctionAwaitPayment: 1, workflow.FunctionConfirmPayment: 1, workflow.FunctionReleaseHold: 1})

	var timedOut *types.TaskTimedOut
	if err := sendPaid(s, id, tok); !errors.As(err, &timedOut) {
		t.Fatalf("late SendTaskSuccess: want TaskTimedOut, got %v", err)
	}
}

// (c) No callback, but the provider says the order is paid (lost webhook):
// the tickets are issued anyway.
func TestTimeoutButPaidIssuesTickets(t *testing.T) {
	s := sidecar(t)
	id := uniq("lost-webhook-c")
	fakes.set(id, scenario{paid: true})
	out := succeeded(t, awaitDone(t, s, startOrder(t, s, id, 5)))
	if out.Outcome.Status != workflow.OutcomeIssued || out.Confirm == nil || !out.Confirm.Paid {
		t.Fatalf("output %+v", out)
	}
	wantCalls(t, id, map[string]int{workflow.FunctionAwaitPayment: 1, workflow.FunctionConfirmPayment: 1, workflow.FunctionIssueTickets: 1})
}

// The timer and the payment race: the provider said unpaid, but the payment
// landed before release-hold, which finds the order paid. Tickets are issued.
func TestPaymentWinsRaceAtRelease(t *testing.T) {
	s := sidecar(t)
	id := uniq("race-release")
	fakes.set(id, scenario{paid: false, paidAtRelease: true})
	out := succeeded(t, awaitDone(t, s, startOrder(t, s, id, 5)))
	if out.Outcome.Status != workflow.OutcomeIssued {
		t.Fatalf("output %+v", out)
	}
	wantCalls(t, id, map[string]int{workflow.FunctionAwaitPayment: 1, workflow.FunctionConfirmPayment: 1,
		workflow.FunctionReleaseHold: 1, workflow.FunctionIssueTickets: 1})
}

// The payment came before the wait: await-payment resumes the execution with
// SendTaskSuccess while its own invocation is still in flight.
func TestCallbackDuringInvoke(t *testing.T) {
	s := sidecar(t)
	id := uniq("paid-first")
	fakes.set(id, scenario{resumeInline: true})
	out := succeeded(t, awaitDone(t, s, startOrder(t, s, id, 3600)))
	if out.Outcome.Status != workflow.OutcomeIssued || string(out.Payment) != `{"inline":true}` {
		t.Fatalf("output %+v", out)
	}
	wantCalls(t, id, map[string]int{workflow.FunctionAwaitPayment: 1, workflow.FunctionIssueTickets: 1})
}

// A failed payment (SendTaskFailure PaymentFailed) is confirmed with the
// provider too.
func TestPaymentFailedAsksProvider(t *testing.T) {
	s := sidecar(t)
	id := uniq("declined")
	fakes.set(id, scenario{paid: false})
	arn := startOrder(t, s, id, 3600)
	_, err := s.Client().SendTaskFailure(context.Background(), &sfn.SendTaskFailureInput{
		TaskToken: aws.String(taskToken(t, id)), Error: aws.String(workflow.ErrPaymentFailed), Cause: aws.String("card declined"),
	})
	if err != nil {
		t.Fatal(err)
	}
	out := succeeded(t, awaitDone(t, s, arn))
	var perr struct{ Error, Cause string }
	if err := json.Unmarshal(out.PaymentError, &perr); err != nil || perr.Error != workflow.ErrPaymentFailed || perr.Cause != "card declined" {
		t.Fatalf("paymentError = %s", out.PaymentError)
	}
	if out.Outcome.Status != workflow.OutcomeReleased {
		t.Fatalf("output %+v", out)
	}
	wantCalls(t, id, map[string]int{workflow.FunctionAwaitPayment: 1, workflow.FunctionConfirmPayment: 1, workflow.FunctionReleaseHold: 1})
}

// (d) The issuer is unavailable twice, then works: retried with backoff.
func TestIssuerRecoversAfterRetries(t *testing.T) {
	s := sidecar(t)
	id := uniq("flaky-d")
	fakes.set(id, scenario{issuerFailures: 2})
	arn := startOrder(t, s, id, 3600)
	if err := sendPaid(s, id, taskToken(t, id)); err != nil {
		t.Fatal(err)
	}
	out := succeeded(t, awaitDone(t, s, arn))
	if out.Outcome.Status != workflow.OutcomeIssued {
		t.Fatalf("output %+v", out)
	}
	calls := fakes.callTimes(workflow.FunctionIssueTickets, id)
	if len(calls) != 3 {
		t.Fatalf("issue-tickets called %d times, want 3 (2 failures + 1)", len(calls))
	}
	// IntervalSeconds 2, BackoffRate 2: 2 s then 4 s, scaled to 20 ms and 40 ms.
	if g1, g2 := calls[1].Sub(calls[0]), calls[2].Sub(calls[1]); g1 < 18*time.Millisecond || g2 < 38*time.Millisecond {
		t.Fatalf("retry gaps %v, %v: want >= 20 ms and 40 ms", g1, g2)
	}
	wantCalls(t, id, map[string]int{workflow.FunctionAwaitPayment: 1, workflow.FunctionIssueTickets: 3})
}

// (e) The issuer stays down: 1 + 5 attempts, then MarkIssueFailed once and the
// execution fails with TicketIssueFailed (for the reconciler).
func TestIssuerDownMarksIssueFailed(t *testing.T) {
	s := sidecar(t)
	id := uniq("issuer-down-e")
	fakes.set(id, scenario{issuerFailures: -1})
	arn := startOrder(t, s, id, 3600)
	if err := sendPaid(s, id, taskToken(t, id)); err != nil {
		t.Fatal(err)
	}
	out := awaitDone(t, s, arn)
	if out.Status != types.ExecutionStatusFailed || aws.ToString(out.Error) != workflow.ErrTicketIssueFailed {
		t.Fatalf("status %s error %q cause %q", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	wantCalls(t, id, map[string]int{workflow.FunctionAwaitPayment: 1, workflow.FunctionIssueTickets: 6, workflow.FunctionMarkIssueFailed: 1})
	var mark struct {
		OrderID string `json:"orderId"`
		Error   struct{ Error, Cause string }
	}
	fakes.mu.Lock()
	raw := fakes.payloads[workflow.FunctionMarkIssueFailed+"/"+id]
	fakes.mu.Unlock()
	if err := json.Unmarshal(raw, &mark); err != nil || mark.Error.Error != workflow.ErrTicketIssuerUnavailable || !strings.Contains(mark.Error.Cause, "issuer down") {
		t.Fatalf("mark-issue-failed payload %s", raw)
	}
}

// (f) StartExecution is idempotent for the same name and input while the
// execution runs; a different input under the same name is a conflict.
func TestStartExecutionIdempotent(t *testing.T) {
	s := sidecar(t)
	id := uniq("twice-f")
	first := startOrder(t, s, id, 3600)
	second := startOrder(t, s, id, 3600)
	if first != second {
		t.Fatalf("second start returned %s, want %s", second, first)
	}
	tok := taskToken(t, id)
	var exists *types.ExecutionAlreadyExists
	_, err := s.Client().StartExecution(context.Background(), &sfn.StartExecutionInput{
		StateMachineArn: aws.String(s.StateMachineArn(workflow.Name)), Name: aws.String(id), Input: aws.String(input(id, 60)),
	})
	if !errors.As(err, &exists) {
		t.Fatalf("same name, other input: want ExecutionAlreadyExists, got %v", err)
	}
	if err := sendPaid(s, id, tok); err != nil {
		t.Fatal(err)
	}
	succeeded(t, awaitDone(t, s, first))
	if n := fakes.count(workflow.FunctionAwaitPayment, id); n != 1 {
		t.Fatalf("await-payment called %d times: more than one execution ran", n)
	}
	// Closed: the name stays taken (for the retention period), even with the same input.
	_, err = s.Client().StartExecution(context.Background(), &sfn.StartExecutionInput{
		StateMachineArn: aws.String(s.StateMachineArn(workflow.Name)), Name: aws.String(id), Input: aws.String(input(id, 3600)),
	})
	if !errors.As(err, &exists) {
		t.Fatalf("after close: want ExecutionAlreadyExists, got %v", err)
	}
}

// ---- the API around the workflow -----------------------------------------------------------

func TestStopExecutionAndTokenErrors(t *testing.T) {
	s := sidecar(t)
	c := s.Client()
	ctx := context.Background()
	id := uniq("stopped")
	arn := startOrder(t, s, id, 3600)
	tok := taskToken(t, id)
	if _, err := c.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(arn), Error: aws.String("OrderCancelled"), Cause: aws.String("fan cancelled")}); err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil || d.Status != types.ExecutionStatusAborted || aws.ToString(d.Error) != "OrderCancelled" || d.StopDate == nil {
		t.Fatalf("after StopExecution: %v %+v", err, d)
	}
	var timedOut *types.TaskTimedOut
	if err := sendPaid(s, id, tok); !errors.As(err, &timedOut) {
		t.Fatalf("token of a stopped execution: want TaskTimedOut, got %v", err)
	}

	var dne *types.TaskDoesNotExist
	if err := sendPaid(s, "x", "sfnlocal:v1:00000000-0000-4000-8000-000000000000"); !errors.As(err, &dne) {
		t.Fatalf("unknown token: want TaskDoesNotExist, got %v", err)
	}
	var invalid *types.InvalidToken
	if err := sendPaid(s, "x", "garbage"); !errors.As(err, &invalid) {
		t.Fatalf("malformed token: want InvalidToken, got %v", err)
	}
	var noExec *types.ExecutionDoesNotExist
	if _, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn + "-nope")}); !errors.As(err, &noExec) {
		t.Fatalf("unknown execution: want ExecutionDoesNotExist, got %v", err)
	}
	var badOutput *types.InvalidOutput
	id2 := uniq("bad-output")
	arn2 := startOrder(t, s, id2, 3600)
	tok2 := taskToken(t, id2)
	if _, err := c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(tok2), Output: aws.String("{nope")}); !errors.As(err, &badOutput) {
		t.Fatalf("invalid output: want InvalidOutput, got %v", err)
	}
	if _, err := c.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: aws.String(tok2)}); err != nil {
		t.Fatalf("heartbeat: %v", err)
	}
	if err := sendPaid(s, id2, tok2); err != nil {
		t.Fatal(err)
	}
	succeeded(t, awaitDone(t, s, arn2))
}

func TestDescribeStateMachineHasFunctionArns(t *testing.T) {
	s := sidecar(t)
	d, err := s.Client().DescribeStateMachine(context.Background(), &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(s.StateMachineArn(workflow.Name))})
	if err != nil {
		t.Fatal(err)
	}
	def := aws.ToString(d.Definition)
	if strings.Contains(def, "${") || !strings.Contains(def, `"arn:aws:lambda:`+Region+`:`+Account+`:function:`+workflow.FunctionAwaitPayment+`"`) {
		t.Fatalf("definition not substituted: %.300s", def)
	}
	if s.StateMachineArn("nope") != "" {
		t.Fatal("unknown state machine has an ARN")
	}
}

// Definitions the sidecar cannot run faithfully are refused when registered,
// not discovered at run time.
func TestCreateStateMachineRefusesWhatItCannotRun(t *testing.T) {
	s := sidecar(t)
	task := func(resource, params string) string {
		return `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + resource + `","Parameters":` + params + `,"End":true}}}`
	}
	for name, def := range map[string]string{
		"not-asl":         `{"StartAt":"X","States":{}}`,
		"dynamodb":        task("arn:aws:states:::dynamodb:putItem", `{"TableName":"t","Item":{}}`),
		"unknown-subst":   task("arn:aws:states:::lambda:invoke", `{"FunctionName":"${Queue_x}"}`),
		"callback-no-tok": task("arn:aws:states:::lambda:invoke.waitForTaskToken", `{"FunctionName":"f","Payload":{}}`),
		"async-invoke":    task("arn:aws:states:::lambda:invoke", `{"FunctionName":"f","InvocationType":"Event"}`),
		"jsonata":         `{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`,
	} {
		_, err := s.Client().CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{
			Name: aws.String("refused-" + name), Definition: aws.String(def), RoleArn: aws.String("arn:aws:iam::" + Account + ":role/x"),
		})
		var invalid *types.InvalidDefinition
		if !errors.As(err, &invalid) {
			t.Errorf("%s: want InvalidDefinition, got %v", name, err)
		}
	}
}

// Heartbeats keep a callback Task alive; a missed one fails it with
// States.HeartbeatTimeout, which a Catch on States.Timeout matches, as in AWS.
func TestHeartbeatTimeout(t *testing.T) {
	s := sidecar(t)
	def := `{"StartAt":"Wait","States":{
	  "Wait":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
	    "Parameters":{"FunctionName":"${Function_await-payment}","Payload":{"orderId.$":"$.orderId","taskToken.$":"$$.Task.Token"}},
	    "HeartbeatSeconds":30,"Catch":[{"ErrorEquals":["States.Timeout"],"ResultPath":"$.error","Next":"Done"}],"End":true},
	  "Done":{"Type":"Succeed"}}}`
	ctx := context.Background()
	sm, err := s.Client().CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("heartbeat"), Definition: aws.String(def), RoleArn: aws.String("arn:aws:iam::" + Account + ":role/x")})
	if err != nil {
		t.Fatal(err)
	}
	id := uniq("heartbeat-1")
	start := time.Now()
	ex, err := s.Client().StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String(id), Input: aws.String(`{"orderId":"` + id + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	tok := taskToken(t, id)
	for range 8 { // 8 x 50 ms > the 300 ms (30 s scaled) heartbeat timeout
		time.Sleep(50 * time.Millisecond)
		if _, err := s.Client().SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: aws.String(tok)}); err != nil {
			t.Fatalf("heartbeat after %v: %v", time.Since(start), err)
		}
	}
	out := awaitDone(t, s, aws.ToString(ex.ExecutionArn))
	if out.Status != types.ExecutionStatusSucceeded || !strings.Contains(aws.ToString(out.Output), `"Error":"States.HeartbeatTimeout"`) {
		t.Fatalf("status %s output %s", out.Status, aws.ToString(out.Output))
	}
	if el := time.Since(start); el < 700*time.Millisecond {
		t.Fatalf("timed out after %v despite heartbeats", el)
	}
}

// (h) The sidecar counts state transitions as Step Functions Standard
// bills them: every state entered plus every retry. An order paid at once
// whose issuer fails twice enters AwaitPayment, IssueTickets and Issued and
// retries IssueTickets twice: five transitions.
func TestStatsCountBilledTransitions(t *testing.T) {
	// A sidecar of its own: executions other tests leave running would
	// move the shared one's totals.
	lambda := httptest.NewServer(LambdaEndpoint(fakes.funcs()))
	defer lambda.Close()
	s, err := Start(context.Background(), Options{RepoRoot: root(t), LambdaURL: lambda.URL, TimeScale: timeScale,
		Definitions: map[string]string{workflow.Name: workflow.DefinitionPath}, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	before, err := s.Stats(ctx)
	if err != nil || before != (Stats{}) {
		t.Fatalf("a new sidecar's stats: %+v, %v", before, err)
	}
	id := uniq("stats-h")
	fakes.set(id, scenario{issuerFailures: 2})
	arn := startOrder(t, s, id, 3600)
	if err := sendPaid(s, id, taskToken(t, id)); err != nil {
		t.Fatal(err)
	}
	succeeded(t, awaitDone(t, s, arn))
	// The sidecar reads an execution's events asynchronously: wait for the
	// count to arrive, then check it is exact.
	deadline := time.Now().Add(5 * time.Second)
	for {
		after, err := s.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := after.StateTransitions - before.StateTransitions
		if got >= 5 || time.Now().After(deadline) {
			if got != 5 || after.ExecutionsStarted-before.ExecutionsStarted != 1 || after.Running != before.Running {
				t.Fatalf("stats %+v after %+v: want 5 more transitions, 1 more execution, none left running", after, before)
			}
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
