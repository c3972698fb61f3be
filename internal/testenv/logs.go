package testenv

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
)

// maxKeptLogs bounds what a long test keeps: the newest lines matter most.
const maxKeptLogs = 64 << 10

// Logs returns a JSON logger for a system under test that keeps the lines
// at level and above and shows them only if the test fails, so that a
// failure under load can be read afterwards without flooding passing runs.
func Logs(tb testing.TB, level slog.Level) *slog.Logger {
	tb.Helper()
	b := &tail{}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("logs of the system under test (%s and above, newest %d KiB):\n%s", level, maxKeptLogs>>10, b.String())
		}
	})
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: level}))
}

// tail is a buffer that drops its oldest half when it grows past
// maxKeptLogs.
type tail struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.buf.Len()+len(p) > maxKeptLogs {
		keep := t.buf.Bytes()[t.buf.Len()/2:]
		if i := bytes.IndexByte(keep, '\n'); i >= 0 {
			keep = keep[i+1:]
		}
		t.buf = *bytes.NewBuffer(append([]byte(nil), keep...))
	}
	return t.buf.Write(p)
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}

// Buffer collects what concurrent writers (loggers, metric emitters of a
// system under test) write.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
