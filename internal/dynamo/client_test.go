package dynamo_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/localdynamo"
	"github.com/stararena/stararena/internal/topology"
)

// creating answers DescribeTable as DynamoDB does while a table is being
// created: the first tableFor answers say the table is CREATING, the next
// indexFor say it is ACTIVE but its indexes are CREATING; then the
// embedded server's own answer. Everything else goes to the server as is.
type creating struct {
	next               http.Handler
	tableFor, indexFor int32
	describes          atomic.Int32
}

func (c *creating) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".DescribeTable") {
		c.next.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	c.next.ServeHTTP(rec, r)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	out := rec.Body.Bytes()
	if rec.Code != http.StatusOK {
		w.WriteHeader(rec.Code)
		_, _ = w.Write(out)
		return
	}
	if n := c.describes.Add(1); n <= c.tableFor+c.indexFor {
		var d map[string]map[string]any
		if err := json.Unmarshal(out, &d); err == nil {
			if n <= c.tableFor {
				d["Table"]["TableStatus"] = "CREATING"
			}
			for _, ix := range d["Table"]["GlobalSecondaryIndexes"].([]any) {
				ix.(map[string]any)["IndexStatus"] = "CREATING"
			}
			out, _ = json.Marshal(d)
		}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_, _ = w.Write(out)
}

func TestCreateTablesWaitsUntilTheTableAndItsIndexesAreActive(t *testing.T) {
	// GIVEN a server whose new table stays CREATING for three
	// descriptions, then has CREATING indexes for two more
	c := &creating{next: localdynamo.New(localdynamo.Options{}), tableFor: 3, indexFor: 2}
	ctx, db := context.Background(), clientOf(t, c)
	// WHEN the topology's tables are created
	if err := dynamo.CreateTables(ctx, db, topology.Default().Tables, map[string]string{topology.MainTable: "t"}); err != nil {
		t.Fatal(err)
	}
	// THEN CreateTables returned right after the first description that
	// said ACTIVE for the table and every index
	if got, want := c.describes.Load(), c.tableFor+c.indexFor+1; got != want {
		t.Errorf("%d descriptions of the table, want %d: the wait ended before ACTIVE or polled on after it", got, want)
	}
}

func TestWaitActiveGivesUpOnATableThatStaysCreating(t *testing.T) {
	// GIVEN a table that never leaves CREATING
	c := &creating{next: localdynamo.New(localdynamo.Options{}), tableFor: 1 << 30}
	ctx, db := context.Background(), clientOf(t, c)
	if _, err := db.CreateTable(ctx, dynamo.CreateTableInput("t", topology.Default().Tables[0])); err != nil {
		t.Fatal(err)
	}
	// WHEN the wait is bounded
	start := time.Now()
	err := dynamo.WaitActive(ctx, db, "t", 300*time.Millisecond)
	// THEN it fails naming the table and its status, near the bound
	if err == nil || !strings.Contains(err.Error(), "table t") || !strings.Contains(err.Error(), "CREATING") {
		t.Fatalf("WaitActive = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %s, bound 300ms", d)
	}
}

// clientOf is a client of a test server running h.
func clientOf(t *testing.T, h http.Handler) *dynamodb.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	db, err := dynamo.NewClient(context.Background(), dynamo.ClientOptions{Region: "us-east-1", Endpoint: srv.URL, StaticCredentials: true})
	if err != nil {
		t.Fatal(err)
	}
	return db
}
