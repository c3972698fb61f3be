package health_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/health"
	"github.com/stararena/stararena/internal/testenv"
)

// t0 is aligned on a 10 s window.
var t0 = time.Date(2027, 5, 1, 10, 0, 0, 0, time.UTC)

func newStore(t *testing.T) *dynamo.HealthStore {
	t.Helper()
	db, table := testenv.DynamoDB(t)
	return dynamo.NewStores(db, table, nil).Health
}

// countingStore counts AddWindow calls (one per UpdateItem).
type countingStore struct {
	health.Store
	adds atomic.Int64
}

func (c *countingStore) AddWindow(ctx context.Context, w health.Window) error {
	c.adds.Add(1)
	return c.Store.AddWindow(ctx, w)
}

func window(obs map[time.Duration]int, out health.Outcome) health.Window {
	var w health.Window
	for d, k := range obs {
		for range k {
			w.Observe(d, out)
		}
	}
	return w
}

func TestBounds(t *testing.T) {
	if health.NumBuckets < 30 || health.NumBuckets > 50 {
		t.Fatalf("NumBuckets = %d", health.NumBuckets)
	}
	if health.Bound(0) != time.Millisecond || health.Bound(health.NumBuckets-2) < 30*time.Second {
		t.Fatalf("bounds span %s..%s", health.Bound(0), health.Bound(health.NumBuckets-2))
	}
	if health.Bound(health.NumBuckets-1) != health.Unbounded {
		t.Fatal("last bucket is not the overflow bucket")
	}
	for i := 1; i < health.NumBuckets-1; i++ {
		lo, hi := health.Bound(i-1), health.Bound(i)
		if r := float64(hi) / float64(lo); r <= 1 || r > 1.28 {
			t.Fatalf("bound %d/%d ratio %.3f (%s/%s)", i, i-1, r, hi, lo)
		}
	}
	for _, th := range []time.Duration{100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second} {
		if health.Bound(health.BucketOf(th)) != th {
			t.Fatalf("threshold %s is not a bucket bound", th)
		}
	}
}

func TestBucketOf(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want time.Duration // bound of the bucket
	}{
		{0, time.Millisecond},
		{-time.Second, time.Millisecond},
		{500 * time.Microsecond, time.Millisecond},
		{time.Millisecond, time.Millisecond},
		{time.Millisecond + 1, 1250 * time.Microsecond},
		{time.Second, time.Second},
		{time.Second + 1, 1250 * time.Millisecond},
		{31500 * time.Millisecond, 31500 * time.Millisecond},
		{time.Minute, health.Unbounded},
	} {
		if got := health.Bound(health.BucketOf(c.d)); got != c.want {
			t.Errorf("bucket of %s has bound %s, want %s", c.d, got, c.want)
		}
	}
}

func TestQuantile(t *testing.T) {
	ms := time.Millisecond
	mixed := window(map[time.Duration]int{50 * ms: 98, 1100 * ms: 2}, health.OK)
	oneSlow := window(map[time.Duration]int{10 * ms: 99, 2 * time.Second: 1}, health.OK)
	for _, c := range []struct {
		name string
		w    health.Window
		q    float64
		want time.Duration
	}{
		{"Empty", health.Window{}, 0.99, 0},
		{"Uniform", window(map[time.Duration]int{50 * ms: 100}, health.OK), 0.99, 50 * ms},
		{"UniformMedian", window(map[time.Duration]int{50 * ms: 100}, health.OK), 0.5, 50 * ms},
		{"P98BeforeTail", mixed, 0.98, 50 * ms},
		{"P99InTail", mixed, 0.99, 1250 * ms},
		{"P99OneOutlierIsP100", oneSlow, 0.99, 10 * ms},
		{"Max", oneSlow, 1, 2 * time.Second},
		{"ClampedHigh", oneSlow, 7, 2 * time.Second},
		{"Min", oneSlow, 0, 10 * ms},
		{"ClampedLow", oneSlow, -1, 10 * ms},
		{"Overflow", window(map[time.Duration]int{time.Minute: 1}, health.OK), 0.99, health.Unbounded},
		{"SingleSample", window(map[time.Duration]int{3 * ms: 1}, health.OK), 0.5, 3150 * time.Microsecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.w.Quantile(c.q); got != c.want {
				t.Fatalf("Quantile(%v) = %s, want %s", c.q, got, c.want)
			}
		})
	}

	t.Run("MergeIsTheUnion", func(t *testing.T) {
		a := window(map[time.Duration]int{20 * ms: 60, 700 * ms: 1}, health.OK)
		b := window(map[time.Duration]int{30 * ms: 37, 3 * time.Second: 2}, health.Conflict)
		var union health.Window
		for d, k := range map[time.Duration]int{20 * ms: 60, 700 * ms: 1} {
			for range k {
				union.Observe(d, health.OK)
			}
		}
		for d, k := range map[time.Duration]int{30 * ms: 37, 3 * time.Second: 2} {
			for range k {
				union.Observe(d, health.Conflict)
			}
		}
		a.Merge(b)
		if a != union {
			t.Fatalf("merged %+v, union %+v", a, union)
		}
		if got := a.Quantile(0.99); got != 3150*ms {
			t.Fatalf("p99 = %s, want 3.15s", got)
		}
	})
}

func TestObserveCountsOutcomes(t *testing.T) {
	var w health.Window
	w.Observe(time.Millisecond, health.OK)
	w.Observe(time.Millisecond, health.Conflict)
	w.Observe(time.Millisecond, health.Error)
	w.Observe(time.Millisecond, health.Throttle)
	w.Observe(time.Millisecond, health.Outcome(42)) // unknown: an error, never silently healthy
	if w.Count != 5 || w.Conflicts != 1 || w.Errors != 2 || w.Throttles != 1 || w.Buckets[0] != 5 {
		t.Fatalf("window = %+v", w)
	}
}

func TestOutcomeForStatus(t *testing.T) {
	for status, want := range map[int]health.Outcome{
		200: health.OK, 201: health.OK, 400: health.OK, 403: health.OK, 404: health.OK,
		409: health.Conflict, 429: health.Throttle, 503: health.Throttle, 500: health.Error, 502: health.Error, 504: health.Error,
	} {
		if got := health.OutcomeForStatus(status); got != want {
			t.Errorf("OutcomeForStatus(%d) = %s, want %s", status, got, want)
		}
	}
}

func TestWindowStart(t *testing.T) {
	for _, c := range []struct {
		t      time.Time
		window time.Duration
		want   time.Time
	}{
		{t0.Add(9999 * time.Millisecond), 10 * time.Second, t0},
		{t0.Add(10 * time.Second), 10 * time.Second, t0.Add(10 * time.Second)},
		{t0.Add(7 * time.Second), 3 * time.Second, t0.Add(6 * time.Second)}, // aligned on the epoch: 1809165600 is a multiple of 3
		{time.Unix(-1, 0), 10 * time.Second, time.Unix(-10, 0).UTC()},
		{t0.Add(1500 * time.Millisecond), 500 * time.Millisecond, t0.Add(time.Second)}, // at least one second
	} {
		if got := health.WindowStart(c.t, c.window); !got.Equal(c.want) {
			t.Errorf("WindowStart(%s, %s) = %s, want %s", c.t, c.window, got, c.want)
		}
	}
}

// TestRecorderInstancesMerge has two recorders (two instances of the holds
// function) record concurrently into the same window; the stored window is
// exactly the sum of what they saw.
func TestRecorderInstancesMerge(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	clk := clock.NewManual(t0.Add(2 * time.Second))
	a := health.NewRecorder(st, health.RecorderOptions{Clock: clk})
	b := health.NewRecorder(st, health.RecorderOptions{Clock: clk})

	outcomes := []health.Outcome{health.OK, health.OK, health.Conflict, health.OK, health.Error, health.Throttle, health.OK}
	var mu sync.Mutex
	var want health.Window
	var wg sync.WaitGroup
	for g := range 8 {
		r := a
		if g%2 == 1 {
			r = b
		}
		wg.Go(func() {
			var local health.Window
			for i := range 250 {
				lat := time.Duration(1+(i*37+g*11)%4000) * time.Millisecond
				out := outcomes[(i+g)%len(outcomes)]
				r.Record(ctx, "e1", lat, out)
				local.Observe(lat, out)
			}
			mu.Lock()
			want.Merge(local)
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ws, err := st.Windows(ctx, "e1", []time.Time{t0})
	if err != nil {
		t.Fatal(err)
	}
	want.EventID, want.Start = "e1", t0
	if got := ws[0]; got != want {
		t.Fatalf("stored window\n%+v\nwant\n%+v", got, want)
	}
	if want.Count != 2000 {
		t.Fatalf("count = %d", want.Count)
	}
}

// TestRecorderRollover: a window is written by the first record after it
// ended, once per event, and not before.
func TestRecorderRollover(t *testing.T) {
	ctx := context.Background()
	st := &countingStore{Store: newStore(t)}
	clk := clock.NewManual(t0.Add(time.Second))
	r := health.NewRecorder(st, health.RecorderOptions{Clock: clk, FlushSpread: -1})

	for range 5 {
		r.Record(ctx, "e1", 40*time.Millisecond, health.OK)
	}
	for range 3 {
		r.Record(ctx, "e2", 2*time.Second, health.Error)
	}
	clk.Advance(8 * time.Second) // t0+9s: same window
	r.Record(ctx, "e1", 40*time.Millisecond, health.Conflict)
	if n := st.adds.Load(); n != 0 {
		t.Fatalf("%d writes before the window ended", n)
	}

	clk.Advance(time.Second) // t0+10s: next window
	r.Record(ctx, "e1", 40*time.Millisecond, health.OK)
	if n := st.adds.Load(); n != 2 {
		t.Fatalf("%d writes at rollover, want 2 (one per event)", n)
	}
	for range 10 {
		r.Record(ctx, "e1", 40*time.Millisecond, health.OK)
	}
	if n := st.adds.Load(); n != 2 {
		t.Fatalf("%d writes after rollover, want still 2", n)
	}

	starts := []time.Time{t0, t0.Add(10 * time.Second)}
	e1, err := st.Windows(ctx, "e1", starts)
	if err != nil {
		t.Fatal(err)
	}
	e2, err := st.Windows(ctx, "e2", starts)
	if err != nil {
		t.Fatal(err)
	}
	if e1[0].Count != 6 || e1[0].Conflicts != 1 || e2[0].Count != 3 || e2[0].Errors != 3 {
		t.Fatalf("previous windows e1 %+v e2 %+v", e1[0], e2[0])
	}
	if !e1[1].IsZero() || !e2[1].IsZero() {
		t.Fatalf("current window written early: %+v", e1[1])
	}

	// Idle across several windows: the pending window still lands in its
	// own item, not in the window of the next record.
	clk.Advance(45 * time.Second)
	r.Record(ctx, "e1", time.Millisecond, health.OK)
	ws, err := st.Windows(ctx, "e1", []time.Time{t0.Add(10 * time.Second), t0.Add(50 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if ws[0].Count != 11 || !ws[1].IsZero() {
		t.Fatalf("after idle: %+v / %+v", ws[0], ws[1])
	}
}

// TestRecorderFlushSpread: with a spread, a window is written within the
// spread after it ends.
func TestRecorderFlushSpread(t *testing.T) {
	ctx := context.Background()
	st := &countingStore{Store: newStore(t)}
	clk := clock.NewManual(t0)
	r := health.NewRecorder(st, health.RecorderOptions{Clock: clk}) // spread 5 s
	r.Record(ctx, "e1", time.Millisecond, health.OK)
	clk.Set(t0.Add(15 * time.Second))
	r.Record(ctx, "e1", time.Millisecond, health.OK)
	if n := st.adds.Load(); n != 1 {
		t.Fatalf("%d writes once the spread passed, want 1", n)
	}
}

type failingStore struct{ health.Store }

var errDown = errors.New("table down")

func (failingStore) AddWindow(context.Context, health.Window) error { return errDown }

func TestRecorderFlushFailureIsLoggedNotReturned(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	clk := clock.NewManual(t0)
	r := health.NewRecorder(failingStore{}, health.RecorderOptions{
		Clock: clk, FlushSpread: -1, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	r.Record(ctx, "e1", time.Millisecond, health.OK)
	clk.Advance(10 * time.Second)
	r.Record(ctx, "e1", time.Millisecond, health.OK) // the fan's request goes on
	if !strings.Contains(logs.String(), "health window not recorded") || !strings.Contains(logs.String(), "table down") {
		t.Fatalf("log = %q", logs.String())
	}
	if err := r.Flush(ctx); !errors.Is(err, errDown) {
		t.Fatalf("Flush = %v", err)
	}
}

// TestRecorderFlushOutlivesTheRequest: a fan hanging up (cancelled context)
// does not cost the instance its window.
func TestRecorderFlushOutlivesTheRequest(t *testing.T) {
	st := newStore(t)
	clk := clock.NewManual(t0)
	r := health.NewRecorder(st, health.RecorderOptions{Clock: clk, FlushSpread: -1})
	r.Record(context.Background(), "e1", time.Millisecond, health.OK)
	clk.Advance(10 * time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r.Record(ctx, "e1", time.Millisecond, health.OK)
	ws, err := st.Windows(context.Background(), "e1", []time.Time{t0})
	if err != nil {
		t.Fatal(err)
	}
	if ws[0].Count != 1 {
		t.Fatalf("window = %+v", ws[0])
	}
}

func TestMonitorHealth(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	now := t0.Add(25 * time.Second) // current window t0+20s; lookback t0, t0+10s, t0+20s
	m := health.NewMonitor(st, health.DefaultThresholds(), health.MonitorOptions{Clock: clock.NewManual(now)})
	ms := time.Millisecond

	add := func(t *testing.T, ev string, start time.Time, k int, lat time.Duration, out health.Outcome) {
		t.Helper()
		w := window(map[time.Duration]int{lat: k}, out)
		w.EventID, w.Start = ev, start
		if err := st.AddWindow(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	check := func(t *testing.T, ev string, healthy bool, reason string) health.Status {
		t.Helper()
		s, err := m.Check(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		if s.Healthy != healthy || !strings.Contains(s.Reason, reason) {
			t.Fatalf("status = %+v, want healthy=%v with %q", s, healthy, reason)
		}
		return s
	}

	t.Run("NoData", func(t *testing.T) {
		s := check(t, "quiet", true, "too few")
		if s.Samples != 0 {
			t.Fatalf("samples = %d", s.Samples)
		}
	})
	t.Run("UnderMinSamplesIsHealthy", func(t *testing.T) {
		add(t, "thin", t0.Add(20*time.Second), 19, 5*time.Second, health.Error)
		check(t, "thin", true, "too few")
	})
	t.Run("SlowP99", func(t *testing.T) {
		add(t, "slow", t0, 49, 50*ms, health.OK)
		add(t, "slow", t0.Add(10*time.Second), 49, 50*ms, health.OK)
		add(t, "slow", t0.Add(20*time.Second), 2, 1500*ms, health.OK)
		s := check(t, "slow", false, "hold p99 1.6s above 1s")
		if s.Samples != 100 || s.P99 != 1600*ms || s.ErrorRate != 0 {
			t.Fatalf("status = %+v", s)
		}
	})
	t.Run("OneOutlierIsWithinP99", func(t *testing.T) {
		add(t, "outlier", t0, 99, 50*ms, health.OK)
		add(t, "outlier", t0, 1, 5*time.Second, health.OK)
		s := check(t, "outlier", true, "within thresholds")
		if s.P99 != 50*ms {
			t.Fatalf("p99 = %s", s.P99)
		}
	})
	t.Run("ErrorRate", func(t *testing.T) {
		add(t, "errors", t0, 97, 50*ms, health.OK)
		add(t, "errors", t0.Add(10*time.Second), 3, 50*ms, health.Error)
		s := check(t, "errors", false, "error rate 3.0% above 2.0%")
		if strings.Contains(s.Reason, "p99") || strings.Contains(s.Reason, "throttle") {
			t.Fatalf("reason names a cause that is not one: %q", s.Reason)
		}
	})
	t.Run("ErrorRateAtThresholdIsHealthy", func(t *testing.T) {
		add(t, "errors2", t0, 98, 50*ms, health.OK)
		add(t, "errors2", t0, 2, 50*ms, health.Error)
		check(t, "errors2", true, "within thresholds")
	})
	t.Run("ThrottleRate", func(t *testing.T) {
		add(t, "throttled", t0.Add(20*time.Second), 98, 50*ms, health.OK)
		add(t, "throttled", t0.Add(20*time.Second), 2, 50*ms, health.Throttle)
		s := check(t, "throttled", false, "throttle rate 2.0% above 1.0%")
		if s.ThrottleRate != 0.02 {
			t.Fatalf("throttle rate = %v", s.ThrottleRate)
		}
	})
	t.Run("ConflictsAloneStayHealthy", func(t *testing.T) {
		add(t, "rush", t0, 5, 50*ms, health.OK)
		add(t, "rush", t0.Add(10*time.Second), 95, 80*ms, health.Conflict)
		s := check(t, "rush", true, "within thresholds")
		if s.ConflictRate != 0.95 {
			t.Fatalf("conflict rate = %v", s.ConflictRate)
		}
	})
	t.Run("EveryCauseNamed", func(t *testing.T) {
		add(t, "down", t0, 80, 2*time.Second, health.OK)
		add(t, "down", t0, 10, 2*time.Second, health.Error)
		add(t, "down", t0, 10, 2*time.Second, health.Throttle)
		s := check(t, "down", false, "p99")
		for _, c := range []string{"error rate", "throttle rate"} {
			if !strings.Contains(s.Reason, c) {
				t.Fatalf("reason %q does not name %s", s.Reason, c)
			}
		}
	})
	t.Run("OldWindowsIgnored", func(t *testing.T) {
		add(t, "recovered", t0.Add(-10*time.Second), 100, 9*time.Second, health.Error) // one window before the lookback
		add(t, "recovered", t0.Add(20*time.Second), 100, 50*ms, health.OK)
		s := check(t, "recovered", true, "within thresholds")
		if s.Samples != 100 {
			t.Fatalf("samples = %d: an old window was counted", s.Samples)
		}
		add(t, "recovered", t0, 5, 50*ms, health.Error) // the oldest window of the lookback counts
		check(t, "recovered", false, "error rate")
	})
	t.Run("FutureWindowsIgnored", func(t *testing.T) {
		add(t, "skew", t0.Add(30*time.Second), 100, 50*ms, health.Error) // an instance whose clock runs ahead
		check(t, "skew", true, "too few")
	})
}

// TestRecordToCheck runs the whole path: instances record slow holds, the
// inlet's monitor sees it, then sees recovery once the slow windows leave the
// lookback.
func TestRecordToCheck(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	clk := clock.NewManual(t0)
	r := health.NewRecorder(st, health.RecorderOptions{Clock: clk, FlushSpread: -1})
	m := health.NewMonitor(st, health.Thresholds{}, health.MonitorOptions{Clock: clk})

	for i := range 100 {
		lat := 30 * time.Millisecond
		if i%10 == 0 {
			lat = 1200 * time.Millisecond
		}
		r.Record(ctx, "e1", lat, health.OK)
	}
	clk.Advance(10 * time.Second)
	r.Record(ctx, "e1", 30*time.Millisecond, health.OK) // rolls over: writes the slow window
	s, err := m.Check(ctx, "e1")
	if err != nil {
		t.Fatal(err)
	}
	if s.Healthy || s.Samples != 100 || s.P99 != 1250*time.Millisecond {
		t.Fatalf("while slow: %+v", s)
	}

	for range 3 { // three fast windows push the slow one out
		for range 30 {
			r.Record(ctx, "e1", 30*time.Millisecond, health.OK)
		}
		clk.Advance(10 * time.Second)
	}
	r.Record(ctx, "e1", 30*time.Millisecond, health.OK)
	if s, err = m.Check(ctx, "e1"); err != nil {
		t.Fatal(err)
	}
	if !s.Healthy || s.P99 != 31500*time.Microsecond {
		t.Fatalf("after recovery: %+v", s)
	}
}

type nopStore struct{}

func (nopStore) AddWindow(context.Context, health.Window) error { return nil }
func (nopStore) Windows(_ context.Context, _ string, starts []time.Time) ([]health.Window, error) {
	return make([]health.Window, len(starts)), nil
}

// BenchmarkRecord measures the in-memory path a hold request pays (the
// occasional rollover flush goes to a store that does nothing).
func BenchmarkRecord(b *testing.B) {
	ctx := context.Background()
	r := health.NewRecorder(nopStore{}, health.RecorderOptions{})
	lats := []time.Duration{12 * time.Millisecond, 40 * time.Millisecond, 180 * time.Millisecond, 2 * time.Second}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Record(ctx, "e1", lats[i%len(lats)], health.Outcome(i%4))
		i++
	}
}

// BenchmarkRecordParallel is the local stack's case: many goroutines of one
// process share a Recorder.
func BenchmarkRecordParallel(b *testing.B) {
	ctx := context.Background()
	r := health.NewRecorder(nopStore{}, health.RecorderOptions{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Record(ctx, "e1", 40*time.Millisecond, health.OK)
		}
	})
}
