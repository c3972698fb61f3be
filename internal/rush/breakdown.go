package rush

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stararena/stararena/internal/inventory"
)

// holdTimes pairs each hold the fans sent with the holds service's own
// timing of it (inventory.Timing, recorded as the hold ran), by the
// request's Idempotency-Key: every fan's keys are its own.
type holdTimes struct {
	mu      sync.Mutex
	pending map[string]inventory.Timing // recorded, not yet answered
	samples []holdSample
}

// holdSample is one answered hold: the fan's latency and the service's parts.
type holdSample struct {
	client time.Duration
	t      inventory.Timing
}

func newHoldTimes() *holdTimes { return &holdTimes{pending: map[string]inventory.Timing{}} }

// record is the service's hook: it runs before the handler answers.
func (h *holdTimes) record(t inventory.Timing) {
	h.mu.Lock()
	h.pending[t.IdempotencyKey] = t
	h.mu.Unlock()
}

// answered pairs the fan's latency for key with the service's timing. A
// hold refused before the service (authorizer, validation) has none.
func (h *holdTimes) answered(key string, took time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.pending[key]
	if !ok {
		return
	}
	delete(h.pending, key)
	h.samples = append(h.samples, holdSample{client: took, t: t})
}

// Quantiles are a sample's p50, p95 and p99 in milliseconds.
type Quantiles struct {
	P50 float64 `json:"p50Ms"`
	P95 float64 `json:"p95Ms"`
	P99 float64 `json:"p99Ms"`
}

func quantilesOf(ds []time.Duration) Quantiles {
	if len(ds) == 0 {
		return Quantiles{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(q float64) float64 { return float64(s[int(q*float64(len(s)-1)+0.5)].Microseconds()) / 1000 }
	return Quantiles{P50: at(0.50), P95: at(0.95), P99: at(0.99)}
}

// HoldBreakdown is where the fans' holds spent their time, hold by hold,
// from timings the holds service recorded as each hold ran (not
// estimated). The parts are those of the holds that committed an order
// (the only ones that start a workflow); each part's quantiles are taken
// on their own, so they do not add up across parts, but per hold
// Transaction + WorkflowStart + Rest is the fan's latency.
type HoldBreakdown struct {
	// Holds is the answered holds that reached the holds service (the
	// fans' hold latency in Latency also counts those refused before it).
	Holds int `json:"holds"`
	// Made is the holds that committed an order (the others: conflicts,
	// sold out, replays of an earlier answer, limits).
	Made int `json:"holdsMade"`
	// AllClient is the fan's latency of every hold that reached the
	// service; Client that of the holds made.
	AllClient Quantiles `json:"clientAllHolds"`
	Client    Quantiles `json:"client"`
	// Transaction is the time in DynamoDB's hold transactions, every
	// attempt; WorkflowStart is starting the order's Step Functions
	// execution.
	Transaction   Quantiles `json:"dynamodbTransaction"`
	WorkflowStart Quantiles `json:"workflowStart"`
	// Rest is the fan's latency less both, split into the holds service's
	// other work (the event and idempotency reads, the rate limiter,
	// planning, waits before a retry, marking the admission used) and what
	// is outside the service: HTTP on loopback, the API stand-in, the JWT
	// authorizer, the handler's JSON.
	Rest         Quantiles `json:"rest"`
	ServiceOther Quantiles `json:"restInService"`
	Outside      Quantiles `json:"restOutsideService"`
	// The holds service's other work in three: before the first
	// transaction (the event, idempotency and rate-limit reads, the
	// token, planning), between transactions (waits before a retry,
	// re-planning) and after the commit besides the workflow start
	// (counting the admission used, marking a waiting list's offer used;
	// a waiting-room place is marked by the hold's transaction).
	BeforeTransaction Quantiles `json:"beforeTransaction"`
	BetweenAttempts   Quantiles `json:"betweenTransactions"`
	AfterCommitOther  Quantiles `json:"afterCommitBesidesWorkflow"`
	// TransactionsPerHold is the mean number of transactions sent.
	TransactionsPerHold float64 `json:"transactionsPerHold"`
}

func (h *holdTimes) breakdown() *HoldBreakdown {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.samples) == 0 {
		return nil
	}
	n := len(h.samples)
	var all, client, txn, wf, rest, other, outside, before, between, after []time.Duration
	made, attempts := 0, 0
	for _, s := range h.samples {
		all = append(all, s.client)
		attempts += s.t.Attempts
		if s.t.OrderID == "" || s.t.Attempts == 0 {
			continue
		}
		made++
		client = append(client, s.client)
		txn = append(txn, s.t.Transaction)
		wf = append(wf, s.t.WorkflowStart)
		rest = append(rest, max(s.client-s.t.Transaction-s.t.WorkflowStart, 0))
		other = append(other, max(s.t.Total-s.t.Transaction-s.t.WorkflowStart, 0))
		outside = append(outside, max(s.client-s.t.Total, 0))
		before = append(before, s.t.BeforeTransaction)
		between = append(between, max(s.t.Total-s.t.BeforeTransaction-s.t.Transaction-s.t.AfterCommit, 0))
		after = append(after, max(s.t.AfterCommit-s.t.WorkflowStart, 0))
	}
	return &HoldBreakdown{Holds: n, Made: made, AllClient: quantilesOf(all), Client: quantilesOf(client), Transaction: quantilesOf(txn),
		WorkflowStart: quantilesOf(wf), Rest: quantilesOf(rest), ServiceOther: quantilesOf(other), Outside: quantilesOf(outside),
		BeforeTransaction: quantilesOf(before), BetweenAttempts: quantilesOf(between), AfterCommitOther: quantilesOf(after),
		TransactionsPerHold: float64(attempts) / float64(n)}
}

func (b *HoldBreakdown) text() string {
	if b == nil {
		return ""
	}
	var s strings.Builder
	fmt.Fprintf(&s, "\nWhere a hold's time goes (ms, measured by the holds service per hold; %d holds reached it, %.2f transactions each;\n", b.Holds, b.TransactionsPerHold)
	fmt.Fprintf(&s, "parts of the %d holds that made an order)\n", b.Made)
	fmt.Fprintf(&s, "  %-40s %8s %8s %8s\n", "", "p50", "p95", "p99")
	for _, x := range []struct {
		name string
		q    Quantiles
	}{{"fan's latency, every hold", b.AllClient}, {"fan's latency, holds made", b.Client}, {"DynamoDB hold transaction", b.Transaction}, {"Step Functions StartExecution", b.WorkflowStart},
		{"rest", b.Rest}, {"  in the holds service", b.ServiceOther}, {"    before the first transaction", b.BeforeTransaction},
		{"    between transactions (retries)", b.BetweenAttempts}, {"    after commit, besides the workflow", b.AfterCommitOther},
		{"  outside it: HTTP, authorizer, JSON", b.Outside}} {
		fmt.Fprintf(&s, "  %-40s %8.1f %8.1f %8.1f\n", x.name, x.q.P50, x.q.P95, x.q.P99)
	}
	return s.String()
}

// extraText is the report's sections beyond the sale's own: the holds'
// time by part and a cancellation run's findings.
func (r *Report) extraText() string {
	return r.HoldBreakdown.text() + r.Cancellation.text()
}
