// Package reconcile finds and repairs drift between orders, seats, payments
// and tickets. It runs on a schedule and on demand; every repair goes
// through the same conditional transitions as the normal path, so running
// it twice, or alongside the workflow, is safe.
//
// The schedule (RunAll) reads only what is open or changed since the
// previous run: overdue orders, seats whose hold should have ended, orders
// that finished since, recent refunds, and only in the events that have
// work (on sale, or marked due by a write that gave them some): an idle
// event costs it no request of its own. The full sweep of one event (Run: every
// seat, every order, every GA shard) is an organizer's explicit action.
package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/metrics"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/reqid"
	"github.com/stararena/stararena/internal/tickets"
)

// Finding kinds.
const (
	StuckHold         = "STUCK_HOLD"             // PENDING_PAYMENT past expiry: released
	LostPayment       = "LOST_PAYMENT"           // PENDING/EXPIRED but the provider captured: applied
	TicketsMissing    = "TICKETS_MISSING"        // PAID past the issue deadline or ISSUE_FAILED: issued
	RefundIncomplete  = "REFUND_INCOMPLETE"      // REFUND_PENDING: refund retried
	OrphanHeldSeat    = "ORPHAN_HELD_SEAT"       // HELD by an order that no longer holds it: freed
	SoldSeatUnpaid    = "SOLD_SEAT_UNPAID"       // SOLD for an order not PAID/ISSUED: for a human
	RepairFailed      = "REPAIR_FAILED"          // a repair was attempted and failed: retried next run
	UnknownOrderState = "UNKNOWN_ORDER_STATE"    // for a human
	UnaccountedPay    = "UNACCOUNTED_PAYMENT"    // captured, no record: applied to its order
	OrphanPayment     = "ORPHAN_PAYMENT"         // captured for an order that does not exist: refunded
	RefundedTickets   = "REFUNDED_TICKETS"       // valid tickets of a refunded order: revoked
	GACountDrift      = "GA_COUNT_DRIFT"         // GA counters disagree with the orders: for a human
	IssuedNoTickets   = "ISSUED_WITHOUT_TICKETS" // ISSUED but no tickets stored: issued
)

// needsHuman reports the kinds the reconciler does not repair: money or
// inventory whose right state only a person can decide.
func needsHuman(kind string) bool {
	return kind == SoldSeatUnpaid || kind == UnknownOrderState || kind == GACountDrift
}

// Finding is one thing the reconciler noticed.
type Finding struct {
	Kind     string `json:"kind"`
	OrderID  string `json:"orderId,omitempty"`
	Seat     string `json:"seat,omitempty"`
	Detail   string `json:"detail,omitempty"`
	Repaired bool   `json:"repaired"`
	// ErrorCode and RequestID say why a repair failed: the error's code
	// (UNAVAILABLE, INVALID_STATE, INTERNAL, ...) and the request id under
	// which the log holds its text. Error text never goes into a report.
	ErrorCode apperr.Code `json:"errorCode,omitempty"`
	RequestID string      `json:"requestId,omitempty"`
}

// failed records on f why a repair failed, and logs the error under the
// same request id.
func (s *Service) failed(ctx context.Context, f *Finding, what string, err error) {
	f.ErrorCode, f.RequestID = apperr.CodeOf(err), reqid.From(ctx)
	s.log.WarnContext(ctx, "repair failed", "requestId", f.RequestID, "orderId", f.OrderID, "kind", what,
		"code", f.ErrorCode, "err", err)
}

// Report is what one run checked, found and repaired.
type Report struct {
	EventID    string    `json:"eventId"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	Checked    struct {
		Orders   int `json:"orders"`
		Seats    int `json:"seats"`
		Payments int `json:"payments"`
	} `json:"checked"`
	Found      int       `json:"found"`
	Repaired   int       `json:"repaired"`
	NeedsHuman int       `json:"needsHuman"`
	Findings   []Finding `json:"findings"`

	// refunds counts the organizer refunds of the last RevokeWindow the
	// run re-checked: an event with any stays due.
	refunds int
}

// idle reports whether the run found the event with nothing to do: no
// finding, no order overdue or finished since the previous run, no seat
// to cross-check, no recent refund.
func (r *Report) idle() bool {
	return r.Found == 0 && r.Checked.Orders == 0 && r.Checked.Seats == 0 && r.refunds == 0
}

// Store is what the reconciler reads and repairs directly.
type Store interface {
	OverdueOrders(ctx context.Context, eventID string, before time.Time, limit int) ([]orders.Order, error)
	OrdersByID(ctx context.Context, ids []string) (map[string]orders.Order, error)
	GetOrder(ctx context.Context, id string) (orders.Order, error)
	SeatHolders(ctx context.Context, eventID string, ids []string) (map[string]inventory.SeatState, error)
	ReleaseOrphanSeat(ctx context.Context, eventID, seat, orderID string) error
	SaveReconcileReport(ctx context.Context, eventID string, report []byte) error
	GetPayment(ctx context.Context, provider, paymentID string) (orders.PaymentRecord, bool, error)
	// RecentRefunds lists the ids of an event's organizer refunds
	// requested at or after since.
	RecentRefunds(ctx context.Context, eventID string, since time.Time) ([]string, error)
	// HeldSeatsDue lists the seats HELD with a hold expiring before t.
	HeldSeatsDue(ctx context.Context, eventID string, t time.Time) ([]string, error)
	// FinishedOrders lists the orders that became terminal since.
	FinishedOrders(ctx context.Context, eventID string, since time.Time) ([]orders.Order, error)
	// EventOrders lists every order of the event.
	EventOrders(ctx context.Context, eventID string) ([]orders.Order, error)
	// TicketManifests reports which orders have their tickets stored.
	TicketManifests(ctx context.Context, orderIDs []string) (map[string]bool, error)
	// GACounts sums a GA section's counter shards.
	GACounts(ctx context.Context, eventID, section string, shards int) (available, held, sold int, err error)
	// LastReconcileReport is the event's last stored report (nil: none).
	LastReconcileReport(ctx context.Context, eventID string) ([]byte, error)
	// MarkDue marks an event as having work for the schedule (a no-op
	// when it was marked moments ago).
	MarkDue(ctx context.Context, eventID string, now time.Time) error
	// DueEvents lists the marked events and when each was marked.
	DueEvents(ctx context.Context) (map[string]time.Time, error)
	// ClearDue removes an event's mark if it still carries markedAt
	// (fault.ConditionFailed: marked again since).
	ClearDue(ctx context.Context, eventID string, markedAt time.Time) error
	// OpenWork reports whether the event has any open order or held seat.
	OpenWork(ctx context.Context, eventID string) (bool, error)
	// PaymentRecords batch-reads a provider's payment records by id.
	PaymentRecords(ctx context.Context, provider string, ids []string) (map[string]orders.PaymentRecord, error)
}

// Tickets reads, revokes and (re)issues an order's tickets
// (tickets.Service).
type Tickets interface {
	ForOrder(ctx context.Context, orderID string) ([]tickets.IssuedTicket, error)
	Revoke(ctx context.Context, orderID, reason string) error
	Issue(ctx context.Context, o orders.Order) ([]tickets.IssuedTicket, error)
}

// PaymentLookup asks the provider for an order's payments (the active
// query); a webhook body is never trusted.
type PaymentLookup interface {
	PaymentsForOrder(ctx context.Context, provider, orderID string) ([]orders.Payment, error)
	// PaymentsSince lists a provider's payments created since a time.
	PaymentsSince(ctx context.Context, provider string, since time.Time) ([]orders.Payment, error)
}

// Issuer issues an order's tickets (idempotent) and marks it ISSUED.
type Issuer interface {
	IssueTickets(ctx context.Context, orderID string) error
}

// Events lists events and reads one.
type Events interface {
	Get(ctx context.Context, id string) (catalog.Event, error)
	Live(ctx context.Context) ([]catalog.Event, error)
}

// Options configures the reconciler.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
	// Grace is how long past its deadline an order is left to the
	// workflow before the reconciler acts (default 2 minutes).
	Grace time.Duration
	// Providers to sweep and to ask for a pending order's payments: the
	// configured ones. None is a deployment without payments (Stripe is
	// off by default), where there is nothing to sweep.
	Providers []string
	// Tickets, when set, lets the reconciler make sure recently refunded
	// orders keep no valid ticket (see RevokeWindow) and store the tickets
	// of an ISSUED order that has none.
	Tickets Tickets
	// Metrics counts findings by kind and the orders alarms watch.
	Metrics *metrics.Emitter
}

// RevokeWindow is how far back the reconciler re-checks organizer refunds
// for tickets that are still valid. Such a ticket can only come from an
// issuing call that read the order while it was still paid and wrote after
// the refund's revocation; the workflow's issue task runs for at most 20 s,
// so an hour leaves a wide margin while keeping each run's reads small.
const RevokeWindow = time.Hour

// Service reconciles events.
type Service struct {
	store     Store
	events    Events
	inv       *inventory.Service
	orders    *orders.Service
	payments  PaymentLookup
	issuer    Issuer
	tickets   Tickets
	clock     clock.Clock
	log       *slog.Logger
	grace     time.Duration
	providers []string
	metrics   *metrics.Emitter

	// accounted holds the providers' payments this instance has seen
	// recorded as paying an order or refunded, by provider and id: both
	// are final, so a scheduled sweep does not read their records again.
	// A new instance starts empty and reads the window once.
	mu        sync.Mutex
	accounted map[string]map[string]bool
	// clean holds, per event, the finished orders a scheduled run of this
	// instance checked and found nothing wrong with, at their version: the
	// next run's overlap (ChangeOverlap) lists them again, and an order
	// that has not changed since is not read again.
	clean map[string]map[string]int64
}

// New builds the reconciler.
func New(store Store, events Events, inv *inventory.Service, om *orders.Service, payments PaymentLookup, issuer Issuer, o Options) *Service {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Grace <= 0 {
		o.Grace = 2 * time.Minute
	}
	return &Service{store: store, events: events, inv: inv, orders: om, payments: payments, issuer: issuer, tickets: o.Tickets,
		clock: o.Clock, log: o.Logger, grace: o.Grace, providers: o.Providers, metrics: o.Metrics,
		accounted: map[string]map[string]bool{}, clean: map[string]map[string]int64{}}
}

// SweepWindow is how far back the provider sweep looks.
const SweepWindow = 48 * time.Hour

// ProvidersScope is the EventID of the provider sweep's report.
const ProvidersScope = "providers"

// ChangeOverlap is how far before the previous run's start the next run
// looks for finished orders: the index is eventually consistent, so an
// order finished just before a run may only show up in the next.
const ChangeOverlap = time.Minute

// eventWorkers bounds how many events one scheduled run reconciles at once.
const eventWorkers = 8

// DueQuiet is how long an event's due mark must have stood unchanged, and
// its sale been off, before a run that finds nothing open may clear it.
// Every write that gives an event work marks it before it writes (ADR 14),
// so by then that write has landed and the indexes show it: an open order
// keeps the mark, a finished one is checked by the run after it finished.
// It also covers the event copy the purchase path caches
// (EVENT_CACHE_TTL, seconds) after an organizer stops a sale.
const DueQuiet = 5 * time.Minute

// RunAll is the scheduled run: the providers' payments, then what is open
// or changed in every upcoming event that has work (never a sweep of their
// seats). An event has work while its sale or presale is open (or was
// switched within DueQuiet) and while it carries a due mark (ADR 14); an
// idle event costs the run no request of its own.
func (s *Service) RunAll(ctx context.Context) ([]Report, error) {
	ctx, _ = reqid.Ensure(ctx)
	sweep, err := s.sweepPayments(ctx, true)
	if err != nil {
		return nil, err
	}
	evs, err := s.events.Live(ctx)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	marks, err := s.store.DueEvents(ctx)
	if err != nil {
		return nil, err
	}
	var visit []*catalog.Event
	live := make(map[string]bool, len(evs))
	for i := range evs {
		live[evs[i].ID] = true
		if _, marked := marks[evs[i].ID]; marked || Selling(&evs[i], now) {
			visit = append(visit, &evs[i])
		}
	}
	reps := make([]Report, len(visit))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(eventWorkers)
	for i, ev := range visit {
		g.Go(func() (err error) {
			markedAt, marked := marks[ev.ID]
			if Selling(ev, now) {
				// The orders a sale leaves open keep the event visited
				// after it stops.
				if err := s.store.MarkDue(gctx, ev.ID, now); err != nil {
					return err
				}
				marked = false // a selling event's mark is never cleared
			}
			var idle bool
			reps[i], idle, err = s.run(gctx, ev, s.changes)
			if err != nil || !marked || !idle || !markedAt.Before(reps[i].StartedAt.Add(-DueQuiet)) {
				return err
			}
			return s.clearIdle(gctx, ev.ID, markedAt)
		})
	}
	// The marks of events no longer upcoming (started over a day ago):
	// the schedule does not reconcile those, marked or not.
	for id, at := range marks {
		if !live[id] {
			g.Go(func() error { return s.clear(gctx, id, at) })
		}
	}
	err = g.Wait()
	return append([]Report{sweep}, reps...), err
}

// Selling reports whether ev's sale or presale is open at now, or was
// switched (opened, paused, closed, cancelled) within DueQuiet: the
// purchase path's holds happen then, and they do not mark the event (a
// rush's holds would all write one item); the scheduled run visits such an
// event every time and marks it itself.
func Selling(ev *catalog.Event, now time.Time) bool {
	switch ev.SaleState(now) {
	case catalog.SaleOpen, catalog.SalePresale:
		return true
	}
	// A sale the organizer paused or closed lately (a new event's
	// switch, still SCHEDULED, was never on).
	recent := now.Add(-DueQuiet)
	switched := ev.Sale.Status == catalog.SalePaused || ev.Sale.Status == catalog.SaleClosed
	return (switched && ev.Sale.UpdatedAt.After(recent)) || (ev.Cancelled != nil && ev.Cancelled.At.After(recent))
}

// clearIdle clears the event's mark when it has no open order or held
// seat at all, due or not.
func (s *Service) clearIdle(ctx context.Context, eventID string, markedAt time.Time) error {
	open, err := s.store.OpenWork(ctx, eventID)
	if err != nil || open {
		return err
	}
	return s.clear(ctx, eventID, markedAt)
}

func (s *Service) clear(ctx context.Context, eventID string, markedAt time.Time) error {
	err := s.store.ClearDue(ctx, eventID, markedAt)
	if fault.Is(err, fault.ConditionFailed) {
		return nil // marked again meanwhile: visited next run
	}
	return err
}

// SweepAll sweeps the providers' payments and fully sweeps every upcoming
// event (Run): the final check after a sale, too costly for a schedule.
func (s *Service) SweepAll(ctx context.Context) ([]Report, error) {
	ctx, _ = reqid.Ensure(ctx)
	sweep, err := s.sweepPayments(ctx, false)
	if err != nil {
		return nil, err
	}
	evs, err := s.events.Live(ctx)
	if err != nil {
		return nil, err
	}
	reps := make([]Report, len(evs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(eventWorkers)
	for i := range evs {
		g.Go(func() (err error) {
			reps[i], _, err = s.run(gctx, &evs[i], s.sweep)
			return err
		})
	}
	err = g.Wait()
	return append([]Report{sweep}, reps...), err
}

// Run fully sweeps one event — every seat, every order, every GA shard —
// and stores the report: an organizer's explicit action
// (POST /admin/v1/reconcile with an eventId).
func (s *Service) Run(ctx context.Context, eventID string) (Report, error) {
	ctx, _ = reqid.Ensure(ctx)
	ev, err := s.events.Get(ctx, eventID)
	if err != nil {
		return Report{}, err
	}
	r, _, err := s.run(ctx, &ev, s.sweep)
	return r, err
}

// sweep checks every seat, order and GA shard of the event.
func (s *Service) sweep(ctx context.Context, ev *catalog.Event, r *Report) error {
	if err := s.seats(ctx, ev, r); err != nil {
		return err
	}
	all, err := s.store.EventOrders(ctx, ev.ID)
	if err != nil {
		return err
	}
	r.Checked.Orders += len(all)
	if err := s.issuedTickets(ctx, all, r); err != nil {
		return err
	}
	return s.gaCounts(ctx, ev, all, r)
}

// changes checks what changed since the previous run: seats whose hold
// should have ended by now (a healthy event has none), and the seats and
// tickets of orders that finished since.
func (s *Service) changes(ctx context.Context, ev *catalog.Event, r *Report) error {
	held, err := s.store.HeldSeatsDue(ctx, ev.ID, r.StartedAt.Add(-s.grace))
	if err != nil {
		return err
	}
	since, open, err := s.previousRun(ctx, ev.ID, r.StartedAt)
	if err != nil {
		return err
	}
	held = append(held, open...)
	done, err := s.store.FinishedOrders(ctx, ev.ID, since.Add(-ChangeOverlap))
	if err != nil {
		return err
	}
	r.Checked.Orders += len(done)
	s.mu.Lock()
	clean := s.clean[ev.ID]
	s.mu.Unlock()
	fresh := done[:0:0]
	for _, o := range done {
		if v, ok := clean[o.ID]; ok && v == o.Version {
			continue // checked by an earlier run, unchanged since
		}
		fresh = append(fresh, o)
		held = append(held, o.Seats...)
	}
	if err := s.crossCheck(ctx, ev, dedupe(held), r); err != nil {
		return err
	}
	if err := s.issuedTickets(ctx, fresh, r); err != nil {
		return err
	}
	s.remember(ev.ID, done, r)
	return nil
}

// remember keeps, of the finished orders done, those this run or an
// earlier one found nothing wrong with, at their version; the others, and
// those out of the window, are forgotten.
func (s *Service) remember(eventID string, done []orders.Order, r *Report) {
	flagged := map[string]bool{}
	for _, f := range r.Findings {
		flagged[f.OrderID] = true
	}
	next := make(map[string]int64, len(done))
	for _, o := range done {
		if !flagged[o.ID] {
			next[o.ID] = o.Version
		}
	}
	s.mu.Lock()
	s.clean[eventID] = next
	s.mu.Unlock()
}

// previousRun is when the event's last stored report started (a scheduled
// run or a full sweep), or SweepWindow ago when there is none, and the
// seats that report left for a human: they are checked again every run, so
// a finding stays in the latest report until someone fixes it.
func (s *Service) previousRun(ctx context.Context, eventID string, now time.Time) (time.Time, []string, error) {
	since := now.Add(-SweepWindow)
	b, err := s.store.LastReconcileReport(ctx, eventID)
	if err != nil || b == nil {
		return since, nil, err
	}
	var prev Report
	if json.Unmarshal(b, &prev) != nil {
		return since, nil, nil
	}
	if prev.StartedAt.After(since) {
		since = prev.StartedAt
	}
	var open []string
	for _, f := range prev.Findings {
		if f.Seat != "" && !f.Repaired {
			open = append(open, f.Seat)
		}
	}
	return since, open, nil
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// run reconciles one event with check (sweep or changes), after the
// overdue orders, before the recent refunds, and stores the report. It
// also says whether the event was idle (Report.idle). A run with findings
// marks the event due, so that the schedule checks them again even when an
// organizer's sweep found them in an event the schedule had left.
func (s *Service) run(ctx context.Context, ev *catalog.Event, check func(context.Context, *catalog.Event, *Report) error) (Report, bool, error) {
	eventID := ev.ID
	r := Report{EventID: eventID, StartedAt: s.clock.Now(), Findings: []Finding{}}
	if err := s.overdue(ctx, ev, &r); err != nil {
		return Report{}, false, err
	}
	if err := check(ctx, ev, &r); err != nil {
		return Report{}, false, err
	}
	if err := s.refundedTickets(ctx, ev, &r); err != nil {
		return Report{}, false, err
	}
	r.FinishedAt = s.clock.Now()
	for _, f := range r.Findings {
		r.Found++
		if f.Repaired {
			r.Repaired++
		} else if needsHuman(f.Kind) {
			r.NeedsHuman++
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		return Report{}, false, fmt.Errorf("encode report: %w", err)
	}
	if err := s.store.SaveReconcileReport(ctx, eventID, b); err != nil {
		return Report{}, false, err
	}
	if r.Found > 0 {
		if err := s.store.MarkDue(ctx, eventID, r.FinishedAt); err != nil {
			return Report{}, false, err
		}
	}
	s.log.InfoContext(ctx, "reconciled", "eventId", eventID, "orders", r.Checked.Orders, "seats", r.Checked.Seats,
		"found", r.Found, "repaired", r.Repaired, "needsHuman", r.NeedsHuman)
	s.emit(r)
	return r, r.idle(), nil
}

// SweepPayments compares the providers' captured payments of the last
// SweepWindow with StarArena's records: a captured payment nobody recorded
// is applied to its order (which pays it, or refunds it as late or
// duplicate); one whose order does not exist is refunded. It reads the
// record of every captured payment.
func (s *Service) SweepPayments(ctx context.Context) (Report, error) {
	return s.sweepPayments(ctx, false)
}

// sweepPayments is SweepPayments; incremental leaves out the payments this
// instance already saw accounted for (the scheduled run: during a sale it
// would otherwise read every payment of the window again each minute) and
// reads the others' records a hundred to a request.
func (s *Service) sweepPayments(ctx context.Context, incremental bool) (Report, error) {
	r := Report{EventID: ProvidersScope, StartedAt: s.clock.Now(), Findings: []Finding{}}
	since := r.StartedAt.Add(-SweepWindow)
	for _, prov := range s.providers {
		ps, err := s.payments.PaymentsSince(ctx, prov, since)
		if err != nil {
			return Report{}, err
		}
		s.mu.Lock()
		known := s.accounted[prov]
		s.mu.Unlock()
		var ask []string
		for _, p := range ps {
			if p.Succeeded && !p.Refunded && !(incremental && known[p.ID]) {
				ask = append(ask, p.ID)
			}
		}
		recs, err := s.store.PaymentRecords(ctx, prov, ask)
		if err != nil {
			return Report{}, err
		}
		seen := make(map[string]bool, len(ps))
		for _, p := range ps {
			r.Checked.Payments++
			if !p.Succeeded || p.Refunded {
				continue
			}
			if incremental && known[p.ID] {
				seen[p.ID] = true
				continue
			}
			rec, ok := recs[p.ID]
			if ok && (rec.Role == orders.RolePays || rec.Refunded) {
				seen[p.ID] = true // final: a record's role never changes, nor does a refund undo
				continue
			}
			f := Finding{Kind: UnaccountedPay, OrderID: p.OrderID, Detail: prov + " " + p.ID}
			_, err = s.store.GetOrder(ctx, p.OrderID)
			switch {
			case fault.Is(err, fault.NotFound) || p.OrderID == "":
				f.Kind = OrphanPayment
				if _, err := s.orders.RefundOrphan(ctx, p); err == nil {
					f.Repaired = true
				}
			case err != nil:
				return Report{}, err
			default:
				if _, err := s.orders.PaymentCaptured(ctx, p); err == nil {
					f.Repaired = true
				}
			}
			r.Findings = append(r.Findings, f)
		}
		// Only the window's payments are kept: the set stays as small as
		// the provider's list.
		s.mu.Lock()
		s.accounted[prov] = seen
		s.mu.Unlock()
	}
	r.FinishedAt = s.clock.Now()
	for _, f := range r.Findings {
		r.Found++
		if f.Repaired {
			r.Repaired++
		}
	}
	return r, nil
}

// overdue drives every open order past its deadline (plus grace) on.
func (s *Service) overdue(ctx context.Context, ev *catalog.Event, r *Report) error {
	now := s.clock.Now()
	list, err := s.store.OverdueOrders(ctx, ev.ID, now.Add(-s.grace), 10_000)
	if err != nil {
		return err
	}
	for _, stale := range list {
		o, err := s.store.GetOrder(ctx, stale.ID) // the index may lag
		if err != nil {
			return err
		}
		r.Checked.Orders++
		if f, ok := s.repairOrder(ctx, o); ok {
			r.Findings = append(r.Findings, f)
		}
	}
	return nil
}

func (s *Service) repairOrder(ctx context.Context, o orders.Order) (Finding, bool) {
	f := Finding{OrderID: o.ID}
	fail := func(kind string, err error) (Finding, bool) {
		f := Finding{Kind: RepairFailed, OrderID: o.ID, Detail: kind + " not repaired"}
		s.failed(ctx, &f, kind, err)
		return f, true
	}
	switch o.Status {
	case orders.PendingPayment:
		if o.ExpiresAt.Add(s.grace).After(s.clock.Now()) {
			return f, false
		}
		applied, err := s.applyCaptured(ctx, o)
		if err != nil {
			return fail(LostPayment, err)
		}
		if applied {
			f.Kind, f.Repaired, f.Detail = LostPayment, true, "the provider had captured it; applied"
			return f, true
		}
		if _, err := s.inv.Release(ctx, o.ID, orders.Expired); err != nil {
			return fail(StuckHold, err)
		}
		f.Kind, f.Repaired, f.Detail = StuckHold, true, "past expiry and unpaid; released"
		return f, true
	case orders.Paid, orders.IssueFailed:
		if err := s.issuer.IssueTickets(ctx, o.ID); err != nil {
			return fail(TicketsMissing, err)
		}
		f.Kind, f.Repaired, f.Detail = TicketsMissing, true, "tickets issued"
		return f, true
	case orders.RefundPending:
		// A late payment refunded on arrival or an organizer's refund that
		// a crash or a provider outage left half-done: revoke the tickets,
		// refund the order's payment (same idempotency key as the first
		// attempt), mark it REFUNDED.
		if _, err := s.orders.CompleteRefund(ctx, o.ID); err != nil {
			return fail(RefundIncomplete, fmt.Errorf("refund not completed: %w", err))
		}
		f.Kind, f.Repaired, f.Detail = RefundIncomplete, true, "tickets revoked, payment refunded, order REFUNDED"
		return f, true
	default:
		if o.Status.Terminal() {
			return f, false
		}
		f.Kind, f.Detail = UnknownOrderState, string(o.Status)
		return f, true
	}
}

// applyCaptured asks the providers for the order's payments and applies
// every captured one (idempotent). It reports whether any was captured.
func (s *Service) applyCaptured(ctx context.Context, o orders.Order) (bool, error) {
	providers := s.providers
	if o.Provider != "" {
		providers = []string{o.Provider}
	}
	captured := false
	for _, prov := range providers {
		ps, err := s.payments.PaymentsForOrder(ctx, prov, o.ID)
		if err != nil {
			return false, err
		}
		for _, p := range ps {
			if !p.Succeeded {
				continue
			}
			captured = true
			if _, err := s.orders.PaymentCaptured(ctx, p); err != nil {
				return true, err
			}
		}
	}
	return captured, nil
}

// seats cross-checks every reserved seat with its order.
func (s *Service) seats(ctx context.Context, ev *catalog.Event, r *Report) error {
	var ids []string
	for i := range ev.Sections {
		ids = append(ids, ev.Sections[i].SeatIDs()...)
	}
	return s.crossCheck(ctx, ev, ids, r)
}

// crossCheck reads the seats ids (consistently) and their orders: a seat
// HELD for an order that no longer holds it is freed, one SOLD to an order
// that has not paid is for a human.
func (s *Service) crossCheck(ctx context.Context, ev *catalog.Event, ids []string, r *Report) error {
	if len(ids) == 0 {
		return nil
	}
	holders, err := s.store.SeatHolders(ctx, ev.ID, ids)
	if err != nil {
		return err
	}
	r.Checked.Seats += len(holders)
	var orderIDs []string
	seen := map[string]bool{}
	for _, h := range holders {
		if h.OrderID != "" && !seen[h.OrderID] {
			seen[h.OrderID] = true
			orderIDs = append(orderIDs, h.OrderID)
		}
	}
	os, err := s.store.OrdersByID(ctx, orderIDs)
	if err != nil {
		return err
	}
	for _, id := range ids {
		h := holders[id]
		o, known := os[h.OrderID]
		switch h.State {
		case catalog.SeatHeld:
			if known && o.Status == orders.PendingPayment {
				continue // the overdue pass handles expiry
			}
			f := Finding{Kind: OrphanHeldSeat, Seat: id, OrderID: h.OrderID, Detail: "order is " + string(o.Status)}
			if err := s.store.ReleaseOrphanSeat(ctx, ev.ID, id, h.OrderID); err == nil {
				f.Repaired = true
			} else if !fault.Is(err, fault.ConditionFailed) {
				return err
			}
			r.Findings = append(r.Findings, f)
		case catalog.SeatSold:
			if known && (o.Status == orders.Paid || o.Status == orders.Issued || o.Status == orders.IssueFailed) {
				continue
			}
			if known && o.Status == orders.RefundPending && o.RefundHoldsPlaces {
				continue // a refund keeps its places until its tickets are revoked
			}
			r.Findings = append(r.Findings, Finding{Kind: SoldSeatUnpaid, Seat: id, OrderID: h.OrderID, Detail: "order is " + string(o.Status)})
		}
	}
	return nil
}

// issuedTickets stores the tickets of those of list that are ISSUED but
// have none: the order says the fan has tickets, so they must exist.
func (s *Service) issuedTickets(ctx context.Context, list []orders.Order, r *Report) error {
	var ids []string
	for _, o := range list {
		if o.Status == orders.Issued {
			ids = append(ids, o.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	have, err := s.store.TicketManifests(ctx, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if have[id] {
			continue
		}
		o, err := s.store.GetOrder(ctx, id) // the index may lag
		if err != nil {
			return err
		}
		if o.Status != orders.Issued {
			continue
		}
		f := Finding{Kind: IssuedNoTickets, OrderID: id, Detail: "ISSUED with no tickets stored"}
		switch {
		case s.tickets == nil:
			f.Detail += "; no ticket service to issue them"
		default:
			if _, err := s.tickets.Issue(ctx, o); err != nil {
				s.failed(ctx, &f, IssuedNoTickets, err)
			} else {
				f.Repaired, f.Detail = true, "tickets issued"
			}
		}
		r.Findings = append(r.Findings, f)
	}
	return nil
}

// gaCounts compares each GA section's counters with the event's orders:
// held must be the places of PENDING_PAYMENT orders, sold those of paid
// ones, and the three must add up to the capacity. The counters are read
// before and after the orders; a section whose counters moved meanwhile is
// busy and left for the next sweep rather than reported on a torn read.
func (s *Service) gaCounts(ctx context.Context, ev *catalog.Event, all []orders.Order, r *Report) error {
	type counts struct{ available, held, sold int }
	want := map[string]*counts{}
	for _, o := range all {
		if len(o.GATakes) == 0 {
			continue
		}
		c := want[o.Section]
		if c == nil {
			c = &counts{}
			want[o.Section] = c
		}
		for _, t := range o.GATakes {
			switch o.Status {
			case orders.PendingPayment:
				c.held += t.Quantity
			case orders.Paid, orders.Issued, orders.IssueFailed:
				c.sold += t.Quantity
			}
		}
	}
	for i := range ev.Sections {
		sec := &ev.Sections[i]
		if sec.Kind != catalog.GA {
			continue
		}
		shards := len(catalog.GAShardCapacities(sec.Capacity))
		var got [2]counts
		for j := range got {
			a, h, so, err := s.store.GACounts(ctx, ev.ID, sec.ID, shards)
			if err != nil {
				return err
			}
			got[j] = counts{a, h, so}
		}
		// The orders were read before these two reads: equal reads mean no
		// hold or payment landed while the counters were being read.
		if got[0] != got[1] {
			continue
		}
		w := counts{}
		if c := want[sec.ID]; c != nil {
			w = *c
		}
		g := got[1]
		if g.held == w.held && g.sold == w.sold && g.available+g.held+g.sold == sec.Capacity {
			continue
		}
		r.Findings = append(r.Findings, Finding{Kind: GACountDrift, Detail: fmt.Sprintf(
			"section %s: counters available %d, held %d, sold %d; orders hold %d and bought %d of capacity %d",
			sec.ID, g.available, g.held, g.sold, w.held, w.sold, sec.Capacity)})
	}
	return nil
}

// refundedTickets revokes any still-valid ticket of an organizer refund of
// the last RevokeWindow that has completed (a pending one is revoked by its
// completion).
func (s *Service) refundedTickets(ctx context.Context, ev *catalog.Event, r *Report) error {
	if s.tickets == nil {
		return nil
	}
	ids, err := s.store.RecentRefunds(ctx, ev.ID, s.clock.Now().Add(-RevokeWindow))
	if err != nil || len(ids) == 0 {
		return err
	}
	r.refunds = len(ids)
	os, err := s.store.OrdersByID(ctx, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if o, ok := os[id]; !ok || o.Status != orders.Refunded {
			continue
		}
		ts, err := s.tickets.ForOrder(ctx, id)
		if err != nil {
			return err
		}
		valid := 0
		for _, t := range ts {
			if t.Status != tickets.StatusRevoked {
				valid++
			}
		}
		if valid == 0 {
			continue
		}
		f := Finding{Kind: RefundedTickets, OrderID: id, Detail: fmt.Sprintf("%d of %d tickets were still valid", valid, len(ts))}
		if err := s.tickets.Revoke(ctx, id, orders.RevokeReason); err != nil {
			s.failed(ctx, &f, RefundedTickets, err)
		} else {
			f.Repaired = true
		}
		r.Findings = append(r.Findings, f)
	}
	return nil
}

// emit publishes a run's findings: one count per kind, and the two gauges
// the alarms watch (orders whose tickets are missing — ISSUE_FAILED or
// PAID past the deadline — and refunds still pending past theirs).
func (s *Service) emit(r Report) {
	m := s.metrics
	if m == nil {
		return
	}
	kinds := map[string]int{}
	for _, f := range r.Findings {
		kinds[f.Kind]++
	}
	for k, n := range kinds {
		m.Count(metrics.ReconcileFindings, float64(n), map[string]string{metrics.DimKind: k})
	}
	m.Emit(nil, metrics.Value{Name: metrics.OrdersIssueFailed, Unit: metrics.Count, Value: float64(kinds[TicketsMissing])},
		metrics.Value{Name: metrics.OrdersRefundPending, Unit: metrics.Count, Value: float64(kinds[RefundIncomplete])})
}
