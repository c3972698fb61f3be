package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/catalog"
)

// largeVenue is a valid event whose document is about 460 KB: 13 sections
// of 1,000 rows with 16-character ids that do not repeat (a venue map a
// real organizer may send, and more than DynamoDB's 400 KB item limit).
func largeVenue(t *testing.T, id string) catalog.Event {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	r := rand.New(rand.NewPCG(46, 0))
	p := int64(5000)
	req := catalog.CreateEventRequest{Name: "Big " + id, Venue: "Stadium", StartsAt: Now.Add(30 * 24 * time.Hour).Format(time.RFC3339),
		SaleOpensAt: Now.Format(time.RFC3339)}
	for s := range 13 {
		rows := make([]catalog.Row, 1000)
		for i := range rows {
			b := make([]byte, 16)
			for j := range b {
				b[j] = alphabet[r.IntN(len(alphabet))]
			}
			rows[i] = catalog.Row{ID: string(b), Seats: 1}
		}
		req.Sections = append(req.Sections, catalog.SectionRequest{ID: fmt.Sprintf("S%02d", s), PriceCents: &p, Currency: "EUR", Rows: rows})
	}
	ev, err := req.Event()
	if err != nil {
		t.Fatal(err)
	}
	ev.ID, ev.CreatedAt = id, Now
	if b, _ := json.Marshal(ev); len(b) < 440<<10 || len(b) > 480<<10 {
		t.Fatalf("the large venue's document is %d bytes, want about 460 KB", len(b))
	}
	return ev
}

// runLargeVenue: an event larger than one item is stored and read back
// identically, listed, and updated without losing its venue.
func runLargeVenue(t *testing.T, newStores func(t *testing.T) Stores) {
	if testing.Short() {
		t.Skip("13,000 seats")
	}
	ctx := context.Background()
	st := newStores(t)
	ev := largeVenue(t, "big")
	if err := st.Catalog.CreateEvent(ctx, ev); err != nil {
		t.Fatalf("create a 460 KB venue: %v", err)
	}
	got, err := st.Catalog.GetEvent(ctx, "big")
	if err != nil || !reflect.DeepEqual(got, ev) {
		t.Fatalf("read back differs (%v): %d sections, want %d", err, len(got.Sections), len(ev.Sections))
	}
	if err := st.Catalog.CreateEvent(ctx, ev); err != nil {
		t.Fatalf("the same create again = %v, want success (a retried request)", err)
	}
	evs, err := st.Catalog.ListEvents(ctx, 10)
	if err != nil || len(evs) != 1 || !reflect.DeepEqual(evs[0], ev) {
		t.Fatalf("ListEvents = %d events, %v; want the large one whole", len(evs), err)
	}
	renamed, err := st.Catalog.UpdateEvent(ctx, "big", func(e *catalog.Event) error { e.Name = "Renamed"; return nil })
	if err != nil || renamed.Name != "Renamed" || !reflect.DeepEqual(renamed.Sections, ev.Sections) {
		t.Fatalf("UpdateEvent = %q, %v", renamed.Name, err)
	}
	if got, err := st.Catalog.GetEvent(ctx, "big"); err != nil || got.Name != "Renamed" || !reflect.DeepEqual(got.Sections, ev.Sections) {
		t.Fatalf("after the update: %q, %d sections, %v", got.Name, len(got.Sections), err)
	}
	states, err := st.Catalog.SeatStates(ctx, "big", []string{ev.Sections[12].SeatIDs()[999]})
	if err != nil || len(states) != 1 {
		t.Fatalf("the last seat's state: %v, %v", states, err)
	}
}
