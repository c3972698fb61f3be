package retry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/retry"
)

// fakeTime makes a Policy whose waits advance a manual clock instead of
// sleeping, and records them.
type fakeTime struct {
	clock *clock.Manual
	waits []time.Duration
}

func newFakeTime() *fakeTime {
	return &fakeTime{clock: clock.NewManual(time.Date(2026, 1, 1, 20, 0, 0, 0, time.UTC))}
}

func (f *fakeTime) policy(p retry.Policy) retry.Policy {
	p.Clock = f.clock
	p.Sleep = func(ctx context.Context, d time.Duration) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		f.waits = append(f.waits, d)
		f.clock.Advance(d)
		return nil
	}
	return p
}

// ceilingJitter waits the whole ceiling, so the schedule is observable.
func ceilingJitter(c time.Duration) time.Duration { return c }

// do is the loop Again is made for.
func do(ctx context.Context, p retry.Policy, op func(attempt int) error) error {
	for b := p.Start(); ; {
		err := op(b.Attempt())
		if again, err := b.Again(ctx, err); !again {
			return err
		}
	}
}

func TestAgain(t *testing.T) {
	ctx := context.Background()
	contention := fault.E("save", fault.Contention, nil)

	t.Run("SucceedsAfterRetryableErrors", func(t *testing.T) {
		ft := newFakeTime()
		calls := 0
		err := do(ctx, ft.policy(retry.Policy{Attempts: 5, Base: 10 * time.Millisecond, Cap: 25 * time.Millisecond, Jitter: ceilingJitter}), func(attempt int) error {
			calls++
			if attempt != calls {
				t.Errorf("attempt %d on call %d", attempt, calls)
			}
			if calls < 4 {
				return fault.E("save", fault.Unavailable, nil)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Do: %v", err)
		}
		want := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 25 * time.Millisecond}
		if len(ft.waits) != len(want) {
			t.Fatalf("waits %v, want %v", ft.waits, want)
		}
		for i := range want {
			if ft.waits[i] != want[i] {
				t.Fatalf("waits %v, want %v (doubling, capped)", ft.waits, want)
			}
		}
	})

	t.Run("AttemptsExhausted", func(t *testing.T) {
		ft := newFakeTime()
		calls := 0
		err := do(ctx, ft.policy(retry.Policy{Attempts: 3}), func(attempt int) error {
			calls++
			return contention
		})
		if calls != 3 {
			t.Fatalf("%d calls, want 3", calls)
		}
		if !errors.Is(err, retry.ErrExhausted) || !fault.Is(err, fault.Contention) {
			t.Fatalf("err = %v, want ErrExhausted wrapping the contention", err)
		}
	})

	t.Run("TimeBudgetExhausted", func(t *testing.T) {
		ft := newFakeTime()
		calls := 0
		start := ft.clock.Now()
		err := do(ctx, ft.policy(retry.Policy{Attempts: 100, Budget: 100 * time.Millisecond, Base: 30 * time.Millisecond, Cap: 30 * time.Millisecond, Jitter: ceilingJitter}), func(attempt int) error {
			calls++
			return contention
		})
		if !errors.Is(err, retry.ErrExhausted) {
			t.Fatalf("err = %v, want ErrExhausted", err)
		}
		// Waits of 30 ms fit three times into 100 ms; a fourth would overrun.
		if calls != 4 || ft.clock.Now().Sub(start) != 90*time.Millisecond {
			t.Fatalf("%d calls over %s, want 4 over 90ms", calls, ft.clock.Now().Sub(start))
		}
	})

	t.Run("NonRetryableReturnsAtOnce", func(t *testing.T) {
		ft := newFakeTime()
		calls := 0
		gone := fault.E("hold", fault.ConditionFailed, nil)
		err := do(ctx, ft.policy(retry.Policy{Attempts: 5}), func(attempt int) error {
			calls++
			return gone
		})
		if calls != 1 || len(ft.waits) != 0 {
			t.Fatalf("%d calls, %d waits; want 1 and 0", calls, len(ft.waits))
		}
		if err != gone || errors.Is(err, retry.ErrExhausted) {
			t.Fatalf("err = %v, want the condition failure as it is", err)
		}
	})

	t.Run("UnclassifiedErrorIsNotRetried", func(t *testing.T) {
		calls := 0
		_ = do(ctx, newFakeTime().policy(retry.Policy{}), func(attempt int) error {
			calls++
			return errors.New("boom")
		})
		if calls != 1 {
			t.Fatalf("%d calls, want 1", calls)
		}
	})

	t.Run("CustomRetryable", func(t *testing.T) {
		calls := 0
		again := errors.New("again")
		p := newFakeTime().policy(retry.Policy{Attempts: 4, Retryable: func(err error) bool { return errors.Is(err, again) }})
		err := do(ctx, p, func(int) error {
			calls++
			return again
		})
		if calls != 4 || !errors.Is(err, again) {
			t.Fatalf("%d calls, err %v; want 4 and the error", calls, err)
		}
	})

	t.Run("ContextCancelledStopsWaiting", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		calls := 0
		err := do(cctx, newFakeTime().policy(retry.Policy{Attempts: 10}), func(attempt int) error {
			calls++
			cancel()
			return contention
		})
		if calls != 1 || !errors.Is(err, context.Canceled) {
			t.Fatalf("%d calls, err %v; want 1 and context.Canceled", calls, err)
		}
	})

	t.Run("RealSleepEndsWithTheContext", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err := do(cctx, retry.Policy{Attempts: 2, Base: time.Hour, Cap: time.Hour, Jitter: ceilingJitter}, func(int) error { return contention })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled without waiting an hour", err)
		}
	})
}

func TestFullJitterStaysUnderTheCeiling(t *testing.T) {
	var waits []time.Duration
	p := retry.Policy{Attempts: 200, Base: 8 * time.Millisecond, Cap: 8 * time.Millisecond,
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	_ = do(context.Background(), p, func(int) error { return fault.E("x", fault.Unavailable, nil) })
	distinct := map[time.Duration]bool{}
	for _, w := range waits {
		if w < 0 || w >= 8*time.Millisecond {
			t.Fatalf("wait %s outside [0, 8ms)", w)
		}
		distinct[w] = true
	}
	if len(distinct) < 10 {
		t.Fatalf("%d distinct waits of %d: not jittered", len(distinct), len(waits))
	}
}

func TestAWaitPastTheCallersDeadlineGivesUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	ft := newFakeTime()
	calls := 0
	err := do(ctx, ft.policy(retry.Policy{Attempts: 10, Base: 2 * time.Hour, Cap: 2 * time.Hour, Jitter: ceilingJitter}), func(int) error {
		calls++
		return fault.E("save", fault.Unavailable, nil)
	})
	if calls != 1 || len(ft.waits) != 0 || !errors.Is(err, retry.ErrExhausted) || !fault.Retryable(err) {
		t.Fatalf("%d calls, waits %v, err %v; want 1 call, no wait, ErrExhausted keeping the fault kind", calls, ft.waits, err)
	}
}

func TestBoundLeavesTheCallerTimeToAnswer(t *testing.T) {
	t.Run("ShareOfTheDeadline", func(t *testing.T) {
		parent, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		pdl, _ := parent.Deadline()
		ctx, cancel2 := retry.Policy{}.Bound(parent)
		defer cancel2()
		dl, ok := ctx.Deadline()
		left := time.Until(pdl)
		if !ok || pdl.Sub(dl) < left/4-100*time.Millisecond || pdl.Sub(dl) > left/4+100*time.Millisecond {
			t.Fatalf("bound ends %s before the caller's deadline, want about a quarter of %s", pdl.Sub(dl), left)
		}
	})
	t.Run("BudgetWhenShorter", func(t *testing.T) {
		parent, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		ctx, cancel2 := retry.Policy{Budget: time.Second}.Bound(parent)
		defer cancel2()
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > time.Second {
			t.Fatalf("bound %v (set %v), want within the 1 s budget", time.Until(dl), ok)
		}
	})
	t.Run("NoDeadlineNoBudget", func(t *testing.T) {
		ctx, cancel := retry.Policy{}.Bound(context.Background())
		defer cancel()
		if _, ok := ctx.Deadline(); ok {
			t.Fatal("a bound without budget or deadline has a deadline")
		}
	})
}
