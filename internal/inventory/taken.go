package inventory

import (
	"sync"
	"time"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
)

// takenSeats is a per-instance memory of seat positions learned taken, by
// event and section. It only steers best-available aims; the conditional
// writes decide.
type takenSeats struct {
	mu    sync.Mutex
	clock clock.Clock
	ttl   time.Duration
	seen  map[string]map[int]time.Time
	// free: positions a read of this instance found available, and when;
	// trusted for freeTTL unless seen taken since.
	free    map[string]map[int]time.Time
	freeTTL time.Duration
}

// learnFree remembers positions a read found available now.
func (t *takenSeats) learnFree(eventID, section string, positions []int) {
	if len(positions) == 0 {
		return
	}
	now := t.clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	k := eventID + "/" + section
	m := t.free[k]
	if m == nil || len(m) > 4096 {
		// Start over rather than sweep: entries live a fraction of a
		// second.
		m = map[int]time.Time{}
		t.free[k] = m
	}
	for _, p := range positions {
		m[p] = now
	}
}

// confirmed reports whether a read of this instance found every one of
// positions available within freeTTL, none seen taken since.
func (t *takenSeats) confirmed(eventID, section string, positions []int) bool {
	now := t.clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	k := eventID + "/" + section
	for _, p := range positions {
		at, ok := t.free[k][p]
		if !ok || now.Sub(at) > t.freeTTL {
			return false
		}
		if taken, ok := t.seen[k][p]; ok && !taken.Before(at) {
			return false
		}
	}
	return len(positions) > 0
}

func (t *takenSeats) learn(eventID, section string, positions []int) {
	if len(positions) == 0 {
		return
	}
	now := t.clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.seen[eventID+"/"+section]
	if m == nil {
		m = map[int]time.Time{}
		t.seen[eventID+"/"+section] = m
	}
	for _, p := range positions {
		m[p] = now
	}
}

// apply adds the positions learned within ttl to excluded and forgets
// older ones.
func (t *takenSeats) apply(eventID, section string, excluded map[int]bool) {
	now := t.clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for p, at := range t.seen[eventID+"/"+section] {
		if now.Sub(at) > t.ttl {
			delete(t.seen[eventID+"/"+section], p)
			continue
		}
		excluded[p] = true
	}
}

// heldHere remembers the seats a hold of this instance just took: the
// instance's copy of the projection (catalog.ProjectionCopyTTL) does not
// show them yet, and its next best-available aims should not try them.
func (s *Service) heldHere(ev *catalog.Event, seats []string) {
	bySection := map[string][]int{}
	for _, id := range seats {
		sec, ok := seatExists(ev, id)
		if !ok {
			continue
		}
		if p := newSectionIndex(sec).pos(id); p >= 0 {
			bySection[sec.ID] = append(bySection[sec.ID], p)
		}
	}
	for sec, ps := range bySection {
		s.taken.learn(ev.ID, sec, ps)
	}
}
