package reconcile_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/reconcile"
	"github.com/stararena/stararena/internal/reqid"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/testenv/fixture"
	"github.com/stararena/stararena/internal/workflow"
)

// provider holds captured payments by order, as the provider's books would.
type provider struct {
	mu       sync.Mutex
	payments map[string][]orders.Payment
	refunded map[string]bool
}

func (p *provider) PaymentsForOrder(_ context.Context, _ string, orderID string) ([]orders.Payment, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]orders.Payment(nil), p.payments[orderID]...), nil
}

func (p *provider) PaymentsSince(_ context.Context, _ string, _ time.Time) ([]orders.Payment, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []orders.Payment
	for _, ps := range p.payments {
		for _, x := range ps {
			x.Refunded = p.refunded[x.ID]
			out = append(out, x)
		}
	}
	return out, nil
}

func (p *provider) Refund(_ context.Context, _, paymentID, _ string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refunded[paymentID] = true
	return "re_" + paymentID, nil
}

// issuer issues tickets through the order workflow's own task, as the
// application's reconciler does; down makes it fail like an unavailable
// ticket service.
type issuer struct {
	tasks *workflow.Tasks
	down  bool
}

func (i *issuer) IssueTickets(ctx context.Context, orderID string) error {
	if i.down {
		return fault.E("issue tickets", fault.Unavailable, errors.New("ticket issuer unavailable"))
	}
	_, err := i.tasks.Issue(ctx, workflow.OrderInput{OrderID: orderID})
	return err
}

type world struct {
	*app.App
	clk  *clock.Manual
	prov *provider
	iss  *issuer
	om   *orders.Service
	rec  *reconcile.Service
	ev   catalog.Event
}

func newWorld(t *testing.T) *world {
	t.Helper()
	clk := clock.NewManual(time.Now())
	a := fixture.NewApp(t, fixture.AppOptions{Clock: clk})
	w := &world{App: a, clk: clk, prov: &provider{payments: map[string][]orders.Payment{}, refunded: map[string]bool{}}}
	w.om = orders.NewService(a.Stores.Orders, w.prov, nil, orders.ServiceOptions{Clock: clk})
	w.iss = &issuer{tasks: a.Tasks}
	w.rec = reconcile.New(a.Stores.Reconcile, a.Catalog, a.Inventory, w.om, w.prov, w.iss, reconcile.Options{Clock: clk, Grace: time.Minute, Providers: []string{"sandbox"}})
	w.ev = fixture.OpenEvent(t, a, fixture.Event{HoldSeconds: 60})
	return w
}

func (w *world) hold(t *testing.T, account string, seats ...string) orders.Order {
	t.Helper()
	return fixture.Hold(t, w.App, account, w.ev.ID, inventory.HoldRequest{Seats: seats})
}

func (w *world) status(t *testing.T, id string) orders.Status {
	t.Helper()
	o, err := w.Stores.Orders.GetOrder(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return o.Status
}

func (w *world) seat(t *testing.T, id string) inventory.SeatState {
	t.Helper()
	st, _ := w.Stores.Inventory.SeatHolders(context.Background(), w.ev.ID, []string{id})
	return st[id]
}

func kinds(r reconcile.Report) map[string]int {
	m := map[string]int{}
	for _, f := range r.Findings {
		m[f.Kind]++
	}
	return m
}

func TestReconcilerRepairsEveryStuckState(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	stuck := w.hold(t, "fan-1", "A-1-1")
	lost := w.hold(t, "fan-2", "A-1-2")
	w.prov.payments[lost.ID] = []orders.Payment{{Provider: "sandbox", ID: "pi_lost", OrderID: lost.ID, Succeeded: true, AmountCents: lost.AmountCents, Currency: lost.Currency}}
	fresh := w.hold(t, "fan-3", "A-1-3")
	_ = fresh

	// GIVEN nothing is overdue yet THEN the reconciler leaves everything.
	r, err := w.rec.Run(ctx, w.ev.ID)
	if err != nil || r.Found != 0 {
		t.Fatalf("before expiry: %+v %v", r, err)
	}

	// WHEN the holds are past expiry plus grace (the workflow's timer and
	// the webhook were both lost).
	w.clk.Advance(60*time.Second + 2*time.Minute)
	w.iss.down = true // and the ticket issuer is down
	r, err = w.rec.Run(ctx, w.ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if k := kinds(r); k[reconcile.StuckHold] != 3-1 || k[reconcile.LostPayment] != 1 {
		t.Fatalf("first run findings %v", r.Findings)
	}
	if w.status(t, stuck.ID) != orders.Expired || w.seat(t, "A-1-1").State != catalog.SeatAvailable {
		t.Fatalf("stuck hold: %s, seat %+v", w.status(t, stuck.ID), w.seat(t, "A-1-1"))
	}
	if w.status(t, lost.ID) != orders.Paid || w.seat(t, "A-1-2").State != catalog.SeatSold {
		t.Fatalf("lost payment: %s, seat %+v", w.status(t, lost.ID), w.seat(t, "A-1-2"))
	}

	// Issuing fails while the issuer is down: reported, not repaired. The
	// report names the error's code and the request id; the error's text
	// is only in the log, under that id.
	w.clk.Advance(10 * time.Minute)
	var logs bytes.Buffer
	rec := reconcile.New(w.Stores.Reconcile, w.Catalog, w.Inventory, w.om, w.prov, w.iss, reconcile.Options{Clock: w.clk, Grace: time.Minute, Providers: []string{"sandbox"},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	r, _ = rec.Run(reqid.With(ctx, "req-7"), w.ev.ID)
	if k := kinds(r); k[reconcile.RepairFailed] != 1 || w.status(t, lost.ID) != orders.Paid {
		t.Fatalf("issuer down: %v, %s", r.Findings, w.status(t, lost.ID))
	}
	for _, f := range r.Findings {
		if f.Kind != reconcile.RepairFailed {
			continue
		}
		if f.ErrorCode != apperr.Unavailable || f.RequestID != "req-7" || strings.Contains(f.Detail, "ticket issuer unavailable") {
			t.Fatalf("failed repair reported as %+v, want code UNAVAILABLE, request req-7 and no error text", f)
		}
	}
	if line := logs.String(); !strings.Contains(line, `"requestId":"req-7"`) || !strings.Contains(line, "ticket issuer unavailable") {
		t.Fatalf("the log does not hold the error under the request id: %s", line)
	}
	// THEN once it is back the order is issued, and a further run is clean.
	w.iss.down = false
	r, _ = w.rec.Run(ctx, w.ev.ID)
	if k := kinds(r); k[reconcile.TicketsMissing] != 1 || w.status(t, lost.ID) != orders.Issued {
		t.Fatalf("issuer back: %v, %s", r.Findings, w.status(t, lost.ID))
	}
	if r, _ = w.rec.Run(ctx, w.ev.ID); r.Found != 0 {
		t.Fatalf("a clean state still has findings: %v", r.Findings)
	}
}

func TestReconcilerIssuesIssueFailedOrders(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	o := w.hold(t, "fan-1", "A-1-4")
	if _, err := w.om.PaymentCaptured(ctx, orders.Payment{Provider: "sandbox", ID: "pi_1", OrderID: o.ID, Succeeded: true, AmountCents: o.AmountCents, Currency: o.Currency}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.om.MarkIssueFailed(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	w.clk.Advance(2 * time.Minute)
	r, err := w.rec.Run(ctx, w.ev.ID)
	if err != nil || kinds(r)[reconcile.TicketsMissing] != 1 || w.status(t, o.ID) != orders.Issued {
		t.Fatalf("%v %v %s", r.Findings, err, w.status(t, o.ID))
	}
}

func TestReconcilerFreesOrphanSeatsAndFlagsUnpaidSoldSeats(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	o := w.hold(t, "fan-1", "A-1-5")
	if _, err := w.Inventory.Cancel(ctx, "fan-1", o.ID); err != nil {
		t.Fatal(err)
	}
	// Drift injected: a seat still HELD by the cancelled order, and a seat
	// SOLD to it.
	setSeat(t, w, "A-1-6", catalog.SeatHeld, o.ID)
	setSeat(t, w, "A-1-7", catalog.SeatSold, o.ID)
	r, err := w.rec.Run(ctx, w.ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	k := kinds(r)
	if k[reconcile.OrphanHeldSeat] != 1 || k[reconcile.SoldSeatUnpaid] != 1 || r.NeedsHuman != 1 || r.Checked.Seats != 10 {
		t.Fatalf("findings %v (%+v)", r.Findings, r)
	}
	if w.seat(t, "A-1-6").State != catalog.SeatAvailable {
		t.Fatalf("orphan seat not freed: %+v", w.seat(t, "A-1-6"))
	}
	if w.seat(t, "A-1-7").State != catalog.SeatSold {
		t.Fatal("money-related drift must be left to a human")
	}
}

func setSeat(t *testing.T, w *world, seat, state, orderID string) {
	t.Helper()
	testenv.SetSeat(t, w.DB, w.Config.TableName, w.ev.ID, seat, state, orderID)
}

// TestSweepAccountsForEveryCapturedPayment: GIVEN the provider holds a
// captured payment for an order that does not exist and one for a pending
// order whose webhook was lost WHEN the sweep runs THEN the first is
// refunded, the second pays its order, and a second sweep finds nothing.
func TestSweepAccountsForEveryCapturedPayment(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	o := w.hold(t, "fan-1", "A-1-1")
	w.prov.payments["no-such-order"] = []orders.Payment{{Provider: "sandbox", ID: "pi_orphan", OrderID: "no-such-order", Succeeded: true, AmountCents: 100, Currency: "EUR"}}
	w.prov.payments[o.ID] = []orders.Payment{{Provider: "sandbox", ID: "pi_lost", OrderID: o.ID, Succeeded: true, AmountCents: o.AmountCents, Currency: o.Currency}}
	r, err := w.rec.SweepPayments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if k := kinds(r); k[reconcile.OrphanPayment] != 1 || k[reconcile.UnaccountedPay] != 1 || r.Repaired != 2 || r.Checked.Payments != 2 {
		t.Fatalf("sweep %+v", r)
	}
	if !w.prov.refunded["pi_orphan"] || w.prov.refunded["pi_lost"] || w.status(t, o.ID) != orders.Paid {
		t.Fatalf("refunded %v, order %s", w.prov.refunded, w.status(t, o.ID))
	}
	if r, _ = w.rec.SweepPayments(ctx); r.Found != 0 {
		t.Fatalf("second sweep %v", r.Findings)
	}
}

// TestScheduledRunFindsDriftFromWhatChanged: GIVEN a seat still HELD by an
// order that expired (the release lost its seat half), a seat SOLD to an
// order that was cancelled after paying, and an ISSUED order whose tickets
// were never stored WHEN the scheduled run (RunAll) looks THEN it finds all
// three while reading only the seats of what changed — not the event's
// ten — frees the seat, issues the tickets, and keeps the unpaid sold seat
// in its report for a human until someone fixes it.
func TestScheduledRunFindsDriftFromWhatChanged(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	rec := reconcile.New(w.Stores.Reconcile, w.Catalog, w.Inventory, w.om, w.prov, w.iss,
		reconcile.Options{Clock: w.clk, Grace: time.Minute, Tickets: w.Tickets})
	now := w.clk.Now()

	orphan := w.hold(t, "fan-1", "A-1-1")
	if err := w.Stores.Orders.SetStatus(ctx, orphan, []orders.Status{orders.PendingPayment}, orders.Expired, nil, now); err != nil {
		t.Fatal(err)
	}
	unpaid := w.pay(t, w.hold(t, "fan-2", "A-1-2"))
	paid, err := w.Stores.Orders.GetOrder(ctx, unpaid.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Stores.Orders.SetStatus(ctx, paid, []orders.Status{orders.Paid}, orders.Cancelled, nil, now); err != nil {
		t.Fatal(err)
	}
	issued := w.pay(t, w.hold(t, "fan-3", "A-1-3"))
	if _, err := w.om.MarkIssued(ctx, issued.ID); err != nil { // no tickets stored
		t.Fatal(err)
	}

	w.clk.Advance(60*time.Second + 2*time.Minute) // past the holds' expiry and the grace
	r := eventReport(t, rec, w.ev.ID)
	k := kinds(r)
	if k[reconcile.OrphanHeldSeat] != 1 || k[reconcile.SoldSeatUnpaid] != 1 || k[reconcile.IssuedNoTickets] != 1 || r.Found != 3 {
		t.Fatalf("findings %+v", r.Findings)
	}
	if r.Checked.Seats != 3 {
		t.Fatalf("the scheduled run read %d seats, want the 3 of the orders that changed (the event has 10)", r.Checked.Seats)
	}
	if st := w.seat(t, "A-1-1"); st.State != catalog.SeatAvailable {
		t.Fatalf("orphan seat not freed: %+v", st)
	}
	if ts, err := w.Tickets.ForOrder(ctx, issued.ID); err != nil || len(ts) != 1 {
		t.Fatalf("tickets of the issued order: %v, %v", ts, err)
	}

	// Long after, the repaired drift is gone and the unpaid sold seat,
	// which only a person can settle, is still reported.
	w.clk.Advance(10 * time.Minute)
	r = eventReport(t, rec, w.ev.ID)
	if k := kinds(r); r.Found != 1 || k[reconcile.SoldSeatUnpaid] != 1 || r.NeedsHuman != 1 {
		t.Fatalf("later run findings %+v", r.Findings)
	}
	if r.Checked.Seats != 1 {
		t.Fatalf("later run read %d seats, want 1", r.Checked.Seats)
	}
}

// TestFullSweepFindsGACountDrift: GIVEN a GA hold and a counter shard that
// claims one more place held than the orders hold WHEN an organizer runs
// the full sweep THEN it reports GA_COUNT_DRIFT for a human, and a clean
// section reports nothing.
func TestFullSweepFindsGACountDrift(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	fixture.Hold(t, w.App, "fan-1", w.ev.ID, inventory.HoldRequest{Section: "GA", Quantity: 2})
	r, err := w.rec.Run(ctx, w.ev.ID)
	if err != nil || r.Found != 0 {
		t.Fatalf("clean GA section: %+v %v", r.Findings, err)
	}
	_, err = w.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(w.Config.TableName),
		Key:                       dynamo.GAShardKey(w.ev.ID, "GA", 0),
		UpdateExpression:          aws.String("SET available = available - :one, held = held + :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err = w.rec.Run(ctx, w.ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if k := kinds(r); k[reconcile.GACountDrift] != 1 || r.Found != 1 || r.NeedsHuman != 1 {
		t.Fatalf("findings %+v", r.Findings)
	}
}

func (w *world) pay(t *testing.T, o orders.Order) orders.Order {
	t.Helper()
	p := orders.Payment{Provider: "sandbox", ID: "pi_" + o.ID, OrderID: o.ID, Succeeded: true, AmountCents: o.AmountCents, Currency: o.Currency}
	if _, err := w.om.PaymentCaptured(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return o
}

// eventReport runs the schedule's reconciliation and returns the event's
// report.
func eventReport(t *testing.T, rec *reconcile.Service, eventID string) reconcile.Report {
	t.Helper()
	reps, err := rec.RunAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reps {
		if r.EventID == eventID {
			return r
		}
	}
	t.Fatalf("no report for %s in %+v", eventID, reps)
	return reconcile.Report{}
}

// TestHeldSeatMarkersFollowTheSeats: the index the scheduled run reads
// lists a seat while a hold has it, and no longer once the hold is paid,
// cancelled or released as an orphan.
func TestHeldSeatMarkersFollowTheSeats(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	due := func() []string {
		t.Helper()
		ids, err := w.Stores.Reconcile.HeldSeatsDue(ctx, w.ev.ID, w.clk.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids)
		return ids
	}
	paid := w.hold(t, "fan-1", "A-1-1", "A-1-2")
	cancelled := w.hold(t, "fan-2", "A-1-3")
	orphan := w.hold(t, "fan-3", "A-1-4")
	if got := due(); !slices.Equal(got, []string{"A-1-1", "A-1-2", "A-1-3", "A-1-4"}) {
		t.Fatalf("held seats listed %v", got)
	}
	w.pay(t, paid)
	if _, err := w.Inventory.Cancel(ctx, "fan-2", cancelled.ID); err != nil {
		t.Fatal(err)
	}
	if err := w.Stores.Reconcile.ReleaseOrphanSeat(ctx, w.ev.ID, "A-1-4", orphan.ID); err != nil {
		t.Fatal(err)
	}
	if got := due(); len(got) != 0 {
		t.Fatalf("seats no longer held are still listed: %v", got)
	}
}
