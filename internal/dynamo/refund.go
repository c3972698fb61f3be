package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/topology"
)

// Refund markers (keys.go): the reconciler lists an event's recent organizer refunds from these
// (RecentRefunds) to make sure their tickets stay revoked, without reading
// every finished order. Sharded like the work index so that refunding a
// whole event at once does not pile onto one partition.
// refundMarkerTTL only garbage-collects the markers: RecentRefunds selects
// by time, never by TTL (which deletes "within 48 hours").
const refundMarkerTTL = 30 * 24 * time.Hour

// SeatsSoldTo returns those of seats that are SOLD to orderID now, in the
// given order (strongly consistent).
func (st *OrderStore) SeatsSoldTo(ctx context.Context, eventID, orderID string, seats []string) ([]string, error) {
	if len(seats) == 0 {
		return nil, nil
	}
	holders, err := st.readSeats(ctx, eventID, seats, true, true)
	if err != nil {
		return nil, classify(fmt.Sprintf("seats of order %s", orderID), err)
	}
	var out []string
	for _, id := range seats {
		if h := holders[id]; h.State == catalog.SeatSold && h.OrderID == orderID {
			out = append(out, id)
		}
	}
	return out, nil
}

// BeginRefund is one TransactWriteItems: the order PAID, ISSUED or
// ISSUE_FAILED @version → REFUND_PENDING with set (work index: due now, so
// an unfinished refund is the reconciler's after its grace), and the
// REFUND# marker. The order's places stay sold: ReleaseRefundedPlaces puts
// them back on sale once the tickets are revoked. A failed order condition
// is CONFLICT (read again and retry).
func (st *OrderStore) BeginRefund(ctx context.Context, o orders.Order, set map[string]any, now time.Time) error {
	up, err := orderUpdate(o, []orders.Status{orders.Paid, orders.Issued, orders.IssueFailed}, orders.RefundPending, set, now)
	if err != nil {
		return err
	}
	up.TableName = aws.String(st.table)
	// A refund is the reconciler's work (its completion, its tickets'
	// revocation) whenever it happens: mark the event first.
	if err := st.markDue(ctx, o.EventID, now); err != nil {
		return err
	}
	marker := refundMarkerKey(o, now)
	marker["orderId"], marker[topology.TTLAttribute] = s(o.ID), n(now.Add(refundMarkerTTL).Unix())
	items := []types.TransactWriteItem{{Update: up}, {Put: &types.Put{TableName: aws.String(st.table), Item: marker}}}
	return st.refundTx(ctx, "begin refund of order "+o.ID, o, items, []string{"order", "marker"})
}

// ReleaseRefundedPlaces is one TransactWriteItems, items in this order:
//
//  1. the order REFUND_PENDING @version with refundHoldsPlaces → cleared;
//  2. each of seats SOLD to the order → AVAILABLE, orderId and account
//     emptied;
//  3. each GA take: sold >= q → sold - q, available + q;
//  4. the account's limit: count >= q → count - q (not for a comp, which
//     never counted).
//
// The order's flag makes the release happen once however many callers
// complete the refund: the GA and limit counts have no other guard. A
// failed order condition or a seat or shard that changed is CONFLICT (read
// again); a limit below the order's places is drift that a retry cannot
// fix, returned as an error.
func (st *OrderStore) ReleaseRefundedPlaces(ctx context.Context, o orders.Order, seats []string, now time.Time) error {
	up, err := orderUpdate(o, []orders.Status{orders.RefundPending}, orders.RefundPending, map[string]any{"refundHoldsPlaces": false}, now)
	if err != nil {
		return err
	}
	up.TableName = aws.String(st.table)
	up.ConditionExpression = aws.String(*up.ConditionExpression + " AND refundHoldsPlaces = :holds")
	up.ExpressionAttributeValues[":holds"] = &types.AttributeValueMemberBOOL{Value: true}
	items := []types.TransactWriteItem{{Update: up}}
	kinds := []string{"order"}
	// One SET clause, no REMOVE: the embedded minidyn supports a single
	// clause per update expression and ignores the REMOVE of "SET ...
	// REMOVE orderId", which would leave the seat naming the refunded
	// order there. An empty orderId reads as "no order" everywhere (as
	// ReleaseOrphanSeat leaves a seat).
	for _, seat := range seats {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName:                aws.String(st.table),
			Key:                      SeatKey(o.EventID, seat),
			ConditionExpression:      aws.String("#st = :sold AND orderId = :oid"),
			UpdateExpression:         aws.String("SET #st = :avail, orderId = :none, account = :none, expiresAt = :none, version = version + :one"),
			ExpressionAttributeNames: map[string]string{"#st": "state"},
			ExpressionAttributeValues: item{":sold": s(catalog.SeatSold), ":avail": s(catalog.SeatAvailable),
				":oid": s(o.ID), ":none": s(""), ":one": n(1)},
		}})
		kinds = append(kinds, "seat")
	}
	for _, t := range o.GATakes {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName:                 aws.String(st.table),
			Key:                       gaShardKey(o.EventID, o.Section, t.Shard),
			ConditionExpression:       aws.String("sold >= :q"),
			UpdateExpression:          aws.String("SET available = available + :q, sold = sold - :q"),
			ExpressionAttributeValues: item{":q": n(int64(t.Quantity))},
		}})
		kinds = append(kinds, "shard")
	}
	if !o.Comp {
		// A comp never counted against its recipient's limit (ADR 30).
		items = append(items, st.limitCredit(o))
		kinds = append(kinds, "limit")
	}
	return st.refundTx(ctx, "release the places of refunded order "+o.ID, o, items, kinds)
}

// refundTx runs a refund transaction whose items are of kinds. The order
// or one of its places changed since the caller read them: a lost race,
// read again. A limit count below the order's places is drift no retry
// repairs.
func (st *OrderStore) refundTx(ctx context.Context, op string, o orders.Order, items []types.TransactWriteItem, kinds []string) error {
	_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err == nil {
		return nil
	}
	codes, ok := txReasons(err)
	if !ok {
		return classify(op, err)
	}
	for i, code := range codes {
		if k, _ := reasonKind(code); k != fault.ConditionFailed || i >= len(kinds) {
			continue
		}
		if kinds[i] == "limit" {
			return fmt.Errorf("%s: account %s's limit count is below the order's %d places", op, o.Account, o.Places())
		}
		return fault.Errorf(op, fault.Contention, "a %s of the order changed: %w", kinds[i], err)
	}
	return fault.E(op, txKind(codes), err)
}

// RecentRefunds lists the ids of an event's organizer refunds requested at
// or after since (eventually consistent: the reconciler re-reads each
// order).
func (st *ReconcileStore) RecentRefunds(ctx context.Context, eventID string, since time.Time) ([]string, error) {
	var out []string
	for shard := range workShards {
		p := dynamodb.NewQueryPaginator(st.db, &dynamodb.QueryInput{
			TableName:                 aws.String(st.table),
			KeyConditionExpression:    aws.String("pk = :p AND sk >= :t"),
			ExpressionAttributeValues: item{":p": s(refundPK(eventID, shard)), ":t": s(since.UTC().Format(time.RFC3339Nano))},
			ProjectionExpression:      aws.String("orderId"),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, classify(fmt.Sprintf("recent refunds of %s", eventID), err)
			}
			for _, it := range page.Items {
				out = append(out, str(it, "orderId"))
			}
		}
	}
	return out, nil
}
