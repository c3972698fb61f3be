package handlers

import (
	"context"
	"net/http"

	"github.com/stararena/stararena/internal/cancellation"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/tenancy"
)

// cancellationHandlers are the admin routes that cancel or postpone an
// event and show a cancellation's progress.
func cancellationHandlers(svc *catalog.Service, st Staff, c clock.Clock) map[string]httpapi.Handler {
	return map[string]httpapi.Handler{
		// 202 when this request cancelled the event (the refunds run on),
		// 200 with the same progress when it was cancelled already.
		"POST /admin/v1/events/{eventId}/cancel": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			var body struct {
				Reason string `json:"reason"`
			}
			if err := r.Decode(&body); err != nil {
				return httpapi.Response{}, err
			}
			p, created, err := st.Cancellation.Cancel(ctx, r.Path("eventId"), body.Reason, r.Identity.Subject)
			if err != nil {
				return httpapi.Response{}, err
			}
			if err := audit(ctx, st, r, tenancy.Entry{Action: tenancy.ActionCancel, Detail: body.Reason}); err != nil {
				return httpapi.Response{}, err
			}
			status := http.StatusOK
			if created {
				status = http.StatusAccepted
			}
			return httpapi.JSON(status, p), nil
		},
		"GET /admin/v1/events/{eventId}/cancellation": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			p, err := st.Cancellation.Progress(ctx, r.Path("eventId"))
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, p), nil
		},
		"POST /admin/v1/events/{eventId}/postpone": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			var req catalog.PostponeRequest
			if err := r.Decode(&req); err != nil {
				return httpapi.Response{}, err
			}
			ev, err := svc.Postpone(ctx, r.Path("eventId"), req, r.Identity.Subject)
			if err != nil {
				return httpapi.Response{}, err
			}
			detail := "to " + ev.StartsAt.Format("2006-01-02T15:04:05Z") + ", refunds until " + ev.Postponed.RefundUntil.Format("2006-01-02T15:04:05Z")
			if err := audit(ctx, st, r, tenancy.Entry{Action: tenancy.ActionPostpone, Detail: detail}); err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, view(ev, c)), nil
		},
	}
}

// BuyerRefunder refunds a fan's own order while a postponed event's
// refund window is open (cancellation.OnRequest).
type BuyerRefunder interface {
	Refund(ctx context.Context, account, orderID string) (orders.Order, error)
}

// buyerRefund is POST /v1/orders/{orderId}/refund: 200 with the REFUNDED
// order, 202 with the REFUND_PENDING one when the provider's refund is
// still to go through (the reconciler completes it).
func buyerRefund(br BuyerRefunder) httpapi.Handler {
	return func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		if len(r.Body) > 0 {
			var body struct{}
			if err := r.Decode(&body); err != nil {
				return httpapi.Response{}, err
			}
		}
		o, err := br.Refund(ctx, r.Identity.Subject, r.Path("orderId"))
		if err != nil {
			return httpapi.Response{}, err
		}
		status := http.StatusOK
		if o.Status == orders.RefundPending {
			status = http.StatusAccepted
		}
		return httpapi.JSON(status, orderView(o)), nil
	}
}

var _ BuyerRefunder = (*cancellation.OnRequest)(nil)
