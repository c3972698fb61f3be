package localdynamo_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

func validation(t *testing.T, err error, msg string) {
	t.Helper()
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "ValidationException" || !strings.Contains(api.ErrorMessage(), msg) {
		t.Fatalf("got %v, want ValidationException %q", err, msg)
	}
}

// sized is an item of about n bytes as DynamoDB counts them.
func sized(i, n int) map[string]types.AttributeValue {
	it := k(i)
	it["blob"] = sv(strings.Repeat("x", n-len("pk")-len("K"+strconv.Itoa(i))-len("sk")-1-len("blob")))
	return it
}

func TestFrontRefusesWhatAWSRefuses(t *testing.T) {
	ctx := context.Background()
	for _, native := range []bool{false, true} {
		db := client(t, native)
		t.Run("ItemOver400KB", func(t *testing.T) {
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: sized(1, 400*1024+1)})
			validation(t, err, "Item size has exceeded the maximum allowed size")
			if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: sized(1, 400*1024)}); err != nil {
				t.Fatalf("an item of exactly 400 KB: %v", err)
			}
		})
		t.Run("BatchWriteOver25Items", func(t *testing.T) {
			var reqs []types.WriteRequest
			for i := range 26 {
				reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: k(100 + i)}})
			}
			_, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"t": reqs}})
			validation(t, err, "Too many items requested for the BatchWriteItem call")
			if _, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"t": reqs[:25]}}); err != nil {
				t.Fatalf("25 items: %v", err)
			}
		})
		t.Run("BatchWriteItemOver400KB", func(t *testing.T) {
			reqs := []types.WriteRequest{{PutRequest: &types.PutRequest{Item: sized(200, 500*1024)}}}
			_, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"t": reqs}})
			validation(t, err, "Item size has exceeded the maximum allowed size")
		})
		t.Run("TransactionOver100Items", func(t *testing.T) {
			var items []types.TransactWriteItem
			for i := range 101 {
				items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String("t"), Item: k(300 + i)}})
			}
			_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
			validation(t, err, "Member must have length less than or equal to 100")
		})
		t.Run("TransactionOver4MB", func(t *testing.T) {
			var items []types.TransactWriteItem
			for i := range 11 {
				items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String("t"), Item: sized(500+i, 390*1024)}})
			}
			_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
			validation(t, err, "4 MB")
			if _, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items[:10]}); err != nil {
				t.Fatalf("10 items of 390 KB: %v", err)
			}
		})
	}
}

// TestQueryWithFilterAndLimitPagesLikeAWS: Limit counts the items read
// before the filter, a page may come back empty with a LastEvaluatedKey,
// and that key is the last item read in the queried partition.
func TestQueryWithFilterAndLimitPagesLikeAWS(t *testing.T) {
	ctx := context.Background()
	db := client(t, false)
	put := func(pk, sk string, keep bool) {
		it := map[string]types.AttributeValue{"pk": sv(pk), "sk": sv(sk), "keep": &types.AttributeValueMemberBOOL{Value: keep}}
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	// Partition P: 10 items, #2, #5 and #9 match. Other partitions around
	// it, so a key from elsewhere would show.
	for i := range 10 {
		put("P", strconv.Itoa(i), i == 2 || i == 5 || i == 9)
		put("O"+strconv.Itoa(i), "0", true)
		put("Q"+strconv.Itoa(i), "0", true)
	}
	in := &dynamodb.QueryInput{TableName: aws.String("t"), KeyConditionExpression: aws.String("pk = :p"),
		FilterExpression: aws.String("keep = :t"), Limit: aws.Int32(4),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": sv("P"), ":t": &types.AttributeValueMemberBOOL{Value: true}}}
	var pages [][]string
	var lastKeys []string
	for {
		out, err := db.Query(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range out.Items {
			got = append(got, it["sk"].(*types.AttributeValueMemberS).Value)
		}
		pages = append(pages, got)
		if out.LastEvaluatedKey == nil {
			break
		}
		if pk := out.LastEvaluatedKey["pk"].(*types.AttributeValueMemberS).Value; pk != "P" {
			t.Fatalf("LastEvaluatedKey %v is not in the queried partition", out.LastEvaluatedKey)
		}
		lastKeys = append(lastKeys, out.LastEvaluatedKey["sk"].(*types.AttributeValueMemberS).Value)
		if len(pages) > 10 {
			t.Fatalf("more than 10 pages: %v", pages)
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	// Items 0-3 (2 matches), 4-7 (5), 8-9 (9): the third page is short, so
	// it is the last. AWS reads in sort key order.
	want := [][]string{{"2"}, {"5"}, {"9"}}
	if len(pages) != len(want) || strings.Join(lastKeys, ",") != "3,7" {
		t.Fatalf("pages %v with last keys %v; want %v with 3,7", pages, lastKeys, want)
	}
	for i := range want {
		if strings.Join(pages[i], ",") != strings.Join(want[i], ",") {
			t.Fatalf("pages %v, want %v", pages, want)
		}
	}
}
