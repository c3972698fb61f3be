package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/waitlist"
)

var _ waitlist.Store = (*WaitlistStore)(nil)

// WaitlistMeta reads the list item (strongly consistent: a sweep's
// version must be the current one).
func (st *WaitlistStore) WaitlistMeta(ctx context.Context, eventID string) (waitlist.Meta, bool, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.table), Key: waitlistMetaKey(eventID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return waitlist.Meta{}, false, classify("read waiting list "+eventID, err)
	}
	if out.Item == nil {
		return waitlist.Meta{EventID: eventID}, false, nil
	}
	it := out.Item
	return waitlist.Meta{EventID: eventID, Next: num(it, "next"), Version: num(it, "version"), OfferMinutes: int(num(it, "offerMinutes")),
		Open: int(num(it, "open")), SeenThrough: num(it, "seenThrough")}, true, nil
}

// NextWaitlistSeq raises the join counter. Joins come after a sell-out,
// a trickle next to the rush: one counter item is enough.
func (st *WaitlistStore) NextWaitlistSeq(ctx context.Context, eventID string) (int64, error) {
	out, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.table),
		Key:                       waitlistMetaKey(eventID),
		UpdateExpression:          aws.String("SET #next = if_not_exists(#next, :zero) + :one, version = if_not_exists(version, :zero)"),
		ExpressionAttributeNames:  map[string]string{"#next": "next"},
		ExpressionAttributeValues: item{":zero": n(0), ":one": n(1)},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, classify("count waiting list join "+eventID, err)
	}
	return num(out.Attributes, "next"), nil
}

func waitlistItem(e waitlist.Entry) item {
	it := waitlistFanKey(e.EventID, e.Account)
	it["eventId"], it["account"], it["email"] = s(e.EventID), s(e.Account), s(e.Email)
	it["seq"], it["quantity"], it["status"] = n(e.Seq), n(int64(e.Quantity)), s(e.Status)
	it["joinedAt"], it["updatedAt"] = stamp(e.JoinedAt), stamp(e.UpdatedAt)
	return it
}

func waitlistEntry(it item) waitlist.Entry {
	e := waitlist.Entry{EventID: str(it, "eventId"), Account: str(it, "account"), Email: str(it, "email"), Seq: num(it, "seq"),
		Quantity: int(num(it, "quantity")), Status: str(it, "status"), JoinedAt: parseStamp(it, "joinedAt"), UpdatedAt: parseStamp(it, "updatedAt")}
	if id := str(it, "offerId"); id != "" {
		e.Offer = &waitlist.Offer{ID: id, OfferedAt: parseStamp(it, "offeredAt"), ExpiresAt: parseStamp(it, "offerExpiresAt"), UsedAt: parseStamp(it, "usedAt")}
	}
	return e
}

// PutWaitlistEntry writes e on condition that the account has no open
// entry: one entry per account, however many joins race. A fan who left,
// bought or let an offer lapse may join again, at the back.
func (st *WaitlistStore) PutWaitlistEntry(ctx context.Context, e waitlist.Entry) (waitlist.Entry, bool, error) {
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.table), Item: waitlistItem(e),
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR NOT (#s IN (:w, :o))"),
		ExpressionAttributeNames:  map[string]string{"#s": "status"},
		ExpressionAttributeValues: item{":w": s(waitlist.Waiting), ":o": s(waitlist.Offered)}})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		prior, ok, err := st.WaitlistEntry(ctx, e.EventID, e.Account)
		if err != nil {
			return waitlist.Entry{}, false, err
		}
		if !ok {
			return waitlist.Entry{}, false, fault.E("join waiting list", fault.Contention, nil)
		}
		return prior, false, nil
	}
	if err != nil {
		return waitlist.Entry{}, false, classify("join waiting list "+e.EventID, err)
	}
	return e, true, nil
}

// WaitlistEntry reads one account's entry.
func (st *WaitlistStore) WaitlistEntry(ctx context.Context, eventID, account string) (waitlist.Entry, bool, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.table), Key: waitlistFanKey(eventID, account), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return waitlist.Entry{}, false, classify("read waiting list entry", err)
	}
	if out.Item == nil {
		return waitlist.Entry{}, false, nil
	}
	return waitlistEntry(out.Item), true, nil
}

// WaitlistEntries lists the event's entries (strongly consistent, every
// page).
func (st *WaitlistStore) WaitlistEntries(ctx context.Context, eventID string) ([]waitlist.Entry, error) {
	p := dynamodb.NewQueryPaginator(st.db, &dynamodb.QueryInput{
		TableName:                 aws.String(st.table),
		KeyConditionExpression:    aws.String("pk = :p AND begins_with(sk, :f)"),
		ExpressionAttributeValues: item{":p": s(waitlistPK(eventID)), ":f": s(skWaitlistFan)},
		ConsistentRead:            aws.Bool(true),
	})
	var out []waitlist.Entry
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, classify("list waiting list "+eventID, err)
		}
		for _, it := range page.Items {
			out = append(out, waitlistEntry(it))
		}
	}
	return out, nil
}

// setStatus changes an entry's status on a condition over its current
// one.
func (st *WaitlistStore) setStatus(ctx context.Context, op, eventID, account, to string, at time.Time, cond string, vals item, extra string) error {
	vals[":to"], vals[":at"] = s(to), stamp(at)
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.table),
		Key:                       waitlistFanKey(eventID, account),
		UpdateExpression:          aws.String("SET #s = :to, updatedAt = :at" + extra),
		ConditionExpression:       aws.String("attribute_exists(pk) AND " + cond),
		ExpressionAttributeNames:  map[string]string{"#s": "status"},
		ExpressionAttributeValues: vals,
	})
	if err != nil {
		return classify(fmt.Sprintf("%s %s", op, eventID), err)
	}
	return nil
}

// LeaveWaitlist marks an open entry LEFT.
func (st *WaitlistStore) LeaveWaitlist(ctx context.Context, eventID, account string, at time.Time) error {
	return st.setStatus(ctx, "leave waiting list", eventID, account, waitlist.Left, at, "#s IN (:w, :o)",
		item{":w": s(waitlist.Waiting), ":o": s(waitlist.Offered)}, "")
}

// ExpireWaitlistOffer lapses the entry's offer offerID.
func (st *WaitlistStore) ExpireWaitlistOffer(ctx context.Context, eventID, account, offerID string, at time.Time) error {
	return st.setStatus(ctx, "lapse waiting list offer", eventID, account, waitlist.Expired, at, "#s = :o AND offerId = :id",
		item{":o": s(waitlist.Offered), ":id": s(offerID)}, "")
}

// UseWaitlistOffer records that a hold used the entry's offer offerID.
func (st *WaitlistStore) UseWaitlistOffer(ctx context.Context, eventID, account, offerID string, at time.Time) error {
	return st.setStatus(ctx, "use waiting list offer", eventID, account, waitlist.Used, at, "#s = :o AND offerId = :id",
		item{":o": s(waitlist.Offered), ":id": s(offerID)}, ", usedAt = :at")
}

// SetWaitlistWindow sets the offer window (creating the list item).
func (st *WaitlistStore) SetWaitlistWindow(ctx context.Context, eventID string, minutes int) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.table),
		Key:                       waitlistMetaKey(eventID),
		UpdateExpression:          aws.String("SET offerMinutes = :m"),
		ExpressionAttributeValues: item{":m": n(int64(minutes))},
	})
	if err != nil {
		return classify("set waiting list window "+eventID, err)
	}
	return nil
}

// OfferWaitlist is one transaction: the list's version goes from version
// to version+1, and the WAITING entry gets its offer. A concurrent sweep
// that offered first moved the version, and this one is refused whole.
func (st *WaitlistStore) OfferWaitlist(ctx context.Context, eventID, account string, version int64, o waitlist.Offer) error {
	_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{
			TableName:                 aws.String(st.table),
			Key:                       waitlistMetaKey(eventID),
			UpdateExpression:          aws.String("SET version = :next"),
			ConditionExpression:       aws.String("version = :v"),
			ExpressionAttributeValues: item{":v": n(version), ":next": n(version + 1)},
		}},
		{Update: &types.Update{
			TableName:                aws.String(st.table),
			Key:                      waitlistFanKey(eventID, account),
			UpdateExpression:         aws.String("SET #s = :o, offerId = :id, offeredAt = :at, offerExpiresAt = :exp, updatedAt = :at"),
			ConditionExpression:      aws.String("#s = :w"),
			ExpressionAttributeNames: map[string]string{"#s": "status"},
			ExpressionAttributeValues: item{":o": s(waitlist.Offered), ":w": s(waitlist.Waiting), ":id": s(o.ID),
				":at": stamp(o.OfferedAt), ":exp": stamp(o.ExpiresAt)},
		}},
	}})
	if err != nil {
		if reasons, ok := txReasons(err); ok {
			return fault.E("offer waiting list place", txKind(reasons), err)
		}
		return classify("offer waiting list place "+eventID, err)
	}
	return nil
}

// SaveWaitlistCount records a sweep's count unless another sweep moved
// the version since.
func (st *WaitlistStore) SaveWaitlistCount(ctx context.Context, eventID string, version int64, open int, seenThrough int64) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.table),
		Key:                       waitlistMetaKey(eventID),
		UpdateExpression:          aws.String("SET #open = :open, seenThrough = :seen"),
		ConditionExpression:       aws.String("version = :v"),
		ExpressionAttributeNames:  map[string]string{"#open": "open"},
		ExpressionAttributeValues: item{":v": n(version), ":open": n(int64(open)), ":seen": n(seenThrough)},
	})
	if err != nil {
		return classify("count waiting list "+eventID+" at version "+strconv.FormatInt(version, 10), err)
	}
	return nil
}
