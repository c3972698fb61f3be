package app

import (
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/stararena/stararena/internal/admission"
	"github.com/stararena/stararena/internal/botlevel"
	"github.com/stararena/stararena/internal/cancellation"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/checkout"
	"github.com/stararena/stararena/internal/health"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/mail"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/presale"
	"github.com/stararena/stararena/internal/projector"
	"github.com/stararena/stararena/internal/reconcile"
	"github.com/stararena/stararena/internal/seatmgmt"
	"github.com/stararena/stararena/internal/tenancy"
	"github.com/stararena/stararena/internal/tickets"
	"github.com/stararena/stararena/internal/topology"
	"github.com/stararena/stararena/internal/transfers"
	"github.com/stararena/stararena/internal/waitlist"
	"github.com/stararena/stararena/internal/waitroom"
	"github.com/stararena/stararena/internal/workflow"
)

// Each service is built here, by its accessor, once, on first use: the one
// place that builds it. New calls every accessor (buildAll), so the local
// stack, the fixtures and the tools get every service as before; a Lambda
// function calls only those its handler uses, and they call the accessors
// of their collaborators, so its binary links no other service and no
// other function's handler (TestEachFunctionLinksOnlyWhatItUses). The
// adapters between services (orgLookup, ticketIssuer, transferMail…) call
// the accessors too, never the fields, so a collaborator a function needs
// only now and then is built when it first does. The configuration's
// fallible parts (keyrings, providers, connectors) are read at start-up
// in New and FromEnv, before any service.

// builds guards each accessor's one construction. sync.Once, not a nil
// check: the reconciler's schedule runs its repairs and its cancellations
// side by side.
type builds struct {
	catalog, projector, tenancy, presale, seats, tokens, waitlist, holdHealth, waitroom, gate, inventory,
	tickets, orders, transfers, webhooks, payLimit, tasks, reconciler, cancellation, botLevel, mailer sync.Once
}

// buildAll builds every service (New).
func (a *App) buildAll() {
	a.holdHook = a.afterHold
	a.catalogSvc()
	a.projectorSvc()
	a.tenancySvc()
	a.presaleSvc()
	a.seatsSvc()
	a.tokensSvc()
	a.waitlistSvc()
	a.holdHealthSvc()
	a.waitroomSvc()
	a.gateSvc()
	a.inventorySvc()
	a.ticketsSvc()
	a.ordersSvc()
	a.transfersSvc()
	a.webhooksSvc()
	a.tasksSvc()
	a.reconcilerSvc()
	a.cancellationSvc()
	a.botLevelSvc()
	a.mailerSvc()
}

func (a *App) catalogSvc() *catalog.Service {
	a.built.catalog.Do(func() {
		a.Catalog = catalog.NewService(a.Stores.Catalog, catalog.Options{Clock: a.Clock, Logger: a.Log, Freshness: a.Config.Freshness,
			Repair: a.Config.AvailabilityRepair})
		a.HotEvents = catalog.NewCachedEvents(a.Catalog, a.Config.EventCacheTTL, a.Clock)
	})
	return a.Catalog
}

// hotEvents is the instance's copy of event documents (App.HotEvents).
func (a *App) hotEvents() *catalog.CachedEvents {
	a.catalogSvc()
	return a.HotEvents
}

func (a *App) projectorSvc() *projector.Projector {
	a.built.projector.Do(func() { a.Projector = projector.New(a.Stores.Catalog, a.hotEvents(), a.Clock, a.Log) })
	return a.Projector
}

func (a *App) tenancySvc() *tenancy.Service {
	a.built.tenancy.Do(func() { a.Tenancy = tenancy.NewService(a.Stores.Tenancy, orgLookup{a}, a.Clock) })
	return a.Tenancy
}

func (a *App) presaleSvc() *presale.Service {
	a.built.presale.Do(func() { a.Presale = presale.NewService(a.Stores.Presale, a.catalogSvc(), a.Clock, a.Log) })
	return a.Presale
}

func (a *App) seatsSvc() *seatmgmt.Service {
	a.built.seats.Do(func() {
		a.Seats = seatmgmt.NewService(a.Stores.Inventory, a.catalogSvc(), a.Log)
		a.Seats.WithComps(seatmgmt.CompOptions{Store: a.Stores.Inventory, Tickets: ticketIssuer{a}, Clock: a.Clock,
			NewID: uuid.NewString, Reports: a.Stores.Reports})
	})
	return a.Seats
}

func (a *App) tokensSvc() *admission.Tokens {
	a.built.tokens.Do(func() { a.Tokens = admission.NewTokensFrom(a.admissionKeys, a.Config.AdmissionTTL, a.Clock) })
	return a.Tokens
}

func (a *App) waitlistSvc() *waitlist.Service {
	a.built.waitlist.Do(func() {
		a.Waitlist = waitlist.NewService(a.Stores.Waitlist, a.catalogSvc(), a.tokensSvc(), mailQueueRef{a}, a.Clock, a.Log)
	})
	return a.Waitlist
}

func (a *App) holdHealthSvc() *health.Recorder {
	a.built.holdHealth.Do(func() {
		a.HoldHealth = health.NewRecorder(a.Stores.Health, health.RecorderOptions{Clock: a.Clock, Logger: a.Log})
	})
	return a.HoldHealth
}

func (a *App) waitroomSvc() *waitroom.Service {
	a.built.waitroom.Do(func() { a.Waitroom = a.newWaitroom() })
	return a.Waitroom
}

// gateSvc is the admission gate. It reads the event on every admission
// request: the sale's state from the instance's copy, as holds do. A token
// issued within the TTL of a pause or cancellation makes no hold: the hold
// checks the sale again, and the cancellation saga waits out the TTL (its
// Settle).
func (a *App) gateSvc() *admission.Gate {
	a.built.gate.Do(func() {
		a.Gate = admission.NewGate(a.hotEvents(), a.tokensSvc(), admission.GateOptions{
			Clock:    a.Clock,
			Queue:    a.waitroomSvc(),
			Limiter:  a.limiter("admission", AdmissionLimit, false),
			Presale:  a.presaleSvc(),
			Waitlist: a.waitlistSvc(),
		})
	})
	return a.Gate
}

func (a *App) inventorySvc() *inventory.Service {
	a.built.inventory.Do(func() {
		// Only where holds are served (holdHook set): the others
		// release and read.
		var places inventory.Places
		if a.holdHook != nil {
			places = holdPlaces{a}
		}
		a.Inventory = inventory.NewService(a.Stores.Inventory, a.hotEvents(), a.tokensSvc(), inventory.Options{Clock: a.Clock, Logger: a.Log,
			OnHold: a.holdHook, Limiter: a.limiter("holds", limits.HoldsPerMinute, true), Timings: a.opts.HoldTimings, Places: places})
	})
	return a.Inventory
}

func (a *App) ticketsSvc() *tickets.Service { a.built.tickets.Do(a.buildTickets); return a.Tickets }

func (a *App) ordersSvc() *orders.Service { a.built.orders.Do(a.buildOrders); return a.Orders }

func (a *App) transfersSvc() *transfers.Service {
	a.built.transfers.Do(func() {
		a.Transfers = transfers.NewService(a.Stores.Transfers, a.ticketsSvc(), a.inventorySvc(), eventLimits{a},
			transfers.Options{Clock: a.Clock, Logger: a.Log, Notifier: transferMail{a}})
	})
	return a.Transfers
}

// paymentLimit is the payment request limit of this instance's orders
// function: one per App, as its memory of the orders it let through
// uncounted must outlive a rebuild of the function's handler.
func (a *App) paymentLimit() *checkout.PaymentLimit {
	a.built.payLimit.Do(func() {
		a.payLimit = checkout.NewPaymentLimit(a.limiter("payments", limits.PaymentsPerMinute, false))
	})
	return a.payLimit
}

func (a *App) webhooksSvc() *checkout.Webhooks {
	a.built.webhooks.Do(func() {
		a.Webhooks = checkout.NewWebhooks(a.Providers, a.Stores.ProviderEvents, a.ordersSvc(), a.Clock, a.Log)
	})
	return a.Webhooks
}

func (a *App) tasksSvc() *workflow.Tasks {
	a.built.tasks.Do(func() {
		a.Tasks = &workflow.Tasks{Orders: a.ordersSvc(), Inventory: a.inventorySvc(), Store: a.Stores.Orders, Payments: a.Providers,
			Providers: a.Providers.Names(), Tickets: ticketIssuer{a}, Log: a.Log, Metrics: a.Metrics, Mail: mailQueueRef{a}}
	})
	return a.Tasks
}

func (a *App) reconcilerSvc() *reconcile.Service {
	a.built.reconciler.Do(func() {
		a.Reconciler = reconcile.New(a.Stores.Reconcile, a.catalogSvc(), a.inventorySvc(), a.ordersSvc(), a.Providers, ticketIssuer{a},
			reconcile.Options{Clock: a.Clock, Logger: a.Log, Providers: a.Providers.Names(), Tickets: a.ticketsSvc(), Metrics: a.Metrics})
	})
	return a.Reconciler
}

func (a *App) cancellationSvc() *cancellation.Service {
	a.built.cancellation.Do(func() {
		a.Cancellation = cancellation.New(a.Stores.Cancellation, a.catalogSvc(), a.ordersSvc(), a.inventorySvc(), mailQueueRef{a},
			cancellation.Options{Clock: a.Clock, Logger: a.Log, RefundsPerSecond: a.Config.CancelRefundsPerSecond,
				Budget: a.opts.CancelBudget, Settle: a.opts.CancelSettle})
	})
	return a.Cancellation
}

func (a *App) botLevelSvc() *botlevel.Service {
	a.built.botLevel.Do(func() { a.BotLevel = botlevel.New(a.edge) })
	return a.BotLevel
}

// mailerSvc is the mailer. It reads the event itself for notices, not the
// instance's copy: whether a notice still stands (the event cancelled, a
// later postponement) is decided on it, and a copy older than the change
// would drop a notice of that very change. A confirmation decides nothing
// on the event (its tickets say whether it is still due), so it renders
// from the copy, as its ticket codes' expiry already does.
func (a *App) mailerSvc() *mail.Mailer {
	a.built.mailer.Do(func() {
		lease := time.Minute
		for _, q := range a.Topology.Queues {
			if q.Name == topology.MailQueue {
				lease = q.VisibilityTimeout
			}
		}
		a.Mailer = &mail.Mailer{Markers: a.Stores.Mail, Offers: a.waitlistSvc(), Transfers: transferMail{a}, Orders: a.Stores.Orders,
			Events: a.catalogSvc(), RecentEvents: a.hotEvents(), Tickets: a.ticketsSvc(), Sender: a.sender, QR: a.opts.Connect.QR, SiteURL: a.Config.SiteURL,
			Lease: lease, Clock: a.Clock, Log: a.Log}
	})
	return a.Mailer
}
