package app

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/stararena/stararena/internal/checkout"
	"github.com/stararena/stararena/internal/config"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/reconcile"
	"github.com/stararena/stararena/internal/tickets"
	"github.com/stararena/stararena/internal/transfers"
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
	return t.a.Tickets.IssueOrder(ctx, o)
}

// IssueTickets implements reconcile.Issuer with the workflow's own task.
func (t ticketIssuer) IssueTickets(ctx context.Context, orderID string) error {
	_, err := t.a.Tasks.Issue(ctx, workflow.OrderInput{OrderID: orderID})
	return err
}

// buildMoney wires payments, tickets, orders, webhooks, the workflow tasks
// and the reconciler.
func (a *App) buildMoney(ctx context.Context, cfg config.Config, o Options) error {
	a.Providers = checkout.Providers{}
	for name, p := range o.Providers {
		a.Providers[name] = p
	}
	// Every provider the configuration turns on (internal/config reads
	// their variables from the registry the main passed); a local provider
	// comes from o.
	for _, d := range o.Connect.Payments {
		v, ok := cfg.Payments[d.Name]
		if !ok || d.New == nil {
			continue
		}
		p, err := d.New(v)
		if err != nil {
			return fmt.Errorf("%s: %w", d.Name, err)
		}
		a.Providers[d.Name] = p
	}
	src, err := keySource(cfg, a.Clock, keySpec{what: "ticket", prefix: "t", override: o.TicketKeyring,
		inline: cfg.TicketKeys, secret: cfg.TicketKeysSecret, secretVar: "TICKET_KEYS_SECRET_ARN"})
	if err != nil {
		return err
	}
	a.Tickets = tickets.NewService(a.Stores.Tickets, tickets.NewCodecFrom(src), tickets.Options{Clock: a.Clock, Logger: a.Log, QR: o.Connect.QR,
		// A ticket code's expiry follows the event's start: the instance's
		// copy, as an organizer's new start time reaches codes issued
		// within the TTL late only by that TTL.
		CodeExpiry: func(ctx context.Context, id string) (time.Time, error) {
			ev, err := a.HotEvents.Get(ctx, id)
			return ev.StartsAt.Add(tickets.CodeValidAfterStart), err
		},
		StaticCodes: func(ctx context.Context, id string) (bool, error) {
			ev, err := a.Catalog.Get(ctx, id)
			return ev.StaticCodesAccepted(), err
		}})
	a.Orders = orders.NewService(a.Stores.Orders, a.Providers, flowRef{a}, orders.ServiceOptions{Clock: a.Clock, Logger: a.Log,
		Tickets: a.Tickets,
		MaxTickets: func(ctx context.Context, id string) (int, error) {
			ev, err := a.Catalog.Get(ctx, id)
			return ev.MaxTicketsPerAccount, err
		},
		EventCancelled: func(ctx context.Context, id string) (bool, error) {
			ev, err := a.Catalog.Get(ctx, id)
			return ev.Cancelled != nil, err
		}})
	a.Transfers = transfers.NewService(a.Stores.Transfers, a.Tickets, a.Inventory, eventLimits{a}, transfers.Options{Clock: a.Clock, Logger: a.Log,
		Notifier: transferMail{a}})
	a.Webhooks = checkout.NewWebhooks(a.Providers, a.Stores.ProviderEvents, a.Orders, a.Clock, a.Log)
	a.Tasks = &workflow.Tasks{Orders: a.Orders, Inventory: a.Inventory, Store: a.Stores.Orders, Payments: a.Providers,
		Providers: a.Providers.Names(), Tickets: ticketIssuer{a}, Log: a.Log, Metrics: a.Metrics}
	a.Reconciler = reconcile.New(a.Stores.Reconcile, a.Catalog, a.Inventory, a.Orders, a.Providers, ticketIssuer{a},
		reconcile.Options{Clock: a.Clock, Logger: a.Log, Providers: a.Providers.Names(), Tickets: a.Tickets, Metrics: a.Metrics})
	if cfg.StateMachineArn != "" {
		if o.Connect.Flow == nil {
			return errNotLinked("STATE_MACHINE_ARN", "the order workflow")
		}
		if a.Flow, err = o.Connect.Flow(ctx, cfg); err != nil {
			return err
		}
	}
	return nil
}

// eventLimits reads an event's tickets-per-account limit for transfers.
type eventLimits struct{ a *App }

func (e eventLimits) MaxTicketsPerAccount(ctx context.Context, id string) (int, error) {
	ev, err := e.a.Catalog.Get(ctx, id)
	return ev.MaxTicketsPerAccount, err
}

// Task returns the workflow task function name as a JSON function.
func (a *App) Task(name string) (func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error), error) {
	h, ok := a.Tasks.Handlers()[name]
	if !ok {
		return nil, fmt.Errorf("no workflow task %q", name)
	}
	return h, nil
}
