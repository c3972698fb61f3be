package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/stararena/stararena/internal/clock"
)

// Store keeps the merged windows.
type Store interface {
	// AddWindow merges w into the stored window of w.EventID starting at
	// w.Start, atomically adding every counter.
	AddWindow(ctx context.Context, w Window) error
	// Windows reads the event's windows starting at starts, in the same
	// order; a window nobody wrote is returned empty. It reads by key only
	// (no Query or Scan).
	Windows(ctx context.Context, eventID string, starts []time.Time) ([]Window, error)
}

// maxFree caps the reusable windows kept after a burst of many events.
const maxFree = 64

// DefaultWindow is the window length of a Recorder and a Monitor.
const DefaultWindow = 10 * time.Second

// DefaultFlushTimeout bounds the synchronous flush inside Record.
const DefaultFlushTimeout = 300 * time.Millisecond

// RecorderOptions configure a Recorder. Zero fields take the defaults.
type RecorderOptions struct {
	// Window is the window length, in whole seconds (DefaultWindow). It
	// must equal the Monitor's.
	Window time.Duration
	// FlushSpread: a rolled-over window is flushed at a random offset in
	// [0, FlushSpread) after it ends, chosen once per Recorder, so that the
	// instances of a large fleet do not all write the same item at the same
	// moment. Default Window/2; negative: flush on the first Record after
	// the window ends.
	FlushSpread time.Duration
	// FlushTimeout bounds a flush run inside Record, which delays one
	// fan's request (DefaultFlushTimeout).
	FlushTimeout time.Duration
	Clock        clock.Clock
	Logger       *slog.Logger
}

// Recorder accumulates one process's hold outcomes per event and window and
// flushes them to the Store. It is safe for concurrent use.
type Recorder struct {
	store        Store
	width        int64         // window length in seconds
	offset       time.Duration // this instance's flush delay after a window ends
	flushTimeout time.Duration
	clock        clock.Clock
	log          *slog.Logger

	mu       sync.Mutex
	curStart int64              // unix seconds of the current window
	cur      map[string]*Window // current window, by event
	pending  []*Window          // ended windows not flushed yet
	free     []*Window          // flushed windows for reuse: Record does not allocate in steady state
}

// NewRecorder returns a Recorder writing to store.
func NewRecorder(store Store, o RecorderOptions) *Recorder {
	window := normWindow(o.Window, DefaultWindow)
	spread := o.FlushSpread
	if spread == 0 {
		spread = window / 2
	}
	var offset time.Duration
	if spread > 0 {
		offset = rand.N(spread)
	}
	if o.FlushTimeout <= 0 {
		o.FlushTimeout = DefaultFlushTimeout
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Recorder{
		store: store, width: windowSeconds(window), offset: offset, flushTimeout: o.FlushTimeout,
		clock: o.Clock, log: o.Logger, cur: map[string]*Window{},
	}
}

// Record adds one hold request to the current window of eventID. When an
// earlier window has ended and this instance's flush offset has passed, it
// first writes the ended windows (one UpdateItem per event and window),
// synchronously: Lambda freezes the process between invocations, so a
// background goroutine would not run. A flush failure is logged, never
// returned: the fan's hold must not fail because a metric did.
func (r *Recorder) Record(ctx context.Context, eventID string, latency time.Duration, out Outcome) {
	now := r.clock.Now()
	start := windowStartUnix(now.Unix(), r.width)

	r.mu.Lock()
	if start > r.curStart {
		r.rollLocked(start)
	}
	// A record stamped before the current window (a clock step back) goes
	// into the current one: it is as recent as anything the Monitor reads.
	w := r.cur[eventID]
	if w == nil {
		w = r.newWindowLocked(eventID, r.curStart)
		r.cur[eventID] = w
	}
	w.Observe(latency, out)
	var due []*Window
	if len(r.pending) > 0 && !now.Before(time.Unix(r.curStart, 0).Add(r.offset)) {
		due, r.pending = r.pending, nil
	}
	r.mu.Unlock()

	if due != nil {
		// Detached from the fan's request: a client hanging up must not
		// lose the whole instance's window.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.flushTimeout)
		defer cancel()
		_ = r.flush(fctx, due, now)
	}
}

// Flush writes every window now, the current one included (later records of
// the same window are added by a later flush). Use it in tests and where the
// runtime announces shutdown. It returns every write error, joined.
func (r *Recorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	due := r.pending
	r.pending = nil
	for id, w := range r.cur {
		due = append(due, w)
		delete(r.cur, id)
	}
	r.mu.Unlock()
	return r.flush(ctx, due, r.clock.Now())
}

// rollLocked moves the current windows to pending and starts the window at
// start.
func (r *Recorder) rollLocked(start int64) {
	for id, w := range r.cur {
		r.pending = append(r.pending, w)
		delete(r.cur, id)
	}
	r.curStart = start
}

func (r *Recorder) newWindowLocked(eventID string, start int64) *Window {
	var w *Window
	if n := len(r.free); n > 0 {
		w, r.free = r.free[n-1], r.free[:n-1]
		*w = Window{}
	} else {
		w = new(Window)
	}
	w.EventID, w.Start = eventID, time.Unix(start, 0).UTC()
	return w
}

// flush writes windows one by one, logging and dropping the ones that fail
// (see the package doc for why there is no retry), then keeps the objects
// for reuse.
func (r *Recorder) flush(ctx context.Context, ws []*Window, now time.Time) error {
	var errs []error
	for _, w := range ws {
		if w.IsZero() {
			continue
		}
		if now.Sub(w.Start) > Retention {
			// The item would be born expired; nobody will read it.
			r.log.DebugContext(ctx, "health window too old to record", "event", w.EventID, "start", w.Start, "count", w.Count)
			continue
		}
		if err := r.store.AddWindow(ctx, *w); err != nil {
			r.log.WarnContext(ctx, "health window not recorded", "event", w.EventID, "start", w.Start, "count", w.Count, "err", err)
			errs = append(errs, fmt.Errorf("record health window %s@%d: %w", w.EventID, w.Start.Unix(), err))
		}
	}
	r.mu.Lock()
	r.free = append(r.free, ws[:max(0, min(len(ws), maxFree-len(r.free)))]...)
	r.mu.Unlock()
	return errors.Join(errs...)
}
