package metrics

import (
	"encoding/json"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/stararena/stararena/internal/clock"
)

// Units used by StarArena's metrics.
const (
	Count        = "Count"
	Milliseconds = "Milliseconds"
	CountPerMin  = "Count/Minute"
)

// Value is one metric value.
type Value struct {
	Name  string
	Unit  string
	Value float64
}

// Emitter writes metrics as CloudWatch Embedded Metric Format lines: in
// Lambda to stdout, where CloudWatch Logs turns them into metrics with no
// API call (no PutMetricData latency or throttling on the purchase path).
// A nil *Emitter emits nothing, so code can always call it.
type Emitter struct {
	mu       sync.Mutex
	w        io.Writer
	function string
	clock    clock.Clock
}

// NewEmitter writes to w, tagging every metric with the function's name.
func NewEmitter(w io.Writer, function string, c clock.Clock) *Emitter {
	if c == nil {
		c = clock.System{}
	}
	return &Emitter{w: w, function: function, clock: c}
}

// Emit writes one EMF document: the values share the dimensions (plus
// Function). Errors are dropped: metrics must never fail a fan's request.
func (e *Emitter) Emit(dims map[string]string, values ...Value) {
	if e == nil || len(values) == 0 {
		return
	}
	names := make([]string, 0, len(dims)+1)
	names = append(names, DimFunction)
	for k := range dims {
		if k != DimFunction {
			names = append(names, k)
		}
	}
	sort.Strings(names[1:])
	defs := make([]map[string]string, len(values))
	doc := map[string]any{DimFunction: e.function}
	for k, v := range dims {
		doc[k] = v
	}
	for i, v := range values {
		defs[i] = map[string]string{"Name": v.Name, "Unit": v.Unit}
		doc[v.Name] = v.Value
	}
	doc["_aws"] = map[string]any{
		"Timestamp": e.clock.Now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  Namespace,
			"Dimensions": [][]string{names},
			"Metrics":    defs,
		}},
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.w.Write(append(line, '\n'))
}

// Count emits one counter.
func (e *Emitter) Count(name string, n float64, dims map[string]string) {
	e.Emit(dims, Value{Name: name, Unit: Count, Value: n})
}

// Duration emits one latency in milliseconds.
func (e *Emitter) Duration(name string, d time.Duration, dims map[string]string) {
	e.Emit(dims, Value{Name: name, Unit: Milliseconds, Value: float64(d.Microseconds()) / 1000})
}
