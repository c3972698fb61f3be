// Package payments is StarArena's port to a payment provider: the few
// calls the order workflow, the webhook handler and the reconciler make,
// whatever provider takes the money.
//
// Two implementations exist: package sandbox, a built-in provider with
// Stripe's semantics for local runs and tests, and package stripe, the real
// provider through its own small client of Stripe's API. Package
// paymentstest holds the conformance suite both run. Each also describes
// itself with a Descriptor (settings, secrets, constructor, site needs),
// and package providers lists them: the registry configuration, wiring,
// deployment and the site are driven by.
//
// # Contract
//
// The model is Stripe's PaymentIntent: one payment per order, created
// idempotently with the order id as idempotency key and carried in the
// payment's metadata ("order_id"), so that a retried create never makes a
// second payment and every payment can be traced back to its order.
//
//   - A webhook is a hint, never a fact. ParseWebhook proves only that the
//     provider sent the body (signature and timestamp); the handler then
//     re-fetches the payment with GetPayment and acts on what the provider
//     says now. WebhookEvent deliberately carries no status.
//   - Webhooks may be lost, late, duplicated or out of order. Replay
//     protection (the same event delivered twice, or a captured request
//     replayed within the tolerance) is NOT ParseWebhook's job: the webhook
//     handler records each event id once (a conditional put) and answers a
//     repeat with 2xx and no effect. A stale event (say a
//     payment_intent.processing arriving after payment_intent.succeeded) is
//     harmless because the handler re-fetches.
//   - When a webhook does not come, the workflow asks: GetPayment (the
//     active query) and PaymentsForOrder (every payment of an order,
//     including a duplicate capture a lost webhook never announced).
//   - A refund is always full and idempotent by a caller-chosen key; a
//     refund does not change Status (a refunded payment stays "succeeded",
//     AmountRefundedCents says how much went back), as in Stripe.
//
// # Errors
//
// Provider methods return errors wrapping exactly one of the sentinels
// below (test with errors.Is), or the context's error:
//
//	ErrInvalid      the arguments are unusable (empty id, amount <= 0, bad currency); do not retry
//	ErrNotFound     the provider does not know the payment
//	ErrConflict     the payment's state or a reused idempotency key forbids the call
//	                (refund of an unpaid or already refunded payment, one order id
//	                created again with another amount); do not retry blindly
//	ErrUnavailable  network failure, timeout, 429, 5xx, rejected credentials: the
//	                call may or may not have taken effect; retry with the same
//	                idempotency key (the workflow's retry with backoff)
//
// ParseWebhook returns errors wrapping one of ErrMalformed (the signature
// header cannot be read), ErrBadSignature (no v1 signature matches the body
// under the secret, or no secret is configured), ErrStale (the signed
// timestamp is more than the tolerance away from now, in either direction)
// or ErrBadPayload (correctly signed, but not an event this port can read:
// bad JSON, missing id or type, a payment event without a payment, an
// API-version mismatch). The webhook handler answers all four with 400 and
// records nothing; a provider retries a non-2xx delivery.
package payments

import (
	"context"
	"errors"
	"time"

	"github.com/stararena/stararena/internal/fault"
)

// Status is where a payment stands, in the provider-neutral words of this
// port. Stripe's PaymentIntent statuses map onto it (see package stripe).
type Status string

// Payment statuses.
const (
	// StatusRequiresPayment: created, the fan has not paid (yet).
	StatusRequiresPayment Status = "requires_payment"
	// StatusProcessing: the provider is still deciding (bank debits,
	// some wallets). Not final.
	StatusProcessing Status = "processing"
	// StatusSucceeded: the money is captured. Final (a refund does not
	// change it; see AmountRefundedCents).
	StatusSucceeded Status = "succeeded"
	// StatusFailed: the last attempt was declined. NOT final: as with
	// Stripe, the fan may try again and the same payment may still
	// succeed, so the workflow keeps waiting until the hold expires.
	StatusFailed Status = "failed"
	// StatusCanceled: the payment can no longer be paid. Final.
	StatusCanceled Status = "canceled"
)

// Valid reports whether s is one of the statuses above.
func (s Status) Valid() bool {
	switch s {
	case StatusRequiresPayment, StatusProcessing, StatusSucceeded, StatusFailed, StatusCanceled:
		return true
	}
	return false
}

// Payment is what the provider knows about one payment (a PaymentIntent).
type Payment struct {
	ID      string // provider's id, "pi_..."
	OrderID string // from the payment's metadata "order_id"
	Status  Status
	// AmountCents is the amount asked for, in the currency's minor unit.
	AmountCents int64
	// Currency is the ISO 4217 code in upper case ("EUR"), whatever case
	// the provider uses.
	Currency string
	// AmountRefundedCents is how much has been refunded (0 when none).
	AmountRefundedCents int64
	// CheckoutURL is where a fan pays (the sandbox's pay page); empty for
	// Stripe, where the site confirms ClientSecret with Stripe.js.
	CheckoutURL  string
	ClientSecret string
	Created      time.Time
	// DeclineCode and DeclineMessage say why the last attempt was refused
	// while Status is StatusFailed (Stripe's last_payment_error: its
	// decline_code, else its code, and its message); empty otherwise.
	DeclineCode    string
	DeclineMessage string
}

// Paid reports whether the money is captured.
func (p Payment) Paid() bool { return p.Status == StatusSucceeded }

// Refund is a (full) refund of one payment.
type Refund struct {
	ID          string // "re_..."
	PaymentID   string
	AmountCents int64
	// Status is the provider's refund status: "pending", "succeeded",
	// "failed", "canceled" or "requires_action" (Stripe's words).
	Status string
}

// Event types this port reads. Other types parse too (with an empty
// PaymentID unless the object is a payment or a charge of one); the handler
// acknowledges and ignores them.
const (
	EventPaymentSucceeded  = "payment_intent.succeeded"
	EventPaymentFailed     = "payment_intent.payment_failed"
	EventPaymentProcessing = "payment_intent.processing"
	EventPaymentCanceled   = "payment_intent.canceled"
	EventChargeRefunded    = "charge.refunded"
)

// WebhookEvent is a verified provider event, reduced to what the handler
// needs to find the payment and re-fetch it. It has no status on purpose:
// the body may be stale or out of order; GetPayment is the truth.
type WebhookEvent struct {
	ID        string // "evt_...": the handler's dedup key
	Type      string // e.g. EventPaymentSucceeded
	PaymentID string // the payment concerned ("pi_..."), empty if none
	OrderID   string // metadata "order_id" if the body carries it; a hint only
	Created   time.Time
}

// Provider is a payment provider. Implementations are safe for concurrent
// use.
type Provider interface {
	// Name is the provider's Descriptor.Name ("sandbox", "stripe"): the
	// {provider} of POST /webhooks/{provider}.
	Name() string

	// CreatePayment returns the order's payment, creating it on the first
	// call. It is idempotent per order: the order id is the idempotency
	// key and is stored in the payment's metadata ("order_id"); a repeated
	// call returns the same payment. The same order id with another amount
	// or currency is ErrConflict (Stripe: idempotency_error). With Stripe
	// the key is remembered for 24 hours: the workflow keeps the payment
	// id on the order and never creates a payment for an older order.
	CreatePayment(ctx context.Context, orderID string, amountCents int64, currency string) (Payment, error)

	// GetPayment re-fetches a payment from the provider: the active query.
	// Never trust a webhook body; call this. Unknown id: ErrNotFound.
	GetPayment(ctx context.Context, paymentID string) (Payment, error)

	// PaymentsForOrder returns every payment the provider holds for the
	// order (metadata "order_id"), oldest first: the reconciler's view,
	// which finds duplicate captures and payments whose webhooks were
	// lost. None is an empty slice, not an error. With Stripe's search
	// this view may lag writes by about a minute (see package stripe).
	PaymentsForOrder(ctx context.Context, orderID string) ([]Payment, error)

	// PaymentsSince returns every payment created at or after since, oldest
	// first: the reconciler's sweep for captured payments that no order
	// accounts for (an order id that never existed, a lost record).
	PaymentsSince(ctx context.Context, since time.Time) ([]Payment, error)

	// Refund refunds a succeeded payment in full. It is idempotent by
	// idempotencyKey: a repeated call with the same key returns the same
	// refund and moves no money. A payment that is not paid, or already
	// fully refunded under another key, is ErrConflict; the same key used
	// for another payment is ErrConflict too.
	Refund(ctx context.Context, paymentID, idempotencyKey string) (Refund, error)

	// ParseWebhook verifies the signature header (the Stripe-Signature
	// scheme: t=<unix>,v1=<hex hmac-sha256>) of payload against the
	// provider's webhook secret, rejects a timestamp more than
	// DefaultTolerance (300 s) away from now, and maps the body to a
	// WebhookEvent. It does not detect replays; see the package comment.
	ParseWebhook(payload []byte, signatureHeader string, now time.Time) (WebhookEvent, error)
}

// Errors of Provider methods; see the package comment. Each is of a fault
// kind, so callers that retry (package retry) treat a provider's outage
// like a throttled database: ErrUnavailable is fault.Unavailable.
var (
	ErrInvalid     = fault.New(fault.Invalid, "payments: invalid request")
	ErrNotFound    = fault.New(fault.NotFound, "payments: payment not found")
	ErrConflict    = fault.New(fault.ConditionFailed, "payments: conflict with the payment's state")
	ErrUnavailable = fault.New(fault.Unavailable, "payments: provider unavailable")
)

// Errors of webhook verification (Verify, ParseSignatureHeader and every
// ParseWebhook).
var (
	ErrMalformed    = errors.New("payments: malformed signature header")
	ErrBadSignature = errors.New("payments: no valid signature")
	ErrStale        = errors.New("payments: signature timestamp outside the tolerance")
	ErrBadPayload   = errors.New("payments: signed body is not a readable event")
)

// Limits shared by the implementations, so that both refuse the same input.
const (
	// MaxIDLength bounds order ids, payment ids and idempotency keys
	// (Stripe's idempotency keys are at most 255 characters).
	MaxIDLength = 200
	// MaxAmountCents is Stripe's largest amount (eight digits).
	MaxAmountCents = 99_999_999
)
