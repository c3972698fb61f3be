package workflow

// The tasks of the order workflow (order.asl.json) live beside it. Each is
// one Lambda function in AWS (functions/<name>, named by the Function*
// constants) and is invoked through a Lambda-Invoke-shaped endpoint by the
// local Step Functions sidecar. Every task is idempotent: Step Functions
// retries them, and a crash between two steps repeats one.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/mail"
	"github.com/stararena/stararena/internal/metrics"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/reconcile"
	"github.com/stararena/stararena/internal/retry"
	"github.com/stararena/stararena/internal/tickets"
)

// TicketIssuerUnavailable is the error type the workflow retries with
// backoff before giving up into ISSUE_FAILED. aws-lambda-go reports a
// returned error's type name as errorType, so it must be returned by value.
type TicketIssuerUnavailable struct{ Cause string }

func (e TicketIssuerUnavailable) Error() string { return "ticket issuer unavailable: " + e.Cause }

// ErrorType names the error for the local Lambda endpoint.
func (e TicketIssuerUnavailable) ErrorType() string { return ErrTicketIssuerUnavailable }

// Tickets issues an order's tickets.
type Tickets interface {
	// IssueOrder issues a PAID or ISSUE_FAILED order's tickets and marks
	// it ISSUED in one transaction (tickets.Service.IssueOrder): the order
	// as it is now and the ticket ids, or tickets.ErrIssuedBefore when an
	// earlier path issued them, or tickets.ErrOrderMoved.
	IssueOrder(ctx context.Context, o orders.Order) (orders.Order, []string, error)
}

// OrderReader reads orders.
type OrderReader interface {
	GetOrder(ctx context.Context, id string) (orders.Order, error)
}

// Tasks are the workflow's steps.
type Tasks struct {
	Orders    *orders.Service
	Inventory *inventory.Service
	Store     OrderReader
	Payments  reconcile.PaymentLookup
	Providers []string
	Tickets   Tickets
	Log       *slog.Logger
	// Crash, when set, is called at named points between a task's effects;
	// an error it returns ends the task there, as a process crash would.
	// Fault tests use it; production leaves it nil.
	Crash func(point string) error
	// Metrics counts workflow outcomes (nil: none).
	Metrics *metrics.Emitter
	// Mail takes the order confirmation once the order is ISSUED (nil:
	// no mail). The mailer sends it once however often it is enqueued.
	Mail mail.Queue
}

// confirm puts the order confirmation on the mail queue. A failure is
// logged, never returned: the fan has the tickets on the site, and the
// purchase must not fail or wait for an email. The message carries the
// ISSUED order and, when this run issued them, its ticket ids, so the
// mailer reads neither the order nor the manifest again.
func (t *Tasks) confirm(ctx context.Context, o orders.Order, ticketIDs []string) {
	if t.Mail == nil {
		return
	}
	err := t.Mail.Enqueue(ctx, mail.ConfirmationOf(o, ticketIDs))
	switch {
	case errors.Is(err, mail.ErrNoQueue):
		// A process without mail (a test's app): nothing to say per order.
		t.Log.DebugContext(ctx, "no mail queue: order confirmation not queued", "orderId", o.ID)
	case err != nil:
		t.Log.WarnContext(ctx, "order confirmation not queued", "orderId", o.ID, "err", err)
	}
}

// outcome counts one end of an order's workflow.
func (t *Tasks) outcome(o string) {
	t.Metrics.Count(metrics.WorkflowOutcomes, 1, map[string]string{metrics.DimOutcome: o})
}

// Crash points.
const (
	CrashAfterTicketsIssued = "issue-tickets:after-issue"
	CrashAfterPaymentApply  = "confirm-payment:after-apply"
)

func (t *Tasks) crash(point string) error {
	if t.Crash == nil {
		return nil
	}
	return t.Crash(point)
}

// OrderInput is the payload of every task but AwaitPayment.
type OrderInput struct {
	OrderID string `json:"orderId"`
	// Payment is the payment wait's result when a payment resumed it: the
	// issue step gets the execution's whole state (order.asl.json), so it
	// finds there the order as the payment left it.
	Payment *Resumed `json:"payment,omitempty"`
}

// Resumed is the output of a payment wait that a payment resumed
// (stepfunctions.Flow.PaymentArrived). Only StarArena's own functions can
// resume an execution, so it is trusted as a read of the order would be.
type Resumed struct {
	Paid      bool   `json:"paid"`
	PaymentID string `json:"paymentId"`
	// Order is the order the payment moved to PAID, at its new version,
	// without its task token.
	Order *orders.Order `json:"order,omitempty"`
}

// paidOrder is the PAID order the payment left in the input, if any.
func (in OrderInput) paidOrder() (orders.Order, bool) {
	if in.Payment == nil || in.Payment.Order == nil {
		return orders.Order{}, false
	}
	o := *in.Payment.Order
	return o, o.ID == in.OrderID && o.Status == orders.Paid && o.Version > 0
}

// AwaitInput carries the task token of the payment wait.
type AwaitInput struct {
	OrderID   string `json:"orderId"`
	TaskToken string `json:"taskToken"`
}

// Await stores the task token on the order (or resumes at once when the
// payment came first).
func (t *Tasks) Await(ctx context.Context, in AwaitInput) (map[string]any, error) {
	return map[string]any{}, t.Orders.AwaitPayment(ctx, in.OrderID, in.TaskToken)
}

// Confirm is the active query after the wait timed out (or the payment
// failed): ask the providers, apply any captured payment, say whether the
// order is paid now.
//
// With one provider it reads nothing itself: the order's provider could
// only narrow a list of one, and applying a captured payment (which reads
// the order) says whether that payment pays it. Without one it answers
// "not paid", and an order paid meanwhile (a webhook that lands now, or
// one whose resume was lost) is caught by the release, which is
// conditional on the order still pending and says when a payment won.
func (t *Tasks) Confirm(ctx context.Context, in OrderInput) (map[string]any, error) {
	if in.OrderID == "" {
		// Whether the order or the provider is asked first depends on how
		// many providers there are: refuse before either, so the answer
		// does not.
		return nil, errors.New("confirm: the task input names no order")
	}
	providers := t.Providers
	if len(providers) != 1 {
		o, err := t.Store.GetOrder(ctx, in.OrderID)
		if err != nil {
			return nil, err
		}
		if o.Status != orders.PendingPayment {
			return map[string]any{"paid": paid(o.Status), "status": o.Status}, nil
		}
		if o.Provider != "" {
			providers = []string{o.Provider}
		}
	}
	paidBy := false
	for _, prov := range providers {
		ps, err := t.Payments.PaymentsForOrder(ctx, prov, in.OrderID)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if !p.Succeeded {
				continue // a declined or abandoned attempt: nothing to apply
			}
			out, err := t.Orders.PaymentCaptured(ctx, p)
			if err != nil {
				return nil, err
			}
			// Paid by this payment now or before (ALREADY_PAID answers only
			// an order that this payment pays); a refunded one pays nothing.
			paidBy = paidBy || out == orders.OutcomePaid || out == orders.OutcomeAlreadyPaid || out == orders.OutcomeLatePaid
			if err := t.crash(CrashAfterPaymentApply); err != nil {
				return nil, err
			}
		}
	}
	return map[string]any{"paid": paidBy}, nil
}

func paid(s orders.Status) bool {
	return s == orders.Paid || s == orders.Issued || s == orders.IssueFailed
}

// Release expires an unpaid hold. When a payment won the race the order is
// paid instead, and the workflow goes on to issuing.
func (t *Tasks) Release(ctx context.Context, in OrderInput) (map[string]any, error) {
	o, err := t.Inventory.Release(ctx, in.OrderID, orders.Expired)
	if err != nil {
		return nil, err
	}
	if o.Status == orders.Expired {
		t.outcome("RELEASED")
	}
	return map[string]any{"paid": paid(o.Status), "status": o.Status}, nil
}

// Issue issues the tickets of a paid order and marks it ISSUED: one
// transaction that writes the tickets and moves the order
// (tickets.Service.IssueOrder), conditional on the order's status and
// version. After a payment resumed the wait, the input carries the order
// as the payment left it, and nothing is read first: the transaction's
// condition is the only check. Otherwise (the provider was asked after the
// wait, a retry of this step, the reconciler) the order is read
// consistently first, and so it is after a carried order was refused.
func (t *Tasks) Issue(ctx context.Context, in OrderInput) (map[string]any, error) {
	o, carried := in.paidOrder()
	for reads := 0; ; {
		if !carried {
			reads++
			var err error
			if o, err = t.Store.GetOrder(ctx, in.OrderID); err != nil {
				return nil, err
			}
		}
		// Issued already, or refunded by the organizer while the workflow
		// waited to retry: either way there is nothing left to issue, and
		// retrying would end the execution as failed for no fault. An ISSUED
		// order queues its confirmation again: the run that issued it may have
		// stopped before queueing, and the mailer sends it once.
		if o.Status == orders.Issued {
			t.confirm(ctx, o, nil)
		}
		if o.Status == orders.Issued || o.Status == orders.RefundPending || o.Status == orders.Refunded {
			return map[string]any{"status": o.Status}, nil
		}
		if o.Status != orders.Paid && o.Status != orders.IssueFailed {
			return nil, fmt.Errorf("order %s is %s: nothing to issue", o.ID, o.Status)
		}
		issued, ids, err := t.Tickets.IssueOrder(ctx, o)
		n := len(ids)
		switch {
		case carried && (errors.Is(err, tickets.ErrOrderMoved) || errors.Is(err, tickets.ErrIssuedBefore)):
			// The order moved on since the payment left it (an earlier
			// attempt of this step issued it, a refund): read it and decide
			// on what it is now.
			carried = false
			continue
		case errors.Is(err, tickets.ErrOrderMoved) && reads < maxIssueReads:
			continue // refunded or issued meanwhile: decide on what it is now
		case errors.Is(err, tickets.ErrIssuedBefore):
			// Tickets written by a path that does not mark the order (an
			// issue cut short before this step existed): mark it now.
			if err := t.crash(CrashAfterTicketsIssued); err != nil {
				return nil, err
			}
			if o, err = t.Orders.MarkIssued(ctx, o.ID); err != nil {
				return nil, err
			}
			ids = nil // as the manifest lists them, which the mailer reads
		case err != nil:
			return nil, TicketIssuerUnavailable{Cause: err.Error()}
		default:
			if err := t.crash(CrashAfterTicketsIssued); err != nil {
				return nil, err
			}
			o = issued
		}
		t.outcome(string(orders.Issued))
		t.confirm(ctx, o, ids)
		return map[string]any{"status": orders.Issued, "tickets": n}, nil
	}
}

// maxIssueReads bounds how often one Issue reads an order that keeps
// moving under it; then the workflow's retry takes over.
const maxIssueReads = 3

// IssueFailed records that issuing gave up; the reconciler takes over.
func (t *Tasks) IssueFailed(ctx context.Context, in OrderInput) (map[string]any, error) {
	o, err := t.Orders.MarkIssueFailed(ctx, in.OrderID)
	if err != nil {
		return nil, err
	}
	t.outcome(string(o.Status))
	return map[string]any{"status": o.Status}, nil
}

// JSONFunc is a task as a JSON-in, JSON-out function.
type JSONFunc func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error)

// Handlers returns every task as a JSONFunc by function name.
func (t *Tasks) Handlers() map[string]JSONFunc {
	return map[string]JSONFunc{
		FunctionAwaitPayment:    wrap(t.Await),
		FunctionConfirmPayment:  wrap(t.Confirm),
		FunctionReleaseHold:     wrap(t.Release),
		FunctionIssueTickets:    wrap(t.Issue),
		FunctionMarkIssueFailed: wrap(t.IssueFailed),
	}
}

func wrap[In any](f func(context.Context, In) (map[string]any, error)) JSONFunc {
	return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		var in In
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, fmt.Errorf("task input: %w", err)
		}
		// The task's calls and every retry of them get a share of the
		// function's deadline (retry.Bound): it fails in time for the
		// workflow's own retry instead of being stopped by Lambda mid-way.
		bctx, cancel := retry.Policy{}.Bound(ctx)
		defer cancel()
		out, err := f(bctx, in)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	}
}
