package app

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/stararena/stararena/internal/checkout"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/tickets"
	"github.com/stararena/stararena/internal/workflow"
)

// flowRef resolves the order workflow at call time: the local stack starts
// the Step Functions sidecar after the services exist (the sidecar calls
// the tasks, the tasks use the services).
type flowRef struct{ a *App }

func (f flowRef) flow() (orders.Workflow, error) {
	if f.a.Flow == nil {
		return nil, fmt.Errorf("order workflow not configured")
	}
	return f.a.Flow, nil
}

func (f flowRef) PaymentArrived(ctx context.Context, token string, o orders.Order) error {
	fl, err := f.flow()
	if err != nil {
		return err
	}
	return fl.PaymentArrived(ctx, token, o)
}

func (f flowRef) LatePaymentAccepted(ctx context.Context, o orders.Order) error {
	fl, err := f.flow()
	if err != nil {
		return err
	}
	return fl.LatePaymentAccepted(ctx, o)
}

func (f flowRef) start(ctx context.Context, o orders.Order) error {
	fl, err := f.flow()
	if err != nil {
		return err
	}
	return fl.Start(ctx, o)
}

// ticketIssuer adapts the ticket service to the workflow and reconciler.
type ticketIssuer struct{ a *App }

func (t ticketIssuer) IssueOrder(ctx context.Context, o orders.Order) (orders.Order, []string, error) {
	return t.a.ticketsSvc().IssueOrder(ctx, o)
}

// IssueTickets implements reconcile.Issuer with the workflow's own task.
func (t ticketIssuer) IssueTickets(ctx context.Context, orderID string) error {
	_, err := t.a.tasksSvc().Issue(ctx, workflow.OrderInput{OrderID: orderID})
	return err
}

// connectProviders builds every payment provider the configuration turns
// on (internal/config reads their variables from the registry the main
// passed), beside the local ones o gives.
func (a *App) connectProviders(o Options) error {
	a.Providers = checkout.Providers{}
	for name, p := range o.Providers {
		a.Providers[name] = p
	}
	for _, d := range o.Connect.Payments {
		v, ok := a.Config.Payments[d.Name]
		if !ok || d.New == nil {
			continue
		}
		p, err := d.New(v)
		if err != nil {
			return fmt.Errorf("%s: %w", d.Name, err)
		}
		a.Providers[d.Name] = p
	}
	return nil
}

// buildTickets builds the ticket service (ticketsSvc).
func (a *App) buildTickets() {
	a.Tickets = tickets.NewService(a.Stores.Tickets, tickets.NewCodecFrom(a.ticketKeys), tickets.Options{Clock: a.Clock, Logger: a.Log, QR: a.opts.Connect.QR,
		// A ticket code's expiry follows the event's start: the instance's
		// copy, as an organizer's new start time reaches codes issued
		// within the TTL late only by that TTL.
		CodeExpiry: func(ctx context.Context, id string) (time.Time, error) {
			ev, err := a.hotEvents().Get(ctx, id)
			return ev.StartsAt.Add(tickets.CodeValidAfterStart), err
		},
		StaticCodes: func(ctx context.Context, id string) (bool, error) {
			ev, err := a.catalogSvc().Get(ctx, id)
			return ev.StaticCodesAccepted(), err
		},
		// What the owner's page says about printing decides nothing (the
		// scan asks the item): the copy, as for the codes' expiry.
		ShownStaticCodes: func(ctx context.Context, id string) (bool, error) {
			ev, err := a.hotEvents().Get(ctx, id)
			return ev.StaticCodesAccepted(), err
		}})
}

// buildOrders builds the order service (ordersSvc).
func (a *App) buildOrders() {
	a.Orders = orders.NewService(a.Stores.Orders, a.Providers, flowRef{a}, orders.ServiceOptions{Clock: a.Clock, Logger: a.Log,
		Tickets: a.ticketsSvc(),
		// A late payment's re-hold asks the instance's event copy (ADR 14),
		// as a hold does: the per-account maximum is a hold's too, and a
		// re-hold decided on a copy from before a cancellation commits
		// within the copy's 2 s, long before the cancellation saga may
		// end (its Settle), so the saga finds and refunds that order.
		MaxTickets: func(ctx context.Context, id string) (int, error) {
			ev, err := a.hotEvents().Get(ctx, id)
			return ev.MaxTicketsPerAccount, err
		},
		EventCancelled: func(ctx context.Context, id string) (bool, error) {
			ev, err := a.hotEvents().Get(ctx, id)
			return ev.Cancelled != nil, err
		}})
}

// eventLimits reads an event's tickets-per-account limit for transfers.
type eventLimits struct{ a *App }

func (e eventLimits) MaxTicketsPerAccount(ctx context.Context, id string) (int, error) {
	ev, err := e.a.catalogSvc().Get(ctx, id)
	return ev.MaxTicketsPerAccount, err
}

// Task returns the workflow task function name as a JSON function.
func (a *App) Task(name string) (func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error), error) {
	h, ok := a.tasksSvc().Handlers()[name]
	if !ok {
		return nil, fmt.Errorf("no workflow task %q", name)
	}
	return h, nil
}
