package catalog

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/jsonbody"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/pricing"
)

var (
	idPattern   = regexp.MustCompile(`^[A-Za-z0-9]{1,16}$`)
	currencyPat = regexp.MustCompile(`^[A-Z]{3}$`)
)

// CreateEventRequest is the body of POST /admin/v1/events.
type CreateEventRequest struct {
	Name                 string           `json:"name"`
	Venue                string           `json:"venue"`
	StartsAt             string           `json:"startsAt"`
	SaleOpensAt          string           `json:"saleOpensAt"`
	HoldSeconds          *int             `json:"holdSeconds"`
	MaxTicketsPerAccount *int             `json:"maxTicketsPerAccount"`
	Queue                *QueueRequest    `json:"queue"`
	Sections             []SectionRequest `json:"sections"`
	Pricing              *pricing.Pricing `json:"pricing"`
}

// QueueRequest is the optional waiting-room setting.
type QueueRequest struct {
	Mode           string `json:"mode"`
	AdmitPerMinute *int   `json:"admitPerMinute"`
}

// SectionRequest is a reserved section (rows) or a GA section (capacity).
type SectionRequest struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	PriceCents *int64 `json:"priceCents"`
	Currency   string `json:"currency"`
	Rows       []Row  `json:"rows"`
	Capacity   *int   `json:"capacity"`
	Shape      *Shape `json:"shape"`
	// Wheelchair and Companion mark seats of a reserved section (ADR 30).
	Wheelchair []string `json:"wheelchair"`
	Companion  []string `json:"companion"`
}

// ParseCreateEvent decodes and validates a create-event body into an Event
// without id or timestamps. Malformed bodies are INVALID_JSON/UNKNOWN_FIELD,
// missing or mistyped fields INVALID_REQUEST (400); venue maps that cannot
// exist (no seats, duplicate ids, negative prices, ...) INVALID_VENUE (422).
func ParseCreateEvent(body []byte, limit int64) (Event, error) {
	var req CreateEventRequest
	if err := jsonbody.Decode(body, limit, &req); err != nil {
		return Event{}, err
	}
	return req.Event()
}

// Event validates the request and builds the event it describes.
func (req *CreateEventRequest) Event() (Event, error) {
	ev := Event{
		Name:                 strings.TrimSpace(req.Name),
		Venue:                strings.TrimSpace(req.Venue),
		HoldSeconds:          limits.DefaultHoldSeconds,
		MaxTicketsPerAccount: limits.DefaultTicketsPerAccount,
		Queue:                QueueConfig{Mode: QueueOn, AdmitPerMinute: limits.DefaultAdmitPerMinute},
		Sale:                 Sale{Status: SaleScheduled},
	}
	if ev.Name == "" || utf8.RuneCountInString(ev.Name) > limits.NameChars {
		return Event{}, invalid("name is required (1-%d characters)", limits.NameChars)
	}
	if ev.Venue == "" || utf8.RuneCountInString(ev.Venue) > limits.NameChars {
		return Event{}, invalid("venue is required (1-%d characters)", limits.NameChars)
	}
	var err error
	if ev.StartsAt, err = parseTime("startsAt", req.StartsAt); err != nil {
		return Event{}, err
	}
	if ev.SaleOpensAt, err = parseTime("saleOpensAt", req.SaleOpensAt); err != nil {
		return Event{}, err
	}
	if !ev.SaleOpensAt.Before(ev.StartsAt) {
		return Event{}, apperr.New(apperr.Unprocessable, "saleOpensAt must be before startsAt")
	}
	if req.HoldSeconds != nil {
		ev.HoldSeconds = *req.HoldSeconds
	}
	if ev.HoldSeconds < limits.MinHoldSeconds || ev.HoldSeconds > limits.MaxHoldSeconds {
		return Event{}, invalid("holdSeconds must be between %d and %d", limits.MinHoldSeconds, limits.MaxHoldSeconds)
	}
	if req.MaxTicketsPerAccount != nil {
		ev.MaxTicketsPerAccount = *req.MaxTicketsPerAccount
	}
	if ev.MaxTicketsPerAccount < 1 || ev.MaxTicketsPerAccount > limits.TicketsPerAccount {
		return Event{}, invalid("maxTicketsPerAccount must be between 1 and %d", limits.TicketsPerAccount)
	}
	if q := req.Queue; q != nil {
		switch q.Mode {
		case QueueOn, QueueOff:
			ev.Queue.Mode = q.Mode
		default:
			return Event{}, invalid(`queue.mode must be "on" or "off"`)
		}
		if q.AdmitPerMinute != nil {
			ev.Queue.AdmitPerMinute = *q.AdmitPerMinute
		}
		if ev.Queue.AdmitPerMinute < 1 || ev.Queue.AdmitPerMinute > limits.AdmitPerMinute {
			return Event{}, invalid("queue.admitPerMinute must be between 1 and %d", limits.AdmitPerMinute)
		}
	}
	if ev.Sections, err = buildSections(req.Sections); err != nil {
		return Event{}, err
	}
	ev.Currency = ev.Sections[0].Currency
	for _, s := range ev.Sections {
		ev.Capacity += s.Capacity
	}
	if ev.Capacity > limits.EventCapacity {
		return Event{}, venue("the venue holds %d places; at most %d are supported", ev.Capacity, limits.EventCapacity)
	}
	if ev.Pricing, err = CheckPricing(req.Pricing); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// CheckPricing validates an organizer's fee and tax setting and returns it
// as stored: nil when absent or when it charges nothing on top of the face
// value and names no seller, so such an event behaves as events before fees.
func CheckPricing(p *pricing.Pricing) (*pricing.Pricing, error) {
	if p == nil {
		return nil, nil
	}
	c := *p
	c.Seller = strings.TrimSpace(c.Seller)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c == (pricing.Pricing{}) {
		return nil, nil
	}
	return &c, nil
}

func buildSections(reqs []SectionRequest) ([]Section, error) {
	if len(reqs) == 0 {
		return nil, venue("a venue needs at least one section")
	}
	if len(reqs) > limits.Sections {
		return nil, venue("at most %d sections", limits.Sections)
	}
	seen := map[string]bool{}
	out := make([]Section, 0, len(reqs))
	for i, r := range reqs {
		if !idPattern.MatchString(r.ID) {
			return nil, invalid("sections[%d].id must be 1-16 letters or digits", i)
		}
		if seen[strings.ToUpper(r.ID)] {
			return nil, venue("section id %q is used twice", r.ID)
		}
		seen[strings.ToUpper(r.ID)] = true
		s := Section{ID: r.ID, Name: strings.TrimSpace(r.Name), Currency: r.Currency}
		if s.Name == "" {
			s.Name = r.ID
		}
		if utf8.RuneCountInString(s.Name) > limits.SectionNameChars {
			return nil, invalid("sections[%d].name is longer than %d characters", i, limits.SectionNameChars)
		}
		if r.PriceCents == nil {
			return nil, invalid("sections[%d].priceCents is required", i)
		}
		s.PriceCents = *r.PriceCents
		if s.PriceCents <= 0 || s.PriceCents > limits.PriceCents {
			return nil, venue("section %s: priceCents must be between 1 and %d", r.ID, limits.PriceCents)
		}
		if !currencyPat.MatchString(r.Currency) {
			return nil, invalid("sections[%d].currency must be an ISO 4217 code such as EUR", i)
		}
		if i > 0 && r.Currency != reqs[0].Currency {
			return nil, venue("all sections must use one currency (%s and %s given)", reqs[0].Currency, r.Currency)
		}
		switch {
		case r.Capacity != nil && r.Rows != nil:
			return nil, venue("section %s: give rows (reserved) or capacity (general admission), not both", r.ID)
		case r.Capacity != nil:
			s.Kind, s.Capacity = GA, *r.Capacity
			if s.Capacity < 1 || s.Capacity > limits.GACapacity {
				return nil, venue("section %s: capacity must be between 1 and %d", r.ID, limits.GACapacity)
			}
		case r.Rows != nil:
			s.Kind = Reserved
			rows, capacity, err := buildRows(r.ID, r.Rows)
			if err != nil {
				return nil, err
			}
			s.Rows, s.Capacity = rows, capacity
		default:
			return nil, venue("section %s: give rows (reserved) or capacity (general admission)", r.ID)
		}
		if r.Shape != nil {
			if err := checkShape(r.ID, r.Shape); err != nil {
				return nil, err
			}
			s.Shape = r.Shape
		}
		s.Wheelchair, s.Companion = r.Wheelchair, r.Companion
		if err := checkMarks(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func buildRows(section string, rows []Row) ([]Row, int, error) {
	if len(rows) == 0 {
		return nil, 0, venue("section %s has no rows", section)
	}
	if len(rows) > limits.RowsPerSection {
		return nil, 0, venue("section %s: at most %d rows", section, limits.RowsPerSection)
	}
	seen := map[string]bool{}
	total := 0
	for _, r := range rows {
		if !idPattern.MatchString(r.ID) {
			return nil, 0, invalid("section %s: row ids must be 1-16 letters or digits", section)
		}
		if seen[r.ID] {
			return nil, 0, venue("section %s: row %q is listed twice", section, r.ID)
		}
		seen[r.ID] = true
		if r.Seats < 1 || r.Seats > limits.SeatsPerRow {
			return nil, 0, venue("section %s row %s: seats must be between 1 and %d", section, r.ID, limits.SeatsPerRow)
		}
		total += r.Seats
	}
	return append([]Row(nil), rows...), total, nil
}

func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, invalid("%s is required (RFC 3339, for example 2027-06-01T20:00:00Z)", field)
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, invalid("%s must be an RFC 3339 time such as 2027-06-01T20:00:00Z", field)
	}
	return t.UTC(), nil
}

func invalid(format string, args ...any) error { return apperr.New(apperr.Invalid, format, args...) }
func venue(format string, args ...any) error   { return apperr.New(apperr.InvalidVenue, format, args...) }
