package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/orders"
)

// PeekOrder reads an order with an eventually consistent read (half the
// read units of GetOrder): for showing a fan their order, never for
// deciding a change to it (inventory.Store.PeekOrder).
func (st *InventoryStore) PeekOrder(ctx context.Context, id string) (orders.Order, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(st.table), Key: orderKey(id), ConsistentRead: aws.Bool(false),
	})
	if err != nil {
		return orders.Order{}, classify("get order "+id, err)
	}
	if out.Item == nil {
		return orders.Order{}, fault.E("get order "+id, fault.NotFound, nil)
	}
	return decodeOrder(out.Item)
}
