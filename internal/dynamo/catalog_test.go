package dynamo_test

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/testenv"
)

func smallEvent(t *testing.T, id string) catalog.Event {
	t.Helper()
	p, ga := int64(5000), 120
	req := catalog.CreateEventRequest{
		Name: "Show", Venue: "Hall", StartsAt: "2027-06-01T20:00:00Z", SaleOpensAt: "2027-05-01T10:00:00Z",
		Sections: []catalog.SectionRequest{
			{ID: "A", PriceCents: &p, Currency: "EUR", Rows: []catalog.Row{{ID: "1", Seats: 30}, {ID: "2", Seats: 25}}},
			{ID: "GA", PriceCents: &p, Currency: "EUR", Capacity: &ga},
		},
	}
	ev, err := req.Event()
	if err != nil {
		t.Fatal(err)
	}
	ev.ID = id
	ev.CreatedAt = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	return ev
}

func TestStoreCreateAndRead(t *testing.T) {
	ctx := context.Background()
	db, table := testenv.DynamoDB(t)
	st := dynamo.NewStores(db, table, nil).Catalog
	ev := smallEvent(t, "e1")
	if err := st.CreateEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}

	t.Run("EventRoundTrips", func(t *testing.T) {
		got, err := st.GetEvent(ctx, "e1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Capacity != 175 || len(got.Sections) != 2 || got.Sections[0].Rows[1].Seats != 25 {
			t.Fatalf("event = %+v", got)
		}
	})
	t.Run("SecondCreateConflicts", func(t *testing.T) {
		other := ev
		other.Name = "Another show"
		if err := st.CreateEvent(ctx, other); !fault.Is(err, fault.Exists) {
			t.Fatalf("err = %v", err)
		}
		got, err := st.GetEvent(ctx, "e1")
		if err != nil || got.Name != "Show" {
			t.Fatalf("event after a refused create = %+v, %v", got, err)
		}
	})
	t.Run("RetriedWriteOfTheSameDocumentSucceeds", func(t *testing.T) {
		// What the client's retry of a put whose answer was lost finds:
		// the document it wrote itself.
		if err := st.CreateEvent(ctx, ev); err != nil {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("UnknownEventNotFound", func(t *testing.T) {
		if _, err := st.GetEvent(ctx, "nope"); !fault.Is(err, fault.NotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("EverySeatWrittenAvailable", func(t *testing.T) {
		sec, _ := ev.Section("A")
		states, err := st.SeatStates(ctx, "e1", sec.SeatIDs())
		if err != nil {
			t.Fatal(err)
		}
		if len(states) != 55 {
			t.Fatalf("%d seat items, want 55", len(states))
		}
		for id, s := range states {
			if s != catalog.SeatAvailable {
				t.Fatalf("seat %s is %s", id, s)
			}
		}
	})
	t.Run("GAShardsSumToCapacity", func(t *testing.T) {
		a, h, s, err := st.GACounts(ctx, "e1", "GA", len(catalog.GAShardCapacities(120)))
		if err != nil || a != 120 || h != 0 || s != 0 {
			t.Fatalf("GA counts %d/%d/%d, %v", a, h, s, err)
		}
	})
	t.Run("ListedByStartTime", func(t *testing.T) {
		later := smallEvent(t, "e0")
		later.StartsAt = later.StartsAt.Add(time.Hour)
		if err := st.CreateEvent(ctx, later); err != nil {
			t.Fatal(err)
		}
		evs, err := st.ListEvents(ctx, 10)
		if err != nil || len(evs) != 2 || evs[0].ID != "e1" || evs[1].ID != "e0" {
			t.Fatalf("list = %v, %v", evs, err)
		}
	})
}

func TestLeaseRefreshHasOneWinner(t *testing.T) {
	ctx := context.Background()
	db, table := testenv.DynamoDB(t)
	st := dynamo.NewStores(db, table, nil).Catalog
	now := time.Now()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := st.LeaseRefresh(ctx, "e1", now, now.Add(10*time.Second))
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d callers won the lease, want 1", wins.Load())
	}
	if ok, _ := st.LeaseRefresh(ctx, "e1", now.Add(11*time.Second), now.Add(20*time.Second)); !ok {
		t.Fatal("an expired lease was not granted again")
	}
	if err := st.EndRefresh(ctx, "e1"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := st.LeaseRefresh(ctx, "e1", now.Add(12*time.Second), now.Add(20*time.Second)); !ok {
		t.Fatal("a released lease was not granted again")
	}
}

// TestAvailabilityFollowsSeatChanges proves the projection's freshness
// contract: within the window readers see the stored copy; after it, one
// rebuild reflects the seat items.
func TestAvailabilityFollowsSeatChanges(t *testing.T) {
	ctx := context.Background()
	db, table := testenv.DynamoDB(t)
	clk := clock.NewManual(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	st := dynamo.NewStores(db, table, clk).Catalog
	svc := catalog.NewService(st, catalog.Options{Clock: clk, Freshness: 2 * time.Second})
	ev, err := svc.Create(ctx, smallEvent(t, ""), "org", "org")
	if err != nil {
		t.Fatal(err)
	}
	testenv.SetSeat(t, db, table, ev.ID, "A-1-3", catalog.SeatHeld, "")
	testenv.SetSeat(t, db, table, ev.ID, "A-2-25", catalog.SeatSold, "")

	av, err := svc.Availability(ctx, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if av.Seats["A-1-3"] != catalog.SeatAvailable || av.Sections[0].Available != 55 {
		t.Fatalf("within the window the stored projection is served; got %s, %d available", av.Seats["A-1-3"], av.Sections[0].Available)
	}

	clk.Advance(2*time.Second + time.Millisecond)
	av, err = svc.Availability(ctx, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	a := av.Sections[0]
	if av.Seats["A-1-3"] != catalog.SeatHeld || av.Seats["A-2-25"] != catalog.SeatSold || a.Available != 53 || a.Held != 1 || a.Sold != 1 {
		t.Fatalf("after the window: A-1-3=%s A-2-25=%s counts %+v", av.Seats["A-1-3"], av.Seats["A-2-25"], a)
	}
	if len(av.Seats) != 55 || !av.AsOf.Equal(clk.Now()) {
		t.Fatalf("%d seats, asOf %s", len(av.Seats), av.AsOf)
	}
}

// benchEvent is a 20,000-seat event (200 rows of 100) on a fresh table.
func benchEvent(b *testing.B) (*catalog.Service, catalog.Event) {
	b.Helper()
	db, table := testenv.DynamoDB(b)
	svc := catalog.NewService(dynamo.NewStores(db, table, nil).Catalog, catalog.Options{Logger: slog.New(slog.DiscardHandler)})
	rows := make([]catalog.Row, 200)
	for i := range rows {
		rows[i] = catalog.Row{ID: "R" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Seats: 100}
	}
	p := int64(1000)
	req := catalog.CreateEventRequest{Name: "Bench", Venue: "Hall", StartsAt: "2027-06-01T20:00:00Z", SaleOpensAt: "2027-05-01T10:00:00Z",
		Sections: []catalog.SectionRequest{{ID: "A", PriceCents: &p, Currency: "EUR", Rows: rows}}}
	ev, err := req.Event()
	if err != nil {
		b.Fatal(err)
	}
	return svc, ev
}

func BenchmarkCreate20000SeatEvent(b *testing.B) {
	ctx := context.Background()
	svc, ev := benchEvent(b)
	b.ResetTimer()
	for range b.N {
		e := ev
		e.ID = ""
		if _, err := svc.Create(ctx, e, "bench", "bench"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(ev.Capacity), "seats/op")
}

func BenchmarkAvailabilityRebuild20000Seats(b *testing.B) {
	ctx := context.Background()
	svc, ev := benchEvent(b)
	ev, err := svc.Create(ctx, ev, "bench", "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := svc.Rebuild(ctx, &ev); err != nil {
			b.Fatal(err)
		}
	}
}
