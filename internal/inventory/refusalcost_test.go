package inventory_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/testenv/fixture"
)

// requestLog records the DynamoDB requests a test's application makes.
type requestLog struct {
	mu  sync.Mutex
	ops []string
}

func (l *requestLog) observe(op string, body []byte) bool {
	what := op
	for _, k := range []string{"LIMIT#", "IDEM#", "ORDER#", "RATE#", "EVENT#"} {
		if bytes.Contains(body, []byte(`"`+k)) {
			what += " " + k
		}
	}
	if bytes.Contains(body, []byte(`"ConsistentRead":true`)) {
		what += " consistent"
	}
	l.record(what)
	return false
}

func (l *requestLog) record(what string) {
	l.mu.Lock()
	l.ops = append(l.ops, what)
	l.mu.Unlock()
}

// during returns the requests run makes.
func (l *requestLog) during(run func()) []string {
	l.mu.Lock()
	from := len(l.ops)
	l.mu.Unlock()
	run()
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ops[from:]...)
}

// TestARefusedHoldCostsOneRequest: GIVEN the application's holds, whose
// rate limit counts on the account's limit item WHEN a hold is refused
// before its transaction THEN that costs one DynamoDB request, the count;
// a retry of a hold that was made, refused the same way (the sale
// paused), gets its order from that count's answer plus the order's read,
// with no read of the Idempotency-Key's record; past the limit the
// answer is RATE_LIMITED, and the retry of the hold that was made still
// gets its order.
func TestARefusedHoldCostsOneRequest(t *testing.T) {
	log := &requestLog{}
	db, table := testenv.ThrottledDynamoDB(t, log.observe)
	clk := clock.NewManual(time.Now().Truncate(time.Minute).Add(5 * time.Second))
	w := newWorldWith(t, fixture.AppOptions{DB: db, Table: table, Clock: clk})
	a := w.App
	ev := w.event(t, 1, 10, 4)
	ctx := context.Background()
	junk := inventory.HoldRequest{AdmissionToken: "junk", Section: "GA", Quantity: 1}
	if _, err := a.Inventory.Hold(ctx, "fan-1", ev.ID, junk, "k-warm"); !apperr.Is(err, apperr.AdmissionInvalid) {
		t.Fatalf("junk token: %v, want ADMISSION_INVALID", err)
	}
	ops := log.during(func() {
		if _, err := a.Inventory.Hold(ctx, "fan-1", ev.ID, junk, "k-junk"); !apperr.Is(err, apperr.AdmissionInvalid) {
			t.Fatalf("junk token: %v, want ADMISSION_INVALID", err)
		}
	})
	if len(ops) != 1 || ops[0] != "UpdateItem LIMIT#" {
		t.Fatalf("a refused hold made %q, want one UpdateItem of the limit item", ops)
	}

	req := inventory.HoldRequest{AdmissionToken: w.token(t, "fan-2", ev.ID), Section: "GA", Quantity: 2}
	first, err := a.Inventory.Hold(ctx, "fan-2", ev.ID, req, "k-hold")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Catalog.ControlSale(ctx, ev.ID, catalog.SaleRequest{Action: catalog.ActionPause}, "organizer-1"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(3 * time.Second) // past the instance's copy of the event
	ops = log.during(func() {
		o, err := a.Inventory.Hold(ctx, "fan-2", ev.ID, req, "k-hold")
		if err != nil || o.ID != first.ID {
			t.Fatalf("retry with the sale paused: %q %v, want order %s", o.ID, err, first.ID)
		}
	})
	if strings.Contains(strings.Join(ops, ","), "IDEM#") || !strings.Contains(strings.Join(ops, ","), "UpdateItem LIMIT#") {
		t.Fatalf("the replay made %q: want the count of the limit item and no read of the key's record", ops)
	}
	if _, err := a.Inventory.Hold(ctx, "fan-2", ev.ID, req, "k-other"); !apperr.Is(err, apperr.SaleNotOpen) {
		t.Fatalf("another key with the sale paused: %v, want SALE_NOT_OPEN", err)
	}
	other := req
	other.Quantity = 1
	if _, err := a.Inventory.Hold(ctx, "fan-2", ev.ID, other, "k-hold"); !apperr.Is(err, apperr.IdempotencyReused) {
		t.Fatalf("the key with another request: %v, want IDEMPOTENCY_KEY_REUSED", err)
	}

	// fan-2 made 4 requests this window; fill it.
	for i := 4; i < limits.HoldsPerMinute; i++ {
		if _, err := a.Inventory.Hold(ctx, "fan-2", ev.ID, junk, "k-more"); !apperr.Is(err, apperr.SaleNotOpen) {
			t.Fatalf("request %d: %v, want SALE_NOT_OPEN", i+1, err)
		}
	}
	_, err = a.Inventory.Hold(ctx, "fan-2", ev.ID, junk, "k-more")
	if !apperr.Is(err, apperr.RateLimited) {
		t.Fatalf("request %d in the window: %v, want RATE_LIMITED", limits.HoldsPerMinute+1, err)
	}
	if o, err := a.Inventory.Hold(ctx, "fan-2", ev.ID, req, "k-hold"); err != nil || o.ID != first.ID {
		t.Fatalf("retry over the limit: %q %v, want order %s", o.ID, err, first.ID)
	}
}

// TestAFanSeesTheirOrderFromAnEventuallyConsistentRead: GIVEN a fan's
// hold WHEN the fan's page reads the order THEN one eventually
// consistent read answers it; an order that read does not find is read
// again consistently (the fan's own hold a moment ago), and another
// account's order is NOT_FOUND.
func TestAFanSeesTheirOrderFromAnEventuallyConsistentRead(t *testing.T) {
	log := &requestLog{}
	db, table := testenv.ThrottledDynamoDB(t, log.observe)
	w := newWorldWith(t, fixture.AppOptions{DB: db, Table: table})
	a := w.App
	ev := w.event(t, 1, 10, 4)
	ctx := context.Background()
	o, err := a.Inventory.Hold(ctx, "fan-1", ev.ID, inventory.HoldRequest{AdmissionToken: w.token(t, "fan-1", ev.ID), Section: "GA", Quantity: 1}, "")
	if err != nil {
		t.Fatal(err)
	}
	ops := log.during(func() {
		got, err := a.Inventory.OrderView(ctx, "fan-1", o.ID)
		if err != nil || got.ID != o.ID || got.Status != o.Status {
			t.Fatalf("order view: %+v %v", got, err)
		}
	})
	if len(ops) != 1 || ops[0] != "GetItem ORDER#" {
		t.Fatalf("the order view made %q, want one eventually consistent GetItem", ops)
	}
	ops = log.during(func() {
		if _, err := a.Inventory.OrderView(ctx, "fan-1", "no-such-order"); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("unknown order: %v, want NOT_FOUND", err)
		}
	})
	if len(ops) != 2 || ops[1] != "GetItem ORDER# consistent" {
		t.Fatalf("an order not found made %q, want the read again, consistently", ops)
	}
	if _, err := a.Inventory.OrderView(ctx, "fan-2", o.ID); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("another account's order: %v, want NOT_FOUND", err)
	}
}

// TestSeatsLostAreNamedFromTheCancellation: GIVEN seats another fan
// holds WHEN a fan asks for specific seats and some are taken THEN the
// answer SEATS_UNAVAILABLE names every seat taken, from the
// transaction's cancellation reasons alone once the server is known to
// name each failed condition (DynamoDB does; so does the embedded
// server's front): no read of the seats. A server that names only the
// first failure (minidyn's own transactions) gets the read wherever a
// seat after the first failure could be left unnamed.
func TestSeatsLostAreNamedFromTheCancellation(t *testing.T) {
	log := &requestLog{}
	db, table := testenv.ThrottledDynamoDB(t, log.observe)
	w := newWorldWith(t, fixture.AppOptions{DB: db, Table: table})
	a := w.App
	ev := w.event(t, 1, 10, 4)
	ctx := context.Background()
	fixture.Hold(t, a, "fan-1", ev.ID, inventory.HoldRequest{Seats: []string{"A-1-2", "A-1-3"}})
	tok := w.token(t, "fan-2", ev.ID)
	firstOnly := testenv.NativeTransactions()
	for _, tc := range []struct {
		ask, lost []string
		read      bool // on a server that names the first failure only
	}{
		{[]string{"A-1-3"}, []string{"A-1-3"}, false},
		{[]string{"A-1-1", "A-1-2", "A-1-3"}, []string{"A-1-2", "A-1-3"}, true},
		{[]string{"A-1-2", "A-1-4"}, []string{"A-1-2"}, true},
	} {
		var herr error
		ops := log.during(func() {
			_, herr = a.Inventory.Hold(ctx, "fan-2", ev.ID, inventory.HoldRequest{AdmissionToken: tok, Seats: tc.ask}, "")
		})
		var e *apperr.Error
		if !asAppErr(herr, &e) || e.Code != apperr.SeatsUnavailable || fmt.Sprint(e.Details["seats"]) != fmt.Sprint(tc.lost) {
			t.Fatalf("hold of %v: %v, want SEATS_UNAVAILABLE naming %v", tc.ask, herr, tc.lost)
		}
		read := strings.Contains(strings.Join(ops, ","), "BatchGetItem")
		if want := firstOnly && tc.read; read != want {
			t.Errorf("hold of %v made %q: a read of the seats %v, want %v", tc.ask, ops, read, want)
		}
	}
}
