// Package ratelimit bounds how often one subject (an account, for one
// event) may call an endpoint. Counting happens in DynamoDB, not in a
// Lambda instance's memory: a fan's requests land on many instances.
//
// A fixed window per subject costs one conditional write per request and
// no hot key (every subject and window is its own item). Never limit by IP
// in the application: thousands of fans share a carrier's address. Per-IP
// limits belong to the WAF rate-based rule in front of the join route.
package ratelimit

import (
	"context"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/clock"
)

// Store counts hits in a window; allowed is false once limit is reached.
type Store interface {
	Hit(ctx context.Context, name, subject string, window time.Time, expires time.Time, limit int) (allowed bool, err error)
}

// Limiter allows Limit calls per Window per subject.
type Limiter struct {
	Name   string
	Limit  int
	Window time.Duration
	Store  Store
	Clock  clock.Clock
}

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
		// Failing open: a throttled counter must not lock fans out of a sale.
		return nil
	}
	if !ok {
		retry := start.Add(l.Window).Sub(now)
		return apperr.New(apperr.RateLimited, "too many requests: try again in %d s", int(retry.Seconds())+1).
			With("retryAfterSeconds", int(retry.Seconds())+1)
	}
	return nil
}
