package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/topology"
)

// Hit counts one request of subject in a fixed window:
// RATE#<name>#<subject>#<window unix> is its own item, so no key is hot.
// The table's TTL attribute deletes the item after expires.
func (st *RateLimitStore) Hit(ctx context.Context, name, subject string, window, expires time.Time, limit int) (bool, error) {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.table),
		Key:                       rateKey(name, subject, window),
		ConditionExpression:       aws.String("attribute_not_exists(hits) OR hits < :limit"),
		UpdateExpression:          aws.String("ADD hits :one SET #ttl = :exp"),
		ExpressionAttributeNames:  map[string]string{"#ttl": topology.TTLAttribute},
		ExpressionAttributeValues: item{":limit": n(int64(limit)), ":one": n(1), ":exp": n(expires.Unix())},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, classify(fmt.Sprintf("rate limit %s", name), err)
	}
	return true, nil
}
