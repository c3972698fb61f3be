// Package storetest is the conformance suite of the store ports (the
// Store interfaces of catalog, inventory, orders, tickets, waitroom,
// health, ratelimit, reconcile, checkout's provider events and the
// organizer report, presale codes, ticket transfers): one Run function per port, each given a factory of
// fresh stores over one empty table. internal/dynamo runs every suite
// against the embedded DynamoDB, or any endpoint AWS_ENDPOINT_URL_DYNAMODB
// names.
//
// The suites assert what the ports promise to their callers: conditional
// writes that lose say so (duplicate create, wrong-state transition,
// a seat already held), reads of absent items say not found, idempotent
// writes happen once, and queries return what was written.
package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/checkout"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/handlers"
	"github.com/stararena/stararena/internal/health"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/presale"
	"github.com/stararena/stararena/internal/ratelimit"
	"github.com/stararena/stararena/internal/reconcile"
	"github.com/stararena/stararena/internal/tickets"
	"github.com/stararena/stararena/internal/transfers"
	"github.com/stararena/stararena/internal/waitroom"
)

// Stores are the ports under test, all over the same (fresh) table: a
// suite sets up through one port what it checks through another (an
// order store test needs a hold).
type Stores struct {
	Catalog        catalog.Store
	Inventory      inventory.Store
	Orders         orders.Store
	Tickets        tickets.Store
	Waitroom       waitroom.Store
	Health         health.Store
	RateLimit      ratelimit.Store
	Reports        handlers.ReportStore
	ProviderEvents checkout.EventStore
	Reconcile      reconcile.Store
	Presale        presale.Store
	Transfers      transfers.Store
	// NotIsolated, when set, says why the server under test does not apply
	// concurrent conditional writes to one item one at a time, as DynamoDB
	// does; the cases that race many writers on one item then skip.
	NotIsolated string
}

// Now is the instant the suites' data is stamped with.
var Now = time.Date(2027, 5, 1, 10, 0, 0, 0, time.UTC)

// RunAll runs every port's suite.
func RunAll(t *testing.T, newStores func(t *testing.T) Stores) {
	t.Run("Catalog", func(t *testing.T) { RunCatalogStore(t, newStores) })
	t.Run("Inventory", func(t *testing.T) { RunInventoryStore(t, newStores) })
	t.Run("Orders", func(t *testing.T) { RunOrderStore(t, newStores) })
	t.Run("Tickets", func(t *testing.T) { RunTicketStore(t, newStores) })
	t.Run("Waitroom", func(t *testing.T) { RunWaitroomStore(t, newStores) })
	t.Run("Health", func(t *testing.T) { RunHealthStore(t, newStores) })
	t.Run("RateLimit", func(t *testing.T) { RunRateLimitStore(t, newStores) })
	t.Run("Reports", func(t *testing.T) { RunReportStore(t, newStores) })
	t.Run("ProviderEvents", func(t *testing.T) { RunProviderEventStore(t, newStores) })
	t.Run("Reconcile", func(t *testing.T) { RunReconcileStore(t, newStores) })
	t.Run("Presale", func(t *testing.T) { RunPresaleStore(t, newStores) })
	t.Run("Transfers", func(t *testing.T) { RunTransferStore(t, newStores) })
}

// The error kinds the ports report, in one place.

// isConflict: the write was refused because the item is not in the state
// the caller asked for (it exists, its condition failed, or a race was lost).
func isConflict(err error) bool {
	k := fault.KindOf(err)
	return err != nil && (k == fault.Exists || k == fault.ConditionFailed || k == fault.Contention)
}

func isNotFound(err error) bool { return fault.Is(err, fault.NotFound) }

// seatsTaken reports a hold refused because of these seats.
func seatsTaken(err error, seats ...string) bool {
	var c *inventory.Conflict
	if !errors.As(err, &c) {
		return false
	}
	for _, s := range seats {
		if !slices.Contains(c.Seats, s) {
			return false
		}
	}
	return true
}

// limitReached reports a hold refused by the per-account limit.
func limitReached(err error) bool {
	var c *inventory.Conflict
	return errors.As(err, &c) && c.Limit
}

// admissionUsed reports a hold refused because its admission was used.
func admissionUsed(err error) bool {
	var c *inventory.Conflict
	return errors.As(err, &c) && c.Admission
}

// event is a sale with a reserved section A (rows 1 and 2, 5 seats each)
// and a GA section of 20.
func event(t *testing.T, id string, startsAt time.Time) catalog.Event {
	t.Helper()
	p, ga := int64(5000), 20
	req := catalog.CreateEventRequest{
		Name: "Show " + id, Venue: "Hall", StartsAt: startsAt.Format(time.RFC3339), SaleOpensAt: Now.Format(time.RFC3339),
		Sections: []catalog.SectionRequest{
			{ID: "A", PriceCents: &p, Currency: "EUR", Rows: []catalog.Row{{ID: "1", Seats: 5}, {ID: "2", Seats: 5}}},
			{ID: "GA", PriceCents: &p, Currency: "EUR", Capacity: &ga},
		},
	}
	ev, err := req.Event()
	if err != nil {
		t.Fatal(err)
	}
	ev.ID, ev.CreatedAt = id, Now
	return ev
}

// mustEvent creates event id in st.
func mustEvent(t *testing.T, st Stores, id string) catalog.Event {
	t.Helper()
	ev := event(t, id, Now.Add(30*24*time.Hour))
	if err := st.Catalog.CreateEvent(context.Background(), ev); err != nil {
		t.Fatalf("create event %s: %v", id, err)
	}
	return ev
}

// seatOrder is a pending order for reserved seats.
func seatOrder(id, eventID, account string, seats ...string) orders.Order {
	return orders.Order{ID: id, EventID: eventID, Account: account, Status: orders.PendingPayment, Section: "A",
		Seats: seats, AmountCents: 5000 * int64(len(seats)), Currency: "EUR",
		CreatedAt: Now, UpdatedAt: Now, ExpiresAt: Now.Add(15 * time.Minute), Version: 1, AdmissionID: "adm-" + id}
}

// holdPlan holds o's seats with a limit of max places per account.
func holdPlan(o orders.Order, limit int) inventory.HoldPlan {
	return inventory.HoldPlan{Order: o, Seats: o.Seats, GA: o.GATakes, LimitMax: limit,
		AdmissionID: o.AdmissionID, AdmissionExpires: Now.Add(time.Minute)}
}

// mustHold holds o (reserved seats or GA takes) and returns it as stored.
func mustHold(t *testing.T, st Stores, o orders.Order) orders.Order {
	t.Helper()
	ctx := context.Background()
	if err := st.Inventory.CreateHold(ctx, holdPlan(o, 10)); err != nil {
		t.Fatalf("hold %s: %v", o.ID, err)
	}
	got, err := st.Inventory.GetOrder(ctx, o.ID)
	if err != nil {
		t.Fatalf("read order %s: %v", o.ID, err)
	}
	return got
}

// seatState reads one seat through the inventory port.
func seatState(t *testing.T, st Stores, eventID, seat string) inventory.SeatState {
	t.Helper()
	m, err := st.Inventory.SeatHolders(context.Background(), eventID, []string{seat})
	if err != nil {
		t.Fatal(err)
	}
	return m[seat]
}

// mustOrder reads an order through the order port.
func mustOrder(t *testing.T, st Stores, id string) orders.Order {
	t.Helper()
	o, err := st.Orders.GetOrder(context.Background(), id)
	if err != nil {
		t.Fatalf("read order %s: %v", id, err)
	}
	return o
}

// waitFor polls an index read until it returns want or 10 s pass, and
// returns what it read last: global secondary indexes are eventually
// consistent on DynamoDB (the embedded server answers at once).
func waitFor(t *testing.T, read func() []string, want []string) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := read()
		if slices.Equal(got, want) || time.Now().After(deadline) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}
