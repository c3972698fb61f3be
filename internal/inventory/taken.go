package inventory

import (
	"sync"
	"time"

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
