package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/mail"
)

// mailKey is the marker of one message cause.
func mailKey(orderID string, kind mail.Kind) item { return key(PrefixMail+esc(orderID), string(kind)) }

// mailTTL keeps a marker well past any redelivery: SQS keeps a message at
// most 14 days.
const mailTTL = 30 * 24 * time.Hour

// ClaimMail writes the cause's marker as SENDING until leaseUntil, on the
// condition that it does not exist or is SENDING under a lease that ran
// out: of two deliveries of one cause, one claims it. A refused claim
// learns the marker's state from the refusal itself.
func (st *MailStore) ClaimMail(ctx context.Context, orderID string, kind mail.Kind, now, leaseUntil time.Time) (mail.Claim, error) {
	// An update rather than a put, for the same effect on the marker's
	// four attributes: servers that return the refused item do so for
	// updates more widely than for puts.
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(st.table), Key: mailKey(orderID, kind),
		UpdateExpression:         aws.String("SET #s = :sending, leaseUntil = :until, claimedAt = :at, #ttl = :ttl"),
		ConditionExpression:      aws.String("attribute_not_exists(pk) OR (#s = :sending AND leaseUntil < :now)"),
		ExpressionAttributeNames: map[string]string{"#s": "status", "#ttl": "ttl"},
		ExpressionAttributeValues: item{":sending": s(mail.StatusSending), ":now": n(now.UnixMilli()), ":until": n(leaseUntil.UnixMilli()),
			":at": rfc(now), ":ttl": n(now.Add(mailTTL).Unix())},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		// The refusal carries the marker where the server supports it;
		// else one consistent read.
		cur := ccf.Item
		if cur == nil {
			out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.table),
				Key: mailKey(orderID, kind), ConsistentRead: aws.Bool(true)})
			if err != nil {
				return 0, classify(fmt.Sprintf("read mail marker %s/%s", orderID, kind), err)
			}
			cur = out.Item
		}
		if str(cur, "status") == mail.StatusSent {
			return mail.AlreadySent, nil
		}
		return mail.Busy, nil
	}
	if err != nil {
		return 0, classify(fmt.Sprintf("claim mail %s/%s", orderID, kind), err)
	}
	return mail.Claimed, nil
}

// MailsSent marks causes SENT for good: puts of the whole marker (status,
// sentAt, ttl), 25 to a BatchWriteItem. A put, not a conditional update:
// the caller holds each cause's claim, and a marker SENT by another
// delivery stays SENT.
func (st *MailStore) MailsSent(ctx context.Context, causes []mail.SentCause, now time.Time) error {
	items := make([]item, len(causes))
	for i, c := range causes {
		it := mailKey(c.Cause, c.Kind)
		it["status"], it["sentAt"], it["ttl"] = s(mail.StatusSent), rfc(now), n(now.Add(mailTTL).Unix())
		items[i] = it
	}
	if err := st.putAll(ctx, items); err != nil {
		return fmt.Errorf("mark %d mail causes sent: %w", len(causes), err)
	}
	return nil
}

// ReleaseMail ends a SENDING lease at once (a SENT marker stays).
func (st *MailStore) ReleaseMail(ctx context.Context, orderID string, kind mail.Kind) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.table),
		Key:                       mailKey(orderID, kind),
		UpdateExpression:          aws.String("SET leaseUntil = :zero"),
		ConditionExpression:       aws.String("#s = :sending"),
		ExpressionAttributeNames:  map[string]string{"#s": "status"},
		ExpressionAttributeValues: item{":zero": n(0), ":sending": s(mail.StatusSending)},
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return classify(fmt.Sprintf("release mail %s/%s", orderID, kind), err)
	}
	return nil
}
