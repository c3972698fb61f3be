// Package retry is StarArena's one way to try a call again: exponential
// backoff with full jitter, capped, within a budget of attempts and time,
// stopped by the context, and by default only for errors whose fault kind
// says a retry may help (fault.Retryable).
//
// Full jitter (a uniform wait in [0, min(Cap, Base·2ⁿ))) spreads the
// retries of many callers that lost the same race, which is what a sale
// opening produces; see the AWS Architecture Blog, "Exponential Backoff
// And Jitter".
package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/fault"
)

// Policy says how often and how long to retry. The zero value is usable:
// nil and zero fields take the defaults listed.
type Policy struct {
	// Attempts bounds the calls, the first included (default 5).
	Attempts int
	// Budget bounds the time from the first call: no wait starts that
	// would end after it. Zero means no time budget.
	Budget time.Duration
	// Base is the ceiling of the first wait (default 10 ms); it doubles
	// with every retry up to Cap (default 1 s).
	Base, Cap time.Duration
	// Retryable says which errors are worth another call (default
	// fault.Retryable). Again returns any other error at once.
	Retryable func(error) bool
	// Sleep waits d or until ctx ends (default a timer). Tests inject one
	// that returns at once, with Clock advanced by d.
	Sleep func(ctx context.Context, d time.Duration) error
	// Clock measures Budget (default the system clock).
	Clock clock.Clock
	// Jitter picks the wait in [0, ceiling) (default uniform random).
	Jitter func(ceiling time.Duration) time.Duration
}

// ErrExhausted marks an error Again or Wait returns because the
// attempts or the time budget ran out; the last error is wrapped with it,
// so its fault kind still matches.
var ErrExhausted = errors.New("retry budget exhausted")

// Backoff paces one caller's retries under a Policy: Again for the plain
// loop, Wait for loops that decide between attempts themselves. A Backoff
// is not safe for concurrent use.
type Backoff struct {
	p        Policy
	attempt  int // calls made so far
	deadline time.Time
}

// Start begins a sequence of attempts: the first call needs no Wait.
func (p Policy) Start() *Backoff {
	p = p.withDefaults()
	b := &Backoff{p: p, attempt: 1}
	if p.Budget > 0 {
		b.deadline = p.Clock.Now().Add(p.Budget)
	}
	return b
}

// Attempt is the number of the call about to be made or just made (1 for
// the first).
func (b *Backoff) Attempt() int { return b.attempt }

// Wait pauses before the next attempt. It returns an error wrapping
// ErrExhausted (and last, when given) when no attempt is left or the wait
// would overrun the time budget, and the context's error when ctx ends
// first.
func (b *Backoff) Wait(ctx context.Context, last error) error {
	if b.attempt >= b.p.Attempts {
		return exhausted(b.attempt, last)
	}
	d := b.p.Jitter(b.ceiling())
	if !b.deadline.IsZero() && b.p.Clock.Now().Add(d).After(b.deadline) {
		return exhausted(b.attempt, last)
	}
	// A wait that would outlast the caller's deadline gives up now, so the
	// caller still has time to answer "busy" rather than run out of time.
	// Context deadlines are wall-clock time, whatever Clock says.
	if dl, ok := ctx.Deadline(); ok && !time.Now().Add(d).Before(dl) {
		return exhausted(b.attempt, last)
	}
	if err := b.p.Sleep(ctx, d); err != nil {
		return err
	}
	b.attempt++
	return nil
}

// DeadlineShare is the part of the time a context has left that Bound
// gives the calls and their retries: the rest is the caller's, to answer
// (a function's deadline overrun is a 500 where a 503 was due).
const DeadlineShare = 3 / 4.0

// Bound returns ctx limited to the policy's time Budget and to
// DeadlineShare of the time ctx has left, for the calls of one request and
// every retry of them, the SDK's own included: a retry budget is per
// request, not per call. The cancel func must be called.
func (p Policy) Bound(ctx context.Context) (context.Context, context.CancelFunc) {
	limit := p.Budget
	if dl, ok := ctx.Deadline(); ok {
		share := time.Duration(float64(time.Until(dl)) * DeadlineShare)
		if limit <= 0 || share < limit {
			limit = max(share, 0)
		}
	} else if limit <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, limit)
}

// ceiling is min(Cap, Base·2^(attempt-1)).
func (b *Backoff) ceiling() time.Duration {
	d := b.p.Base
	for i := 1; i < b.attempt && d < b.p.Cap; i++ {
		d *= 2
	}
	return min(d, b.p.Cap)
}

func exhausted(attempts int, last error) error {
	if last == nil {
		return fmt.Errorf("%w after %d attempts", ErrExhausted, attempts)
	}
	return fmt.Errorf("%w after %d attempts: %w", ErrExhausted, attempts, last)
}

// Again decides after an attempt whether to make another: it returns
// false and nil after a success, false and err itself for an error the
// policy does not retry, false and an error wrapping ErrExhausted (and
// err) when the budget ran out, false and the context's error when ctx
// ended during the wait; otherwise it waits and returns true.
//
// It is a loop condition rather than a function taking the attempt as a
// callback on purpose: the infra access test walks a call graph per
// Lambda, and one shared function calling every caller's callback would
// make each Lambda look as if it ran all of them.
//
//	for b := policy.Start(); ; {
//		err := try(ctx)
//		if again, err := b.Again(ctx, err); !again {
//			return err
//		}
//	}
func (b *Backoff) Again(ctx context.Context, err error) (bool, error) {
	if err == nil {
		return false, nil
	}
	if !b.p.Retryable(err) {
		return false, err
	}
	if werr := b.Wait(ctx, err); werr != nil {
		return false, werr
	}
	return true, nil
}

func (p Policy) withDefaults() Policy {
	if p.Attempts <= 0 {
		p.Attempts = 5
	}
	if p.Base <= 0 {
		p.Base = 10 * time.Millisecond
	}
	if p.Cap <= 0 {
		p.Cap = time.Second
	}
	p.Cap = max(p.Cap, p.Base)
	if p.Retryable == nil {
		p.Retryable = fault.Retryable
	}
	if p.Sleep == nil {
		p.Sleep = sleep
	}
	if p.Clock == nil {
		p.Clock = clock.System{}
	}
	if p.Jitter == nil {
		p.Jitter = fullJitter
	}
	return p
}

func fullJitter(ceiling time.Duration) time.Duration {
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceiling)))
}

// Sleep waits for d, or until ctx ends (its error then).
func Sleep(ctx context.Context, d time.Duration) error { return sleep(ctx, d) }

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
