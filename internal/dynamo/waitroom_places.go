package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/waitroom"
)

// transactMax is how many items one TransactWriteItems may carry.
const transactMax = 100

// PutNewPlaces writes new places, each unless its account has one, in
// transactions of up to 100 conditional puts: one request per assigner
// batch instead of one per fan. A transaction is all or nothing, so one
// whose condition failed (a duplicate join placed by a concurrent batch)
// wrote none of its places: they are written again one by one, which
// tells which account already had one. created[i] says whether ps[i] was
// written; errs[i] is the error that kept it from being decided.
func (st *WaitroomStore) PutNewPlaces(ctx context.Context, ps []waitroom.Place) ([]bool, []error) {
	created, errs := make([]bool, len(ps)), make([]error, len(ps))
	for start := 0; start < len(ps); start += transactMax {
		end := min(start+transactMax, len(ps))
		st.putNewChunk(ctx, ps[start:end], created[start:end], errs[start:end])
	}
	return created, errs
}

func (st *WaitroomStore) putNewChunk(ctx context.Context, ps []waitroom.Place, created []bool, errs []error) {
	one := func() {
		for i, p := range ps {
			created[i], errs[i] = st.PutNewPlace(ctx, p)
		}
	}
	if len(ps) == 1 {
		one() // a transaction of one item costs twice a put
		return
	}
	items := make([]types.TransactWriteItem, len(ps))
	for i, p := range ps {
		items[i] = types.TransactWriteItem{Put: &types.Put{
			TableName: aws.String(st.table), Item: placeItem(p), ConditionExpression: aws.String("attribute_not_exists(pk)"),
		}}
	}
	refused, err := st.transactAll(ctx, items, fmt.Sprintf("put %d places", len(ps)))
	switch {
	case refused:
		// A place that exists, or a conflicting write: nothing was
		// applied; the single puts decide each place.
		one()
	case err != nil:
		for i := range errs {
			errs[i] = err
		}
	default:
		for i := range created {
			created[i] = true
		}
	}
}

// transactAll writes items in one transaction. refused reports that it
// was cancelled on its conditions or by a conflicting write, so nothing
// was applied and the caller decides item by item; err is any other
// failure. The SDK sends a ClientRequestToken and reuses it on its
// retries, so a transaction whose answer was lost is answered its success
// again rather than failing its own conditions.
func (st *WaitroomStore) transactAll(ctx context.Context, items []types.TransactWriteItem, what string) (refused bool, err error) {
	_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err == nil {
		return false, nil
	}
	if codes, ok := txReasons(err); ok && txKind(codes) != fault.Unavailable {
		return true, nil
	}
	return false, classify(what, err)
}

// MarkAbandonedAll is MarkAbandoned for many expired admissions, in
// transactions of up to 100 conditional updates. One whose condition
// failed (an admission used or flagged meanwhile) applied nothing, and its
// places are flagged again one by one. marked[i] says whether ps[i] was
// flagged by this call.
func (st *WaitroomStore) MarkAbandonedAll(ctx context.Context, ps []waitroom.Place) ([]bool, error) {
	marked := make([]bool, len(ps))
	for start := 0; start < len(ps); start += transactMax {
		end := min(start+transactMax, len(ps))
		if err := st.abandonChunk(ctx, ps[start:end], marked[start:end]); err != nil {
			return marked, err
		}
	}
	return marked, nil
}

func (st *WaitroomStore) abandonChunk(ctx context.Context, ps []waitroom.Place, marked []bool) error {
	one := func() error {
		for i, p := range ps {
			ok, err := st.MarkAbandoned(ctx, p)
			if err != nil {
				return err
			}
			marked[i] = ok
		}
		return nil
	}
	if len(ps) == 1 {
		return one()
	}
	items := make([]types.TransactWriteItem, len(ps))
	for i, p := range ps {
		items[i] = types.TransactWriteItem{Update: &types.Update{
			TableName:           aws.String(st.table),
			Key:                 placeKey(p.EventID, p.Account),
			ConditionExpression: aws.String("tokenId = :t AND usedAt = :none AND abandoned = :no"),
			UpdateExpression:    aws.String("SET abandoned = :yes, gsi2pk = :done"),
			ExpressionAttributeValues: item{":t": s(p.TokenID), ":none": s(""), ":no": b(false), ":yes": b(true),
				":done": s(placesDonePK(p.EventID))},
		}}
	}
	refused, err := st.transactAll(ctx, items, fmt.Sprintf("flag %d abandoned admissions", len(ps)))
	switch {
	case refused:
		return one()
	case err != nil:
		return err
	}
	for i := range marked {
		marked[i] = true
	}
	return nil
}
