package inventory

import (
	"testing"
	"time"

	"github.com/stararena/stararena/internal/clock"
)

// TestSeatsReadFreeSteerRetriesOnlyBriefly: GIVEN seats a read of this
// instance found available WHEN a retry aims at them THEN it may skip
// its own read only within freeReadTTL, only if every seat it aims at
// was read, and never for a seat learned taken since (a hold of this
// instance, a conflict's reasons, another read).
func TestSeatsReadFreeSteerRetriesOnlyBriefly(t *testing.T) {
	clk := clock.NewManual(time.Date(2027, 4, 1, 20, 0, 0, 0, time.UTC))
	m := &takenSeats{clock: clk, ttl: 5 * time.Second, seen: map[string]map[int]time.Time{},
		free: map[string]map[int]time.Time{}, freeTTL: freeReadTTL}
	m.learnFree("e1", "A", []int{1, 2, 3, 4})
	clk.Advance(freeReadTTL / 2)
	if !m.confirmed("e1", "A", []int{2, 3}) {
		t.Fatal("seats read free a moment ago are not trusted")
	}
	if m.confirmed("e1", "A", []int{4, 5}) || m.confirmed("e1", "B", []int{2}) || m.confirmed("e1", "A", nil) {
		t.Fatal("an aim with a seat never read free was trusted")
	}
	m.learn("e1", "A", []int{3})
	if m.confirmed("e1", "A", []int{2, 3}) {
		t.Fatal("a seat learned taken after its read was trusted free")
	}
	clk.Advance(time.Millisecond)
	m.learnFree("e1", "A", []int{3})
	if !m.confirmed("e1", "A", []int{2, 3}) {
		t.Fatal("a seat read free again after it was taken is not trusted")
	}
	clk.Advance(freeReadTTL)
	if m.confirmed("e1", "A", []int{2}) {
		t.Fatalf("a read older than %v was trusted", freeReadTTL)
	}
}
