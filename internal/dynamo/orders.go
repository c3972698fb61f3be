package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/orders"
)

var _ orders.Store = (*Store)(nil)

// More item kinds:
//
//	PAYMENT#<provider>#<paymentId>   PAYMENT   a captured payment and what it is for
func paymentRecordPK(provider, id string) string { return "PAYMENT#" + provider + "#" + id }

func rfc(t time.Time) types.AttributeValue { return s(t.UTC().Format(time.RFC3339Nano)) }

func orderUpdate(o orders.Order, from []orders.Status, to orders.Status, set map[string]any, now time.Time) (*types.Update, error) {
	names := map[string]string{"#st": "status"}
	vals := item{":v": n(o.Version), ":to": s(string(to)), ":one": n(1), ":now": rfc(now)}
	cond := "("
	for i, f := range from {
		if i > 0 {
			cond += " OR "
		}
		k := fmt.Sprintf(":f%d", i)
		cond += "#st = " + k
		vals[k] = s(string(f))
	}
	cond += ") AND version = :v"
	expr := "SET #st = :to, version = version + :one, updatedAt = :now"
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		av, err := attributevalue.Marshal(set[k])
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", k, err)
		}
		nk, vk := fmt.Sprintf("#a%d", i), fmt.Sprintf(":a%d", i)
		names[nk], vals[vk] = k, av
		expr += ", " + nk + " = " + vk
	}
	return &types.Update{
		Key:                       key(orderPK(o.ID), "ORDER"),
		ConditionExpression:       aws.String(cond),
		UpdateExpression:          aws.String(expr),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: vals,
	}, nil
}

func (st *Store) transact(ctx context.Context, items []types.TransactWriteItem, what string) error {
	for i := range items {
		switch {
		case items[i].Update != nil:
			items[i].Update.TableName = aws.String(st.table)
		case items[i].Put != nil:
			items[i].Put.TableName = aws.String(st.table)
		}
	}
	_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err == nil {
		return nil
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for i, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				if i == 0 {
					return apperr.New(apperr.Conflict, "%s: the order changed", what)
				}
				if i == len(items)-1 && items[i].Put != nil {
					return apperr.New(apperr.Conflict, "%s: payment already recorded", what)
				}
				return apperr.New(apperr.Conflict, "%s: the places changed", what).With("reason", "PLACES_GONE").With("item", i)
			}
		}
		return apperr.New(apperr.Conflict, "%s: contention", what)
	}
	if isThrottle(err) {
		return apperr.New(apperr.Conflict, "%s: throttled", what)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func paymentPut(r orders.PaymentRecord) *types.Put {
	it := key(paymentRecordPK(r.Provider, r.PaymentID), "PAYMENT")
	it["provider"], it["paymentId"], it["orderId"], it["role"] = s(r.Provider), s(r.PaymentID), s(r.OrderID), s(string(r.Role))
	it["amountCents"], it["currency"], it["capturedAt"] = n(r.AmountCents), s(r.Currency), rfc(r.CapturedAt)
	it["refunded"] = &types.AttributeValueMemberBOOL{Value: r.Refunded}
	return &types.Put{Item: it, ConditionExpression: aws.String("attribute_not_exists(pk)")}
}

// MarkPaid is one transaction: the order PENDING_PAYMENT@v → PAID, its
// seats HELD (by it) → SOLD, its GA places held → sold, and the payment
// record.
func (st *Store) MarkPaid(ctx context.Context, o orders.Order, p orders.Payment, now time.Time) error {
	up, err := orderUpdate(o, []orders.Status{orders.PendingPayment}, orders.Paid,
		map[string]any{"paymentId": p.ID, "provider": p.Provider, "paidAt": now}, now)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{{Update: up}}
	for _, seat := range o.Seats {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			Key:                      key(seatPK(o.EventID, seat), "SEAT"),
			ConditionExpression:      aws.String("#st = :held AND orderId = :oid"),
			UpdateExpression:         aws.String("SET #st = :sold, version = version + :one REMOVE expiresAt"),
			ExpressionAttributeNames: map[string]string{"#st": "state"},
			ExpressionAttributeValues: item{":held": s(catalog.SeatHeld), ":sold": s(catalog.SeatSold),
				":oid": s(o.ID), ":one": n(1)},
		}})
	}
	for _, t := range o.GATakes {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			Key:                       key(gaShardPK(o.EventID, o.Section, t.Shard), "GA"),
			ConditionExpression:       aws.String("held >= :q"),
			UpdateExpression:          aws.String("SET held = held - :q, sold = sold + :q"),
			ExpressionAttributeValues: item{":q": n(int64(t.Quantity))},
		}})
	}
	items = append(items, types.TransactWriteItem{Put: paymentPut(orders.PaymentRecord{Provider: p.Provider, PaymentID: p.ID,
		OrderID: o.ID, Role: orders.RolePays, AmountCents: p.AmountCents, Currency: p.Currency, CapturedAt: now})})
	return st.transact(ctx, items, "mark paid")
}

// Rehold takes a released order's places again for a late payment, in one
// transaction with the order EXPIRED/CANCELLED@v → PAID and the limit.
func (st *Store) Rehold(ctx context.Context, o orders.Order, p orders.Payment, maxTickets int, now time.Time) error {
	up, err := orderUpdate(o, []orders.Status{orders.Expired, orders.Cancelled}, orders.Paid,
		map[string]any{"paymentId": p.ID, "provider": p.Provider, "paidAt": now, "late": true}, now)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{{Update: up}}
	for _, seat := range o.Seats {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			Key:                      key(seatPK(o.EventID, seat), "SEAT"),
			ConditionExpression:      aws.String("#st = :avail"),
			UpdateExpression:         aws.String("SET #st = :sold, orderId = :oid, account = :acct, version = version + :one"),
			ExpressionAttributeNames: map[string]string{"#st": "state"},
			ExpressionAttributeValues: item{":avail": s(catalog.SeatAvailable), ":sold": s(catalog.SeatSold),
				":oid": s(o.ID), ":acct": s(o.Account), ":one": n(1)},
		}})
	}
	for _, t := range o.GATakes {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			Key:                       key(gaShardPK(o.EventID, o.Section, t.Shard), "GA"),
			ConditionExpression:       aws.String("available >= :q"),
			UpdateExpression:          aws.String("SET available = available - :q, sold = sold + :q"),
			ExpressionAttributeValues: item{":q": n(int64(t.Quantity))},
		}})
	}
	q := int64(o.Places())
	limit := &types.Update{
		Key:                       key(limitPK(o.EventID, o.Account), "LIMIT"),
		UpdateExpression:          aws.String("ADD #c :q"),
		ExpressionAttributeNames:  map[string]string{"#c": "count"},
		ExpressionAttributeValues: item{":q": n(q)},
	}
	if maxTickets > 0 {
		limit.ConditionExpression = aws.String("attribute_not_exists(#c) OR #c <= :room")
		limit.ExpressionAttributeValues[":room"] = n(int64(maxTickets) - q)
	}
	items = append(items, types.TransactWriteItem{Update: limit})
	items = append(items, types.TransactWriteItem{Put: paymentPut(orders.PaymentRecord{Provider: p.Provider, PaymentID: p.ID,
		OrderID: o.ID, Role: orders.RolePays, AmountCents: p.AmountCents, Currency: p.Currency, CapturedAt: now})})
	return st.transact(ctx, items, "re-hold")
}

// SetStatus is a conditional single-item transition.
func (st *Store) SetStatus(ctx context.Context, o orders.Order, from []orders.Status, to orders.Status, set map[string]any, now time.Time) error {
	up, err := orderUpdate(o, from, to, set, now)
	if err != nil {
		return err
	}
	_, err = st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(st.table), Key: up.Key, ConditionExpression: up.ConditionExpression,
		UpdateExpression: up.UpdateExpression, ExpressionAttributeNames: up.ExpressionAttributeNames,
		ExpressionAttributeValues: up.ExpressionAttributeValues,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return apperr.New(apperr.Conflict, "order %s changed", o.ID)
	}
	if err != nil {
		return fmt.Errorf("set status %s: %w", o.ID, err)
	}
	return nil
}

// SetTaskToken stores the workflow token on a pending order.
func (st *Store) SetTaskToken(ctx context.Context, orderID, token string) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.table),
		Key:                       key(orderPK(orderID), "ORDER"),
		ConditionExpression:       aws.String("#st = :p"),
		UpdateExpression:          aws.String("SET taskToken = :t"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: item{":p": s(string(orders.PendingPayment)), ":t": s(token)},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return apperr.New(apperr.Conflict, "order %s is not pending", orderID)
	}
	if err != nil {
		return fmt.Errorf("set task token %s: %w", orderID, err)
	}
	return nil
}

// PutPayment records a payment once.
func (st *Store) PutPayment(ctx context.Context, r orders.PaymentRecord) (bool, error) {
	p := paymentPut(r)
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.table), Item: p.Item, ConditionExpression: p.ConditionExpression})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("put payment %s: %w", r.PaymentID, err)
	}
	return true, nil
}

// GetPayment reads a payment record.
func (st *Store) GetPayment(ctx context.Context, provider, paymentID string) (orders.PaymentRecord, bool, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.table),
		Key: key(paymentRecordPK(provider, paymentID), "PAYMENT"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return orders.PaymentRecord{}, false, fmt.Errorf("get payment %s: %w", paymentID, err)
	}
	if out.Item == nil {
		return orders.PaymentRecord{}, false, nil
	}
	it := out.Item
	captured, _ := time.Parse(time.RFC3339Nano, str(it, "capturedAt"))
	refunded, _ := it["refunded"].(*types.AttributeValueMemberBOOL)
	return orders.PaymentRecord{Provider: provider, PaymentID: paymentID, OrderID: str(it, "orderId"),
		Role: orders.PaymentRole(str(it, "role")), AmountCents: num(it, "amountCents"), Currency: str(it, "currency"),
		Refunded: refunded != nil && refunded.Value, RefundID: str(it, "refundId"), CapturedAt: captured}, true, nil
}

// MarkPaymentRefunded records a refund on a payment record.
func (st *Store) MarkPaymentRefunded(ctx context.Context, provider, paymentID, refundID string) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.table),
		Key:                       key(paymentRecordPK(provider, paymentID), "PAYMENT"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		UpdateExpression:          aws.String("SET refunded = :t, refundId = :r"),
		ExpressionAttributeValues: item{":t": &types.AttributeValueMemberBOOL{Value: true}, ":r": s(refundID)},
	})
	if err != nil {
		return fmt.Errorf("mark refunded %s: %w", paymentID, err)
	}
	return nil
}
