package catalog

import (
	"context"
	"errors"
	"time"

	"github.com/stararena/stararena/internal/apperr"
)

// errAlreadyCancelled ends an UpdateEvent without a write: cancelling a
// cancelled event changes nothing.
var errAlreadyCancelled = errors.New("event already cancelled")

// Cancel marks the event cancelled for good: from this write on, the
// admission gate and the holds answer EVENT_CANCELLED (holds within the
// event cache's TTL, CachedEvents). It reports whether this call cancelled
// it; a cancelled event is returned as it is, with its first reason. The
// refunds are internal/cancellation's saga.
func (s *Service) Cancel(ctx context.Context, id, reason, by string) (Event, bool, error) {
	if !ValidEventID(id) {
		return Event{}, false, apperr.New(apperr.NotFound, "no event %q", id)
	}
	now := s.clock.Now().UTC().Truncate(time.Millisecond)
	ev, err := s.store.UpdateEvent(ctx, id, func(ev *Event) error {
		if ev.Cancelled != nil {
			return errAlreadyCancelled
		}
		ev.Cancelled = &Cancellation{At: now, By: by, Reason: reason}
		ev.Sale.UpdatedAt = now
		return nil
	})
	if errors.Is(err, errAlreadyCancelled) {
		ev, err := s.Get(ctx, id)
		return ev, false, err
	}
	if err != nil {
		return Event{}, false, eventErr(err, id)
	}
	s.log.InfoContext(ctx, "event cancelled", "eventId", id, "by", by)
	return ev, true, nil
}

// PostponeRequest is POST /admin/v1/events/{id}/postpone.
type PostponeRequest struct {
	StartsAt    time.Time `json:"startsAt"`
	RefundUntil time.Time `json:"refundUntil"`
}

// Postpone moves the event to req.StartsAt; the tickets stay valid and a
// buyer may ask for a refund until req.RefundUntil, which must lie between
// now and the new start. A cancelled event cannot be moved.
func (s *Service) Postpone(ctx context.Context, id string, req PostponeRequest, by string) (Event, error) {
	now := s.clock.Now()
	switch {
	case req.StartsAt.IsZero() || req.RefundUntil.IsZero():
		return Event{}, apperr.New(apperr.Invalid, "startsAt and refundUntil are required (RFC 3339)")
	case !req.StartsAt.After(now):
		return Event{}, apperr.New(apperr.Invalid, "startsAt must be in the future")
	case !req.RefundUntil.After(now) || req.RefundUntil.After(req.StartsAt):
		return Event{}, apperr.New(apperr.Invalid, "refundUntil must be after now and no later than startsAt")
	}
	if !ValidEventID(id) {
		return Event{}, apperr.New(apperr.NotFound, "no event %q", id)
	}
	ev, err := s.store.UpdateEvent(ctx, id, func(ev *Event) error {
		if ev.Cancelled != nil {
			return ev.ErrCancelled()
		}
		if req.StartsAt.Equal(ev.StartsAt) {
			return apperr.New(apperr.Invalid, "startsAt is the event's date already")
		}
		ev.Postponed = &Postponement{At: now.UTC().Truncate(time.Millisecond), By: by, From: ev.StartsAt,
			RefundUntil: req.RefundUntil.UTC().Truncate(time.Second)}
		ev.StartsAt = req.StartsAt.UTC().Truncate(time.Second)
		return nil
	})
	if err != nil {
		return Event{}, eventErr(err, id)
	}
	s.log.InfoContext(ctx, "event postponed", "eventId", id, "from", ev.Postponed.From, "startsAt", ev.StartsAt,
		"refundUntil", ev.Postponed.RefundUntil, "by", by)
	return ev, nil
}

// RefundOpen reports whether a buyer may ask for a refund of a ticket to
// ev at now: only while a postponement's window is open.
func (e *Event) RefundOpen(now time.Time) error {
	switch {
	case e.Cancelled != nil:
		return e.ErrCancelled()
	case e.Postponed == nil:
		return apperr.New(apperr.RefundWindowClosed, "refunds on request are offered only when an event is postponed")
	case now.After(e.Postponed.RefundUntil):
		return apperr.New(apperr.RefundWindowClosed, "refunds for the postponed event closed at %s",
			e.Postponed.RefundUntil.Format(time.RFC3339)).With("refundUntil", e.Postponed.RefundUntil)
	}
	return nil
}
