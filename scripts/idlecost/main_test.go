package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestIdleEventCostDoesNotFollowSeats: GIVEN events that are not on sale
// WHEN the schedules run for a minute THEN each event costs the same
// DynamoDB item reads with 100 seats as with 1,000, and under 100.
func TestIdleEventCostDoesNotFollowSeats(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the local stack twice (about 10 s)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	small, err := measure(ctx, 5, 100)
	if err != nil {
		t.Fatal(err)
	}
	big, err := measure(ctx, 5, 1000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("per idle event per minute: 100 seats %.1f item reads (%.1f requests), 1,000 seats %.1f (%.1f)",
		small.ItemReads, small.Requests, big.ItemReads, big.Requests)
	// Ten times the seats must not mean more reads. The projector and the
	// schedules run beside each other, so a read may fall into one measured
	// minute or the next: a cost that followed the seats would show as
	// hundreds of reads per event, not one.
	if big.ItemReads > small.ItemReads+1 {
		t.Errorf("item reads per idle event follow the seats: %.1f with 100, %.1f with 1,000", small.ItemReads, big.ItemReads)
	}
	if big.ItemReads >= 100 || big.ItemReads <= 0 {
		t.Errorf("%.1f item reads per idle event per minute, want under 100 (and some: the schedules read the events)", big.ItemReads)
	}
}

// TestShardedEmulatorCountsTheSameReads: the side-by-side table runs on
// the sharded embedded DynamoDB; the requests the schedules make, and so
// the item reads counted at the front, must not depend on which emulator
// answers them.
func TestShardedEmulatorCountsTheSameReads(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the local stack twice")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	one, err := measure(ctx, 3, 10)
	if err != nil {
		t.Fatal(err)
	}
	sharded, err := measureOn(ctx, 3, 10, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("per idle event per minute: one server %.1f item reads (%.1f requests), 8 shards %.1f (%.1f)",
		one.ItemReads, one.Requests, sharded.ItemReads, sharded.Requests)
	// As in TestIdleEventCostDoesNotFollowSeats, a read may fall into one
	// measured minute or the next.
	if d := one.ItemReads - sharded.ItemReads; d > 1 || d < -1 || sharded.ItemReads <= 0 {
		t.Errorf("item reads per idle event: %.1f on one server, %.1f on 8 shards", one.ItemReads, sharded.ItemReads)
	}
	if out := table([]Result{one, sharded}, 8); !strings.Contains(out, "item reads/event/minute") {
		t.Errorf("table without its header:\n%s", out)
	}
}
