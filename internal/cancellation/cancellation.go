// Package cancellation cancels an event: the sale closes at once, open
// holds are released, every paid order is refunded exactly once (its
// tickets revoked first) and every buyer is told by email. The refunds are
// a saga driven by the scheduled reconciler (ADR 20): each run gives a
// cancelled event one pass, under a lease, paced to the configured refunds
// per second, and the pass's progress is stored for the console. Every
// step is an idempotent call of the ordinary paths (inventory.Release,
// orders.RefundOrder, the mail queue's once-per-cause markers), so a crash
// or a provider outage only delays the next pass.
package cancellation

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/mail"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/retry"
)

// Saga states.
const (
	// Refunding: releasing holds and refunding paid orders.
	Refunding = "REFUNDING"
	// Notifying: every paid order is refunded; the buyers' notices are
	// being queued.
	Notifying = "NOTIFYING"
	// Done: nothing is left to refund or tell; later passes change nothing.
	Done = "DONE"
)

// Progress is what the console shows of a cancellation: refunded n of N,
// failures and retries.
type Progress struct {
	EventID     string    `json:"eventId"`
	Reason      string    `json:"reason"`
	RequestedBy string    `json:"requestedBy"`
	RequestedAt time.Time `json:"requestedAt"`
	State       string    `json:"state"`
	// Orders is N, the paid orders (refunded or to refund); Refunded is n.
	Orders   int `json:"orders"`
	Refunded int `json:"refunded"`
	// Failing is how many refunds did not go through in the last pass
	// (the provider down, say); each is tried again in the next.
	Failing int `json:"failing"`
	// Retries counts refund attempts of orders a previous attempt had
	// left REFUND_PENDING.
	Retries int `json:"retries"`
	// HoldsReleased counts unpaid holds released by the saga.
	HoldsReleased int `json:"holdsReleased"`
	// Notified is how many buyers' notices are queued (one per paid
	// order; the mailer sends each once).
	Notified int `json:"notified"`
	Passes   int `json:"passes"`
	// LastErrorCode is why the last pass stopped early, if it did.
	LastErrorCode apperr.Code `json:"lastErrorCode,omitempty"`
	LastPassAt    time.Time   `json:"lastPassAt,omitzero"`
	FinishedAt    time.Time   `json:"finishedAt,omitzero"`
}

// Store keeps the progress and the postponement notices' cursor, and
// lists the event's orders.
type Store interface {
	StartCancellation(ctx context.Context, eventID string, doc []byte) (bool, error)
	Cancellation(ctx context.Context, eventID string) ([]byte, error)
	LeaseCancellation(ctx context.Context, eventID string, now, until time.Time) (bool, error)
	SaveCancellation(ctx context.Context, eventID string, doc []byte) error
	// EventOrders lists every order of the event (an index: eventually
	// consistent; each order is read again before it is acted on).
	EventOrders(ctx context.Context, eventID string) ([]orders.Order, error)
	PostponementStore
}

// Events reads and cancels events (catalog.Service).
type Events interface {
	Get(ctx context.Context, id string) (catalog.Event, error)
	Cancel(ctx context.Context, id, reason, by string) (catalog.Event, bool, error)
}

// Refunder refunds a paid order (orders.Service.RefundOrder): idempotent,
// REFUND_PENDING when a step after the first did not go through.
type Refunder interface {
	RefundOrder(ctx context.Context, orderID, by, reason string) (orders.Order, error)
}

// Releaser releases an unpaid hold (inventory.Service.Release); an order
// that is not PENDING_PAYMENT is returned as it is.
type Releaser interface {
	Release(ctx context.Context, orderID string, to orders.Status) (orders.Order, error)
}

// Options configures the Service; zero values take defaults.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
	// RefundsPerSecond paces a pass's refunds (default 20). Each refund is
	// a few provider requests (the refund, and the provider's own reads);
	// Stripe allows 100 requests/s in live mode and 25 in test mode, and
	// the sale's other traffic shares that budget.
	RefundsPerSecond float64
	// Budget is how long one pass works before it saves its progress and
	// leaves the rest to the next run (default 4 minutes, inside the
	// reconciler's 5-minute timeout).
	Budget time.Duration
	// Lease keeps other passes of the event away; it must outlast the
	// function that runs the pass (default 6 minutes).
	Lease time.Duration
	// Settle is how long after the cancellation a pass must start before
	// the saga may end: holds placed with an event read cached before the
	// cancellation (catalog.CachedEvents, 2 s) and requests in flight
	// (10 s at most) must have landed. Default 30 s.
	Settle time.Duration
	// MaxFailuresInARow ends a pass early when the provider keeps
	// refusing (an outage): the next run tries again. Default 10.
	MaxFailuresInARow int
	// Sleep waits for d or until ctx ends (default: a timer).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Service cancels events and drives their refunds.
type Service struct {
	store    Store
	events   Events
	refunds  Refunder
	holds    Releaser
	mail     mail.Queue
	clock    clock.Clock
	log      *slog.Logger
	interval time.Duration
	budget   time.Duration
	lease    time.Duration
	settle   time.Duration
	maxFails int
	sleep    func(ctx context.Context, d time.Duration) error
}

// New builds the service.
func New(store Store, events Events, refunds Refunder, holds Releaser, queue mail.Queue, o Options) *Service {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.RefundsPerSecond <= 0 {
		o.RefundsPerSecond = 20
	}
	if o.Budget <= 0 {
		o.Budget = 4 * time.Minute
	}
	if o.Lease <= 0 {
		o.Lease = 6 * time.Minute
	}
	if o.Settle <= 0 {
		o.Settle = 30 * time.Second
	}
	if o.MaxFailuresInARow <= 0 {
		o.MaxFailuresInARow = 10
	}
	if o.Sleep == nil {
		o.Sleep = retry.Sleep
	}
	return &Service{store: store, events: events, refunds: refunds, holds: holds, mail: queue, clock: o.Clock, log: o.Logger,
		interval: time.Duration(float64(time.Second) / o.RefundsPerSecond), budget: o.Budget, lease: o.Lease,
		settle: o.Settle, maxFails: o.MaxFailuresInARow, sleep: o.Sleep}
}

// ValidReason checks a cancellation's reason: required (fans are told
// it), at most MaxRefundReason characters, no control characters.
func ValidReason(reason string) error {
	if reason == "" {
		return apperr.New(apperr.Invalid, "reason is required: the buyers are told it")
	}
	return orders.ValidRefundReason(reason)
}

// Cancel cancels the event and starts its saga. It reports whether this
// call cancelled it; a cancelled event answers its progress and changes
// nothing (idempotent).
func (s *Service) Cancel(ctx context.Context, eventID, reason, by string) (Progress, bool, error) {
	if err := ValidReason(reason); err != nil {
		return Progress{}, false, err
	}
	ev, created, err := s.events.Cancel(ctx, eventID, reason, by)
	if err != nil {
		return Progress{}, false, err
	}
	p, err := s.start(ctx, &ev)
	return p, created, err
}

// start stores the first progress of a cancelled event, or reads the one
// stored: the saga's record exists once, however often it is started.
func (s *Service) start(ctx context.Context, ev *catalog.Event) (Progress, error) {
	p := Progress{EventID: ev.ID, Reason: ev.Cancelled.Reason, RequestedBy: ev.Cancelled.By,
		RequestedAt: ev.Cancelled.At, State: Refunding}
	doc, _ := json.Marshal(p) // plain fields: cannot fail
	created, err := s.store.StartCancellation(ctx, ev.ID, doc)
	if err != nil || created {
		return p, err
	}
	return s.read(ctx, ev.ID)
}

func (s *Service) read(ctx context.Context, eventID string) (Progress, error) {
	doc, err := s.store.Cancellation(ctx, eventID)
	if err != nil {
		return Progress{}, err
	}
	if doc == nil {
		return Progress{}, apperr.New(apperr.NotFound, "event %s is not cancelled", eventID)
	}
	var p Progress
	if err := json.Unmarshal(doc, &p); err != nil {
		return Progress{}, fmt.Errorf("cancellation %s: %w", eventID, err)
	}
	return p, nil
}

// Progress is the event's cancellation progress; NOT_FOUND when the event
// is not cancelled.
func (s *Service) Progress(ctx context.Context, eventID string) (Progress, error) {
	ev, err := s.events.Get(ctx, eventID)
	if err != nil {
		return Progress{}, err
	}
	if ev.Cancelled == nil {
		return Progress{}, apperr.New(apperr.NotFound, "event %s is not cancelled", eventID)
	}
	// A crash between the event's write and the progress's leaves no
	// progress yet: the next pass creates it.
	return s.start(ctx, &ev)
}

// Run is one pass of a cancelled event's saga; the reconciler calls it on
// every run for every cancelled event. A pass that finds another holding
// the lease, or the saga done, answers the stored progress.
func (s *Service) Run(ctx context.Context, ev *catalog.Event) (Progress, error) {
	if ev.Cancelled == nil {
		return Progress{}, apperr.New(apperr.NotFound, "event %s is not cancelled", ev.ID)
	}
	p, err := s.start(ctx, ev)
	if err != nil || p.State == Done {
		return p, err
	}
	started := s.clock.Now()
	ok, err := s.store.LeaseCancellation(ctx, ev.ID, started, started.Add(s.lease))
	if err != nil || !ok {
		return p, err
	}
	// Read again under the lease: the pass that held it may have saved.
	if p, err = s.read(ctx, ev.ID); err != nil {
		return p, err
	}
	ps := &pass{Service: s, ev: ev, p: &p, started: started, deadline: started.Add(s.budget)}
	runErr := ps.run(ctx)
	p.Passes++
	p.LastPassAt = s.clock.Now()
	doc, _ := json.Marshal(p)
	if err := s.store.SaveCancellation(ctx, ev.ID, doc); err != nil {
		return p, fmt.Errorf("cancellation %s: save progress: %w", ev.ID, err)
	}
	s.log.InfoContext(ctx, "cancellation pass", "eventId", ev.ID, "state", p.State, "orders", p.Orders,
		"refunded", p.Refunded, "failing", p.Failing, "retries", p.Retries, "notified", p.Notified)
	return p, runErr
}

// pass is one run of the saga over the event's orders.
type pass struct {
	*Service
	ev       *catalog.Event
	p        *Progress
	started  time.Time
	deadline time.Time
	next     time.Time // when the next refund may start
	fails    int       // refunds failed in a row
}

// paid reports the states of an order whose payment was captured.
func paid(st orders.Status) bool {
	switch st {
	case orders.Paid, orders.Issued, orders.IssueFailed, orders.RefundPending, orders.Refunded:
		return true
	}
	return false
}

func (ps *pass) run(ctx context.Context) error {
	list, err := ps.store.EventOrders(ctx, ps.ev.ID)
	if err != nil {
		return fmt.Errorf("cancellation %s: list orders: %w", ps.ev.ID, err)
	}
	slices.SortFunc(list, func(a, b orders.Order) int { return strings.Compare(a.ID, b.ID) })
	ps.p.LastErrorCode = ""
	if ps.p.State == Refunding {
		complete, err := ps.refund(ctx, list)
		if err != nil || !complete {
			return err
		}
		ps.p.State = Notifying
	}
	return ps.notify(ctx, list)
}

// refund releases every unpaid hold and refunds every paid order in list,
// recounting the progress. It reports whether the saga's refunds are
// complete: every order visited, none left open, and the pass started
// late enough that no hold can still arrive (Settle).
func (ps *pass) refund(ctx context.Context, list []orders.Order) (bool, error) {
	n, refunded, failing := 0, 0, 0
	complete := !ps.started.Before(ps.ev.Cancelled.At.Add(ps.settle))
	stopped := false
	for i := range list {
		o := list[i]
		if !stopped && (ps.clock.Now().After(ps.deadline) || ctx.Err() != nil) {
			stopped = true
		}
		if stopped {
			// Counted as listed; the next pass handles it.
			if paid(o.Status) {
				n++
			}
			if o.Status == orders.Refunded {
				refunded++
			}
			continue
		}
		cur, err := ps.settleOrder(ctx, o)
		if err != nil {
			ps.p.LastErrorCode = apperr.CodeOf(err)
			ps.log.WarnContext(ctx, "cancellation: order not settled; the next pass retries it", "eventId", ps.ev.ID,
				"orderId", o.ID, "code", ps.p.LastErrorCode, "err", err)
			cur = o
			if o.Status == orders.PendingPayment {
				complete = false
			}
		}
		// The notices that may follow in this pass read the order as it
		// is now, not as the listing had it.
		list[i] = cur
		if paid(cur.Status) {
			n++
		}
		switch {
		case cur.Status == orders.Refunded:
			refunded++
			ps.fails = 0
		case paid(cur.Status):
			failing++
			complete = false
			ps.fails++
			if ps.fails >= ps.maxFails {
				// The provider is down or refusing: stop hammering it.
				ps.log.WarnContext(ctx, "cancellation: refunds keep failing; pass ends early", "eventId", ps.ev.ID, "inARow", ps.fails)
				stopped = true
			}
		case cur.Status == orders.PendingPayment:
			complete = false
		}
	}
	ps.p.Orders, ps.p.Refunded, ps.p.Failing = n, refunded, failing
	return complete && !stopped, ctx.Err()
}

// settleOrder brings one order to its end under the cancellation: an
// unpaid hold released, a paid order refunded. It answers the order as it
// is afterwards. A payment racing the release makes the order paid, and
// it is refunded in the same call.
func (ps *pass) settleOrder(ctx context.Context, o orders.Order) (orders.Order, error) {
	if o.Status == orders.PendingPayment {
		cur, err := ps.holds.Release(ctx, o.ID, orders.Cancelled)
		if err != nil {
			return o, err
		}
		if cur.Status == orders.Cancelled && o.Status == orders.PendingPayment {
			ps.p.HoldsReleased++
		}
		o = cur
	}
	if !paid(o.Status) || o.Status == orders.Refunded {
		return o, nil
	}
	if err := ps.pace(ctx); err != nil {
		return o, err
	}
	if o.Status == orders.RefundPending {
		ps.p.Retries++
	}
	return ps.refunds.RefundOrder(ctx, o.ID, ps.ev.Cancelled.By, ps.ev.Cancelled.Reason)
}

// pace waits for the next refund's slot: at most RefundsPerSecond.
func (ps *pass) pace(ctx context.Context) error {
	now := ps.clock.Now()
	if ps.next.After(now) {
		if err := ps.sleep(ctx, ps.next.Sub(now)); err != nil {
			return err
		}
		now = ps.next
	}
	ps.next = now.Add(ps.interval)
	return nil
}

// notify queues the cancellation notice of every refunded order, from
// where the last pass stopped (orders sorted by id; a crash queues some
// again, and the mailer sends each cause once).
func (ps *pass) notify(ctx context.Context, list []orders.Order) error {
	var buyers []string
	for _, o := range list {
		// A late payment refunded on arrival names no requester: its payer
		// never held a ticket, and leaving it out keeps the list fixed
		// while late payments come in.
		if o.Status == orders.Refunded && o.RefundRequestedBy != "" {
			buyers = append(buyers, o.ID)
		}
	}
	for ps.p.Notified < len(buyers) {
		if ps.clock.Now().After(ps.deadline) {
			return nil
		}
		if err := ps.mail.Enqueue(ctx, mail.Request{OrderID: buyers[ps.p.Notified], Kind: mail.EventCancelled}); err != nil {
			ps.p.LastErrorCode = apperr.CodeOf(err)
			return fmt.Errorf("cancellation %s: queue notice: %w", ps.ev.ID, err)
		}
		ps.p.Notified++
	}
	ps.p.State, ps.p.FinishedAt = Done, ps.clock.Now()
	return nil
}
