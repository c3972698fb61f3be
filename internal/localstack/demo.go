package localstack

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
)

// DemoEventID is the id of the seeded demo event.
const DemoEventID = "demo"

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
	// Until the waiting room lands the demo admits fans directly.
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

// SeedDemo creates the demo event unless it exists.
func SeedDemo(ctx context.Context, svc *catalog.Service, now time.Time) error {
	if _, err := svc.Get(ctx, DemoEventID); err == nil {
		return nil
	} else if !apperr.Is(err, apperr.NotFound) {
		return fmt.Errorf("seed demo: %w", err)
	}
	if _, err := svc.Create(ctx, DemoEvent(now), "seed"); err != nil && !apperr.Is(err, apperr.Conflict) {
		return fmt.Errorf("seed demo: %w", err)
	}
	return nil
}
