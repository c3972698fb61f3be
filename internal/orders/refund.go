package orders

import (
	"context"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/retry"
)

// RevokeReason is the revocation-list reason of a refunded order's tickets.
const RevokeReason = "order refunded"

// MaxRefundReason bounds an organizer's refund reason, in characters.
const MaxRefundReason = limits.RefundReasonChars

// Crash points of a refund (ServiceOptions.Crash).
const (
	// CrashAfterRefundPending: the order is REFUND_PENDING and its places
	// are back on sale; no ticket is revoked and no money has moved yet.
	CrashAfterRefundPending = "refund:after-refund-pending"
	// CrashAfterProviderRefund: the provider has refunded; StarArena has
	// not recorded it and the order is still REFUND_PENDING.
	CrashAfterProviderRefund = "refund:after-provider-refund"
)

// RefundKey is the provider idempotency key of a payment's refund. Every
// path that refunds a payment uses it, so a payment is refunded once
// however many of them (the organizer, the webhook, the reconciler, a
// retry after a lost response) get there.
func RefundKey(paymentID string) string { return "refund-" + paymentID }

func (s *Service) fault(point string) error {
	if s.crash == nil {
		return nil
	}
	return s.crash(point)
}

// ValidRefundReason checks an organizer's refund reason: optional, at most
// MaxRefundReason characters, no control characters.
func ValidRefundReason(reason string) error {
	if !utf8.ValidString(reason) || utf8.RuneCountInString(reason) > MaxRefundReason {
		return apperr.New(apperr.Invalid, "reason must be at most %d characters", MaxRefundReason)
	}
	for _, r := range reason {
		if unicode.IsControl(r) {
			return apperr.New(apperr.Invalid, "reason must not contain control characters")
		}
	}
	return nil
}

// RefundOrder is an organizer's refund of a paid order (PAID, ISSUED or
// ISSUE_FAILED). In this order, so that a crash anywhere leaves a state the
// reconciler finishes (CompleteRefund):
//
//  1. one conditional transaction: the order @version → REFUND_PENDING
//     (reason, requestedBy, requestedAt), its seats SOLD to it →
//     AVAILABLE, its GA places sold → available, the account's limit
//     credited back — the places can be sold again at once;
//  2. every ticket of the order revoked (revocation list);
//  3. the payment refunded at the provider (idempotency key RefundKey)
//     and recorded on its PaymentRecord;
//  4. REFUND_PENDING → REFUNDED.
//
// Tickets are revoked before the money moves: a refunded fan must never
// keep a valid ticket, while a revoked ticket whose refund is still pending
// is only a delay.
//
// A REFUNDED order is answered as it is (idempotent); a REFUND_PENDING one
// is driven on from step 2. When a step after the first fails, the order is
// returned REFUND_PENDING with no error: the refund is accepted and durable,
// and the reconciler (or a repeated request) completes it.
//
// Errors: NOT_FOUND, INVALID_STATE (not a paid order), INVALID_REQUEST
// (reason), UNAVAILABLE (the order kept changing).
func (s *Service) RefundOrder(ctx context.Context, orderID, by, reason string) (Order, error) {
	if err := ValidRefundReason(reason); err != nil {
		return Order{}, err
	}
	for b := s.retry.Start(); ; {
		o, err := s.refundOnce(ctx, orderID, by, reason)
		if again, err := b.Again(ctx, err); !again {
			if errors.Is(err, retry.ErrExhausted) {
				return Order{}, changing(err, orderID)
			}
			return o, err
		}
	}
}

// refundOnce is one pass of RefundOrder: read the order, begin its refund
// (fault.Contention when it changed meanwhile) and drive it on. A refusal
// returns the order with the error.
func (s *Service) refundOnce(ctx context.Context, orderID, by, reason string) (Order, error) {
	o, err := s.getOrder(ctx, orderID)
	if err != nil {
		return Order{}, err
	}
	log := s.log.With("orderId", o.ID, "eventId", o.EventID, "paymentId", o.PaymentID)
	switch o.Status {
	case Refunded:
		return o, nil
	case RefundPending:
		return s.acceptedRefund(ctx, o)
	case Paid, Issued, IssueFailed:
	default:
		return o, apperr.New(apperr.InvalidStateChange,
			"order is %s; only a paid order (PAID, ISSUED or ISSUE_FAILED) can be refunded", o.Status)
	}
	if o.PaymentID == "" || o.Provider == "" {
		return o, fmt.Errorf("refund order %s: it is %s but names no payment", o.ID, o.Status)
	}
	seats, err := s.store.SeatsSoldTo(ctx, o.EventID, o.ID, o.Seats)
	if err != nil {
		return Order{}, fmt.Errorf("refund order %s: %w", o.ID, err)
	}
	if len(seats) != len(o.Seats) {
		// Drift the reconciler reports; the refund goes on with the
		// seats that are the order's.
		log.WarnContext(ctx, "refund: some seats are not sold to their order", "sold", seats, "seats", o.Seats)
	}
	now := s.clock.Now()
	set := map[string]any{"refundRequestedBy": by, "refundRequestedAt": now}
	if reason != "" {
		set["refundReason"] = reason
	}
	if err := s.store.BeginRefund(ctx, o, seats, set, now); err != nil {
		return Order{}, fmt.Errorf("refund order %s: %w", o.ID, err) // contention: read again
	}
	from := o.Status
	o.Status, o.Version, o.UpdatedAt = RefundPending, o.Version+1, now
	o.RefundRequestedBy, o.RefundReason, o.RefundRequestedAt = by, reason, now
	log.InfoContext(ctx, "organizer refund: order REFUND_PENDING, places back on sale", "from", from, "by", by, "places", o.Places())
	if err := s.fault(CrashAfterRefundPending); err != nil {
		return Order{}, err
	}
	return s.acceptedRefund(ctx, o)
}

// acceptedRefund completes a REFUND_PENDING order for RefundOrder: a
// failure is logged and the order answered as it is (REFUND_PENDING).
func (s *Service) acceptedRefund(ctx context.Context, o Order) (Order, error) {
	done, err := s.completeRefund(ctx, o)
	if err != nil {
		s.log.WarnContext(ctx, "refund accepted, not completed yet; the reconciler retries it",
			"orderId", o.ID, "eventId", o.EventID, "paymentId", o.PaymentID, "err", err)
		return o, nil
	}
	return done, nil
}

// CompleteRefund finishes a REFUND_PENDING order (tickets revoked, payment
// refunded, REFUNDED); a REFUNDED order is returned as it is. The
// reconciler calls it for refunds left pending by a crash or a provider
// outage.
//
// Errors: NOT_FOUND, INVALID_STATE (neither), or why it did not complete.
func (s *Service) CompleteRefund(ctx context.Context, orderID string) (Order, error) {
	o, err := s.getOrder(ctx, orderID)
	if err != nil {
		return Order{}, err
	}
	switch o.Status {
	case Refunded:
		return o, nil
	case RefundPending:
		return s.completeRefund(ctx, o)
	}
	return o, apperr.New(apperr.InvalidStateChange, "order %s is %s, not REFUND_PENDING", o.ID, o.Status)
}

// completeRefund drives a REFUND_PENDING order to REFUNDED. Every step is
// idempotent, so any number of callers may run it, concurrently or after a
// crash: revoking revoked tickets changes nothing, the provider refunds a
// key once, and only one REFUND_PENDING@version → REFUNDED wins.
func (s *Service) completeRefund(ctx context.Context, o Order) (Order, error) {
	log := s.log.With("orderId", o.ID, "eventId", o.EventID, "paymentId", o.PaymentID)
	if o.PaymentID == "" || o.Provider == "" {
		return o, fmt.Errorf("complete refund of order %s: no payment on the order", o.ID)
	}
	if s.tickets != nil {
		if err := s.tickets.Revoke(ctx, o.ID, RevokeReason); err != nil {
			return o, fmt.Errorf("complete refund of order %s: revoke tickets: %w", o.ID, err)
		}
	}
	// The organizer refunds the payment that pays for the order (recorded
	// as PAYS when it was applied); a late payment refunded on arrival has
	// no record yet.
	role := RoleLate
	if o.RefundRequestedBy != "" {
		role = RolePays
	}
	if _, err := s.store.PutPayment(ctx, PaymentRecord{Provider: o.Provider, PaymentID: o.PaymentID, OrderID: o.ID, Role: role,
		AmountCents: o.AmountCents, Currency: o.Currency, CapturedAt: s.clock.Now()}); err != nil {
		return o, fmt.Errorf("complete refund of order %s: %w", o.ID, err)
	}
	refundID, err := s.refunds.Refund(ctx, o.Provider, o.PaymentID, RefundKey(o.PaymentID))
	if err != nil {
		return o, fmt.Errorf("refund %s: %w", o.PaymentID, err)
	}
	if err := s.fault(CrashAfterProviderRefund); err != nil {
		return o, err
	}
	if err := s.store.MarkPaymentRefunded(ctx, o.Provider, o.PaymentID, refundID); err != nil {
		return o, fmt.Errorf("complete refund of order %s: %w", o.ID, err)
	}
	now := s.clock.Now()
	err = s.store.SetStatus(ctx, o, []Status{RefundPending}, Refunded, map[string]any{"refundId": refundID}, now)
	if fault.Is(err, fault.Contention) {
		// Another caller finished it first; answer what is stored.
		cur, gerr := s.store.GetOrder(ctx, o.ID)
		if gerr != nil {
			return o, gerr
		}
		if cur.Status != Refunded {
			return cur, apperr.New(apperr.Conflict, "order %s is %s after its refund", o.ID, cur.Status)
		}
		return cur, nil
	}
	if err != nil {
		return o, fmt.Errorf("complete refund of order %s: %w", o.ID, err)
	}
	o.Status, o.Version, o.RefundID, o.UpdatedAt = Refunded, o.Version+1, refundID, now
	log.InfoContext(ctx, "order refunded", "refundId", refundID)
	return o, nil
}

// refundOutcome is completeRefund's result as a payment Outcome.
func refundOutcome(_ Order, err error) (Outcome, error) {
	if err != nil {
		return OutcomeRefundPending, err
	}
	return OutcomeRefunded, nil
}
