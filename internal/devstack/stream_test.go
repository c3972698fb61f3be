package devstack_test

import (
	"context"
	"os"
	"testing"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/testenv/fixture"
)

// A hold's seat and GA places show in availability through the local
// change feed and the projector, not through a reader's rebuild: the
// projections' rebuild time stays that of the event's creation while
// their version moves and their states follow the hold.
func TestSeatChangesReachAvailabilityThroughTheProjector(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the local stack")
	}
	if os.Getenv("AWS_ENDPOINT_URL_DYNAMODB") != "" {
		t.Skip("an external DynamoDB endpoint has no change feed here; readers rebuild instead")
	}
	ctx := context.Background()
	st := fixture.Stack(t, devstack.Options{TimeScale: 0.01, ReconcileEvery: -1, InletEvery: -1})
	ev := fixture.OpenEvent(t, st.App, fixture.Event{})
	before := map[string]catalog.Projection{}
	for _, sec := range []string{"A", "GA"} {
		p, ok, err := st.App.Stores.Catalog.Projection(ctx, ev.ID, sec)
		if err != nil || !ok {
			t.Fatalf("projection %s: %v, %v", sec, ok, err)
		}
		before[sec] = p
	}
	fixture.Hold(t, st.App, "fan-1", ev.ID, inventory.HoldRequest{Seats: []string{"A-1-3"}})
	fixture.Hold(t, st.App, "fan-2", ev.ID, inventory.HoldRequest{Section: "GA", Quantity: 2})
	if err := st.FlushStream(ctx); err != nil {
		t.Fatal(err)
	}
	for sec, b := range before {
		p, _, err := st.App.Stores.Catalog.Projection(ctx, ev.ID, sec)
		if err != nil {
			t.Fatal(err)
		}
		if !p.RebuiltAt.Equal(b.RebuiltAt) || p.Version <= b.Version {
			t.Errorf("section %s: rebuilt at %v (was %v), version %d (was %d); want the projector's patch, not a rebuild",
				sec, p.RebuiltAt, b.RebuiltAt, p.Version, b.Version)
		}
	}
	av, err := st.App.Catalog.Availability(ctx, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := av.Seats["A-1-3"]; got != catalog.SeatHeld {
		t.Errorf("seat A-1-3 is %s in availability, want HELD", got)
	}
	held := 0
	for id, s := range av.Seats {
		if s != catalog.SeatAvailable && id != "A-1-3" {
			t.Errorf("seat %s is %s, want AVAILABLE", id, s)
		}
		if s == catalog.SeatHeld {
			held++
		}
	}
	for _, sec := range av.Sections {
		want := map[string][3]int{"A": {9, 1, 0}, "GA": {8, 2, 0}}[sec.ID]
		if got := [3]int{sec.Available, sec.Held, sec.Sold}; got != want {
			t.Errorf("section %s: available, held, sold = %v, want %v", sec.ID, got, want)
		}
	}
	if held != 1 {
		t.Errorf("%d seats held, want 1", held)
	}
}
