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
// out: of two deliveries of one cause, one claims it.
func (st *MailStore) ClaimMail(ctx context.Context, orderID string, kind mail.Kind, now, leaseUntil time.Time) (mail.Claim, error) {
	it := mailKey(orderID, kind)
	it["status"], it["leaseUntil"], it["claimedAt"] = s(mail.StatusSending), n(leaseUntil.UnixMilli()), rfc(now)
	it["ttl"] = n(now.Add(mailTTL).Unix())
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.table), Item: it,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR (#s = :sending AND leaseUntil < :now)"),
		ExpressionAttributeNames:  map[string]string{"#s": "status"},
		ExpressionAttributeValues: item{":sending": s(mail.StatusSending), ":now": n(now.UnixMilli())}})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.table),
			Key: mailKey(orderID, kind), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return 0, classify(fmt.Sprintf("read mail marker %s/%s", orderID, kind), err)
		}
		if str(out.Item, "status") == mail.StatusSent {
			return mail.AlreadySent, nil
		}
		return mail.Busy, nil
	}
	if err != nil {
		return 0, classify(fmt.Sprintf("claim mail %s/%s", orderID, kind), err)
	}
	return mail.Claimed, nil
}

// MailSent marks the cause SENT for good.
func (st *MailStore) MailSent(ctx context.Context, orderID string, kind mail.Kind, now time.Time) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.table),
		Key:                       mailKey(orderID, kind),
		UpdateExpression:          aws.String("SET #s = :sent, sentAt = :now"),
		ExpressionAttributeNames:  map[string]string{"#s": "status"},
		ExpressionAttributeValues: item{":sent": s(mail.StatusSent), ":now": rfc(now)},
	})
	if err != nil {
		return classify(fmt.Sprintf("mark mail %s/%s sent", orderID, kind), err)
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
