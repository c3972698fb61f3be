// Package seatmgmt is the organizer's management of an event's seats:
// killing seats (never on sale), holding seats back and releasing them,
// and the wheelchair and companion marks (ADR 30). Every change of a
// seat's state is one conditional write that names the states it may
// move from, never HELD or SOLD: a fan's hold or purchase always wins,
// and the seat it lost is reported with why.
package seatmgmt

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/limits"
)

// Action is what the organizer does to seats.
type Action string

// Actions on seat states.
const (
	Kill     Action = "kill"      // AVAILABLE or HELD_BACK → KILLED
	HoldBack Action = "hold-back" // AVAILABLE → HELD_BACK
	Release  Action = "release"   // HELD_BACK or KILLED → AVAILABLE
)

// move is the transition of an action: the states it moves from and to.
func (a Action) move() (from []string, to string, ok bool) {
	switch a {
	case Kill:
		return []string{catalog.SeatAvailable, catalog.SeatHeldBack}, catalog.SeatKilled, true
	case HoldBack:
		return []string{catalog.SeatAvailable}, catalog.SeatHeldBack, true
	case Release:
		return []string{catalog.SeatHeldBack, catalog.SeatKilled}, catalog.SeatAvailable, true
	}
	return nil, "", false
}

// MaxSeats bounds the seats of one request (limits.SeatsPerAction).
const MaxSeats = limits.SeatsPerAction

// writers is how many seat writes one request runs at once.
const writers = 8

// Store changes and reads seat items (internal/dynamo's InventoryStore).
type Store interface {
	// SetSeatState moves a seat to to if it is in one of from now;
	// fault.ConditionFailed when it is not (nothing changed).
	SetSeatState(ctx context.Context, eventID, seat string, from []string, to string) error
	// SeatStatesConsistent reads seats with strongly consistent reads.
	SeatStatesConsistent(ctx context.Context, eventID string, ids []string) (map[string]inventory.SeatState, error)
}

// Events reads events and their projected seat states (catalog.Service).
type Events interface {
	Get(ctx context.Context, id string) (catalog.Event, error)
	SectionStates(ctx context.Context, ev *catalog.Event, section string) (string, error)
	SetMarks(ctx context.Context, id string, seats []string, mark string) (catalog.Event, error)
}

// Service applies the organizer's seat actions.
type Service struct {
	store  Store
	events Events
	log    *slog.Logger
	comps  CompOptions
}

// NewService returns a Service; a nil logger is slog.Default.
func NewService(store Store, events Events, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: store, events: events, log: log}
}

// Selection names seats: a list of ids, or a range of a reserved
// section's rows (FromRow..ToRow in the section's row order, both
// inclusive; empty: the first or last row) and seat numbers (FromSeat..
// ToSeat; 0: the first or last seat of each row).
type Selection struct {
	Seats    []string `json:"seats,omitempty"`
	Section  string   `json:"section,omitempty"`
	FromRow  string   `json:"fromRow,omitempty"`
	ToRow    string   `json:"toRow,omitempty"`
	FromSeat int      `json:"fromSeat,omitempty"`
	ToSeat   int      `json:"toSeat,omitempty"`
}

// Request is the body of POST /admin/v1/events/{id}/seats/{action}.
type Request struct {
	Selection
}

// MarkRequest is the body of POST /admin/v1/events/{id}/seats/accessibility.
type MarkRequest struct {
	Selection
	Mark string `json:"mark"`
}

// Refusal is a seat an action left as it was, and why.
type Refusal struct {
	Seat   string `json:"seat"`
	State  string `json:"state"`
	Reason string `json:"reason"`
}

// Result is what an action did: the seats it changed, those already in
// the state it sets, and those it refused.
type Result struct {
	Action    Action    `json:"action"`
	Changed   []string  `json:"changed"`
	Unchanged []string  `json:"unchanged"`
	Refused   []Refusal `json:"refused"`
}

// Resolve turns a selection into the event's seat ids, in venue order for
// a range and as given (without repeats) for a list. INVALID_REQUEST for
// a selection that is both or neither, or larger than MaxSeats;
// INVALID_VENUE for a seat, section or row the event does not have.
func Resolve(ev *catalog.Event, sel Selection) ([]string, error) {
	switch {
	case len(sel.Seats) > 0 && sel.Section != "":
		return nil, apperr.New(apperr.Invalid, "give seats or a section range, not both")
	case len(sel.Seats) > 0:
		if len(sel.Seats) > MaxSeats {
			return nil, apperr.New(apperr.Invalid, "at most %d seats at once", MaxSeats)
		}
		out := make([]string, 0, len(sel.Seats))
		seen := map[string]bool{}
		for _, id := range sel.Seats {
			if _, ok := ev.SectionOfSeat(id); !ok {
				return nil, apperr.New(apperr.InvalidVenue, "no reserved seat %q", id)
			}
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
		return out, nil
	case sel.Section != "":
		return resolveRange(ev, sel)
	}
	return nil, apperr.New(apperr.Invalid, "give seats (a list of seat ids) or a section range")
}

func resolveRange(ev *catalog.Event, sel Selection) ([]string, error) {
	sec, ok := ev.Section(sel.Section)
	if !ok || sec.Kind != catalog.Reserved {
		return nil, apperr.New(apperr.InvalidVenue, "no reserved section %q", sel.Section)
	}
	if sel.FromSeat < 0 || sel.ToSeat < 0 || (sel.ToSeat > 0 && sel.FromSeat > sel.ToSeat) {
		return nil, apperr.New(apperr.Invalid, "fromSeat and toSeat are seat numbers, fromSeat ≤ toSeat")
	}
	rowAt := func(id string, def int) (int, error) {
		if id == "" {
			return def, nil
		}
		i := slices.IndexFunc(sec.Rows, func(r catalog.Row) bool { return r.ID == id })
		if i < 0 {
			return 0, apperr.New(apperr.InvalidVenue, "section %s has no row %q", sec.ID, id)
		}
		return i, nil
	}
	from, err := rowAt(sel.FromRow, 0)
	if err != nil {
		return nil, err
	}
	to, err := rowAt(sel.ToRow, len(sec.Rows)-1)
	if err != nil {
		return nil, err
	}
	if from > to {
		return nil, apperr.New(apperr.Invalid, "row %s comes after row %s", sel.FromRow, sel.ToRow)
	}
	var out []string
	for _, r := range sec.Rows[from : to+1] {
		lo, hi := max(1, sel.FromSeat), r.Seats
		if sel.ToSeat > 0 {
			hi = min(hi, sel.ToSeat)
		}
		for n := lo; n <= hi; n++ {
			out = append(out, catalog.SeatID(sec.ID, r.ID, n))
			if len(out) > MaxSeats {
				return nil, apperr.New(apperr.Invalid, "the range has more than %d seats", MaxSeats)
			}
		}
	}
	if len(out) == 0 {
		return nil, apperr.New(apperr.Invalid, "the range names no seat")
	}
	return out, nil
}

// Apply does action to the selected seats of an event, seat by seat:
// each seat moves or is refused on its own, so one sold seat does not
// stop the others. A seat already in the action's target state is
// unchanged, not refused (a retried request changes nothing twice).
func (s *Service) Apply(ctx context.Context, eventID string, action Action, sel Selection) (Result, error) {
	from, to, ok := action.move()
	if !ok {
		return Result{}, apperr.New(apperr.NotFound, "no seat action %q", action)
	}
	ev, err := s.events.Get(ctx, eventID)
	if err != nil {
		return Result{}, err
	}
	seats, err := Resolve(&ev, sel)
	if err != nil {
		return Result{}, err
	}
	var (
		mu      sync.Mutex
		changed = map[string]bool{}
		failed  []string
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(writers)
	for _, seat := range seats {
		g.Go(func() error {
			err := s.store.SetSeatState(gctx, ev.ID, seat, from, to)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				changed[seat] = true
			case fault.Is(err, fault.ConditionFailed):
				failed = append(failed, seat)
			default:
				return fmt.Errorf("%s seat %s: %w", action, seat, err)
			}
			return nil
		})
	}
	werr := g.Wait()
	res := Result{Action: action, Changed: []string{}, Unchanged: []string{}, Refused: []Refusal{}}
	for _, seat := range seats {
		if changed[seat] {
			res.Changed = append(res.Changed, seat)
		}
	}
	if len(res.Changed) > 0 {
		s.log.InfoContext(ctx, "seats changed", "eventId", ev.ID, "action", string(action), "seats", len(res.Changed))
	}
	if werr != nil {
		// What changed stays changed (each write stands alone); the
		// caller retries and finds those seats unchanged.
		return res, werr
	}
	if len(failed) == 0 {
		return res, nil
	}
	states, err := s.store.SeatStatesConsistent(ctx, ev.ID, failed)
	if err != nil {
		return res, fmt.Errorf("%s: read refused seats: %w", action, err)
	}
	for _, seat := range seats {
		if !slices.Contains(failed, seat) {
			continue
		}
		st := states[seat].State
		if st == to {
			res.Unchanged = append(res.Unchanged, seat)
			continue
		}
		res.Refused = append(res.Refused, Refusal{Seat: seat, State: st, Reason: reason(action, st)})
	}
	return res, nil
}

// reason says why action left a seat in state st.
func reason(action Action, st string) string {
	switch st {
	case catalog.SeatHeld:
		return "a fan holds it: it cannot be " + verb(action) + " until the hold ends"
	case catalog.SeatSold:
		return "it is sold: refund the order first"
	case catalog.SeatKilled:
		return "it is killed: release it first"
	case catalog.SeatAvailable:
		return "it is on sale already"
	case catalog.SeatHeldBack:
		return "it is held back: release it first"
	case "":
		return "no such seat"
	}
	return "it changed meanwhile: try again"
}

func verb(a Action) string {
	switch a {
	case Kill:
		return "killed"
	case HoldBack:
		return "held back"
	}
	return "released"
}

// Mark gives the selected seats an accessibility mark (catalog.MarkNone
// clears it).
func (s *Service) Mark(ctx context.Context, eventID string, req MarkRequest) (catalog.Event, int, error) {
	ev, err := s.events.Get(ctx, eventID)
	if err != nil {
		return catalog.Event{}, 0, err
	}
	seats, err := Resolve(&ev, req.Selection)
	if err != nil {
		return catalog.Event{}, 0, err
	}
	ev, err = s.events.SetMarks(ctx, ev.ID, seats, req.Mark)
	return ev, len(seats), err
}

// SectionSummary is what the organizer set aside in one reserved section.
type SectionSummary struct {
	Section       string   `json:"section"`
	Capacity      int      `json:"capacity"`
	Available     int      `json:"available"`
	Held          int      `json:"held"`
	Sold          int      `json:"sold"`
	Killed        int      `json:"killed"`
	HeldBack      int      `json:"heldBack"`
	Comps         int      `json:"comps"`
	KilledSeats   []string `json:"killedSeats"`
	HeldBackSeats []string `json:"heldBackSeats"`
	Wheelchair    []string `json:"wheelchair"`
	Companion     []string `json:"companion"`
}

// Summary is GET /admin/v1/events/{id}/seats.
type Summary struct {
	EventID  string           `json:"eventId"`
	Sections []SectionSummary `json:"sections"`
}

// Summarize counts each reserved section's killed and held-back seats
// from the availability projection: as fresh as what fans see.
func (s *Service) Summarize(ctx context.Context, eventID string) (Summary, error) {
	ev, err := s.events.Get(ctx, eventID)
	if err != nil {
		return Summary{}, err
	}
	comps, err := s.compsBySection(ctx, ev.ID)
	if err != nil {
		return Summary{}, err
	}
	out := Summary{EventID: ev.ID, Sections: []SectionSummary{}}
	for i := range ev.Sections {
		sec := &ev.Sections[i]
		if sec.Kind != catalog.Reserved {
			continue
		}
		states, err := s.events.SectionStates(ctx, &ev, sec.ID)
		if err != nil {
			return Summary{}, fmt.Errorf("summarize %s/%s: %w", ev.ID, sec.ID, err)
		}
		sum := SectionSummary{Section: sec.ID, Capacity: sec.Capacity, Comps: comps[sec.ID], KilledSeats: []string{}, HeldBackSeats: []string{},
			Wheelchair: append([]string{}, sec.Wheelchair...), Companion: append([]string{}, sec.Companion...)}
		sum.Available, sum.Held, sum.Sold = catalog.CountStates(states)
		for j, id := range sec.SeatIDs() {
			if j >= len(states) {
				break
			}
			switch states[j] {
			case 'K':
				sum.Killed++
				sum.KilledSeats = append(sum.KilledSeats, id)
			case 'B':
				sum.HeldBack++
				sum.HeldBackSeats = append(sum.HeldBackSeats, id)
			}
		}
		out.Sections = append(out.Sections, sum)
	}
	return out, nil
}
