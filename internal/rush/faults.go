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
	"github.com/stararena/stararena/internal/ordertasks"
)

// crasher makes the workflow's tasks crash between two of their effects
// (ordertasks.Tasks.Crash) at a given rate: the function dies after
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

// outage makes the ticket issuer fail like a dependency that is down
// during [from, from+for): every issue attempt in the window fails, the
// workflow retries with backoff and gives up into ISSUE_FAILED, and the
// reconciler (which issues through the same tasks) repairs it later.
type outage struct {
	inner    ordertasks.Tickets
	from, to atomic.Int64 // unix nanoseconds; zero: no outage
	failed   atomic.Int64
	calls    atomic.Int64
}

func (o *outage) set(from time.Time, d time.Duration) {
	o.from.Store(from.UnixNano())
	o.to.Store(from.Add(d).UnixNano())
}

func (o *outage) IssueFor(ctx context.Context, ord orders.Order) (int, error) {
	o.calls.Add(1)
	now := time.Now().UnixNano()
	if f, t := o.from.Load(), o.to.Load(); f != 0 && now >= f && now < t {
		o.failed.Add(1)
		return 0, apperr.New(apperr.Unavailable, "ticket issuer unavailable (injected outage)")
	}
	return o.inner.IssueFor(ctx, ord)
}
