package waitroom_test

import (
	"context"
	"encoding/hex"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stararena/stararena/internal/draw"
	"github.com/stararena/stararena/internal/localsqs"
	"github.com/stararena/stararena/internal/waitroom"
)

// deliver sends one join per account (joinedAt one millisecond apart, in
// the order given) to a local queue that duplicates and reorders, lets it
// feed the assigner, and returns the batches as delivered. One poller, so
// batches are assigned one after the other and the expected positions
// follow from the delivery order alone.
func (r *room) deliver(t *testing.T, accts []string, seed uint64) (batches [][]waitroom.ParsedJoin, st localsqs.Stats) {
	t.Helper()
	var mu sync.Mutex
	q := localsqs.New(localsqs.Options{BatchSize: 100, MaxBatchingWindow: time.Second, Concurrency: 1,
		VisibilityTimeout: 10 * time.Minute, Faults: localsqs.Faults{DuplicateRate: 0.2, ReorderRate: 0.3, Seed: seed}},
		func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			recs := make([]waitroom.Record, len(ev.Records))
			joins := make([]waitroom.ParsedJoin, len(ev.Records))
			for i, m := range ev.Records {
				recs[i] = waitroom.Record{ID: m.MessageId, Body: m.Body}
				joins[i], _ = waitroom.ParseJoin(m.Body)
			}
			if res := r.Assign(ctx, recs); len(res.Failed) > 0 || res.Holes > 0 {
				t.Errorf("batch of %d: %+v", len(recs), res)
			}
			mu.Lock()
			batches = append(batches, joins)
			mu.Unlock()
			return events.SQSEventResponse{}, nil
		})
	at := r.clock.Now()
	for i, a := range accts {
		if _, err := q.Send(waitroom.JoinBody(r.ev.ID, a, at.Add(time.Duration(i)*time.Millisecond)), nil); err != nil {
			t.Fatal(err)
		}
	}
	// Sent before the poller starts, so every batch is full and a
	// reordered record can overtake across batches.
	q.Start(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := q.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	q.Close()
	return batches, q.Stats()
}

// TestAssignerUnderDuplicatedAndReorderedDelivery is the first-come test
// (TestDrawOrdersPreSaleJoinsAndLaterJoinsQueueFIFO) under the delivery a
// standard queue may give: a fifth of the joins arrive twice and a third
// of the records overtake older ones. The design promises that each
// account holds one place whatever arrives twice; that the draw orders
// pre-sale joins by the seed alone, not by arrival; and that later joins
// are placed in delivery order, the earlier join first within a batch (SQS
// orders only roughly, so that is as first-come as the queue allows).
func TestAssignerUnderDuplicatedAndReorderedDelivery(t *testing.T) {
	ctx := context.Background()
	r := newRoom(t, 600)

	early := accounts("early", 250)
	_, st := r.deliver(t, early, 1)
	if st.Duplicated == 0 || st.Reordered == 0 {
		t.Fatalf("pre-sale delivery neither duplicated nor reordered: %+v", st)
	}
	r.clock.Advance(time.Hour + 3*time.Second)
	if res := r.tick(t); res.Drew != len(early) {
		t.Fatalf("draw ordered %d fans, want %d (%d joins arrived twice)", res.Drew, len(early), st.Duplicated)
	}
	status, err := r.Status(ctx, r.ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := hex.DecodeString(status.ShuffleSeed)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(early))
	for i, a := range early {
		ids[i] = draw.EntrantID(r.ev.ID, a)
	}
	want := draw.Order(seed, ids)
	for i, a := range early {
		if me := r.me(t, a); me.Position < 1 || want[me.Position-1] != ids[i] {
			t.Fatalf("%s: position %d is not its place in the seed's order", a, me.Position)
		}
	}

	late := accounts("late", 230)
	batches, st := r.deliver(t, late, 2)
	expected := map[string]int64{}
	next := int64(len(early)) + 1
	repeats := 0
	for _, b := range batches {
		var fresh []waitroom.ParsedJoin
		for _, j := range b {
			if _, placed := expected[j.Account]; placed || slices.ContainsFunc(fresh, func(f waitroom.ParsedJoin) bool { return f.Account == j.Account }) {
				repeats++
				continue
			}
			fresh = append(fresh, j)
		}
		slices.SortFunc(fresh, func(a, b waitroom.ParsedJoin) int { return a.JoinedAt.Compare(b.JoinedAt) })
		for _, j := range fresh {
			expected[j.Account] = next
			next++
		}
	}
	if repeats != st.Duplicated || st.Reordered == 0 {
		t.Fatalf("%d repeated joins delivered, %d duplicated by the queue; %d reordered", repeats, st.Duplicated, st.Reordered)
	}
	overtaken := 0
	for i, a := range late {
		me := r.me(t, a)
		if me.Position != expected[a] {
			t.Fatalf("%s: position %d, want %d (its batch's turn, earliest join first)", a, me.Position, expected[a])
		}
		if me.Position != int64(len(early)+i+1) {
			overtaken++
		}
	}
	if overtaken == 0 {
		t.Fatal("no late fan's position differs from their join order: reordering did not reach the assigner")
	}
	rep, err := r.Report(ctx, r.ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Joined != int64(len(early)+len(late)) {
		t.Fatalf("joined %d for %d accounts", rep.Joined, len(early)+len(late))
	}
	t.Logf("late joins: %d batches, %d duplicates, %d reordered takes, %d fans placed off their join order",
		len(batches), st.Duplicated, st.Reordered, overtaken)
}
