package catalog

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/stararena/stararena/internal/apperr"
)

// ProjectionCopyTTL is how long a CachedEvents instance keeps an event's
// availability projections for the holds it aims. The projections are
// already the change stream's lag plus its batching window old (ADR 18),
// and a hold's transaction decides whatever the copy says: a second more
// costs a few more conflicts at worst, and saves one read per hold.
const ProjectionCopyTTL = time.Second

// projectionCopies is a per-instance copy of events' projections.
type projectionCopies struct {
	mu    sync.Mutex
	evs   map[string]projectionCopy
	reads singleflight.Group
}

type projectionCopy struct {
	ps      []Projection
	expires time.Time
}

// SectionStates is Service.SectionStates from the instance's copy of the
// event's projections, read again at most once per ProjectionCopyTTL:
// at most one read of an event's availability per second per instance,
// however many holds it serves.
func (c *CachedEvents) SectionStates(ctx context.Context, ev *Event, section string) (string, error) {
	ps, err := c.copyOf(ctx, ev)
	if err != nil {
		return "", err
	}
	return sectionStates(ev, ps, section)
}

// SectionAvailable is Service.SectionAvailable from the same copy.
func (c *CachedEvents) SectionAvailable(ctx context.Context, ev *Event, section string) (int, error) {
	ps, err := c.copyOf(ctx, ev)
	if err != nil {
		return 0, err
	}
	return sectionAvailable(ev, ps, section)
}

func (c *CachedEvents) copyOf(ctx context.Context, ev *Event) ([]Projection, error) {
	now := c.clock.Now()
	pc := &c.projections
	pc.mu.Lock()
	cp, ok := pc.evs[ev.ID]
	pc.mu.Unlock()
	if ok && now.Before(cp.expires) {
		return cp.ps, nil
	}
	v, err, shared := pc.reads.Do(ev.ID, func() (any, error) { return c.current(ctx, ev) })
	if err != nil && shared && ctx.Err() == nil {
		v, err = c.current(ctx, ev)
	}
	if err != nil {
		return nil, err
	}
	ps := v.([]Projection)
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.evs == nil || len(pc.evs) >= maxCachedEvents {
		pc.evs = map[string]projectionCopy{}
	}
	pc.evs[ev.ID] = projectionCopy{ps: ps, expires: now.Add(ProjectionCopyTTL)}
	return ps, nil
}

// SectionAvailable returns the places a section's projection shows
// available (a GA section's across its shards), as fresh as
// Availability: for refusing a hold without reading more when nothing is
// left, never for granting one.
func (s *Service) SectionAvailable(ctx context.Context, ev *Event, section string) (int, error) {
	ps, err := s.current(ctx, ev)
	if err != nil {
		return 0, err
	}
	return sectionAvailable(ev, ps, section)
}

func sectionAvailable(ev *Event, ps []Projection, section string) (int, error) {
	for _, p := range ps {
		if p.Section == section {
			return p.Available, nil
		}
	}
	sec, ok := ev.Section(section)
	if !ok {
		return 0, apperr.New(apperr.NotFound, "no section %q", section)
	}
	return sec.Capacity, nil
}
