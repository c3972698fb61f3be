package testenv

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stararena/stararena/internal/localdynamo"
)

// Throttle decides, per DynamoDB request, whether the server answers it
// with a ThrottlingException instead: op is the operation (the
// X-Amz-Target's action, e.g. "TransactWriteItems") and body the request's
// JSON.
type Throttle func(op string, body []byte) bool

// ThrottledDynamoDB is DynamoDB with a front that throttles the requests
// throttle picks, as DynamoDB does on a hot partition; everything else
// reaches the real server (embedded, or AWS_ENDPOINT_URL_DYNAMODB). The
// client does not retry, so a throttled call fails at once.
func ThrottledDynamoDB(tb testing.TB, throttle Throttle) (*dynamodb.Client, string) {
	tb.Helper()
	var next http.Handler = localdynamo.New(localdynamo.Options{NativeTransactions: NativeTransactions()})
	if ep := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"); ep != "" {
		u, err := url.Parse(ep)
		if err != nil {
			tb.Fatal(err)
		}
		next = httputil.NewSingleHostReverseProxy(u)
	}
	front := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		op := r.Header.Get("X-Amz-Target")
		op = op[strings.LastIndexByte(op, '.')+1:]
		if throttle(op, body) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}`)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: front, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return clientAndTable(tb, "http://"+ln.Addr().String(), func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
}

// FaultyDynamoDB is the embedded DynamoDB with a fresh main table, whose
// faults the test turns on and off (Server.SetFaults) around the calls it
// aims them at. The client does not retry, so the application's own
// retries are the ones that meet the faults. It skips the test when
// AWS_ENDPOINT_URL_DYNAMODB names another server: only the embedded one
// injects faults.
func FaultyDynamoDB(tb testing.TB) (*dynamodb.Client, string, *localdynamo.Server) {
	tb.Helper()
	if os.Getenv("AWS_ENDPOINT_URL_DYNAMODB") != "" {
		tb.Skip("injects faults on the embedded DynamoDB")
	}
	db := localdynamo.New(localdynamo.Options{NativeTransactions: NativeTransactions()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: db, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	client, table := clientAndTable(tb, "http://"+ln.Addr().String(), func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
	return client, table, db
}
