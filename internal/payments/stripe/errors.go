package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/stararena/stararena/internal/payments"
)

// Stripe's error types and codes the mapping below reads.
const (
	errorTypeIdempotency = "idempotency_error"

	codeResourceMissing              = "resource_missing"
	codeChargeAlreadyRefunded        = "charge_already_refunded"
	codeChargeDisputed               = "charge_disputed"
	codeChargeNotRefundable          = "charge_not_refundable"
	codePaymentIntentUnexpectedState = "payment_intent_unexpected_state"
)

// mapErr turns the client's error into the port's errors:
//
//	caller's context done                          → that context error (wrapped)
//	404, resource_missing                          → ErrNotFound
//	idempotency_error (key reused, other params)   → ErrConflict
//	charge_already_refunded, charge_disputed,
//	charge_not_refundable,
//	payment_intent_unexpected_state                → ErrConflict
//	401, 403 (key revoked or lacking permission)   → ErrUnavailable (an operator fixes it; retries then work)
//	409 (concurrent use of a key), 429, 5xx        → ErrUnavailable
//	other 4xx (invalid_request_error, card_error)  → ErrInvalid
//	no HTTP answer (network, timeout), an answer
//	without Stripe's error object                  → ErrUnavailable
func (p *Provider) mapErr(ctx context.Context, what string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("stripe: %s: %w", what, cerr)
	}
	var se *apiError
	if !errors.As(err, &se) {
		return fmt.Errorf("%w: stripe: %s: %v", payments.ErrUnavailable, what, err)
	}
	var kind error
	switch {
	case se.Status == http.StatusNotFound || se.Code == codeResourceMissing:
		kind = payments.ErrNotFound
	case se.Type == errorTypeIdempotency:
		kind = payments.ErrConflict
	case se.Code == codeChargeAlreadyRefunded, se.Code == codeChargeDisputed,
		se.Code == codeChargeNotRefundable, se.Code == codePaymentIntentUnexpectedState:
		kind = payments.ErrConflict
	case se.Status == http.StatusUnauthorized, se.Status == http.StatusForbidden,
		se.Status == http.StatusConflict, se.Status == http.StatusTooManyRequests,
		se.Status >= 500, se.Status == 0:
		kind = payments.ErrUnavailable
	default:
		kind = payments.ErrInvalid
	}
	return fmt.Errorf("%w: stripe: %s: %v", kind, what, se)
}
