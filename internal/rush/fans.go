package rush

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stararena/stararena/internal/draw"
	"github.com/stararena/stararena/internal/payments/sandbox"
	"github.com/stararena/stararena/internal/waitroom"
)

// How a fan chooses places.
const (
	modePick = iota // specific seats from the seat map
	modeBest        // N best available in a reserved section
	modeGA          // N general-admission places
)

// outcome is how a fan's story ended.
type outcome int

const (
	oJoinFailed outcome = iota
	oAbandonedQueue
	oSoldOut
	oAdmissionExpired
	oAbandonedAdmission
	oAdmissionInvalid
	oNoSeats
	oCancelled
	oAbandonedHold
	oDeclined
	oPaidTooLate // could not even start paying: the hold had expired
	oIssued
	oRefunded
	oStoppedWatching
	oError
	nOutcomes
)

var outcomeNames = [nOutcomes]string{"joinFailed", "abandonedInQueue", "soldOut", "admissionExpired",
	"abandonedAfterAdmission", "admissionInvalid", "gaveUpNoSeats", "cancelled", "abandonedHold", "declined",
	"holdExpiredBeforePaying", "ticketsIssued", "refunded", "stoppedWatchingOrder", "unexpectedAnswer"}

// plan is what one fan will do, drawn up front from the seed.
type plan struct {
	joinAt          time.Duration // relative to opening; negative: before it (the draw)
	rejoins         int
	abandonAfter    time.Duration // in the queue, after joining (real time); 0: never
	abandonAdmitted bool
	mode, quantity  int
	think           time.Duration // admission to hold (scaled)
	cancel          bool
	cancelAfter     time.Duration // after the hold (scaled)
	noPay           bool
	checkoutAfter   time.Duration // hold to payment creation (scaled)
	payAfter        time.Duration // hold to paying (scaled); past the hold time: a late payment
	late            bool
	decline         bool
	retryDecline    bool
	webhook         string
	webhookDelay    time.Duration // WebhookDelay: past the hold's expiry (unscaled; the sandbox scales it)
	duplicate       bool
}

// fan is one simulated account. Its steps run one at a time (each step
// schedules the next), so its fields need no lock; rejoins only read sub
// and token.
type fan struct {
	id       int
	sub      string
	token    string
	rng      *rand.Rand
	plan     plan
	joined   time.Time
	position int64
	// bound: the place's position is known to be above it (hasBound),
	// from queue-status read before joining or from the published draw.
	bound    int64
	hasBound bool
	polls    int
	every    time.Duration // the page's polling interval, from queue/me
	attempts int           // retries of the current request
	tries    int           // hold attempts
	mode     int
	quantity int
	section  string
	excluded map[string]bool
	body     any // the hold body being retried
	key      string
	order    string
	held     time.Time
	payment  string
	declined bool
	done     atomic.Bool
}

// makePlan draws a fan's behaviour from cfg's shares.
func makePlan(cfg *Config, r *rand.Rand) plan {
	var p plan
	switch u := r.Float64(); {
	case u < cfg.PresaleShare:
		p.joinAt = -time.Duration(r.Float64() * float64(cfg.Lead))
	case u < cfg.PresaleShare+cfg.TrickleShare:
		p.joinAt = time.Duration(r.Float64() * float64(cfg.Trickle))
	default:
		p.joinAt = time.Duration(r.ExpFloat64() * float64(cfg.Burst))
		if p.joinAt > cfg.Trickle {
			p.joinAt = time.Duration(r.Float64() * float64(cfg.Trickle))
		}
	}
	// Refreshes, double taps, a second tab: binomial with the configured mean.
	n := int(math.Ceil(2 * cfg.JoinRetries))
	for range n {
		if r.Float64() < cfg.JoinRetries/float64(max(n, 1)) {
			p.rejoins++
		}
	}
	if r.Float64() < cfg.AbandonQueue {
		p.abandonAfter = 10*time.Second + time.Duration(r.Float64()*float64(110*time.Second))
	}
	p.abandonAdmitted = r.Float64() < cfg.AbandonAdmitted
	switch u := r.Float64(); {
	case u < cfg.PickSeats:
		p.mode = modePick
	case u < cfg.PickSeats+cfg.BestAvailable:
		p.mode = modeBest
	default:
		p.mode = modeGA
	}
	switch u := r.Float64(); {
	case u < 0.2:
		p.quantity = 1
	case u < 0.7:
		p.quantity = 2
	case u < 0.8:
		p.quantity = 3
	default:
		p.quantity = 4
	}
	p.quantity = min(p.quantity, cfg.MaxPerAccount)
	hold := time.Duration(cfg.HoldSeconds) * time.Second
	p.think = cfg.scaled(10*time.Second + time.Duration(r.Float64()*float64(50*time.Second)))
	p.checkoutAfter = cfg.scaled(5*time.Second + time.Duration(r.Float64()*float64(35*time.Second)))
	switch u := r.Float64(); {
	case u < cfg.Cancel:
		p.cancel = true
		p.cancelAfter = cfg.scaled(30*time.Second + time.Duration(r.Float64()*float64(hold/3)))
	case u < cfg.Cancel+cfg.NoPay:
		p.noPay = true
	case u < cfg.Cancel+cfg.NoPay+cfg.LatePay:
		p.late = true
		p.payAfter = cfg.scaled(time.Duration((1.05 + 0.45*r.Float64()) * float64(hold)))
	default:
		p.payAfter = cfg.scaled(hold/15 + time.Duration(r.Float64()*float64(hold*3/5)))
	}
	p.decline = r.Float64() < cfg.Decline
	p.retryDecline = r.Float64() < 0.7
	switch u := r.Float64(); {
	case u < cfg.WebhookDrop:
		p.webhook = sandbox.WebhookDrop
	case u < cfg.WebhookDrop+cfg.WebhookDuplicate:
		p.webhook = sandbox.WebhookDuplicate
	case u < cfg.WebhookDrop+cfg.WebhookDuplicate+cfg.WebhookDelay:
		p.webhook = sandbox.WebhookDelay
		p.webhookDelay = time.Duration((1.1 + 0.5*r.Float64()) * float64(hold))
	case u < cfg.WebhookDrop+cfg.WebhookDuplicate+cfg.WebhookDelay+cfg.WebhookReorder:
		p.webhook = sandbox.WebhookReorder
	default:
		p.webhook = sandbox.WebhookDeliver
	}
	p.duplicate = r.Float64() < cfg.DuplicateCapture
	return p
}

// retryable answers are worth the same request again: no answer, 429, 5xx.
func retryable(r reply) bool {
	return r.status == 0 || r.status == http.StatusTooManyRequests || r.status >= 500
}

// backoff is the wait before retry n (1, 2, ...): 250 ms doubling, with jitter.
func (f *fan) backoff(n int) time.Duration {
	d := 250 * time.Millisecond << min(n, 5)
	return d/2 + time.Duration(f.rng.Int64N(int64(d)))
}

func (f *fan) jitter(d time.Duration) time.Duration {
	return d*4/5 + time.Duration(f.rng.Int64N(int64(d*2/5)+1))
}

// finish ends a fan's story once.
func (s *sim) finish(f *fan, o outcome) {
	if f.done.Swap(true) {
		return
	}
	s.outcomes[o].Add(1)
	if s.left.Add(-1) == 0 {
		close(s.allDone)
	}
}

func (s *sim) unexpected(f *fan, what string, r reply) {
	s.noteError(fmt.Sprintf("%s: %d %.200s", what, r.status, r.body))
	s.finish(f, oError)
}

func (s *sim) noteError(msg string) {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	s.errCount++
	if len(s.errSamples) < 10 {
		s.errSamples = append(s.errSamples, msg)
	}
}

// ---- the waiting room ----------------------------------------------------------------------

// arrive is the fan opening the page: it reads queue-status (the CDN,
// on the pollers' pool) before its first join. Once drawn, the positions
// given so far bound its place from below; a join retried after no answer
// may have been taken, so it keeps this first read's bound, if any.
func (s *sim) arrive(f *fan) {
	if st := s.queueStatus(); st != nil && st.ShuffleSeed != "" {
		f.bound, f.hasBound = st.PositionsGiven, true
	}
	s.wr.after(0, func() { s.join(f, true) })
}

func (s *sim) join(f *fan, first bool) {
	ctx := context.Background()
	r := s.c.do(ctx, kJoin, http.MethodPost, "/v1/events/"+s.eventID+"/queue", f.token, nil, nil)
	if r.status == http.StatusAccepted {
		if !first {
			return
		}
		f.joined, f.attempts = time.Now(), 0
		at := f.joined
		for range f.plan.rejoins {
			at = at.Add(300*time.Millisecond + time.Duration(f.rng.Int64N(int64(2700*time.Millisecond))))
			s.wr.at(at, func() { s.join(f, false) })
		}
		// The page follows queue-status: no read of the place until the
		// serving position reaches what it knows of it.
		s.poller.after(f.jitter(2*time.Second), func() { s.poll(f) })
		return
	}
	if !first {
		return
	}
	if retryable(r) && f.attempts < 6 {
		f.attempts++
		s.wr.after(f.backoff(f.attempts), func() { s.join(f, true) })
		return
	}
	s.unexpected(f, "join", r)
}

func (s *sim) abandons(f *fan) bool {
	return f.plan.abandonAfter > 0 && time.Since(f.joined) > f.plan.abandonAfter
}

// me reads the fan's own place (GET queue/me): the page does this only
// when the serving position reaches its lower bound (ADR 9), then follows
// the CDN's queue-status.
func (s *sim) me(f *fan) {
	if s.abandons(f) {
		s.finish(f, oAbandonedQueue)
		return
	}
	r := s.c.do(context.Background(), kQueueMe, http.MethodGet, "/v1/events/"+s.eventID+"/queue/me", f.token, nil, nil)
	if retryable(r) {
		f.attempts++
		if f.attempts > 8 {
			s.unexpected(f, "queue/me", r)
			return
		}
		s.wr.after(f.backoff(f.attempts), func() { s.me(f) })
		return
	}
	var m waitroom.Me
	if r.status != http.StatusOK || r.decode(&m) != nil {
		s.unexpected(f, "queue/me", r)
		return
	}
	f.attempts = 0
	switch m.State {
	case waitroom.StatePending:
		// The join is still in SQS: watch the CDN's queue-status, then
		// ask again.
		f.polls++
		if f.polls > 200 {
			s.finish(f, oAbandonedQueue)
			return
		}
		s.poller.after(f.jitter(2*time.Second), func() { s.poll(f) })
	case waitroom.StateWaiting:
		// The page follows queue-status at the interval queue/me gave.
		f.position, f.every = m.Position, time.Duration(max(m.PollSeconds, 2))*time.Second
		s.poller.after(f.jitter(f.every), func() { s.poll(f) })
	case waitroom.StateAdmittable, waitroom.StateAdmitted:
		f.position = m.Position
		s.buy.after(0, func() { s.admit(f) })
	case waitroom.StateSoldOut:
		s.finish(f, oSoldOut)
	case waitroom.StateExpired:
		s.finish(f, oAdmissionExpired)
	default:
		s.unexpected(f, "queue/me state", r)
	}
}

// queueStatus is the CDN-cached queue-status document.
func (s *sim) queueStatus() *waitroom.Status {
	v, _ := s.c.cdn.get(context.Background(), kQueueStatus, "/v1/events/"+s.eventID+"/queue-status", s.statusTTL,
		func(b []byte) (any, error) {
			var st waitroom.Status
			if err := json.Unmarshal(b, &st); err != nil {
				return nil, err
			}
			if st.SoldOut {
				s.soldOutSeen.CompareAndSwap(0, time.Now().UnixNano())
			}
			return &st, nil
		})
	st, _ := v.(*waitroom.Status)
	return st
}

// poll follows queue-status at the page's pace until the fan's position
// is served or the sale is sold out. Without a position the page knows a
// lower bound (from queue-status before joining, or the draw's entrant
// count for a fan not in the draw) and reads its place only once the
// serving position passes it; a fan who joined before the draw looks
// itself up in the published draw.
func (s *sim) poll(f *fan) {
	if s.abandons(f) {
		s.finish(f, oAbandonedQueue)
		return
	}
	st := s.queueStatus()
	again := func(d time.Duration) {
		f.polls++
		s.poller.after(f.jitter(d), func() { s.poll(f) })
	}
	switch {
	case st == nil:
		s.poller.after(f.jitter(2*time.Second), func() { s.poll(f) })
	case st.SoldOut:
		s.finish(f, oSoldOut)
	case f.position > 0 && st.ServingPosition >= f.position:
		s.buy.after(0, func() { s.admit(f) })
	case f.position > 0:
		again(max(f.every, 2*time.Second))
	case f.hasBound && st.ServingPosition > f.bound:
		// The place may be served: read it (an HTTP request: back to
		// the waiting room's pool).
		s.wr.after(0, func() { s.me(f) })
	case f.hasBound:
		// Never faster than the first wait, as with a known position:
		// a wait paced by the bound would shrink towards 2 s for every
		// fan behind the last served place.
		if f.every == 0 {
			f.every = pageInterval(f.bound+1, st)
		}
		again(max(f.every, pageInterval(f.bound+1, st)))
	case st.ShuffleSeed == "":
		again(2 * time.Second)
	default:
		s.lookups.after(0, func() { s.findInDraw(f, st) })
	}
}

// pageInterval is the page's wait between two reads of queue-status for
// a place at position (or above it): about its ETA/20, 2 to 60 s.
func pageInterval(position int64, st *waitroom.Status) time.Duration {
	eta := time.Hour
	if r := admitting(st); r > 0 {
		eta = time.Duration(float64(max(position-st.ServingPosition, 0)) / r * float64(time.Minute))
	}
	return waitroom.PollInterval(eta)
}

// admitting is the rate the page estimates from: the inlet's current one
// when queue-status gives it.
func admitting(st *waitroom.Status) float64 {
	if st.AdmittingPerMinute > 0 {
		return float64(st.AdmittingPerMinute)
	}
	return float64(st.AdmitPerMinute)
}

// findInDraw looks the fan up in its part of the published draw (through
// the CDN stand-in), as the page does once queue-status shows the seed: its
// position there, or, when it is not in the draw, a bound (every
// position up to the entrant count is the draw's).
func (s *sim) findInDraw(f *fan, st *waitroom.Status) {
	entrant := draw.EntrantID(s.eventID, f.sub)
	path := "/v1/events/" + s.eventID + "/queue/draw/" + entrant[:max(st.DrawPartDigits, 1)]
	v, status := s.c.cdn.get(context.Background(), kDrawPart, path, s.drawTTL, func(b []byte) (any, error) {
		var p waitroom.DrawPart
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, err
		}
		m := make(map[string]int64, len(p.Entrants))
		for _, e := range p.Entrants {
			m[e.Entrant] = int64(e.Position)
		}
		return m, nil
	})
	m, ok := v.(map[string]int64)
	if !ok {
		f.attempts++
		if f.attempts > 8 {
			s.unexpected(f, "queue/draw part", reply{status: status})
			return
		}
		s.lookups.after(f.backoff(f.attempts), func() { s.findInDraw(f, st) })
		return
	}
	f.attempts = 0
	if pos, in := m[entrant]; in {
		f.position, f.every = pos, pageInterval(pos, st)
	} else {
		f.bound, f.hasBound = st.DrawEntrants, true
	}
	s.poller.after(0, func() { s.poll(f) })
}

// ---- the purchase path ---------------------------------------------------------------------

func (s *sim) admit(f *fan) {
	r := s.c.do(context.Background(), kAdmission, http.MethodPost, "/v1/events/"+s.eventID+"/admission", f.token, map[string]any{}, nil)
	switch {
	case r.status == http.StatusOK:
		var a struct {
			AdmissionToken string `json:"admissionToken"`
		}
		if r.decode(&a) != nil || a.AdmissionToken == "" {
			s.unexpected(f, "admission", r)
			return
		}
		s.admitted.Add(1)
		f.attempts = 0
		if f.plan.abandonAdmitted {
			s.finish(f, oAbandonedAdmission)
			return
		}
		f.body, f.mode, f.quantity = nil, f.plan.mode, f.plan.quantity
		tok := a.AdmissionToken
		s.buy.after(f.plan.think, func() { s.hold(f, tok) })
	case retryable(r):
		f.attempts++
		if f.attempts > 8 {
			s.unexpected(f, "admission", r)
			return
		}
		s.buy.after(f.backoff(f.attempts), func() { s.admit(f) })
	case r.status == http.StatusConflict:
		code, details := r.errorCode()
		state, _ := details["state"].(string)
		switch {
		case code == "SOLD_OUT":
			s.finish(f, oSoldOut)
		case state == waitroom.StateWaiting || state == waitroom.StatePending:
			s.poller.after(f.jitter(2*time.Second), func() { s.poll(f) })
		case state == waitroom.StateExpired:
			s.finish(f, oAdmissionExpired)
		default:
			s.unexpected(f, "admission", r)
		}
	default:
		s.unexpected(f, "admission", r)
	}
}

// holdBody chooses what to ask for; nil when nothing fits, or when the
// seat map shows every section sold out: the fan page then shows "Sold
// out" and its waiting list instead of asking for a hold (web/app.js
// soldOutNow).
func (s *sim) holdBody(f *fan, token string) map[string]any {
	if av := s.availability(); av != nil && av.soldOut() {
		return nil
	}
	for range 3 {
		switch f.mode {
		case modePick:
			av := s.availability()
			if av != nil {
				if seats := av.pick(f, f.quantity); seats != nil {
					return map[string]any{"admissionToken": token, "seats": seats}
				}
			}
			f.mode = modeBest
		case modeGA:
			if av := s.availability(); av != nil && av.free[s.gaSection] < f.quantity {
				if n := av.free[s.gaSection]; n > 0 {
					f.quantity = n
				} else {
					f.mode = modeBest
					continue
				}
			}
			return map[string]any{"admissionToken": token, "section": s.gaSection, "quantity": f.quantity}
		default:
			sec := ""
			if av := s.availability(); av != nil {
				sec = av.section(f, f.quantity, s.reserved)
			}
			if sec == "" {
				if len(s.reserved) == 0 {
					return nil
				}
				sec = s.reserved[f.rng.IntN(len(s.reserved))]
			}
			f.section = sec
			return map[string]any{"admissionToken": token, "section": sec, "quantity": f.quantity}
		}
	}
	return nil
}

func (s *sim) hold(f *fan, token string) {
	if f.body == nil {
		f.tries++
		// A nil map in f.body (an interface) would not be nil.
		body := s.holdBody(f, token)
		if body == nil {
			s.finish(f, oSoldOut)
			return
		}
		f.body = body
		f.key = fmt.Sprintf("%s-h%d", f.sub, f.tries)
	}
	r := s.c.do(context.Background(), kHold, http.MethodPost, "/v1/events/"+s.eventID+"/holds", f.token, f.body,
		map[string]string{"Idempotency-Key": f.key})
	if r.status > 0 {
		s.holdTimes.answered(f.key, r.took)
	}
	switch {
	case r.status == http.StatusCreated:
		var o struct {
			OrderID string `json:"orderId"`
		}
		if r.decode(&o) != nil || o.OrderID == "" {
			s.unexpected(f, "hold", r)
			return
		}
		f.order, f.held, f.attempts = o.OrderID, time.Now(), 0
		s.ordered(f)
	case retryable(r):
		f.attempts++ // the same body and Idempotency-Key: a retry returns the first answer
		if f.attempts > 8 {
			s.unexpected(f, "hold", r)
			return
		}
		s.buy.after(f.backoff(f.attempts), func() { s.hold(f, token) })
	case r.status == http.StatusConflict:
		code, details := r.errorCode()
		if seats, ok := details["seats"].([]any); ok {
			if f.excluded == nil {
				f.excluded = map[string]bool{}
			}
			for _, v := range seats {
				if id, ok := v.(string); ok {
					f.excluded[id] = true
				}
			}
		}
		if n, ok := details["available"].(float64); ok && int(n) > 0 && int(n) < f.quantity {
			f.quantity = int(n)
		}
		if code == "SOLD_OUT" && f.mode == modeGA {
			f.mode = modeBest
		}
		if code != "SEATS_UNAVAILABLE" && code != "SOLD_OUT" {
			s.unexpected(f, "hold", r)
			return
		}
		s.conflicts.Add(1)
		if f.tries >= 5 {
			s.finish(f, oNoSeats)
			return
		}
		// Two seat-map picks lost: let the system choose. Every two more
		// conflicts: settle for one place fewer.
		if f.mode == modePick && f.tries >= 2 {
			f.mode = modeBest
		}
		if f.tries%2 == 0 && f.quantity > 1 {
			f.quantity--
		}
		f.body = nil
		s.buy.after(f.jitter(s.cfg.scaled(5*time.Second)), func() { s.hold(f, token) })
	case r.status == http.StatusForbidden:
		code, _ := r.errorCode()
		if code == "ADMISSION_INVALID" {
			s.finish(f, oAdmissionInvalid)
			return
		}
		s.unexpected(f, "hold", r)
	default:
		s.unexpected(f, "hold", r)
	}
}

// ordered: the fan holds places; now they cancel, walk away or pay.
func (s *sim) ordered(f *fan) {
	s.ordersMu.Lock()
	s.orders = append(s.orders, f.order)
	s.ordersMu.Unlock()
	p := f.plan
	switch {
	case p.cancel:
		s.buy.at(f.held.Add(p.cancelAfter), func() { s.cancel(f) })
	case p.noPay:
		s.finish(f, oAbandonedHold) // the workflow releases the places at expiry
	default:
		s.buy.at(f.held.Add(p.checkoutAfter), func() { s.checkout(f) })
	}
}

func (s *sim) cancel(f *fan) {
	r := s.c.do(context.Background(), kCancel, http.MethodDelete, "/v1/orders/"+f.order, f.token, nil, nil)
	switch {
	case r.status == http.StatusOK || r.status == http.StatusConflict:
		s.finish(f, oCancelled) // 409: the hold had expired first
	case retryable(r) && f.attempts < 8:
		f.attempts++
		s.buy.after(f.backoff(f.attempts), func() { s.cancel(f) })
	default:
		s.unexpected(f, "cancel", r)
	}
}

// checkout creates the payment (POST /v1/orders/{id}/payments).
func (s *sim) checkout(f *fan) {
	r := s.c.do(context.Background(), kPayment, http.MethodPost, "/v1/orders/"+f.order+"/payments", f.token,
		map[string]any{"provider": "sandbox"}, nil)
	switch {
	case r.status == http.StatusCreated:
		var p struct {
			PaymentID string `json:"paymentId"`
		}
		if r.decode(&p) != nil || p.PaymentID == "" {
			s.unexpected(f, "create payment", r)
			return
		}
		f.payment, f.attempts = p.PaymentID, 0
		s.buy.at(f.held.Add(f.plan.payAfter), func() { s.pay(f) })
	case r.status == http.StatusConflict:
		s.finish(f, oPaidTooLate)
	case retryable(r) && f.attempts < 8:
		f.attempts++
		s.buy.after(f.backoff(f.attempts), func() { s.checkout(f) })
	default:
		s.unexpected(f, "create payment", r)
	}
}

// pay completes the payment at the provider, whose webhook then behaves as
// the fan's plan says (delivered, dropped, duplicated, delayed, reordered).
func (s *sim) pay(f *fan) {
	body := map[string]any{"outcome": sandbox.OutcomeSucceeded, "webhook": f.plan.webhook}
	declining := f.plan.decline && !f.declined
	if declining {
		body = map[string]any{"outcome": sandbox.OutcomeDeclined, "webhook": sandbox.WebhookDeliver}
	} else if f.plan.webhook == sandbox.WebhookDelay {
		body["delaySeconds"] = f.plan.webhookDelay.Seconds()
	}
	r := s.c.do(context.Background(), kPay, http.MethodPost, "/sandbox/payments/"+f.payment+"/complete", "", body, nil)
	switch {
	case r.status == http.StatusOK:
	case retryable(r) && f.attempts < 8:
		f.attempts++
		s.buy.after(f.backoff(f.attempts), func() { s.pay(f) })
		return
	default:
		s.unexpected(f, "pay", r)
		return
	}
	f.attempts = 0
	if declining {
		f.declined = true
		s.faults.declines.Add(1)
		if !f.plan.retryDecline {
			s.finish(f, oDeclined)
			return
		}
		s.buy.after(s.cfg.scaled(10*time.Second+time.Duration(f.rng.Int64N(int64(50*time.Second)))), func() { s.pay(f) })
		return
	}
	s.faults.webhook(f.plan.webhook, f.plan.late)
	if f.plan.duplicate {
		s.buy.after(s.cfg.scaled(time.Duration(f.rng.Int64N(int64(10*time.Second)))), func() { s.duplicate(f) })
		return
	}
	s.buy.after(s.watchDelay(0), func() { s.watch(f) })
}

// duplicate: the fan paid a second time in another tab.
func (s *sim) duplicate(f *fan) {
	r := s.c.do(context.Background(), kDuplicate, http.MethodPost, "/sandbox/orders/"+f.order+"/duplicate-capture", "",
		map[string]any{"webhook": sandbox.WebhookDeliver}, nil)
	if r.status != http.StatusCreated {
		s.noteError(fmt.Sprintf("duplicate capture: %d %.200s", r.status, r.body))
	} else {
		s.faults.duplicates.Add(1)
	}
	s.buy.after(s.watchDelay(0), func() { s.watch(f) })
}

func (s *sim) watchDelay(n int) time.Duration {
	return max(500*time.Millisecond, s.cfg.scaled(30*time.Second)) << min(n, 4)
}

// watch reads the order until it is final, as the fan's page would.
func (s *sim) watch(f *fan) {
	r := s.c.do(context.Background(), kOrder, http.MethodGet, "/v1/orders/"+f.order, f.token, nil, nil)
	if retryable(r) {
		f.attempts++
		if f.attempts > 8 {
			s.finish(f, oStoppedWatching)
			return
		}
		s.buy.after(f.backoff(f.attempts), func() { s.watch(f) })
		return
	}
	var o struct {
		Status string `json:"status"`
	}
	if r.status != http.StatusOK || r.decode(&o) != nil {
		s.unexpected(f, "order", r)
		return
	}
	switch o.Status {
	case "ISSUED":
		s.finish(f, oIssued)
	case "REFUNDED":
		s.finish(f, oRefunded)
	default:
		// PENDING_PAYMENT or PAID: the payment is on its way. EXPIRED or
		// CANCELLED after paying: the hold ended before the payment was
		// applied (a late payment, or a lost webhook after the
		// workflow's last look); the webhook or the reconciler's sweep
		// will re-hold the places or refund the payment.
		if o.Status == "EXPIRED" || o.Status == "CANCELLED" {
			s.sawReleasedAfterPaying.Add(1)
		}
		f.polls++
		if f.polls > 7 {
			s.finish(f, oStoppedWatching)
			return
		}
		s.buy.after(s.watchDelay(f.polls), func() { s.watch(f) })
	}
}

// ---- the seat map --------------------------------------------------------------------------

// availability is the CDN-cached availability document, parsed once per
// refresh and shared by every fan who looks at the seat map.
func (s *sim) availability() *seatMap {
	v, _ := s.c.cdn.get(context.Background(), kAvailability, "/v1/events/"+s.eventID+"/availability", s.availTTL,
		func(b []byte) (any, error) { return parseSeatMap(b, s.layout) })
	m, _ := v.(*seatMap)
	return m
}

// seatMap is one availability document: free places per section and, per
// reserved row, which seats are free.
type seatMap struct {
	free map[string]int
	rows map[string][][]bool // section → rows → seat number-1 → free
	ids  map[string][]string // section → row ids
}

func parseSeatMap(b []byte, l layout) (*seatMap, error) {
	var doc struct {
		Sections []struct {
			ID        string `json:"id"`
			Available int    `json:"available"`
		} `json:"sections"`
		Seats map[string]string `json:"seats"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	m := &seatMap{free: map[string]int{}, rows: map[string][][]bool{}, ids: map[string][]string{}}
	for _, sec := range doc.Sections {
		m.free[sec.ID] = sec.Available
	}
	rowIndex := map[string]int{}
	for _, sec := range l.sections {
		if sec.ga {
			continue
		}
		rows := make([][]bool, len(sec.rows))
		ids := make([]string, len(sec.rows))
		for i, n := range sec.rows {
			rows[i] = make([]bool, n)
			ids[i] = strconv.Itoa(i + 1)
			rowIndex[sec.id+"-"+ids[i]] = i
		}
		m.rows[sec.id], m.ids[sec.id] = rows, ids
	}
	for id, state := range doc.Seats {
		if state != "AVAILABLE" {
			continue
		}
		i := strings.LastIndexByte(id, '-')
		if i < 0 {
			continue
		}
		row, ok := rowIndex[id[:i]]
		n, err := strconv.Atoi(id[i+1:])
		sec, _, _ := strings.Cut(id, "-")
		if !ok || err != nil || n < 1 || n > len(m.rows[sec][row]) {
			continue
		}
		m.rows[sec][row][n-1] = true
	}
	return m, nil
}

// section picks a reserved section with at least q free seats (the fan's
// current one when it still has them), or "".
// soldOut: no section shows a place available.
func (m *seatMap) soldOut() bool {
	for _, n := range m.free {
		if n > 0 {
			return false
		}
	}
	return true
}

func (m *seatMap) section(f *fan, q int, reserved []string) string {
	if f.section != "" && m.free[f.section] >= q && f.tries <= 2 {
		return f.section
	}
	var ok []string
	for _, id := range reserved {
		if m.free[id] >= q {
			ok = append(ok, id)
		}
	}
	if len(ok) == 0 {
		return ""
	}
	return ok[f.rng.IntN(len(ok))]
}

// pick chooses q adjacent free seats the way a fan on a seat map does:
// a section with room, rows from near the front, a block near the middle
// of the row, avoiding seats the fan already learned are taken.
func (m *seatMap) pick(f *fan, q int) []string {
	secs := make([]string, 0, len(m.rows))
	for id := range m.rows {
		if m.free[id] >= q {
			secs = append(secs, id)
		}
	}
	if len(secs) == 0 {
		return nil
	}
	// map order is random; sort for a seed-determined choice
	sortStrings(secs)
	sec := secs[f.rng.IntN(len(secs))]
	rows := m.rows[sec]
	start := f.rng.IntN(max(min(len(rows), 6), len(rows)/2))
	for k := range rows {
		r := (start + k) % len(rows)
		free := rows[r]
		prefix := sec + "-" + m.ids[sec][r] + "-"
		var best, bestDist = -1, math.MaxInt
		run := 0
		for i, ok := range free {
			if ok && (len(f.excluded) == 0 || !f.excluded[prefix+strconv.Itoa(i+1)]) {
				run++
			} else {
				run = 0
			}
			if run >= q {
				first := i - q + 1
				d := abs(first+q/2-len(free)/2) + f.rng.IntN(max(len(free)/4, 1))
				if d < bestDist {
					best, bestDist = first, d
				}
			}
		}
		if best >= 0 {
			out := make([]string, q)
			for i := range q {
				out[i] = prefix + strconv.Itoa(best+i+1)
			}
			return out
		}
	}
	return nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// faultCounts counts the faults the fans' plans injected.
type faultCounts struct {
	mu         sync.Mutex
	webhooks   map[string]int64
	latePays   atomic.Int64
	declines   atomic.Int64
	duplicates atomic.Int64
}

func (c *faultCounts) webhook(mode string, late bool) {
	c.mu.Lock()
	if c.webhooks == nil {
		c.webhooks = map[string]int64{}
	}
	c.webhooks[mode]++
	c.mu.Unlock()
	if late {
		c.latePays.Add(1)
	}
}
