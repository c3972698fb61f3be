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
