package seatmgmt

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/orders"
)

// MaxComps bounds the seats of one comp (limits.CompSeats).
const MaxComps = limits.CompSeats

// CompRequest is the body of POST /admin/v1/events/{id}/comps: seats by
// id, or Quantity seats of Section (held-back seats first, then seats on
// sale, in venue order), for To: an email address or an account.
type CompRequest struct {
	Seats    []string `json:"seats,omitempty"`
	Section  string   `json:"section,omitempty"`
	Quantity int      `json:"quantity,omitempty"`
	To       string   `json:"to"`
}

// Comp is an issued complimentary order.
type Comp struct {
	OrderID string   `json:"orderId"`
	EventID string   `json:"eventId"`
	To      string   `json:"to"`
	Seats   []string `json:"seats"`
	Tickets int      `json:"tickets"`
}

// CompStore sells seats to a complimentary order (internal/dynamo).
type CompStore interface {
	// CreateComp stores o (PAID, Comp) and sells it o.Seats, each on
	// condition that it is AVAILABLE or HELD_BACK; fault.ConditionFailed
	// wrapping an *inventory.Conflict when some were not.
	CreateComp(ctx context.Context, o orders.Order) error
}

// Issuer issues a paid order's tickets and moves it to ISSUED, as the
// order workflow's issue task does (confirmation mail included).
type Issuer interface {
	IssueTickets(ctx context.Context, orderID string) error
}

// CompOptions are what comps need beyond seat actions; with any nil,
// Comp answers that comps are not available.
type CompOptions struct {
	Store   CompStore
	Tickets Issuer
	Clock   interface{ Now() time.Time }
	NewID   func() string
	// Reports lists an event's orders, to count its comps per section.
	Reports interface {
		EventOrders(ctx context.Context, eventID string) ([]orders.Order, error)
	}
}

// compsBySection counts the seats of an event's live comps by section.
func (s *Service) compsBySection(ctx context.Context, eventID string) (map[string]int, error) {
	out := map[string]int{}
	if s.comps.Reports == nil {
		return out, nil
	}
	os, err := s.comps.Reports.EventOrders(ctx, eventID)
	if err != nil {
		return nil, fmt.Errorf("count comps of %s: %w", eventID, err)
	}
	for _, o := range os {
		if o.Comp && (o.Status == orders.Paid || o.Status == orders.Issued || o.Status == orders.IssueFailed) {
			out[o.Section] += len(o.Seats)
		}
	}
	return out, nil
}

// WithComps returns s able to issue comps.
func (s *Service) WithComps(o CompOptions) *Service {
	s.comps = o
	return s
}

// recipient checks a comp's recipient: an email address (the order's
// email, and "email:<address>" its account) or an account id.
func recipient(to string) (account, email string, err error) {
	to = strings.TrimSpace(to)
	switch {
	case to == "":
		return "", "", apperr.New(apperr.Invalid, "to is required: the recipient's email address or account")
	case strings.Contains(to, "@"):
		a, perr := mail.ParseAddress(to)
		if perr != nil || a.Address != to || len(to) > limits.EmailBytes {
			return "", "", apperr.New(apperr.Invalid, "to is not an email address")
		}
		e := strings.ToLower(to)
		return "email:" + e, e, nil
	case len(to) > limits.AccountIDBytes || strings.ContainsAny(to, " \t\r\n#"):
		return "", "", apperr.New(apperr.Invalid, "to is not an account id")
	}
	return to, "", nil
}

// Comp issues complimentary tickets: one order of price zero, its seats
// sold in one transaction (never a seat a fan holds or bought), then its
// tickets. A failure after the transaction leaves a PAID order the
// reconciler issues tickets for.
func (s *Service) Comp(ctx context.Context, eventID, by string, req CompRequest) (Comp, error) {
	c := s.comps
	if c.Store == nil || c.Tickets == nil || c.Clock == nil || c.NewID == nil {
		return Comp{}, fmt.Errorf("comps are not configured")
	}
	account, email, err := recipient(req.To)
	if err != nil {
		return Comp{}, err
	}
	ev, err := s.events.Get(ctx, eventID)
	if err != nil {
		return Comp{}, err
	}
	if ev.Cancelled != nil {
		return Comp{}, ev.ErrCancelled()
	}
	seats, err := s.compSeats(ctx, &ev, req)
	if err != nil {
		return Comp{}, err
	}
	now := c.Clock.Now()
	sec, _ := ev.SectionOfSeat(seats[0])
	o := orders.Order{
		ID: c.NewID(), EventID: ev.ID, Account: account, Email: email, Status: orders.Paid, Seats: seats, Section: sec.ID,
		Currency: ev.Currency, CreatedAt: now, UpdatedAt: now, ExpiresAt: now, PaidAt: now, Version: 1,
		Comp: true, CompBy: by,
	}
	err = c.Store.CreateComp(ctx, o)
	var conflict *inventory.Conflict
	switch {
	case errors.As(err, &conflict) && len(conflict.Seats) > 0:
		return Comp{}, apperr.New(apperr.SeatsUnavailable, "some seats are held, sold or killed").With("seats", conflict.Seats)
	case fault.Is(err, fault.Contention) || fault.Is(err, fault.Unavailable):
		return Comp{}, apperr.Wrap(err, apperr.Unavailable, "the seats kept changing; retry")
	case err != nil:
		return Comp{}, fmt.Errorf("comp for %s: %w", ev.ID, err)
	}
	if err := c.Tickets.IssueTickets(ctx, o.ID); err != nil {
		// The order is PAID: the reconciler issues its tickets.
		return Comp{}, fmt.Errorf("comp %s: issue tickets: %w", o.ID, err)
	}
	s.log.InfoContext(ctx, "comp issued", "eventId", ev.ID, "orderId", o.ID, "seats", len(seats), "by", by)
	return Comp{OrderID: o.ID, EventID: ev.ID, To: strings.TrimSpace(req.To), Seats: seats, Tickets: len(seats)}, nil
}

// compSeats are the seats a comp asks for: the ids given, or quantity
// seats of a section, held-back seats first (what organizers keep for
// guests), then seats on sale.
func (s *Service) compSeats(ctx context.Context, ev *catalog.Event, req CompRequest) ([]string, error) {
	switch {
	case len(req.Seats) > 0 && (req.Section != "" || req.Quantity != 0):
		return nil, apperr.New(apperr.Invalid, "give seats or a section and a quantity, not both")
	case len(req.Seats) > 0:
		if len(req.Seats) > MaxComps {
			return nil, apperr.New(apperr.Invalid, "at most %d seats per comp", MaxComps)
		}
		return Resolve(ev, Selection{Seats: req.Seats})
	case req.Section == "":
		return nil, apperr.New(apperr.Invalid, "give seats, or a section and a quantity")
	case req.Quantity < 1 || req.Quantity > MaxComps:
		return nil, apperr.New(apperr.Invalid, "quantity must be between 1 and %d", MaxComps)
	}
	sec, ok := ev.Section(req.Section)
	if !ok || sec.Kind != catalog.Reserved {
		return nil, apperr.New(apperr.InvalidVenue, "no reserved section %q", req.Section)
	}
	// The seats' own states, read consistently: the projection may lag,
	// and a comp is rare enough to read its section.
	ids := sec.SeatIDs()
	states, err := s.store.SeatStatesConsistent(ctx, ev.ID, ids)
	if err != nil {
		return nil, fmt.Errorf("comp: read section %s: %w", sec.ID, err)
	}
	var out []string
	for _, want := range []string{catalog.SeatHeldBack, catalog.SeatAvailable} {
		for _, id := range ids {
			if len(out) == req.Quantity {
				return out, nil
			}
			if states[id].State == want {
				out = append(out, id)
			}
		}
	}
	if len(out) < req.Quantity {
		return nil, apperr.New(apperr.SeatsUnavailable, "section %s has %d seats to give, not %d", sec.ID, len(out), req.Quantity).
			With("available", len(out))
	}
	return out, nil
}
