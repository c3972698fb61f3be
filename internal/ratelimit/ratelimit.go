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
	c := l.Clock
	if c == nil {
		c = clock.System{}
	}
	now := c.Now()
	start := now.Truncate(l.Window)
	ok, err := l.Store.Hit(ctx, l.Name, subject, start, start.Add(2*l.Window), l.Limit)
	if err != nil {
		return l.storeFailed(ctx, err)
	}
	if !ok {
		secs := int(start.Add(l.Window).Sub(now).Seconds()) + 1
		return apperr.New(apperr.RateLimited, "too many requests: try again in %d s", secs).
			With("retryAfterSeconds", secs)
	}
	return nil
}

func (l *Limiter) storeFailed(ctx context.Context, err error) error {
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
