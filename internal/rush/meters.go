package rush

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// byteCounter counts what is written to it (EMF metric lines, logs): the
// CloudWatch Logs ingestion the on-sale would cause.
type byteCounter struct {
	n     atomic.Int64
	lines atomic.Int64
}

func (b *byteCounter) Write(p []byte) (int, error) {
	b.n.Add(int64(len(p)))
	for _, c := range p {
		if c == '\n' {
			b.lines.Add(1)
		}
	}
	return len(p), nil
}

// logMeter is the stack's logger: JSON lines at info, as in Lambda, only
// counted; warnings and errors are also tallied by message so the report
// can show what went wrong.
type logMeter struct {
	bytes byteCounter
	mu    sync.Mutex
	warns map[string]int64
}

func (m *logMeter) logger() *slog.Logger {
	return slog.New(&levelTally{Handler: slog.NewJSONHandler(&m.bytes, &slog.HandlerOptions{Level: slog.LevelInfo}), m: m})
}

func (m *logMeter) tally() map[string]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int64, len(m.warns))
	for k, v := range m.warns {
		out[k] = v
	}
	return out
}

type levelTally struct {
	slog.Handler
	m *logMeter
}

func (h *levelTally) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		key := r.Level.String() + " " + r.Message
		h.m.mu.Lock()
		if h.m.warns == nil {
			h.m.warns = map[string]int64{}
		}
		h.m.warns[key]++
		h.m.mu.Unlock()
	}
	return h.Handler.Handle(ctx, r)
}

func (h *levelTally) WithAttrs(as []slog.Attr) slog.Handler {
	return &levelTally{Handler: h.Handler.WithAttrs(as), m: h.m}
}

func (h *levelTally) WithGroup(name string) slog.Handler {
	return &levelTally{Handler: h.Handler.WithGroup(name), m: h.m}
}

// progress draws a one-line progress bar on a terminal, or a line every
// few seconds elsewhere.
type progress struct {
	w      io.Writer
	tty    bool
	mu     sync.Mutex
	phase  string
	start  time.Time
	last   time.Time
	status func() (done, total int64, detail string)
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

// setPhase starts a phase; status (optional) feeds the bar.
func (p *progress) setPhase(name string, status func() (done, total int64, detail string)) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	if p.tty && p.phase != "" {
		fmt.Fprintln(p.w)
	}
	p.phase, p.status = name, status
	p.mu.Unlock()
	p.draw(true)
}

func (p *progress) draw(force bool) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if !force && !p.tty && now.Sub(p.last) < 5*time.Second {
		return
	}
	p.last = now
	line := fmt.Sprintf("%6.1fs %-22s", now.Sub(p.start).Seconds(), p.phase)
	if p.status != nil {
		done, total, detail := p.status()
		if total > 0 {
			const width = 30
			n := int(float64(width) * float64(done) / float64(total))
			n = max(0, min(width, n))
			line += fmt.Sprintf(" [%s%s] %3.0f%%", strings.Repeat("#", n), strings.Repeat(".", width-n), 100*float64(done)/float64(total))
		}
		line += " " + detail
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

// run redraws until ctx ends.
func (p *progress) run(ctx context.Context) {
	if p.w == nil {
		return
	}
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.draw(false)
		}
	}
}

func (p *progress) end() {
	if p.w != nil && p.tty {
		p.draw(true)
		fmt.Fprintln(p.w)
	}
}

func sortStrings(s []string) { sort.Strings(s) }
