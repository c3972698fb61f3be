package waitroom

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/draw"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/metrics"
	"github.com/stararena/stararena/internal/reqid"
)

// Health backoff: halve the rate on an unhealthy tick, recover a tenth per
// healthy tick, never below a tenth (the queue must keep moving a little
// so the signal can show recovery).
const (
	minMultiplier = 0.1
	recoverStep   = 0.1
)

// TickResult is what one inlet tick did for an event.
type TickResult struct {
	EventID   string  `json:"eventId"`
	Drew      int     `json:"drew,omitempty"`  // fans ordered by the draw
	Swept     int     `json:"swept,omitempty"` // late joins given positions
	Abandoned int     `json:"abandoned,omitempty"`
	Admitted  int64   `json:"admitted"` // serving position advance
	Serving   int64   `json:"servingPosition"`
	Waiting   int64   `json:"waiting"` // positions given out and not yet served
	Cap       int64   `json:"cap"`
	SoldOut   bool    `json:"soldOut"`
	Rate      float64 `json:"ratePerMinute"`
	Health    string  `json:"health,omitempty"`
}

// TickAll runs one tick for every event whose waiting room is live: queue
// on, sale opened and not closed.
func (s *Service) TickAll(ctx context.Context) ([]TickResult, error) {
	evs, err := s.events.Live(ctx)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	var out []TickResult
	var errs []error
	for i := range evs {
		ev := &evs[i]
		if ev.Queue.Mode != catalog.QueueOn || beforeSale(ev.SaleState(now)) || ev.SaleState(now) == catalog.SaleClosed || ev.Cancelled != nil {
			continue
		}
		r, err := s.Tick(ctx, ev.ID)
		if err != nil {
			s.log.ErrorContext(ctx, "inlet tick failed", "eventId", ev.ID, "err", err)
			errs = append(errs, fmt.Errorf("event %s: %w", ev.ID, err))
			continue
		}
		out = append(out, r)
	}
	if len(errs) > 0 {
		return out, errs[0]
	}
	return out, nil
}

// beforeSale: the public sale has not opened. A presale admits code
// holders without the queue (ADR 23); the draw waits for the sale.
func beforeSale(state string) bool {
	return state == catalog.SaleScheduled || state == catalog.SalePresale
}

// Tick advances one event's waiting room: the draw at opening, positions
// for joins that arrived during it, abandoned admissions, then the serving
// position.
func (s *Service) Tick(ctx context.Context, eventID string) (TickResult, error) {
	res := TickResult{EventID: eventID}
	ev, err := s.queued(ctx, eventID)
	if err != nil {
		return res, err
	}
	st, err := s.state(ctx, eventID)
	if err != nil {
		return res, err
	}
	now := s.clock.Now()
	sale := ev.SaleState(now)
	if beforeSale(sale) {
		return res, nil
	}
	drewNow := false
	if !st.Drawn {
		if now.Before(OpenedAt(&ev).Add(s.o.DrawGrace)) {
			return res, nil
		}
		if res.Drew, err = s.draw(ctx, &ev, &st); err != nil || !st.Drawn {
			return res, err
		}
		drewNow = true
	}
	// Pending places exist only around the draw (see sweep): look right
	// after it and once more when no assigner can still be writing one.
	if st.FinalSweep.IsZero() && (drewNow || !now.Before(st.DrawnAt.Add(StragglerGrace))) {
		if res.Swept, err = s.sweep(ctx, &ev, &st); err != nil {
			return res, err
		}
		if !now.Before(st.DrawnAt.Add(StragglerGrace)) {
			st.FinalSweep = now
		}
	}
	if !now.Before(st.AbandonCheck) {
		if res.Abandoned, err = s.abandon(ctx, eventID); err != nil {
			return res, err
		}
		st.AbandonCheck = now.Add(AbandonCheckEvery)
	}
	if err := s.advance(ctx, &ev, &st, sale, &res); err != nil {
		return res, err
	}
	s.o.Metrics.Emit(nil,
		metrics.Value{Name: metrics.QueueWaiting, Unit: metrics.Count, Value: float64(res.Waiting)},
		metrics.Value{Name: metrics.QueueServing, Unit: metrics.Count, Value: float64(res.Serving)},
		metrics.Value{Name: metrics.QueueAdmitRate, Unit: metrics.CountPerMin, Value: res.Rate})
	return res, nil
}

// draw orders the draw's entrants by the seed and gives them positions
// 1..N. It is deterministic, so an inlet that dies half-way is simply
// repeated: positions are not shown to anyone until State.Drawn is saved.
func (s *Service) draw(ctx context.Context, ev *catalog.Event, st *State) (int, error) {
	now := s.clock.Now()
	if now.Before(st.DrawLease) {
		return 0, nil // another inlet is drawing
	}
	st.DrawLease, st.Version, st.UpdatedAt = now.Add(time.Minute), st.Version+1, now
	if err := s.store.SaveState(ctx, *st); err != nil {
		if fault.Is(err, fault.Contention) {
			return 0, nil
		}
		return 0, err
	}
	entrants, err := s.store.DrawEntrants(ctx, ev.ID)
	if err != nil {
		return 0, err
	}
	seed, err := hex.DecodeString(st.Seed)
	if err != nil {
		return 0, fmt.Errorf("draw seed of %s: %w", ev.ID, err)
	}
	byEntrant := make(map[string]Place, len(entrants))
	ids := make([]string, 0, len(entrants))
	for _, p := range entrants {
		byEntrant[p.Entrant] = p
		ids = append(ids, p.Entrant)
	}
	order := draw.Order(seed, ids)
	placed := make([]Place, len(order))
	for i, id := range order {
		p := byEntrant[id]
		p.Position = int64(i + 1)
		placed[i] = p
	}
	if err := s.store.WritePlaces(ctx, placed); err != nil {
		return 0, err
	}
	if err := s.store.SetPositions(ctx, ev.ID, int64(len(placed))); err != nil {
		return 0, err
	}
	st.Drawn, st.DrawnAt, st.Entrants = true, now, int64(len(placed))
	st.Version, st.UpdatedAt = st.Version+1, s.clock.Now()
	if err := s.store.SaveState(ctx, *st); err != nil {
		return 0, err
	}
	s.log.InfoContext(ctx, "draw done: seed revealed", "eventId", ev.ID, "entrants", len(placed), "shuffleSeedHash", st.SeedHash)
	return len(placed), nil
}

// StragglerGrace bounds how long after the draw an assigner that read the
// state before it may still write a pending place: the assigner's Lambda
// timeout (30 s) plus a margin.
const StragglerGrace = 40 * time.Second

// AbandonCheckEvery is how often the inlet looks for admissions that
// expired unused (counting them is not urgent; their slots come back by
// themselves).
const AbandonCheckEvery = 30 * time.Second

// sweep gives positions, first come first served, to places still pending
// after the draw: joins that reached the assigner while the draw ran (and
// pre-sale joins it wrote after the draw listed its entrants — they missed
// the draw and queue behind it). One counter write for all of them. Once
// the state says Drawn, the assigner writes positions itself, so pending
// places can only appear within StragglerGrace of the draw.
func (s *Service) sweep(ctx context.Context, ev *catalog.Event, st *State) (int, error) {
	pending, err := s.store.PendingPlaces(ctx, ev.ID, false)
	if err != nil {
		return 0, err
	}
	late, err := s.store.PendingPlaces(ctx, ev.ID, true)
	if err != nil {
		return 0, err
	}
	pending = append(pending, late...)
	if len(pending) == 0 {
		return 0, nil
	}
	sort.Slice(pending, func(i, k int) bool {
		if !pending[i].JoinedAt.Equal(pending[k].JoinedAt) {
			return pending[i].JoinedAt.Before(pending[k].JoinedAt)
		}
		return pending[i].Account < pending[k].Account
	})
	last, err := s.store.AddPositions(ctx, ev.ID, int64(len(pending)))
	if err != nil {
		return 0, err
	}
	first := last - int64(len(pending)) + 1
	for i := range pending {
		pending[i].Position, pending[i].Lottery = first+int64(i), false
	}
	if err := s.store.WritePlaces(ctx, pending); err != nil {
		return 0, err
	}
	return len(pending), nil
}

// abandon counts admissions that expired unused. Their slots come back by
// themselves: the inventory cap only counts fans served within the last
// admission window.
func (s *Service) abandon(ctx context.Context, eventID string) (int, error) {
	expired, err := s.store.ExpiredAdmissions(ctx, eventID, s.clock.Now(), 500)
	if err != nil {
		return 0, err
	}
	marked, markErr := s.store.MarkAbandonedAll(ctx, expired)
	n := 0
	for _, ok := range marked {
		if ok {
			n++
		}
	}
	// Those flagged before an error are counted too: a flag is never
	// listed again.
	if n > 0 {
		if err := s.store.AddStats(ctx, eventID, Stats{Abandoned: int64(n)}); err != nil {
			return n, err
		}
		s.log.InfoContext(ctx, "admissions abandoned", "eventId", eventID, "count", n)
	}
	return n, markErr
}

// advance moves the serving position: at most the rate allows since the
// last tick, never past the last position given out, and never so far
// that the fans served within one admission window outnumber what the
// remaining places (times InventoryFactor) can serve.
func (s *Service) advance(ctx context.Context, ev *catalog.Event, st *State, sale string, res *TickResult) error {
	now := s.clock.Now()
	window := s.tokens.TTL()
	available, held := 0, 0
	if s.o.Remaining != nil {
		var err error
		if available, held, err = s.o.Remaining(ctx, ev.ID); err != nil {
			return err
		}
	}
	st.SoldOut = s.o.Remaining != nil && available == 0 && held == 0
	healthy, reason := true, ""
	if s.o.Health != nil {
		var err error
		if healthy, reason, err = s.o.Health(ctx, ev.ID); err != nil {
			// The signal lives in the same database as the purchase path:
			// when it cannot be read, assume the worst. The organizer's
			// status names the error's code and request id; its text goes
			// to the log.
			var id string
			ctx, id = reqid.Ensure(ctx)
			code := apperr.CodeOf(err)
			s.log.WarnContext(ctx, "purchase path health unreadable", "requestId", id, "eventId", ev.ID, "code", code, "err", err)
			healthy, reason = false, fmt.Sprintf("health unknown: %s (request %s)", code, id)
		}
	}
	if st.Multiplier <= 0 {
		st.Multiplier = 1
	}
	if healthy {
		st.Multiplier = math.Min(1, st.Multiplier+recoverStep)
	} else {
		st.Multiplier = math.Max(minMultiplier, st.Multiplier/2)
		s.log.WarnContext(ctx, "purchase path unhealthy: admitting slower", "eventId", ev.ID, "reason", reason, "multiplier", st.Multiplier)
	}
	st.Health = reason
	elapsed := s.o.TickEvery
	if !st.LastTick.IsZero() {
		elapsed = min(now.Sub(st.LastTick), 5*s.o.TickEvery)
	}
	st.LastTick = now
	perMinute := rate(ev, st)
	res.Rate, res.Health, res.SoldOut = perMinute, reason, st.SoldOut

	last, err := s.store.Positions(ctx, ev.ID)
	if err != nil {
		return err
	}
	capPos := st.ServedAt(now.Add(-window)) + int64(math.Ceil(s.o.InventoryFactor*float64(available+held)))
	if s.o.Remaining == nil {
		capPos = math.MaxInt64
	}
	res.Cap = capPos
	serving := st.Serving
	if sale == catalog.SaleOpen && !st.SoldOut {
		allowed := st.Carry + perMinute*elapsed.Minutes()
		step := int64(allowed)
		target := min(serving+step, last, capPos)
		if target > serving {
			serving = target
		}
		if target == serving+step {
			st.Carry = allowed - float64(step)
		} else {
			st.Carry = 0 // limited by the queue or the cap: never bank admissions
		}
	} else {
		st.Carry = 0
	}
	res.Admitted, res.Serving, res.Waiting = serving-st.Serving, serving, max(0, last-serving)
	if serving != st.Serving || len(st.Marks) == 0 {
		st.Marks = append(st.Marks, Mark{At: now, Serving: serving})
	}
	st.Serving = serving
	st.Marks = trimMarks(st.Marks, now.Add(-window))
	st.Version, st.UpdatedAt = st.Version+1, now
	if err := s.store.SaveState(ctx, *st); err != nil {
		if fault.Is(err, fault.Contention) {
			return nil // another inlet ticked meanwhile; the next tick goes on from its state
		}
		return err
	}
	return nil
}

// trimMarks drops marks older than from but keeps the last one before it,
// which says what was served at from.
func trimMarks(ms []Mark, from time.Time) []Mark {
	i := 0
	for i+1 < len(ms) && !ms[i+1].At.After(from) {
		i++
	}
	return append([]Mark(nil), ms[i:]...)
}
