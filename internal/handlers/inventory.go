package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"time"
	"unicode"

	"github.com/stararena/stararena/internal/admission"
	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/topology"
)

// OrderView is an order as its owner sees it.
type OrderView struct {
	OrderID     string       `json:"orderId"`
	EventID     string       `json:"eventId"`
	Status      string       `json:"status"`
	Seats       []string     `json:"seats"`
	Section     string       `json:"section,omitempty"`
	Quantity    int          `json:"quantity"`
	AmountCents int64        `json:"amountCents"`
	Currency    string       `json:"currency"`
	ExpiresAt   time.Time    `json:"expiresAt"`
	CreatedAt   time.Time    `json:"createdAt"`
	UpdatedAt   time.Time    `json:"updatedAt"`
	Payment     *PaymentView `json:"payment"`
	Tickets     []TicketView `json:"tickets"`
}

// PaymentView is the payment that pays for an order.
type PaymentView struct {
	Provider  string    `json:"provider"`
	PaymentID string    `json:"paymentId"`
	PaidAt    time.Time `json:"paidAt"`
	Late      bool      `json:"late"`
}

func orderView(o orders.Order) OrderView {
	seats := o.Seats
	if seats == nil {
		seats = []string{}
	}
	return OrderView{
		OrderID: o.ID, EventID: o.EventID, Status: string(o.Status), Seats: seats, Section: o.Section,
		Quantity: o.Places(), AmountCents: o.AmountCents, Currency: o.Currency,
		ExpiresAt: o.ExpiresAt, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, Tickets: []TicketView{},
		Payment: paymentView(o),
	}
}

func paymentView(o orders.Order) *PaymentView {
	if o.PaymentID == "" || o.Status == orders.RefundPending || o.Status == orders.Refunded {
		return nil
	}
	return &PaymentView{Provider: o.Provider, PaymentID: o.PaymentID, PaidAt: o.PaidAt, Late: o.Late}
}

// Admission builds the "admission" function.
func Admission(tp topology.Topology, gate *admission.Gate, log *slog.Logger) (*httpapi.Function, error) {
	return httpapi.NewFunction("admission", tp, map[string]httpapi.Handler{
		"POST /v1/events/{eventId}/admission": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			if len(r.Body) > 0 {
				var empty struct{}
				if err := r.Decode(&empty); err != nil {
					return httpapi.Response{}, err
				}
			}
			tok, c, err := gate.Admit(ctx, r.Identity.Subject, r.Path("eventId"))
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, map[string]any{"admissionToken": tok, "expiresAt": c.ExpiresAt}), nil
		},
	}, log)
}

// Holds builds the "holds" function: the purchase path's hot handler.
func Holds(tp topology.Topology, inv *inventory.Service, log *slog.Logger) (*httpapi.Function, error) {
	return httpapi.NewFunction("holds", tp, map[string]httpapi.Handler{
		"POST /v1/events/{eventId}/holds": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			key := r.Header("Idempotency-Key")
			if err := validIdempotencyKey(key); err != nil {
				return httpapi.Response{}, err
			}
			req, err := inventory.ParseHoldRequest(r.Body, r.MaxBody())
			if err != nil {
				return httpapi.Response{}, err
			}
			o, err := inv.Hold(ctx, r.Identity.Subject, r.Path("eventId"), req, key)
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.Response{Status: http.StatusCreated, Body: orderView(o),
				Headers: map[string]string{"Location": "/v1/orders/" + o.ID}}, nil
		},
	}, log)
}

func validIdempotencyKey(k string) error {
	if len(k) > 128 {
		return apperr.New(apperr.Invalid, "Idempotency-Key is longer than 128 characters")
	}
	for _, r := range k {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			return apperr.New(apperr.Invalid, "Idempotency-Key must be printable ASCII")
		}
	}
	return nil
}
