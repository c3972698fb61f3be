package orders_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/checkout"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/payments"
	"github.com/stararena/stararena/internal/payments/sandbox"
	"github.com/stararena/stararena/internal/reconcile"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/testenv/fixture"
	"github.com/stararena/stararena/internal/tickets"
)

// refundWorld is the refund path on real parts: the embedded DynamoDB, the
// sandbox provider (its webhooks recorded, not sent: the test applies
// payments itself), the ticket service and the reconciler.
type refundWorld struct {
	*app.App
	clk     *clock.Manual
	box     *sandbox.Sandbox
	svc     *orders.Service
	tk      *tickets.Service
	rec     *reconcile.Service
	ev      catalog.Event
	crashAt crashAt
}

// crashAt fails the named refund crash point once, as a process dying
// there would.
type crashAt struct {
	mu    sync.Mutex
	point string
}

func (c *crashAt) arm(point string) { c.mu.Lock(); c.point = point; c.mu.Unlock() }

func (c *crashAt) at(point string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.point == point {
		c.point = ""
		return fmt.Errorf("injected crash at %s", point)
	}
	return nil
}

// issuer is the reconciler's issuing repair: the workflow task's steps.
type issuer struct{ w *refundWorld }

func (i issuer) IssueTickets(ctx context.Context, orderID string) error {
	o, err := i.w.Stores.Orders.GetOrder(ctx, orderID)
	if err != nil {
		return err
	}
	if _, err := i.w.tk.Issue(ctx, o); err != nil {
		return err
	}
	_, err = i.w.svc.MarkIssued(ctx, orderID)
	return err
}

func newRefundWorld(t *testing.T) *refundWorld { return newRefundWorldOn(t, nil) }

// newRefundWorldOn is newRefundWorld on a DynamoDB that throttles the
// requests throttle picks (nil: none).
func newRefundWorldOn(t *testing.T, throttle testenv.Throttle) *refundWorld {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	clk := clock.NewManual(time.Now())
	opts := fixture.AppOptions{Clock: clk, Logger: quiet}
	if throttle != nil {
		opts.DB, opts.Table = testenv.ThrottledDynamoDB(t, throttle)
	}
	a := fixture.NewApp(t, opts)
	var err error
	w := &refundWorld{App: a, clk: clk}
	if w.box, err = sandbox.New(sandbox.Options{Secret: "whsec_test", Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.box.Close() })
	providers := checkout.Providers{"sandbox": w.box}
	tkr, _ := tickets.GenerateKeyring()
	codec, err := tickets.NewCodec(tkr)
	if err != nil {
		t.Fatal(err)
	}
	w.tk = tickets.NewService(a.Stores.Tickets, codec, tickets.Options{Clock: clk, Logger: quiet})
	w.svc = orders.NewService(a.Stores.Orders, providers, nil, orders.ServiceOptions{Clock: clk, Logger: quiet, Tickets: w.tk,
		Crash: w.crashAt.at, MaxTickets: fixture.MaxTickets(a)})
	w.rec = reconcile.New(a.Stores.Reconcile, a.Catalog, a.Inventory, w.svc, providers, issuer{w},
		reconcile.Options{Clock: clk, Logger: quiet, Grace: time.Minute, Tickets: w.tk, Providers: providers.Names()})
	w.ev = fixture.OpenEvent(t, a, fixture.Event{MaxTicketsPerAccount: 4})
	return w
}

func (w *refundWorld) tryHold(account string, r inventory.HoldRequest) (orders.Order, error) {
	return fixture.TryHold(context.Background(), w.App, account, w.ev.ID, r)
}

func (w *refundWorld) hold(t *testing.T, account string, r inventory.HoldRequest) orders.Order {
	t.Helper()
	return fixture.Hold(t, w.App, account, w.ev.ID, r)
}

func (w *refundWorld) order(t *testing.T, id string) orders.Order {
	t.Helper()
	o, err := w.Stores.Orders.GetOrder(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (w *refundWorld) seat(t *testing.T, id string) inventory.SeatState {
	t.Helper()
	st, err := w.Stores.Inventory.SeatHolders(context.Background(), w.ev.ID, []string{id})
	if err != nil {
		t.Fatal(err)
	}
	return st[id]
}

// limit reads the account's LIMIT count: places it holds or bought.
func (w *refundWorld) limit(t *testing.T, account string) int {
	t.Helper()
	out, err := w.DB.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(w.Config.TableName), ConsistentRead: aws.Bool(true),
		Key: dynamo.LimitKey(w.ev.ID, account)})
	if err != nil {
		t.Fatal(err)
	}
	c, ok := out.Item["count"].(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(c.Value)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// providerRefunds is what the provider knows: how much of the payment it
// refunded and how many refunds it announced (one charge.refunded each).
func (w *refundWorld) providerRefunds(t *testing.T, paymentID string) (refundedCents int64, refunds int) {
	t.Helper()
	p, err := w.box.GetPayment(context.Background(), paymentID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range w.box.Events(paymentID) {
		if e.Type == payments.EventChargeRefunded {
			refunds++
		}
	}
	return p.AmountRefundedCents, refunds
}

func (w *refundWorld) ticketStatuses(t *testing.T, orderID string) map[string]int {
	t.Helper()
	ts, err := w.tk.ForOrder(context.Background(), orderID)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	for _, tk := range ts {
		m[tk.Status]++
	}
	return m
}

func (w *refundWorld) checkIn(t *testing.T, code, nonce string) tickets.Outcome {
	t.Helper()
	res, err := w.tk.CheckIn(context.Background(), w.ev.ID, code, nonce, "gate 1")
	if err != nil {
		t.Fatal(err)
	}
	return res.Result
}

func (w *refundWorld) reconcile(t *testing.T) reconcile.Report {
	t.Helper()
	r, err := w.rec.Run(context.Background(), w.ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func findings(r reconcile.Report) map[string]int {
	m := map[string]int{}
	for _, f := range r.Findings {
		m[f.Kind]++
	}
	return m
}

// TestOrganizerRefundOfAnIssuedOrder: GIVEN an issued seated order (two
// seats, two tickets, one used at the gate) and an issued GA order WHEN an
// organizer refunds them, and again THEN each order is REFUNDED with who
// and why, the provider refunded each payment once, every ticket is revoked
// and a gate answers REVOKED, the seats and GA places are on sale again
// (another fan holds them), the account's limit is credited back (the fan
// can hold the maximum again), and the reconciler finds nothing.
func TestOrganizerRefundOfAnIssuedOrder(t *testing.T) {
	ctx := context.Background()
	w := newRefundWorld(t)
	o := w.hold(t, "fan-1", inventory.HoldRequest{Seats: []string{"A-1-1", "A-1-2"}})
	p, ts := w.issue(t, o)
	g := w.hold(t, "fan-2", inventory.HoldRequest{Section: "GA", Quantity: 3})
	gp, gts := w.issue(t, g)
	if len(ts) != 2 || len(gts) != 3 || w.limit(t, "fan-1") != 2 || w.limit(t, "fan-2") != 3 {
		t.Fatalf("setup: %d and %d tickets, limits %d and %d", len(ts), len(gts), w.limit(t, "fan-1"), w.limit(t, "fan-2"))
	}
	if got := w.checkIn(t, ts[0].Code, "scan-before"); got != tickets.Admitted {
		t.Fatalf("check-in before the refund: %s", got)
	}
	shards := len(catalog.GAShardCapacities(10))
	if a, h, s, _ := w.Stores.Catalog.GACounts(ctx, w.ev.ID, "GA", shards); a != 7 || h != 0 || s != 3 {
		t.Fatalf("GA before: available %d held %d sold %d", a, h, s)
	}

	got, err := w.svc.RefundOrder(ctx, o.ID, "organizer-1", "the fan cannot attend")
	if err != nil {
		t.Fatal(err)
	}
	stored := w.order(t, o.ID)
	if got.Status != orders.Refunded || stored.Status != orders.Refunded || stored.RefundRequestedBy != "organizer-1" ||
		stored.RefundReason != "the fan cannot attend" || stored.RefundRequestedAt.IsZero() || stored.RefundID == "" || got.Version != stored.Version {
		t.Fatalf("answered %+v, stored %+v", got, stored)
	}
	if cents, n := w.providerRefunds(t, p.ID); cents != p.AmountCents || n != 1 {
		t.Fatalf("provider refunded %d of %d in %d refunds", cents, p.AmountCents, n)
	}
	rec, ok, err := w.Stores.Orders.GetPayment(ctx, "sandbox", p.ID)
	if err != nil || !ok || !rec.Refunded || rec.Role != orders.RolePays || rec.RefundID != stored.RefundID {
		t.Fatalf("payment record %+v (%v, %v)", rec, ok, err)
	}
	if st := w.ticketStatuses(t, o.ID); st[tickets.StatusRevoked] != 2 || len(st) != 1 {
		t.Fatalf("ticket statuses %v", st)
	}
	for i, tk := range ts {
		if got := w.checkIn(t, tk.Code, "scan-after-"+strconv.Itoa(i)); got != tickets.Revoked {
			t.Fatalf("ticket %d checks in %s, want REVOKED", i, got)
		}
	}
	revs, err := w.tk.Revocations(ctx, w.ev.ID)
	if err != nil || len(revs) != 2 {
		t.Fatalf("revocation list %+v %v", revs, err)
	}
	for _, id := range []string{"A-1-1", "A-1-2"} {
		if s := w.seat(t, id); s.State != catalog.SeatAvailable || s.OrderID != "" {
			t.Fatalf("seat %s after the refund: %+v", id, s)
		}
	}
	if w.limit(t, "fan-1") != 0 {
		t.Fatalf("fan-1's limit count is %d after the refund", w.limit(t, "fan-1"))
	}

	t.Run("GA", func(t *testing.T) {
		if got, err := w.svc.RefundOrder(ctx, g.ID, "organizer-1", ""); err != nil || got.Status != orders.Refunded {
			t.Fatalf("%+v %v", got, err)
		}
		if a, h, s, _ := w.Stores.Catalog.GACounts(ctx, w.ev.ID, "GA", shards); a != 10 || h != 0 || s != 0 {
			t.Fatalf("GA after: available %d held %d sold %d", a, h, s)
		}
		if cents, n := w.providerRefunds(t, gp.ID); cents != gp.AmountCents || n != 1 || w.limit(t, "fan-2") != 0 {
			t.Fatalf("provider refunded %d in %d refunds; limit %d", cents, n, w.limit(t, "fan-2"))
		}
		if st := w.ticketStatuses(t, g.ID); st[tickets.StatusRevoked] != 3 || len(st) != 1 {
			t.Fatalf("ticket statuses %v", st)
		}
		if got := w.checkIn(t, gts[2].Code, "scan-ga"); got != tickets.Revoked {
			t.Fatalf("GA ticket checks in %s", got)
		}
	})
	t.Run("RefundAgainIsIdempotent", func(t *testing.T) {
		for range 2 {
			again, err := w.svc.RefundOrder(ctx, o.ID, "organizer-2", "again")
			if err != nil || again.Status != orders.Refunded || again.Version != stored.Version || again.RefundRequestedBy != "organizer-1" {
				t.Fatalf("%+v %v", again, err)
			}
		}
		if _, n := w.providerRefunds(t, p.ID); n != 1 {
			t.Fatalf("%d provider refunds", n)
		}
	})
	t.Run("PlacesAreOnSaleAgain", func(t *testing.T) {
		other := w.hold(t, "fan-3", inventory.HoldRequest{Seats: []string{"A-1-1"}})
		if s := w.seat(t, "A-1-1"); s.State != catalog.SeatHeld || s.OrderID != other.ID {
			t.Fatalf("seat %+v", s)
		}
		w.hold(t, "fan-4", inventory.HoldRequest{Section: "GA", Quantity: 4})
		// fan-1 bought 2 of 4 and got them refunded: 4 more fit the limit.
		if _, err := w.tryHold("fan-1", inventory.HoldRequest{Seats: []string{"A-1-2", "A-1-3", "A-1-4", "A-1-5"}}); err != nil {
			t.Fatalf("fan-1 cannot hold the maximum after the refund: %v", err)
		}
	})
	t.Run("ReconcilerFindsNothing", func(t *testing.T) {
		if r := w.reconcile(t); r.Found != 0 || r.Checked.Seats != 10 {
			t.Fatalf("%+v", r)
		}
	})
}

// TestRefundRefusesOrdersThatWereNeverPaid: GIVEN orders that are pending,
// cancelled and expired, and an unknown id WHEN an organizer refunds them
// THEN INVALID_STATE (or NOT_FOUND) and nothing changes; a bad reason is
// INVALID_REQUEST before anything is read.
func TestRefundRefusesOrdersThatWereNeverPaid(t *testing.T) {
	ctx := context.Background()
	w := newRefundWorld(t)
	pending := w.hold(t, "fan-1", inventory.HoldRequest{Seats: []string{"A-1-1"}})
	cancelled := w.hold(t, "fan-2", inventory.HoldRequest{Seats: []string{"A-1-2"}})
	if _, err := w.Inventory.Cancel(ctx, "fan-2", cancelled.ID); err != nil {
		t.Fatal(err)
	}
	expired := w.hold(t, "fan-3", inventory.HoldRequest{Section: "GA", Quantity: 1})
	if _, err := w.Inventory.Release(ctx, expired.ID, orders.Expired); err != nil {
		t.Fatal(err)
	}
	for _, o := range []orders.Order{pending, cancelled, expired} {
		before := w.order(t, o.ID)
		_, err := w.svc.RefundOrder(ctx, o.ID, "organizer-1", "")
		if apperr.CodeOf(err) != apperr.InvalidStateChange || !strings.Contains(err.Error(), string(before.Status)) {
			t.Fatalf("%s order: %v", before.Status, err)
		}
		if after := w.order(t, o.ID); after.Version != before.Version || after.Status != before.Status {
			t.Fatalf("%s order changed: %+v", before.Status, after)
		}
	}
	if s := w.seat(t, "A-1-1"); s.State != catalog.SeatHeld || s.OrderID != pending.ID {
		t.Fatalf("the pending order's seat: %+v", s)
	}
	if _, err := w.svc.RefundOrder(ctx, "no-such-order", "organizer-1", ""); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("unknown order: %v", err)
	}
	for _, reason := range []string{strings.Repeat("r", orders.MaxRefundReason+1), "line\nbreak"} {
		if _, err := w.svc.RefundOrder(ctx, pending.ID, "organizer-1", reason); apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("reason %q: %v", reason, err)
		}
	}
	if err := orders.ValidRefundReason(strings.Repeat("é", orders.MaxRefundReason)); err != nil {
		t.Fatalf("200 characters: %v", err)
	}
}

// TestRefundCrashIsCompletedByTheReconciler: GIVEN an issued order WHEN the
// refund's process dies right after REFUND_PENDING (nothing revoked, no
// money moved), or right after the provider refunded (nothing recorded)
// THEN the places are already on sale, and once the order is overdue the
// reconciler revokes the tickets, refunds once and marks it REFUNDED; a
// second run finds nothing.
func TestRefundCrashIsCompletedByTheReconciler(t *testing.T) {
	for _, tc := range []struct {
		point       string
		revoked     int // tickets revoked right after the crash
		refundsThen int // provider refunds right after the crash
		seatThen    string
	}{
		{orders.CrashAfterRefundPending, 0, 0, catalog.SeatSold},
		{orders.CrashAfterRevoke, 1, 0, catalog.SeatSold},
		{orders.CrashAfterProviderRefund, 1, 1, catalog.SeatAvailable},
	} {
		t.Run(tc.point, func(t *testing.T) {
			ctx := context.Background()
			w := newRefundWorld(t)
			o := w.hold(t, "fan-1", inventory.HoldRequest{Seats: []string{"A-1-3"}})
			p, ts := w.issue(t, o)
			w.crashAt.arm(tc.point)
			// A crash before the refund is accepted loses the answer; after
			// it, the request answers the pending order. Either way the
			// stored state is what counts.
			if got, err := w.svc.RefundOrder(ctx, o.ID, "organizer-1", "crash test"); err == nil && got.Status != orders.RefundPending {
				t.Fatalf("answered %s despite the crash", got.Status)
			}
			if got := w.order(t, o.ID); got.Status != orders.RefundPending {
				t.Fatalf("after the crash: %s", got.Status)
			}
			// The place goes back on sale only once the ticket is revoked.
			if s := w.seat(t, "A-1-3"); s.State != tc.seatThen {
				t.Fatalf("seat after the crash: %+v, want %s", s, tc.seatThen)
			}
			if st := w.ticketStatuses(t, o.ID); st[tickets.StatusRevoked] != tc.revoked {
				t.Fatalf("tickets after the crash: %v", st)
			}
			if _, n := w.providerRefunds(t, p.ID); n != tc.refundsThen {
				t.Fatalf("%d provider refunds after the crash", n)
			}

			// Not overdue yet: the refund is the request's to finish.
			if r := w.reconcile(t); findings(r)[reconcile.RefundIncomplete] != 0 {
				t.Fatalf("before the deadline: %v", r.Findings)
			}
			w.clk.Advance(2 * time.Minute)
			r := w.reconcile(t)
			if k := findings(r); k[reconcile.RefundIncomplete] != 1 || r.Repaired != 1 || r.Found != 1 {
				t.Fatalf("reconcile: %+v", r)
			}
			if got := w.order(t, o.ID); got.Status != orders.Refunded {
				t.Fatalf("after reconcile: %s", got.Status)
			}
			if cents, n := w.providerRefunds(t, p.ID); cents != p.AmountCents || n != 1 {
				t.Fatalf("provider refunded %d in %d refunds", cents, n)
			}
			if got := w.checkIn(t, ts[0].Code, "scan-1"); got != tickets.Revoked {
				t.Fatalf("check-in %s", got)
			}
			if rec, _, _ := w.Stores.Orders.GetPayment(ctx, "sandbox", p.ID); !rec.Refunded {
				t.Fatalf("payment record %+v", rec)
			}
			if r := w.reconcile(t); r.Found != 0 {
				t.Fatalf("second run: %v", r.Findings)
			}
		})
	}
}

// TestRefundWhileTheProviderIsDown: GIVEN the provider fails the refund
// call (once outright, once after taking effect: the lost response) WHEN
// an organizer refunds THEN the answer is the REFUND_PENDING order with the
// tickets already revoked, and repeating the request completes it with one
// refund at the provider.
func TestRefundWhileTheProviderIsDown(t *testing.T) {
	for _, afterEffect := range []bool{false, true} {
		t.Run(fmt.Sprintf("afterEffect=%v", afterEffect), func(t *testing.T) {
			ctx := context.Background()
			w := newRefundWorld(t)
			o := w.hold(t, "fan-1", inventory.HoldRequest{Seats: []string{"A-1-4"}})
			p, _ := w.issue(t, o)
			w.box.SetFailures(sandbox.OpRefund, sandbox.Fault{Times: 1, AfterEffect: afterEffect})
			got, err := w.svc.RefundOrder(ctx, o.ID, "organizer-1", "")
			if err != nil || got.Status != orders.RefundPending {
				t.Fatalf("%+v %v", got, err)
			}
			if st := w.ticketStatuses(t, o.ID); st[tickets.StatusRevoked] != 1 {
				t.Fatalf("tickets %v", st)
			}
			if got, err = w.svc.RefundOrder(ctx, o.ID, "organizer-1", ""); err != nil || got.Status != orders.Refunded {
				t.Fatalf("retry: %+v %v", got, err)
			}
			if cents, n := w.providerRefunds(t, p.ID); cents != p.AmountCents || n != 1 {
				t.Fatalf("provider refunded %d in %d refunds", cents, n)
			}
		})
	}
}

// TestConcurrentRefundsRefundOnce: GIVEN an issued order WHEN five
// organizers refund it at once THEN every one is answered REFUNDED and the
// provider refunded once.
func TestConcurrentRefundsRefundOnce(t *testing.T) {
	ctx := context.Background()
	w := newRefundWorld(t)
	o := w.hold(t, "fan-1", inventory.HoldRequest{Seats: []string{"A-1-5", "A-1-6"}})
	p, _ := w.issue(t, o)
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := w.svc.RefundOrder(ctx, o.ID, "organizer-"+strconv.Itoa(i), "")
			if err == nil && got.Status != orders.Refunded {
				err = fmt.Errorf("answered %s", got.Status)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if cents, n := w.providerRefunds(t, p.ID); cents != p.AmountCents || n != 1 || w.limit(t, "fan-1") != 0 {
		t.Fatalf("provider refunded %d in %d refunds; limit %d", cents, n, w.limit(t, "fan-1"))
	}
}

// TestRefundRacingTicketIssue: GIVEN a PAID order whose issuer read it
// before an organizer refunded it WHEN the issuer writes the tickets after
// the refund's revocation found none THEN marking it issued fails and
// revokes them; and when the issuer dies before marking, the reconciler
// revokes them.
func TestRefundRacingTicketIssue(t *testing.T) {
	ctx := context.Background()
	for _, marks := range []bool{true, false} {
		t.Run(fmt.Sprintf("issuerMarks=%v", marks), func(t *testing.T) {
			w := newRefundWorld(t)
			o := w.hold(t, "fan-1", inventory.HoldRequest{Seats: []string{"A-1-7"}})
			w.pay(t, o)
			stale := w.order(t, o.ID) // the issuer's read: PAID
			if got, err := w.svc.RefundOrder(ctx, o.ID, "organizer-1", ""); err != nil || got.Status != orders.Refunded {
				t.Fatalf("%+v %v", got, err)
			}
			ts, err := w.tk.Issue(ctx, stale)
			if err != nil || len(ts) != 1 {
				t.Fatalf("late issue: %d tickets, %v", len(ts), err)
			}
			if marks {
				if _, err := w.svc.MarkIssued(ctx, o.ID); apperr.CodeOf(err) != apperr.InvalidStateChange {
					t.Fatalf("MarkIssued on a refunded order: %v", err)
				}
			} else {
				if st := w.ticketStatuses(t, o.ID); st[tickets.StatusValid] != 1 {
					t.Fatalf("tickets %v", st)
				}
				r := w.reconcile(t)
				if k := findings(r); k[reconcile.RefundedTickets] != 1 || r.Repaired != 1 {
					t.Fatalf("reconcile %+v", r)
				}
				if r := w.reconcile(t); r.Found != 0 {
					t.Fatalf("second run %v", r.Findings)
				}
			}
			if got := w.checkIn(t, ts[0].Code, "scan-1"); got != tickets.Revoked {
				t.Fatalf("check-in %s", got)
			}
			if got := w.order(t, o.ID); got.Status != orders.Refunded {
				t.Fatalf("order %s", got.Status)
			}
		})
	}
}

// TestRefundKeepsThePlaceUntilTheTicketIsRevoked: GIVEN an issued order
// WHEN the organizer refunds it while every revocation is throttled THEN
// the refund is accepted (REFUND_PENDING) but the seat is not back on
// sale: another fan cannot hold it, the old ticket still checks in as
// ADMITTED, and the reconciler leaves it; once the revocation goes
// through, the reconciler revokes, releases and refunds, and the seat
// sells again.
func TestRefundKeepsThePlaceUntilTheTicketIsRevoked(t *testing.T) {
	ctx := context.Background()
	var throttled atomic.Bool
	w := newRefundWorldOn(t, func(op string, body []byte) bool {
		return throttled.Load() && op == "TransactWriteItems" && strings.Contains(string(body), `"`+dynamo.PrefixRevoked)
	})
	o := w.hold(t, "fan-1", inventory.HoldRequest{Seats: []string{"A-1-4"}})
	p, ts := w.issue(t, o)
	throttled.Store(true)

	got, err := w.svc.RefundOrder(ctx, o.ID, "organizer-1", "throttled revocation")
	if err != nil || got.Status != orders.RefundPending {
		t.Fatalf("refund with the revocation throttled: %s, %v; want REFUND_PENDING, accepted", got.Status, err)
	}
	if s := w.seat(t, "A-1-4"); s.State != catalog.SeatSold || s.OrderID != o.ID {
		t.Fatalf("seat while the ticket is not revoked: %+v, want SOLD to %s", s, o.ID)
	}
	if _, err := w.tryHold("fan-2", inventory.HoldRequest{Seats: []string{"A-1-4"}}); !apperr.Is(err, apperr.SeatsUnavailable) {
		t.Fatalf("another fan's hold of the seat: %v, want SEATS_UNAVAILABLE", err)
	}
	w.clk.Advance(2 * time.Minute)
	w.reconcile(t) // the revocation still fails: nothing may be released
	if s := w.seat(t, "A-1-4"); s.State != catalog.SeatSold {
		t.Fatalf("seat after a reconciler run with the revocation throttled: %+v", s)
	}
	if _, n := w.providerRefunds(t, p.ID); n != 0 {
		t.Fatalf("%d provider refunds before the tickets were revoked", n)
	}
	if got := w.checkIn(t, ts[0].Code, "scan-1"); got != tickets.Admitted {
		t.Fatalf("the unrevoked ticket checks in %s, want ADMITTED (and its seat unsold)", got)
	}

	throttled.Store(false)
	w.clk.Advance(2 * time.Minute)
	if r := w.reconcile(t); findings(r)[reconcile.RefundIncomplete] != 1 {
		t.Fatalf("reconcile once the revocation goes through: %+v", r)
	}
	if got := w.order(t, o.ID); got.Status != orders.Refunded || got.RefundHoldsPlaces {
		t.Fatalf("after reconcile: %s, holds places %v", got.Status, got.RefundHoldsPlaces)
	}
	if st := w.ticketStatuses(t, o.ID); st[tickets.StatusRevoked] != 1 {
		t.Fatalf("tickets after reconcile: %v", st)
	}
	if cents, n := w.providerRefunds(t, p.ID); cents != p.AmountCents || n != 1 || w.limit(t, "fan-1") != 0 {
		t.Fatalf("provider refunded %d in %d refunds; limit %d", cents, n, w.limit(t, "fan-1"))
	}
	if _, err := w.tryHold("fan-2", inventory.HoldRequest{Seats: []string{"A-1-4"}}); err != nil {
		t.Fatalf("the seat after the refund completed: %v", err)
	}
}

func (w *refundWorld) seller() fixture.Seller {
	return fixture.Seller{Box: w.box, Orders: w.svc, Tickets: w.tk, Store: w.Stores.Orders}
}

func (w *refundWorld) pay(t *testing.T, o orders.Order) payments.Payment { return w.seller().Pay(t, o) }

func (w *refundWorld) issue(t *testing.T, o orders.Order) (payments.Payment, []tickets.IssuedTicket) {
	return w.seller().Issue(t, o)
}
