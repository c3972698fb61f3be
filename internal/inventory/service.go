package inventory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/stararena/stararena/internal/admission"
	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/retry"
)

// HoldPlan is one hold transaction: every item succeeds or none does.
type HoldPlan struct {
	Order orders.Order
	// Seats flip AVAILABLE → HELD (reserved sections).
	Seats []string
	// GA takes places from counter shards (never below zero).
	GA []orders.GATake
	// LimitMax is the account's per-event ticket limit (held + bought).
	LimitMax int
	// AdmissionID is consumed: a token works for one hold only.
	AdmissionID      string
	AdmissionExpires time.Time
	// MarkPlace, when the admission came from the fan's place in the
	// event's waiting room (Places.FromPlace), marks that place's
	// admission used in the same transaction, on the condition that the
	// place holds this admission.
	MarkPlace bool
	// Idempotency, when set, records the key so a retry finds this order.
	Idempotency *IdempotencyRecord
	// Rate, when set, counts this request in the hold rate limit's window,
	// on the condition that the window's count is below its limit: the
	// request that makes an order counts itself in the same transaction.
	Rate *RateCount
	// Cancelled counts this request's transactions DynamoDB answered by
	// cancelling them. The store derives the transaction's request token
	// from the order, the plan and it: a retry after an unknown outcome
	// (an answer lost, a timeout) repeats the token, so DynamoDB answers
	// with the first success if there was one; a retry after a
	// cancellation is a new request.
	Cancelled int
}

// IdempotencyRecord maps (account, key) to the first answer.
type IdempotencyRecord struct {
	Account     string
	Key         string
	Fingerprint string
	OrderID     string
}

// RateCount is a hold request's count in the hold rate limit
// (ratelimit.Limiter): its fixed window, when the count may be
// forgotten, and the calls allowed per window.
type RateCount struct {
	Window, Expires time.Time
	Limit           int
}

// RequestCount is what counting a request that made no order found on
// the account's limit item.
type RequestCount struct {
	// Allowed: the window's count was below the limit, and now counts
	// this request; false: over the limit, nothing counted.
	Allowed bool
	// Places is what the account holds or bought for the event.
	Places int
	// Record is the request's Idempotency-Key's record, when a hold was
	// made with the key for this event.
	Record *IdempotencyRecord
}

// Conflict says which parts of a HoldPlan made the transaction fail. The
// store returns it inside a *fault.Error whose kind says what the failure
// as a whole is: fault.ConditionFailed when these parts are the reason,
// fault.Contention (another transaction touched the same items; the same
// plan may pass) or fault.Unavailable (throttled) when it is transient.
type Conflict struct {
	Seats []string // seats not AVAILABLE
	// SeatsComplete: Seats are every seat of the plan that was not
	// AVAILABLE (the server named each failed condition, or none could
	// have been left unnamed), so no read is needed to name them.
	SeatsComplete bool
	Shards        []int // GA shards without enough places
	Limit         bool  // the account limit (or, with Rate, the rate limit) would be exceeded
	Admission     bool  // the admission token was used already
	Idempotency   bool  // the Idempotency-Key exists
	Place         bool  // the fan's place does not hold this admission (MarkPlace)
}

func (c *Conflict) Error() string { return fmt.Sprintf("hold conflict: %+v", *c) }

// Store is the persistence the inventory needs.
type Store interface {
	// CreateHold runs the plan as one transaction. A cancelled transaction
	// returns a fault (see Conflict) wrapping a *Conflict.
	CreateHold(ctx context.Context, p HoldPlan) error
	// SeatHolders reads seats with strongly consistent reads.
	SeatHolders(ctx context.Context, eventID string, ids []string) (map[string]SeatState, error)
	// SeatStates reads seats' states (no holders) with eventually
	// consistent reads, at half the read units: for aiming a hold and for
	// naming lost seats, never for deciding anything the hold's
	// transaction does not check again.
	SeatStates(ctx context.Context, eventID string, ids []string) (map[string]SeatState, error)
	// GAShards returns the available places of each shard.
	GAShards(ctx context.Context, eventID, section string, shards int) ([]int, error)
	// GetOrder: fault.NotFound for an unknown id.
	GetOrder(ctx context.Context, id string) (orders.Order, error)
	// PeekOrder is GetOrder with an eventually consistent read: for
	// showing an order, never for deciding a change to it.
	PeekOrder(ctx context.Context, id string) (orders.Order, error)
	GetIdempotency(ctx context.Context, account, key string) (IdempotencyRecord, bool, error)
	// CountHoldRequest counts a hold request that made no order in its
	// rate window (over the limit: nothing counted, Allowed false) and
	// returns the account's limit item's places and the Idempotency-Key's
	// record for this event, in one request.
	CountHoldRequest(ctx context.Context, eventID, account string, r RateCount, idemKey string) (RequestCount, error)
	// ReleaseHold moves a PENDING_PAYMENT order at version to status and
	// returns its held seats (those listed in seats) and GA places, and the
	// account's limit credits, atomically. fault.Contention means the
	// order or one of its places changed meanwhile: read again.
	ReleaseHold(ctx context.Context, o orders.Order, to orders.Status, seats []string, now time.Time) error
	ListOrders(ctx context.Context, account string, limit int) ([]orders.Order, error)
}

// SeatState is a seat's state and, when held or sold, its order.
type SeatState struct {
	State   string
	OrderID string
}

// Events reads events and their availability projections.
type Events interface {
	Get(ctx context.Context, id string) (catalog.Event, error)
	SectionStates(ctx context.Context, ev *catalog.Event, section string) (string, error)
	// SectionAvailable is the places the projection shows available in a
	// section: a hold refuses SOLD_OUT without reading more when it is
	// zero, and never trusts it to grant anything.
	SectionAvailable(ctx context.Context, ev *catalog.Event, section string) (int, error)
}

// Options configures the service.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
	Rand   *rand.Rand
	// Attempts bounds how often one hold is retried after a conflict it can
	// route around (another best-available block, another GA shard).
	Attempts int
	// Retry paces retries after contention or throttling (default 5
	// attempts, waits of up to 5 ms doubling to 100 ms). A hold may wait
	// before each of its 2×Attempts plans whatever Retry.Attempts says.
	// Retry.Bound limits the whole hold, the SDK's retries included, to
	// Retry.Budget and to a share of the caller's deadline.
	Retry retry.Policy
	// OnHold runs after a hold commits (not on an idempotent replay): it
	// starts the order workflow. Its failure is logged, not returned — the
	// hold stands and the reconciler releases it at expiry if unpaid.
	OnHold func(ctx context.Context, o orders.Order) error
	// Limiter (optional) bounds one account's hold requests per event
	// (RATE_LIMITED); it fails closed, UNAVAILABLE when it cannot count.
	// Each request counts once: in the transaction that makes its order,
	// or, when it makes none, in Store.CountHoldRequest.
	Limiter HoldLimiter
	// Timings (optional) receives each Hold call's Timing when it
	// returns, before the caller answers: load runs break hold latency
	// down with it.
	Timings func(Timing)
	// Places (optional) marks waiting-room admissions used inside the
	// hold's transaction; without it no place is marked.
	Places Places
}

// Places is the waiting room's part in a hold (waitroom.Service): a hold
// whose admission came from the fan's place marks the place used in its
// own transaction (HoldPlan.MarkPlace) instead of with a write after it,
// and counts the use for the organizer's report.
type Places interface {
	// FromPlace reports whether an admission to ev, by its id, was
	// claimed on a place of the event's waiting room. A wrong yes costs
	// one transaction more (the place's condition refuses it and the hold
	// goes on without the place); a wrong no leaves the place unmarked,
	// which the waiting room then counts as abandoned once the admission
	// expires.
	FromPlace(ev *catalog.Event, admissionID string) bool
	// Used counts a place whose admission a committed hold marked used.
	Used(ctx context.Context, eventID string)
}

// Limiter bounds how often one subject may call (ratelimit.Limiter).
type Limiter interface {
	Allow(ctx context.Context, subject string) error
}

// HoldLimiter is the hold rate limit (ratelimit.Limiter), counted by the
// hold's own writes: its window, its limit and its answers.
type HoldLimiter interface {
	Current() (start, expires time.Time)
	Max() int
	Refused(start time.Time) error
	Unreachable(ctx context.Context, err error) error
}

// Service holds and releases places.
type Service struct {
	store    Store
	events   Events
	tokens   *admission.Tokens
	clock    clock.Clock
	log      *slog.Logger
	attempts int
	retry    retry.Policy
	rngSeed  func() *rand.Rand
	onHold   func(ctx context.Context, o orders.Order) error
	limiter  HoldLimiter
	timings  func(Timing)
	places   Places
	// taken remembers seats this instance saw taken that the availability
	// projection may not show yet, so a warm instance does not aim at them
	// again; it forgets them after the projection's freshness window.
	taken *takenSeats
}

// NewService builds the inventory service.
func NewService(store Store, events Events, tokens *admission.Tokens, o Options) *Service {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Attempts <= 0 {
		o.Attempts = 8
	}
	if o.Retry.Attempts <= 0 {
		o.Retry.Attempts = 5
	}
	if o.Retry.Base <= 0 {
		o.Retry.Base, o.Retry.Cap = 5*time.Millisecond, 100*time.Millisecond
	}
	s := &Service{store: store, events: events, tokens: tokens, clock: o.Clock, log: o.Logger, attempts: o.Attempts, retry: o.Retry, onHold: o.OnHold, limiter: o.Limiter, timings: o.Timings, places: o.Places,
		taken: &takenSeats{clock: o.Clock, ttl: 5 * time.Second, seen: map[string]map[int]time.Time{},
			free: map[string]map[int]time.Time{}, freeTTL: freeReadTTL}}
	s.rngSeed = func() *rand.Rand { return rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())) }
	if o.Rand != nil {
		s.rngSeed = func() *rand.Rand { return o.Rand }
	}
	return s
}

// Hold places a hold for account. idemKey may be empty.
//
// Errors: INVALID_REQUEST/UNPROCESSABLE (seats that do not exist),
// ADMISSION_INVALID, SALE_NOT_OPEN, LIMIT_EXCEEDED, SEATS_UNAVAILABLE (with
// details.seats), SOLD_OUT, IDEMPOTENCY_KEY_REUSED, RATE_LIMITED,
// UNAVAILABLE (DynamoDB kept cancelling for contention or throttling until
// the retry budget ran out, or the limiter's counter could not be reached).
func (s *Service) Hold(ctx context.Context, account, eventID string, req HoldRequest, idemKey string) (o orders.Order, err error) {
	if s.timings != nil {
		start := time.Now()
		t := &timing{t: Timing{Account: account, IdempotencyKey: idemKey}, start: start}
		ctx = context.WithValue(ctx, timingKey{}, t)
		defer func() {
			t.mu.Lock()
			t.t.Total, t.t.OrderID = time.Since(start), o.ID
			rec := t.t
			t.mu.Unlock()
			s.timings(rec)
		}()
	}
	return s.hold(ctx, account, eventID, req, idemKey)
}

func (s *Service) hold(ctx context.Context, account, eventID string, req HoldRequest, idemKey string) (orders.Order, error) {
	// Every call and retry of the hold, the SDK's included, shares one
	// budget inside the function's deadline: a DynamoDB that keeps
	// throttling makes the fan's answer 503 in time, not a timeout's 500.
	// The workflow start after the commit runs on ctx itself.
	parent := ctx
	ctx, cancel := s.retry.Bound(ctx)
	defer cancel()
	ev, err := s.events.Get(ctx, eventID)
	if err != nil {
		return orders.Order{}, err
	}
	fp := req.Fingerprint(eventID)
	// A retried request (its answer lost) must get the order its first
	// attempt made. The Idempotency-Key's record is put by the hold's own
	// transaction on the condition that it does not exist, so the record
	// is read only when this request cannot go ahead: a refusal below, or
	// the transaction's condition on the record (run). A first attempt,
	// nearly every request, costs no read of it.
	var rate *RateCount
	if s.limiter != nil {
		start, expires := s.limiter.Current()
		rate = &RateCount{Window: start, Expires: expires, Limit: s.limiter.Max()}
	}
	refuse := func(err error) (orders.Order, error) {
		if rate != nil {
			return s.countRefusal(ctx, account, eventID, idemKey, fp, *rate, err)
		}
		if idemKey != "" && !apperr.Is(err, apperr.IdempotencyReused) {
			if o, done, rerr := s.replay(ctx, account, idemKey, fp); done {
				return o, rerr
			}
		}
		return orders.Order{}, err
	}
	now := s.clock.Now()
	// In a presale only code holders got admission tokens (ADR 23), so the
	// token check below is the presale's check too.
	if ev.Cancelled != nil {
		return refuse(ev.ErrCancelled())
	}
	if st := ev.SaleState(now); st != catalog.SaleOpen && st != catalog.SalePresale {
		return refuse(apperr.New(apperr.SaleNotOpen, "the sale is %s", st).With("saleState", st))
	}
	claims, err := s.tokens.Verify(req.AdmissionToken, account, eventID)
	if err != nil {
		return refuse(err)
	}
	quantity := req.Quantity
	if len(req.Seats) > 0 {
		quantity = len(req.Seats)
	}
	if quantity > ev.MaxTicketsPerAccount {
		return refuse(apperr.New(apperr.LimitExceeded, "at most %d tickets per account for this event", ev.MaxTicketsPerAccount))
	}

	base := orders.Order{
		ID: uuid.NewString(), EventID: eventID, Account: account, Status: orders.PendingPayment,
		Currency: ev.Currency, ExpiresAt: now.Add(time.Duration(ev.HoldSeconds) * time.Second),
		CreatedAt: now, UpdatedAt: now, Version: 1, AdmissionID: claims.ID, Email: req.Email,
	}
	plan := HoldPlan{LimitMax: ev.MaxTicketsPerAccount, AdmissionID: claims.ID, AdmissionExpires: claims.ExpiresAt, Rate: rate,
		MarkPlace: s.places != nil && s.places.FromPlace(&ev, claims.ID)}
	if idemKey != "" {
		plan.Idempotency = &IdempotencyRecord{Account: account, Key: idemKey, Fingerprint: fp, OrderID: base.ID}
	}

	var planner func(attempt int, last *Conflict) (HoldPlan, error)
	switch {
	case len(req.Seats) > 0:
		planner, err = s.specificSeats(ctx, &ev, req.Seats, base, plan)
	default:
		sec, ok := ev.Section(req.Section)
		if !ok {
			return refuse(apperr.New(apperr.Unprocessable, "event has no section %q", req.Section))
		}
		if sec.Kind == catalog.GA {
			planner = s.gaPlaces(ctx, &ev, sec, req.Quantity, base, plan)
		} else {
			planner = s.bestAvailable(ctx, &ev, sec, req.Quantity, base, plan)
		}
	}
	if err != nil {
		return refuse(err)
	}
	o, made, placeMarked, keyFree, err := s.run(ctx, planner, account, idemKey, fp)
	if err != nil {
		if keyFree && rate == nil {
			// A transaction of this request found the key unrecorded:
			// no earlier attempt had made an order to replay.
			return orders.Order{}, busy(err, "the service is busy; try again")
		}
		return refuse(busy(err, "the service is busy; try again"))
	}
	if made {
		s.heldHere(&ev, o.Seats)
		start := time.Now()
		if placeMarked {
			s.places.Used(parent, eventID)
		}
		s.committed(parent, o)
		if t := timingOf(parent); t != nil {
			t.mu.Lock()
			t.t.AfterCommit += time.Since(start)
			t.mu.Unlock()
		}
	}
	return o, nil
}

// committed runs after a hold commits (not on an idempotent replay).
func (s *Service) committed(ctx context.Context, o orders.Order) {
	if s.onHold == nil {
		return
	}
	if err := s.onHold(ctx, o); err != nil {
		s.log.ErrorContext(ctx, "order workflow not started; the reconciler will release the hold if unpaid",
			"eventId", o.EventID, "orderId", o.ID, "err", err)
	}
}

// run executes plans until one commits or the conflict cannot be routed
// around. A conflict on named seats or shards is re-planned at once; a
// transient failure (contention, throttling) waits first, within the
// service's retry budget. made says whether this request made the order
// (false: an idempotent replay of another request's), placeMarked
// whether the transaction that made it marked the fan's place used.
// keyFree reports that a transaction was refused on its other conditions
// while its condition on the Idempotency-Key's record held (the store
// names a record that exists first): no order had been made under that
// key.
func (s *Service) run(ctx context.Context, planner func(int, *Conflict) (HoldPlan, error), account, idemKey, fp string) (_ orders.Order, made, placeMarked, keyFree bool, _ error) {
	var last *Conflict
	paced := s.retry
	paced.Attempts = s.attempts * 2
	wait := paced.Start()
	cancelled := 0
	// placeless: the fan's place refused this admission (one not claimed
	// on a place, such as a presale's): the next plans leave it out.
	placeless := false
	for attempt := 0; attempt < s.attempts*2; attempt++ {
		p, err := planner(attempt, last)
		if err != nil {
			return orders.Order{}, false, false, keyFree, err
		}
		p.Cancelled = cancelled
		p.MarkPlace = p.MarkPlace && !placeless
		sent := time.Now()
		err = s.store.CreateHold(ctx, p)
		timingOf(ctx).addTransaction(sent, time.Since(sent))
		if err == nil {
			s.log.InfoContext(ctx, "hold created", "eventId", p.Order.EventID, "orderId", p.Order.ID, "places", p.Order.Places(), "attempt", attempt+1)
			return p.Order, true, p.MarkPlace, false, nil
		}
		transient := fault.Retryable(err)
		c := &Conflict{}
		if errors.As(err, &c) {
			cancelled++
			// Only a refusal on conditions says the record's condition
			// held: a conflict or a throttle may name no item at all.
			keyFree = keyFree || (idemKey != "" && !c.Idempotency && fault.Is(err, fault.ConditionFailed))
		} else if !transient {
			return orders.Order{}, false, false, keyFree, fmt.Errorf("hold: %w", err)
		}
		if c.Place {
			s.log.InfoContext(ctx, "the admission is not a waiting-room place's; holding without marking one", "eventId", p.Order.EventID, "admissionId", p.AdmissionID)
			placeless = true
		}
		switch {
		case c.Idempotency:
			o, done, err := s.replay(ctx, account, idemKey, fp)
			if done || err != nil {
				// The order may be this request's own, its answer lost.
				return o, err == nil && o.ID == p.Order.ID, false, false, err
			}
			// Recorded and gone again cannot happen; treat as contention.
			transient = true
		case c.Admission:
			// An earlier attempt of this very request may have committed
			// with its answer lost, then been tried again with another
			// plan (the store's request token replays only the same plan):
			// its order is this request's.
			if o, err := s.store.GetOrder(ctx, p.Order.ID); err == nil && o.Account == account {
				s.log.InfoContext(ctx, "hold created; its answer was lost", "eventId", o.EventID, "orderId", o.ID, "attempt", attempt+1)
				return o, true, p.MarkPlace, false, nil
			}
			return orders.Order{}, false, false, keyFree, apperr.New(apperr.AdmissionInvalid, "this admission token has already been used").With("reason", admission.ReasonUsed)
		case c.Limit && p.Rate != nil:
			// The ticket limit or the rate limit: counting the refusal
			// tells which (countRefusal).
			return orders.Order{}, false, false, keyFree, &limitRefusal{places: p.Order.Places(), max: p.LimitMax, window: p.Rate.Window}
		case c.Limit:
			return orders.Order{}, false, false, keyFree, errLimitExceeded()
		case c.Place && len(c.Seats) == 0 && len(c.Shards) == 0:
			// Only the place refused: the same plan, without it, at once.
			continue
		}
		if transient {
			if werr := wait.Wait(ctx, err); werr != nil {
				return orders.Order{}, false, false, keyFree, busy(werr, "too much contention on these seats; try again")
			}
		}
		last = c
	}
	return orders.Order{}, false, false, keyFree, apperr.New(apperr.Unavailable, "too much contention on these seats; try again")
}

// busy translates a retry that gave up, or a budget that ran out while
// the caller's own context goes on, into UNAVAILABLE; a cancelled
// context stays as it is. An error that already has its code keeps it.
func busy(err error, msg string) error {
	var ae *apperr.Error
	switch {
	case errors.As(err, &ae):
		return err
	case errors.Is(err, retry.ErrExhausted), errors.Is(err, context.DeadlineExceeded):
		return apperr.Wrap(err, apperr.Unavailable, "%s", msg)
	}
	return err
}

func (s *Service) replay(ctx context.Context, account, key, fp string) (orders.Order, bool, error) {
	rec, ok, err := s.store.GetIdempotency(ctx, account, key)
	if err != nil || !ok {
		return orders.Order{}, false, err
	}
	if rec.Fingerprint != fp {
		return orders.Order{}, true, apperr.New(apperr.IdempotencyReused, "this Idempotency-Key was used for a different request")
	}
	o, err := s.store.GetOrder(ctx, rec.OrderID)
	if err != nil {
		return orders.Order{}, true, fmt.Errorf("replay %s: %w", rec.OrderID, err)
	}
	return o, true, nil
}

func (s *Service) specificSeats(ctx context.Context, ev *catalog.Event, seats []string, base orders.Order, plan HoldPlan) (func(int, *Conflict) (HoldPlan, error), error) {
	var amount int64
	for _, id := range seats {
		sec, ok := seatExists(ev, id)
		if !ok {
			return nil, apperr.New(apperr.Unprocessable, "seat %s does not exist at this event", id)
		}
		amount += sec.PriceCents
	}
	ids := append([]string(nil), seats...)
	sort.Strings(ids)
	return func(_ int, last *Conflict) (HoldPlan, error) {
		if last != nil && len(last.Seats) > 0 {
			return HoldPlan{}, s.seatsLost(ctx, ev.ID, ids, last)
		}
		p := plan
		p.Order = base
		p.Order.Seats = ids
		p.Order.SetPrice(ev.Pricing.Price(amount, len(ids)))
		p.Seats = ids
		return p, nil
	}, nil
}

// seatsLost builds SEATS_UNAVAILABLE naming every requested seat that
// refused. When the conflict may not name them all (a server that names
// only the first failed condition), it reads the requested seats to
// name every one that is not available now.
func (s *Service) seatsLost(ctx context.Context, eventID string, wanted []string, c *Conflict) error {
	lost := c.Seats
	if !c.SeatsComplete {
		if states, err := s.store.SeatStates(ctx, eventID, wanted); err == nil {
			var now []string
			for _, id := range wanted {
				if states[id].State != catalog.SeatAvailable {
					now = append(now, id)
				}
			}
			if len(now) > 0 {
				lost = now
			}
		}
	}
	lost = append([]string(nil), lost...)
	sort.Strings(lost)
	if len(lost) == 1 {
		return apperr.New(apperr.SeatsUnavailable, "seat %s was just taken", lost[0]).With("seats", lost)
	}
	return apperr.New(apperr.SeatsUnavailable, "%d of the seats you chose were just taken", len(lost)).With("seats", lost)
}

func (s *Service) bestAvailable(ctx context.Context, ev *catalog.Event, sec *catalog.Section, n int, base orders.Order, plan HoldPlan) func(int, *Conflict) (HoldPlan, error) {
	ix := newSectionIndex(sec)
	excluded := map[int]bool{}
	rng := s.rngSeed()
	var states string
	var tried []string
	return func(attempt int, last *Conflict) (HoldPlan, error) {
		if attempt == 0 {
			st, err := s.events.SectionStates(ctx, ev, sec.ID)
			if err != nil {
				return HoldPlan{}, err
			}
			states = st
			s.taken.apply(ev.ID, sec.ID, excluded)
		}
		contested := last != nil && len(last.Seats) > 0
		if contested {
			if attempt >= s.attempts {
				return HoldPlan{}, apperr.New(apperr.SeatsUnavailable, "seats in section %s are going fast; try again", sec.ID).With("seats", last.Seats)
			}
			for _, id := range tried {
				excluded[ix.pos(id)] = true
			}
			// The seats that refused are taken now: this instance's next
			// aims, other requests' too, leave them out.
			s.taken.learn(ev.ID, sec.ID, positions(ix, last.Seats))
		}
		var seats []string
		for look := 0; ; look++ {
			seats = bestAvailable(ix, states, n, excluded, attempt, rng)
			if seats == nil {
				return HoldPlan{}, soldOutOrFew(sec.ID, states, excluded, n)
			}
			if !contested || look >= 8 {
				break
			}
			// The projection was stale where we aimed before: check the
			// rows of the next aim with one read of the seats, so a retry
			// goes for seats that are free now — unless a read of this
			// instance found them all free a moment ago.
			if s.taken.confirmed(ev.ID, sec.ID, positions(ix, seats)) {
				break
			}
			free, err := s.excludeTaken(ctx, ev.ID, ix, seats, excluded)
			if err != nil {
				return HoldPlan{}, err
			}
			if free {
				break
			}
		}
		sort.Strings(seats)
		tried = seats
		p := plan
		p.Order = base
		p.Order.Seats, p.Order.Section = seats, sec.ID
		p.Order.SetPrice(ev.Pricing.Price(int64(n)*sec.PriceCents, n))
		p.Seats = seats
		return p, nil
	}
}

// excludeTaken reads the seats around aim (eventually consistent): in
// each row of aim, from 2n seats before its first seat to 2n after its
// last (one BatchGetItem of at most 25 keys for a block of up to four,
// instead of the whole row). It excludes those that are not available
// (remembering them for this instance's next requests) and reports
// whether all of aim is available. The margin lets the next aim, which
// leans towards the same rows, land on seats already read.
func (s *Service) excludeTaken(ctx context.Context, eventID string, ix *sectionIndex, aim []string, excluded map[int]bool) (bool, error) {
	type span struct{ lo, hi int }
	spans := map[string]*span{}
	for _, id := range aim {
		ref, ok := parseSeat(id)
		if !ok {
			continue
		}
		if sp := spans[ref.row]; sp == nil {
			spans[ref.row] = &span{ref.number, ref.number}
		} else {
			sp.lo, sp.hi = min(sp.lo, ref.number), max(sp.hi, ref.number)
		}
	}
	margin := 2 * len(aim)
	var ids []string
	for ri, r := range ix.sec.Rows {
		if sp := spans[r.ID]; sp != nil {
			for n := max(sp.lo-margin, 1); n <= min(sp.hi+margin, r.Seats); n++ {
				ids = append(ids, ix.id(ri, n))
			}
		}
	}
	// Eventually consistent: a seat taken a moment ago that the read
	// misses costs one more conflict, which the transaction reports; the
	// read aims, it decides nothing.
	holders, err := s.store.SeatStates(ctx, eventID, ids)
	if err != nil {
		return false, err
	}
	var learned, free []int
	for _, id := range ids {
		p := ix.pos(id)
		if holders[id].State != catalog.SeatAvailable {
			excluded[p] = true
			learned = append(learned, p)
		} else {
			free = append(free, p)
		}
	}
	s.taken.learn(eventID, ix.sec.ID, learned)
	s.taken.learnFree(eventID, ix.sec.ID, free)
	for _, id := range aim {
		if excluded[ix.pos(id)] {
			return false, nil
		}
	}
	return true, nil
}

// freeReadTTL is how long a seat read available steers this instance's
// retries without another read: a fraction of the availability copy's
// age (catalog.ProjectionCopyTTL), which the read corrects.
const freeReadTTL = 500 * time.Millisecond

// positions maps seat ids to their positions in the section.
func positions(ix *sectionIndex, ids []string) []int {
	out := make([]int, 0, len(ids))
	for _, id := range ids {
		if p := ix.pos(id); p >= 0 {
			out = append(out, p)
		}
	}
	return out
}

func soldOutOrFew(section, states string, excluded map[int]bool, n int) error {
	free := 0
	for i := 0; i < len(states); i++ {
		if states[i] == 'A' && !excluded[i] {
			free++
		}
	}
	if free == 0 {
		return apperr.New(apperr.SoldOut, "section %s is sold out", section)
	}
	return apperr.New(apperr.SeatsUnavailable, "section %s has fewer than %d seats left", section, n).With("available", free)
}

func (s *Service) gaPlaces(ctx context.Context, ev *catalog.Event, sec *catalog.Section, n int, base orders.Order, plan HoldPlan) func(int, *Conflict) (HoldPlan, error) {
	rng := s.rngSeed()
	shards := len(catalog.GAShardCapacities(sec.Capacity))
	return func(attempt int, _ *Conflict) (HoldPlan, error) {
		if attempt == 0 {
			// Sold out in the projection (the instance's copy of it, a
			// second or so behind): refuse without reading the shards. A
			// place that came back meanwhile shows in the projection
			// within its lag, as it does on the seat map.
			left, err := s.events.SectionAvailable(ctx, ev, sec.ID)
			if err != nil {
				return HoldPlan{}, err
			}
			if left == 0 {
				return HoldPlan{}, apperr.New(apperr.SoldOut, "%s is sold out", sec.Name)
			}
		}
		// A consistent read of a few shards each attempt: a shard that just
		// refused shows its real count and the pick falls over to others.
		avail, err := s.store.GAShards(ctx, ev.ID, sec.ID, shards)
		if err != nil {
			return HoldPlan{}, err
		}
		takes := pickShards(avail, n, rng)
		if takes == nil {
			total := 0
			for _, a := range avail {
				total += a
			}
			if total == 0 {
				return HoldPlan{}, apperr.New(apperr.SoldOut, "%s is sold out", sec.Name)
			}
			return HoldPlan{}, apperr.New(apperr.SeatsUnavailable, "%s has fewer than %d places left", sec.Name, n).With("available", total)
		}
		p := plan
		p.Order = base
		p.Order.Section, p.Order.Quantity = sec.ID, n
		p.Order.SetPrice(ev.Pricing.Price(int64(n)*sec.PriceCents, n))
		p.Order.GATakes = takes
		p.GA = takes
		return p, nil
	}
}

// pickShards chooses a random shard with n places; failing that, takes n
// from several shards (random order). nil when the shards hold fewer than n.
func pickShards(avail []int, n int, rng *rand.Rand) []orders.GATake {
	order := rng.Perm(len(avail))
	for _, i := range order {
		if avail[i] >= n {
			return []orders.GATake{{Shard: i, Quantity: n}}
		}
	}
	var takes []orders.GATake
	left := n
	for _, i := range order {
		if avail[i] <= 0 {
			continue
		}
		q := min(avail[i], left)
		takes = append(takes, orders.GATake{Shard: i, Quantity: q})
		left -= q
		if left == 0 {
			sort.Slice(takes, func(a, b int) bool { return takes[a].Shard < takes[b].Shard })
			return takes
		}
	}
	return nil
}

// Release moves a PENDING_PAYMENT order to EXPIRED or CANCELLED and returns
// its places and limit credits atomically. An order in any other state is
// returned unchanged, so releasing twice is a no-op.
func (s *Service) Release(ctx context.Context, orderID string, to orders.Status) (orders.Order, error) {
	if to != orders.Expired && to != orders.Cancelled {
		return orders.Order{}, fmt.Errorf("release to %s: only EXPIRED or CANCELLED", to)
	}
	for b := s.retry.Start(); ; {
		o, err := s.releaseOnce(ctx, orderID, to)
		if again, err := b.Again(ctx, err); !again {
			if err != nil {
				return orders.Order{}, busy(err, fmt.Sprintf("order %s is changing; try again", orderID))
			}
			return o, nil
		}
	}
}

// releaseOnce is one read and one release transaction; fault.Contention
// when the order or its places changed meanwhile.
func (s *Service) releaseOnce(ctx context.Context, orderID string, to orders.Status) (orders.Order, error) {
	o, err := s.store.GetOrder(ctx, orderID)
	if err != nil {
		return orders.Order{}, orderErr(err, orderID)
	}
	if o.Status != orders.PendingPayment {
		return o, nil
	}
	var seats []string
	if len(o.Seats) > 0 {
		holders, err := s.store.SeatHolders(ctx, o.EventID, o.Seats)
		if err != nil {
			return orders.Order{}, err
		}
		for _, id := range o.Seats {
			if h := holders[id]; h.State == catalog.SeatHeld && h.OrderID == o.ID {
				seats = append(seats, id)
			} else {
				// Drift: the reconciler reports it; the release goes on.
				s.log.WarnContext(ctx, "seat not held by its order at release", "orderId", o.ID, "eventId", o.EventID, "seat", id, "state", h.State, "holder", h.OrderID)
			}
		}
	}
	now := s.clock.Now()
	if err := s.store.ReleaseHold(ctx, o, to, seats, now); err != nil {
		return orders.Order{}, fmt.Errorf("release %s: %w", orderID, err)
	}
	o.Status, o.Version, o.UpdatedAt = to, o.Version+1, now
	s.log.InfoContext(ctx, "hold released", "orderId", o.ID, "eventId", o.EventID, "status", to)
	return o, nil
}

// orderErr translates a store's NotFound for an order into NOT_FOUND.
func orderErr(err error, orderID string) error {
	if fault.Is(err, fault.NotFound) {
		return apperr.Wrap(err, apperr.NotFound, "no order %s", orderID)
	}
	return err
}

// Cancel is the fan's DELETE /v1/orders/{id}: only the owner, only while
// PENDING_PAYMENT; cancelling a cancelled order answers it again.
func (s *Service) Cancel(ctx context.Context, account, orderID string) (orders.Order, error) {
	o, err := s.Order(ctx, account, orderID)
	if err != nil {
		return orders.Order{}, err
	}
	if o.Status == orders.Cancelled {
		return o, nil
	}
	if o.Status != orders.PendingPayment {
		return orders.Order{}, apperr.New(apperr.InvalidStateChange, "order is %s; only an unpaid hold can be cancelled", o.Status)
	}
	o, err = s.Release(ctx, orderID, orders.Cancelled)
	if err != nil {
		return orders.Order{}, err
	}
	if o.Status != orders.Cancelled {
		return orders.Order{}, apperr.New(apperr.InvalidStateChange, "order became %s before it could be cancelled", o.Status)
	}
	return o, nil
}

// Order returns the caller's order; another account's order is NOT_FOUND.
func (s *Service) Order(ctx context.Context, account, orderID string) (orders.Order, error) {
	if !orderIDPattern.MatchString(orderID) {
		return orders.Order{}, apperr.New(apperr.NotFound, "no order %q", truncate(orderID))
	}
	o, err := s.store.GetOrder(ctx, orderID)
	if err != nil {
		return orders.Order{}, orderErr(err, orderID)
	}
	if o.Account != account {
		return orders.Order{}, apperr.New(apperr.NotFound, "no order %s", orderID)
	}
	return o, nil
}

// OrderView is Order for showing the caller their order (GET
// /v1/orders/{id}, which the fan's page polls): an eventually consistent
// read, at half the read units. Its status may lag a change of the last
// second, which the next poll shows; an order the read does not find yet
// (the fan's own hold a moment ago: read-your-writes) is read again
// consistently. Whatever changes an order reads it with Order.
func (s *Service) OrderView(ctx context.Context, account, orderID string) (orders.Order, error) {
	if !orderIDPattern.MatchString(orderID) {
		return orders.Order{}, apperr.New(apperr.NotFound, "no order %q", truncate(orderID))
	}
	o, err := s.store.PeekOrder(ctx, orderID)
	if fault.Is(err, fault.NotFound) {
		o, err = s.store.GetOrder(ctx, orderID)
	}
	if err != nil {
		return orders.Order{}, orderErr(err, orderID)
	}
	if o.Account != account {
		return orders.Order{}, apperr.New(apperr.NotFound, "no order %s", orderID)
	}
	return o, nil
}

// Orders lists the caller's orders, newest first.
func (s *Service) Orders(ctx context.Context, account string) ([]orders.Order, error) {
	return s.store.ListOrders(ctx, account, limits.OrdersListed)
}

var orderIDPattern = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

func errLimitExceeded() error {
	return apperr.New(apperr.LimitExceeded, "this account already holds or bought the most tickets allowed for this event")
}

// limitRefusal is a hold transaction refused on the account's limit
// item, whose condition is both the ticket limit and the rate limit.
type limitRefusal struct {
	places, max int
	window      time.Time
}

func (l *limitRefusal) Error() string { return "hold refused on the account's limit item" }

// countRefusal answers a hold request that makes no order. It counts
// the request in the rate limit's window with one write, which also
// returns the Idempotency-Key's record for this event: a retry of a
// request that made its order (its answer lost) gets the order, whatever
// the count says; over the limit the answer is RATE_LIMITED; otherwise
// the refusal. A counter that cannot be reached refuses the request
// (the limiter fails closed).
func (s *Service) countRefusal(ctx context.Context, account, eventID, idemKey, fp string, r RateCount, refusal error) (orders.Order, error) {
	c, err := s.store.CountHoldRequest(ctx, eventID, account, r, idemKey)
	if err != nil {
		if ctx.Err() != nil {
			// The hold's budget ran out before it could count: the
			// refusal (a busy 503, usually) stands, and no counter is
			// reported unreachable for it.
			return orders.Order{}, finalRefusal(busy(refusal, "the service is busy; try again"))
		}
		if uerr := s.limiter.Unreachable(ctx, err); uerr != nil {
			return orders.Order{}, uerr
		}
		return orders.Order{}, finalRefusal(refusal)
	}
	if rec := c.Record; rec != nil && !apperr.Is(refusal, apperr.IdempotencyReused) {
		if rec.Fingerprint != fp {
			return orders.Order{}, apperr.New(apperr.IdempotencyReused, "this Idempotency-Key was used for a different request")
		}
		o, err := s.store.GetOrder(ctx, rec.OrderID)
		if err != nil {
			return orders.Order{}, fmt.Errorf("replay %s: %w", rec.OrderID, err)
		}
		return o, nil
	}
	if !c.Allowed {
		return orders.Order{}, s.limiter.Refused(r.Window)
	}
	var lr *limitRefusal
	if errors.As(refusal, &lr) {
		if c.Places+lr.places > lr.max {
			return orders.Order{}, errLimitExceeded()
		}
		// The rate limit refused the transaction in a window that has
		// ended since: the fan may try again at once.
		return orders.Order{}, s.limiter.Refused(lr.window)
	}
	return orders.Order{}, refusal
}

// finalRefusal is the answer for a refusal when nothing more is known.
func finalRefusal(err error) error {
	var lr *limitRefusal
	if errors.As(err, &lr) {
		return errLimitExceeded()
	}
	return err
}
