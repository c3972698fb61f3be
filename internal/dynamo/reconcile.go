package dynamo

import (
	"context"
	"time"

	"github.com/stararena/stararena/internal/orders"
)

// The scheduled reconciler reads what is open or recently changed, never
// every seat: held seats through their markers' gsi2 entries, orders through
// the work index (open ones by deadline, finished ones by when they
// finished). The full sweep of one event reads every seat and order.

// HeldSeatsDue returns the ids of an event's seats that are HELD with a
// hold expiring before t, from the held markers in gsi2 (eventually
// consistent: the reconciler re-reads each seat before acting).
func (st *ReconcileStore) HeldSeatsDue(ctx context.Context, eventID string, t time.Time) ([]string, error) {
	var out []string
	for shard := range workShards {
		err := st.queryGSI2(ctx, "held seats", "gsi2pk = :p AND gsi2sk < :t",
			item{":p": s(heldPK(eventID, shard)), ":t": s(workBefore(t))}, func(it item) error {
				out = append(out, str(it, "seatId"))
				return nil
			})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FinishedOrders returns an event's orders that reached a terminal status
// at or after since, from the work index's done partitions (eventually
// consistent).
func (st *ReconcileStore) FinishedOrders(ctx context.Context, eventID string, since time.Time) ([]orders.Order, error) {
	var out []orders.Order
	for shard := range workShards {
		err := st.queryOrders(ctx, "finished orders", "gsi2pk = :p AND gsi2sk >= :t",
			item{":p": s(donePK(eventID, shard)), ":t": s(workBefore(since))}, &out)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// TicketManifests reports which of the orders have a ticket manifest (the
// manifest is written in the same transaction as the tickets, so it stands
// for all of them). Strongly consistent.
func (st *ReconcileStore) TicketManifests(ctx context.Context, orderIDs []string) (map[string]bool, error) {
	keys := make([]item, len(orderIDs))
	for i, id := range orderIDs {
		keys[i] = TicketManifestKey(id)
	}
	items, err := st.batchGet(ctx, keys, "pk", nil, true)
	if err != nil {
		return nil, classify("ticket manifests", err)
	}
	out := make(map[string]bool, len(items))
	for _, it := range items {
		out[str(it, "pk")[len(PrefixOrder):]] = true
	}
	return out, nil
}

// GACounts reads a GA section's counters summed over its shards, strongly
// consistent.
func (st *ReconcileStore) GACounts(ctx context.Context, eventID, section string, shards int) (available, held, sold int, err error) {
	return st.gaTotals(ctx, eventID, section, shards, true)
}
