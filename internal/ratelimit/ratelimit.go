// Package ratelimit bounds how often one subject (an account, for one
// event) may call an endpoint. It is the one limiter of the application:
// admissions, holds and payment creation count in DynamoDB, and the local
// stack's stand-in for the WAF's join rule counts in memory, with the same
// fixed windows and the same answer.
//
// Counting happens in DynamoDB, not in a Lambda instance's memory: a fan's
// requests land on many instances. A fixed window per subject costs one
// conditional write per request and no hot key (every subject and window
// is its own item). Never limit by IP in the application: thousands of
// fans share a carrier's address. Per-IP limits belong to the WAF
// rate-based rule in front of the API.
package ratelimit

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/metrics"
)

// Store counts hits in a window; allowed is false once limit is reached.
type Store interface {
	Hit(ctx context.Context, name, subject string, window time.Time, expires time.Time, limit int) (allowed bool, err error)
}

// Counter counts an event in a metric (metrics.Emitter).
type Counter interface {
	Count(name string, n float64, dims map[string]string)
}

// Limiter allows Limit calls per Window per subject.
type Limiter struct {
	Name   string
	Limit  int
	Window time.Duration
	Store  Store
	Clock  clock.Clock
	// FailClosed refuses a call whose counter cannot be reached (503
	// UNAVAILABLE with a short Retry-After) instead of letting it through.
	// Holds fail closed: an unlimited caller there can starve the
	// purchase path's shared throttles. Admission and payment creation
	// fail open: a throttled counter must not lock fans out of a sale
	// they were admitted to.
	FailClosed bool
	// Log and Metrics (both optional) record every unreachable counter,
	// whichever way the limiter then fails.
	Log     *slog.Logger
	Metrics Counter
}

// StoreRetryAfterSeconds is what a fan is told to wait when a fail-closed
// limiter could not reach its counter: a throttle passes in about a second.
const StoreRetryAfterSeconds = 1

// Allow counts one call by subject; RATE_LIMITED (429) when over the limit.
func (l *Limiter) Allow(ctx context.Context, subject string) error {
	start, expires := l.Current()
	ok, err := l.Store.Hit(ctx, l.Name, subject, start, expires, l.Limit)
	if err != nil {
		return l.Unreachable(ctx, err)
	}
	if !ok {
		return l.Refused(start)
	}
	return nil
}

// Current is the fixed window a call made now counts in, and when its
// count may be forgotten. A caller that counts in its own write (the
// hold's transaction, ADR 14) counts there, on the condition that the
// window's count is below Limit, and answers Refused or Unreachable as
// Allow does.
func (l *Limiter) Current() (start, expires time.Time) {
	start = l.now().Truncate(l.Window)
	return start, start.Add(2 * l.Window)
}

// Refused is the answer to a call over the limit in the window that
// started at start: RATE_LIMITED with the seconds until it ends.
func (l *Limiter) Refused(start time.Time) error {
	secs := max(int(start.Add(l.Window).Sub(l.now()).Seconds())+1, 1)
	return apperr.New(apperr.RateLimited, "too many requests: try again in %d s", secs).
		With("retryAfterSeconds", secs)
}

// Max is the number of calls allowed per window.
func (l *Limiter) Max() int { return l.Limit }

func (l *Limiter) now() time.Time {
	if l.Clock == nil {
		return clock.System{}.Now()
	}
	return l.Clock.Now()
}

// Unreachable is the answer when the counter could not be reached: 503
// UNAVAILABLE when the limiter fails closed, nil when it fails open;
// logged and counted either way.
func (l *Limiter) Unreachable(ctx context.Context, err error) error {
	if l.Metrics != nil {
		l.Metrics.Count(metrics.RateLimitStoreErrors, 1, map[string]string{metrics.DimKind: l.Name})
	}
	log := l.Log
	if log == nil {
		log = slog.Default()
	}
	if l.FailClosed {
		log.WarnContext(ctx, "rate limit counter unreachable: refusing the call", "limiter", l.Name, "err", err)
		return apperr.Wrap(err, apperr.Unavailable, "the service is busy; retry in %d s", StoreRetryAfterSeconds).
			With("retryAfterSeconds", StoreRetryAfterSeconds)
	}
	log.WarnContext(ctx, "rate limit counter unreachable: letting the call through", "limiter", l.Name, "err", err)
	return nil
}

// Memory is a Store in one process's memory: the local stack's stand-in
// for the WAF's own counters. It keeps only the current window of each
// limiter name.
type Memory struct {
	mu     sync.Mutex
	counts map[string]*windowCounts
}

type windowCounts struct {
	start time.Time
	hits  map[string]int
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{counts: map[string]*windowCounts{}} }

// Hit implements Store.
func (m *Memory) Hit(_ context.Context, name, subject string, window, _ time.Time, limit int) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.counts[name]
	if c == nil || !c.start.Equal(window) {
		c = &windowCounts{start: window, hits: map[string]int{}}
		m.counts[name] = c
	}
	if c.hits[subject] >= limit {
		return false, nil
	}
	c.hits[subject]++
	return true, nil
}
