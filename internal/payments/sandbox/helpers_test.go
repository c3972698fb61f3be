package sandbox

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/payments"
)

const secret = "whsec_sandbox_test"

// bound is how long a test waits for something that should happen: a
// failure bound, never a pacing sleep.
const bound = 10 * time.Second

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// delivery is one webhook request a receiver saw.
type delivery struct {
	N        int // 1-based request number at the receiver
	Answered int // the status the receiver answered
	Header   http.Header
	Body     []byte
	Event    payments.WebhookEvent
	Err      error // ParseWebhook's verdict
	Object   map[string]any
	// PaymentStatus is what GetPayment said while the receiver handled the
	// request (the active query, from inside a delivery).
	PaymentStatus payments.Status
}

// receiver is an httptest webhook endpoint that verifies what it gets.
type receiver struct {
	srv *httptest.Server
	ch  chan delivery

	mu      sync.Mutex
	n       int
	respond func(n int) int
	sb      *Sandbox
	clk     clock.Clock
}

func newReceiver(t *testing.T, respond func(n int) int) *receiver {
	t.Helper()
	rc := &receiver{ch: make(chan delivery, 64), respond: respond}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.n++
	n, respond, sb, clk := rc.n, rc.respond, rc.sb, rc.clk
	rc.mu.Unlock()
	d := delivery{N: n, Header: r.Header.Clone(), Body: body, Answered: http.StatusOK}
	if respond != nil {
		d.Answered = respond(n)
	}
	d.Event, d.Err = ParseWebhook(secret, body, r.Header.Get(payments.SignatureHeader), clk.Now())
	var ev struct {
		Data struct {
			Object map[string]any `json:"object"`
		} `json:"data"`
	}
	_ = json.Unmarshal(body, &ev)
	d.Object = ev.Data.Object
	if d.Err == nil && d.Event.PaymentID != "" && sb != nil {
		if p, err := sb.GetPayment(r.Context(), d.Event.PaymentID); err == nil {
			d.PaymentStatus = p.Status
		}
	}
	w.WriteHeader(d.Answered)
	rc.ch <- d
}

// next returns the next delivery or fails after bound.
func (rc *receiver) next(t *testing.T) delivery {
	t.Helper()
	select {
	case d := <-rc.ch:
		return d
	case <-time.After(bound):
		t.Fatal("no webhook delivery within the bound")
		return delivery{}
	}
}

// idle waits until sb has no delivery pending or in flight.
func idle(t *testing.T, sb *Sandbox) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	if err := sb.WaitIdle(ctx); err != nil {
		t.Fatalf("deliveries still running after the bound: %v", err)
	}
}

// none asserts no delivery is queued now.
func (rc *receiver) none(t *testing.T) {
	t.Helper()
	select {
	case d := <-rc.ch:
		t.Fatalf("unexpected delivery %s %s", d.Event.Type, d.Body)
	default:
	}
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.n
}

// newSandbox returns a sandbox posting to rc (if any) on clk.
func newSandbox(t *testing.T, rc *receiver, clk clock.Clock, tweak func(*Options)) *Sandbox {
	t.Helper()
	o := Options{Secret: secret, Clock: clk, TimeScale: 0.0001, CheckoutBaseURL: "http://sandbox.test/",
		Logger: slog.New(slog.DiscardHandler)}
	if rc != nil {
		o.WebhookURL = rc.srv.URL + "/webhooks/sandbox"
	}
	if tweak != nil {
		tweak(&o)
	}
	sb, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	if rc != nil {
		rc.mu.Lock()
		rc.sb, rc.clk = sb, o.Clock
		rc.mu.Unlock()
	}
	return sb
}

// fakeClock is a clock whose timers fire when it is advanced.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	added   chan time.Duration
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(t time.Time) *fakeClock {
	return &fakeClock{now: t, added: make(chan time.Duration, 64)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	c.added <- d
	return ch
}

// Advance moves the clock and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// waitTimer waits until the sandbox has started a timer and returns its
// duration.
func (c *fakeClock) waitTimer(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-c.added:
		return d
	case <-time.After(bound):
		t.Fatal("the sandbox started no timer within the bound")
		return 0
	}
}
