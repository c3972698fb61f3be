package handlers

import (
	"context"
	"net/http"

	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/tenancy"
)

// OrderRefunder refunds paid orders for organizers (orders.Service).
type OrderRefunder interface {
	RefundOrder(ctx context.Context, orderID, by, reason string) (orders.Order, error)
}

// refundOrder is POST /admin/v1/orders/{orderId}/refund: 200 with the
// REFUNDED order, or 202 with the REFUND_PENDING order when the refund is
// accepted (places released, durable) but a later step, usually the
// provider's refund, has not gone through yet: the reconciler completes it,
// and so does the same request repeated.
func refundOrder(rf OrderRefunder, st Staff) httpapi.Handler {
	return func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		var body struct {
			Reason string `json:"reason"`
		}
		if len(r.Body) > 0 {
			if err := r.Decode(&body); err != nil {
				return httpapi.Response{}, err
			}
		}
		o, err := rf.RefundOrder(ctx, r.Path("orderId"), r.Identity.Subject, body.Reason)
		if err != nil {
			return httpapi.Response{}, err
		}
		if err := audit(ctx, st, r, tenancy.Entry{Action: tenancy.ActionRefund, OrderID: o.ID, Detail: body.Reason}); err != nil {
			return httpapi.Response{}, err
		}
		status := http.StatusOK
		if o.Status == orders.RefundPending {
			status = http.StatusAccepted
		}
		return httpapi.JSON(status, orderView(o)), nil
	}
}
