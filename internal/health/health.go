// Package health tells the waiting room's inlet whether the purchase path is
// healthy, so it admits fans only as fast as holds can be served.
//
// Every instance of the holds function owns a Recorder. Each hold request
// adds its latency and Outcome to an in-memory Window per event. When the
// window has ended, the instance merges it into one DynamoDB item per event
// per window with a single UpdateItem of atomic ADDs. The inlet's Monitor
// reads the last few window items of an event with one BatchGetItem, adds
// them up and compares hold p99, error rate and throttle rate with
// Thresholds. No CloudWatch API is involved: metrics there arrive minutes
// late and GetMetricData is too slow and too costly to call every few
// seconds per event.
//
// # Why windows merge exactly
//
// A Window is a set of counters only: request count, conflicts, errors,
// throttles and a latency histogram whose bucket bounds are fixed for all
// instances (Bound). Adding two windows bucket by bucket gives exactly the
// window of the union of their requests, so a thousand instances can ADD into
// the same item in any order, and quantiles of the sum are as precise as the
// quantile of one instance. Quantile reports the upper bound of the bucket
// holding the quantile; bounds follow the R10 series (1, 1.25, 1.6, 2, 2.5,
// 3.15, 4, 5, 6.3, 8 per decade) from 1 ms to 31.5 s, so a reported quantile
// is at most 28% above the true one (above 1 ms), and a threshold placed on
// a bound (1 s, 500 ms, 250 ms, ...) is compared exactly: Quantile(q) > bound
// holds if and only if the true q-quantile is above it. The bounds are part of the stored
// format: changing them needs new attribute names, not an edit of the table.
//
// # Cost and hot keys
//
// Each instance writes at most one item per event per window (default 10 s);
// each window has its own partition key, so writes move to a fresh
// partition every window instead of heating one item for the whole sale. A
// Recorder flushes a rolled-over window at a random per-instance offset in
// the first half of the next window (RecorderOptions.FlushSpread), so 1,000
// instances spread their 1,000 writes over 5 s (200 WCU/s on that partition,
// under the 1,000 WCU per-partition limit) instead of all writing in the same
// millisecond. The Monitor reads Lookback items (default 3) per check,
// eventually consistent: 1.5 RCU per event per check.
//
// # Lambda and losses
//
// Lambda freezes an environment between invocations, so there is no
// background flusher: the flush of a previous window runs synchronously in
// the first Record after the instance's flush offset, bounded by
// RecorderOptions.FlushTimeout and detached from the fan's cancellation. A
// failed flush is logged and the window dropped, never retried: an ADD whose
// answer was lost may have been applied, and counting it twice would be worse
// than missing it. An instance that receives no more requests never flushes
// its last window (call Flush on shutdown where the runtime allows); such
// instances are idle, so their loss is small, and MinSamples keeps a thin
// sample from deciding anything. Conflicts (409: a seat was taken) are the
// normal result of contention and never make the path unhealthy.
//
// Window items expire by DynamoDB TTL after Retention; correctness never
// depends on it, since the Monitor reads only the windows it names.
package health

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"
)

// Outcome is what a hold request came to.
type Outcome int

// Outcomes of a hold request.
const (
	// OK: the request was served (a hold placed, or a client error such as
	// an invalid body, which says nothing about the path's health).
	OK Outcome = iota
	// Conflict: a requested seat was taken (409). Normal under contention,
	// not an error.
	Conflict
	// Error: the request failed on the server side (5xx).
	Error
	// Throttle: DynamoDB throttled the request or ran out of capacity.
	Throttle
)

func (o Outcome) String() string {
	switch o {
	case OK:
		return "ok"
	case Conflict:
		return "conflict"
	case Error:
		return "error"
	case Throttle:
		return "throttle"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// OutcomeForStatus classifies a hold response by its HTTP status: 409 is a
// Conflict, 429 and 503 a Throttle (the API answers 503 UNAVAILABLE when
// DynamoDB throttled or contention outlasted the retries: the path is out of
// capacity), any other 5xx an Error, everything else OK (a 4xx is the
// client's mistake and says nothing about the path).
func OutcomeForStatus(status int) Outcome {
	switch {
	case status == http.StatusConflict:
		return Conflict
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		return Throttle
	case status >= 500:
		return Error
	}
	return OK
}

// Retention is how long window items are kept (their TTL). The Monitor
// only looks back a few windows; the rest is for people investigating a sale.
const Retention = 24 * time.Hour

// NumBuckets is the number of latency buckets of a Window: one per finite
// bound plus an overflow bucket for latencies above the last bound.
const NumBuckets = len(bounds) + 1

// Unbounded is the upper bound of the overflow bucket.
const Unbounded = time.Duration(math.MaxInt64)

// bounds are the inclusive upper bounds of the finite buckets (R10 series,
// 1 ms to 31.5 s). Bucket 0 also holds everything faster than 1 ms.
var bounds = [...]time.Duration{
	1000 * time.Microsecond, 1250 * time.Microsecond, 1600 * time.Microsecond, 2000 * time.Microsecond, 2500 * time.Microsecond,
	3150 * time.Microsecond, 4000 * time.Microsecond, 5000 * time.Microsecond, 6300 * time.Microsecond, 8000 * time.Microsecond,
	10 * time.Millisecond, 12500 * time.Microsecond, 16 * time.Millisecond, 20 * time.Millisecond, 25 * time.Millisecond,
	31500 * time.Microsecond, 40 * time.Millisecond, 50 * time.Millisecond, 63 * time.Millisecond, 80 * time.Millisecond,
	100 * time.Millisecond, 125 * time.Millisecond, 160 * time.Millisecond, 200 * time.Millisecond, 250 * time.Millisecond,
	315 * time.Millisecond, 400 * time.Millisecond, 500 * time.Millisecond, 630 * time.Millisecond, 800 * time.Millisecond,
	1000 * time.Millisecond, 1250 * time.Millisecond, 1600 * time.Millisecond, 2000 * time.Millisecond, 2500 * time.Millisecond,
	3150 * time.Millisecond, 4000 * time.Millisecond, 5000 * time.Millisecond, 6300 * time.Millisecond, 8000 * time.Millisecond,
	10 * time.Second, 12500 * time.Millisecond, 16 * time.Second, 20 * time.Second, 25 * time.Second,
	31500 * time.Millisecond,
}

// Bound is the inclusive upper bound of bucket i; Unbounded for the
// overflow bucket.
func Bound(i int) time.Duration {
	if i >= len(bounds) {
		return Unbounded
	}
	return bounds[i]
}

// BucketOf is the bucket a latency falls in.
func BucketOf(d time.Duration) int {
	i, _ := slices.BinarySearch(bounds[:], d)
	return i
}

// Window is what one or many instances saw of one event's hold requests
// during one window. Count counts every request, whatever its outcome;
// Buckets is the latency histogram of those same requests (a conflict or an
// error is latency a fan waited too).
type Window struct {
	EventID   string
	Start     time.Time
	Count     int64
	Conflicts int64
	Errors    int64
	Throttles int64
	Buckets   [NumBuckets]int64
}

// Observe adds one request. An unknown outcome counts as an Error, so a new
// failure kind is not silently healthy.
func (w *Window) Observe(latency time.Duration, out Outcome) {
	w.Count++
	switch out {
	case OK:
	case Conflict:
		w.Conflicts++
	case Throttle:
		w.Throttles++
	default:
		w.Errors++
	}
	w.Buckets[BucketOf(latency)]++
}

// Merge adds o's counters to w (EventID and Start are left alone).
func (w *Window) Merge(o Window) {
	w.Count += o.Count
	w.Conflicts += o.Conflicts
	w.Errors += o.Errors
	w.Throttles += o.Throttles
	for i, c := range o.Buckets {
		w.Buckets[i] += c
	}
}

// IsZero reports whether no request was recorded.
func (w Window) IsZero() bool {
	if w.Count != 0 || w.Conflicts != 0 || w.Errors != 0 || w.Throttles != 0 {
		return false
	}
	for _, c := range w.Buckets {
		if c != 0 {
			return false
		}
	}
	return true
}

// Quantile returns the upper bound of the bucket holding the q-quantile
// (nearest rank: the ceil(q·n)-th fastest request), 0 for an empty window.
// q is clamped to [0, 1].
func (w Window) Quantile(q float64) time.Duration {
	var total int64
	for _, c := range w.Buckets {
		total += c
	}
	if total == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := max(int64(math.Ceil(q*float64(total))), 1)
	var seen int64
	for i, c := range w.Buckets {
		seen += c
		if seen >= rank {
			return Bound(i)
		}
	}
	return Unbounded // not reached: seen ends at total >= rank
}

// WindowStart is the start of the window holding t: windows are aligned on
// the Unix epoch, so every instance and the Monitor agree on them. window is
// taken in whole seconds (at least one), like the item keys.
func WindowStart(t time.Time, window time.Duration) time.Time {
	return time.Unix(windowStartUnix(t.Unix(), windowSeconds(window)), 0).UTC()
}

func windowSeconds(window time.Duration) int64 {
	return max(int64(window/time.Second), 1)
}

func windowStartUnix(sec, width int64) int64 {
	r := sec % width
	if r < 0 { // before 1970: round towards the past, not towards zero
		r += width
	}
	return sec - r
}

// normWindow rounds a window length down to whole seconds, at least one
// second, defaulting to def.
func normWindow(w, def time.Duration) time.Duration {
	if w == 0 {
		w = def
	}
	return time.Duration(windowSeconds(w)) * time.Second
}
