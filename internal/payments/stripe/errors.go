package stripe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	stripego "github.com/stripe/stripe-go/v84"

	"github.com/stararena/stararena/internal/payments"
)

// mapErr turns a stripe-go error into the port's errors:
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
//	no HTTP answer (network, timeout)              → ErrUnavailable
func (p *Provider) mapErr(ctx context.Context, what string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("stripe: %s: %w", what, cerr)
	}
	var se *stripego.Error
	if !errors.As(err, &se) {
		return fmt.Errorf("%w: stripe: %s: %v", payments.ErrUnavailable, what, err)
	}
	detail := fmt.Sprintf("stripe: %s: %d %s %s: %s (request %s)", what, se.HTTPStatusCode, se.Type, se.Code, se.Msg, se.RequestID)
	var kind error
	switch {
	case se.HTTPStatusCode == http.StatusNotFound || se.Code == stripego.ErrorCodeResourceMissing:
		kind = payments.ErrNotFound
	case se.Type == stripego.ErrorTypeIdempotency:
		kind = payments.ErrConflict
	case se.Code == stripego.ErrorCodeChargeAlreadyRefunded, se.Code == stripego.ErrorCodeChargeDisputed,
		se.Code == stripego.ErrorCodeChargeNotRefundable, se.Code == stripego.ErrorCodePaymentIntentUnexpectedState:
		kind = payments.ErrConflict
	case se.HTTPStatusCode == http.StatusUnauthorized, se.HTTPStatusCode == http.StatusForbidden,
		se.HTTPStatusCode == http.StatusConflict, se.HTTPStatusCode == http.StatusTooManyRequests,
		se.HTTPStatusCode >= 500, se.HTTPStatusCode == 0:
		kind = payments.ErrUnavailable
	default:
		kind = payments.ErrInvalid
	}
	return fmt.Errorf("%w: %s", kind, detail)
}

// slogLogger lets stripe-go log through slog. stripe-go logs every failed
// request at error level; the caller decides what is an error, so those go
// out as warnings.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Debugf(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s slogLogger) Infof(format string, v ...any)  { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s slogLogger) Warnf(format string, v ...any)  { s.l.Warn(fmt.Sprintf(format, v...)) }
func (s slogLogger) Errorf(format string, v ...any) { s.l.Warn(fmt.Sprintf(format, v...)) }
