package localdynamo_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/stararena/stararena/internal/localdynamo"
)

// faulty is a client of an embedded server with the topology's main table
// "t", built without faults and then given f.
func faulty(t *testing.T, f localdynamo.Faults) (*dynamodb.Client, *localdynamo.Server) {
	t.Helper()
	s := localdynamo.New(localdynamo.Options{})
	db := localdynamo.ClientOn(t, s)
	s.SetFaults(f)
	return db, s
}

func attempts(n int) func(*dynamodb.Options) {
	return func(o *dynamodb.Options) { o.RetryMaxAttempts = n }
}

// addOne is a transaction of one item that adds 1 to counter n of key i.
func addOne(i int, token string) *dynamodb.TransactWriteItemsInput {
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{Update: &types.Update{
		TableName: aws.String("t"), Key: k(i), UpdateExpression: aws.String("ADD n :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": nv(1)},
	}}}}
	if token != "" {
		in.ClientRequestToken = aws.String(token)
	}
	return in
}

func counter(t *testing.T, db *dynamodb.Client, i int) string {
	t.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("t"), Key: k(i), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := out.Item["n"].(*types.AttributeValueMemberN); ok {
		return n.Value
	}
	return "absent"
}

func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

func TestParseFaults(t *testing.T) {
	f, err := localdynamo.ParseFaults("conflict=0.05, throttle=0.05,lostAnswer=0.02,seed=7")
	if err != nil {
		t.Fatal(err)
	}
	if want := (localdynamo.Faults{Conflict: 0.05, Throttle: 0.05, LostAnswer: 0.02, Seed: 7}); f != want {
		t.Errorf("parsed %+v, want %+v", f, want)
	}
	if back, err := localdynamo.ParseFaults(f.String()); err != nil || back != f {
		t.Errorf("String %q reads back as %+v, %v", f.String(), back, err)
	}
	if f, err := localdynamo.ParseFaults(""); err != nil || f.Any() {
		t.Errorf("empty: %+v, %v", f, err)
	}
	for _, bad := range []string{"conflict", "conflict=2", "throttle=-0.1", "lost=0.1", "seed=-1", "throttle=often"} {
		if _, err := localdynamo.ParseFaults(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestATransactionReplayedWithItsTokenAppliesOnce(t *testing.T) {
	// GIVEN the embedded server without faults
	db, s := faulty(t, localdynamo.Faults{})
	ctx := context.Background()
	// WHEN a transaction is sent twice with one ClientRequestToken, as the
	// SDK retries it
	for range 2 {
		if _, err := db.TransactWriteItems(ctx, addOne(1, "token-1")); err != nil {
			t.Fatal(err)
		}
	}
	// THEN it applied once, as in DynamoDB
	if n := counter(t, db, 1); n != "1" {
		t.Errorf("n = %s after a replay, want 1", n)
	}
	// AND a request sent again with its JSON keys in another order (as
	// the SDK writes maps) is the same request: applied once
	for _, body := range []string{
		`{"ClientRequestToken":"token-3","TransactItems":[{"Update":{"TableName":"t","Key":{"pk":{"S":"K1"},"sk":{"S":"X"}},"UpdateExpression":"ADD n :one","ExpressionAttributeValues":{":one":{"N":"1"}}}}]}`,
		`{"TransactItems":[{"Update":{"Key":{"sk":{"S":"X"},"pk":{"S":"K1"}},"TableName":"t","ExpressionAttributeValues":{":one":{"N":"1"}},"UpdateExpression":"ADD n :one"}}],"ClientRequestToken":"token-3"}`,
	} {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", "DynamoDB_20120810.TransactWriteItems")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", body, rec.Code, rec.Body)
		}
	}
	if n := counter(t, db, 1); n != "2" {
		t.Errorf("n = %s after a new token and its reordered replay, want 2", n)
	}
	// AND the token with another request is refused
	if _, err := db.TransactWriteItems(ctx, addOne(2, "token-1")); errorCode(err) != "IdempotentParameterMismatchException" {
		t.Errorf("same token, other request: %v", err)
	}
	// AND another token applies again
	if _, err := db.TransactWriteItems(ctx, addOne(1, "token-2")); err != nil {
		t.Fatal(err)
	}
	if n := counter(t, db, 1); n != "3" {
		t.Errorf("n = %s after a third token, want 3", n)
	}
}

func TestAThrottledRequestAppliesNothing(t *testing.T) {
	// GIVEN every data request throttled
	db, s := faulty(t, localdynamo.Faults{Throttle: 1})
	ctx := context.Background()
	// WHEN a write and a transaction are sent (the SDK retries each)
	_, putErr := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: k(1)}, attempts(2))
	_, txErr := db.TransactWriteItems(ctx, addOne(2, ""), attempts(2))
	// THEN both are refused as DynamoDB refuses a throttled request
	for _, err := range []error{putErr, txErr} {
		if c := errorCode(err); c != "ProvisionedThroughputExceededException" && c != "ThrottlingException" {
			t.Errorf("throttled request: %v", err)
		}
	}
	if got := s.Injected()[localdynamo.FaultThrottle]; got != 4 {
		t.Errorf("%d throttles injected, want 4 (two attempts each)", got)
	}
	// AND nothing was written
	s.SetFaults(localdynamo.Faults{})
	if n := counter(t, db, 2); n != "absent" {
		t.Errorf("a throttled transaction applied: n = %s", n)
	}
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"), Key: k(1)})
	if err != nil || out.Item != nil {
		t.Errorf("a throttled put applied: %v, %v", out.Item, err)
	}
}

func TestAnInjectedConflictCancelsTheTransactionNamingOneItem(t *testing.T) {
	// GIVEN every transaction conflicting
	db, s := faulty(t, localdynamo.Faults{Conflict: 1})
	ctx := context.Background()
	in := addOne(1, "")
	in.TransactItems = append(in.TransactItems, addOne(2, "").TransactItems...)
	// WHEN a two-item transaction is sent once
	_, err := db.TransactWriteItems(ctx, in, attempts(1))
	// THEN it is cancelled with TransactionConflict for one item and None
	// for the other
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) || len(tce.CancellationReasons) != 2 {
		t.Fatalf("conflicting transaction: %v", err)
	}
	codes := map[string]int{}
	for _, r := range tce.CancellationReasons {
		codes[aws.ToString(r.Code)]++
	}
	if codes["TransactionConflict"] != 1 || codes["None"] != 1 {
		t.Errorf("reasons %v", codes)
	}
	// AND nothing applied, while single-item writes are not affected
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: k(3)}); err != nil {
		t.Errorf("a put under conflicts: %v", err)
	}
	if n := counter(t, db, 1) + counter(t, db, 2); n != "absentabsent" {
		t.Errorf("a cancelled transaction applied: %s", n)
	}
	if s.Injected()[localdynamo.FaultConflict] != 1 {
		t.Errorf("injected %v", s.Injected())
	}
}

func TestALostAnswerHidesAWriteThatApplied(t *testing.T) {
	// GIVEN every write's answer lost
	db, s := faulty(t, localdynamo.Faults{LostAnswer: 1})
	ctx := context.Background()
	// WHEN an update is sent once
	_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("t"), Key: k(1),
		UpdateExpression: aws.String("ADD n :one"), ExpressionAttributeValues: map[string]types.AttributeValue{":one": nv(1)}}, attempts(1))
	// THEN the client sees a 500
	var ise *types.InternalServerError
	if !errors.As(err, &ise) {
		t.Fatalf("lost answer: %v", err)
	}
	// WHEN a transaction is sent, and retried by the SDK with its token
	_, txErr := db.TransactWriteItems(ctx, addOne(2, ""), attempts(3))
	if !errors.As(txErr, &ise) {
		t.Fatalf("lost answers: %v", txErr)
	}
	// THEN the update applied, and the transaction applied once however
	// many times the SDK sent it
	s.SetFaults(localdynamo.Faults{})
	if n := counter(t, db, 1); n != "1" {
		t.Errorf("update: n = %s, want 1", n)
	}
	if n := counter(t, db, 2); n != "1" {
		t.Errorf("transaction sent three times: n = %s, want 1", n)
	}
	if got := s.Injected(); got[localdynamo.FaultLostAnswer] != 4 || got[localdynamo.TokenReplays] != 2 {
		t.Errorf("injected %v, want 4 lost answers and 2 token replays", got)
	}
}

func TestInjectedFaultsFollowTheirRatesAndSeed(t *testing.T) {
	f := localdynamo.Faults{Conflict: 0.2, Throttle: 0.1, LostAnswer: 0.1, Seed: 42}
	run := func() (map[string]int64, []string) {
		db, s := faulty(t, f)
		var outcomes []string
		for i := range 1000 {
			_, err := db.TransactWriteItems(context.Background(), addOne(i%10, ""), attempts(1))
			outcomes = append(outcomes, errorCode(err))
		}
		return s.Injected(), outcomes
	}
	// GIVEN 1,000 one-item transactions sent one after another, twice
	counts, first := run()
	_, second := run()
	// THEN each fault fired near its rate (throttle first; a conflict only
	// when not throttled; a lost answer only when neither)
	want := map[string]float64{localdynamo.FaultThrottle: 100, localdynamo.FaultConflict: 0.9 * 200, localdynamo.FaultLostAnswer: 0.9 * 0.8 * 100}
	for kind, w := range want {
		if got := float64(counts[kind]); got < 0.6*w || got > 1.4*w {
			t.Errorf("%s fired %v times in 1000, expected about %v", kind, got, w)
		}
	}
	// AND the same seed gave the same sequence
	for i := range first {
		if first[i] != second[i] {
			t.Fatalf("request %d: %q, then %q with the same seed", i, first[i], second[i])
		}
	}
}
