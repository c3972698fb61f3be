package rush

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/workflow"
)

// crasher makes the workflow's tasks crash between two of their effects
// (workflow.Tasks.Crash) at a given rate: the function dies after
// applying a payment or after writing tickets, before answering, and Step
// Functions retries it.
type crasher struct {
	mu    sync.Mutex
	rng   *rand.Rand
	rate  float64
	fired map[string]int64
	calls map[string]int64
}

func newCrasher(rate float64, seed uint64) *crasher {
	return &crasher{rng: rand.New(rand.NewPCG(seed, 0xc4a54)), rate: rate, fired: map[string]int64{}, calls: map[string]int64{}}
}

func (c *crasher) at(point string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[point]++
	if c.rng.Float64() < c.rate {
		c.fired[point]++
		return fmt.Errorf("injected crash at %s", point)
	}
	return nil
}

func (c *crasher) counts() (fired, calls map[string]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fired, calls = map[string]int64{}, map[string]int64{}
	for k, v := range c.fired {
		fired[k] = v
	}
	for k, v := range c.calls {
		calls[k] = v
	}
	return fired, calls
}

// outage makes the ticket issuer fail like a dependency that is down:
// once after tickets have been issued, every issue attempt fails for
// length; the workflow retries with backoff and gives up into ISSUE_FAILED,
// and the reconciler (which issues through the same tasks) repairs it
// later.
type outage struct {
	inner  workflow.Tickets
	after  int64 // tickets issued before the outage starts
	length time.Duration
	issued atomic.Int64
	from   atomic.Int64 // unix nanoseconds; zero: not started
	failed atomic.Int64
	calls  atomic.Int64
}

func (o *outage) window() (from, to time.Time, started bool) {
	f := o.from.Load()
	if f == 0 {
		return time.Time{}, time.Time{}, false
	}
	return time.Unix(0, f), time.Unix(0, f).Add(o.length), true
}

func (o *outage) IssueOrder(ctx context.Context, ord orders.Order) (orders.Order, []string, error) {
	o.calls.Add(1)
	now := time.Now()
	if o.length > 0 && o.issued.Load() >= o.after {
		o.from.CompareAndSwap(0, now.UnixNano())
	}
	if from, to, ok := o.window(); ok && !now.Before(from) && now.Before(to) {
		o.failed.Add(1)
		return ord, nil, apperr.New(apperr.Unavailable, "ticket issuer unavailable (injected outage)")
	}
	issued, ids, err := o.inner.IssueOrder(ctx, ord)
	if err == nil {
		o.issued.Add(int64(len(ids)))
	}
	return issued, ids, err
}
