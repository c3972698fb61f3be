package waitroom_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/admission"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/waitroom"
)

// The assigner's hot path: one SQS batch of joins in, places out. Against
// the embedded DynamoDB in the same process, so ns/op and allocs/op include
// the DynamoDB client and the server's own work.
//
//	go test -run '^$' -bench 'Assign|ParseJoin' -benchmem ./internal/waitroom

// BenchmarkParseJoin is the queue message parser alone.
func BenchmarkParseJoin(b *testing.B) {
	body := waitroom.JoinBody("0b3f0c2e-5d7a-4b8e-9f11-2a6c3d4e5f60", `"fan-000123"`, time.Date(2027, 3, 1, 19, 0, 0, 0, time.UTC))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := waitroom.ParseJoin(body); err != nil {
			b.Fatal(err)
		}
	}
}

// benchRoom is a waiting room whose sale is open and drawn, so that every
// batch takes positions (the counter write) as it does during the rush.
func benchRoom(b *testing.B) (*waitroom.Service, catalog.Event, clock.Clock) {
	b.Helper()
	ctx := context.Background()
	db, table := testenv.DynamoDB(b)
	start := time.Date(2027, 3, 1, 19, 0, 0, 0, time.UTC)
	clk := clock.NewManual(start)
	quiet := slog.New(slog.DiscardHandler)
	stores := dynamo.NewStores(db, table, clk)
	cat := catalog.NewService(stores.Catalog, catalog.Options{Clock: clk, Logger: quiet})
	kr, err := admission.GenerateKeyring()
	if err != nil {
		b.Fatal(err)
	}
	tokens, err := admission.NewTokens(kr, 10*time.Minute, clk)
	if err != nil {
		b.Fatal(err)
	}
	svc := waitroom.NewService(stores.Waitroom, cat, tokens, waitroom.Options{Clock: clk, Logger: quiet,
		Remaining: func(context.Context, string) (int, int, error) { return 20000, 0, nil }})
	body := fmt.Sprintf(`{"name":"Rush","venue":"Arena","startsAt":"2027-04-01T20:00:00Z","saleOpensAt":%q,
		"queue":{"mode":"on","admitPerMinute":18000},
		"sections":[{"id":"A","name":"Floor","priceCents":5000,"currency":"EUR","rows":[{"id":"1","seats":50}]}]}`,
		start.Add(time.Minute).Format(time.RFC3339))
	ev, err := catalog.ParseCreateEvent([]byte(body), 1<<20)
	if err != nil {
		b.Fatal(err)
	}
	if ev, err = cat.Create(ctx, ev, "org", "org"); err != nil {
		b.Fatal(err)
	}
	clk.Advance(2 * time.Minute) // open, and past the draw's grace
	if _, err := svc.Tick(ctx, ev.ID); err != nil {
		b.Fatal(err)
	}
	if st, err := svc.Status(ctx, ev.ID); err != nil || st.ShuffleSeed == "" {
		b.Fatalf("not drawn: %+v, %v", st, err)
	}
	return svc, ev, clk
}

func batch(eventID, prefix string, n, from int, at time.Time) []waitroom.Record {
	recs := make([]waitroom.Record, n)
	for i := range recs {
		recs[i] = waitroom.Record{ID: fmt.Sprintf("m-%s-%d", prefix, from+i),
			Body: waitroom.JoinBody(eventID, fmt.Sprintf("%s-%07d", prefix, from+i), at.Add(time.Duration(i)*time.Millisecond))}
	}
	return recs
}

// BenchmarkAssign is one full SQS batch (100 joins) per op. New: every
// account is new (one BatchGetItem of places, one counter write, 100
// conditional puts). Rejoins: every account already has a place (the
// BatchGetItem only) — refreshes and second tabs.
func BenchmarkAssign(b *testing.B) {
	for _, kind := range []string{"New", "Rejoins"} {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			svc, ev, clk := benchRoom(b)
			batches := make([][]waitroom.Record, b.N)
			for i := range batches {
				batches[i] = batch(ev.ID, "fan", 100, i*100, clk.Now())
			}
			if kind == "Rejoins" {
				first := batch(ev.ID, "fan", 100, 0, clk.Now())
				if res := svc.Assign(ctx, first); len(res.Failed) > 0 || res.Placed != 100 {
					b.Fatalf("first batch: %+v", res)
				}
				for i := range batches {
					batches[i] = first
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				res := svc.Assign(ctx, batches[i])
				if len(res.Failed) > 0 || (kind == "New" && (res.Placed != 100 || res.Counters != 1)) || (kind == "Rejoins" && res.Repeats != 100) {
					b.Fatalf("batch %d: %+v", i, res)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "joins/s")
		})
	}
}
