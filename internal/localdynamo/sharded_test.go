package localdynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/topology"
)

// TestShardedDynamoMatchesLocaldynamo runs the same requests, of every
// kind the application makes, on internal/localdynamo and on the sharded
// emulator, and wants the same answers.
func TestShardedDynamoMatchesLocaldynamo(t *testing.T) {
	got := map[string][]string{}
	for name, h := range map[string]http.Handler{
		"localdynamo": New(Options{}),
		"sharded":     NewSharded(16),
	} {
		srv := httptest.NewServer(h)
		db, err := dynamo.NewClient(context.Background(), dynamo.ClientOptions{Region: "us-east-1", Endpoint: srv.URL, StaticCredentials: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := dynamo.CreateTables(context.Background(), db, topology.Default().Tables, map[string]string{topology.MainTable: "t"}); err != nil {
			t.Fatal(err)
		}
		got[name] = shardScript(t, db)
		srv.Close()
	}
	a, b := got["localdynamo"], got["sharded"]
	if len(a) != len(b) {
		t.Fatalf("%d answers from localdynamo, %d from the sharded emulator", len(a), len(b))
	}
	for i := range a {
		if testing.Verbose() {
			t.Log(b[i])
		}
		if a[i] != b[i] {
			t.Errorf("step %d:\n  localdynamo %s\n  sharded     %s", i, a[i], b[i])
		}
	}
}

func sv(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func keyOf(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": sv(pk), "sk": sv("X")}
}

func errCode(err error) string {
	if err == nil {
		return "ok"
	}
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) {
		codes := make([]string, len(tc.CancellationReasons))
		for i, r := range tc.CancellationReasons {
			codes[i] = aws.ToString(r.Code)
		}
		return "TransactionCanceled" + fmt.Sprint(codes)
	}
	var cc *types.ConditionalCheckFailedException
	if errors.As(err, &cc) {
		return "ConditionalCheckFailed"
	}
	s := err.Error()
	if strings.Contains(s, "ValidationException") {
		return "ValidationException"
	}
	return s
}

func pks(items []map[string]types.AttributeValue) string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it["pk"].(*types.AttributeValueMemberS).Value
	}
	return strings.Join(out, ",")
}

func shardScript(t *testing.T, db *dynamodb.Client) []string {
	ctx := context.Background()
	tbl := aws.String("t")
	var out []string
	note := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }

	// 60 items in three index partitions, written in batches of 25.
	var reqs []types.WriteRequest
	for i := range 60 {
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
			"pk": sv(fmt.Sprintf("P#%02d", i)), "sk": sv("X"), "n": &types.AttributeValueMemberN{Value: fmt.Sprint(i)},
			"gsi1pk": sv(fmt.Sprintf("G#%d", i%3)), "gsi1sk": sv(fmt.Sprintf("%03d", (i*37)%100)),
		}}})
	}
	for len(reqs) > 0 {
		n := min(25, len(reqs))
		res, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"t": reqs[:n]}})
		note("batch write: %s, %d unprocessed", errCode(err), len(res.UnprocessedItems))
		reqs = reqs[n:]
	}
	_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: tbl, Item: keyOf("P#03"), ConditionExpression: aws.String("attribute_not_exists(pk)")})
	note("conditional put on an existing item: %s", errCode(err))
	up, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tbl, Key: keyOf("P#04"), UpdateExpression: aws.String("ADD n :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}}, ReturnValues: types.ReturnValueUpdatedNew})
	note("update: %s %v", errCode(err), up.Attributes["n"])

	var keys []map[string]types.AttributeValue
	for i := 0; i < 70; i += 3 {
		keys = append(keys, keyOf(fmt.Sprintf("P#%02d", i)))
	}
	bg, err := db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{"t": {Keys: keys, ConsistentRead: aws.Bool(true)}}})
	got := strings.Split(pks(bg.Responses["t"]), ",")
	sort.Strings(got)
	note("batch get: %s %v, %d unprocessed", errCode(err), got, len(bg.UnprocessedKeys))

	query := func(what string, in *dynamodb.QueryInput) {
		var all []string
		pages := 0
		for {
			res, err := db.Query(ctx, in)
			if err != nil {
				note("%s: %s", what, errCode(err))
				return
			}
			pages++
			if in.Limit != nil && len(res.Items) > int(*in.Limit) {
				note("%s: page of %d over the limit %d", what, len(res.Items), *in.Limit)
			}
			if len(res.Items) > 0 {
				all = append(all, pks(res.Items))
			}
			if len(res.LastEvaluatedKey) == 0 {
				break
			}
			in.ExclusiveStartKey = res.LastEvaluatedKey
		}
		note("%s: %s", what, strings.Join(all, ","))
	}
	gsi := func(cond string, vals map[string]types.AttributeValue) *dynamodb.QueryInput {
		return &dynamodb.QueryInput{TableName: tbl, IndexName: aws.String("gsi1"), KeyConditionExpression: aws.String(cond), ExpressionAttributeValues: vals}
	}
	q := gsi("gsi1pk = :p", map[string]types.AttributeValue{":p": sv("G#1")})
	query("index, all", q)
	q = gsi("gsi1pk = :p", map[string]types.AttributeValue{":p": sv("G#1")})
	q.Limit = aws.Int32(6)
	query("index, pages of 6", q)
	q = gsi("gsi1pk = :p AND gsi1sk >= :s", map[string]types.AttributeValue{":p": sv("G#2"), ":s": sv("040")})
	q.ScanIndexForward, q.Limit = aws.Bool(false), aws.Int32(4)
	query("index, backward from 040, pages of 4", q)
	q = gsi("gsi1pk = :p AND begins_with(gsi1sk, :b)", map[string]types.AttributeValue{":p": sv("G#0"), ":b": sv("0")})
	q.FilterExpression = aws.String("n > :ten")
	q.ExpressionAttributeValues[":ten"] = &types.AttributeValueMemberN{Value: "10"}
	query("index with a filter", q)
	query("table partition", &dynamodb.QueryInput{TableName: tbl, KeyConditionExpression: aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": sv("P#05")}})

	// Transactions across partitions: one that commits, one that fails
	// on its second item and must leave the first unchanged, one that
	// names an item twice.
	set := func(pk, cond string, v int) types.TransactWriteItem {
		u := &types.Update{TableName: tbl, Key: keyOf(pk), UpdateExpression: aws.String("SET n = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: fmt.Sprint(v)}}}
		if cond != "" {
			u.ConditionExpression = aws.String(cond)
			u.ExpressionAttributeValues[":c"] = &types.AttributeValueMemberN{Value: "0"}
		}
		return types.TransactWriteItem{Update: u}
	}
	_, err = db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		set("P#10", "", 100), set("P#11", "", 101), {Put: &types.Put{TableName: tbl, Item: keyOf("NEW#1"), ConditionExpression: aws.String("attribute_not_exists(pk)")}},
	}})
	note("transaction: %s", errCode(err))
	_, err = db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		set("P#12", "", 200), set("P#13", "n = :c", 201), {Put: &types.Put{TableName: tbl, Item: keyOf("NEW#2")}},
	}})
	note("failing transaction: %s", errCode(err))
	_, err = db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{set("P#14", "", 1), set("P#14", "", 2)}})
	note("one item twice: %s", errCode(err))
	// Items moving into an index partition by an update, directly and
	// through an alias inside a transaction, are found there.
	_, err = db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tbl, Key: keyOf("P#20"), UpdateExpression: aws.String("SET gsi1pk = :g"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":g": sv("G#8")}})
	note("move by update: %s", errCode(err))
	_, err = db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: tbl, Key: keyOf("P#21"), UpdateExpression: aws.String("SET #k = :g"),
			ExpressionAttributeNames: map[string]string{"#k": "gsi1pk"}, ExpressionAttributeValues: map[string]types.AttributeValue{":g": sv("G#9")}}},
		{Put: &types.Put{TableName: tbl, Item: map[string]types.AttributeValue{"pk": sv("NEW#3"), "sk": sv("X"), "gsi1pk": sv("G#9"), "gsi1sk": sv("999")}}},
	}})
	note("move by transaction: %s", errCode(err))
	query("moved by update", gsi("gsi1pk = :p", map[string]types.AttributeValue{":p": sv("G#8")}))
	query("moved by transaction", gsi("gsi1pk = :p", map[string]types.AttributeValue{":p": sv("G#9")}))
	query("left", gsi("gsi1pk = :p", map[string]types.AttributeValue{":p": sv("G#2")}))
	query("never used", gsi("gsi1pk = :p", map[string]types.AttributeValue{":p": sv("G#404")}))
	for _, pk := range []string{"P#10", "P#11", "NEW#1", "P#12", "P#13", "NEW#2", "P#14"} {
		res, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: tbl, Key: keyOf(pk), ConsistentRead: aws.Bool(true)})
		note("after: %s %s %v", pk, errCode(err), res.Item["n"])
	}
	return out
}

// TestShardedDynamoTransactionsUnderContention: concurrent transactions
// over shared items either apply every item or none, across shards.
func TestShardedDynamoTransactionsUnderContention(t *testing.T) {
	ctx := context.Background()
	db := ClientOn(t, NewSharded(5))
	const items, workers, each = 12, 8, 40
	for i := range items {
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: map[string]types.AttributeValue{
			"pk": sv(fmt.Sprintf("C#%d", i)), "sk": sv("X"), "n": &types.AttributeValueMemberN{Value: "0"}}}); err != nil {
			t.Fatal(err)
		}
	}
	inc := func(i int, cond string) types.TransactWriteItem {
		u := &types.Update{TableName: aws.String("t"), Key: keyOf(fmt.Sprintf("C#%d", i)), UpdateExpression: aws.String("SET n = n + :one"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}}}
		if cond != "" {
			u.ConditionExpression = aws.String(cond)
		}
		return types.TransactWriteItem{Update: u}
	}
	var committed [workers]int
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for k := range each {
				a, b, c := (w+k)%items, (w*3+k*5+1)%items, (w*7+k*3+2)%items
				if a == b || b == c || a == c {
					continue
				}
				// Every other transaction fails on its last item.
				cond := "attribute_exists(pk)"
				if k%2 == 1 {
					cond = "attribute_not_exists(pk)"
				}
				_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{inc(a, ""), inc(b, ""), inc(c, cond)}})
				var tc *types.TransactionCanceledException
				switch {
				case err == nil && k%2 == 0:
					committed[w]++
				case errors.As(err, &tc) && k%2 == 1:
				default:
					errs <- fmt.Errorf("worker %d transaction %d: %v", w, k, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for _, c := range committed {
		total += c
	}
	sum := 0
	for i := range items {
		res, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"), Key: keyOf(fmt.Sprintf("C#%d", i)), ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		fmt.Sscan(res.Item["n"].(*types.AttributeValueMemberN).Value, &n)
		sum += n
	}
	if sum != 3*total {
		t.Fatalf("items sum to %d after %d committed transactions of 3 increments: a transaction was applied in part", sum, total)
	}
}

// TestShardedDynamoIsolatesTransactionsByPartition: a consistent read
// never sees a transaction that is later undone, and a transaction does
// not wait for one on other partitions of the same shards.
func TestShardedDynamoIsolatesTransactionsByPartition(t *testing.T) {
	d := NewSharded(2)
	ctx := context.Background()
	db := ClientOn(t, d)
	put := func(pk string) {
		t.Helper()
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: map[string]types.AttributeValue{
			"pk": sv(pk), "sk": sv("X"), "n": &types.AttributeValueMemberN{Value: "0"}}}); err != nil {
			t.Fatal(err)
		}
	}
	put("X")
	// Every transaction raises X, then fails on a missing item: undone.
	failing := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: aws.String("t"), Key: keyOf("X"), UpdateExpression: aws.String("SET n = n + :one"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}}}},
		{Update: &types.Update{TableName: aws.String("t"), Key: keyOf("MISSING"), UpdateExpression: aws.String("SET n = :one"),
			ConditionExpression:       aws.String("attribute_exists(pk)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}}}},
	}}
	done := make(chan error, 1)
	go func() {
		for range 200 {
			var tc *types.TransactionCanceledException
			if _, err := db.TransactWriteItems(ctx, failing); !errors.As(err, &tc) {
				done <- fmt.Errorf("want a cancelled transaction, got %v", err)
				return
			}
		}
		done <- nil
	}()
	reads := 0
	for finished := false; !finished; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		default:
		}
		res, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"), Key: keyOf("X"), ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		reads++
		if n := res.Item["n"].(*types.AttributeValueMemberN).Value; n != "0" {
			t.Fatalf("read %d saw n=%s: a transaction that was undone", reads, n)
		}
	}

	// With partition P held by a transaction in progress, one on Q — on
	// the same two shards — commits.
	p, q := "P", "Q"
	if d.parts.of("t", mustAV(t, p)) == d.parts.of("t", mustAV(t, q)) {
		t.Fatal("P and Q share a lock stripe; pick other keys")
	}
	put(q)
	unlock := d.parts.exclusive([]uint32{d.parts.of("t", mustAV(t, p))})
	defer unlock()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := db.TransactWriteItems(cctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: aws.String("t"), Key: keyOf(q), UpdateExpression: aws.String("SET n = :one"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}}}},
	}}); err != nil {
		t.Fatalf("a transaction on Q while P is held: %v", err)
	}
}

func mustAV(t *testing.T, s string) raw {
	t.Helper()
	b, err := json.Marshal(map[string]string{"S": s})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ClientOn is a client of a test server running h, with the topology's
// main table "t" created. Exported for the package's external tests.
func ClientOn(t testing.TB, h http.Handler) *dynamodb.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	db, err := dynamo.NewClient(context.Background(), dynamo.ClientOptions{Region: "us-east-1", Endpoint: srv.URL, StaticCredentials: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := dynamo.CreateTables(context.Background(), db, topology.Default().Tables, map[string]string{topology.MainTable: "t"}); err != nil {
		t.Fatal(err)
	}
	return db
}
