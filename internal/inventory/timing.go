package inventory

import (
	"context"
	"sync"
	"time"
)

// Timing is where one Hold call spent its time, measured as it ran. The
// rush simulation pairs it with the fan's own measure of the request, so
// that a slow hold can be blamed on the part that was slow rather than
// estimated (docs/performance.md, "Where a hold's time goes").
type Timing struct {
	Account        string
	IdempotencyKey string
	OrderID        string // empty when no order came of it
	// Total is the whole Hold call: reads of the event and the
	// idempotency record, the rate limiter, planning, every transaction
	// and the wait before a retry, and what runs after the commit.
	Total time.Duration
	// Transaction is the time inside the store's hold transactions
	// (TransactWriteItems, the SDK's own retries included), every attempt.
	Transaction time.Duration
	// Attempts is how many transactions were sent; BeforeTransaction is
	// the time from the call to the first of them (the event, the
	// idempotency record, the rate limiter, the admission token, planning).
	Attempts          int
	BeforeTransaction time.Duration
	// AfterCommit is what runs after the commit (Places.Used and
	// Options.OnHold); WorkflowStart is the part of it that started the
	// order's workflow (RecordWorkflowStart).
	AfterCommit   time.Duration
	WorkflowStart time.Duration
}

type timingKey struct{}

// timing is the Timing of the Hold call running on a context.
type timing struct {
	mu    sync.Mutex
	t     Timing
	start time.Time
}

// RecordWorkflowStart adds d, the time an OnHold hook spent starting the
// order's workflow, to the hold's Timing. Outside a timed hold it does
// nothing.
func RecordWorkflowStart(ctx context.Context, d time.Duration) {
	if t, ok := ctx.Value(timingKey{}).(*timing); ok {
		t.mu.Lock()
		t.t.WorkflowStart += d
		t.mu.Unlock()
	}
}

func (t *timing) addTransaction(sent time.Time, d time.Duration) {
	if t == nil {
		return
	}
	t.mu.Lock()
	if t.t.Attempts == 0 {
		t.t.BeforeTransaction = sent.Sub(t.start)
	}
	t.t.Transaction += d
	t.t.Attempts++
	t.mu.Unlock()
}

func timingOf(ctx context.Context) *timing {
	t, _ := ctx.Value(timingKey{}).(*timing)
	return t
}
