package catalog

import (
	"context"
	"slices"
	"strings"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/limits"
)

// Accessibility marks of a reserved seat (ADR 30).
const (
	MarkWheelchair = "wheelchair" // a wheelchair space
	MarkCompanion  = "companion"  // a companion seat beside one
	MarkNone       = "none"       // neither: clears a mark
)

// MaxMarkedSeats bounds the wheelchair and companion seats of one section.
const MaxMarkedSeats = limits.MarkedSeats

// checkMarks validates a section's accessibility marks: seats of the
// section, none twice, none both wheelchair and companion.
func checkMarks(s *Section) error {
	if s.Kind != Reserved && (len(s.Wheelchair) > 0 || len(s.Companion) > 0) {
		return venue("section %s: only reserved seats carry wheelchair or companion marks", s.ID)
	}
	if len(s.Wheelchair)+len(s.Companion) > MaxMarkedSeats {
		return venue("section %s: at most %d wheelchair and companion seats", s.ID, MaxMarkedSeats)
	}
	ids := map[string]bool{}
	for _, id := range s.SeatIDs() {
		ids[id] = true
	}
	seen := map[string]bool{}
	for _, list := range [][]string{s.Wheelchair, s.Companion} {
		for _, id := range list {
			if !ids[id] {
				return venue("section %s has no seat %q", s.ID, id)
			}
			if seen[id] {
				return venue("seat %s is marked twice", id)
			}
			seen[id] = true
		}
	}
	return nil
}

// Mark is a seat's accessibility mark in s ("" for none).
func (s *Section) Mark(seat string) string {
	switch {
	case slices.Contains(s.Wheelchair, seat):
		return MarkWheelchair
	case slices.Contains(s.Companion, seat):
		return MarkCompanion
	}
	return ""
}

// SetMarks gives seats the accessibility mark (MarkNone clears it), in
// the event document. Every seat must be a reserved seat of the event.
func (s *Service) SetMarks(ctx context.Context, id string, seats []string, mark string) (Event, error) {
	switch mark {
	case MarkWheelchair, MarkCompanion, MarkNone:
	default:
		return Event{}, invalid("mark must be wheelchair, companion or none")
	}
	if !ValidEventID(id) {
		return Event{}, apperr.New(apperr.NotFound, "no event %q", id)
	}
	ev, err := s.store.UpdateEvent(ctx, id, func(ev *Event) error {
		for i := range ev.Sections {
			sec := &ev.Sections[i]
			sec.Wheelchair = slices.DeleteFunc(sec.Wheelchair, func(x string) bool { return slices.Contains(seats, x) })
			sec.Companion = slices.DeleteFunc(sec.Companion, func(x string) bool { return slices.Contains(seats, x) })
		}
		for _, seat := range seats {
			sec, ok := ev.SectionOfSeat(seat)
			if !ok {
				return venue("no reserved seat %q", seat)
			}
			switch mark {
			case MarkWheelchair:
				sec.Wheelchair = append(sec.Wheelchair, seat)
			case MarkCompanion:
				sec.Companion = append(sec.Companion, seat)
			}
		}
		for i := range ev.Sections {
			if err := checkMarks(&ev.Sections[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Event{}, eventErr(err, id)
	}
	s.log.InfoContext(ctx, "accessibility marks set", "eventId", id, "mark", mark, "seats", len(seats))
	return ev, nil
}

// SectionOfSeat returns the reserved section holding seat, an id
// <section>-<row>-<number>.
func (e *Event) SectionOfSeat(seat string) (*Section, bool) {
	for i := range e.Sections {
		sec := &e.Sections[i]
		if sec.Kind != Reserved || len(seat) <= len(sec.ID) || seat[:len(sec.ID)+1] != sec.ID+"-" {
			continue
		}
		if sec.HasSeat(seat) {
			return sec, true
		}
	}
	return nil, false
}

// HasSeat reports whether seat is one of the reserved section's seats.
func (s *Section) HasSeat(seat string) bool {
	rest, ok := strings.CutPrefix(seat, s.ID+"-")
	if !ok {
		return false
	}
	for _, r := range s.Rows {
		num, ok := strings.CutPrefix(rest, r.ID+"-")
		if !ok {
			continue
		}
		n := 0
		for _, c := range num {
			if c < '0' || c > '9' || n > r.Seats {
				n = -1
				break
			}
			n = n*10 + int(c-'0')
		}
		if num != "" && num[0] != '0' && n >= 1 && n <= r.Seats {
			return true
		}
	}
	return false
}
