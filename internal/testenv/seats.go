package testenv

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/dynamo"
)

// SetSeat writes a seat item's state behind the services' back, as an
// organizer's manual fix or a lost write would leave it, so that a test can
// set up drift the code under test must notice. An empty orderID removes
// the seat's order.
func SetSeat(tb testing.TB, db *dynamodb.Client, table, eventID, seat, state, orderID string) {
	tb.Helper()
	in := &dynamodb.UpdateItemInput{
		TableName:                 aws.String(table),
		Key:                       dynamo.SeatKey(eventID, seat),
		UpdateExpression:          aws.String("SET #s = :s REMOVE orderId"),
		ExpressionAttributeNames:  map[string]string{"#s": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": &types.AttributeValueMemberS{Value: state}},
	}
	if orderID != "" {
		in.UpdateExpression = aws.String("SET #s = :s, orderId = :o")
		in.ExpressionAttributeValues[":o"] = &types.AttributeValueMemberS{Value: orderID}
	}
	if _, err := db.UpdateItem(context.Background(), in); err != nil {
		tb.Fatalf("set seat %s of %s to %s: %v", seat, eventID, state, err)
	}
}
