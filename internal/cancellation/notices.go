package cancellation

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/mail"
	"github.com/stararena/stararena/internal/orders"
)

// PostponementStore keeps how far the notices of an event's last
// postponement have been queued, under a pass lease (the lease creates
// the record).
type PostponementStore interface {
	Postponement(ctx context.Context, eventID string) ([]byte, error)
	LeasePostponement(ctx context.Context, eventID string, now, until time.Time) (bool, error)
	SavePostponement(ctx context.Context, eventID string, doc []byte) error
}

// Notices is how far a postponement's notices are queued: one
// event-postponed cause per order that held tickets when the date moved.
type Notices struct {
	// At is the postponement's time (catalog.Postponement.At): a later
	// postponement starts its own notices.
	At time.Time `json:"at"`
	// After is the last order id queued: the orders are walked in id
	// order, so orders bought later never shift the cursor.
	After    string    `json:"after,omitempty"`
	Notified int       `json:"notified"`
	State    string    `json:"state"`
	Passes   int       `json:"passes"`
	Finished time.Time `json:"finishedAt,omitzero"`
}

// Notify queues the notices of ev's last postponement (ADR 20): one
// event-postponed cause per order that was paid before the date moved
// and still holds its tickets, each carrying the postponement's time, so
// the mailer sends it once per order and postponement. The reconciler's
// schedule calls it for every postponed upcoming event; a finished
// postponement costs one read. A pass works for at most the Budget and
// leaves the rest to the next, from its cursor. An order held before the
// postponement and paid after the pass went past it gets no notice: it was
// bought on a page that showed the new date.
func (s *Service) Notify(ctx context.Context, ev *catalog.Event) (Notices, error) {
	if ev.Postponed == nil || ev.Cancelled != nil {
		return Notices{}, apperr.New(apperr.NotFound, "event %s is not postponed", ev.ID)
	}
	st := s.store
	at := ev.Postponed.At
	nt, err := readNotices(ctx, st, ev.ID)
	if err != nil || (nt.At.Equal(at) && nt.State == Done) {
		return nt, err
	}
	started := s.clock.Now()
	if ok, err := st.LeasePostponement(ctx, ev.ID, started, started.Add(s.lease)); err != nil || !ok {
		return nt, err
	}
	// Read again under the lease: the pass that held it may have saved.
	if nt, err = readNotices(ctx, st, ev.ID); err != nil {
		return nt, err
	}
	if !nt.At.Equal(at) {
		nt = Notices{At: at, State: Notifying}
	}
	runErr := s.queueNotices(ctx, ev, &nt, started.Add(s.budget))
	nt.Passes++
	doc, _ := json.Marshal(nt) // plain fields: cannot fail
	if err := st.SavePostponement(ctx, ev.ID, doc); err != nil {
		return nt, fmt.Errorf("postponement %s: save notices: %w", ev.ID, err)
	}
	s.log.InfoContext(ctx, "postponement notices", "eventId", ev.ID, "state", nt.State, "notified", nt.Notified)
	return nt, runErr
}

func readNotices(ctx context.Context, st PostponementStore, eventID string) (Notices, error) {
	doc, err := st.Postponement(ctx, eventID)
	if err != nil || len(doc) == 0 {
		return Notices{}, err // none yet, or created by a lease before its first save
	}
	var nt Notices
	if err := json.Unmarshal(doc, &nt); err != nil {
		return Notices{}, fmt.Errorf("postponement %s: %w", eventID, err)
	}
	return nt, nil
}

// queueNotices queues the causes after nt.After until the deadline.
func (s *Service) queueNotices(ctx context.Context, ev *catalog.Event, nt *Notices, deadline time.Time) error {
	list, err := s.store.EventOrders(ctx, ev.ID)
	if err != nil {
		return fmt.Errorf("postponement %s: list orders: %w", ev.ID, err)
	}
	slices.SortFunc(list, func(a, b orders.Order) int { return strings.Compare(a.ID, b.ID) })
	stamp := nt.At.UTC().Format(time.RFC3339Nano)
	for _, o := range list {
		if o.ID <= nt.After {
			continue
		}
		if s.clock.Now().After(deadline) || ctx.Err() != nil {
			return ctx.Err()
		}
		if o.CreatedAt.After(nt.At) {
			continue // bought knowing the new date
		}
		switch o.Status {
		case orders.Paid, orders.Issued, orders.IssueFailed:
			if err := s.mail.Enqueue(ctx, mail.Request{OrderID: o.ID, Kind: mail.EventPostponed, Postponed: stamp}); err != nil {
				return fmt.Errorf("postponement %s: queue notice: %w", ev.ID, err)
			}
			nt.Notified++
		}
		nt.After = o.ID
	}
	nt.State, nt.Finished = Done, s.clock.Now()
	return nil
}
