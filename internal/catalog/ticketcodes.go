package catalog

import (
	"context"

	"github.com/stararena/stararena/internal/apperr"
)

// What an event's gates accept (ADR 28). A rotating code, which changes
// every 30 seconds on the owner's phone, is always accepted; the static
// code (the one a fan can print) only when the organizer allows it.
const (
	CodesRotatingOnly         = "ROTATING_ONLY"
	CodesRotatingAndPrintable = "ROTATING_AND_PRINTABLE"
)

// StaticCodesAccepted reports whether e's gates accept static codes.
func (e *Event) StaticCodesAccepted() bool { return e.TicketCodes != CodesRotatingOnly }

// TicketCodesRequest is an organizer's choice of ticket codes.
type TicketCodesRequest struct {
	Mode string `json:"mode"`
}

// SetTicketCodes sets what an event's gates accept. It applies to the next
// scan: a printed code is refused from then on at a rotating-only event,
// and admits again if the organizer allows printing again.
func (s *Service) SetTicketCodes(ctx context.Context, id string, req TicketCodesRequest, by string) (Event, error) {
	if req.Mode != CodesRotatingOnly && req.Mode != CodesRotatingAndPrintable {
		return Event{}, apperr.New(apperr.Invalid, "mode must be %s or %s", CodesRotatingOnly, CodesRotatingAndPrintable)
	}
	if !ValidEventID(id) {
		return Event{}, apperr.New(apperr.NotFound, "no event %q", id)
	}
	ev, err := s.store.UpdateEvent(ctx, id, func(ev *Event) error {
		ev.TicketCodes = req.Mode
		return nil
	})
	if err != nil {
		return Event{}, eventErr(err, id)
	}
	s.log.InfoContext(ctx, "ticket codes set", "eventId", id, "mode", req.Mode, "by", by)
	return ev, nil
}
