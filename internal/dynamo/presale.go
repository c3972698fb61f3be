package dynamo

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/presale"
)

var _ presale.Store = (*PresaleStore)(nil)

// PutCodes writes new codes. Codes are 80 random bits, so a batch put
// (no condition) cannot overwrite another code in practice.
func (st *PresaleStore) PutCodes(ctx context.Context, codes []presale.Code) error {
	items := make([]item, 0, len(codes))
	for _, c := range codes {
		it := presaleCodeKey(c.EventID, c.Hash)
		it["eventId"], it["hash"], it["hint"] = s(c.EventID), s(c.Hash), s(c.Hint)
		it["uses"], it["used"], it["createdAt"] = n(int64(c.Uses)), n(0), stamp(c.CreatedAt)
		it["gsi1pk"], it["gsi1sk"] = s(presalesPK(c.EventID)), s(str(it, "createdAt")+"#"+c.Hash)
		items = append(items, it)
	}
	if err := st.putAll(ctx, items); err != nil {
		return classify("put presale codes", err)
	}
	return nil
}

// Redeem takes one use with a conditional increment: DynamoDB applies
// concurrent increments one at a time and refuses each once used reaches
// uses, so no interleaving takes more uses than the code has. The
// account's record is written after the use is taken: a crash between
// the two costs the fan a use on retry, never the code an extra one.
func (st *PresaleStore) Redeem(ctx context.Context, eventID, hash, account string, at time.Time) (bool, error) {
	op := "redeem presale code"
	prior, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(st.table), Key: presaleUseKey(eventID, hash, account), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, classify(op, err)
	}
	if prior.Item != nil {
		return true, nil
	}
	code, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(st.table), Key: presaleCodeKey(eventID, hash), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, classify(op, err)
	}
	if code.Item == nil {
		return false, fault.E(op, fault.NotFound, nil)
	}
	// uses never changes once written, so the read value is the bound.
	uses := num(code.Item, "uses")
	if num(code.Item, "used") >= uses {
		return false, fault.E(op, fault.ConditionFailed, nil)
	}
	_, err = st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.table),
		Key:                       presaleCodeKey(eventID, hash),
		ConditionExpression:       aws.String("attribute_exists(pk) AND used < :uses"),
		UpdateExpression:          aws.String("SET used = used + :one"),
		ExpressionAttributeValues: item{":uses": n(uses), ":one": n(1)},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, fault.E(op, fault.ConditionFailed, err)
	}
	if err != nil {
		return false, classify(op, err)
	}
	rec := presaleUseKey(eventID, hash, account)
	rec["account"], rec["at"] = s(account), stamp(at)
	if _, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.table), Item: rec}); err != nil {
		// The use is taken and the fan is admitted: failing now would make
		// a retry take a second use. The record only spares a fan who asks
		// again later.
		return false, nil
	}
	return false, nil
}

// Codes lists an event's codes through gsi1, oldest first. The index is
// eventually consistent: a redemption a moment ago may not count yet.
func (st *PresaleStore) Codes(ctx context.Context, eventID string) ([]presale.Code, error) {
	p := dynamodb.NewQueryPaginator(st.db, &dynamodb.QueryInput{
		TableName:                 aws.String(st.table),
		IndexName:                 aws.String(gsi1),
		KeyConditionExpression:    aws.String("gsi1pk = :p"),
		ExpressionAttributeValues: item{":p": s(presalesPK(eventID))},
	})
	out := []presale.Code{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, classify("list presale codes of "+eventID, err)
		}
		for _, it := range page.Items {
			out = append(out, presale.Code{EventID: str(it, "eventId"), Hash: str(it, "hash"), Hint: str(it, "hint"),
				Uses: int(num(it, "uses")), Used: int(num(it, "used")), CreatedAt: parseStamp(it, "createdAt")})
		}
	}
	return out, nil
}
