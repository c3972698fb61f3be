package cancellation

import (
	"context"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/orders"
)

// OwnedOrders reads a fan's own order; another fan's is NOT_FOUND
// (inventory.Service.Order).
type OwnedOrders interface {
	Order(ctx context.Context, account, orderID string) (orders.Order, error)
}

// EventReader reads an event (catalog.Service).
type EventReader interface {
	Get(ctx context.Context, id string) (catalog.Event, error)
}

// OnRequest refunds a buyer's order on their request while a postponed
// event's refund window is open (POST /v1/orders/{orderId}/refund).
type OnRequest struct {
	Orders  OwnedOrders
	Events  EventReader
	Refunds Refunder
	Clock   clock.Clock
}

// RequestedReason is the refund reason of a buyer's own refund.
const RequestedReason = "asked for by the buyer after the event was postponed"

// Refund refunds account's order orderID: the whole order, its tickets
// revoked, as an organizer's refund does (orders.RefundOrder, idempotent:
// asking twice refunds once). Errors: NOT_FOUND (no such order of the
// account), REFUND_WINDOW_CLOSED (the event is not postponed, or the
// window ended), EVENT_CANCELLED (the cancellation refunds it anyway),
// INVALID_STATE (nothing was paid).
func (r *OnRequest) Refund(ctx context.Context, account, orderID string) (orders.Order, error) {
	o, err := r.Orders.Order(ctx, account, orderID)
	if err != nil {
		return orders.Order{}, err
	}
	if o.Status == orders.Refunded {
		return o, nil
	}
	ev, err := r.Events.Get(ctx, o.EventID)
	if err != nil {
		return orders.Order{}, err
	}
	if err := ev.RefundOpen(r.Clock.Now()); err != nil {
		return orders.Order{}, err
	}
	switch o.Status {
	case orders.Paid, orders.Issued, orders.IssueFailed, orders.RefundPending:
	default:
		return orders.Order{}, apperr.New(apperr.InvalidStateChange, "order is %s: only a paid order can be refunded", o.Status)
	}
	return r.Refunds.RefundOrder(ctx, o.ID, "account:"+account, RequestedReason)
}
