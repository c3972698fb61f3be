package dynamo_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/health"
	"github.com/stararena/stararena/internal/testenv"
)

var healthT0 = time.Date(2027, 5, 1, 10, 0, 0, 0, time.UTC)

func healthWindow(ev string, start time.Time, lat time.Duration, k int, out health.Outcome) health.Window {
	w := health.Window{EventID: ev, Start: start}
	for range k {
		w.Observe(lat, out)
	}
	return w
}

// TestHealthStore checks the DynamoDB adapter beyond the port contract
// (storetest): item layout, batching, concurrent writes (run against
// AWS_ENDPOINT_URL_DYNAMODB when set).
func TestHealthStore(t *testing.T) {
	ctx := context.Background()
	db, table := testenv.DynamoDB(t)
	st := dynamo.NewStores(db, table, nil).Health

	t.Run("AddsAndReadsBack", func(t *testing.T) {
		a := healthWindow("e1", healthT0, 40*time.Millisecond, 7, health.OK)
		b := healthWindow("e1", healthT0, 3*time.Second, 2, health.Error)
		b.Merge(healthWindow("e1", healthT0, time.Minute, 1, health.Throttle))
		b.Merge(healthWindow("e1", healthT0, 0, 4, health.Conflict))
		for _, w := range []health.Window{a, b} {
			if err := st.AddWindow(ctx, w); err != nil {
				t.Fatal(err)
			}
		}
		want := a
		want.Merge(b)
		ws, err := st.Windows(ctx, "e1", []time.Time{healthT0})
		if err != nil {
			t.Fatal(err)
		}
		if len(ws) != 1 || ws[0] != want {
			t.Fatalf("windows = %+v\nwant %+v", ws, want)
		}
	})
	t.Run("ItemLayout", func(t *testing.T) {
		pk := "HEALTH#e1#" + itoa64(healthT0.Unix())
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: "HEALTH"},
		}})
		if err != nil || out.Item == nil {
			t.Fatalf("item %s: %v", pk, err)
		}
		ttl, ok := out.Item["ttl"].(*types.AttributeValueMemberN)
		if !ok || ttl.Value != itoa64(healthT0.Add(health.Retention).Unix()) {
			t.Fatalf("ttl = %#v", out.Item["ttl"])
		}
		// Only the buckets that ever counted something are stored.
		want := map[string]bool{"b" + itoa64(int64(health.BucketOf(0))): true, "b" + itoa64(int64(health.BucketOf(40*time.Millisecond))): true,
			"b" + itoa64(int64(health.BucketOf(3*time.Second))): true, "b" + itoa64(int64(health.NumBuckets-1)): true}
		for name := range out.Item {
			if name[0] == 'b' && !want[name] {
				t.Fatalf("zero bucket %s stored", name)
			}
		}
		if len(want) != 4 {
			t.Fatal("test buckets overlap")
		}
	})
	t.Run("MissingWindowsAreEmpty", func(t *testing.T) {
		starts := []time.Time{healthT0.Add(-10 * time.Second), healthT0, healthT0.Add(10 * time.Second)}
		ws, err := st.Windows(ctx, "e1", starts)
		if err != nil {
			t.Fatal(err)
		}
		if len(ws) != 3 || !ws[0].IsZero() || ws[1].Count != 14 || !ws[2].IsZero() {
			t.Fatalf("windows = %+v", ws)
		}
		for i, w := range ws {
			if w.EventID != "e1" || !w.Start.Equal(starts[i]) {
				t.Fatalf("window %d is %s@%s", i, w.EventID, w.Start)
			}
		}
		if ws, err := st.Windows(ctx, "other", starts); err != nil || !ws[1].IsZero() {
			t.Fatalf("other event: %+v, %v", ws, err)
		}
	})
	t.Run("EmptyWindowWritesNothing", func(t *testing.T) {
		if err := st.AddWindow(ctx, health.Window{EventID: "e9", Start: healthT0}); err != nil {
			t.Fatal(err)
		}
		if err := st.AddWindow(ctx, health.Window{Start: healthT0, Count: 1}); err == nil {
			t.Fatal("window without an event accepted")
		}
	})
	t.Run("DuplicateAndManyStarts", func(t *testing.T) {
		// 150 distinct windows (two BatchGetItem calls) plus repeats, which
		// BatchGetItem itself would refuse.
		var starts []time.Time
		for i := range 150 {
			start := healthT0.Add(time.Duration(i) * 10 * time.Second)
			starts = append(starts, start)
			if i%30 == 0 {
				if err := st.AddWindow(ctx, healthWindow("many", start, time.Millisecond, i+1, health.OK)); err != nil {
					t.Fatal(err)
				}
			}
		}
		starts = append(starts, healthT0, healthT0.Add(300*time.Second))
		ws, err := st.Windows(ctx, "many", starts)
		if err != nil {
			t.Fatal(err)
		}
		if len(ws) != len(starts) {
			t.Fatalf("%d windows for %d starts", len(ws), len(starts))
		}
		for i, w := range ws[:150] {
			want := int64(0)
			if i%30 == 0 {
				want = int64(i + 1)
			}
			if w.Count != want || !w.Start.Equal(starts[i]) {
				t.Fatalf("window %d: count %d at %s, want %d", i, w.Count, w.Start, want)
			}
		}
		if ws[150].Count != 1 || ws[151].Count != 31 {
			t.Fatalf("repeated starts: %d, %d", ws[150].Count, ws[151].Count)
		}
	})
	t.Run("ConcurrentAddsSumExactly", func(t *testing.T) {
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 10 {
					w := healthWindow("hot", healthT0, time.Duration(g*i)*time.Millisecond, 3, health.Outcome(i%4))
					if err := st.AddWindow(ctx, w); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		ws, err := st.Windows(ctx, "hot", []time.Time{healthT0})
		if err != nil {
			t.Fatal(err)
		}
		w := ws[0]
		var inBuckets int64
		for _, c := range w.Buckets {
			inBuckets += c
		}
		// 8 goroutines x 10 adds x 3 requests; outcomes cycle OK, Conflict,
		// Error, Throttle over i = 0..9 (3, 3, 2, 2 adds of each).
		if w.Count != 240 || inBuckets != 240 || w.Conflicts != 72 || w.Errors != 48 || w.Throttles != 48 {
			t.Fatalf("window = %+v", w)
		}
	})
}

func itoa64(v int64) string { return strconv.FormatInt(v, 10) }
