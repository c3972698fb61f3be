package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/tickets"
)

var _ tickets.Store = (*TicketStore)(nil)

// Ticket item kinds (keys.go). Every hot path reads and writes by known
// key: ticket ids follow from the order (tickets.TicketID), the manifest
// from the order id, a scan record from the code and the nonce. Only the
// revocation list, which gate devices sync, is a Query.
//
//	TICKET#<ticketId>           TICKET         one ticket: eventId, orderId, seat, version, issuedAt;
//	                                           revokedVersion, revokedAt, revokeReason: the ticket is
//	                                           revoked while revokedVersion = version, so a re-issue
//	                                           (version + 1) restores it without a REMOVE; scanNonce,
//	                                           scannedAt, gate once admitted (the first scan wins by a
//	                                           condition on scanNonce); reissuedAt
//	ORDER#<orderId>             TICKETS        the order's ticket manifest: eventId, account, ticketIds
//	                                           (in seat order), issuedAt; written in the same
//	                                           transaction as the tickets
//	REVOKED#<eventId>           TICKET#<id>    the event's revocation list: codes of the ticket with
//	                                           version <= upToVersion are revoked; reason, revokedAt
//	SCAN#<ticketId>#<nonce>     SCAN           the answer given to one scan nonce (first put wins);
//	                                           ttl: garbage collection only
func ticketStamp(t time.Time) types.AttributeValue { return s(t.UTC().Format(time.RFC3339Nano)) }

func ticketTime(it item, name string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, str(it, name))
	if err != nil {
		return time.Time{}
	}
	return t
}

func ticketItem(t tickets.Ticket, issuedAt time.Time) item {
	it := ticketKey(t.ID)
	it["ticketId"], it["eventId"], it["orderId"], it["seat"] = s(t.ID), s(t.EventID), s(t.OrderID), s(t.Seat)
	it["version"], it["issuedAt"] = n(int64(t.Version)), ticketStamp(issuedAt)
	return it
}

func decodeTicket(it item) tickets.StoredTicket {
	t := tickets.StoredTicket{
		Ticket: tickets.Ticket{
			ID: str(it, "ticketId"), EventID: str(it, "eventId"), Seat: str(it, "seat"),
			OrderID: str(it, "orderId"), Version: int(num(it, "version")),
		},
		IssuedAt:  ticketTime(it, "issuedAt"),
		RevokedAt: ticketTime(it, "revokedAt"), RevokeReason: str(it, "revokeReason"),
		ScanNonce: str(it, "scanNonce"), ScannedAt: ticketTime(it, "scannedAt"), Gate: str(it, "gate"),
		TransferredTo: str(it, "transferredTo"),
	}
	if _, ok := it["revokedVersion"]; !ok || num(it, "revokedVersion") != num(it, "version") {
		t.RevokedAt, t.RevokeReason = time.Time{}, "" // revoked at an earlier version, restored since
	}
	return t
}

// CreateTickets writes the manifest first and the tickets after it in one
// transaction, each conditional on not existing. The manifest comes first
// because some servers (minidyn) name only the first failed condition.
func (st *TicketStore) CreateTickets(ctx context.Context, m tickets.Manifest, ts []tickets.Ticket) error {
	items := ticketCreates(st.table, m, ts)
	_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err == nil {
		return nil
	}
	op := "issue tickets for order " + m.OrderID
	reasons, err := ticketTxErr(err, op)
	if reasons == nil {
		return err
	}
	if reasons[0] == "ConditionalCheckFailed" {
		return fault.E(op, fault.Exists, nil)
	}
	for i, r := range reasons[1:] {
		if r == "ConditionalCheckFailed" && i < len(ts) {
			// The manifest is absent but a ticket exists: only a ticket id
			// collision or a hand-made item can do that. Do not overwrite.
			return fmt.Errorf("issue tickets: ticket %s exists without its order %s's manifest", ts[i].ID, m.OrderID)
		}
	}
	return fault.E(op, txKind(reasons), err)
}

// ticketTxErr interprets a failed transaction. It returns the cancellation
// reason codes when DynamoDB named them, else nil and the error to return:
// fault.Contention when the transaction was cancelled without a reason,
// the classified cause otherwise.
func ticketTxErr(err error, op string) ([]string, error) {
	codes, ok := txReasons(err)
	if !ok {
		return nil, classify(op, err)
	}
	for _, c := range codes {
		if _, failed := reasonKind(c); failed {
			return codes, nil
		}
	}
	return nil, fault.E(op, fault.Contention, err)
}

// OrderTickets reads the manifest, then its tickets, both strongly
// consistent.
func (st *TicketStore) OrderTickets(ctx context.Context, orderID string) (tickets.Manifest, []tickets.StoredTicket, bool, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(st.table), Key: TicketManifestKey(orderID), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return tickets.Manifest{}, nil, false, classify("get ticket manifest", err)
	}
	if out.Item == nil {
		return tickets.Manifest{}, nil, false, nil
	}
	m := tickets.Manifest{
		OrderID: str(out.Item, "orderId"), EventID: str(out.Item, "eventId"), Account: str(out.Item, "account"),
		IssuedAt: ticketTime(out.Item, "issuedAt"),
	}
	if l, ok := out.Item["ticketIds"].(*types.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			if id, ok := v.(*types.AttributeValueMemberS); ok {
				m.TicketIDs = append(m.TicketIDs, id.Value)
			}
		}
	}
	keys := make([]item, len(m.TicketIDs))
	for i, id := range m.TicketIDs {
		keys[i] = ticketKey(id)
	}
	items, err := st.batchGet(ctx, keys, "", nil, true)
	if err != nil {
		return tickets.Manifest{}, nil, false, classify("get tickets", err)
	}
	byID := make(map[string]tickets.StoredTicket, len(items))
	for _, it := range items {
		t := decodeTicket(it)
		byID[t.ID] = t
	}
	ts := make([]tickets.StoredTicket, len(m.TicketIDs))
	for i, id := range m.TicketIDs {
		t, ok := byID[id]
		if !ok {
			return tickets.Manifest{}, nil, false, fmt.Errorf("order %s: ticket %s is listed but missing", orderID, id)
		}
		ts[i] = t
	}
	return m, ts, true, nil
}

// RevokeTickets is one transaction of two items per ticket.
func (st *TicketStore) RevokeTickets(ctx context.Context, ts []tickets.StoredTicket, reason string, now time.Time) error {
	var items []types.TransactWriteItem
	for _, t := range ts {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName:                aws.String(st.table),
			Key:                      ticketKey(t.ID),
			ConditionExpression:      aws.String("#v = :v AND (attribute_not_exists(#rv) OR #rv <> :v)"),
			UpdateExpression:         aws.String("SET #rv = :v, #ra = :now, #rr = :r"),
			ExpressionAttributeNames: map[string]string{"#v": "version", "#rv": "revokedVersion", "#ra": "revokedAt", "#rr": "revokeReason"},
			ExpressionAttributeValues: item{
				":v": n(int64(t.Version)), ":now": ticketStamp(now), ":r": s(reason),
			},
		}}, revocationUpdate(st.table, t, t.Version, reason, now))
	}
	return st.ticketTx(ctx, items, "revoke tickets")
}

// ReissueTickets is one transaction of two items per ticket. Raising the
// version is what lifts a revocation (revokedVersion no longer matches):
// no REMOVE, which minidyn v0.8.2 accepts but silently does not apply.
func (st *TicketStore) ReissueTickets(ctx context.Context, ts []tickets.StoredTicket, reason string, now time.Time) error {
	var items []types.TransactWriteItem
	for _, t := range ts {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName:                aws.String(st.table),
			Key:                      ticketKey(t.ID),
			ConditionExpression:      aws.String("#v = :v"),
			UpdateExpression:         aws.String("SET #v = :next, #ri = :now"),
			ExpressionAttributeNames: map[string]string{"#v": "version", "#ri": "reissuedAt"},
			ExpressionAttributeValues: item{
				":v": n(int64(t.Version)), ":next": n(int64(t.Version) + 1), ":now": ticketStamp(now),
			},
		}}, revocationUpdate(st.table, t, t.Version, "re-issued: "+reason, now))
	}
	return st.ticketTx(ctx, items, "reissue tickets")
}

// revocationUpdate lists ticket t as revoked up to version upTo. Versions
// only grow and every write of the entry runs in a transaction conditional
// on the ticket's version, so upToVersion only grows too.
func revocationUpdate(table string, t tickets.StoredTicket, upTo int, reason string, now time.Time) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:        aws.String(table),
		Key:              revocationKey(t.EventID, t.ID),
		UpdateExpression: aws.String("SET #t = :t, #e = :e, #o = :o, #s = :s, #u = :u, #r = :r, #at = :now"),
		ExpressionAttributeNames: map[string]string{
			"#t": "ticketId", "#e": "eventId", "#o": "orderId", "#s": "seat", "#u": "upToVersion", "#r": "reason", "#at": "revokedAt",
		},
		ExpressionAttributeValues: item{
			":t": s(t.ID), ":e": s(t.EventID), ":o": s(t.OrderID), ":s": s(t.Seat),
			":u": n(int64(upTo)), ":r": s(reason), ":now": ticketStamp(now),
		},
	}}
}

// ticketTx runs a revoke or re-issue transaction: a failed condition on a
// ticket's version or state is a lost race, fault.Contention (the service
// reads again and retries); throttling is fault.Unavailable.
func (st *TicketStore) ticketTx(ctx context.Context, items []types.TransactWriteItem, op string) error {
	if len(items) == 0 {
		return nil
	}
	_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err == nil {
		return nil
	}
	reasons, err := ticketTxErr(err, op)
	if reasons == nil {
		return err
	}
	if k := txKind(reasons); k != fault.ConditionFailed {
		return fault.Errorf(op, k, "%v: %w", reasons, err)
	}
	return fault.Errorf(op, fault.Contention, "%v: %w", reasons, err)
}

// Admit is one conditional UpdateItem: the first scan wins. When the
// condition fails, the stored ticket comes back with the error
// (ReturnValuesOnConditionCheckFailure) where the server supports it, else
// from one consistent read.
func (st *TicketStore) Admit(ctx context.Context, t tickets.Ticket, sc tickets.Scan) (tickets.AdmitOutcome, error) {
	set := "SET #sn = :n, #sa = :at"
	vals := item{":n": s(sc.Nonce), ":at": ticketStamp(sc.At), ":v": n(int64(t.Version)), ":e": s(t.EventID)}
	names := map[string]string{"#sn": "scanNonce", "#sa": "scannedAt", "#v": "version", "#e": "eventId", "#rv": "revokedVersion"}
	if sc.Gate != "" {
		set += ", #g = :g"
		names["#g"], vals[":g"] = "gate", s(sc.Gate)
	}
	k := ticketKey(t.ID)
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(st.table),
		Key:                                 k,
		ConditionExpression:                 aws.String("attribute_exists(pk) AND #v = :v AND #e = :e AND (attribute_not_exists(#rv) OR #rv <> :v) AND attribute_not_exists(#sn)"),
		UpdateExpression:                    aws.String(set),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           vals,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return tickets.AdmitOutcome{Admitted: true}, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return tickets.AdmitOutcome{}, classify(fmt.Sprintf("admit ticket %s", t.ID), err)
	}
	cur := ccf.Item
	if cur == nil {
		out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.table), Key: k, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return tickets.AdmitOutcome{}, classify(fmt.Sprintf("read ticket %s", t.ID), err)
		}
		cur = out.Item
	}
	if cur == nil {
		return tickets.AdmitOutcome{}, nil
	}
	return tickets.AdmitOutcome{Found: true, Current: decodeTicket(cur)}, nil
}

// RecordScan is one conditional PutItem; the loser reads the winner.
func (st *TicketStore) RecordScan(ctx context.Context, r tickets.ScanRecord) (tickets.ScanRecord, error) {
	k := scanKey(r.TicketID, r.Nonce)
	it := scanKey(r.TicketID, r.Nonce)
	it["ticketId"], it["nonce"], it["result"], it["scannedAt"] = s(r.TicketID), s(r.Nonce), s(string(r.Result)), ticketStamp(r.At)
	if r.Seat != "" {
		it["seat"] = s(r.Seat)
	}
	if r.Gate != "" {
		it["gate"] = s(r.Gate)
	}
	if r.Reason != "" {
		it["reason"] = s(r.Reason)
	}
	if !r.Expires.IsZero() {
		it["ttl"] = n(r.Expires.Unix())
	}
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(st.table),
		Item:                                it,
		ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return r, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return tickets.ScanRecord{}, classify("record scan", err)
	}
	prev := ccf.Item
	if prev == nil {
		out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.table), Key: k, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return tickets.ScanRecord{}, classify("read scan record", err)
		}
		if out.Item == nil {
			// Deleted (TTL) between the put and the read: try again.
			return tickets.ScanRecord{}, fault.E("record scan", fault.Contention, nil)
		}
		prev = out.Item
	}
	return tickets.ScanRecord{
		TicketID: str(prev, "ticketId"), Nonce: str(prev, "nonce"), Result: tickets.Outcome(str(prev, "result")),
		Seat: str(prev, "seat"), Gate: str(prev, "gate"), Reason: str(prev, "reason"), At: ticketTime(prev, "scannedAt"),
		Expires: time.Unix(num(prev, "ttl"), 0).UTC(),
	}, nil
}

// Ticket is one consistent GetItem.
func (st *TicketStore) Ticket(ctx context.Context, id string) (tickets.StoredTicket, bool, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.table), Key: ticketKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return tickets.StoredTicket{}, false, classify("get ticket", err)
	}
	if out.Item == nil {
		return tickets.StoredTicket{}, false, nil
	}
	return decodeTicket(out.Item), true, nil
}

// Revocations queries the event's revocation list partition.
func (st *TicketStore) Revocations(ctx context.Context, eventID string) ([]tickets.Revocation, error) {
	var out []tickets.Revocation
	var start item
	for {
		page, err := st.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(st.table),
			KeyConditionExpression:    aws.String("pk = :p"),
			ExpressionAttributeValues: item{":p": s(revokedPK(eventID))},
			ConsistentRead:            aws.Bool(true),
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return nil, classify("query revocations", err)
		}
		for _, it := range page.Items {
			out = append(out, tickets.Revocation{
				TicketID: str(it, "ticketId"), EventID: str(it, "eventId"), OrderID: str(it, "orderId"),
				Seat: str(it, "seat"), UpToVersion: int(num(it, "upToVersion")), Reason: str(it, "reason"),
				RevokedAt: ticketTime(it, "revokedAt"),
			})
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		start = page.LastEvaluatedKey
	}
}
