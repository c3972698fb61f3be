package tickets

import (
	"context"
	"errors"
	"fmt"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/orders"
)

// Errors of IssueOrder that ask the caller to decide again.
var (
	// ErrIssuedBefore: the order's tickets exist already, issued by a path
	// that leaves marking the order ISSUED to its caller (Issue).
	ErrIssuedBefore = errors.New("tickets: the order's tickets were issued before")
	// ErrOrderMoved: the order is no longer at the status and version it
	// was read with (refunded, issued by a concurrent run): read it again.
	ErrOrderMoved = errors.New("tickets: the order moved on")
)

// IssueOrder issues the tickets of a PAID or ISSUE_FAILED order and marks
// it ISSUED in one transaction, whose conditions (the order's status and
// version, each ticket absent) decide alone: no read comes before it. It
// answers the order as it is now (ISSUED) and the ticket ids, in the
// order's seat order.
//
// Errors: ErrIssuedBefore (with the ids), ErrOrderMoved, INVALID_STATE
// (the order is not paid), UNAVAILABLE (contention did not clear).
func (s *Service) IssueOrder(ctx context.Context, o orders.Order) (orders.Order, []string, error) {
	if o.Status != orders.Paid && o.Status != orders.IssueFailed {
		return o, nil, apperr.New(apperr.InvalidStateChange, "order %s is %s: only a paid order is issued", o.ID, o.Status)
	}
	want, err := For(o)
	if err != nil {
		return o, nil, fmt.Errorf("issue tickets: %w", err)
	}
	ids := make([]string, len(want))
	for i, t := range want {
		ids[i] = t.ID
	}
	m := Manifest{OrderID: o.ID, EventID: o.EventID, Account: o.Account, TicketIDs: ids, IssuedAt: s.clock.Now()}
	for b := s.retry.Start(); ; {
		err := s.store.IssueOrder(ctx, o, m, want, m.IssuedAt)
		again, err := b.Again(ctx, err)
		if again {
			continue
		}
		switch {
		case err == nil:
			s.log.InfoContext(ctx, "tickets issued", "orderId", o.ID, "eventId", o.EventID, "count", len(want))
			o.Status, o.Version, o.IssuedAt, o.UpdatedAt, o.TicketIDs = orders.Issued, o.Version+1, m.IssuedAt, m.IssuedAt, ids
			return o, ids, nil
		case fault.Is(err, fault.Exists):
			return o, ids, fmt.Errorf("order %s: %w", o.ID, ErrIssuedBefore)
		case fault.Is(err, fault.ConditionFailed):
			return o, nil, fmt.Errorf("order %s: %w: %w", o.ID, ErrOrderMoved, err)
		}
		return o, nil, busy(fmt.Errorf("issue tickets for order %s: %w", o.ID, err), "tickets could not be issued now; retry")
	}
}

// Listed returns the tickets of orderID named by ids, as ForOrder does
// but without reading the order's manifest: for a caller that was handed
// the ids the order was issued with. A listed ticket that does not exist
// or belongs to another order is an error.
func (s *Service) Listed(ctx context.Context, orderID string, ids []string) ([]IssuedTicket, error) {
	ts, err := s.store.TicketsByID(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("tickets of order %s: %w", orderID, err)
	}
	if err := listedAre(orderID, ids, ts); err != nil {
		return nil, err
	}
	return s.issued(ctx, ts, show{})
}

// ListedAll is Listed for several orders (order id → its ticket ids) with
// one read of all their tickets (a BatchGetItem per 100). An order whose
// listed tickets are not all there and its own is left out of the answer,
// for its caller to ask Listed and get the reason.
func (s *Service) ListedAll(ctx context.Context, want map[string][]string) (map[string][]IssuedTicket, error) {
	var ids []string
	for _, l := range want {
		ids = append(ids, l...)
	}
	out := make(map[string][]IssuedTicket, len(want))
	if len(ids) == 0 {
		return out, nil
	}
	ts, err := s.store.TicketsByID(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("tickets of %d orders: %w", len(want), err)
	}
	byID := make(map[string]StoredTicket, len(ts))
	for _, t := range ts {
		byID[t.ID] = t
	}
	for orderID, l := range want {
		mine := make([]StoredTicket, 0, len(l))
		for _, id := range l {
			if t, ok := byID[id]; ok {
				mine = append(mine, t)
			}
		}
		if listedAre(orderID, l, mine) != nil {
			continue
		}
		if out[orderID], err = s.issued(ctx, mine, show{}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// listedAre checks that ts are the tickets ids names, all of orderID.
func listedAre(orderID string, ids []string, ts []StoredTicket) error {
	if len(ts) != len(ids) {
		return fmt.Errorf("order %s: %d of its %d tickets are missing", orderID, len(ids)-len(ts), len(ids))
	}
	for _, t := range ts {
		if t.OrderID != orderID {
			return fmt.Errorf("ticket %s is of order %s, not %s", t.ID, t.OrderID, orderID)
		}
	}
	return nil
}

// Shown returns the tickets of an ISSUED order as its owner sees them
// (ForAccount), for a caller that read the order and checked that it is
// the caller's (I6). The order lists its ticket ids when the issuing
// transaction wrote them (TicketIDs): then only the tickets are read, not
// the manifest. An order issued by another path (a comp, the reconciler's
// repair) reads the manifest, as ForAccount does.
func (s *Service) Shown(ctx context.Context, o orders.Order) ([]IssuedTicket, error) {
	if len(o.TicketIDs) == 0 {
		return s.ForAccount(ctx, o.Account, o.ID)
	}
	ts, err := s.store.TicketsByID(ctx, o.TicketIDs)
	if err != nil {
		return nil, fmt.Errorf("tickets of order %s: %w", o.ID, err)
	}
	if err := listedAre(o.ID, o.TicketIDs, ts); err != nil {
		return nil, err
	}
	return s.issued(ctx, ts, show{qr: true, rotation: true})
}
