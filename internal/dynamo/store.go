package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stararena/stararena/internal/checkout"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/mail"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/ratelimit"
	"github.com/stararena/stararena/internal/reconcile"
	"github.com/stararena/stararena/internal/waitroom"
)

// base is what every store shares: the client, the one table (keys.go
// describes its items) and the batch helpers (batch.go).
type base struct {
	db    *dynamodb.Client
	table string
	clock clock.Clock
}

// One store per port, all over the same table. Each is a plain value over
// base, so building one is free and a process holds them all (Stores).
type (
	// CatalogStore holds events, their seats and GA shards, and the
	// availability projections.
	CatalogStore struct{ base }
	// InventoryStore holds holds: seats, GA shards, limits and the orders
	// a hold creates.
	InventoryStore struct {
		base
		// naming: whether the server names every failed condition of a
		// cancelled hold (holdConflict).
		naming *reasonNaming
	}
	// OrderStore moves orders through their states and records payments.
	OrderStore struct{ base }
	// TicketStore holds tickets, manifests, revocations and scans.
	TicketStore struct{ base }
	// WaitroomStore holds the queue state, places, counters and stats.
	WaitroomStore struct{ base }
	// HealthStore holds the purchase path's health windows.
	HealthStore struct{ base }
	// RateLimitStore holds fixed-window rate-limit counters.
	RateLimitStore struct{ base }
	// ReportStore reads an event's orders and last reconciliation report
	// for the organizer.
	ReportStore struct{ base }
	// ProviderEventStore records payment-provider events once.
	ProviderEventStore struct{ base }
	// ReconcileStore is what the reconciler reads and repairs.
	ReconcileStore struct{ base }
	// TenancyStore holds organizations' grants and audit logs.
	TenancyStore struct{ base }
	// MailStore holds the markers that send each message once.
	MailStore struct{ base }
	// PresaleStore holds presale codes and who redeemed them.
	PresaleStore struct{ base }
	// WaitlistStore holds the waiting lists after sell-out.
	WaitlistStore struct{ base }
	// CancellationStore holds the cancellation saga's progress and reads
	// the event's orders for it.
	CancellationStore struct{ base }
)

var (
	_ checkout.EventStore = (*ProviderEventStore)(nil)
	_ reconcile.Store     = (*ReconcileStore)(nil)
	_ ratelimit.Store     = (*RateLimitStore)(nil)
	_ waitroom.Store      = (*WaitroomStore)(nil)
	_ mail.MarkerStore    = (*MailStore)(nil)
)

// Reads that more than one port needs are written once, by the store that
// owns the item, and the others delegate.

// GetOrder reads an order (strongly consistent); see OrderStore.GetOrder.
func (st *InventoryStore) GetOrder(ctx context.Context, id string) (orders.Order, error) {
	return (&OrderStore{st.base}).GetOrder(ctx, id)
}

// GetOrder reads an order (strongly consistent); see OrderStore.GetOrder.
func (st *ReconcileStore) GetOrder(ctx context.Context, id string) (orders.Order, error) {
	return (&OrderStore{st.base}).GetOrder(ctx, id)
}

// GetPayment reads a payment record; see OrderStore.GetPayment.
func (st *ReconcileStore) GetPayment(ctx context.Context, provider, paymentID string) (orders.PaymentRecord, bool, error) {
	return (&OrderStore{st.base}).GetPayment(ctx, provider, paymentID)
}

// SeatHolders reads seats' states and holders; see
// InventoryStore.SeatHolders.
func (st *ReconcileStore) SeatHolders(ctx context.Context, eventID string, ids []string) (map[string]inventory.SeatState, error) {
	return (&InventoryStore{base: st.base}).SeatHolders(ctx, eventID, ids)
}

// Stores are the stores of every port over one table.
type Stores struct {
	Catalog        *CatalogStore
	Inventory      *InventoryStore
	Orders         *OrderStore
	Tickets        *TicketStore
	Waitroom       *WaitroomStore
	Health         *HealthStore
	RateLimit      *RateLimitStore
	Reports        *ReportStore
	ProviderEvents *ProviderEventStore
	Reconcile      *ReconcileStore
	Tenancy        *TenancyStore
	Mail           *MailStore
	Presale        *PresaleStore
	Waitlist       *WaitlistStore
	Cancellation   *CancellationStore
	Transfers      *TransferStore
}

// NewStores returns the stores on table; a nil clock is the system clock.
func NewStores(db *dynamodb.Client, table string, c clock.Clock) Stores {
	if c == nil {
		c = clock.System{}
	}
	b := base{db: db, table: table, clock: c}
	return Stores{
		Catalog:        &CatalogStore{b},
		Inventory:      &InventoryStore{base: b, naming: &reasonNaming{}},
		Orders:         &OrderStore{b},
		Tickets:        &TicketStore{b},
		Waitroom:       &WaitroomStore{b},
		Health:         &HealthStore{b},
		RateLimit:      &RateLimitStore{b},
		Reports:        &ReportStore{b},
		ProviderEvents: &ProviderEventStore{b},
		Reconcile:      &ReconcileStore{b},
		Tenancy:        &TenancyStore{b},
		Mail:           &MailStore{b},
		Presale:        &PresaleStore{b},
		Waitlist:       &WaitlistStore{b},
		Cancellation:   &CancellationStore{b},
		Transfers:      &TransferStore{b},
	}
}
