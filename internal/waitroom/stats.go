package waitroom

import (
	"context"
	"errors"
	"sync"
	"time"
)

// DefaultStatsFlushEvery is how long an instance keeps its admission
// counts before adding them to the table.
const DefaultStatsFlushEvery = 5 * time.Second

// statsBuffer holds the admitted and used counts an instance has not yet
// added to the table. A count per admission and per hold was one write
// each on the sale's hottest paths; the report needs totals, not the
// moment each one happened.
type statsBuffer struct {
	mu      sync.Mutex
	pending map[string]Stats
	since   time.Time // when the oldest pending count was taken
	// flushing serializes flushes, so a count is never added twice.
	flushing sync.Mutex
}

// count adds d to the event's counts, and adds the instance's counts to
// the table once the oldest is StatsFlushEvery old: at most one write per
// event per instance per interval. In Lambda an instance is frozen
// between requests, so counts wait for its next request; an instance that
// ends never adds what it counted in its last interval (the report's
// admitted and used can fall short by that much; ADR 14).
func (s *Service) count(ctx context.Context, eventID string, d Stats) {
	waited := s.stats.add(eventID, d, s.clock.Now())
	if s.o.StatsFlushEvery < 0 || waited >= s.o.StatsFlushEvery {
		if err := s.FlushStats(ctx); err != nil {
			s.log.WarnContext(ctx, "queue counts not added yet; kept for the next try", "eventId", eventID, "err", err)
		}
	}
}

// FlushStats adds the instance's pending counts to the table; counts it
// could not add stay pending.
func (s *Service) FlushStats(ctx context.Context) error {
	b := s.stats
	b.flushing.Lock()
	defer b.flushing.Unlock()
	b.mu.Lock()
	pending := b.pending
	b.pending = map[string]Stats{}
	b.mu.Unlock()
	var errs []error
	for eventID, d := range pending {
		if err := s.store.AddStats(ctx, eventID, d); err != nil {
			errs = append(errs, err)
			b.add(eventID, d, s.clock.Now())
		}
	}
	return errors.Join(errs...)
}

// add puts d into the event's pending counts and answers how long the
// oldest pending count has waited.
func (b *statsBuffer) add(eventID string, d Stats, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending) == 0 {
		b.since = now
	}
	p := b.pending[eventID]
	p.Admitted, p.Used, p.Abandoned = p.Admitted+d.Admitted, p.Used+d.Used, p.Abandoned+d.Abandoned
	b.pending[eventID] = p
	return now.Sub(b.since)
}
