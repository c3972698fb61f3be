package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/tickets"
	"github.com/stararena/stararena/internal/transfers"
)

// TransferStore holds ticket transfers (ADR 29).
//
//	TRANSFER#<id>    TRANSFER    transferId, ticketId, eventId, orderId, seat, from, fromEmail,
//	                             to, toKind (account | email), status, createdAt, decidedAt,
//	                             acceptedBy, newTicketId; gsi1 TRANSFERSTO#<kind>:<to>,
//	                             gsi2 TRANSFERSFROM#<from>, both sorted <createdAt>#<id>
//
// The offered ticket carries offeredIn = the pending transfer's id ("" when
// none): an offer is conditional on it being empty, so a ticket is in at
// most one pending transfer, and accept and cancel are conditional on it
// naming theirs. An accepted transfer's old ticket carries transferredTo,
// the recipient's ticket id.
type TransferStore struct{ base }

// maxTransfersListed bounds one listing.
const maxTransfersListed = limits.TransfersListed

func transferItem(t transfers.Transfer) item {
	it := transferKey(t.ID)
	kind := "account"
	if t.ToEmail {
		kind = "email"
	}
	it["transferId"], it["ticketId"], it["eventId"], it["orderId"], it["seat"] = s(t.ID), s(t.TicketID), s(t.EventID), s(t.OrderID), s(t.Seat)
	it["from"], it["fromEmail"], it["to"], it["toKind"] = s(t.From), s(t.FromEmail), s(t.To), s(kind)
	it["status"], it["createdAt"] = s(string(t.Status)), rfc(t.CreatedAt)
	sk := t.CreatedAt.UTC().Format(time.RFC3339Nano) + "#" + esc(t.ID)
	it["gsi1pk"], it["gsi1sk"] = s(transfersToPK(t.RecipientKey())), s(sk)
	it["gsi2pk"], it["gsi2sk"] = s(transfersFromPK(t.From)), s(sk)
	return it
}

func decodeTransfer(it item) transfers.Transfer {
	return transfers.Transfer{
		ID: str(it, "transferId"), TicketID: str(it, "ticketId"), EventID: str(it, "eventId"), OrderID: str(it, "orderId"),
		Seat: str(it, "seat"), From: str(it, "from"), FromEmail: str(it, "fromEmail"), To: str(it, "to"),
		ToEmail: str(it, "toKind") == "email", Status: transfers.Status(str(it, "status")),
		CreatedAt: ticketTime(it, "createdAt"), DecidedAt: ticketTime(it, "decidedAt"),
		AcceptedBy: str(it, "acceptedBy"), NewTicketID: str(it, "newTicketId"),
	}
}

// Offer is one transaction: the transfer (first: servers that name only
// the first failed condition still tell a retry from a lost race) and the
// ticket's offer marker.
func (st *TransferStore) Offer(ctx context.Context, t transfers.Transfer, version int) error {
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(st.table), Item: transferItem(t), ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Update: &types.Update{
			TableName: aws.String(st.table), Key: ticketKey(t.TicketID),
			ConditionExpression: aws.String("#v = :v AND (attribute_not_exists(#rv) OR #rv <> :v) AND attribute_not_exists(#sn) AND " +
				"attribute_not_exists(#tt) AND (attribute_not_exists(#oi) OR #oi = :none)"),
			UpdateExpression: aws.String("SET #oi = :id"),
			ExpressionAttributeNames: map[string]string{"#v": "version", "#rv": "revokedVersion", "#sn": "scanNonce",
				"#tt": "transferredTo", "#oi": "offeredIn"},
			ExpressionAttributeValues: item{":v": n(int64(version)), ":none": s(""), ":id": s(t.ID)},
		}},
	}
	return st.transferTx(ctx, items, "offer transfer "+t.ID, transfers.ErrNotPending, transfers.ErrTicketChanged)
}

// Cancel is one transaction: the transfer's state, then the ticket's offer
// marker cleared.
func (st *TransferStore) Cancel(ctx context.Context, t transfers.Transfer, now time.Time) error {
	items := []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: aws.String(st.table), Key: transferKey(t.ID),
			ConditionExpression:       aws.String("#st = :pending"),
			UpdateExpression:          aws.String("SET #st = :cancelled, #da = :now"),
			ExpressionAttributeNames:  map[string]string{"#st": "status", "#da": "decidedAt"},
			ExpressionAttributeValues: item{":pending": s(string(transfers.Pending)), ":cancelled": s(string(transfers.Cancelled)), ":now": rfc(now)},
		}},
		{Update: &types.Update{
			TableName: aws.String(st.table), Key: ticketKey(t.TicketID),
			ConditionExpression:       aws.String("#oi = :id"),
			UpdateExpression:          aws.String("SET #oi = :none"),
			ExpressionAttributeNames:  map[string]string{"#oi": "offeredIn"},
			ExpressionAttributeValues: item{":id": s(t.ID), ":none": s("")},
		}},
	}
	return st.transferTx(ctx, items, "cancel transfer "+t.ID, transfers.ErrNotPending, transfers.ErrTicketChanged)
}

// Accept is one transaction of six items, in the order the refusals are
// told apart: the transfer, the old ticket (revoked "transferred"), its
// revocation-list entry, the new ticket, the buyer's order (still ISSUED)
// and the recipient's per-event count.
func (st *TransferStore) Accept(ctx context.Context, a transfers.Acceptance) error {
	t, old := a.Transfer, a.Old
	now := t.DecidedAt
	newTicket := ticketItem(a.New, now)
	newTicket["receivedIn"] = s(t.ID)
	items := []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: aws.String(st.table), Key: transferKey(t.ID),
			ConditionExpression: aws.String("#st = :pending"),
			UpdateExpression:    aws.String("SET #st = :accepted, #da = :now, #ab = :by, #nt = :nt"),
			ExpressionAttributeNames: map[string]string{"#st": "status", "#da": "decidedAt", "#ab": "acceptedBy",
				"#nt": "newTicketId"},
			ExpressionAttributeValues: item{":pending": s(string(transfers.Pending)), ":accepted": s(string(transfers.Accepted)),
				":now": rfc(now), ":by": s(t.AcceptedBy), ":nt": s(t.NewTicketID)},
		}},
		{Update: &types.Update{
			TableName: aws.String(st.table), Key: ticketKey(old.ID),
			ConditionExpression: aws.String("#v = :v AND (attribute_not_exists(#rv) OR #rv <> :v) AND attribute_not_exists(#sn) AND " +
				"attribute_not_exists(#tt) AND #oi = :id"),
			UpdateExpression: aws.String("SET #rv = :v, #ra = :now, #rr = :r, #tt = :nt, #oi = :none"),
			ExpressionAttributeNames: map[string]string{"#v": "version", "#rv": "revokedVersion", "#sn": "scanNonce",
				"#tt": "transferredTo", "#oi": "offeredIn", "#ra": "revokedAt", "#rr": "revokeReason"},
			ExpressionAttributeValues: item{":v": n(int64(old.Version)), ":id": s(t.ID), ":none": s(""), ":now": ticketStamp(now),
				":r": s(tickets.ReasonTransferred), ":nt": s(a.New.ID)},
		}},
		revocationUpdate(st.table, old, old.Version, tickets.ReasonTransferred, now),
		{Put: &types.Put{TableName: aws.String(st.table), Item: newTicket, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{ConditionCheck: &types.ConditionCheck{
			TableName: aws.String(st.table), Key: orderKey(t.OrderID),
			ConditionExpression:       aws.String("#st = :issued"),
			ExpressionAttributeNames:  map[string]string{"#st": "status"},
			ExpressionAttributeValues: item{":issued": s(string(orders.Issued))},
		}},
		{Update: &types.Update{
			TableName: aws.String(st.table), Key: LimitKey(t.EventID, t.AcceptedBy),
			ConditionExpression:       aws.String("attribute_not_exists(#c) OR #c <= :room"),
			UpdateExpression:          aws.String("ADD #c :one"),
			ExpressionAttributeNames:  map[string]string{"#c": "count"},
			ExpressionAttributeValues: item{":one": n(1), ":room": n(int64(a.LimitMax) - 1)},
		}},
	}
	return st.transferTx(ctx, items, "accept transfer "+t.ID,
		transfers.ErrNotPending, transfers.ErrTicketChanged, nil, fmt.Errorf("ticket %s exists already", a.New.ID),
		transfers.ErrOrderChanged, transfers.ErrLimit)
}

// transferTx runs items; a failed condition on item i is refusals[i]
// (nil: not expected to fail, a plain error). Throttling and conflicts
// keep their fault kinds, for the service's retry.
func (st *TransferStore) transferTx(ctx context.Context, items []types.TransactWriteItem, op string, refusals ...error) error {
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
	for i, r := range reasons {
		if r != "ConditionalCheckFailed" {
			continue
		}
		if i < len(refusals) && refusals[i] != nil {
			return fmt.Errorf("%s: %w", op, refusals[i])
		}
		return fmt.Errorf("%s: item %d's condition failed: %v", op, i, reasons)
	}
	return fault.Errorf(op, fault.Contention, "%v: %w", reasons, err)
}

// Transfer is one consistent GetItem.
func (st *TransferStore) Transfer(ctx context.Context, id string) (transfers.Transfer, bool, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.table), Key: transferKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return transfers.Transfer{}, false, classify("get transfer", err)
	}
	if out.Item == nil {
		return transfers.Transfer{}, false, nil
	}
	return decodeTransfer(out.Item), true, nil
}

// To queries gsi1 once per recipient key and merges, newest first.
func (st *TransferStore) To(ctx context.Context, keys []string) ([]transfers.Transfer, error) {
	var out []transfers.Transfer
	for _, k := range keys {
		ts, err := st.list(ctx, gsi1, "gsi1pk", transfersToPK(k))
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
	}
	newestFirst(out)
	if len(out) > maxTransfersListed {
		out = out[:maxTransfersListed]
	}
	return out, nil
}

// From queries gsi2, newest first.
func (st *TransferStore) From(ctx context.Context, account string) ([]transfers.Transfer, error) {
	return st.list(ctx, gsi2, "gsi2pk", transfersFromPK(account))
}

func (st *TransferStore) list(ctx context.Context, index, attr, pk string) ([]transfers.Transfer, error) {
	p := dynamodb.NewQueryPaginator(st.db, &dynamodb.QueryInput{
		TableName:                 aws.String(st.table),
		IndexName:                 aws.String(index),
		KeyConditionExpression:    aws.String(attr + " = :p"),
		ExpressionAttributeValues: item{":p": s(pk)},
		ScanIndexForward:          aws.Bool(false),
	})
	out := []transfers.Transfer{}
	for p.HasMorePages() && len(out) < maxTransfersListed {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, classify("list transfers", err)
		}
		for _, it := range page.Items {
			if len(out) < maxTransfersListed {
				out = append(out, decodeTransfer(it))
			}
		}
	}
	return out, nil
}

func newestFirst(ts []transfers.Transfer) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].CreatedAt.After(ts[j-1].CreatedAt); j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}
