package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/retry"
)

// BatchWriteItem takes at most 25 items and BatchGetItem at most 100 keys.
const (
	batchWriteMax = 25
	batchGetMax   = 100
	batchWorkers  = 8
)

type item = map[string]types.AttributeValue

// putAll writes items with parallel BatchWriteItem calls, retrying
// unprocessed items with backoff (throttling shows up as UnprocessedItems).
func (s *base) putAll(ctx context.Context, items []item) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(batchWorkers)
	for start := 0; start < len(items); start += batchWriteMax {
		chunk := items[start:min(start+batchWriteMax, len(items))]
		g.Go(func() error {
			reqs := make([]types.WriteRequest, len(chunk))
			for i, it := range chunk {
				reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: it}}
			}
			return s.writeBatch(ctx, reqs)
		})
	}
	return g.Wait()
}

// unprocessed paces the calls that retry what a batch call left
// unprocessed: DynamoDB's answer to throttling inside a batch.
func unprocessed() *retry.Backoff {
	return retry.Policy{Attempts: 12, Base: 10 * time.Millisecond, Cap: 1280 * time.Millisecond}.Start()
}

func (s *base) writeBatch(ctx context.Context, reqs []types.WriteRequest) error {
	pending := map[string][]types.WriteRequest{s.table: reqs}
	b := unprocessed()
	for {
		out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
		if err != nil {
			return classify("batch write", err)
		}
		pending = out.UnprocessedItems
		if len(pending[s.table]) == 0 {
			return nil
		}
		left := fault.Errorf("batch write", fault.Unavailable, "%d items unprocessed", len(pending[s.table]))
		if err := b.Wait(ctx, left); err != nil {
			return err
		}
	}
}

// batchGet reads keys with parallel BatchGetItem calls, retrying
// unprocessed keys. Eventually consistent reads serve read models;
// decisions (which GA shard to take, which seats a conflict lost) read
// consistently.
func (s *base) batchGet(ctx context.Context, keys []item, projection string, names map[string]string, consistent bool) ([]item, error) {
	results := make([][]item, (len(keys)+batchGetMax-1)/batchGetMax)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(batchWorkers)
	for i := range results {
		chunk := keys[i*batchGetMax : min((i+1)*batchGetMax, len(keys))]
		g.Go(func() error {
			ka := types.KeysAndAttributes{Keys: chunk, ConsistentRead: aws.Bool(consistent)}
			if projection != "" {
				ka.ProjectionExpression = aws.String(projection)
				ka.ExpressionAttributeNames = names
			}
			pending := map[string]types.KeysAndAttributes{s.table: ka}
			b := unprocessed()
			for {
				out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
				if err != nil {
					return classify("batch get", err)
				}
				results[i] = append(results[i], out.Responses[s.table]...)
				pending = out.UnprocessedKeys
				if len(pending[s.table].Keys) == 0 {
					return nil
				}
				left := fault.Errorf("batch get", fault.Unavailable, "%d keys unprocessed", len(pending[s.table].Keys))
				if err := b.Wait(ctx, left); err != nil {
					return err
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var all []item
	for _, r := range results {
		all = append(all, r...)
	}
	return all, nil
}
