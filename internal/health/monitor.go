package health

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/stararena/stararena/internal/clock"
)

// Thresholds say when the purchase path is unhealthy. Zero (or negative)
// fields take the defaults of DefaultThresholds.
type Thresholds struct {
	// HoldP99: unhealthy when the hold latency p99 is above it. Put it on a
	// bucket bound (see Bound) to compare exactly.
	HoldP99 time.Duration
	// ErrorRate: unhealthy when errors / requests is above it.
	ErrorRate float64
	// ThrottleRate: unhealthy when throttles / requests is above it.
	ThrottleRate float64
	// MinSamples: with fewer requests than this the path is called healthy,
	// since a handful of slow requests at the start of a sale (cold starts)
	// must not stop the queue.
	MinSamples int64
}

// DefaultThresholds: p99 1 s, 2% errors, 1% throttles, 20 samples.
func DefaultThresholds() Thresholds {
	return Thresholds{HoldP99: time.Second, ErrorRate: 0.02, ThrottleRate: 0.01, MinSamples: 20}
}

func (th Thresholds) withDefaults() Thresholds {
	d := DefaultThresholds()
	if th.HoldP99 <= 0 {
		th.HoldP99 = d.HoldP99
	}
	if th.ErrorRate <= 0 {
		th.ErrorRate = d.ErrorRate
	}
	if th.ThrottleRate <= 0 {
		th.ThrottleRate = d.ThrottleRate
	}
	if th.MinSamples <= 0 {
		th.MinSamples = d.MinSamples
	}
	return th
}

// Status is the verdict on an event's purchase path.
type Status struct {
	Healthy bool
	// Reason names every cause of an unhealthy verdict (or why a healthy
	// one was given), for the inlet's log and the organizer's report.
	Reason       string
	Samples      int64
	P99          time.Duration
	ErrorRate    float64
	ThrottleRate float64
	// ConflictRate is reported, never judged: seats being taken is what a
	// rush looks like.
	ConflictRate float64
}

// Evaluate judges a (merged) window.
func (th Thresholds) Evaluate(w Window) Status {
	th = th.withDefaults()
	st := Status{Healthy: true, Samples: w.Count, P99: w.Quantile(0.99)}
	if w.Count > 0 {
		c := float64(w.Count)
		st.ErrorRate, st.ThrottleRate, st.ConflictRate = float64(w.Errors)/c, float64(w.Throttles)/c, float64(w.Conflicts)/c
	}
	if w.Count < th.MinSamples {
		st.Reason = fmt.Sprintf("%d hold requests, fewer than %d: too few to judge", w.Count, th.MinSamples)
		return st
	}
	var causes []string
	if st.P99 > th.HoldP99 {
		p99 := st.P99.String()
		if st.P99 == Unbounded {
			p99 = "over " + Bound(NumBuckets-2).String()
		}
		causes = append(causes, fmt.Sprintf("hold p99 %s above %s", p99, th.HoldP99))
	}
	if st.ErrorRate > th.ErrorRate {
		causes = append(causes, fmt.Sprintf("error rate %.1f%% above %.1f%%", 100*st.ErrorRate, 100*th.ErrorRate))
	}
	if st.ThrottleRate > th.ThrottleRate {
		causes = append(causes, fmt.Sprintf("throttle rate %.1f%% above %.1f%%", 100*st.ThrottleRate, 100*th.ThrottleRate))
	}
	if len(causes) > 0 {
		st.Healthy, st.Reason = false, strings.Join(causes, "; ")
		return st
	}
	st.Reason = fmt.Sprintf("hold p99 %s, error rate %.1f%%, throttle rate %.1f%% over %d hold requests: within thresholds",
		st.P99, 100*st.ErrorRate, 100*st.ThrottleRate, w.Count)
	return st
}

// DefaultLookback is how many windows a Monitor reads.
const DefaultLookback = 3

// MonitorOptions configure a Monitor. Zero fields take the defaults.
type MonitorOptions struct {
	// Window is the window length; it must equal the Recorders'.
	Window time.Duration
	// Lookback is how many windows are judged together (DefaultLookback):
	// the current, partial one and the ones before it. The window that has
	// just ended is still being flushed during the first half of the
	// current one (RecorderOptions.FlushSpread), so looking at the current
	// window alone would judge an incomplete sample.
	Lookback int
	Clock    clock.Clock
}

// Monitor judges the purchase path of an event from the recorded windows.
// It keeps no state between checks and is safe for concurrent use.
type Monitor struct {
	store    Store
	th       Thresholds
	width    int64
	lookback int
	clock    clock.Clock
}

// NewMonitor returns a Monitor reading store.
func NewMonitor(store Store, th Thresholds, o MonitorOptions) *Monitor {
	if o.Lookback <= 0 {
		o.Lookback = DefaultLookback
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	return &Monitor{
		store: store, th: th.withDefaults(), width: windowSeconds(normWindow(o.Window, DefaultWindow)),
		lookback: o.Lookback, clock: o.Clock,
	}
}

// Check reads the last Lookback windows of eventID (one BatchGetItem) and
// judges their sum. On error the caller should back off as if unhealthy:
// if the health items cannot be read, the table the holds write to is
// likely in trouble too.
func (m *Monitor) Check(ctx context.Context, eventID string) (Status, error) {
	cur := windowStartUnix(m.clock.Now().Unix(), m.width)
	starts := make([]time.Time, m.lookback)
	for i := range starts {
		starts[i] = time.Unix(cur-int64(m.lookback-1-i)*m.width, 0).UTC()
	}
	ws, err := m.store.Windows(ctx, eventID, starts)
	if err != nil {
		return Status{}, fmt.Errorf("read health of event %s: %w", eventID, err)
	}
	sum := Window{EventID: eventID, Start: starts[0]}
	for _, w := range ws {
		sum.Merge(w)
	}
	return m.th.Evaluate(sum), nil
}
