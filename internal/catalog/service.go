package catalog

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/pricing"
)

// Store persists events and the availability read model.
type Store interface {
	// CreateEvent writes the event, one item per reserved seat, the GA shard
	// counters and an initial projection. It fails with fault.Exists when
	// the id exists.
	CreateEvent(ctx context.Context, ev Event) error
	// GetEvent returns fault.NotFound for an unknown id.
	GetEvent(ctx context.Context, id string) (Event, error)
	// ListEvents returns events by start time.
	ListEvents(ctx context.Context, limit int) ([]Event, error)
	// ListEventsFrom returns events starting at or after from, by start
	// time: at most limit, or all of them when limit is 0.
	ListEventsFrom(ctx context.Context, from time.Time, limit int) ([]Event, error)
	// ListOrgEvents returns an organization's events by start time.
	ListOrgEvents(ctx context.Context, org string, limit int) ([]Event, error)

	// Projections returns the stored projections of the named sections of
	// an event (missing ones are left out).
	Projections(ctx context.Context, eventID string, sections []string) ([]Projection, error)
	// LeaseRefresh grants the caller the right to rebuild the projections
	// until leaseUntil; false when another caller holds an unexpired lease.
	LeaseRefresh(ctx context.Context, eventID string, now, leaseUntil time.Time) (bool, error)
	// EndRefresh gives the lease up once a rebuild is done, so the next
	// stale read can rebuild again without waiting for the lease to lapse.
	EndRefresh(ctx context.Context, eventID string) error
	// SeatStates reads the current state of every seat in ids.
	SeatStates(ctx context.Context, eventID string, ids []string) (map[string]string, error)
	// GACounts sums a GA section's shard counters.
	GACounts(ctx context.Context, eventID, section string, shards int) (available, held, sold int, err error)
	// GAShards reads a GA section's counter shards, by shard number.
	GAShards(ctx context.Context, eventID, section string, shards int) ([]ShardCount, error)
	// PutProjection writes one section's projection if its stored version
	// is still prev (0: no projection or one written before versions),
	// storing p.Version; fault.Contention when another writer got there
	// first.
	PutProjection(ctx context.Context, eventID string, p Projection, prev int64) error
	// UpdateEvent re-reads the event, applies change and writes it back
	// conditional on the version it read, retrying on a lost race. An
	// error from change is returned as it is; fault.NotFound for an
	// unknown id; fault.Contention (wrapped with retry.ErrExhausted) when
	// the races did not stop.
	UpdateEvent(ctx context.Context, id string, change func(*Event) error) (Event, error)
}

// Projection is the compact availability of one section: one byte per seat
// in venue order ('A' available, 'H' held, 'S' sold, 'K' killed, 'B' held
// back; empty for GA) and the section's counts, as of AsOf. Killed and
// held-back seats count in none of Available, Held and Sold.
type Projection struct {
	Section   string
	States    string
	Capacity  int
	Available int
	Held      int
	Sold      int
	AsOf      time.Time
	// Shards are a GA section's counter shards as last seen (the counts
	// are their sums), so a change record of one shard, which carries that
	// shard's new counts, patches the projection without reading the
	// others (ADR 18).
	Shards []ShardCount
	// Version counts the projection's writes: every writer writes on the
	// condition that it is still the version it read (ADR 18).
	Version int64
	// RebuiltAt is when the projection was last recomputed from every
	// seat; the projector's patches keep it.
	RebuiltAt time.Time
}

// ShardCount is one GA counter shard's places.
type ShardCount struct{ Available, Held, Sold int }

// Sum recomputes a GA projection's counts from its shards.
func (p *Projection) Sum() {
	p.Available, p.Held, p.Sold = 0, 0, 0
	for _, c := range p.Shards {
		p.Available, p.Held, p.Sold = p.Available+c.Available, p.Held+c.Held, p.Sold+c.Sold
	}
}

// Same reports whether q says what p says about the places (states,
// counts and shards), whatever their versions and times.
func (p *Projection) Same(q Projection) bool {
	return p.States == q.States && p.Available == q.Available && p.Held == q.Held && p.Sold == q.Sold &&
		slices.Equal(p.Shards, q.Shards)
}

// Options configures a Service; zero values take defaults.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
	// Freshness is how old the availability projection may get before a
	// reader rebuilds it (default 2 s, the CDN TTL of /availability).
	// Ignored when Repair is set.
	Freshness time.Duration
	// Repair, when set, says a projector keeps the projections up to date
	// from the table's change records (ADR 18): readers then never rebuild
	// for freshness, only a projection that is missing or was last
	// rebuilt longer than Repair ago, which bounds how long a drift the
	// projector missed can last. Zero: readers rebuild every Freshness.
	Repair time.Duration
	// NewID makes event ids (default: random UUID).
	NewID func() string
}

// Service is the catalog: create, read and list events, and availability.
type Service struct {
	store     Store
	clock     clock.Clock
	log       *slog.Logger
	freshness time.Duration
	repair    time.Duration
	newID     func() string
}

// NewService builds a catalog service on store.
func NewService(store Store, o Options) *Service {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Freshness <= 0 {
		o.Freshness = 2 * time.Second
	}
	if o.NewID == nil {
		o.NewID = uuid.NewString
	}
	return &Service{store: store, clock: o.Clock, log: o.Logger, freshness: o.Freshness, repair: o.Repair, newID: o.NewID}
}

var eventIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidEventID reports whether id could name an event; path parameters that
// could not are answered NOT_FOUND without a database read.
func ValidEventID(id string) bool { return eventIDPattern.MatchString(id) }

// Create stores a validated event under a new id (or ev.ID when set, as the
// demo seed does) for organization org and returns it.
func (s *Service) Create(ctx context.Context, ev Event, org, createdBy string) (Event, error) {
	if ev.ID == "" {
		ev.ID = s.newID()
	}
	if !ValidEventID(ev.ID) {
		return Event{}, apperr.New(apperr.Invalid, "event id must be 1-64 letters, digits, '-' or '_'")
	}
	now := s.clock.Now()
	if org == "" {
		return Event{}, apperr.New(apperr.Invalid, "an event needs an organization")
	}
	ev.CreatedAt, ev.CreatedBy, ev.Org, ev.Sale.UpdatedAt = now, createdBy, org, now
	if err := s.store.CreateEvent(ctx, ev); err != nil {
		if fault.Is(err, fault.Exists) {
			return Event{}, apperr.Wrap(err, apperr.Conflict, "event %s already exists", ev.ID)
		}
		return Event{}, fmt.Errorf("create event %s: %w", ev.ID, err)
	}
	s.log.InfoContext(ctx, "event created", "eventId", ev.ID, "capacity", ev.Capacity, "sections", len(ev.Sections))
	return ev, nil
}

// Get returns an event or NOT_FOUND.
func (s *Service) Get(ctx context.Context, id string) (Event, error) {
	if !ValidEventID(id) {
		return Event{}, apperr.New(apperr.NotFound, "no event %q", id)
	}
	ev, err := s.store.GetEvent(ctx, id)
	return ev, eventErr(err, id)
}

// eventErr translates a store's failure for event id at the service's
// boundary: NOT_FOUND for an unknown id, UNAVAILABLE for a lost race that
// outlasted the retries; other errors pass as they are.
func eventErr(err error, id string) error {
	switch {
	case err == nil:
		return nil
	case fault.Is(err, fault.NotFound):
		return apperr.Wrap(err, apperr.NotFound, "no event %q", id)
	case fault.Is(err, fault.Contention):
		return apperr.Wrap(err, apperr.Unavailable, "event %s keeps changing; retry", id)
	}
	return err
}

// List returns up to 100 events ordered by start time.
func (s *Service) List(ctx context.Context) ([]Event, error) {
	return s.store.ListEvents(ctx, limits.EventsListed)
}

// ListOrg returns up to 100 of organization org's events by start time.
func (s *Service) ListOrg(ctx context.Context, org string) ([]Event, error) {
	return s.store.ListOrgEvents(ctx, org, limits.EventsListed)
}

// Live returns every event that may still be on sale: those starting no
// earlier than a day ago, oldest first, however many (the store pages
// through them). The schedules walk these rather than the first page of all
// events, which past events would fill.
func (s *Service) Live(ctx context.Context) ([]Event, error) {
	return s.store.ListEventsFrom(ctx, s.clock.Now().Add(-24*time.Hour), 0)
}

// Availability returns the event's availability read model. It reads the
// stored projections (one Query); when they are older than the freshness
// window, the one caller that wins a short lease rebuilds them from the seat
// items and GA shards while other callers keep serving the previous copy. So
// a fan sees states at most Freshness plus one rebuild old, and the seat
// items are read at most once per window however many fans poll.
func (s *Service) Availability(ctx context.Context, id string) (Availability, error) {
	ev, err := s.Get(ctx, id)
	if err != nil {
		return Availability{}, err
	}
	ps, err := s.current(ctx, &ev)
	if err != nil {
		return Availability{}, err
	}
	return render(&ev, ps), nil
}

// SectionStates returns a reserved section's projected seat states (one
// byte per seat in venue order, 'A' available), as fresh as Availability.
// Best-available holds start from it; the hold's conditional writes decide.
func (s *Service) SectionStates(ctx context.Context, ev *Event, section string) (string, error) {
	ps, err := s.current(ctx, ev)
	if err != nil {
		return "", err
	}
	return sectionStates(ev, ps, section)
}

func sectionStates(ev *Event, ps []Projection, section string) (string, error) {
	for _, p := range ps {
		if p.Section == section {
			return p.States, nil
		}
	}
	sec, ok := ev.Section(section)
	if !ok {
		return "", apperr.New(apperr.NotFound, "no section %q", section)
	}
	return strings.Repeat("A", sec.Capacity), nil
}

// current returns the stored projections, rebuilding them first when they
// are stale and this caller wins the lease.
func (s *Service) current(ctx context.Context, ev *Event) ([]Projection, error) {
	ids := make([]string, len(ev.Sections))
	for i, sec := range ev.Sections {
		ids[i] = sec.ID
	}
	ps, err := s.store.Projections(ctx, ev.ID, ids)
	if err != nil {
		return nil, fmt.Errorf("availability %s: %w", ev.ID, err)
	}
	now := s.clock.Now()
	if s.stale(ps, ev, now) {
		ok, err := s.store.LeaseRefresh(ctx, ev.ID, now, now.Add(10*time.Second))
		if err != nil {
			return nil, fmt.Errorf("availability %s: lease: %w", ev.ID, err)
		}
		if ok {
			ps, err = s.Rebuild(ctx, ev)
			if endErr := s.store.EndRefresh(ctx, ev.ID); endErr != nil {
				s.log.WarnContext(ctx, "availability lease not released; it lapses by itself", "eventId", ev.ID, "err", endErr)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return ps, nil
}

// stale: a section has no projection, or (maintained) one was last
// rebuilt longer than the repair interval ago, or (not maintained) one is
// older than the freshness window.
func (s *Service) stale(ps []Projection, ev *Event, now time.Time) bool {
	if len(ps) != len(ev.Sections) {
		return true
	}
	for _, p := range ps {
		if s.repair > 0 && now.Sub(p.RebuiltAt) > s.repair {
			return true
		}
		if s.repair <= 0 && now.Sub(p.AsOf) > s.freshness {
			return true
		}
	}
	return false
}

// Rebuild recomputes and stores every section projection of ev from the
// seat items and GA shards. Each section is written on the condition that
// its projection is still the version read before the seats were: when
// the projector patched it meanwhile, the patch (newer than what this
// rebuild read for that seat) stands, and the section's answer is re-read
// rather than overwritten with an older state.
func (s *Service) Rebuild(ctx context.Context, ev *Event) ([]Projection, error) {
	// At the store's precision, so the reader that rebuilds answers the
	// asOf that every other reader reads back.
	now := s.clock.Now().Truncate(time.Millisecond)
	ids := make([]string, len(ev.Sections))
	for i, sec := range ev.Sections {
		ids[i] = sec.ID
	}
	before, err := s.store.Projections(ctx, ev.ID, ids)
	if err != nil {
		return nil, fmt.Errorf("rebuild %s: %w", ev.ID, err)
	}
	prev := make(map[string]int64, len(before))
	for _, p := range before {
		prev[p.Section] = p.Version
	}
	ps := make([]Projection, 0, len(ev.Sections))
	lost := false
	for i := range ev.Sections {
		sec := &ev.Sections[i]
		p := Projection{Section: sec.ID, Capacity: sec.Capacity, AsOf: now, RebuiltAt: now, Version: prev[sec.ID] + 1}
		if sec.Kind == GA {
			shards, err := s.store.GAShards(ctx, ev.ID, sec.ID, len(GAShardCapacities(sec.Capacity)))
			if err != nil {
				return nil, fmt.Errorf("rebuild %s/%s: %w", ev.ID, sec.ID, err)
			}
			p.Shards = shards
			p.Sum()
		} else {
			ids := sec.SeatIDs()
			states, err := s.store.SeatStates(ctx, ev.ID, ids)
			if err != nil {
				return nil, fmt.Errorf("rebuild %s/%s: %w", ev.ID, sec.ID, err)
			}
			b := make([]byte, len(ids))
			for i, id := range ids {
				b[i] = StateByte(states[id])
			}
			p.States = string(b)
			p.Available, p.Held, p.Sold = CountStates(p.States)
		}
		err := s.store.PutProjection(ctx, ev.ID, p, prev[sec.ID])
		switch {
		case fault.Is(err, fault.Contention):
			lost = true
			continue
		case err != nil:
			return nil, fmt.Errorf("rebuild %s/%s: save: %w", ev.ID, sec.ID, err)
		}
		ps = append(ps, p)
	}
	if lost {
		// Some section moved under the rebuild: serve what is stored now
		// for those (the projector's newer patch).
		stored, err := s.store.Projections(ctx, ev.ID, ids)
		if err != nil {
			return nil, fmt.Errorf("rebuild %s: %w", ev.ID, err)
		}
		done := map[string]bool{}
		for _, p := range ps {
			done[p.Section] = true
		}
		for _, p := range stored {
			if !done[p.Section] {
				ps = append(ps, p)
			}
		}
	}
	return ps, nil
}

// StateByte is a seat state's byte in a projection.
func StateByte(state string) byte {
	switch state {
	case SeatHeld:
		return 'H'
	case SeatSold:
		return 'S'
	case SeatKilled:
		return 'K'
	case SeatHeldBack:
		return 'B'
	}
	return 'A'
}

// CountStates counts a projection's available, held and sold seats;
// killed and held-back seats are in none of them.
func CountStates(states string) (available, held, sold int) {
	for i := 0; i < len(states); i++ {
		switch states[i] {
		case 'A':
			available++
		case 'H':
			held++
		case 'S':
			sold++
		}
	}
	return available, held, sold
}

// InitialProjections are the projections of a fresh event: all available.
func InitialProjections(ev *Event, now time.Time) []Projection {
	ps := make([]Projection, 0, len(ev.Sections))
	for _, sec := range ev.Sections {
		p := Projection{Section: sec.ID, Capacity: sec.Capacity, Available: sec.Capacity, AsOf: now, RebuiltAt: now, Version: 1}
		switch sec.Kind {
		case Reserved:
			p.States = strings.Repeat("A", sec.Capacity)
		case GA:
			for _, c := range GAShardCapacities(sec.Capacity) {
				p.Shards = append(p.Shards, ShardCount{Available: c})
			}
		}
		ps = append(ps, p)
	}
	return ps
}

func render(ev *Event, ps []Projection) Availability {
	byID := map[string]Projection{}
	var asOf time.Time
	for i, p := range ps {
		byID[p.Section] = p
		if i == 0 || p.AsOf.Before(asOf) {
			asOf = p.AsOf
		}
	}
	out := Availability{EventID: ev.ID, AsOf: asOf, Seats: map[string]string{}}
	for i := range ev.Sections {
		sec := &ev.Sections[i]
		p, ok := byID[sec.ID]
		if !ok { // created after the last rebuild: nothing sold yet
			p = InitialProjections(&Event{Sections: []Section{*sec}}, asOf)[0]
		}
		out.Sections = append(out.Sections, SectionAvailability{
			ID: sec.ID, Kind: sec.Kind, Capacity: sec.Capacity, Available: p.Available, Held: p.Held, Sold: p.Sold,
			Unavailable: max(0, sec.Capacity-p.Available-p.Held-p.Sold),
		})
		if sec.Kind != Reserved {
			continue
		}
		for j, id := range sec.SeatIDs() {
			st := SeatAvailable
			if j < len(p.States) {
				switch p.States[j] {
				case 'H':
					st = SeatHeld
				case 'S':
					st = SeatSold
				case 'K', 'B':
					st = SeatUnavailable
				}
			}
			out.Seats[id] = st
		}
	}
	return out
}

// GAShardCapacities splits a GA section's capacity over its counter shards.
// Each hold updates one shard inside a transaction (2 WCU), and one
// partition takes 1,000 WCU/s; a shard per 250 places keeps a 2,000-place
// section at 8 shards, each far below that rate even when the whole
// section sells in a few seconds, while keeping reads of the section cheap.
func GAShardCapacities(capacity int) []int {
	n := (capacity + 249) / 250
	n = max(1, min(n, 32))
	caps := make([]int, n)
	for i := range caps {
		caps[i] = capacity / n
		if i < capacity%n {
			caps[i]++
		}
	}
	return caps
}

// Sale actions an organizer takes.
const (
	ActionOpen  = "open"
	ActionPause = "pause"
	ActionClose = "close"
)

// SetPresale opens a presale window at opensAt, until saleOpensAt, or moves
// the one set before. Only a sale still waiting for saleOpensAt can get one:
// once opened by hand, paused or closed, a presale would change what fans
// were told.
func (s *Service) SetPresale(ctx context.Context, id string, opensAt time.Time) (Event, error) {
	if !ValidEventID(id) {
		return Event{}, apperr.New(apperr.NotFound, "no event %q", id)
	}
	now := s.clock.Now()
	ev, err := s.store.UpdateEvent(ctx, id, func(ev *Event) error {
		if ev.Cancelled != nil {
			return ev.ErrCancelled()
		}
		switch ev.Sale.Status {
		case SaleOpen, SalePaused, SaleClosed:
			return apperr.New(apperr.InvalidStateChange, "the sale is %s: a presale comes before it opens", ev.Sale.Status)
		}
		if !now.Before(ev.SaleOpensAt) {
			return apperr.New(apperr.InvalidStateChange, "the sale opened at %s: a presale comes before it", ev.SaleOpensAt.Format(time.RFC3339))
		}
		if !opensAt.Before(ev.SaleOpensAt) {
			return apperr.New(apperr.Invalid, "opensAt must be before saleOpensAt (%s)", ev.SaleOpensAt.Format(time.RFC3339))
		}
		ev.Presale = &Presale{OpensAt: opensAt.UTC().Truncate(time.Second)}
		return nil
	})
	if err != nil {
		return Event{}, eventErr(err, id)
	}
	s.log.InfoContext(ctx, "presale window set", "eventId", id, "opensAt", ev.Presale.OpensAt)
	return ev, nil
}

// SaleRequest is POST /admin/v1/events/{id}/sale.
type SaleRequest struct {
	Action         string `json:"action"`
	AdmitPerMinute *int   `json:"admitPerMinute,omitempty"`
}

// ControlSale opens, pauses or closes an event's sale and retunes the
// waiting room's admission rate. Opening before saleOpensAt opens at once
// (and draws the waiting room's early joins now). A closed sale stays
// closed: re-opening it would break what fans were told.
func (s *Service) ControlSale(ctx context.Context, id string, req SaleRequest, by string) (Event, error) {
	switch req.Action {
	case ActionOpen, ActionPause, ActionClose:
	default:
		return Event{}, apperr.New(apperr.Invalid, `action must be "open", "pause" or "close"`)
	}
	if req.AdmitPerMinute != nil && (*req.AdmitPerMinute < 1 || *req.AdmitPerMinute > limits.AdmitPerMinute) {
		return Event{}, apperr.New(apperr.Invalid, "admitPerMinute must be 1-%d", limits.AdmitPerMinute)
	}
	if !ValidEventID(id) {
		return Event{}, apperr.New(apperr.NotFound, "no event %q", id)
	}
	now := s.clock.Now()
	ev, err := s.store.UpdateEvent(ctx, id, func(ev *Event) error {
		if ev.Cancelled != nil {
			return ev.ErrCancelled()
		}
		if ev.Sale.Status == SaleClosed && req.Action != ActionClose {
			return apperr.New(apperr.InvalidStateChange, "the sale is closed for good")
		}
		switch req.Action {
		case ActionOpen:
			if ev.Sale.OpenedAt.IsZero() && now.Before(ev.SaleOpensAt) {
				ev.Sale.OpenedAt = now
			}
			ev.Sale.Status = SaleOpen
		case ActionPause:
			ev.Sale.Status = SalePaused
		case ActionClose:
			ev.Sale.Status = SaleClosed
		}
		if req.AdmitPerMinute != nil {
			ev.Queue.AdmitPerMinute = *req.AdmitPerMinute
		}
		ev.Sale.UpdatedAt = now
		return nil
	})
	if err != nil {
		return Event{}, eventErr(err, id)
	}
	s.log.InfoContext(ctx, "sale changed", "eventId", id, "action", req.Action, "saleState", ev.SaleState(now),
		"admitPerMinute", ev.Queue.AdmitPerMinute, "by", by)
	return ev, nil
}

// SetPricing replaces an event's fee and tax setting (nil: face value
// only). It applies to holds placed from now on: an order keeps the
// breakdown it was held with, which is what its fan was shown and charged.
func (s *Service) SetPricing(ctx context.Context, id string, p *pricing.Pricing, by string) (Event, error) {
	p, err := CheckPricing(p)
	if err != nil {
		return Event{}, err
	}
	if !ValidEventID(id) {
		return Event{}, apperr.New(apperr.NotFound, "no event %q", id)
	}
	ev, err := s.store.UpdateEvent(ctx, id, func(ev *Event) error {
		if ev.Sale.Status == SaleClosed {
			return apperr.New(apperr.InvalidStateChange, "the sale is closed: its prices no longer change")
		}
		ev.Pricing = p
		return nil
	})
	if err != nil {
		return Event{}, eventErr(err, id)
	}
	log := s.log.With("eventId", id, "by", by)
	if p == nil {
		log.InfoContext(ctx, "pricing cleared: face value only")
	} else {
		log.InfoContext(ctx, "pricing set", "feeCents", p.FeeCents, "taxBasisPoints", p.TaxBasisPoints, "taxMode", p.TaxMode)
	}
	return ev, nil
}
