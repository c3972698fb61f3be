package devstack

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
)

// DemoEventID is the id of the seeded demo event (no waiting room).
const DemoEventID = "demo"

// DemoQueueEventID is the id of the seeded demo event behind the waiting
// room.
const DemoQueueEventID = "demo-queue"

// DemoEvent is a 20,000-seat arena (five reserved sections of 40 rows of 100
// seats) plus a 2,000-place general-admission floor. Its sale opens a
// minute after start-up so the countdown and the queue can be seen.
func DemoEvent(now time.Time) catalog.Event {
	req := catalog.CreateEventRequest{
		Name:        "StarArena Live: The Comeback Tour",
		Venue:       "Harbour Arena",
		StartsAt:    now.Add(30 * 24 * time.Hour).Truncate(time.Hour).Format(time.RFC3339),
		SaleOpensAt: now.Add(time.Minute).Truncate(time.Second).Format(time.RFC3339),
	}
	prices := []int64{14900, 11900, 9900, 7900, 5900}
	for i, id := range []string{"A", "B", "C", "D", "E"} {
		rows := make([]catalog.Row, 40)
		for r := range rows {
			rows[r] = catalog.Row{ID: strconv.Itoa(r + 1), Seats: 100}
		}
		p := prices[i]
		req.Sections = append(req.Sections, catalog.SectionRequest{
			ID: id, Name: "Section " + id, PriceCents: &p, Currency: "EUR", Rows: rows,
		})
	}
	// The big demo admits fans directly; DemoQueueEvent shows the queue.
	req.Queue = &catalog.QueueRequest{Mode: catalog.QueueOff}
	ga, gaCap := int64(6900), 2000
	req.Sections = append(req.Sections, catalog.SectionRequest{ID: "GA", Name: "Floor (standing)", PriceCents: &ga, Currency: "EUR", Capacity: &gaCap})
	ev, err := req.Event()
	if err != nil {
		panic(fmt.Sprintf("demo event is invalid: %v", err)) // a programming error, caught by tests
	}
	ev.ID = DemoEventID
	return ev
}

// DemoQueueEvent is a smaller hall (1,000 seats and 500 standing) sold
// through the waiting room: its sale opens two minutes after start-up, so
// fans can join early and be ordered by the draw, then admitted at 120 a
// minute.
func DemoQueueEvent(now time.Time) catalog.Event {
	rows := make([]catalog.Row, 20)
	for r := range rows {
		rows[r] = catalog.Row{ID: strconv.Itoa(r + 1), Seats: 50}
	}
	seat, floor, capacity, rate := int64(8900), int64(5900), 500, 120
	req := catalog.CreateEventRequest{
		Name:        "StarArena Presents: Midnight Sessions",
		Venue:       "Riverside Hall",
		StartsAt:    now.Add(21 * 24 * time.Hour).Truncate(time.Hour).Format(time.RFC3339),
		SaleOpensAt: now.Add(2 * time.Minute).Truncate(time.Second).Format(time.RFC3339),
		Queue:       &catalog.QueueRequest{Mode: catalog.QueueOn, AdmitPerMinute: &rate},
		Sections: []catalog.SectionRequest{
			{ID: "S", Name: "Seated", PriceCents: &seat, Currency: "EUR", Rows: rows},
			{ID: "GA", Name: "Floor (standing)", PriceCents: &floor, Currency: "EUR", Capacity: &capacity},
		},
	}
	ev, err := req.Event()
	if err != nil {
		panic(fmt.Sprintf("demo queue event is invalid: %v", err)) // a programming error, caught by tests
	}
	ev.ID = DemoQueueEventID
	return ev
}

// DemoOrg is the organization owning the demo events: a dev token
// {"sub":"demo","role":"organizer"} manages them.
const DemoOrg = "demo"

// SeedDemo creates the demo events that do not exist yet.
func SeedDemo(ctx context.Context, svc *catalog.Service, now time.Time) error {
	for _, ev := range []catalog.Event{DemoEvent(now), DemoQueueEvent(now)} {
		if _, err := svc.Get(ctx, ev.ID); err == nil {
			continue
		} else if !apperr.Is(err, apperr.NotFound) {
			return fmt.Errorf("seed demo: %w", err)
		}
		if _, err := svc.Create(ctx, ev, DemoOrg, "seed"); err != nil && !apperr.Is(err, apperr.Conflict) {
			return fmt.Errorf("seed demo %s: %w", ev.ID, err)
		}
	}
	return nil
}
