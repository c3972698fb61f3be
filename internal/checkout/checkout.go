// Package checkout connects orders to payment providers: creating a
// payment for an order, handling provider webhooks, and the adapters the
// order service and the reconciler use to ask providers and refund.
package checkout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/payments"
)

// Providers is the set of configured payment providers by name.
type Providers map[string]payments.Provider

// Get returns the named provider or NOT_FOUND.
func (ps Providers) Get(name string) (payments.Provider, error) {
	p, ok := ps[name]
	if !ok {
		return nil, apperr.New(apperr.NotFound, "no payment provider %q", name)
	}
	return p, nil
}

// Names lists the providers, sorted.
func (ps Providers) Names() []string {
	names := make([]string, 0, len(ps))
	for n := range ps {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// StartPayment creates the payment of a held order at the named provider,
// or returns the one it already has: providers key payments by order id,
// so a fan who taps "pay" twice gets one payment. It answers
// INVALID_STATE_CHANGE when the order is no longer held, VALIDATION_FAILED
// for an unknown provider and UNAVAILABLE when the provider does not answer.
func (ps Providers) StartPayment(ctx context.Context, o orders.Order, provider string) (payments.Payment, error) {
	if o.Status != orders.PendingPayment {
		return payments.Payment{}, apperr.New(apperr.InvalidStateChange, "order is %s; only a held order can be paid", o.Status)
	}
	p, err := ps.Get(provider)
	if err != nil {
		return payments.Payment{}, apperr.New(apperr.Invalid, "provider must be one of %v", ps.Names())
	}
	pay, err := p.CreatePayment(ctx, o.ID, o.AmountCents, o.Currency)
	if err != nil {
		return payments.Payment{}, apperr.Wrap(err, apperr.Unavailable, "the payment provider did not answer; try again")
	}
	return pay, nil
}

// Refund implements orders.Refunder.
func (ps Providers) Refund(ctx context.Context, provider, paymentID, key string) (string, error) {
	p, err := ps.Get(provider)
	if err != nil {
		return "", err
	}
	r, err := p.Refund(ctx, paymentID, key)
	if err != nil {
		return "", fmt.Errorf("refund %s at %s: %w", paymentID, provider, err)
	}
	return r.ID, nil
}

// PaymentsForOrder implements reconcile.PaymentLookup.
func (ps Providers) PaymentsForOrder(ctx context.Context, provider, orderID string) ([]orders.Payment, error) {
	p, err := ps.Get(provider)
	if err != nil {
		return nil, err
	}
	list, err := p.PaymentsForOrder(ctx, orderID)
	if err != nil {
		return nil, fmt.Errorf("payments of %s at %s: %w", orderID, provider, err)
	}
	out := make([]orders.Payment, 0, len(list))
	for _, pay := range list {
		out = append(out, toOrderPayment(provider, pay))
	}
	return out, nil
}

// PaymentsSince implements reconcile.PaymentLookup's sweep.
func (ps Providers) PaymentsSince(ctx context.Context, provider string, since time.Time) ([]orders.Payment, error) {
	p, err := ps.Get(provider)
	if err != nil {
		return nil, err
	}
	list, err := p.PaymentsSince(ctx, since)
	if err != nil {
		return nil, fmt.Errorf("payments since %s at %s: %w", since, provider, err)
	}
	out := make([]orders.Payment, 0, len(list))
	for _, pay := range list {
		out = append(out, toOrderPayment(provider, pay))
	}
	return out, nil
}

func toOrderPayment(provider string, p payments.Payment) orders.Payment {
	return orders.Payment{Provider: provider, ID: p.ID, OrderID: p.OrderID, Succeeded: p.Paid(),
		AmountCents: p.AmountCents, Currency: p.Currency, Refunded: p.AmountRefundedCents >= p.AmountCents && p.AmountCents > 0,
		Declined: p.Status == payments.StatusFailed, DeclineCode: p.DeclineCode, DeclineReason: p.DeclineMessage}
}

// EventStore records provider events so a replay is acknowledged as one.
// An event is recorded only once processed: by the transaction that
// applies its payment (orders.Payment.EventID), or by FinishEvent after any
// other effect. An event with no effect (its payment applied before, not
// succeeded, or none named) is not recorded: its replay is handled again
// and again changes nothing. A delivery cut short leaves no record and the
// next one processes the event again: every step is idempotent.
type EventStore interface {
	// FinishEvent records the event processed unless it was recorded
	// before: first is false for a replay.
	FinishEvent(ctx context.Context, provider, eventID string, now time.Time) (first bool, err error)
}

// Webhooks handles POST /webhooks/{provider}.
type Webhooks struct {
	providers Providers
	events    EventStore
	orders    *orders.Service
	clock     clock.Clock
	log       *slog.Logger
}

// NewWebhooks builds the webhook handler service.
func NewWebhooks(ps Providers, events EventStore, om *orders.Service, c clock.Clock, log *slog.Logger) *Webhooks {
	if c == nil {
		c = clock.System{}
	}
	if log == nil {
		log = slog.Default()
	}
	return &Webhooks{providers: ps, events: events, orders: om, clock: c, log: log}
}

// Result is what a webhook delivery did.
type Result struct {
	EventID   string         `json:"eventId"`
	Duplicate bool           `json:"duplicate"`
	Outcome   orders.Outcome `json:"outcome,omitempty"`
}

// Handle verifies, records once, re-fetches and applies a delivery. It
// answers success only once the effect is durable; any error makes the
// provider deliver again, which is safe because every step is idempotent.
//
// Errors: NOT_FOUND (unknown provider), WEBHOOK_SIGNATURE_INVALID (bad,
// stale or malformed signature: 400), UNAVAILABLE (provider or store
// trouble: 503, retried by the provider).
func (w *Webhooks) Handle(ctx context.Context, provider string, payload []byte, signature string) (Result, error) {
	p, err := w.providers.Get(provider)
	if err != nil {
		return Result{}, err
	}
	now := w.clock.Now()
	ev, err := p.ParseWebhook(payload, signature, now)
	if err != nil {
		if errors.Is(err, payments.ErrInvalid) || errors.Is(err, payments.ErrBadPayload) {
			return Result{}, apperr.Wrap(err, apperr.Invalid, "webhook body is not an event")
		}
		return Result{}, apperr.Wrap(err, apperr.WebhookSignatureInvalid, "webhook signature is invalid or stale")
	}
	log := w.log.With("provider", provider, "providerEventId", ev.ID, "paymentId", ev.PaymentID, "orderId", ev.OrderID)
	// No record is read first: a replay is applied again, which changes
	// nothing (every step is idempotent), and is told by the record its
	// first processing left.
	res := Result{EventID: ev.ID}
	// record: the event changed something that handling it again could
	// change a second time, so it is recorded and its replay is answered
	// as one. An event that changed nothing here is not recorded (no
	// write): handling it again re-fetches its payment and finds the same
	// nothing to do, or, if the payment moved on meanwhile, applies what
	// the payment now says, which every step does once by its own
	// conditions.
	record := false
	if ev.PaymentID != "" {
		pay, err := p.GetPayment(ctx, ev.PaymentID) // never trust the body
		if err != nil {
			return Result{}, apperr.Wrap(err, apperr.Unavailable, "could not re-fetch the payment; deliver again")
		}
		if pay.Paid() && pay.OrderID != "" {
			op := toOrderPayment(provider, pay)
			op.EventID = ev.ID
			out, err := w.orders.PaymentCaptured(ctx, op)
			if err != nil {
				return Result{}, apperr.Wrap(err, apperr.Unavailable, "could not apply the payment; deliver again")
			}
			res.Outcome = out
			// PAID and LATE_PAID: the transaction that paid the order
			// recorded the event. ALREADY_PAID: the order was paid by this
			// payment before, and handling the event again only reads it
			// (a duplicated delivery, a stale event after the paying one).
			// NOT_SUCCEEDED changed nothing. A refund (REFUNDED,
			// REFUND_PENDING) asked the provider: recorded.
			switch out {
			case orders.OutcomePaid, orders.OutcomeLatePaid, orders.OutcomeAlreadyPaid, orders.OutcomeNotSucceeded:
			default:
				record = true
			}
		}
		if pay.Status == payments.StatusFailed && pay.OrderID != "" {
			// The provider says the last attempt was refused (whatever the
			// event's type): note it on the held order, once per event.
			at := ev.Created
			if at.Unix() <= 0 { // an event without its time
				at = now
			}
			out, err := w.orders.PaymentDeclined(ctx, toOrderPayment(provider, pay), orders.Decline{EventID: ev.ID, At: at})
			if err != nil {
				return Result{}, apperr.Wrap(err, apperr.Unavailable, "could not note the declined attempt; deliver again")
			}
			res.Outcome = out
			// A decline counts on the order once per event only while the
			// event is the order's last decline: an older one replayed
			// would count again, so it is recorded.
			record = out != orders.OutcomeNotSucceeded
		}
	}
	if record {
		first, err := w.events.FinishEvent(ctx, provider, ev.ID, w.clock.Now())
		if err != nil {
			return Result{}, apperr.Wrap(err, apperr.Unavailable, "could not record the event; deliver again")
		}
		if !first {
			log.InfoContext(ctx, "webhook replay acknowledged")
			return Result{EventID: ev.ID, Duplicate: true}, nil
		}
	}
	log.InfoContext(ctx, "webhook applied", "type", ev.Type, "outcome", res.Outcome)
	return res, nil
}
