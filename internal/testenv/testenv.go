// Package testenv gives tests a real DynamoDB-compatible server: an
// in-process minidyn on loopback, or the endpoint in
// AWS_ENDPOINT_URL_DYNAMODB (dynalite, DynamoDB Local, LocalStack, AWS) when
// set, so the same tests run against every implementation.
package testenv

import (
	"context"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/uuid"

	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/localdynamo"
	"github.com/stararena/stararena/internal/topology"
)

// NativeTransactions reports whether LOCAL_DDB_TRANSACTIONS=native asks the
// embedded server to run transactions in minidyn itself rather than in
// localdynamo's front (make test runs the inventory invariants both ways).
func NativeTransactions() bool { return os.Getenv("LOCAL_DDB_TRANSACTIONS") == "native" }

// DynamoDB returns a client and the name of a fresh main table. The server
// (when embedded) stops when the test ends.
func DynamoDB(tb testing.TB) (*dynamodb.Client, string) {
	tb.Helper()
	return DynamoDBAt(tb, os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"))
}

// DynamoDBAt is DynamoDB against the given endpoint (Moto's, say); an
// empty endpoint starts the embedded server.
func DynamoDBAt(tb testing.TB, endpoint string) (*dynamodb.Client, string) {
	tb.Helper()
	if endpoint == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		// LOCAL_DDB_FAULTS runs any test under DynamoDB's failures.
		faults, err := localdynamo.ParseFaults(os.Getenv(localdynamo.FaultsEnv))
		if err != nil {
			tb.Fatal(err)
		}
		srv := &http.Server{Handler: localdynamo.New(localdynamo.Options{NativeTransactions: NativeTransactions(), Faults: faults}), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		tb.Cleanup(func() { _ = srv.Close() })
		endpoint = "http://" + ln.Addr().String()
	}
	return clientAndTable(tb, endpoint)
}

// clientAndTable connects to endpoint and creates a fresh main table there.
func clientAndTable(tb testing.TB, endpoint string, opts ...func(*dynamodb.Options)) (*dynamodb.Client, string) {
	tb.Helper()
	ctx := context.Background()
	db, err := dynamo.NewClient(ctx, dynamo.ClientOptions{Region: "us-east-1", Endpoint: endpoint, StaticCredentials: true})
	if err != nil {
		tb.Fatal(err)
	}
	if len(opts) > 0 {
		db = dynamodb.New(db.Options(), opts...)
	}
	table := "test-" + strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	if err := dynamo.CreateTables(ctx, db, topology.Default().Tables, map[string]string{topology.MainTable: table}); err != nil {
		tb.Fatal(err)
	}
	return db, table
}
