package waitlist_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/mail"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/testenv/fixture"
	"github.com/stararena/stararena/internal/waitlist"
)

// queued records the mail causes the list queues, in order.
type queued struct {
	mu   sync.Mutex
	reqs []mail.Request
}

func (q *queued) Enqueue(_ context.Context, r mail.Request) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.reqs = append(q.reqs, r)
	return nil
}

func (q *queued) all() []mail.Request {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]mail.Request{}, q.reqs...)
}

// world is the application on the embedded DynamoDB with a manual clock
// and one event of places seats, each bought (held) by its own fan, so
// the event is sold out.
type world struct {
	*app.App
	clk    *clock.Manual
	ev     catalog.Event
	orders []orders.Order
	mail   *queued
}

func newWorld(t *testing.T, places int) *world {
	t.Helper()
	clk := clock.NewManual(time.Date(2027, 3, 1, 18, 0, 0, 0, time.UTC))
	a := fixture.NewApp(t, fixture.AppOptions{Clock: clk, Logger: slog.New(slog.DiscardHandler)})
	q := &queued{}
	a.MailQueue = q
	w := &world{App: a, clk: clk, mail: q}
	w.ev = fixture.OpenEvent(t, a, fixture.Event{SeatsPerRow: places - 1, GACapacity: 1})
	for i := 1; i < places; i++ {
		w.orders = append(w.orders, fixture.Hold(t, a, fmt.Sprintf("buyer-%d", i), w.ev.ID,
			inventory.HoldRequest{Seats: []string{catalog.SeatID("A", "1", i)}}))
	}
	w.orders = append(w.orders, fixture.Hold(t, a, "buyer-ga", w.ev.ID, inventory.HoldRequest{Section: "GA", Quantity: 1}))
	w.settle()
	return w
}

// settle lets the availability projection catch up: past its freshness
// window (2 s), the next read rebuilds it while concurrent readers still
// get the previous copy, so one read comes first.
func (w *world) settle() {
	w.clk.Advance(3 * time.Second)
	if _, err := w.Catalog.Availability(context.Background(), w.ev.ID); err != nil {
		panic(err)
	}
}

// release cancels the first n buyers' orders: n places come back.
func (w *world) release(t *testing.T, n int) {
	t.Helper()
	for _, o := range w.orders[:n] {
		if _, err := w.Inventory.Cancel(context.Background(), o.Account, o.ID); err != nil {
			t.Fatal(err)
		}
	}
	w.settle()
}

func (w *world) join(t *testing.T, account string) waitlist.View {
	t.Helper()
	v, _, err := w.Waitlist.Join(context.Background(), account, account+"@example.test", w.ev.ID, waitlist.JoinRequest{})
	if err != nil {
		t.Fatalf("%s joins: %v", account, err)
	}
	return v
}

func (w *world) status(t *testing.T, account string) waitlist.View {
	t.Helper()
	v, err := w.Waitlist.Me(context.Background(), account, w.ev.ID)
	if err != nil {
		t.Fatalf("%s reads the list: %v", account, err)
	}
	return v
}

func (w *world) sweep(t *testing.T) waitlist.SweepResult {
	t.Helper()
	r, err := w.Waitlist.Sweep(context.Background(), w.ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestJoinOnlyWhenSoldOutAndOncePerAccount: joining while places are for
// sale answers NOT_SOLD_OUT; after sell-out 30 concurrent joins of one
// account make one entry, all answering its place; fans line up in the
// order they joined, and one who leaves goes to the back when joining
// again.
func TestJoinOnlyWhenSoldOutAndOncePerAccount(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 3)
	w.release(t, 1)
	if _, _, err := w.Waitlist.Join(ctx, "early", "", w.ev.ID, waitlist.JoinRequest{}); !apperr.Is(err, apperr.NotSoldOut) {
		t.Fatalf("join with a place free: %v, want NOT_SOLD_OUT", err)
	}
	fixture.Hold(t, w.App, "late-buyer", w.ev.ID, inventory.HoldRequest{Seats: []string{"A-1-1"}})
	w.settle()
	if _, _, err := w.Waitlist.Join(ctx, "greedy", "", w.ev.ID, waitlist.JoinRequest{Quantity: ptr(w.ev.MaxTicketsPerAccount + 1)}); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("join for more than the account limit: %v, want INVALID_REQUEST", err)
	}

	const n = 30
	views := make([]waitlist.View, n)
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			views[i], created[i], errs[i] = w.Waitlist.Join(ctx, "fan-a", "a@example.test", w.ev.ID, waitlist.JoinRequest{Quantity: ptr(2)})
		})
	}
	wg.Wait()
	made := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("join %d: %v", i, errs[i])
		}
		if created[i] {
			made++
		}
		if views[i].Position != views[0].Position || views[i].Status != waitlist.Waiting {
			t.Errorf("join %d answered %+v, join 0 %+v", i, views[i], views[0])
		}
	}
	if made != 1 {
		t.Fatalf("%d of %d concurrent joins of one account made an entry; want 1", made, n)
	}
	b := w.join(t, "fan-b")
	if b.Ahead == nil || *b.Ahead != 1 || b.Position <= views[0].Position || b.Policy != waitlist.Policy {
		t.Fatalf("second fan: %+v; want one fan ahead, first come first served", b)
	}
	if err := w.Waitlist.Leave(ctx, "fan-a", w.ev.ID); err != nil {
		t.Fatal(err)
	}
	if err := w.Waitlist.Leave(ctx, "fan-a", w.ev.ID); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("leaving twice: %v, want NOT_FOUND", err)
	}
	if got := w.status(t, "fan-b"); *got.Ahead != 0 {
		t.Fatalf("after the first fan left, fan-b has %d ahead", *got.Ahead)
	}
	again := w.join(t, "fan-a")
	if again.Position <= b.Position || *again.Ahead != 1 {
		t.Fatalf("rejoined fan: %+v; want behind fan-b (position %d)", again, b.Position)
	}
	sum, err := w.Waitlist.Summarize(ctx, w.ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Waiting != 2 || sum.PlacesWanted != 2 || sum.OfferMinutes != 15 {
		t.Fatalf("summary %+v; want 2 waiting for 2 places, 15-minute offers", sum)
	}
}

// TestOfferGoesFirstAndPassesOnWhenUnused: a returned place is offered to
// the first fan in line (by email, once, and as an admission token that
// only that fan gets); everyone else is refused admission meanwhile; the
// unused offer lapses after the organizer's window and passes to the next
// fan, who buys with it.
func TestOfferGoesFirstAndPassesOnWhenUnused(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 3)
	if _, err := w.Waitlist.Configure(ctx, w.ev.ID, waitlist.SettingsRequest{OfferMinutes: 0}); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("a zero window: %v, want INVALID_REQUEST", err)
	}
	if _, err := w.Waitlist.Configure(ctx, w.ev.ID, waitlist.SettingsRequest{OfferMinutes: 5}); err != nil {
		t.Fatal(err)
	}
	w.join(t, "first")
	w.join(t, "second")
	if r := w.sweep(t); r.Offered != 0 {
		t.Fatalf("sweep with nothing returned offered %d", r.Offered)
	}
	w.release(t, 1)
	if r := w.sweep(t); r.Offered != 1 {
		t.Fatalf("one place back: sweep offered %d, want 1", r.Offered)
	}
	first := w.status(t, "first")
	if first.Status != waitlist.Offered || first.Offer == nil || !strings.HasPrefix(first.Offer.OfferID, waitlist.OfferIDPrefix) {
		t.Fatalf("first fan after the sweep: %+v", first)
	}
	if got := first.Offer.ExpiresAt.Sub(w.clk.Now()); got > 5*time.Minute || got < 4*time.Minute {
		t.Fatalf("offer lasts %s; the organizer set 5 minutes", got)
	}
	if w.status(t, "second").Status != waitlist.Waiting {
		t.Fatal("second fan offered too")
	}
	for _, who := range []string{"second", "stranger"} {
		if _, _, err := w.Gate.Admit(ctx, who, w.ev.ID); !apperr.Is(err, apperr.WaitlistFirst) {
			t.Fatalf("%s asks for admission while the offer is out: %v, want WAITLIST_FIRST", who, err)
		}
	}
	if _, c, err := w.Gate.Admit(ctx, "first", w.ev.ID); err != nil || c.ID != first.Offer.OfferID {
		t.Fatalf("the offered fan's admission: %+v, %v; want the offer's token", c, err)
	}
	// The email: queued once for the offer, sent once however often the
	// queue delivers it.
	reqs := w.mail.all()
	if len(reqs) != 1 || reqs[0].Kind != mail.WaitlistOffer || reqs[0].OfferID != first.Offer.OfferID {
		t.Fatalf("mail queued: %+v", reqs)
	}
	capture := mail.NewCapture(w.clk, nil)
	m := &mail.Mailer{Markers: w.Stores.Mail, Offers: w.Waitlist, Sender: capture, SiteURL: "https://tickets.example",
		Lease: time.Minute, Clock: w.clk, Log: w.Log}
	for range 2 {
		if _, err := m.Deliver(ctx, reqs[0]); err != nil {
			t.Fatal(err)
		}
	}
	sent := capture.For("first")
	if len(sent) != 1 || sent[0].To != "first@example.test" || !strings.Contains(sent[0].Text, "?event="+w.ev.ID) {
		t.Fatalf("offer email: %+v", sent)
	}

	w.clk.Advance(5 * time.Minute)
	if got := w.status(t, "first"); got.Status != waitlist.Expired || got.Offer != nil {
		t.Fatalf("first fan after the window: %+v, want EXPIRED without a token", got)
	}
	if r := w.sweep(t); r.Expired != 1 || r.Offered != 1 {
		t.Fatalf("sweep after the window: %+v; want one lapsed, one offered", r)
	}
	second := w.status(t, "second")
	if second.Offer == nil {
		t.Fatalf("second fan after the first's offer lapsed: %+v", second)
	}
	// A lapsed offer's token no longer holds.
	o, err := w.Inventory.Hold(ctx, "second", w.ev.ID, inventory.HoldRequest{AdmissionToken: second.Offer.AdmissionToken,
		Seats: []string{"A-1-1"}}, "")
	if err != nil {
		t.Fatalf("second fan holds the returned seat with the offer: %v", err)
	}
	if o.AdmissionID != second.Offer.OfferID {
		t.Fatalf("order admission %q, offer %q", o.AdmissionID, second.Offer.OfferID)
	}
	if got := w.status(t, "second"); got.Status != waitlist.Used {
		t.Fatalf("after the hold the offer is %s, want USED", got.Status)
	}
	w.settle()
	if r := w.sweep(t); r.Offered != 0 {
		t.Fatalf("sweep after the returned place was bought offered %d", r.Offered)
	}
	// Nobody waits or holds an offer: the public sale answers again (and
	// finds nothing to sell).
	w.clk.Advance(2 * time.Minute)
	w.sweep(t)
	w.settle()
	if _, _, err := w.Gate.Admit(ctx, "stranger", w.ev.ID); err != nil {
		t.Fatalf("admission once the list is done: %v", err)
	}
}

// TestConcurrentSweepsNeverOfferMorePlacesThanCameBack: three places come
// back to a list of twenty; eight sweeps run at once, then one more. The
// places on offer never exceed three, and end at exactly three, each to
// one of the first fans in line.
func TestConcurrentSweepsNeverOfferMorePlacesThanCameBack(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 6)
	for i := range 20 {
		w.join(t, fmt.Sprintf("fan-%02d", i))
	}
	w.release(t, 3)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = w.Waitlist.Sweep(ctx, w.ev.ID) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	offered := func() []int {
		var out []int
		for i := range 20 {
			if w.status(t, fmt.Sprintf("fan-%02d", i)).Offer != nil {
				out = append(out, i)
			}
		}
		return out
	}
	if got := offered(); len(got) > 3 {
		t.Fatalf("after 8 concurrent sweeps fans %v hold offers for 3 returned places", got)
	}
	w.sweep(t)
	got := offered()
	if len(got) != 3 || got[0] != 0 || got[1] != 1 || got[2] != 2 {
		t.Fatalf("offers went to fans %v; want the first three in line", got)
	}
}

func ptr(n int) *int { return &n }
