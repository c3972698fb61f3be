package orders_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/dynamo"
)

// freeSeat puts a sold seat back on sale between race rounds (as an
// organizer's manual release would); the limit is per account and each
// round uses a new one.
func (w *world) freeSeat(t *testing.T, seat string) {
	t.Helper()
	_, err := w.DB.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(w.Config.TableName),
		Key:                       dynamo.SeatKey(w.ev.ID, seat),
		UpdateExpression:          aws.String("SET #s = :a REMOVE orderId"),
		ExpressionAttributeNames:  map[string]string{"#s": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":a": &types.AttributeValueMemberS{Value: "AVAILABLE"}},
	})
	if err != nil {
		t.Fatal(err)
	}
}
