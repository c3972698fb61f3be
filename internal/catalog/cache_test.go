package catalog_test

import (
	"context"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/testenv/fixture"
)

// TestCachedEventsFollowTheTTL: GIVEN an event read through the purchase
// path's cache WHEN the organizer pauses the sale THEN the cache serves
// the copy it has until the TTL ends, and the paused sale from then on.
func TestCachedEventsFollowTheTTL(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewManual(time.Now())
	a := fixture.NewApp(t, fixture.AppOptions{Clock: clk})
	ev := fixture.OpenEvent(t, a, fixture.Event{})
	cache := catalog.NewCachedEvents(a.Catalog, 2*time.Second, clk)
	got, err := cache.Get(ctx, ev.ID)
	if err != nil || got.SaleState(clk.Now()) != catalog.SaleOpen {
		t.Fatalf("first read: %v %v", got.SaleState(clk.Now()), err)
	}
	if _, err := a.Catalog.ControlSale(ctx, ev.ID, catalog.SaleRequest{Action: catalog.ActionPause}, "organizer-1"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if got, _ := cache.Get(ctx, ev.ID); got.SaleState(clk.Now()) != catalog.SaleOpen {
		t.Fatalf("within the TTL the cached copy is served, got %s", got.SaleState(clk.Now()))
	}
	clk.Advance(time.Second)
	if got, _ := cache.Get(ctx, ev.ID); got.SaleState(clk.Now()) != catalog.SalePaused {
		t.Fatalf("after the TTL the change shows, got %s", got.SaleState(clk.Now()))
	}
	if _, err := cache.Get(ctx, "no-such-event"); err == nil {
		t.Fatal("an unknown event was served")
	}
}

// TestHoldsAimFromACopyOfTheAvailability: GIVEN the purchase path's copy
// of an event's projections WHEN a seat is taken and the projection is
// rebuilt THEN the copy keeps answering what it read until
// ProjectionCopyTTL has passed, and the taken seat from then on; a GA
// section's places come from the same copy.
func TestHoldsAimFromACopyOfTheAvailability(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewManual(time.Now())
	a := fixture.NewApp(t, fixture.AppOptions{Clock: clk})
	ev := fixture.OpenEvent(t, a, fixture.Event{Rows: 1, GACapacity: 7})
	cache := catalog.NewCachedEvents(a.Catalog, 2*time.Second, clk)
	states, err := cache.SectionStates(ctx, &ev, "A")
	if err != nil || states[0] != 'A' {
		t.Fatalf("first read: %q %v", states, err)
	}
	if n, err := cache.SectionAvailable(ctx, &ev, "GA"); err != nil || n != 7 {
		t.Fatalf("GA places %d %v, want 7", n, err)
	}
	if err := a.Stores.Inventory.SetSeatState(ctx, ev.ID, "A-1-1", []string{catalog.SeatAvailable}, catalog.SeatSold); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Catalog.Rebuild(ctx, &ev); err != nil {
		t.Fatal(err)
	}
	if fresh, _ := a.Catalog.SectionStates(ctx, &ev, "A"); fresh[0] != 'S' {
		t.Fatalf("the rebuilt projection does not show the sold seat: %q", fresh)
	}
	clk.Advance(catalog.ProjectionCopyTTL - time.Millisecond)
	if got, _ := cache.SectionStates(ctx, &ev, "A"); got[0] != 'A' {
		t.Fatalf("within the copy's TTL the copy is served, got %q", got)
	}
	clk.Advance(time.Millisecond)
	if got, _ := cache.SectionStates(ctx, &ev, "A"); got[0] != 'S' {
		t.Fatalf("after the copy's TTL the sold seat shows, got %q", got)
	}
}
