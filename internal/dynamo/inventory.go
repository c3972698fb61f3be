package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/orders"
)

var _ inventory.Store = (*InventoryStore)(nil)

// part names what one transaction item was, to read cancellation reasons.
type part struct {
	kind  string // seat, shard, limit, admission, order, idem, marker, place
	seat  string
	shard int
}

// CreateHold is one TransactWriteItems: seat conditional updates, GA shard
// decrements (never below zero), the account limit, the consumed admission
// token, the order, the optional idempotency record and a held marker per
// seat (the reconciler's list of held seats).
func (st *InventoryStore) CreateHold(ctx context.Context, p inventory.HoldPlan) error {
	o := p.Order
	now := o.CreatedAt
	var items []types.TransactWriteItem
	var parts []part
	// Order matters where a server names only the first failed condition
	// (minidyn): the idempotency record and the admission token come first,
	// so a retry is recognised as a retry before its seats look taken.
	if r := p.Idempotency; r != nil {
		it := idemKey(r.Account, r.Key)
		it["fingerprint"], it["orderId"] = s(r.Fingerprint), s(r.OrderID)
		it["ttl"] = n(now.Add(24 * time.Hour).Unix())
		items = append(items, types.TransactWriteItem{Put: &types.Put{
			TableName: aws.String(st.table), Item: it, ConditionExpression: aws.String("attribute_not_exists(pk)"),
		}})
		parts = append(parts, part{kind: "idem"})
	}
	adm := admissionKey(p.AdmissionID)
	adm["eventId"], adm["account"], adm["orderId"] = s(o.EventID), s(o.Account), s(o.ID)
	adm["usedAt"] = s(now.Format(time.RFC3339Nano))
	adm["ttl"] = n(p.AdmissionExpires.Add(24 * time.Hour).Unix()) // garbage collection only
	items = append(items, types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(st.table), Item: adm, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}})
	parts = append(parts, part{kind: "admission"})
	items = append(items, types.TransactWriteItem{Update: st.holdLimitUpdate(p)})
	parts = append(parts, part{kind: "limit"})
	oi, err := orderItem(&o)
	if err != nil {
		return err
	}
	items = append(items, types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(st.table), Item: oi, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}})
	parts = append(parts, part{kind: "order"})
	for _, seat := range p.Seats {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName:                aws.String(st.table),
			Key:                      SeatKey(o.EventID, seat),
			ConditionExpression:      aws.String("#st = :avail"),
			UpdateExpression:         aws.String("SET #st = :held, orderId = :oid, account = :acct, expiresAt = :exp, version = version + :one"),
			ExpressionAttributeNames: map[string]string{"#st": "state"},
			ExpressionAttributeValues: item{
				":avail": s(catalog.SeatAvailable), ":held": s(catalog.SeatHeld), ":oid": s(o.ID),
				":acct": s(o.Account), ":exp": s(o.ExpiresAt.Format(time.RFC3339Nano)), ":one": n(1),
			},
		}})
		parts = append(parts, part{kind: "seat", seat: seat})
	}
	for _, t := range p.GA {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName:                 aws.String(st.table),
			Key:                       gaShardKey(o.EventID, o.Section, t.Shard),
			ConditionExpression:       aws.String("available >= :q"),
			UpdateExpression:          aws.String("SET available = available - :q, held = held + :q"),
			ExpressionAttributeValues: item{":q": n(int64(t.Quantity))},
		}})
		parts = append(parts, part{kind: "shard", shard: t.Shard})
	}
	for _, seat := range p.Seats {
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(st.table), Item: heldMarker(&o, seat)}})
		parts = append(parts, part{kind: "marker", seat: seat})
	}
	if p.MarkPlace {
		// The waiting room's record that the place's admission was used,
		// in the transaction that uses it (it was an UpdateItem after
		// it): the same attributes WaitroomStore.MarkUsed sets. Its
		// condition refuses an admission the place did not give, and
		// never creates a place; one use per admission is the admission
		// item's condition above. Last, so a server that names only the
		// first failed condition names the hold's own conditions first.
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName:           aws.String(st.table),
			Key:                 placeKey(o.EventID, o.Account),
			ConditionExpression: aws.String("tokenId = :t"),
			UpdateExpression:    aws.String("SET usedAt = :now, gsi2pk = :done"),
			ExpressionAttributeValues: item{
				":t": s(p.AdmissionID), ":now": stamp(now), ":done": s(placesDonePK(o.EventID)),
			},
		}})
		parts = append(parts, part{kind: "place"})
	}
	_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items, ClientRequestToken: aws.String(holdToken(p))})
	if err == nil {
		return nil
	}
	return holdConflict(err, parts, st.naming)
}

// holdToken is the hold transaction's ClientRequestToken, derived from the
// request (its order id, one per hold request), the plan and how many of
// the request's transactions were cancelled. The SDK's own token lasts
// only for its retries of one call; this one also makes the hold's retry
// of the same plan after an unknown outcome (the SDK gave up on a lost
// answer) return the first success instead of failing on its own writes
// ("admission token already used"). Another plan gets another token: a
// token with other writes is refused (IdempotentParameterMismatch).
func holdToken(p inventory.HoldPlan) string {
	h := sha256.New()
	fmt.Fprintf(h, "hold\x00%s\x00%d\x00%s\x00%s", p.Order.ID, p.Cancelled, p.AdmissionID, strings.Join(p.Seats, ","))
	if p.Rate != nil {
		// Another window is another write of the limit item.
		fmt.Fprintf(h, "\x00rate:%d", p.Rate.Window.Unix())
	}
	for _, t := range p.GA {
		fmt.Fprintf(h, "\x00%d:%d", t.Shard, t.Quantity)
	}
	if p.MarkPlace {
		fmt.Fprint(h, "\x00place")
	}
	// DynamoDB takes at most 36 characters.
	return hex.EncodeToString(h.Sum(nil))[:36]
}

// holdConflict classifies a failed hold transaction. Failed conditions
// on the plan's items come back in an *inventory.Conflict inside a
// fault.ConditionFailed, so the planner can route around them; a
// conflicting transaction, a duplicate order id or a server that names no
// reason is fault.Contention (retry the plan), throttling
// fault.Unavailable. naming (may be nil) learns and tells whether the
// server names every failed condition (Conflict.SeatsComplete).
func holdConflict(err error, parts []part, naming *reasonNaming) error {
	const op = "create hold"
	codes, ok := txReasons(err)
	if !ok {
		return classify(op, err)
	}
	c := &inventory.Conflict{}
	kind := fault.ConditionFailed
	named := false
	first, conditions := -1, 0
	for i, code := range codes {
		k, failed := reasonKind(code)
		if !failed || i >= len(parts) {
			continue
		}
		named = true
		if first < 0 {
			first = i
		}
		if k != fault.ConditionFailed {
			if kind != fault.Contention {
				kind = k
			}
			continue
		}
		conditions++
		switch p := parts[i]; p.kind {
		case "seat":
			c.Seats = append(c.Seats, p.seat)
		case "shard":
			c.Shards = append(c.Shards, p.shard)
		case "limit":
			c.Limit = true
		case "admission":
			c.Admission = true
		case "idem":
			c.Idempotency = true
		case "place":
			c.Place = true
		case "order":
			kind = fault.Contention // a duplicate order id: retry with the same plan
		}
	}
	if !named {
		kind = fault.Contention
	}
	if conditions > 1 {
		naming.learnEvery()
	}
	// A server that names only the first failed condition evaluated the
	// items before it (they held) and none after it: the seats are known
	// when no seat comes after the first failure, or when the server is
	// known to name every failure.
	c.SeatsComplete = naming.every()
	if !c.SeatsComplete && first >= 0 {
		c.SeatsComplete = !slices.ContainsFunc(parts[first+1:], func(p part) bool { return p.kind == "seat" })
	}
	return fault.E(op, kind, c)
}

// reasonNaming remembers, per store, whether the server has named more
// than one failed condition in a cancellation: such a server (DynamoDB,
// moto, the embedded server's front) names every failed condition, one
// reason per item, whereas minidyn's own transactions
// (LOCAL_DDB_TRANSACTIONS=native) name the first only. Until it is
// known, a conflict is taken as naming every seat that refused only
// where no seat followed the first failure.
type reasonNaming struct{ all atomic.Bool }

func (r *reasonNaming) learnEvery() {
	if r != nil {
		r.all.Store(true)
	}
}

func (r *reasonNaming) every() bool { return r != nil && r.all.Load() }

func orderItem(o *orders.Order) (item, error) {
	it, err := attributevalue.MarshalMap(o)
	if err != nil {
		return nil, fmt.Errorf("encode order: %w", err)
	}
	maps.Copy(it, orderKey(o.ID))
	it["gsi1pk"], it["gsi1sk"] = s(accountOrdersPK(o.Account)), s(accountOrdersSK(o))
	it["expiresAtMs"] = n(o.ExpiresAt.UnixMilli())
	pk, sk := workIndex(*o, o.Status, o.CreatedAt)
	it["gsi2pk"], it["gsi2sk"] = s(pk), s(sk)
	return it, nil
}

func decodeOrder(it item) (orders.Order, error) {
	var o orders.Order
	if err := attributevalue.UnmarshalMap(it, &o); err != nil {
		return orders.Order{}, fmt.Errorf("decode order: %w", err)
	}
	return o, nil
}

// GetOrder reads an order with a strongly consistent read.
func (st *OrderStore) GetOrder(ctx context.Context, id string) (orders.Order, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(st.table), Key: orderKey(id), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return orders.Order{}, classify("get order "+id, err)
	}
	if out.Item == nil {
		return orders.Order{}, fault.E("get order "+id, fault.NotFound, nil)
	}
	return decodeOrder(out.Item)
}

// ListOrders queries gsi1 for an account's orders, newest first.
func (st *InventoryStore) ListOrders(ctx context.Context, account string, limit int) ([]orders.Order, error) {
	out, err := st.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(st.table),
		IndexName:                 aws.String(gsi1),
		KeyConditionExpression:    aws.String("gsi1pk = :p AND begins_with(gsi1sk, :o)"),
		ExpressionAttributeValues: item{":p": s(accountOrdersPK(account)), ":o": s(PrefixOrder)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
	})
	if err != nil {
		return nil, classify("list orders", err)
	}
	res := make([]orders.Order, 0, len(out.Items))
	for _, it := range out.Items {
		o, err := decodeOrder(it)
		if err != nil {
			return nil, err
		}
		res = append(res, o)
	}
	return res, nil
}

// GetIdempotency reads an idempotency record (consistent).
func (st *InventoryStore) GetIdempotency(ctx context.Context, account, k string) (inventory.IdempotencyRecord, bool, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(st.table), Key: idemKey(account, k), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return inventory.IdempotencyRecord{}, false, classify("get idempotency key", err)
	}
	if out.Item == nil {
		return inventory.IdempotencyRecord{}, false, nil
	}
	return inventory.IdempotencyRecord{Account: account, Key: k, Fingerprint: str(out.Item, "fingerprint"), OrderID: str(out.Item, "orderId")}, true, nil
}

// SeatHolders reads seats consistently.
func (st *InventoryStore) SeatHolders(ctx context.Context, eventID string, ids []string) (map[string]inventory.SeatState, error) {
	return st.readSeats(ctx, eventID, ids, true, true)
}

// SeatStates reads seats' states with eventually consistent reads
// (inventory.Store.SeatStates says what for).
func (st *InventoryStore) SeatStates(ctx context.Context, eventID string, ids []string) (map[string]inventory.SeatState, error) {
	return st.readSeats(ctx, eventID, ids, false, false)
}

// GAShards reads the available places of a GA section's shards consistently.
func (st *InventoryStore) GAShards(ctx context.Context, eventID, section string, shards int) ([]int, error) {
	counts, err := st.readShards(ctx, eventID, section, shards, true)
	if err != nil {
		return nil, err
	}
	avail := make([]int, shards)
	for i, c := range counts {
		avail[i] = c.available
	}
	return avail, nil
}

// ReleaseHold returns an order's places in one transaction conditional on
// the order still being PENDING_PAYMENT at its version and each seat still
// held by it; the seats' held markers go with them.
func (st *InventoryStore) ReleaseHold(ctx context.Context, o orders.Order, to orders.Status, seats []string, now time.Time) error {
	items := []types.TransactWriteItem{{Update: &types.Update{
		TableName:                aws.String(st.table),
		Key:                      orderKey(o.ID),
		ConditionExpression:      aws.String("#st = :pending AND version = :v"),
		UpdateExpression:         aws.String("SET #st = :to, version = version + :one, updatedAt = :now, gsi2pk = :wpk, gsi2sk = :wsk"),
		ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: item{
			":pending": s(string(orders.PendingPayment)), ":v": n(o.Version), ":to": s(string(to)),
			":one": n(1), ":now": s(now.Format(time.RFC3339Nano)),
			":wpk": s(workPK(o, to)), ":wsk": s(workSK(o, to, now)),
		},
	}}}
	for _, seat := range seats {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName:                aws.String(st.table),
			Key:                      SeatKey(o.EventID, seat),
			ConditionExpression:      aws.String("#st = :held AND orderId = :oid"),
			UpdateExpression:         aws.String("SET #st = :avail, version = version + :one REMOVE orderId, account, expiresAt"),
			ExpressionAttributeNames: map[string]string{"#st": "state"},
			ExpressionAttributeValues: item{
				":held": s(catalog.SeatHeld), ":oid": s(o.ID), ":avail": s(catalog.SeatAvailable), ":one": n(1),
			},
		}}, heldMarkerDelete(st.table, o.EventID, seat))
	}
	for _, t := range o.GATakes {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName:                 aws.String(st.table),
			Key:                       gaShardKey(o.EventID, o.Section, t.Shard),
			ConditionExpression:       aws.String("held >= :q"),
			UpdateExpression:          aws.String("SET available = available + :q, held = held - :q"),
			ExpressionAttributeValues: item{":q": n(int64(t.Quantity))},
		}})
	}
	items = append(items, st.limitCredit(o))
	_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err == nil {
		return nil
	}
	// Any failed condition means the order or one of its places changed
	// since the caller read them: a lost race, read again.
	op := "release hold of order " + o.ID
	if codes, ok := txReasons(err); ok {
		if k := txKind(codes); k != fault.ConditionFailed {
			return fault.E(op, k, err)
		}
		return fault.E(op, fault.Contention, err)
	}
	return classify(op, err)
}

// limitCredit gives an order's places back to its account's limit, never
// below zero.
func (st *base) limitCredit(o orders.Order) types.TransactWriteItem {
	q := int64(o.Places())
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                 aws.String(st.table),
		Key:                       LimitKey(o.EventID, o.Account),
		ConditionExpression:       aws.String("#c >= :q"),
		UpdateExpression:          aws.String("ADD #c :neg"),
		ExpressionAttributeNames:  map[string]string{"#c": "count"},
		ExpressionAttributeValues: item{":q": n(q), ":neg": n(-q)},
	}}
}
