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

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/orders"
)

var _ orders.Store = (*OrderStore)(nil)

// Work index (gsi2): a non-terminal order sits under WORK#<event>#<shard>
// with its deadline as sort key, so the reconciler finds overdue orders
// with a few Queries; a terminal order moves to DONE#... and drops out
// (keys.go).

// IssueDeadline is how long a PAID order may wait for its tickets before
// the reconciler steps in.
const IssueDeadline = 5 * time.Minute

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
	expr := "SET #st = :to, version = version + :one, updatedAt = :now, gsi2pk = :wpk, gsi2sk = :wsk"
	vals[":wpk"], vals[":wsk"] = s(workPK(o, to)), s(workSK(o, to, now))
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
		Key:                       orderKey(o.ID),
		ConditionExpression:       aws.String(cond),
		UpdateExpression:          aws.String(expr),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: vals,
	}, nil
}

func (st *OrderStore) transact(ctx context.Context, items []types.TransactWriteItem, what string) error {
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
	// The order's own condition (item 0) or the payment record (the last
	// put) failing means another caller moved the order first: a lost
	// race, read again. Any other item is a place that is not as required.
	codes, ok := txReasons(err)
	if !ok {
		return classify(what, err)
	}
	for i, code := range codes {
		if k, _ := reasonKind(code); k != fault.ConditionFailed {
			continue
		}
		if i == 0 || (i == len(items)-1 && items[i].Put != nil) {
			return fault.E(what, fault.Contention, err)
		}
		return fault.Errorf(what, fault.ConditionFailed, "item %d (a place) changed: %w", i, err)
	}
	return fault.E(what, txKind(codes), err)
}

func paymentPut(r orders.PaymentRecord) *types.Put {
	it := paymentKey(r.Provider, r.PaymentID)
	it["provider"], it["paymentId"], it["orderId"], it["role"] = s(r.Provider), s(r.PaymentID), s(r.OrderID), s(string(r.Role))
	it["amountCents"], it["currency"], it["capturedAt"] = n(r.AmountCents), s(r.Currency), rfc(r.CapturedAt)
	it["refunded"] = &types.AttributeValueMemberBOOL{Value: r.Refunded}
	return &types.Put{Item: it, ConditionExpression: aws.String("attribute_not_exists(pk)")}
}

// MarkPaid is one transaction: the order PENDING_PAYMENT@v → PAID, its
// seats HELD (by it) → SOLD without their held markers, its GA places held
// → sold, the provider event that announced the payment as processed (when
// p names one) and the payment record.
func (st *OrderStore) MarkPaid(ctx context.Context, o orders.Order, p orders.Payment, now time.Time) error {
	up, err := orderUpdate(o, []orders.Status{orders.PendingPayment}, orders.Paid,
		map[string]any{"paymentId": p.ID, "provider": p.Provider, "paidAt": now}, now)
	if err != nil {
		return err
	}
	// The caller resumes the workflow with the task token it read. The
	// workflow records its token without changing the version, so a token
	// recorded since that read must fail this write (and the caller read
	// again); otherwise nobody resumes the wait until it times out.
	if o.TaskToken == "" {
		*up.ConditionExpression += " AND attribute_not_exists(taskToken)"
	} else {
		*up.ConditionExpression += " AND taskToken = :tok"
		up.ExpressionAttributeValues[":tok"] = s(o.TaskToken)
	}
	items := []types.TransactWriteItem{{Update: up}}
	for _, seat := range o.Seats {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			Key:                      SeatKey(o.EventID, seat),
			ConditionExpression:      aws.String("#st = :held AND orderId = :oid"),
			UpdateExpression:         aws.String("SET #st = :sold, version = version + :one REMOVE expiresAt"),
			ExpressionAttributeNames: map[string]string{"#st": "state"},
			ExpressionAttributeValues: item{":held": s(catalog.SeatHeld), ":sold": s(catalog.SeatSold),
				":oid": s(o.ID), ":one": n(1)},
		}})
		items = append(items, heldMarkerDelete(st.table, o.EventID, seat))
	}
	for _, t := range o.GATakes {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			Key:                       gaShardKey(o.EventID, o.Section, t.Shard),
			ConditionExpression:       aws.String("held >= :q"),
			UpdateExpression:          aws.String("SET held = held - :q, sold = sold + :q"),
			ExpressionAttributeValues: item{":q": n(int64(t.Quantity))},
		}})
	}
	items = append(items, eventDonePut(p, now)...)
	items = append(items, types.TransactWriteItem{Put: paymentPut(orders.PaymentRecord{Provider: p.Provider, PaymentID: p.ID,
		OrderID: o.ID, Role: orders.RolePays, AmountCents: p.AmountCents, Currency: p.Currency, CapturedAt: now})})
	return st.transact(ctx, items, "mark paid")
}

// Rehold takes a released order's places again for a late payment, in one
// transaction with the order EXPIRED/CANCELLED@v → PAID, the limit and,
// as MarkPaid, the announcing provider event.
func (st *OrderStore) Rehold(ctx context.Context, o orders.Order, p orders.Payment, maxTickets int, now time.Time) error {
	// An order reopened long after its sale: the reconciler must visit
	// its event again (marked before, so a crash between leaves a mark).
	if err := st.markDue(ctx, o.EventID, now); err != nil {
		return err
	}
	up, err := orderUpdate(o, []orders.Status{orders.Expired, orders.Cancelled}, orders.Paid,
		map[string]any{"paymentId": p.ID, "provider": p.Provider, "paidAt": now, "late": true}, now)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{{Update: up}}
	for _, seat := range o.Seats {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			Key:                      SeatKey(o.EventID, seat),
			ConditionExpression:      aws.String("#st = :avail"),
			UpdateExpression:         aws.String("SET #st = :sold, orderId = :oid, account = :acct, version = version + :one"),
			ExpressionAttributeNames: map[string]string{"#st": "state"},
			ExpressionAttributeValues: item{":avail": s(catalog.SeatAvailable), ":sold": s(catalog.SeatSold),
				":oid": s(o.ID), ":acct": s(o.Account), ":one": n(1)},
		}})
	}
	for _, t := range o.GATakes {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			Key:                       gaShardKey(o.EventID, o.Section, t.Shard),
			ConditionExpression:       aws.String("available >= :q"),
			UpdateExpression:          aws.String("SET available = available - :q, sold = sold + :q"),
			ExpressionAttributeValues: item{":q": n(int64(t.Quantity))},
		}})
	}
	q := int64(o.Places())
	limit := &types.Update{
		Key:                       LimitKey(o.EventID, o.Account),
		UpdateExpression:          aws.String("ADD #c :q"),
		ExpressionAttributeNames:  map[string]string{"#c": "count"},
		ExpressionAttributeValues: item{":q": n(q)},
	}
	if maxTickets > 0 {
		limit.ConditionExpression = aws.String("attribute_not_exists(#c) OR #c <= :room")
		limit.ExpressionAttributeValues[":room"] = n(int64(maxTickets) - q)
	}
	items = append(items, types.TransactWriteItem{Update: limit})
	items = append(items, eventDonePut(p, now)...)
	items = append(items, types.TransactWriteItem{Put: paymentPut(orders.PaymentRecord{Provider: p.Provider, PaymentID: p.ID,
		OrderID: o.ID, Role: orders.RolePays, AmountCents: p.AmountCents, Currency: p.Currency, CapturedAt: now})})
	return st.transact(ctx, items, "re-hold")
}

// SetStatus is a conditional single-item transition.
func (st *OrderStore) SetStatus(ctx context.Context, o orders.Order, from []orders.Status, to orders.Status, set map[string]any, now time.Time) error {
	if reopens(from, to) {
		if err := st.markDue(ctx, o.EventID, now); err != nil {
			return err
		}
	}
	up, err := orderUpdate(o, from, to, set, now)
	if err != nil {
		return err
	}
	_, err = st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(st.table), Key: up.Key, ConditionExpression: up.ConditionExpression,
		UpdateExpression: up.UpdateExpression, ExpressionAttributeNames: up.ExpressionAttributeNames,
		ExpressionAttributeValues: up.ExpressionAttributeValues,
	})
	if kindOf(err) == fault.ConditionFailed {
		return fault.E("set status of order "+o.ID, fault.Contention, err) // its status or version moved on
	}
	return classify("set status of order "+o.ID, err)
}

// reopens reports whether a transition may take a finished order back to
// an open status (a late payment's refund): the reconciler's work again,
// possibly long after the event's sale.
func reopens(from []orders.Status, to orders.Status) bool {
	if to.Terminal() {
		return false
	}
	for _, f := range from {
		if f.Terminal() {
			return true
		}
	}
	return false
}

// SetTaskToken stores the workflow token on a pending order.
func (st *OrderStore) SetTaskToken(ctx context.Context, orderID, token string) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.table),
		Key:                       orderKey(orderID),
		ConditionExpression:       aws.String("#st = :p"),
		UpdateExpression:          aws.String("SET taskToken = :t"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: item{":p": s(string(orders.PendingPayment)), ":t": s(token)},
	})
	return classify("set task token of order "+orderID, err) // ConditionFailed: not pending
}

// RecordDecline notes a refused payment attempt on a pending order; the
// condition on the event id makes a redelivered event count once.
func (st *OrderStore) RecordDecline(ctx context.Context, orderID string, d orders.Decline, now time.Time) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(st.table),
		Key:                 orderKey(orderID),
		ConditionExpression: aws.String("#st = :p AND (attribute_not_exists(declineEventId) OR declineEventId <> :ev)"),
		UpdateExpression: aws.String("SET declinedAt = :at, declineCode = :code, declineReason = :why, declineEventId = :ev, " +
			"declines = if_not_exists(declines, :zero) + :one, updatedAt = :now"),
		ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: item{":p": s(string(orders.PendingPayment)), ":ev": s(d.EventID), ":at": rfc(d.At),
			":code": s(d.Code), ":why": s(d.Reason), ":zero": n(0), ":one": n(1), ":now": rfc(now)},
	})
	return classify("record decline on order "+orderID, err) // ConditionFailed: not pending, or noted already
}

// PutPayment records a payment once.
func (st *OrderStore) PutPayment(ctx context.Context, r orders.PaymentRecord) (bool, error) {
	p := paymentPut(r)
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.table), Item: p.Item, ConditionExpression: p.ConditionExpression})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, classify(fmt.Sprintf("put payment %s", r.PaymentID), err)
	}
	return true, nil
}

// GetPayment reads a payment record.
func (st *OrderStore) GetPayment(ctx context.Context, provider, paymentID string) (orders.PaymentRecord, bool, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.table),
		Key: paymentKey(provider, paymentID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return orders.PaymentRecord{}, false, classify(fmt.Sprintf("get payment %s", paymentID), err)
	}
	if out.Item == nil {
		return orders.PaymentRecord{}, false, nil
	}
	return decodePayment(provider, out.Item), true, nil
}

func decodePayment(provider string, it item) orders.PaymentRecord {
	captured, _ := time.Parse(time.RFC3339Nano, str(it, "capturedAt"))
	refunded, _ := it["refunded"].(*types.AttributeValueMemberBOOL)
	return orders.PaymentRecord{Provider: provider, PaymentID: str(it, "paymentId"), OrderID: str(it, "orderId"),
		Role: orders.PaymentRole(str(it, "role")), AmountCents: num(it, "amountCents"), Currency: str(it, "currency"),
		Refunded: refunded != nil && refunded.Value, RefundID: str(it, "refundId"), CapturedAt: captured}
}

// MarkPaymentRefunded records a refund on a payment record.
func (st *OrderStore) MarkPaymentRefunded(ctx context.Context, provider, paymentID, refundID string) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.table),
		Key:                       paymentKey(provider, paymentID),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		UpdateExpression:          aws.String("SET refunded = :t, refundId = :r"),
		ExpressionAttributeValues: item{":t": &types.AttributeValueMemberBOOL{Value: true}, ":r": s(refundID)},
	})
	if err != nil {
		return classify(fmt.Sprintf("mark refunded %s", paymentID), err)
	}
	return nil
}

// OverdueOrders returns open orders of an event whose work deadline is
// before t (at most limit), from the gsi2 work index (eventually
// consistent: the reconciler re-reads each order before acting).
func (st *ReconcileStore) OverdueOrders(ctx context.Context, eventID string, t time.Time, limit int) ([]orders.Order, error) {
	var out []orders.Order
	for shard := range workShards {
		p := dynamodb.NewQueryPaginator(st.db, &dynamodb.QueryInput{
			TableName:              aws.String(st.table),
			IndexName:              aws.String(gsi2),
			KeyConditionExpression: aws.String("gsi2pk = :p AND gsi2sk < :t"),
			ExpressionAttributeValues: item{":p": s(WorkPK(eventID, shard)),
				":t": s(workBefore(t))},
		})
		for p.HasMorePages() && len(out) < limit {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, classify("overdue orders", err)
			}
			for _, it := range page.Items {
				o, err := decodeOrder(it)
				if err != nil {
					return nil, err
				}
				out = append(out, o)
			}
		}
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// OrdersByID batch-reads orders (consistent); missing ids are left out.
func (st *ReconcileStore) OrdersByID(ctx context.Context, ids []string) (map[string]orders.Order, error) {
	keys := make([]item, len(ids))
	for i, id := range ids {
		keys[i] = orderKey(id)
	}
	items, err := st.batchGet(ctx, keys, "", nil, true)
	if err != nil {
		return nil, err
	}
	out := make(map[string]orders.Order, len(items))
	for _, it := range items {
		o, err := decodeOrder(it)
		if err != nil {
			return nil, err
		}
		out[o.ID] = o
	}
	return out, nil
}

// ReleaseOrphanSeat frees a seat still HELD for orderID when that order no
// longer holds it (conditional on the seat being unchanged), with its
// held-seat marker, in one transaction.
func (st *ReconcileStore) ReleaseOrphanSeat(ctx context.Context, eventID, seat, orderID string) error {
	_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{
			TableName:                aws.String(st.table),
			Key:                      SeatKey(eventID, seat),
			ConditionExpression:      aws.String("#st = :held AND orderId = :oid"),
			UpdateExpression:         aws.String("SET #st = :avail, orderId = :none, version = version + :one"),
			ExpressionAttributeNames: map[string]string{"#st": "state"},
			ExpressionAttributeValues: item{":held": s(catalog.SeatHeld), ":avail": s(catalog.SeatAvailable),
				":oid": s(orderID), ":none": s(""), ":one": n(1)},
		}},
		heldMarkerDelete(st.table, eventID, seat),
	}})
	if codes, ok := txReasons(err); ok {
		return fault.E("release orphan seat "+seat, txKind(codes), err) // ConditionFailed: the seat changed
	}
	return classify("release orphan seat "+seat, err)
}

// SaveReconcileReport stores the last reconciliation report of an event.
func (st *ReconcileStore) SaveReconcileReport(ctx context.Context, eventID string, report []byte) error {
	it := reconcileReportKey(eventID)
	it["report"] = s(string(report))
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.table), Item: it})
	if err != nil {
		return classify("save reconcile report", err)
	}
	return nil
}

// LastReconcileReport reads it back (nil when none).
func (st *base) LastReconcileReport(ctx context.Context, eventID string) ([]byte, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.table), Key: reconcileReportKey(eventID)})
	if err != nil {
		return nil, classify("read reconcile report", err)
	}
	if out.Item == nil {
		return nil, nil
	}
	return []byte(str(out.Item, "report")), nil
}

// EventOrders reads every order of an event through the work index (open
// and done partitions): the organizer report's and the full
// reconciliation's source. Eventually consistent.
func (st *base) EventOrders(ctx context.Context, eventID string) ([]orders.Order, error) {
	var out []orders.Order
	for _, partition := range []func(string, int) string{WorkPK, donePK} {
		for shard := range workShards {
			if err := st.queryOrders(ctx, "event orders", "gsi2pk = :p", item{":p": s(partition(eventID, shard))}, &out); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// queryOrders appends the orders a gsi2 query finds to out.
func (st *base) queryOrders(ctx context.Context, what, cond string, values item, out *[]orders.Order) error {
	return st.queryGSI2(ctx, what, cond, values, func(it item) error {
		o, err := decodeOrder(it)
		*out = append(*out, o)
		return err
	})
}

// queryGSI2 pages through a gsi2 query, calling fn for every item.
func (st *base) queryGSI2(ctx context.Context, what, cond string, values item, fn func(item) error) error {
	p := dynamodb.NewQueryPaginator(st.db, &dynamodb.QueryInput{
		TableName:                 aws.String(st.table),
		IndexName:                 aws.String(gsi2),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeValues: values,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return classify(what, err)
		}
		for _, it := range page.Items {
			if err := fn(it); err != nil {
				return err
			}
		}
	}
	return nil
}
