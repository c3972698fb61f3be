package dynamo_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/topology"
)

// A rate-limit window's item carries its expiry in the attribute the
// table's TTL setting names, so DynamoDB deletes it (an attribute of any
// other name would keep every window forever).
func TestRateLimitItemExpiresByTheTablesTTL(t *testing.T) {
	ctx := context.Background()
	db, table := testenv.DynamoDB(t)
	window := time.Date(2027, 3, 1, 19, 0, 0, 0, time.UTC)
	expires := window.Add(2 * time.Minute)
	st := dynamo.NewStores(db, table, nil).RateLimit
	if ok, err := st.Hit(ctx, "holds", "fan-1", window, expires, 3); err != nil || !ok {
		t.Fatalf("hit: %v, %v", ok, err)
	}
	pk := dynamo.PrefixRateLimit + "holds#fan-1#" + strconv.FormatInt(window.Unix(), 10)
	out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	var found map[string]types.AttributeValue
	for _, it := range out.Items {
		if v, ok := it["pk"].(*types.AttributeValueMemberS); ok && v.Value == pk {
			found = it
		}
	}
	if found == nil {
		t.Fatalf("no item %s among %d", pk, len(out.Items))
	}
	ttl, ok := found[topology.TTLAttribute].(*types.AttributeValueMemberN)
	if !ok || ttl.Value != strconv.FormatInt(expires.Unix(), 10) {
		t.Fatalf("%s = %#v, want %d; item %v", topology.TTLAttribute, found[topology.TTLAttribute], expires.Unix(), found)
	}
}
