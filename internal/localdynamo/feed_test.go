package localdynamo_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/localdynamo"
)

func item(pk string, n int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": sv(pk), "sk": sv("X"), "n": nv(n)}
}

func key(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": sv(pk), "sk": sv("X")}
}

// imageN reads attribute n of a record's image ("" when deleted).
func imageN(t *testing.T, r localdynamo.Record) string {
	t.Helper()
	if r.NewImage == nil {
		return ""
	}
	var v struct{ N string }
	if err := json.Unmarshal(r.NewImage["n"], &v); err != nil {
		t.Fatal(err)
	}
	return v.N
}

// Committed writes of the filtered items reach the feed with their state
// after the write, in order, whatever request made them; other items'
// writes and a cancelled transaction publish nothing. Both servers.
func TestFeedCarriesCommittedWritesOfFilteredItems(t *testing.T) {
	for name, mk := range map[string]func(*localdynamo.Feed) http.Handler{
		"front": func(f *localdynamo.Feed) http.Handler { return localdynamo.New(localdynamo.Options{Feed: f}) },
		"sharded": func(f *localdynamo.Feed) http.Handler {
			s := localdynamo.NewSharded(4)
			s.SetFeed(f)
			return s
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			feed := localdynamo.NewFeed("SEAT#", "GA#")
			db := localdynamo.ClientOn(t, mk(feed))
			must := func(_ any, err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: item("SEAT#e#1", 1)}))
			must(db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: item("ORDER#o", 1)}))
			must(db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("t"), Key: key("SEAT#e#1"),
				UpdateExpression: aws.String("ADD n :one"), ExpressionAttributeValues: map[string]types.AttributeValue{":one": nv(1)}}))
			must(db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"t": {
				{PutRequest: &types.PutRequest{Item: item("GA#e#A#0", 7)}},
				{PutRequest: &types.PutRequest{Item: item("EVENT#e", 7)}},
			}}}))
			must(db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Update: &types.Update{TableName: aws.String("t"), Key: key("SEAT#e#1"), UpdateExpression: aws.String("SET n = :v"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":v": nv(5)}}},
				{Put: &types.Put{TableName: aws.String("t"), Item: item("ORDER#o2", 1)}},
			}}))
			// A cancelled transaction: its seat write is undone, nothing is fed.
			_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Update: &types.Update{TableName: aws.String("t"), Key: key("SEAT#e#1"), UpdateExpression: aws.String("SET n = :v"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":v": nv(9)}}},
				{Put: &types.Put{TableName: aws.String("t"), Item: item("ORDER#o", 1), ConditionExpression: aws.String("attribute_not_exists(pk)")}},
			}})
			if err == nil {
				t.Fatal("the second transaction was not cancelled")
			}
			must(db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("t"), Key: key("GA#e#A#0")}))

			recs := feed.Take(100)
			type seen struct{ pk, n string }
			var got []seen
			for _, r := range recs {
				var pk struct{ S string }
				_ = json.Unmarshal(r.Keys["pk"], &pk)
				got = append(got, seen{pk.S, imageN(t, r)})
			}
			want := []seen{{"SEAT#e#1", "1"}, {"SEAT#e#1", "2"}, {"GA#e#A#0", "7"}, {"SEAT#e#1", "5"}, {"GA#e#A#0", ""}}
			if len(got) != len(want) {
				t.Fatalf("fed %v, want %v", got, want)
			}
			for i := range want {
				if got[i] != want[i] || (i > 0 && recs[i].Seq <= recs[i-1].Seq) {
					t.Errorf("record %d = %v (seq %d), want %v in order", i, got[i], recs[i].Seq, want[i])
				}
			}
			if feed.Pending() != 0 {
				t.Errorf("%d records left after taking all", feed.Pending())
			}
		})
	}
}
