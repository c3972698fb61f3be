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
	"github.com/stararena/stararena/internal/tickets"
)

// IssueOrder is the order workflow's issuing step as one transaction: the
// manifest, every ticket (each conditional on not existing) and the order
// PAID or ISSUE_FAILED@version → ISSUED. Tickets therefore never exist
// without their order being ISSUED, and a refund that moved the order
// first leaves no ticket to revoke. The manifest comes first (some servers
// name only the first failed condition: "issued before" must win), the
// order last.
//
// Errors: fault.Exists when the manifest exists (tickets issued by an
// earlier path), fault.ConditionFailed when the order is no longer at
// o.Status@o.Version, fault.Contention on a transaction conflict. The
// order keeps the ticket ids (ticketIds) for its owner's view.
func (st *TicketStore) IssueOrder(ctx context.Context, o orders.Order, m tickets.Manifest, ts []tickets.Ticket, now time.Time) error {
	up, err := orderUpdate(o, []orders.Status{orders.Paid, orders.IssueFailed}, orders.Issued,
		map[string]any{"issuedAt": now, "ticketIds": m.TicketIDs}, now)
	if err != nil {
		return err
	}
	up.TableName = aws.String(st.table)
	items := append(ticketCreates(st.table, m, ts), types.TransactWriteItem{Update: up})
	_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err == nil {
		return nil
	}
	op := "issue order " + o.ID
	reasons, err := ticketTxErr(err, op)
	if reasons == nil {
		return err
	}
	last := len(items) - 1
	for i, r := range reasons {
		if r != "ConditionalCheckFailed" {
			continue
		}
		switch {
		case i == 0:
			return fault.E(op, fault.Exists, nil)
		case i == last:
			return fault.E(op, fault.ConditionFailed, fmt.Errorf("order %s is no longer %s at version %d", o.ID, o.Status, o.Version))
		default:
			return fmt.Errorf("issue tickets: ticket %s exists without its order %s's manifest", ts[i-1].ID, m.OrderID)
		}
	}
	return fault.E(op, txKind(reasons), nil)
}

// ticketCreates are the puts of a manifest and its tickets, each
// conditional on not existing, manifest first.
func ticketCreates(table string, m tickets.Manifest, ts []tickets.Ticket) []types.TransactWriteItem {
	ids := make([]types.AttributeValue, len(m.TicketIDs))
	for i, id := range m.TicketIDs {
		ids[i] = s(id)
	}
	mi := TicketManifestKey(m.OrderID)
	mi["orderId"], mi["eventId"], mi["account"] = s(m.OrderID), s(m.EventID), s(m.Account)
	mi["ticketIds"], mi["issuedAt"] = &types.AttributeValueMemberL{Value: ids}, ticketStamp(m.IssuedAt)
	notExists := aws.String("attribute_not_exists(pk)")
	items := make([]types.TransactWriteItem, 0, len(ts)+2)
	items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(table), Item: mi, ConditionExpression: notExists}})
	for _, t := range ts {
		items = append(items, types.TransactWriteItem{Put: &types.Put{
			TableName: aws.String(table), Item: ticketItem(t, m.IssuedAt), ConditionExpression: notExists,
		}})
	}
	return items
}

// TicketsByID reads tickets by id (strongly consistent), in the order
// asked; a ticket that does not exist is left out.
func (st *TicketStore) TicketsByID(ctx context.Context, ids []string) ([]tickets.StoredTicket, error) {
	keys := make([]item, len(ids))
	for i, id := range ids {
		keys[i] = ticketKey(id)
	}
	items, err := st.batchGet(ctx, keys, "", nil, true)
	if err != nil {
		return nil, classify("get tickets", err)
	}
	byID := make(map[string]tickets.StoredTicket, len(items))
	for _, it := range items {
		t := decodeTicket(it)
		byID[t.ID] = t
	}
	out := make([]tickets.StoredTicket, 0, len(ids))
	for _, id := range ids {
		if t, ok := byID[id]; ok {
			out = append(out, t)
		}
	}
	return out, nil
}
