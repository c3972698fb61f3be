package catalog

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/stararena/stararena/internal/clock"
)

// CachedEvents serves Get from a copy of the event document kept per
// instance for a TTL (EVENT_CACHE_TTL, 2 s), in front of a Service: the
// purchase path reads the event on every hold, and thousands of holds a
// second of one sale would otherwise read the same item thousands of times.
//
// It is safe there because the event document decides nothing a
// conditional write does not check again. Seats, GA places, the account's
// limit and the admission token are all conditions of the hold's
// transaction, read from the items themselves; the cached copy only
// supplies the sale's state, prices, hold length and per-account maximum.
// The invalidation rule is time alone: an organizer's change (pausing or
// closing the sale, a new price or maximum) reaches every instance's holds
// within the TTL, which an organizer's action tolerates; nothing is ever
// served older, and a refusal need not trust it (Fresh). Errors are not cached. Reads that must see the latest
// document (the organizer's own, the schedules) go to the Service.
type CachedEvents struct {
	*Service
	ttl   time.Duration
	clock clock.Clock
	mu    sync.Mutex
	evs   map[string]cachedEvent
	// reads lets one read of an expired event go to the Service while the
	// instance's other requests for it wait for that read: a cache in
	// front of concurrent requests (the local stack serves every function
	// in one process) would otherwise send all of them at once.
	reads singleflight.Group
	// projections is the availability copy of availability.go.
	projections projectionCopies
}

type cachedEvent struct {
	ev      Event
	expires time.Time
}

// maxCachedEvents bounds the cache: past it, expired copies are dropped.
const maxCachedEvents = 1000

// NewCachedEvents caches s's events for ttl (at least 1 ms).
func NewCachedEvents(s *Service, ttl time.Duration, clk clock.Clock) *CachedEvents {
	if clk == nil {
		clk = clock.System{}
	}
	return &CachedEvents{Service: s, ttl: max(ttl, time.Millisecond), clock: clk, evs: map[string]cachedEvent{}}
}

// Get returns the event, from the cache when the copy is younger than the
// TTL.
func (c *CachedEvents) Get(ctx context.Context, id string) (Event, error) {
	now := c.clock.Now()
	c.mu.Lock()
	e, ok := c.evs[id]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.ev, nil
	}
	return c.read(ctx, id, now)
}

// Fresh reads the event past the cache and keeps the copy it read. A
// caller about to refuse a fan on a cached copy (the sale not open yet)
// asks it, so an organizer's opening — a presale's codes, a resumed sale —
// admits fans at once while closing still takes up to the TTL.
func (c *CachedEvents) Fresh(ctx context.Context, id string) (Event, error) {
	return c.read(ctx, id, c.clock.Now())
}

func (c *CachedEvents) read(ctx context.Context, id string, now time.Time) (Event, error) {
	v, err, shared := c.reads.Do(id, func() (any, error) { return c.Service.Get(ctx, id) })
	if err != nil && shared && ctx.Err() == nil {
		// The read this request waited for failed, perhaps on its own
		// request's deadline: read for this request.
		v, err = c.Service.Get(ctx, id)
	}
	if err != nil {
		return Event{}, err
	}
	ev := v.(Event)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.evs) >= maxCachedEvents {
		for k, v := range c.evs {
			if !now.Before(v.expires) {
				delete(c.evs, k)
			}
		}
	}
	c.evs[id] = cachedEvent{ev: ev, expires: now.Add(c.ttl)}
	return ev, nil
}
