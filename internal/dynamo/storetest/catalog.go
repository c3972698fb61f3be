package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/fault"
)

// RunCatalogStore is the catalog.Store suite.
func RunCatalogStore(t *testing.T, newStores func(t *testing.T) Stores) {
	ctx := context.Background()
	t.Run("CreateThenRead", func(t *testing.T) {
		st := newStores(t)
		ev := mustEvent(t, st, "e1")
		got, err := st.Catalog.GetEvent(ctx, "e1")
		if err != nil || got.Name != ev.Name || len(got.Sections) != 2 {
			t.Fatalf("GetEvent = %+v, %v", got, err)
		}
		states, err := st.Catalog.SeatStates(ctx, "e1", []string{"A-1-1", "A-2-5"})
		if err != nil || states["A-1-1"] != catalog.SeatAvailable || states["A-2-5"] != catalog.SeatAvailable {
			t.Fatalf("SeatStates = %v, %v", states, err)
		}
		a, h, s, err := st.Catalog.GACounts(ctx, "e1", "GA", len(catalog.GAShardCapacities(20)))
		if err != nil || a != 20 || h != 0 || s != 0 {
			t.Fatalf("GACounts = %d, %d, %d, %v; want 20 available", a, h, s, err)
		}
	})
	t.Run("DuplicateCreateConflicts", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		other := event(t, "e1", Now.Add(time.Hour))
		other.Name = "Another show"
		if err := st.Catalog.CreateEvent(ctx, other); !isConflict(err) {
			t.Fatalf("second create of e1 = %v, want a conflict", err)
		}
		if got, _ := st.Catalog.GetEvent(ctx, "e1"); got.Name == "Another show" {
			t.Fatal("the losing create overwrote the event")
		}
	})
	t.Run("RetriedCreateSucceeds", func(t *testing.T) {
		st := newStores(t)
		ev := mustEvent(t, st, "e1")
		if err := st.Catalog.CreateEvent(ctx, ev); err != nil {
			t.Fatalf("the same create again = %v, want success (a retried request)", err)
		}
	})
	t.Run("UnknownEventNotFound", func(t *testing.T) {
		st := newStores(t)
		if _, err := st.Catalog.GetEvent(ctx, "nope"); !isNotFound(err) {
			t.Fatalf("GetEvent(nope) = %v, want not found", err)
		}
		if _, err := st.Catalog.UpdateEvent(ctx, "nope", func(*catalog.Event) error { return nil }); !isNotFound(err) {
			t.Fatalf("UpdateEvent(nope) = %v, want not found", err)
		}
	})
	t.Run("ListByStart", func(t *testing.T) {
		st := newStores(t)
		for i, id := range []string{"late", "early", "middle"} {
			starts := Now.Add(time.Duration([]int{3, 1, 2}[i]) * 24 * time.Hour)
			if err := st.Catalog.CreateEvent(ctx, event(t, id, starts)); err != nil {
				t.Fatal(err)
			}
		}
		evs, err := st.Catalog.ListEvents(ctx, 10)
		if err != nil || !slices.Equal(ids(evs), []string{"early", "middle", "late"}) {
			t.Fatalf("ListEvents = %v, %v", ids(evs), err)
		}
		evs, err = st.Catalog.ListEventsFrom(ctx, Now.Add(36*time.Hour), 10)
		if err != nil || !slices.Equal(ids(evs), []string{"middle", "late"}) {
			t.Fatalf("ListEventsFrom = %v, %v", ids(evs), err)
		}
		if evs, _ := st.Catalog.ListEvents(ctx, 1); len(evs) != 1 {
			t.Fatalf("ListEvents(limit 1) gave %d", len(evs))
		}
	})
	t.Run("LargeVenueStoredWithinItemLimits", func(t *testing.T) { runLargeVenue(t, newStores) })
	t.Run("UpdateAppliesOnce", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		got, err := st.Catalog.UpdateEvent(ctx, "e1", func(e *catalog.Event) error { e.Name = "Renamed"; return nil })
		if err != nil || got.Name != "Renamed" {
			t.Fatalf("UpdateEvent = %+v, %v", got, err)
		}
		if read, _ := st.Catalog.GetEvent(ctx, "e1"); read.Name != "Renamed" {
			t.Fatalf("read back %q, want Renamed", read.Name)
		}
	})
	t.Run("LeaseHasOneHolderUntilEnded", func(t *testing.T) {
		st := newStores(t)
		if ok, err := st.Catalog.LeaseRefresh(ctx, "e1", Now, Now.Add(10*time.Second)); !ok || err != nil {
			t.Fatalf("first lease = %v, %v", ok, err)
		}
		if ok, _ := st.Catalog.LeaseRefresh(ctx, "e1", Now.Add(time.Second), Now.Add(11*time.Second)); ok {
			t.Fatal("a second holder got a lease that has not expired")
		}
		if ok, _ := st.Catalog.LeaseRefresh(ctx, "e1", Now.Add(11*time.Second), Now.Add(20*time.Second)); !ok {
			t.Fatal("an expired lease was not taken over")
		}
		if err := st.Catalog.EndRefresh(ctx, "e1"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := st.Catalog.LeaseRefresh(ctx, "e1", Now.Add(12*time.Second), Now.Add(20*time.Second)); !ok {
			t.Fatal("an ended lease was not free")
		}
	})
	t.Run("ProjectionsRoundTrip", func(t *testing.T) {
		st := newStores(t)
		ev := mustEvent(t, st, "e1")
		ps := catalog.InitialProjections(&ev, Now)
		p := ps[0]
		p.Held, p.Available, p.Version = 1, p.Available-1, 2
		if err := st.Catalog.PutProjection(ctx, "e1", p, 1); err != nil {
			t.Fatal(err)
		}
		got, err := st.Catalog.Projections(ctx, "e1", []string{p.Section})
		if err != nil || len(got) != 1 || got[0].Held != 1 || got[0].Available != p.Available || got[0].Version != 2 {
			t.Fatalf("Projections = %+v, %v; want %+v", got, err, p)
		}
		// A writer that read version 1 lost to the write above.
		if err := st.Catalog.PutProjection(ctx, "e1", ps[0], 1); !fault.Is(err, fault.Contention) {
			t.Fatalf("PutProjection on a stale version = %v; want contention", err)
		}
	})
}

func ids(evs []catalog.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}
