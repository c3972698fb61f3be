package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/orders"
)

// A provider event's record exists only once the event was processed
// (status DONE): nothing is written or read before its effect, so a
// delivery cut short leaves no record and the next one processes it
// again, every step being idempotent. The transaction that applies a
// payment writes the record of the event that announced it (MarkPaid,
// Rehold); other events are recorded by FinishEvent after their effect,
// whose refusal tells a replay.

// webhookTTL keeps a record past any provider's redelivery window.
const webhookTTL = 30 * 24 * time.Hour

func eventDoneItem(provider, eventID string, now time.Time) item {
	it := webhookKey(provider, eventID)
	it["status"], it["doneAt"], it["ttl"] = s("DONE"), rfc(now), n(now.Add(webhookTTL).Unix())
	return it
}

// eventDonePut is the record of the event that announced p, for a
// transaction that applies p; none when p came from no event (the
// workflow's or the reconciler's query). It has no condition: recording
// an event twice is harmless and must never refuse the payment.
func eventDonePut(p orders.Payment, now time.Time) []types.TransactWriteItem {
	if p.EventID == "" {
		return nil
	}
	return []types.TransactWriteItem{{Put: &types.Put{Item: eventDoneItem(p.Provider, p.EventID, now)}}}
}

// FinishEvent records an event processed, on the condition that it was
// not recorded before: false when it was (a replay).
func (st *ProviderEventStore) FinishEvent(ctx context.Context, provider, eventID string, now time.Time) (bool, error) {
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.table), Item: eventDoneItem(provider, eventID, now),
		ConditionExpression: aws.String("attribute_not_exists(pk)")})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, classify(fmt.Sprintf("finish event %s", eventID), err)
	}
	return true, nil
}
