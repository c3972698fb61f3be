// Package catalog holds events and their venue maps: what is on sale, where,
// at what price, and how much of it is still available.
package catalog

import (
	"fmt"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/pricing"
)

// Section kinds.
const (
	Reserved = "reserved" // individual numbered seats in rows
	GA       = "ga"       // general admission: a capacity, no seat numbers
)

// Queue modes.
const (
	QueueOn  = "on"
	QueueOff = "off"
)

// Sale states as fans see them.
const (
	SaleScheduled = "SCHEDULED" // before saleOpensAt
	// SalePresale: from the presale window's opening to saleOpensAt, only
	// fans with a presale code are admitted (internal/presale).
	SalePresale = "PRESALE"
	SaleOpen    = "OPEN"
	SalePaused  = "PAUSED"
	SaleClosed  = "CLOSED"
	// SaleCancelled: the organizer cancelled the event (internal/
	// cancellation); it overrides every other state and never ends.
	SaleCancelled = "CANCELLED"
)

// Row is one row of numbered seats; seat numbers run 1..Seats.
type Row struct {
	ID    string `json:"id"`
	Seats int    `json:"seats"`
}

// Section is a priced part of the venue: reserved rows or a GA capacity.
type Section struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	PriceCents int64  `json:"priceCents"`
	Currency   string `json:"currency"`
	Capacity   int    `json:"capacity"`
	Rows       []Row  `json:"rows,omitempty"`
	// Shape places the section on the venue map (nil: the organizer gave
	// none; WithLayout generates one when the event is shown).
	Shape *Shape `json:"shape,omitempty"`
	// Wheelchair and Companion list the section's wheelchair spaces and
	// the companion seats beside them (accessibility marks of the venue
	// map, ADR 30).
	Wheelchair []string `json:"wheelchair,omitempty"`
	Companion  []string `json:"companion,omitempty"`
}

// QueueConfig is the waiting-room setting of an event.
type QueueConfig struct {
	Mode           string `json:"mode"`
	AdmitPerMinute int    `json:"admitPerMinute"`
}

// Sale is the organizer-controlled sale switch. Status is SCHEDULED until the
// organizer opens, pauses or closes it; a SCHEDULED sale is OPEN from
// saleOpensAt.
type Sale struct {
	Status    string    `json:"status"`
	UpdatedAt time.Time `json:"updatedAt"`
	// OpenedAt is when the organizer first opened the sale by hand (zero
	// when it opened, or opens, at saleOpensAt).
	OpenedAt time.Time `json:"openedAt,omitzero"`
}

// Event is a concert with its venue map.
type Event struct {
	ID                   string      `json:"eventId"`
	Name                 string      `json:"name"`
	Venue                string      `json:"venue"`
	StartsAt             time.Time   `json:"startsAt"`
	SaleOpensAt          time.Time   `json:"saleOpensAt"`
	HoldSeconds          int         `json:"holdSeconds"`
	MaxTicketsPerAccount int         `json:"maxTicketsPerAccount"`
	Queue                QueueConfig `json:"queue"`
	Sale                 Sale        `json:"sale"`
	Currency             string      `json:"currency"`
	Capacity             int         `json:"capacity"`
	Sections             []Section   `json:"sections"`
	CreatedAt            time.Time   `json:"createdAt"`
	CreatedBy            string      `json:"createdBy,omitempty"`
	// Org is the organization that owns the event: its staff, and only
	// they, manage it (internal/tenancy).
	Org string `json:"org,omitempty"`
	// Presale, when set, opens the sale to presale-code holders before
	// saleOpensAt.
	Presale *Presale `json:"presale,omitempty"`
	// Pricing is the service fee per ticket and the tax the event charges
	// on top of, or within, its prices (ADR 26). Nil for events that charge
	// the face value only.
	Pricing *pricing.Pricing `json:"pricing,omitempty"`
	// Cancelled is set, once and for good, when the organizer cancels the
	// event: the sale is over and every paid order is refunded.
	Cancelled *Cancellation `json:"cancelled,omitempty"`
	// TicketCodes is what the event's gates accept (ADR 28):
	// CodesRotatingOnly, or CodesRotatingAndPrintable (also when empty:
	// events created before rotating codes).
	TicketCodes string `json:"ticketCodes,omitempty"`
	// Postponed is set when the organizer moves the event to a new date:
	// tickets stay valid, and buyers may ask for a refund until
	// RefundUntil.
	Postponed *Postponement `json:"postponed,omitempty"`
}

// Cancellation is who cancelled an event, when and why (told to fans).
type Cancellation struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Reason string    `json:"reason"`
}

// Postponement is the last move of an event's date.
type Postponement struct {
	At          time.Time `json:"at"`
	By          string    `json:"by"`
	From        time.Time `json:"from"`
	RefundUntil time.Time `json:"refundUntil"`
}

// Presale is an event's presale window: from OpensAt until saleOpensAt.
type Presale struct {
	OpensAt time.Time `json:"opensAt"`
}

// Owner is the organization owning e. Events stored before organizations
// existed belong to their creator, as an organizer's sub names its
// organization.
func (e *Event) Owner() string {
	if e.Org != "" {
		return e.Org
	}
	return e.CreatedBy
}

// SaleState is the state a fan sees at now.
func (e *Event) SaleState(now time.Time) string {
	if e.Cancelled != nil {
		return SaleCancelled
	}
	switch e.Sale.Status {
	case SaleOpen, SalePaused, SaleClosed:
		return e.Sale.Status
	}
	if now.Before(e.SaleOpensAt) {
		if e.Presale != nil && !now.Before(e.Presale.OpensAt) {
			return SalePresale
		}
		return SaleScheduled
	}
	return SaleOpen
}

// Section returns the section with id.
func (e *Event) Section(id string) (*Section, bool) {
	for i := range e.Sections {
		if e.Sections[i].ID == id {
			return &e.Sections[i], true
		}
	}
	return nil, false
}

// SeatID is the public id of a reserved seat: <section>-<row>-<number>.
func SeatID(section, row string, number int) string {
	return fmt.Sprintf("%s-%s-%d", section, row, number)
}

// SeatIDs lists a reserved section's seats in venue order (row by row). The
// availability projection stores one state per seat in this order.
func (s *Section) SeatIDs() []string {
	if s.Kind != Reserved {
		return nil
	}
	ids := make([]string, 0, s.Capacity)
	for _, r := range s.Rows {
		for n := 1; n <= r.Seats; n++ {
			ids = append(ids, SeatID(s.ID, r.ID, n))
		}
	}
	return ids
}

// Seat states.
const (
	SeatAvailable = "AVAILABLE"
	SeatHeld      = "HELD"
	SeatSold      = "SOLD"
	// SeatKilled: blocked for production (a camera, the mixing desk),
	// never on sale. SeatHeldBack: kept off sale by the organizer until
	// released (internal/seatmgmt, ADR 30). A hold needs AVAILABLE, so
	// neither can be held or sold.
	SeatKilled   = "KILLED"
	SeatHeldBack = "HELD_BACK"
	// SeatUnavailable is how availability shows fans a killed or held-back
	// seat: why a seat is off sale is the organizer's business.
	SeatUnavailable = "UNAVAILABLE"
)

// SectionAvailability counts a section's places by state.
type SectionAvailability struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Capacity  int    `json:"capacity"`
	Available int    `json:"available"`
	Held      int    `json:"held"`
	Sold      int    `json:"sold"`
	// Unavailable counts the seats the organizer killed or held back.
	Unavailable int `json:"unavailable,omitempty"`
}

// Availability is the read model fans poll; it may be up to the projection's
// freshness window old (AsOf says how old).
type Availability struct {
	EventID  string                `json:"eventId"`
	AsOf     time.Time             `json:"asOf"`
	Sections []SectionAvailability `json:"sections"`
	Seats    map[string]string     `json:"seats"`
}

// ErrCancelled is EVENT_CANCELLED for e: what every sale path answers once
// the event is cancelled.
func (e *Event) ErrCancelled() error {
	return apperr.New(apperr.EventCancelled, "%s was cancelled: %s", e.Name, e.Cancelled.Reason).
		With("cancelledAt", e.Cancelled.At)
}
