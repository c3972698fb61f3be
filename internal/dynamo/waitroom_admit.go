package dynamo

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/waitroom"
)

// ClaimServed is an admission in one request: a conditional UpdateItem
// that stores the token on the account's place when its position is
// served and it has no admission yet, and answers the place as it is
// now. When the condition fails the stored place comes back with the
// refusal (ReturnValuesOnConditionCheckFailure), or, from a server that
// does not send it or when there is no place, from one consistent read:
// a second tab is answered the admission the first one claimed.
func (st *WaitroomStore) ClaimServed(ctx context.Context, eventID, account string, serving int64, tokenID string, expires, now time.Time) (waitroom.Place, bool, bool, error) {
	k := placeKey(eventID, account)
	out, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(st.table),
		Key:                      k,
		ConditionExpression:      aws.String("tokenId = :none AND #pos > :zero AND #pos <= :serving"),
		UpdateExpression:         aws.String("SET tokenId = :id, tokenExpiresAt = :exp, admittedAt = :now, gsi2pk = :adm, gsi2sk = :exp"),
		ExpressionAttributeNames: map[string]string{"#pos": "position"},
		ExpressionAttributeValues: item{":none": s(""), ":zero": n(0), ":serving": n(serving), ":id": s(tokenID),
			":exp": stamp(expires), ":now": stamp(now), ":adm": s(admittedShards(eventID) + strconv.Itoa(placeShard(account)))},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return decodePlace(out.Attributes), true, true, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return waitroom.Place{}, false, false, classify("claim admission", err)
	}
	if ccf.Item != nil {
		return decodePlace(ccf.Item), true, false, nil
	}
	p, ok, err := st.Place(ctx, eventID, account)
	return p, ok, false, err
}
