package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/retry"
)

// Payment is what the provider says about one payment, re-fetched from it:
// a webhook body is never trusted.
type Payment struct {
	Provider    string
	ID          string
	OrderID     string
	Succeeded   bool
	AmountCents int64
	Currency    string
	// Refunded: the provider has refunded it in full already.
	Refunded bool
	// Declined: the provider refused the last attempt (not final: the fan
	// may try again), for DeclineCode, in the words of DeclineReason.
	Declined      bool
	DeclineCode   string
	DeclineReason string
	// EventID is the provider event (a webhook) that announced the
	// payment, when one did: the transaction that applies the payment
	// records that event as processed (checkout.EventStore), so its
	// delivery writes nothing more.
	EventID string
}

// Decline is one refused payment attempt, as the provider event that
// announced it says.
type Decline struct {
	EventID string // the provider's event id: the same event records once
	At      time.Time
	Code    string
	Reason  string
}

// PaymentRole says why a captured payment exists in StarArena's books.
type PaymentRole string

// Roles of a payment record.
const (
	RolePays      PaymentRole = "PAYS"      // pays for its order
	RoleDuplicate PaymentRole = "DUPLICATE" // a second capture for a paid order: refunded
	RoleLate      PaymentRole = "LATE"      // arrived after release, places gone: refunded
	RoleMismatch  PaymentRole = "MISMATCH"  // amount or currency differ from the order: refunded
	RoleOrphan    PaymentRole = "ORPHAN"    // no such order: refunded
)

// PaymentRecord is StarArena's record of a captured payment (I2: every
// captured payment ends as one issued order or one refund).
type PaymentRecord struct {
	Provider    string
	PaymentID   string
	OrderID     string
	Role        PaymentRole
	AmountCents int64
	Currency    string
	Refunded    bool
	RefundID    string
	CapturedAt  time.Time
}

// Store is the persistence of order transitions. Every method is one
// conditional write (or transaction) on the order's status and version;
// a lost race returns fault.Contention and the caller re-reads, throttling
// fault.Unavailable.
type Store interface {
	// GetOrder: fault.NotFound for an unknown id.
	GetOrder(ctx context.Context, id string) (Order, error)
	// MarkPaid: PENDING_PAYMENT@version → PAID; the order's seats HELD → SOLD
	// and GA places held → sold; records the payment as RolePays and, when
	// p.EventID is set, that provider event as processed. The payment
	// record's condition (it does not exist yet) fails it as contention.
	MarkPaid(ctx context.Context, o Order, p Payment, now time.Time) error
	// Rehold: EXPIRED or CANCELLED@version → PAID, taking the same places
	// again (seats AVAILABLE → SOLD, GA shards available → sold) and the
	// account's limit credits. fault.ConditionFailed when they are no
	// longer free.
	Rehold(ctx context.Context, o Order, p Payment, maxTickets int, now time.Time) error
	// SetStatus moves from one of from@version to to, setting fields.
	SetStatus(ctx context.Context, o Order, from []Status, to Status, set map[string]any, now time.Time) error
	// RecordDecline notes a refused payment attempt on a PENDING_PAYMENT
	// order (DeclinedAt, DeclineCode, DeclineReason, DeclineEventID and one
	// more Declines) without touching its status or version: a decline
	// moves nothing. fault.ConditionFailed when the order is not pending
	// or d.EventID is already its last decline.
	RecordDecline(ctx context.Context, orderID string, d Decline, now time.Time) error
	// SetTaskToken stores the workflow's payment wait on a PENDING_PAYMENT
	// order; fault.ConditionFailed when it is not pending.
	SetTaskToken(ctx context.Context, orderID, token string) error
	// PutPayment records a captured payment once; false if it exists.
	PutPayment(ctx context.Context, r PaymentRecord) (bool, error)
	GetPayment(ctx context.Context, provider, paymentID string) (PaymentRecord, bool, error)
	MarkPaymentRefunded(ctx context.Context, provider, paymentID, refundID string) error
	// SeatsSoldTo returns those of seats that are SOLD to orderID now
	// (strongly consistent).
	SeatsSoldTo(ctx context.Context, eventID, orderID string, seats []string) ([]string, error)
	// BeginRefund is one transaction: PAID, ISSUED or ISSUE_FAILED@version
	// → REFUND_PENDING (setting fields, RefundHoldsPlaces among them) and
	// the refund listed for the reconciler (RecentRefunds). The places stay
	// sold. fault.Contention when the order changed meanwhile.
	BeginRefund(ctx context.Context, o Order, set map[string]any, now time.Time) error
	// ReleaseRefundedPlaces is one transaction: the REFUND_PENDING@version
	// order whose RefundHoldsPlaces is set → cleared; each of seats SOLD to
	// the order → AVAILABLE; the order's GA places sold → available; the
	// account's limit credited back. fault.Contention when the order or a
	// seat changed meanwhile (another caller released them first).
	ReleaseRefundedPlaces(ctx context.Context, o Order, seats []string, now time.Time) error
}

// Refunder refunds a payment in full; the key makes retries safe.
type Refunder interface {
	Refund(ctx context.Context, provider, paymentID, idempotencyKey string) (refundID string, err error)
}

// Resumer tells the order workflow what happened.
type Resumer interface {
	// PaymentArrived resumes a workflow waiting on token.
	PaymentArrived(ctx context.Context, token string, o Order) error
	// LatePaymentAccepted starts ticket issuing for a re-held order.
	LatePaymentAccepted(ctx context.Context, o Order) error
}

// Workflow is the order workflow as the application drives it: a hold
// starts an order's execution and payments resume it (internal/stepfunctions).
type Workflow interface {
	Resumer
	// Start starts the order's execution.
	Start(ctx context.Context, o Order) error
}

// Outcome is what handling a captured payment did.
type Outcome string

// Outcomes.
const (
	OutcomePaid          Outcome = "PAID"           // the order is paid by this payment
	OutcomeAlreadyPaid   Outcome = "ALREADY_PAID"   // a replay: nothing to do
	OutcomeLatePaid      Outcome = "LATE_PAID"      // released order re-held and paid
	OutcomeRefunded      Outcome = "REFUNDED"       // refunded: late with places gone, duplicate, or mismatch
	OutcomeNotSucceeded  Outcome = "NOT_SUCCEEDED"  // the provider does not say succeeded
	OutcomeRefundPending Outcome = "REFUND_PENDING" // refund asked for, not confirmed yet
	OutcomeDeclined      Outcome = "DECLINED"       // a refused attempt noted on the held order
	OutcomeNotHeld       Outcome = "NOT_HELD"       // a refused attempt for an order no longer held: nothing noted
)

// TicketRevoker revokes every ticket of an order. It must be idempotent:
// tickets already revoked stay as they are and an order without tickets
// is no error (tickets.Service.Revoke).
type TicketRevoker interface {
	Revoke(ctx context.Context, orderID, reason string) error
}

// Service advances orders on payments, issuing and refunds.
type Service struct {
	store   Store
	refunds Refunder
	resume  Resumer
	tickets TicketRevoker
	maxTix  func(ctx context.Context, eventID string) (int, error)
	gone    func(ctx context.Context, eventID string) (bool, error)
	clock   clock.Clock
	log     *slog.Logger
	retry   retry.Policy
	crash   func(point string) error
}

// ServiceOptions configures the Service.
type ServiceOptions struct {
	Clock  clock.Clock
	Logger *slog.Logger
	// MaxTickets returns an event's per-account limit (for re-holds).
	MaxTickets func(ctx context.Context, eventID string) (int, error)
	// EventCancelled reports whether the event was cancelled: a late
	// payment for a released order of a cancelled event is refunded, never
	// given its places again (the cancellation saga would have to find and
	// refund it once more).
	EventCancelled func(ctx context.Context, eventID string) (bool, error)
	// Tickets revokes a refunded order's tickets. Without it a refund
	// leaves tickets valid, so every deployment sets it; tests of the
	// payment rules alone may leave it nil.
	Tickets TicketRevoker
	// Crash, when set, is called at named points between a refund's
	// effects; an error it returns ends the call there, as a process
	// crash would. Fault tests use it; production leaves it nil.
	Crash func(point string) error
	// Retry paces re-reads after a lost race (default 6 attempts, waits
	// of up to 2 ms doubling to 50 ms, only fault.Contention retried). An
	// unavailable store or provider is not retried here: the SDK has
	// retried already, and the callers (webhook redelivery, the workflow,
	// the reconciler) retry the whole step.
	Retry retry.Policy
}

// NewService builds the order service.
func NewService(store Store, refunds Refunder, resume Resumer, o ServiceOptions) *Service {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Retry.Attempts <= 0 {
		o.Retry.Attempts = 6
	}
	if o.Retry.Base <= 0 {
		o.Retry.Base, o.Retry.Cap = 2*time.Millisecond, 50*time.Millisecond
	}
	if o.Retry.Retryable == nil {
		o.Retry.Retryable = func(err error) bool { return fault.Is(err, fault.Contention) }
	}
	return &Service{store: store, refunds: refunds, resume: resume, tickets: o.Tickets, maxTix: o.MaxTickets, gone: o.EventCancelled,
		clock: o.Clock, log: o.Logger, retry: o.Retry, crash: o.Crash}
}

// PaymentCaptured applies a payment the provider confirmed. It is
// idempotent and safe to call from the webhook, the workflow's active
// query and the reconciler, in any order and any number of times:
//   - PENDING_PAYMENT → PAID (places HELD → SOLD), and the workflow resumes;
//   - EXPIRED/CANCELLED (late payment) → PAID when the same places are
//     still free, else the payment is refunded (REFUND_PENDING → REFUNDED);
//   - a paid order and another payment (duplicate capture) → that payment
//     is refunded, the order unchanged;
//   - amount or currency not the order's → refunded.
func (s *Service) PaymentCaptured(ctx context.Context, p Payment) (Outcome, error) {
	if !p.Succeeded {
		return OutcomeNotSucceeded, nil
	}
	for b, first := s.retry.Start(), true; ; first = false {
		out, err := s.applyCapture(ctx, p, first)
		if again, err := b.Again(ctx, err); !again {
			return out, changing(err, p.OrderID)
		}
	}
}

// PaymentDeclined notes a refused attempt on its held order, so the fan
// sees why and may pay again while the hold lasts. It is idempotent by the
// provider's event id (a duplicated webhook notes it once) and changes
// nothing on an order that is no longer held: a later success, or the
// hold's end, already decided it.
func (s *Service) PaymentDeclined(ctx context.Context, p Payment, d Decline) (Outcome, error) {
	if !p.Declined || d.EventID == "" {
		return OutcomeNotSucceeded, nil
	}
	if d.Code == "" {
		d.Code, d.Reason = p.DeclineCode, p.DeclineReason
	}
	d.Code, d.Reason = cut(d.Code, limits.DeclineCodeChars), cut(d.Reason, limits.DeclineReasonChars)
	if d.At.IsZero() {
		d.At = s.clock.Now()
	}
	o, err := s.getOrder(ctx, p.OrderID)
	if err != nil {
		return "", err
	}
	if o.Status != PendingPayment {
		return OutcomeNotHeld, nil
	}
	if o.DeclineEventID == d.EventID {
		return OutcomeDeclined, nil
	}
	err = s.store.RecordDecline(ctx, o.ID, d, s.clock.Now())
	if fault.Is(err, fault.ConditionFailed) {
		// Paid, released or noted meanwhile: read which.
		if o, err = s.getOrder(ctx, p.OrderID); err != nil {
			return "", err
		}
		if o.Status != PendingPayment {
			return OutcomeNotHeld, nil
		}
		return OutcomeDeclined, nil
	}
	if err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, "payment attempt declined", "orderId", o.ID, "eventId", o.EventID, "paymentId", p.ID, "declineCode", d.Code)
	return OutcomeDeclined, nil
}

// changing translates lost races on an order that outlasted the retries
// into UNAVAILABLE. Other errors pass as they are (a busy store or provider
// becomes UNAVAILABLE at the edge, see apperr).
func changing(err error, orderID string) error {
	if errors.Is(err, retry.ErrExhausted) {
		return apperr.Wrap(err, apperr.Unavailable, "order %s keeps changing; retry", orderID)
	}
	return err
}

// getOrder reads an order; an unknown id is NOT_FOUND.
// Get reads any order (NOT_FOUND for an unknown one). It does not check
// who asks: staff routes are checked by their organization first.
func (s *Service) Get(ctx context.Context, id string) (Order, error) { return s.getOrder(ctx, id) }

func (s *Service) getOrder(ctx context.Context, id string) (Order, error) {
	o, err := s.store.GetOrder(ctx, id)
	if fault.Is(err, fault.NotFound) {
		return Order{}, apperr.Wrap(err, apperr.NotFound, "no order %s", id)
	}
	return o, err
}

// applyCapture is one attempt of PaymentCaptured. The first attempt on a
// held order whose amount matches reads no payment record: the paying
// transaction puts it on the condition that it does not exist, and no
// other role can be recorded for a payment of a still-held order (a
// duplicate, late or orphan record needs the order paid, released or
// absent; a mismatch does not match). A refused transaction is a lost
// race, and the next attempt reads everything.
func (s *Service) applyCapture(ctx context.Context, p Payment, first bool) (Outcome, error) {
	o, err := s.getOrder(ctx, p.OrderID)
	if err != nil {
		return "", err
	}
	log := s.log.With("orderId", o.ID, "eventId", o.EventID, "paymentId", p.ID)
	now := s.clock.Now()
	if o.PaymentID == p.ID {
		switch o.Status {
		case RefundPending:
			// A late payment refunded on arrival, or an organizer's refund,
			// that did not finish: finish it (the provider's refund webhook
			// and the reconciler both come here).
			return refundOutcome(s.completeRefund(ctx, o))
		case Refunded:
			return OutcomeRefunded, nil
		}
		return OutcomeAlreadyPaid, nil
	}
	matches := p.AmountCents == o.AmountCents && p.Currency == o.Currency
	if !first || o.Status != PendingPayment || !matches {
		if rec, ok, err := s.store.GetPayment(ctx, p.Provider, p.ID); err != nil {
			return "", err
		} else if ok && rec.Role != RolePays {
			if rec.Refunded {
				return OutcomeRefunded, nil
			}
			return s.refundRecord(ctx, rec)
		}
	}
	if !matches {
		log.WarnContext(ctx, "payment amount differs from order", "paid", p.AmountCents, "due", o.AmountCents)
		return s.refundExtra(ctx, o, p, RoleMismatch)
	}
	switch o.Status {
	case PendingPayment:
		if err := s.store.MarkPaid(ctx, o, p, now); err != nil {
			return "", err
		}
		// As MarkPaid wrote it: the workflow's issue step starts from this
		// order (Resumer.PaymentArrived).
		o.Status, o.PaymentID, o.Provider, o.Version, o.PaidAt, o.UpdatedAt = Paid, p.ID, p.Provider, o.Version+1, now, now
		log.InfoContext(ctx, "order paid")
		if o.TaskToken != "" && s.resume != nil {
			if err := s.resume.PaymentArrived(ctx, o.TaskToken, o); err != nil {
				// The workflow's timeout path asks the provider and finds
				// the order paid; the reconciler covers the rest.
				log.WarnContext(ctx, "workflow not resumed", "err", err)
			}
		}
		return OutcomePaid, nil
	case Expired, Cancelled:
		max := 0
		if s.maxTix != nil {
			if max, err = s.maxTix(ctx, o.EventID); err != nil {
				return "", err
			}
		}
		err := s.rehold(ctx, o, p, max, now)
		if err == nil {
			o.Status, o.PaymentID, o.Provider, o.Version, o.Late = Paid, p.ID, p.Provider, o.Version+1, true
			log.InfoContext(ctx, "late payment: places held again")
			if s.resume != nil {
				if err := s.resume.LatePaymentAccepted(ctx, o); err != nil {
					log.WarnContext(ctx, "issuing not started; the reconciler will", "err", err)
				}
			}
			return OutcomeLatePaid, nil
		}
		if !fault.Is(err, fault.ConditionFailed) { // the places are gone
			return "", err
		}
		if err := s.store.SetStatus(ctx, o, []Status{Expired, Cancelled}, RefundPending,
			map[string]any{"paymentId": p.ID, "provider": p.Provider}, now); err != nil {
			return "", err
		}
		o.Status, o.PaymentID, o.Provider, o.Version = RefundPending, p.ID, p.Provider, o.Version+1
		log.InfoContext(ctx, "late payment: places gone, refunding")
		return refundOutcome(s.completeRefund(ctx, o))
	default: // PAID, ISSUED, ISSUE_FAILED, REFUND_PENDING, REFUNDED with another payment
		log.WarnContext(ctx, "duplicate capture", "orderPayment", o.PaymentID)
		return s.refundExtra(ctx, o, p, RoleDuplicate)
	}
}

// rehold takes a late payment's places again, unless its event was
// cancelled: then fault.ConditionFailed, as if the places were gone.
func (s *Service) rehold(ctx context.Context, o Order, p Payment, max int, now time.Time) error {
	if s.gone != nil {
		cancelled, err := s.gone(ctx, o.EventID)
		if err != nil {
			return err
		}
		if cancelled {
			return fault.E("rehold "+o.ID, fault.ConditionFailed, errors.New("the event is cancelled"))
		}
	}
	return s.store.Rehold(ctx, o, p, max, now)
}

// RefundOrphan refunds a captured payment whose order does not exist.
func (s *Service) RefundOrphan(ctx context.Context, p Payment) (Outcome, error) {
	if rec, ok, err := s.store.GetPayment(ctx, p.Provider, p.ID); err != nil {
		return "", err
	} else if ok && rec.Refunded {
		return OutcomeRefunded, nil
	}
	return s.refundExtra(ctx, Order{ID: p.OrderID}, p, RoleOrphan)
}

// refundExtra refunds a payment that does not pay for its order.
func (s *Service) refundExtra(ctx context.Context, o Order, p Payment, role PaymentRole) (Outcome, error) {
	rec := PaymentRecord{Provider: p.Provider, PaymentID: p.ID, OrderID: o.ID, Role: role,
		AmountCents: p.AmountCents, Currency: p.Currency, CapturedAt: s.clock.Now()}
	if _, err := s.store.PutPayment(ctx, rec); err != nil {
		return "", err
	}
	return s.refundRecord(ctx, rec)
}

func (s *Service) refundRecord(ctx context.Context, rec PaymentRecord) (Outcome, error) {
	refundID, err := s.refunds.Refund(ctx, rec.Provider, rec.PaymentID, RefundKey(rec.PaymentID))
	if err != nil {
		return OutcomeRefundPending, fmt.Errorf("refund %s: %w", rec.PaymentID, err)
	}
	if err := s.store.MarkPaymentRefunded(ctx, rec.Provider, rec.PaymentID, refundID); err != nil {
		return OutcomeRefundPending, err
	}
	s.log.InfoContext(ctx, "payment refunded", "orderId", rec.OrderID, "paymentId", rec.PaymentID, "role", rec.Role)
	return OutcomeRefunded, nil
}

// AwaitPayment stores the workflow's task token on a pending order. When
// the payment already arrived (webhook before the workflow), it resumes
// the workflow at once.
func (s *Service) AwaitPayment(ctx context.Context, orderID, token string) error {
	err := s.store.SetTaskToken(ctx, orderID, token)
	if err == nil {
		return nil
	}
	if !fault.Is(err, fault.ConditionFailed) {
		return err
	}
	o, gerr := s.store.GetOrder(ctx, orderID)
	if gerr != nil {
		return gerr
	}
	if s.resume != nil && (o.Status == Paid || o.Status == Issued || o.Status == IssueFailed) {
		return s.resume.PaymentArrived(ctx, token, o)
	}
	return nil // released or cancelled already: the wait times out into ConfirmPayment
}

// MarkIssued moves PAID or ISSUE_FAILED to ISSUED (idempotent).
//
// An order refunded meanwhile stays refunded (INVALID_STATE), and its
// tickets are revoked once more: the issuer read the order while it was
// still paid, so the refund's own revocation may have run before these
// tickets existed.
func (s *Service) MarkIssued(ctx context.Context, orderID string) (Order, error) {
	o, err := s.move(ctx, orderID, []Status{Paid, IssueFailed}, Issued, Issued)
	if err != nil && (o.Status == RefundPending || o.Status == Refunded) && s.tickets != nil {
		s.log.WarnContext(ctx, "tickets issued for an order refunded meanwhile: revoking them", "orderId", o.ID, "eventId", o.EventID)
		if rerr := s.tickets.Revoke(ctx, orderID, RevokeReason); rerr != nil {
			return o, fmt.Errorf("%w; revoking its tickets: %w", err, rerr)
		}
	}
	return o, err
}

// MarkIssueFailed moves PAID to ISSUE_FAILED (idempotent); the reconciler
// re-issues. An order refunded while issuing was retried needs no tickets
// and nothing to record: it is answered as it is.
func (s *Service) MarkIssueFailed(ctx context.Context, orderID string) (Order, error) {
	return s.move(ctx, orderID, []Status{Paid}, IssueFailed, IssueFailed, Issued, RefundPending, Refunded)
}

func (s *Service) move(ctx context.Context, orderID string, from []Status, to Status, done ...Status) (Order, error) {
	for b := s.retry.Start(); ; {
		o, err := s.moveOnce(ctx, orderID, from, to, done)
		if again, err := b.Again(ctx, err); !again {
			if err != nil && !apperr.Is(err, apperr.InvalidStateChange) {
				return Order{}, changing(err, orderID)
			}
			return o, err
		}
	}
}

// moveOnce is one read and one conditional write of move. An order in
// none of from is returned with INVALID_STATE.
func (s *Service) moveOnce(ctx context.Context, orderID string, from []Status, to Status, done []Status) (Order, error) {
	o, err := s.getOrder(ctx, orderID)
	if err != nil {
		return Order{}, err
	}
	for _, d := range done {
		if o.Status == d {
			return o, nil
		}
	}
	ok := false
	for _, f := range from {
		ok = ok || o.Status == f
	}
	if !ok {
		return o, apperr.New(apperr.InvalidStateChange, "order %s is %s, not %v", orderID, o.Status, from)
	}
	set := map[string]any{}
	if to == Issued {
		set["issuedAt"] = s.clock.Now()
	}
	if err := s.store.SetStatus(ctx, o, from, to, set, s.clock.Now()); err != nil {
		return Order{}, err
	}
	o.Status, o.Version = to, o.Version+1
	s.log.InfoContext(ctx, "order moved", "orderId", o.ID, "eventId", o.EventID, "status", to)
	return o, nil
}

// cut shortens s to at most n runes.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
