package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/orders"
)

// SetSeatState moves one seat to state to, on the condition that it is
// in one of from now: the organizer's kill, hold-back and release
// (internal/seatmgmt). from never names HELD or SOLD, so a seat a fan
// holds or bought is never touched, and a hold (conditional on AVAILABLE)
// can never take a seat this put off sale. The seat's version rises, as
// every other change of a seat raises it. Errors: fault.ConditionFailed
// when the seat is in none of from (nothing changed), fault.NotFound when
// the event has no such seat.
func (st *InventoryStore) SetSeatState(ctx context.Context, eventID, seat string, from []string, to string) error {
	if len(from) == 0 {
		return fmt.Errorf("set seat %s: no state to move from", seat)
	}
	values := item{":to": s(to), ":one": n(1)}
	names := make([]string, len(from))
	for i, f := range from {
		names[i] = fmt.Sprintf(":f%d", i)
		values[names[i]] = s(f)
	}
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.table),
		Key:                       SeatKey(eventID, seat),
		ConditionExpression:       aws.String("attribute_exists(pk) AND #st IN (" + strings.Join(names, ", ") + ")"),
		UpdateExpression:          aws.String("SET #st = :to, version = version + :one"),
		ExpressionAttributeNames:  map[string]string{"#st": "state"},
		ExpressionAttributeValues: values,
	})
	op := "set seat " + eventID + "/" + seat + " " + to
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fault.E(op, fault.ConditionFailed, err)
	}
	return classify(op, err)
}

// SeatStatesConsistent reads seats' states and holders with strongly
// consistent reads: what a refused management action reports.
func (st *InventoryStore) SeatStatesConsistent(ctx context.Context, eventID string, ids []string) (map[string]inventory.SeatState, error) {
	return st.readSeats(ctx, eventID, ids, true, true)
}

// CreateComp stores a complimentary order (o: PAID, Comp, no amount) and
// sells it its seats in one transaction: each seat on condition that it
// is AVAILABLE or HELD_BACK, so a comp never takes a seat a fan holds or
// bought, nor a killed one, and never half a comp. Errors:
// fault.ConditionFailed wrapping an *inventory.Conflict naming the seats
// that were not free; fault.Contention when the transaction conflicted.
func (st *InventoryStore) CreateComp(ctx context.Context, o orders.Order) error {
	oi, err := orderItem(&o)
	if err != nil {
		return err
	}
	// Comps are issued at any time, on sale or not: the reconciler checks
	// their seats and tickets.
	if err := st.markDue(ctx, o.EventID, o.CreatedAt); err != nil {
		return err
	}
	items := []types.TransactWriteItem{{Put: &types.Put{
		TableName: aws.String(st.table), Item: oi, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}}}
	parts := []part{{kind: "order"}}
	for _, seat := range o.Seats {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName:                aws.String(st.table),
			Key:                      SeatKey(o.EventID, seat),
			ConditionExpression:      aws.String("#st IN (:avail, :back)"),
			UpdateExpression:         aws.String("SET #st = :sold, orderId = :oid, account = :acct, version = version + :one"),
			ExpressionAttributeNames: map[string]string{"#st": "state"},
			ExpressionAttributeValues: item{
				":avail": s(catalog.SeatAvailable), ":back": s(catalog.SeatHeldBack), ":sold": s(catalog.SeatSold),
				":oid": s(o.ID), ":acct": s(o.Account), ":one": n(1),
			},
		}})
		parts = append(parts, part{kind: "seat", seat: seat})
	}
	_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err == nil {
		return nil
	}
	return holdConflict(err, parts, st.naming)
}
