package projector_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/projector"
	"github.com/stararena/stararena/internal/testenv/fixture"
	"github.com/stararena/stararena/internal/topology"
)

// The stream's filter, the projector's reading of records and the store's
// keys name the same items.
func TestTheStreamFilterIsTheSeatAndShardKeys(t *testing.T) {
	want := []string{dynamo.PrefixSeat, dynamo.PrefixGAShard}
	if !slices.Equal(want, []string{projector.SeatPrefix, projector.GAShardPrefix}) {
		t.Errorf("the projector reads %s and %s, the store writes %v", projector.SeatPrefix, projector.GAShardPrefix, want)
	}
	var consumers int
	for _, s := range topology.Default().Streams {
		if s.Consumer == "projector" {
			consumers++
			if !slices.Equal(s.KeyPrefixes, want) {
				t.Errorf("the stream filters %v, want %v", s.KeyPrefixes, want)
			}
		}
	}
	if consumers != 1 {
		t.Errorf("%d streams feed the projector, want 1", consumers)
	}
}

func seatRecord(seq, pk, eventID, section, seat, state string) events.DynamoDBEventRecord {
	return events.DynamoDBEventRecord{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{SequenceNumber: seq,
		NewImage: map[string]events.DynamoDBAttributeValue{
			"pk": events.NewStringAttribute(pk), "eventId": events.NewStringAttribute(eventID),
			"section": events.NewStringAttribute(section), "seatId": events.NewStringAttribute(seat), "state": events.NewStringAttribute(state),
		}}}
}

// Records applied to the stored projection: a seat's latest state lands at
// its venue position, applying a batch twice changes nothing, a GA shard's
// counts replace that shard's, and a record of something else is skipped.
// Replaying a batch writes nothing: the projection's version and asOf stay.
func TestHandleStreamPatchesTheProjection(t *testing.T) {
	ctx := context.Background()
	a := fixture.NewApp(t, fixture.AppOptions{})
	ev := fixture.OpenEvent(t, a, fixture.Event{Rows: 2, SeatsPerRow: 5, GACapacity: 600})
	p := projector.New(a.Stores.Catalog, a.Catalog, a.Clock, slog.New(slog.DiscardHandler))
	batch := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		seatRecord("1", "SEAT#"+ev.ID+"#A-2-1", ev.ID, "A", "A-2-1", catalog.SeatHeld),
		seatRecord("2", "SEAT#"+ev.ID+"#A-1-5", ev.ID, "A", "A-1-5", catalog.SeatHeld),
		seatRecord("3", "SEAT#"+ev.ID+"#A-1-5", ev.ID, "A", "A-1-5", catalog.SeatSold),
		{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{SequenceNumber: "4", NewImage: map[string]events.DynamoDBAttributeValue{
			"pk": events.NewStringAttribute("GA#" + ev.ID + "#GA#1"), "eventId": events.NewStringAttribute(ev.ID),
			"section": events.NewStringAttribute("GA"), "available": events.NewNumberAttribute("197"),
			"held": events.NewNumberAttribute("2"), "sold": events.NewNumberAttribute("1"),
		}}},
		seatRecord("5", "ORDER#x", ev.ID, "A", "", ""),
	}}
	for range 2 {
		resp, err := p.HandleStream(ctx, batch)
		if err != nil || len(resp.BatchItemFailures) > 0 {
			t.Fatalf("HandleStream = %+v, %v", resp, err)
		}
	}
	seats, _, err := a.Stores.Catalog.Projection(ctx, ev.ID, "A")
	if err != nil {
		t.Fatal(err)
	}
	if want := "AAAAS" + "HAAAA"; seats.States != want || seats.Available != 8 || seats.Held != 1 || seats.Sold != 1 {
		t.Errorf("section A = %q (%d/%d/%d), want %q (8/1/1)", seats.States, seats.Available, seats.Held, seats.Sold, want)
	}
	if seats.Version != 2 {
		t.Errorf("version %d after one batch applied twice to the created projection, want 2 (the replay writes nothing)", seats.Version)
	}
	ga, _, err := a.Stores.Catalog.Projection(ctx, ev.ID, "GA")
	if err != nil {
		t.Fatal(err)
	}
	shards := catalog.GAShardCapacities(600)
	if ga.Available != 600-3 || ga.Held != 2 || ga.Sold != 1 || len(ga.Shards) != len(shards) || ga.Shards[1] != (catalog.ShardCount{Available: 197, Held: 2, Sold: 1}) {
		t.Errorf("GA = %d/%d/%d %v, want 597/2/1 with shard 1 at 197/2/1", ga.Available, ga.Held, ga.Sold, ga.Shards)
	}
}

// A reader's repair rebuild that read the seats before a projector patch
// does not overwrite it: it loses the version race and serves the patch.
func TestARebuildDoesNotOverwriteANewerPatch(t *testing.T) {
	ctx := context.Background()
	a := fixture.NewApp(t, fixture.AppOptions{})
	ev := fixture.OpenEvent(t, a, fixture.Event{})
	created, _, err := a.Stores.Catalog.Projection(ctx, ev.ID, "A")
	if err != nil {
		t.Fatal(err)
	}
	// The projector's patch lands first (a seat held that the rebuild,
	// reading the seat items, does not see: none was written).
	patched := created
	patched.States, patched.Available, patched.Held, patched.Version = "H"+created.States[1:], created.Available-1, 1, created.Version+1
	patched.AsOf = time.Now()
	if err := a.Stores.Catalog.PutProjection(ctx, ev.ID, patched, created.Version); err != nil {
		t.Fatal(err)
	}
	// A rebuild that read version `created` before the patch loses.
	stale := created
	stale.Version = created.Version + 1
	if err := a.Stores.Catalog.PutProjection(ctx, ev.ID, stale, created.Version); err == nil {
		t.Fatal("a rebuild on an older version overwrote the projector's patch")
	}
	got, _, _ := a.Stores.Catalog.Projection(ctx, ev.ID, "A")
	if got.States[0] != 'H' {
		t.Errorf("first seat %q, want the patch's H", got.States[:1])
	}
}

// The seat items of an event are written before its document, so their
// creation records can reach the projector first: they are acknowledged
// (the initial projections already say "available"), not retried.
func TestRecordsOfAnEventNotYetReadableAreAcknowledged(t *testing.T) {
	ctx := context.Background()
	a := fixture.NewApp(t, fixture.AppOptions{})
	p := projector.New(a.Stores.Catalog, a.Catalog, a.Clock, slog.New(slog.DiscardHandler))
	resp, err := p.HandleStream(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		seatRecord("1", "SEAT#coming#A-1-1", "coming", "A", "A-1-1", catalog.SeatAvailable),
	}})
	if err != nil || len(resp.BatchItemFailures) > 0 {
		t.Errorf("HandleStream = %+v, %v; want the record acknowledged", resp, err)
	}
}
