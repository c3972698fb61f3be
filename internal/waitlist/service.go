package waitlist

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"

	"github.com/stararena/stararena/internal/admission"
	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/mail"
)

// Events reads events and their availability (catalog.Service).
type Events interface {
	Get(ctx context.Context, id string) (catalog.Event, error)
	Live(ctx context.Context) ([]catalog.Event, error)
	Availability(ctx context.Context, id string) (catalog.Availability, error)
}

// Signer signs an offer's admission token (admission.Tokens).
type Signer interface {
	Sign(c admission.Claims) (string, error)
}

// Policy is how the list orders fans, as the API states it.
const Policy = "first-come-first-served"

// usedSettles is how long a used offer's places still count against the
// places that came back: the availability projection the sweep reads may
// not show the offer's hold yet (it is at most its freshness window old).
const usedSettles = time.Minute

// activeCacheTTL is how long one instance trusts its read of whether a
// list governs admission: admissions during a rush must not all read the
// one list item.
const activeCacheTTL = 2 * time.Second

// Service runs the waiting lists.
type Service struct {
	store  Store
	events Events
	tokens Signer
	mail   mail.Queue
	clock  clock.Clock
	log    *slog.Logger

	mu     sync.Mutex
	active map[string]cachedMeta
	// metaReads lets one read of an expired list item go to DynamoDB while
	// the instance's other requests for it wait for that read.
	metaReads singleflight.Group
}

type cachedMeta struct {
	meta  Meta
	found bool
	at    time.Time
}

// NewService builds the service. q may be nil (no offer email).
func NewService(st Store, events Events, tokens Signer, q mail.Queue, c clock.Clock, log *slog.Logger) *Service {
	if c == nil {
		c = clock.System{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: st, events: events, tokens: tokens, mail: q, clock: c, log: log, active: map[string]cachedMeta{}}
}

// JoinRequest is the body of a join.
type JoinRequest struct {
	// Quantity is how many places the fan wants (1 when absent, at most
	// the event's maxTicketsPerAccount).
	Quantity *int `json:"quantity,omitempty"`
}

// OfferView is a live offer as its fan sees it.
type OfferView struct {
	OfferID        string    `json:"offerId"`
	ExpiresAt      time.Time `json:"expiresAt"`
	AdmissionToken string    `json:"admissionToken"`
}

// View is a fan's entry.
type View struct {
	EventID  string    `json:"eventId"`
	Policy   string    `json:"policy"`
	Status   string    `json:"status"`
	Quantity int       `json:"quantity"`
	JoinedAt time.Time `json:"joinedAt"`
	// Position is the fan's number in the order of joining; Ahead how
	// many fans before it still wait without an offer (only while
	// waiting).
	Position int64      `json:"position"`
	Ahead    *int       `json:"ahead,omitempty"`
	Offer    *OfferView `json:"offer,omitempty"`
}

func eventErr(id string) error { return apperr.New(apperr.NotFound, "no event %q", id) }

// Join puts the account on the event's list, once: a second join answers
// the entry it has (created false). Only when no place is available.
func (s *Service) Join(ctx context.Context, account, email, eventID string, req JoinRequest) (View, bool, error) {
	if !catalog.ValidEventID(eventID) {
		return View{}, false, eventErr(eventID)
	}
	ev, err := s.events.Get(ctx, eventID)
	if err != nil {
		return View{}, false, err
	}
	q := 1
	if req.Quantity != nil {
		q = *req.Quantity
	}
	if q < 1 || q > ev.MaxTicketsPerAccount {
		return View{}, false, apperr.New(apperr.Invalid, "quantity must be 1 to %d", ev.MaxTicketsPerAccount)
	}
	if e, ok, err := s.store.WaitlistEntry(ctx, eventID, account); err != nil {
		return View{}, false, err
	} else if ok && Open(e.Status) {
		v, err := s.view(ctx, e)
		return v, false, err
	}
	if st := ev.SaleState(s.clock.Now()); st != catalog.SaleOpen && st != catalog.SalePaused {
		return View{}, false, apperr.New(apperr.SaleNotOpen, "the sale is %s: the waiting list opens when the sale has sold out", st).With("saleState", st)
	}
	if free, err := s.available(ctx, eventID); err != nil {
		return View{}, false, err
	} else if free > 0 {
		return View{}, false, apperr.New(apperr.NotSoldOut, "%d places are still available: buy them instead", free).With("available", free)
	}
	seq, err := s.store.NextWaitlistSeq(ctx, eventID)
	if err != nil {
		return View{}, false, err
	}
	now := s.clock.Now()
	e, created, err := s.store.PutWaitlistEntry(ctx, Entry{EventID: eventID, Account: account, Email: email, Seq: seq,
		Quantity: q, Status: Waiting, JoinedAt: now, UpdatedAt: now})
	if err != nil {
		return View{}, false, err
	}
	s.forget(eventID)
	if created {
		s.log.InfoContext(ctx, "waiting list joined", "eventId", eventID, "seq", seq, "quantity", q)
	}
	v, err := s.view(ctx, e)
	return v, created, err
}

// Me answers the account's entry, with its offer's token while it lasts.
func (s *Service) Me(ctx context.Context, account, eventID string) (View, error) {
	e, ok, err := s.store.WaitlistEntry(ctx, eventID, account)
	if err != nil {
		return View{}, err
	}
	if !ok {
		return View{}, apperr.New(apperr.NotFound, "you are not on the waiting list of %q", eventID)
	}
	return s.view(ctx, e)
}

// Leave takes the account off the list; an offer it held passes on.
func (s *Service) Leave(ctx context.Context, account, eventID string) error {
	err := s.store.LeaveWaitlist(ctx, eventID, account, s.clock.Now())
	if fault.Is(err, fault.ConditionFailed) {
		return apperr.New(apperr.NotFound, "you are not on the waiting list of %q", eventID)
	}
	return err
}

// view renders e for its fan: the fans still waiting ahead of it, and
// the offer's token while the offer lasts.
func (s *Service) view(ctx context.Context, e Entry) (View, error) {
	now := s.clock.Now()
	v := View{EventID: e.EventID, Policy: Policy, Status: e.Status, Quantity: e.Quantity, JoinedAt: e.JoinedAt, Position: e.Seq}
	switch e.Status {
	case Waiting:
		all, err := s.store.WaitlistEntries(ctx, e.EventID)
		if err != nil {
			return View{}, err
		}
		ahead := 0
		for _, o := range all {
			if o.Seq < e.Seq && o.Status == Waiting {
				ahead++
			}
		}
		v.Ahead = &ahead
	case Offered:
		if e.Offer == nil || !now.Before(e.Offer.ExpiresAt) {
			v.Status = Expired // lapsed; the next sweep records it
			break
		}
		tok, err := s.tokens.Sign(admission.Claims{ID: e.Offer.ID, Account: e.Account, EventID: e.EventID, ExpiresAt: e.Offer.ExpiresAt})
		if err != nil {
			return View{}, err
		}
		v.Offer = &OfferView{OfferID: e.Offer.ID, ExpiresAt: e.Offer.ExpiresAt, AdmissionToken: tok}
	}
	return v, nil
}

// Admit is the admission gate's first question (admission.Waitlist):
// while the list governs admission, a fan with a live offer gets its
// token and everyone else WAITLIST_FIRST; otherwise handled is false.
func (s *Service) Admit(ctx context.Context, account, eventID string) (string, admission.Claims, bool, error) {
	m, found, err := s.meta(ctx, eventID)
	if err != nil || !found || !m.Active() {
		return "", admission.Claims{}, false, err
	}
	e, ok, err := s.store.WaitlistEntry(ctx, eventID, account)
	if err != nil {
		return "", admission.Claims{}, true, err
	}
	if ok && e.Status == Offered && e.Offer != nil && s.clock.Now().Before(e.Offer.ExpiresAt) {
		c := admission.Claims{ID: e.Offer.ID, Account: account, EventID: eventID, ExpiresAt: e.Offer.ExpiresAt}
		tok, err := s.tokens.Sign(c)
		return tok, c, true, err
	}
	return "", admission.Claims{}, true, apperr.New(apperr.WaitlistFirst,
		"places that come back go to the waiting list first: join it to be offered one").With("waitlist", "/v1/events/"+eventID+"/waitlist")
}

// meta reads the list item through a short per-instance cache.
func (s *Service) meta(ctx context.Context, eventID string) (Meta, bool, error) {
	now := s.clock.Now()
	s.mu.Lock()
	c, ok := s.active[eventID]
	s.mu.Unlock()
	if ok && now.Sub(c.at) < activeCacheTTL {
		return c.meta, c.found, nil
	}
	read := func() (any, error) {
		m, found, err := s.store.WaitlistMeta(ctx, eventID)
		return cachedMeta{meta: m, found: found}, err
	}
	v, err, shared := s.metaReads.Do(eventID, read)
	if err != nil && shared && ctx.Err() == nil {
		// The read this request waited for failed, perhaps on its own
		// request's deadline: read for this request.
		v, err = read()
	}
	if err != nil {
		return Meta{}, false, err
	}
	m, found := v.(cachedMeta).meta, v.(cachedMeta).found
	s.mu.Lock()
	s.active[eventID] = cachedMeta{meta: m, found: found, at: now}
	s.mu.Unlock()
	return m, found, nil
}

func (s *Service) forget(eventID string) {
	s.mu.Lock()
	delete(s.active, eventID)
	s.mu.Unlock()
	s.metaReads.Forget(eventID) // the next read does not join one from before
}

// MarkUsed records that a hold used an offer's admission (a no-op for
// any other admission).
func (s *Service) MarkUsed(ctx context.Context, eventID, account, admissionID string) error {
	if !strings.HasPrefix(admissionID, OfferIDPrefix) {
		return nil
	}
	err := s.store.UseWaitlistOffer(ctx, eventID, account, admissionID, s.clock.Now())
	if fault.Is(err, fault.ConditionFailed) {
		return nil // left or lapsed meanwhile; the hold stands
	}
	return err
}

// Summary is the list as the organizer sees it.
type Summary struct {
	EventID      string `json:"eventId"`
	Policy       string `json:"policy"`
	OfferMinutes int    `json:"offerMinutes"`
	Waiting      int    `json:"waiting"`
	Offered      int    `json:"offered"`
	Used         int    `json:"used"`
	Expired      int    `json:"expired"`
	Left         int    `json:"left"`
	// PlacesWanted sums the places the waiting fans asked for.
	PlacesWanted int `json:"placesWanted"`
}

// Summarize counts an event's list.
func (s *Service) Summarize(ctx context.Context, eventID string) (Summary, error) {
	if _, err := s.events.Get(ctx, eventID); err != nil {
		return Summary{}, err
	}
	m, _, err := s.store.WaitlistMeta(ctx, eventID)
	if err != nil {
		return Summary{}, err
	}
	all, err := s.store.WaitlistEntries(ctx, eventID)
	if err != nil {
		return Summary{}, err
	}
	out := Summary{EventID: eventID, Policy: Policy, OfferMinutes: int(m.Window() / time.Minute)}
	now := s.clock.Now()
	for _, e := range all {
		switch {
		case e.Status == Waiting:
			out.Waiting++
			out.PlacesWanted += e.Quantity
		case e.Status == Offered && e.Offer != nil && now.Before(e.Offer.ExpiresAt):
			out.Offered++
		case e.Status == Offered, e.Status == Expired:
			out.Expired++
		case e.Status == Used:
			out.Used++
		case e.Status == Left:
			out.Left++
		}
	}
	return out, nil
}

// SettingsRequest sets an event's offer window.
type SettingsRequest struct {
	OfferMinutes int `json:"offerMinutes"`
}

// Configure sets the offer window of offers made from now on.
func (s *Service) Configure(ctx context.Context, eventID string, req SettingsRequest) (Summary, error) {
	if req.OfferMinutes < limits.WaitlistMinOfferMinutes || req.OfferMinutes > limits.WaitlistMaxOfferMinutes {
		return Summary{}, apperr.New(apperr.Invalid, "offerMinutes must be %d to %d", limits.WaitlistMinOfferMinutes, limits.WaitlistMaxOfferMinutes)
	}
	if _, err := s.events.Get(ctx, eventID); err != nil {
		return Summary{}, err
	}
	if err := s.store.SetWaitlistWindow(ctx, eventID, req.OfferMinutes); err != nil {
		return Summary{}, err
	}
	return s.Summarize(ctx, eventID)
}

// available sums the places an event has free now.
func (s *Service) available(ctx context.Context, eventID string) (int, error) {
	av, err := s.events.Availability(ctx, eventID)
	if err != nil {
		return 0, err
	}
	free := 0
	for _, sec := range av.Sections {
		free += sec.Available
	}
	return free, nil
}

// SweepResult is what one sweep of one list did.
type SweepResult struct {
	EventID string `json:"eventId"`
	Expired int    `json:"expired"`
	Offered int    `json:"offered"`
	// Lost is true when another sweep raised the version first: it made
	// the offers, this one stopped.
	Lost bool `json:"lost,omitempty"`
}

// Sweep lapses the offers whose window ended and offers the places free
// now, less those live offers already promise, to the waiting fans in
// the order they joined (a fan whose quantity does not fit is passed over
// until enough places are free). Each offer is conditional on the
// version the sweep read: a concurrent sweep's offer makes this one stop,
// so the places promised never exceed the places that came back.
func (s *Service) Sweep(ctx context.Context, eventID string) (SweepResult, error) {
	res := SweepResult{EventID: eventID}
	m, found, err := s.store.WaitlistMeta(ctx, eventID)
	if err != nil || !found {
		return res, err
	}
	ev, err := s.events.Get(ctx, eventID)
	if err != nil {
		return res, err
	}
	all, err := s.store.WaitlistEntries(ctx, eventID)
	if err != nil {
		return res, err
	}
	slices.SortFunc(all, func(a, b Entry) int { return cmp.Compare(a.Seq, b.Seq) })
	now := s.clock.Now()
	promised, open := 0, 0
	var waiting []Entry
	for _, e := range all {
		switch {
		case e.Status == Offered && e.Offer != nil && !now.Before(e.Offer.ExpiresAt):
			if err := s.store.ExpireWaitlistOffer(ctx, eventID, e.Account, e.Offer.ID, now); err != nil && !fault.Is(err, fault.ConditionFailed) {
				return res, err
			}
			res.Expired++
		case e.Status == Offered:
			promised += e.Quantity
			open++
		case e.Status == Used && e.Offer != nil && now.Sub(e.Offer.UsedAt) < usedSettles:
			promised += e.Quantity
		case e.Status == Waiting:
			waiting = append(waiting, e)
			open++
		}
	}
	if len(waiting) > 0 && ev.SaleState(now) == catalog.SaleOpen {
		free, err := s.available(ctx, eventID)
		if err != nil {
			return res, err
		}
		free -= promised
		version := m.Version
		for _, e := range waiting {
			if free <= 0 {
				break
			}
			if e.Quantity > free {
				continue
			}
			o := Offer{ID: OfferIDPrefix + uuid.NewString(), OfferedAt: now, ExpiresAt: now.Add(m.Window()).Truncate(time.Second)}
			err := s.store.OfferWaitlist(ctx, eventID, e.Account, version, o)
			if fault.Is(err, fault.ConditionFailed) || fault.Is(err, fault.Contention) {
				res.Lost = true
				s.log.InfoContext(ctx, "waiting list sweep stopped: another sweep offered first", "eventId", eventID)
				return res, nil
			}
			if err != nil {
				return res, err
			}
			version++
			free -= e.Quantity
			res.Offered++
			s.log.InfoContext(ctx, "waiting list offer", "eventId", eventID, "seq", e.Seq, "offerId", o.ID, "quantity", e.Quantity, "expiresAt", o.ExpiresAt)
			s.notify(ctx, eventID, e.Account, o.ID)
		}
		m.Version = version
	}
	if err := s.store.SaveWaitlistCount(ctx, eventID, m.Version, open, m.Next); err != nil && !fault.Is(err, fault.ConditionFailed) {
		return res, err
	}
	return res, nil
}

// notify queues the offer's email. A lost enqueue is logged, not
// returned: the offer stands and the site shows it.
func (s *Service) notify(ctx context.Context, eventID, account, offerID string) {
	if s.mail == nil {
		return
	}
	r := mail.Request{Kind: mail.WaitlistOffer, EventID: eventID, Account: account, OfferID: offerID}
	if err := s.mail.Enqueue(ctx, r); err != nil {
		s.log.WarnContext(ctx, "waiting list offer email not queued", "eventId", eventID, "offerId", offerID, "err", err)
	}
}

// SweepAll sweeps the list of every live event; an event nobody waits for
// costs one read.
func (s *Service) SweepAll(ctx context.Context) ([]SweepResult, error) {
	evs, err := s.events.Live(ctx)
	if err != nil {
		return nil, err
	}
	var out []SweepResult
	for _, ev := range evs {
		r, err := s.Sweep(ctx, ev.ID)
		if err != nil {
			return out, err
		}
		if r.Offered > 0 || r.Expired > 0 || r.Lost {
			out = append(out, r)
		}
	}
	return out, nil
}

// OfferNotice is what the offer email says (mail.OfferReader): ok is
// false when the offer is no longer live, and nothing is sent.
func (s *Service) OfferNotice(ctx context.Context, eventID, account, offerID string) (mail.OfferNotice, bool, error) {
	e, ok, err := s.store.WaitlistEntry(ctx, eventID, account)
	if err != nil || !ok {
		return mail.OfferNotice{}, false, err
	}
	if e.Status != Offered || e.Offer == nil || e.Offer.ID != offerID || !s.clock.Now().Before(e.Offer.ExpiresAt) || e.Email == "" {
		return mail.OfferNotice{}, false, nil
	}
	ev, err := s.events.Get(ctx, eventID)
	if err != nil {
		return mail.OfferNotice{}, false, err
	}
	return mail.OfferNotice{To: e.Email, Account: account, Event: ev, Quantity: e.Quantity, ExpiresAt: e.Offer.ExpiresAt, OfferID: offerID}, true, nil
}
