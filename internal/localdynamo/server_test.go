package localdynamo_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/localdynamo"
)

func client(t testing.TB, native bool) *dynamodb.Client {
	t.Helper()
	return localdynamo.ClientOn(t, localdynamo.New(localdynamo.Options{NativeTransactions: native}))
}

func sv(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func nv(v int) types.AttributeValue    { return &types.AttributeValueMemberN{Value: strconv.Itoa(v)} }

func k(i int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": sv("K" + strconv.Itoa(i)), "sk": sv("X")}
}

// randomTx builds 1-4 operations on distinct keys with conditions that
// sometimes fail.
func randomTx(r *rand.Rand) []types.TransactWriteItem {
	keys := r.Perm(8)[:1+r.IntN(4)]
	var items []types.TransactWriteItem
	for _, key := range keys {
		switch r.IntN(3) {
		case 0:
			it := k(key)
			it["n"], it["gsi1pk"], it["gsi1sk"] = nv(r.IntN(5)), sv("G"), sv(strconv.Itoa(key))
			var cond *string
			if r.IntN(2) == 0 {
				cond = aws.String("attribute_not_exists(pk)")
			}
			items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String("t"), Item: it, ConditionExpression: cond}})
		case 1:
			items = append(items, types.TransactWriteItem{Update: &types.Update{
				TableName: aws.String("t"), Key: k(key),
				UpdateExpression:          aws.String("ADD n :one SET gsi1pk = :g, gsi1sk = :s"),
				ConditionExpression:       aws.String("attribute_not_exists(n) OR n < :max"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":one": nv(1), ":max": nv(1 + r.IntN(5)), ":g": sv("G"), ":s": sv(strconv.Itoa(key))},
			}})
		default:
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{
				TableName: aws.String("t"), Key: k(key),
				ConditionExpression:       aws.String("n >= :min"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":min": nv(r.IntN(4))},
			}})
		}
	}
	return items
}

func firstFailed(err error) int {
	var tce *types.TransactionCanceledException
	if err == nil {
		return -1
	}
	if !errors.As(err, &tce) {
		return -2
	}
	for i, r := range tce.CancellationReasons {
		if aws.ToString(r.Code) == "ConditionalCheckFailed" {
			return i
		}
	}
	return -3
}

func dump(t *testing.T, db *dynamodb.Client) []string {
	t.Helper()
	out, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String("t")})
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, it := range out.Items {
		rows = append(rows, fmt.Sprintf("%v %v %v", it["pk"], it["n"], it["gsi1sk"]))
	}
	q, err := db.Query(context.Background(), &dynamodb.QueryInput{TableName: aws.String("t"), IndexName: aws.String("gsi1"),
		KeyConditionExpression: aws.String("gsi1pk = :g"), ExpressionAttributeValues: map[string]types.AttributeValue{":g": sv("G")}})
	if err != nil {
		t.Fatal(err)
	}
	rows = append(rows, fmt.Sprintf("gsi1 has %d items", len(q.Items)))
	sort.Strings(rows)
	return rows
}

// TestSameResultsAsMinidynTransactions: GIVEN the same random sequence of
// transactions WHEN run on minidyn's own transactions and on the front THEN
// each commits or cancels alike (the front names every failed condition;
// minidyn the first, which must be the front's first) and the tables end
// equal, index included.
func TestSameResultsAsMinidynTransactions(t *testing.T) {
	ctx := context.Background()
	native, fast := client(t, true), client(t, false)
	r := rand.New(rand.NewPCG(7, 11))
	commits, cancels := 0, 0
	for i := range 600 {
		tx := randomTx(r)
		_, errN := native.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
		_, errF := fast.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
		if fn, ff := firstFailed(errN), firstFailed(errF); fn != ff {
			t.Fatalf("tx %d: minidyn first failure %d (%v), front %d (%v)", i, fn, errN, ff, errF)
		}
		if errN == nil {
			commits++
		} else {
			cancels++
		}
	}
	if commits < 50 || cancels < 50 {
		t.Fatalf("workload too one-sided: %d commits, %d cancels", commits, cancels)
	}
	if a, b := dump(t, native), dump(t, fast); !reflect.DeepEqual(a, b) {
		t.Fatalf("tables differ\nminidyn: %v\nfront:   %v", a, b)
	}
}

func TestRejectsTwoOperationsOnOneItem(t *testing.T) {
	db := client(t, false)
	_, err := db.TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String("t"), Item: k(1)}},
		{Delete: &types.Delete{TableName: aws.String("t"), Key: k(1)}},
	}})
	if err == nil {
		t.Fatal("accepted two operations on one item")
	}
}

// TestConcurrentTwoSeatHoldsNeverShareASeat: 3,000 concurrent transactions
// each flip two of 20 seats from A to H and put an order; no seat ends in
// two orders and orders exist only for winners.
func TestConcurrentTwoSeatHoldsNeverShareASeat(t *testing.T) {
	if testing.Short() {
		t.Skip("3,000 concurrent transactions (about 5 s of both cores); run without -short")
	}
	ctx := context.Background()
	db := client(t, false)
	for i := range 20 {
		it := k(i)
		it["st"] = sv("A")
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	won := map[string][2]int{}
	var wg sync.WaitGroup
	for g := range 3000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 3))
			a, b := r.IntN(20), r.IntN(19)
			if b >= a {
				b++
			}
			who := "o" + strconv.Itoa(g)
			seat := func(i int) types.TransactWriteItem {
				return types.TransactWriteItem{Update: &types.Update{TableName: aws.String("t"), Key: k(i),
					UpdateExpression: aws.String("SET st = :h, who = :w"), ConditionExpression: aws.String("st = :a"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":h": sv("H"), ":w": sv(who), ":a": sv("A")}}}
			}
			order := map[string]types.AttributeValue{"pk": sv("O" + who), "sk": sv("X")}
			_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				seat(a), seat(b), {Put: &types.Put{TableName: aws.String("t"), Item: order, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
			}})
			if err == nil {
				mu.Lock()
				won[who] = [2]int{a, b}
				mu.Unlock()
			} else if firstFailed(err) < 0 {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	holder := map[int]string{}
	for who, s := range won {
		for _, i := range s {
			if prev, dup := holder[i]; dup {
				t.Fatalf("seat %d won by %s and %s", i, prev, who)
			}
			holder[i] = who
		}
	}
	for i := range 20 {
		out, _ := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"), Key: k(i), ConsistentRead: aws.Bool(true)})
		w, _ := out.Item["who"].(*types.AttributeValueMemberS)
		got := ""
		if w != nil {
			got = w.Value
		}
		if got != holder[i] {
			t.Fatalf("seat %d stored holder %q, winner %q", i, got, holder[i])
		}
	}
	out, _ := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("t")})
	if orders := len(out.Items) - 20; orders != len(won) {
		t.Fatalf("%d orders stored, %d winners", orders, len(won))
	}
}
