package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stararena/stararena/internal/fault"
)

// The cancellation item keeps the saga's progress as one JSON document
// (doc) and the lease of the pass that runs it (leaseUntil, Unix ms), so
// that two reconciler runs never drive one event's refunds at once and the
// provider sees at most one pass's rate per event.

// StartCancellation stores the first progress document of an event's
// cancellation; false when one exists (a repeated cancel changes nothing).
func (st *CancellationStore) StartCancellation(ctx context.Context, eventID string, doc []byte) (bool, error) {
	it := cancellationKey(eventID)
	it["doc"], it["leaseUntil"] = s(string(doc)), n(0)
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.table), Item: it,
		ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if err != nil {
		if kindOf(err) == fault.ConditionFailed {
			return false, nil
		}
		return false, classify("start cancellation "+eventID, err)
	}
	return true, nil
}

// Cancellation reads the progress document (nil when there is none).
func (st *CancellationStore) Cancellation(ctx context.Context, eventID string) ([]byte, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.table),
		Key: cancellationKey(eventID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, classify("read cancellation "+eventID, err)
	}
	if out.Item == nil {
		return nil, nil
	}
	return []byte(str(out.Item, "doc")), nil
}

// LeaseCancellation gives the caller the event's saga until until; false
// while another pass holds an unexpired lease.
func (st *CancellationStore) LeaseCancellation(ctx context.Context, eventID string, now, until time.Time) (bool, error) {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(st.table), Key: cancellationKey(eventID),
		ConditionExpression:       aws.String("attribute_exists(pk) AND leaseUntil < :now"),
		UpdateExpression:          aws.String("SET leaseUntil = :until"),
		ExpressionAttributeValues: item{":now": n(now.UnixMilli()), ":until": n(until.UnixMilli())}})
	if err != nil {
		if kindOf(err) == fault.ConditionFailed {
			return false, nil
		}
		return false, classify("lease cancellation "+eventID, err)
	}
	return true, nil
}

// SaveCancellation writes the progress document and ends the pass's lease.
func (st *CancellationStore) SaveCancellation(ctx context.Context, eventID string, doc []byte) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(st.table), Key: cancellationKey(eventID),
		UpdateExpression:          aws.String("SET doc = :d, leaseUntil = :zero"),
		ExpressionAttributeValues: item{":d": s(string(doc)), ":zero": n(0)}})
	if err != nil {
		return classify("save cancellation "+eventID, err)
	}
	return nil
}

// The postponement item keeps, the same way, how far the notices of the
// event's last postponement have been queued (doc) and the lease of the
// pass that queues them. Its first lease creates it.

// Postponement reads the notices' document (nil when there is none).
func (st *CancellationStore) Postponement(ctx context.Context, eventID string) ([]byte, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.table),
		Key: postponementKey(eventID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, classify("read postponement "+eventID, err)
	}
	if out.Item == nil {
		return nil, nil
	}
	return []byte(str(out.Item, "doc")), nil
}

// LeasePostponement gives the caller the event's notices until until,
// creating the item when there is none; false while another pass holds an
// unexpired lease.
func (st *CancellationStore) LeasePostponement(ctx context.Context, eventID string, now, until time.Time) (bool, error) {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(st.table), Key: postponementKey(eventID),
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR leaseUntil < :now"),
		UpdateExpression:          aws.String("SET leaseUntil = :until"),
		ExpressionAttributeValues: item{":now": n(now.UnixMilli()), ":until": n(until.UnixMilli())}})
	if err != nil {
		if kindOf(err) == fault.ConditionFailed {
			return false, nil
		}
		return false, classify("lease postponement "+eventID, err)
	}
	return true, nil
}

// SavePostponement writes the notices' document and ends the pass's lease.
func (st *CancellationStore) SavePostponement(ctx context.Context, eventID string, doc []byte) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(st.table), Key: postponementKey(eventID),
		UpdateExpression:          aws.String("SET doc = :d, leaseUntil = :zero"),
		ExpressionAttributeValues: item{":d": s(string(doc)), ":zero": n(0)}})
	if err != nil {
		return classify("save postponement "+eventID, err)
	}
	return nil
}
