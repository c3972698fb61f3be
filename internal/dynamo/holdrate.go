package dynamo

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/inventory"
)

// The hold rate limit and the Idempotency-Key records a refused hold may
// need both live on the account's limit item (LIMIT#<event>#<account>),
// which the hold's transaction updates anyway (ADR 14):
//
//	count             places held or bought (the per-account limit)
//	rate#<unix>       hold requests counted in the window starting then
//	idem#<key>        "<fingerprint> <orderId>" of a hold made with the key
//
// A hold counts itself in its transaction; a request that makes no order
// counts itself with one UpdateItem, which returns the item and with it
// the key's record, so a refused request costs one request, replay
// included. Window attributes stay on the item (a few bytes per minute
// the account was active on the event); the window's own arithmetic is
// ratelimit.Limiter's.

func rateAttr(r inventory.RateCount) string { return "rate#" + strconv.FormatInt(r.Window.Unix(), 10) }

func idemAttr(key string) string { return "idem#" + key }

func idemValue(r *inventory.IdempotencyRecord) string { return r.Fingerprint + " " + r.OrderID }

// holdLimitUpdate is the hold transaction's update of the account's
// limit item: its places, and, when given, the request's count in its
// rate window and the Idempotency-Key's record.
func (st *InventoryStore) holdLimitUpdate(p inventory.HoldPlan) *types.Update {
	o := p.Order
	q := int64(o.Places())
	u := &types.Update{
		TableName:                 aws.String(st.table),
		Key:                       LimitKey(o.EventID, o.Account),
		ConditionExpression:       aws.String("attribute_not_exists(#c) OR #c <= :room"),
		UpdateExpression:          aws.String("SET #c = if_not_exists(#c, :zero) + :q"),
		ExpressionAttributeNames:  map[string]string{"#c": "count"},
		ExpressionAttributeValues: item{":q": n(q), ":room": n(int64(p.LimitMax) - q), ":zero": n(0)},
	}
	if r := p.Rate; r != nil {
		u.ConditionExpression = aws.String("(attribute_not_exists(#c) OR #c <= :room) AND (attribute_not_exists(#r) OR #r < :limit)")
		*u.UpdateExpression += ", #r = if_not_exists(#r, :zero) + :one"
		u.ExpressionAttributeNames["#r"] = rateAttr(*r)
		u.ExpressionAttributeValues[":limit"], u.ExpressionAttributeValues[":one"] = n(int64(r.Limit)), n(1)
	}
	if r := p.Idempotency; r != nil {
		*u.UpdateExpression += ", #k = :rec"
		u.ExpressionAttributeNames["#k"] = idemAttr(r.Key)
		u.ExpressionAttributeValues[":rec"] = s(idemValue(r))
	}
	return u
}

// CountHoldRequest counts one hold request that made no order in its
// rate window, on the condition that the window's count is below the
// limit, and returns what the limit item says: the account's places and
// the Idempotency-Key's record, from the item after the count or, over
// the limit, as it was.
func (st *InventoryStore) CountHoldRequest(ctx context.Context, eventID, account string, r inventory.RateCount, idemKey string) (inventory.RequestCount, error) {
	out, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(st.table),
		Key:                                 LimitKey(eventID, account),
		ConditionExpression:                 aws.String("attribute_not_exists(#r) OR #r < :limit"),
		UpdateExpression:                    aws.String("SET #r = if_not_exists(#r, :zero) + :one"),
		ExpressionAttributeNames:            map[string]string{"#r": rateAttr(r)},
		ExpressionAttributeValues:           item{":limit": n(int64(r.Limit)), ":zero": n(0), ":one": n(1)},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return requestCount(ccf.Item, false, account, idemKey), nil
	case err != nil:
		return inventory.RequestCount{}, classify("count hold request", err)
	}
	return requestCount(out.Attributes, true, account, idemKey), nil
}

func requestCount(it item, allowed bool, account, idemKey string) inventory.RequestCount {
	c := inventory.RequestCount{Allowed: allowed}
	if v, ok := it["count"].(*types.AttributeValueMemberN); ok {
		c.Places, _ = strconv.Atoi(v.Value)
	}
	if idemKey == "" {
		return c
	}
	if fp, orderID, ok := strings.Cut(str(it, idemAttr(idemKey)), " "); ok {
		c.Record = &inventory.IdempotencyRecord{Account: account, Key: idemKey, Fingerprint: fp, OrderID: orderID}
	}
	return c
}
