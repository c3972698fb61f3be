package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/fault"
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

// The scheduled reconciler visits only the events that have work for it
// (ADR 14, "Reconciler work follows activity"): those on sale, and those
// with a due mark (DUE#<event>, listed in gsi2 under DUEEVENTS). Every write
// that can give an event work outside its sale window marks it first: a
// comp, an organizer's or a cancellation's refund, a late payment that
// reopens an order. The reconciler marks the events it finds on sale, so
// the orders a sale leaves open keep it visiting after the sale stops,
// and clears a mark only on the condition that it still carries the time
// the run read: a mark written meanwhile is never lost.

// dueRefresh is how recent a mark may be and still be left as it is: a
// refund pass writes it once per dueRefresh rather than once per order.
// reconcile.DueQuiet is far longer, so the order written after a mark left
// as it was is in the indexes long before the mark may be cleared.
const dueRefresh = 30 * time.Second

// dueTime writes a mark's time at a fixed width, so that the condition's
// string comparison orders times as the clock does.
func dueTime(t time.Time) types.AttributeValue {
	return s(t.UTC().Format("2006-01-02T15:04:05.000000000Z07:00"))
}

// markDue marks eventID as having reconciler work at now, unless a mark
// at most dueRefresh old is there already. A put, never an update: the
// embedded emulator indexes puts and deletes correctly, not updates that
// add index attributes.
func (st *base) markDue(ctx context.Context, eventID string, now time.Time) error {
	it := dueKey(eventID)
	it["eventId"], it["markedAt"] = s(eventID), dueTime(now)
	it["gsi2pk"], it["gsi2sk"] = s(dueEventsPK), s(esc(eventID))
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.table), Item: it,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR markedAt < :fresh"),
		ExpressionAttributeValues: item{":fresh": dueTime(now.Add(-dueRefresh))}})
	if kindOf(err) == fault.ConditionFailed {
		return nil // marked moments ago
	}
	return classify("mark event "+eventID+" due", err)
}

// MarkDue marks an event as having reconciler work (see markDue).
func (st *ReconcileStore) MarkDue(ctx context.Context, eventID string, now time.Time) error {
	return st.markDue(ctx, eventID, now)
}

// DueEvents lists the marked events with the time of their mark: one
// query, however many events there are (eventually consistent: a mark
// written just now may show up in the next run, and the sale window rule
// covers the purchase path, which never marks).
func (st *ReconcileStore) DueEvents(ctx context.Context) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	err := st.queryGSI2(ctx, "due events", "gsi2pk = :p", item{":p": s(dueEventsPK)}, func(it item) error {
		at, err := time.Parse(time.RFC3339Nano, str(it, "markedAt"))
		if err != nil {
			return fmt.Errorf("due mark of %s: %w", str(it, "eventId"), err)
		}
		out[str(it, "eventId")] = at
		return nil
	})
	return out, err
}

// ClearDue removes an event's mark if it still carries markedAt (a
// transaction of one delete, so the reconciler's writes stay transactions
// and declared puts). fault.ConditionFailed: the event was marked again.
func (st *ReconcileStore) ClearDue(ctx context.Context, eventID string, markedAt time.Time) error {
	_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{
		Delete: &types.Delete{TableName: aws.String(st.table), Key: dueKey(eventID),
			ConditionExpression:       aws.String("markedAt = :m"),
			ExpressionAttributeValues: item{":m": dueTime(markedAt)}},
	}}})
	if codes, ok := txReasons(err); ok {
		return fault.E("clear due mark of "+eventID, txKind(codes), err)
	}
	return classify("clear due mark of "+eventID, err)
}

// OpenWork reports whether the event has any open order or held seat,
// due or not: one item at most from each work and held partition.
func (st *ReconcileStore) OpenWork(ctx context.Context, eventID string) (bool, error) {
	for shard := range workShards {
		for _, pk := range []string{WorkPK(eventID, shard), heldPK(eventID, shard)} {
			out, err := st.db.Query(ctx, &dynamodb.QueryInput{
				TableName: aws.String(st.table), IndexName: aws.String(gsi2), Limit: aws.Int32(1),
				KeyConditionExpression:    aws.String("gsi2pk = :p"),
				ExpressionAttributeValues: item{":p": s(pk)},
			})
			if err != nil {
				return false, classify("open work", err)
			}
			if len(out.Items) > 0 {
				return true, nil
			}
		}
	}
	return false, nil
}

// PaymentRecords batch-reads payment records of one provider
// (consistent); ids without a record are left out.
func (st *ReconcileStore) PaymentRecords(ctx context.Context, provider string, ids []string) (map[string]orders.PaymentRecord, error) {
	keys := make([]item, len(ids))
	for i, id := range ids {
		keys[i] = paymentKey(provider, id)
	}
	items, err := st.batchGet(ctx, keys, "", nil, true)
	if err != nil {
		return nil, classify("payment records", err)
	}
	out := make(map[string]orders.PaymentRecord, len(items))
	for _, it := range items {
		r := decodePayment(provider, it)
		out[r.PaymentID] = r
	}
	return out, nil
}
