package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"time"
	"unicode"

	"github.com/stararena/stararena/internal/admission"
	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/health"
	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/metrics"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/presale"
	"github.com/stararena/stararena/internal/pricing"
	"github.com/stararena/stararena/internal/topology"
	"github.com/stararena/stararena/internal/waitlist"
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
	// Breakdown is amountCents line by line (ADR 26).
	Breakdown pricing.Breakdown `json:"breakdown"`
	// Refund tells a refunded (or refunding) order's fan how much comes
	// back, when and why; nil for every other order.
	Refund *RefundView `json:"refund"`
	// LastDecline is the last payment attempt the provider refused while
	// the order was held; nil when none was.
	LastDecline *DeclineView `json:"lastDecline"`
}

// DeclineView is a refused payment attempt as its fan sees it.
type DeclineView struct {
	At time.Time `json:"at"`
	// Code is the provider's decline code ("insufficient_funds"), Reason
	// its words for the fan ("Your card has insufficient funds.").
	Code   string `json:"code"`
	Reason string `json:"reason"`
	// Attempts is how many attempts were refused.
	Attempts int `json:"attempts"`
}

func declineView(o orders.Order) *DeclineView {
	if o.Declines == 0 {
		return nil
	}
	return &DeclineView{At: o.DeclinedAt, Code: o.DeclineCode, Reason: o.DeclineReason, Attempts: o.Declines}
}

// RefundView is an order's refund as its fan sees it.
type RefundView struct {
	// Status is PENDING until the provider has refunded, then REFUNDED.
	Status      string    `json:"status"`
	AmountCents int64     `json:"amountCents"`
	Currency    string    `json:"currency"`
	RequestedAt time.Time `json:"requestedAt"`
	RefundedAt  time.Time `json:"refundedAt,omitzero"`
	// Reason is the organizer's, or why StarArena refunded on its own.
	Reason string `json:"reason"`
}

// LateRefundReason is why a payment that arrived after its hold had been
// released, with its places sold meanwhile, was refunded.
const LateRefundReason = "the payment arrived after the hold had ended and its places were sold"

// OrganizerRefundReason stands for the reason of an organizer's refund
// given without one.
const OrganizerRefundReason = "refunded by the organizer"

func refundView(o orders.Order) *RefundView {
	if o.Status != orders.RefundPending && o.Status != orders.Refunded {
		return nil
	}
	v := &RefundView{Status: "PENDING", AmountCents: o.AmountCents, Currency: o.Currency,
		RequestedAt: o.RefundRequestedAt, Reason: o.RefundReason}
	if v.RequestedAt.IsZero() { // a late payment refunded on arrival
		v.RequestedAt = o.UpdatedAt
	}
	switch {
	case v.Reason != "":
	case o.RefundRequestedBy == "":
		v.Reason = LateRefundReason
	default:
		v.Reason = OrganizerRefundReason
	}
	if o.Status == orders.Refunded {
		v.Status, v.RefundedAt = "REFUNDED", o.RefundedAt
		if v.RefundedAt.IsZero() { // refunded before the time was recorded: REFUNDED is its last change
			v.RefundedAt = o.UpdatedAt
		}
	}
	return v
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
		Payment: paymentView(o), Breakdown: o.Breakdown(), Refund: refundView(o), LastDecline: declineView(o),
	}
}

func paymentView(o orders.Order) *PaymentView {
	if o.PaymentID == "" || o.Status == orders.RefundPending || o.Status == orders.Refunded {
		return nil
	}
	return &PaymentView{Provider: o.Provider, PaymentID: o.PaymentID, PaidAt: o.PaidAt, Late: o.Late}
}

// Admission builds the "admission" function.
func Admission(tp topology.Topology, gate *admission.Gate, wl *waitlist.Service, m *metrics.Emitter, log *slog.Logger) (*httpapi.Function, error) {
	hs := waitlistFanHandlers(wl)
	hs["POST /v1/events/{eventId}/admission"] = admit(gate, m)
	return httpapi.NewFunction("admission", tp, hs, log)
}

// admit answers an admission request.
func admit(gate *admission.Gate, m *metrics.Emitter) httpapi.Handler {
	return func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		// The bot check happens before the request gets here: AWS
		// WAF's Challenge on the join route (ADR 22).
		var body struct {
			PresaleCode string `json:"presaleCode,omitempty"`
		}
		if len(r.Body) > 0 {
			if err := r.Decode(&body); err != nil {
				return httpapi.Response{}, err
			}
		}
		if len(body.PresaleCode) > presale.MaxCodeChars {
			return httpapi.Response{}, apperr.New(apperr.Invalid, "presaleCode over %d characters", presale.MaxCodeChars)
		}
		tok, c, err := gate.AdmitRequest(ctx, r.Identity.Subject, r.Path("eventId"),
			admission.Request{PresaleCode: body.PresaleCode})
		if err != nil {
			m.Count(metrics.AdmissionsRefused, 1, nil)
			return httpapi.Response{}, err
		}
		m.Count(metrics.Admissions, 1, nil)
		return httpapi.JSON(http.StatusOK, map[string]any{"admissionToken": tok, "expiresAt": c.ExpiresAt}), nil
	}
}

// Holds builds the "holds" function: the purchase path's hot handler. rec
// (optional) records each hold's latency and outcome for the waiting
// room's inlet, which admits fans slower while holds are slow or failing.
func Holds(tp topology.Topology, inv *inventory.Service, rec *health.Recorder, m *metrics.Emitter, log *slog.Logger) (*httpapi.Function, error) {
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
			req.Email = r.Identity.Email
			start := time.Now()
			o, err := inv.Hold(ctx, r.Identity.Subject, r.Path("eventId"), req, key)
			if countsForHealth(err) {
				took, out := time.Since(start), health.OK
				if err != nil {
					out = health.OutcomeForStatus(apperr.Status(apperr.CodeOf(err)))
				}
				if rec != nil {
					rec.Record(ctx, r.Path("eventId"), took, out)
				}
				emitHold(m, took, out)
			}
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.Response{Status: http.StatusCreated, Body: orderView(o),
				Headers: map[string]string{"Location": "/v1/orders/" + o.ID}}, nil
		},
	}, log)
}

// emitHold emits one hold's latency and its outcome counter.
func emitHold(m *metrics.Emitter, took time.Duration, out health.Outcome) {
	name := map[health.Outcome]string{health.OK: metrics.Holds, health.Conflict: metrics.HoldConflicts,
		health.Throttle: metrics.HoldThrottles}[out]
	if name == "" {
		name = metrics.HoldErrors
	}
	m.Emit(nil, metrics.Value{Name: metrics.HoldLatency, Unit: metrics.Milliseconds, Value: float64(took.Microseconds()) / 1000},
		metrics.Value{Name: name, Unit: metrics.Count, Value: 1})
}

// countsForHealth leaves out answers about the request rather than the
// purchase path (unknown event, bad token, over the limit): they say
// nothing about its health, and an unknown event id must not create
// health records.
func countsForHealth(err error) bool {
	if err == nil {
		return true
	}
	switch apperr.CodeOf(err) {
	case apperr.SeatsUnavailable, apperr.SoldOut, apperr.Unavailable, apperr.Internal, apperr.Conflict:
		return true
	}
	return false
}

func validIdempotencyKey(k string) error {
	if len(k) > limits.IdempotencyKeyBytes {
		return apperr.New(apperr.Invalid, "Idempotency-Key is longer than %d characters", limits.IdempotencyKeyBytes)
	}
	for _, r := range k {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			return apperr.New(apperr.Invalid, "Idempotency-Key must be printable ASCII")
		}
	}
	return nil
}
