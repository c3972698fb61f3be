package waitroom

import (
	"context"
	"encoding/hex"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"

	"github.com/stararena/stararena/internal/admission"
	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/draw"
	"github.com/stararena/stararena/internal/metrics"
)

// Events reads events.
type Events interface {
	Get(ctx context.Context, id string) (catalog.Event, error)
	Live(ctx context.Context) ([]catalog.Event, error)
}

// Remaining reports an event's places left: available now, and held
// (holds that either sell or come back).
type Remaining func(ctx context.Context, eventID string) (available, held int, err error)

// HealthCheck says whether the purchase path of an event is healthy; when
// not, reason names the cause (hold p99, error rate, throttles).
type HealthCheck func(ctx context.Context, eventID string) (healthy bool, reason string, err error)

// Tokens signs admission tokens with claims the waiting room chose (the
// place's token id and expiry, so a refresh gets the same admission).
type Tokens interface {
	Sign(c admission.Claims) (string, error)
	TTL() time.Duration
}

// Options configures the Service; zero values take defaults.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
	// InventoryFactor: fans admitted within one admission window may be at
	// most this many times the places left (default 1: a fan buys at least
	// one place, so more admitted fans than places only makes people wait
	// in the seat map instead of the queue).
	InventoryFactor float64
	// DrawGrace lets joins sent just before opening leave SQS before the
	// draw (default DefaultDrawGrace).
	DrawGrace time.Duration
	// TickEvery is the inlet's interval, the rate's first time step
	// (default 2 s).
	TickEvery time.Duration
	// Remaining and Health feed the inlet; nil Health is always healthy.
	Remaining Remaining
	Health    HealthCheck
	// NewSeed makes draw seeds (default draw.NewSeed).
	NewSeed func() ([]byte, error)
	// Metrics receives the queue's depth, serving position and rate per
	// tick and the places written (nil: none).
	Metrics *metrics.Emitter
	// ReadCacheTTL bounds how stale the fans' reads may be (0: the default
	// DefaultReadCacheTTL; negative: no cache, read-your-writes for tests).
	ReadCacheTTL time.Duration
	// StatsFlushEvery is how long admitted and used counts wait in the
	// instance before one write adds them (0: DefaultStatsFlushEvery;
	// negative: at once).
	StatsFlushEvery time.Duration
}

// Service is the waiting room.
type Service struct {
	store  Store
	events Events
	tokens Tokens
	o      Options
	clock  clock.Clock
	log    *slog.Logger
	// reads caches the event and its queue state for the fans' reads
	// (queue/me, queue-status, admission) for Options.ReadCacheTTL: both items live
	// under the event's partition key, which would otherwise take one read
	// per fan request. The inlet and the assigner always read fresh.
	reads *readCache
	// drawn keeps published draws, final once drawn (published.go).
	drawn drawCache
	stats *statsBuffer
	// placed: accounts the assigner knows have a place (assigner.go).
	placed placedSet
	// drawnSeen: events the assigner saw drawn (assigner.go).
	drawnSeen drawnEvents
}

// DefaultDrawGrace is how long after opening the draw waits: joins sent
// just before opening are still in SQS or an assigner batch (its window is
// 1 s) and must be in the draw.
const DefaultDrawGrace = 2 * time.Second

// DefaultReadCacheTTL is how stale a fan's view of the event and the
// serving position may be, per function instance: the CDN serves
// queue-status 2 s stale anyway, and the serving position only grows.
const DefaultReadCacheTTL = time.Second

type cachedRead struct {
	ev    catalog.Event
	st    State
	until time.Time
}

type readCache struct {
	mu sync.Mutex
	m  map[string]cachedRead
	// given: the position counter queue-status publishes (published.go).
	given map[string]cachedGiven
	// once lets one read of an expired view go to DynamoDB while the
	// instance's other requests for it wait for that read.
	once singleflight.Group
}

// NewService builds the waiting room.
func NewService(store Store, events Events, tokens Tokens, o Options) *Service {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.InventoryFactor <= 0 {
		o.InventoryFactor = 1
	}
	if o.DrawGrace <= 0 {
		o.DrawGrace = DefaultDrawGrace
	}
	if o.TickEvery <= 0 {
		o.TickEvery = 2 * time.Second
	}
	if o.NewSeed == nil {
		o.NewSeed = draw.NewSeed
	}
	if o.ReadCacheTTL == 0 {
		o.ReadCacheTTL = DefaultReadCacheTTL
	}
	if o.StatsFlushEvery == 0 {
		o.StatsFlushEvery = DefaultStatsFlushEvery
	}
	return &Service{store: store, events: events, tokens: tokens, o: o, clock: o.Clock, log: o.Logger,
		reads: &readCache{m: map[string]cachedRead{}}, stats: &statsBuffer{pending: map[string]Stats{}}}
}

// OpenedAt is when the event's sale opened (or opens): saleOpensAt, or
// earlier when the organizer opened it by hand. Joins before it enter the
// draw.
func OpenedAt(ev *catalog.Event) time.Time {
	if ev.Sale.Status == catalog.SaleOpen && !ev.Sale.OpenedAt.IsZero() && ev.Sale.OpenedAt.Before(ev.SaleOpensAt) {
		return ev.Sale.OpenedAt
	}
	return ev.SaleOpensAt
}

// state returns the event's queue state, creating it (with the draw's seed)
// on first use: whoever comes first — a status read, the assigner or the
// inlet — fixes the seed hash that queue-status publishes.
func (s *Service) state(ctx context.Context, eventID string) (State, error) {
	for range 3 {
		st, ok, err := s.store.GetState(ctx, eventID)
		if err != nil || ok {
			return st, err
		}
		seed, err := s.o.NewSeed()
		if err != nil {
			return State{}, err
		}
		now := s.clock.Now()
		st = State{EventID: eventID, Version: 1, Seed: hex.EncodeToString(seed), SeedHash: draw.SeedHash(seed),
			Multiplier: 1, UpdatedAt: now}
		created, err := s.store.CreateState(ctx, st)
		if err != nil {
			return State{}, err
		}
		if created {
			s.log.InfoContext(ctx, "waiting room created", "eventId", eventID, "shuffleSeedHash", st.SeedHash)
			return st, nil
		}
	}
	return State{}, apperr.New(apperr.Unavailable, "queue state of %s keeps changing; retry", eventID)
}

// queued returns the event when its waiting room is on.
func (s *Service) queued(ctx context.Context, eventID string) (catalog.Event, error) {
	ev, err := s.events.Get(ctx, eventID)
	if err != nil {
		return catalog.Event{}, err
	}
	if ev.Queue.Mode != catalog.QueueOn {
		return catalog.Event{}, apperr.New(apperr.NotFound, "event %s has no waiting room: ask for admission directly", eventID)
	}
	return ev, nil
}

// fanView is the event and its queue state as fans' reads see them:
// fresh at most ReadCacheTTL ago.
func (s *Service) fanView(ctx context.Context, eventID string) (catalog.Event, State, error) {
	now := s.clock.Now()
	s.reads.mu.Lock()
	c, ok := s.reads.m[eventID]
	s.reads.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.ev, c.st, nil
	}
	read := func() (any, error) {
		ev, err := s.queued(ctx, eventID)
		if err != nil {
			return nil, err
		}
		st, err := s.state(ctx, eventID)
		if err != nil {
			return nil, err
		}
		return cachedRead{ev: ev, st: st}, nil
	}
	var v any
	var err error
	if s.o.ReadCacheTTL > 0 {
		var shared bool
		v, err, shared = s.reads.once.Do(eventID, read)
		if err != nil && shared && ctx.Err() == nil {
			// The read this request waited for failed, perhaps on its
			// own request's deadline: read for this request.
			v, err = read()
		}
	} else {
		v, err = read() // no cache: read-your-writes, no shared reads either
	}
	if err != nil {
		return catalog.Event{}, State{}, err
	}
	ev, st := v.(cachedRead).ev, v.(cachedRead).st
	s.reads.mu.Lock()
	if len(s.reads.m) > 10_000 { // bound memory against many event ids
		clear(s.reads.m)
	}
	if s.o.ReadCacheTTL > 0 {
		s.reads.m[eventID] = cachedRead{ev: ev, st: st, until: now.Add(s.o.ReadCacheTTL)}
	}
	s.reads.mu.Unlock()
	return ev, st, nil
}

// Status is the queue-status document.
func (s *Service) Status(ctx context.Context, eventID string) (Status, error) {
	ev, st, err := s.fanView(ctx, eventID)
	if err != nil {
		return Status{}, err
	}
	out := Status{EventID: eventID, SaleState: ev.SaleState(s.clock.Now()), ServingPosition: st.Serving,
		AdmitPerMinute: ev.Queue.AdmitPerMinute, AdmittingPerMinute: max(int64(math.Round(rate(&ev, &st))), 1), SoldOut: st.SoldOut, UpdatedAt: st.UpdatedAt, ShuffleSeedHash: st.SeedHash}
	if st.Drawn {
		out.ShuffleSeed = st.Seed
		out.DrawEntrants, out.DrawPartDigits = st.Entrants, DrawPartDigits(st.Entrants)
		// Read after the state that says drawn: the draw set the counter
		// before saving that state, so it is at least the entrants.
		if out.PositionsGiven, err = s.positionsGiven(ctx, eventID); err != nil {
			return Status{}, err
		}
	}
	return out, nil
}

// rate is the effective admissions per minute.
func rate(ev *catalog.Event, st *State) float64 {
	m := st.Multiplier
	if m <= 0 {
		m = 1
	}
	return float64(ev.Queue.AdmitPerMinute) * m
}

// Me is the fan's place: state, position and ETA.
func (s *Service) Me(ctx context.Context, account, eventID string) (Me, error) {
	ev, st, err := s.fanView(ctx, eventID)
	if err != nil {
		return Me{}, err
	}
	// Before the draw every place is PENDING, joined or not (joins are
	// asynchronous): reading it would tell the answer nothing. After it,
	// the fan's poll is an eventually consistent read (a place a moment
	// behind shows on the next poll; admission's claim is conditional).
	var p Place
	var ok bool
	if st.Drawn {
		if p, ok, err = s.store.PlaceView(ctx, eventID, account); err != nil {
			return Me{}, err
		}
	}
	now := s.clock.Now()
	me := Me{ServingPosition: st.Serving}
	if ok && st.Drawn && p.Position > 0 {
		me.Position = p.Position
	}
	me.State = placeState(&st, p, ok, now)
	if me.State == StateWaiting {
		me.EtaSeconds = etaSeconds(p.Position, st.Serving, rate(&ev, &st))
	}
	if me.State == StateAdmitted && p.UsedAt.IsZero() {
		me.AdmissionExpires = p.TokenExpiresAt
	}
	me.PollSeconds = int64(PollInterval(time.Duration(me.EtaSeconds) * time.Second).Seconds())
	return me, nil
}

// placeState is the fan-visible state of a place.
func placeState(st *State, p Place, ok bool, now time.Time) string {
	switch {
	case !ok || !st.Drawn || p.Position == 0:
		return StatePending
	case p.TokenID != "" && (!p.UsedAt.IsZero() || now.Before(p.TokenExpiresAt)):
		return StateAdmitted
	case p.TokenID != "":
		return StateExpired
	case st.SoldOut:
		return StateSoldOut
	case p.Position <= st.Serving:
		return StateAdmittable
	default:
		return StateWaiting
	}
}

// Admit gives a served fan an admission token. Asking again (a refresh, a
// second tab) returns the same admission until it expires; a fan who used
// theirs or let it expire is told so. While anyone is admittable it is one
// conditional write on the place (Store.ClaimServed), whose answer is the
// place that explains a refusal.
func (s *Service) Admit(ctx context.Context, account, eventID string) (token string, c admission.Claims, claimed bool, err error) {
	ev, st, err := s.fanView(ctx, eventID)
	if err != nil {
		return "", admission.Claims{}, false, err
	}
	now := s.clock.Now()
	if !st.Drawn || st.SoldOut {
		// Nobody is admittable: the place only explains the refusal, or
		// gives back an admission claimed before the sell-out.
		p, ok, err := s.store.Place(ctx, eventID, account)
		if err != nil {
			return "", admission.Claims{}, false, err
		}
		token, c, err = s.answer(&ev, &st, p, ok, now)
		return token, c, false, err
	}
	id, exp := uuid.NewString(), now.Add(s.tokens.TTL()).Truncate(time.Second)
	p, ok, claimed, err := s.store.ClaimServed(ctx, eventID, account, st.Serving, id, exp, now)
	if err != nil {
		return "", admission.Claims{}, false, err
	}
	if !claimed {
		token, c, err = s.answer(&ev, &st, p, ok, now)
		return token, c, false, err
	}
	s.count(ctx, eventID, Stats{Admitted: 1})
	s.log.InfoContext(ctx, "fan admitted", "eventId", eventID, "position", p.Position)
	token, c, err = s.sign(account, eventID, id, exp)
	return token, c, true, err
}

// answer is Admit's answer for a place it did not claim: the admission
// the place holds, or why it has none.
func (s *Service) answer(ev *catalog.Event, st *State, p Place, ok bool, now time.Time) (string, admission.Claims, error) {
	switch state := placeState(st, p, ok, now); state {
	case StateAdmitted:
		if !p.UsedAt.IsZero() {
			return "", admission.Claims{}, notYet(state, "your admission was used for a hold; one admission per place", st, p)
		}
		return s.sign(p.Account, p.EventID, p.TokenID, p.TokenExpiresAt)
	case StateSoldOut:
		return "", admission.Claims{}, apperr.New(apperr.SoldOut, "sold out: nothing is left for the queue").With("state", state)
	case StateExpired:
		return "", admission.Claims{}, notYet(state, "your admission expired unused; the place went back to the queue", st, p)
	case StatePending:
		if !ok {
			return "", admission.Claims{}, notYet("NOT_IN_QUEUE", "join the waiting room first: admission follows your place in the queue", st, p)
		}
		return "", admission.Claims{}, notYet(state, "you are in the queue; your position is being assigned", st, p)
	case StateWaiting:
		e := notYet(state, "not your turn yet", st, p).(*apperr.Error)
		return "", admission.Claims{}, e.With("etaSeconds", etaSeconds(p.Position, st.Serving, rate(ev, st)))
	default:
		// Admittable, yet the claim's condition failed: the place changed
		// under the request.
		return "", admission.Claims{}, apperr.New(apperr.Unavailable, "your place keeps changing; retry")
	}
}

func (s *Service) sign(account, eventID, id string, exp time.Time) (string, admission.Claims, error) {
	c := admission.Claims{ID: id, Account: account, EventID: eventID, ExpiresAt: exp}
	tok, err := s.tokens.Sign(c)
	return tok, c, err
}

func notYet(state, msg string, st *State, p Place) error {
	e := apperr.New(apperr.QueueRequired, "%s", msg).With("state", state).With("servingPosition", st.Serving)
	if st.Drawn && p.Position > 0 {
		e = e.With("position", p.Position)
	}
	return e
}

// MarkUsed records that an admission token made a hold (the inventory's
// after-hold hook). Events without a waiting room have no places.
func (s *Service) MarkUsed(ctx context.Context, eventID, account, tokenID string) error {
	used, err := s.store.MarkUsed(ctx, eventID, account, tokenID, s.clock.Now())
	if err != nil || !used {
		return err
	}
	s.count(ctx, eventID, Stats{Used: 1})
	return nil
}

// CountUsed counts an admission that a hold marked used in its own
// transaction (inventory.Places), as MarkUsed counts the ones it marks.
func (s *Service) CountUsed(ctx context.Context, eventID string) {
	s.count(ctx, eventID, Stats{Used: 1})
}

// Report is the waiting room's part of the organizer's report.
type Report struct {
	Joined          int64   `json:"joined"`
	ServingPosition int64   `json:"servingPosition"`
	Served          int64   `json:"served"`
	Admitted        int64   `json:"admitted"`
	Used            int64   `json:"used"`
	Abandoned       int64   `json:"abandoned"`
	Entrants        int64   `json:"drawEntrants"`
	Drawn           bool    `json:"drawn"`
	SoldOut         bool    `json:"soldOut"`
	RateMultiplier  float64 `json:"rateMultiplier"`
	Health          string  `json:"health,omitempty"`
}

// Report reads the event's queue counts. Admitted and used are counted
// per instance and added to the table every StatsFlushEvery (stats.go):
// this instance's own counts are added first.
func (s *Service) Report(ctx context.Context, eventID string) (Report, error) {
	if err := s.FlushStats(ctx); err != nil {
		s.log.WarnContext(ctx, "queue counts not flushed", "err", err)
	}
	st, ok, err := s.store.GetState(ctx, eventID)
	if err != nil || !ok {
		return Report{}, err
	}
	joined, err := s.store.Positions(ctx, eventID)
	if err != nil {
		return Report{}, err
	}
	stats, err := s.store.Stats(ctx, eventID)
	if err != nil {
		return Report{}, err
	}
	return Report{Joined: joined, ServingPosition: st.Serving, Served: min(st.Serving, joined), Admitted: stats.Admitted,
		Used: stats.Used, Abandoned: stats.Abandoned, Entrants: st.Entrants, Drawn: st.Drawn, SoldOut: st.SoldOut,
		RateMultiplier: st.Multiplier, Health: st.Health}, nil
}
