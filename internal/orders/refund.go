package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// CrashAfterRefundPending: the order is REFUND_PENDING; its places are
	// still sold, no ticket is revoked and no money has moved yet.
	CrashAfterRefundPending = "refund:after-refund-pending"
	// CrashAfterRevoke: the tickets are revoked; the places are still sold
	// and no money has moved yet.
	CrashAfterRevoke = "refund:after-revoke"
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
//  1. the order @version → REFUND_PENDING (reason, requestedBy,
//     requestedAt, RefundHoldsPlaces); its places stay sold;
//  2. every ticket of the order revoked (revocation list);
//  3. one conditional transaction: the places back on sale (seats SOLD to
//     the order → AVAILABLE, GA places sold → available), the account's
//     limit credited back, RefundHoldsPlaces cleared;
//  4. the payment refunded at the provider (idempotency key RefundKey)
//     and recorded on its PaymentRecord;
//  5. REFUND_PENDING → REFUNDED.
//
// Tickets are revoked before the places go back on sale: while a
// revocation is throttled or failing, a place must not be sold to a second
// fan while the first fan's ticket for it still checks in as ADMITTED. And
// before the money moves: a refunded fan must never keep a valid ticket,
// while a revoked ticket whose refund is still pending is only a delay.
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
	if !o.Comp && (o.PaymentID == "" || o.Provider == "") {
		return o, fmt.Errorf("refund order %s: it is %s but names no payment", o.ID, o.Status)
	}
	now := s.clock.Now()
	set := map[string]any{"refundRequestedBy": by, "refundRequestedAt": now, "refundHoldsPlaces": true}
	if reason != "" {
		set["refundReason"] = reason
	}
	if err := s.store.BeginRefund(ctx, o, set, now); err != nil {
		return Order{}, fmt.Errorf("refund order %s: %w", o.ID, err) // contention: read again
	}
	from := o.Status
	o.Status, o.Version, o.UpdatedAt = RefundPending, o.Version+1, now
	o.RefundRequestedBy, o.RefundReason, o.RefundRequestedAt, o.RefundHoldsPlaces = by, reason, now, true
	log.InfoContext(ctx, "organizer refund: order REFUND_PENDING", "from", from, "by", by, "places", o.Places())
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
// crash: revoking revoked tickets changes nothing, the places go back on
// sale once (the order's RefundHoldsPlaces guards the release), the
// provider refunds a key once, and only one REFUND_PENDING@version →
// REFUNDED wins.
func (s *Service) completeRefund(ctx context.Context, o Order) (Order, error) {
	log := s.log.With("orderId", o.ID, "eventId", o.EventID, "paymentId", o.PaymentID)
	if !o.Comp && (o.PaymentID == "" || o.Provider == "") {
		return o, fmt.Errorf("complete refund of order %s: no payment on the order", o.ID)
	}
	if s.tickets != nil {
		if err := s.tickets.Revoke(ctx, o.ID, RevokeReason); err != nil {
			// The places stay sold: the old tickets may still admit.
			return o, fmt.Errorf("complete refund of order %s: revoke tickets: %w", o.ID, err)
		}
	}
	if err := s.fault(CrashAfterRevoke); err != nil {
		return o, err
	}
	o, err := s.releaseRefunded(ctx, log, o)
	if err != nil {
		return o, err
	}
	if o.Comp {
		// A complimentary order has no payment (ADR 30): its tickets
		// revoked and its places freed are the whole of its refund.
		return s.markRefunded(ctx, log, o, "")
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
	return s.markRefunded(ctx, log, o, refundID)
}

// markRefunded is a refund's last step: REFUND_PENDING → REFUNDED, with
// the provider's refund id when money moved.
func (s *Service) markRefunded(ctx context.Context, log *slog.Logger, o Order, refundID string) (Order, error) {
	now := s.clock.Now()
	set := map[string]any{"refundedAt": now}
	if refundID != "" {
		set["refundId"] = refundID
	}
	err := s.store.SetStatus(ctx, o, []Status{RefundPending}, Refunded, set, now)
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
	o.Status, o.Version, o.RefundID, o.UpdatedAt, o.RefundedAt = Refunded, o.Version+1, refundID, now, now
	log.InfoContext(ctx, "order refunded", "refundId", refundID)
	return o, nil
}

// releaseRefunded puts a refunded order's places back on sale once its
// tickets are revoked, and returns the order as it is now. An order that
// holds no places (released already, or a late payment that never had
// any) is returned as it is. Concurrent completions race on the release:
// the loser reads the order again and finds it released.
func (s *Service) releaseRefunded(ctx context.Context, log *slog.Logger, o Order) (Order, error) {
	for b := s.retry.Start(); ; {
		if o.Status != RefundPending || !o.RefundHoldsPlaces {
			return o, nil
		}
		err := s.releaseOnce(ctx, log, o)
		if err == nil {
			o.RefundHoldsPlaces, o.Version, o.UpdatedAt = false, o.Version+1, s.clock.Now()
			return o, nil
		}
		if again, err := b.Again(ctx, err); !again {
			return o, fmt.Errorf("complete refund of order %s: release places: %w", o.ID, err)
		}
		cur, err := s.store.GetOrder(ctx, o.ID)
		if err != nil {
			return o, err
		}
		o = cur
	}
}

// releaseOnce is one attempt of releaseRefunded.
func (s *Service) releaseOnce(ctx context.Context, log *slog.Logger, o Order) error {
	seats, err := s.store.SeatsSoldTo(ctx, o.EventID, o.ID, o.Seats)
	if err != nil {
		return err
	}
	if len(seats) != len(o.Seats) {
		// Drift the reconciler reports; the release goes on with the
		// seats that are the order's.
		log.WarnContext(ctx, "refund: some seats are not sold to their order", "sold", seats, "seats", o.Seats)
	}
	if err := s.store.ReleaseRefundedPlaces(ctx, o, seats, s.clock.Now()); err != nil {
		return err
	}
	log.InfoContext(ctx, "refund: tickets revoked, places back on sale", "places", o.Places())
	return nil
}

// refundOutcome is completeRefund's result as a payment Outcome.
func refundOutcome(_ Order, err error) (Outcome, error) {
	if err != nil {
		return OutcomeRefundPending, err
	}
	return OutcomeRefunded, nil
}
