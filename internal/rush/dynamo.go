package rush

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/localdynamo"
	"github.com/stararena/stararena/internal/topology"
)

// dynamoServer is the embedded DynamoDB the simulation's stack talks to:
// devstack's own server, started here so that every request can be
// counted (devstack.OpCounter) and priced in capacity units.
type dynamoServer struct {
	url   string
	srv   *http.Server
	ops   *devstack.OpCounter
	units *unitMeter
	// feed carries the seat and GA writes to the stack's projector, as
	// DynamoDB Streams does in AWS (ADR 18).
	feed *localdynamo.Feed
}

// startDynamo starts the server: internal/localdynamo, the local stack's
// own, or with shards > 1 the sharded emulator (shards.go) for sales too
// big for one minidyn.
func startDynamo(shards int) (*dynamoServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d := &dynamoServer{url: "http://" + ln.Addr().String(), ops: &devstack.OpCounter{}, units: &unitMeter{},
		feed: devstack.NewFeed(topology.Default())}
	var backend http.Handler
	if shards > 1 {
		sh := localdynamo.NewSharded(shards)
		sh.SetFeed(d.feed)
		backend = sh
	} else {
		native := os.Getenv("LOCAL_DDB_TRANSACTIONS") == "native"
		backend = localdynamo.New(localdynamo.Options{NativeTransactions: native, Feed: d.feed})
	}
	h := d.ops.Wrap(d.units.wrap(backend))
	d.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = d.srv.Serve(ln) }()
	return d, nil
}

func (d *dynamoServer) close() { _ = d.srv.Close() }

// unitMeter estimates the read and write request units an on-demand table
// would bill for the requests it sees. minidyn reports no
// ConsumedCapacity, so the units follow DynamoDB's rules from the request
// shapes, assuming items of at most 1 KB (writes) and 4 KB (reads):
//
//	GetItem, BatchGetItem per key: 1 RRU strongly consistent, 0.5 eventually
//	Query, Scan: per 4 KB returned (at least one), 1 or 0.5
//	PutItem, UpdateItem, DeleteItem, BatchWriteItem per item: 1 WRU
//	TransactWriteItems per item (condition checks included): 2 WRU
//	TransactGetItems per item: 2 RRU
//
// Writes to global secondary indexes are not included.
type unitMeter struct {
	mu      sync.Mutex
	wru     float64
	rru     float64
	queries map[string]*queryStat // "index key-prefix": what the Query asked for
}

// queryStat is how often one kind of Query ran and how long it took the
// emulator (which scans an index to answer, unlike DynamoDB).
type queryStat struct {
	Count   int64   `json:"count"`
	Seconds float64 `json:"seconds"`
}

// Queries returns the Query requests by index and key prefix.
func (m *unitMeter) Queries() map[string]queryStat {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]queryStat, len(m.queries))
	for k, v := range m.queries {
		out[k] = *v
	}
	return out
}

// queryKind names a Query by its index and the leading part of its
// partition key value (up to the first '#').
func queryKind(body []byte) string {
	var q struct {
		IndexName                 string
		ExpressionAttributeValues map[string]map[string]any
	}
	_ = json.Unmarshal(body, &q)
	index := q.IndexName
	if index == "" {
		index = "table"
	}
	prefix := "?"
	if v, ok := q.ExpressionAttributeValues[":p"]["S"].(string); ok {
		prefix, _, _ = strings.Cut(v, "#")
	}
	return index + " " + prefix
}

// Units returns the write and read request units so far.
func (m *unitMeter) Units() (wru, rru float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.wru, m.rru
}

func (m *unitMeter) add(w, r float64) {
	m.mu.Lock()
	m.wru += w
	m.rru += r
	m.mu.Unlock()
}

var consistentTrue = []byte(`"ConsistentRead":true`)

func (m *unitMeter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := r.Header.Get("X-Amz-Target")
		if i := strings.LastIndexByte(op, '.'); i >= 0 {
			op = op[i+1:]
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		read := 0.5
		if bytes.Contains(body, consistentTrue) {
			read = 1
		}
		switch op {
		case "GetItem":
			m.add(0, read)
		case "PutItem", "UpdateItem", "DeleteItem":
			m.add(1, 0)
		case "TransactWriteItems":
			var req struct{ TransactItems []json.RawMessage }
			_ = json.Unmarshal(body, &req)
			m.add(2*float64(len(req.TransactItems)), 0)
		case "TransactGetItems":
			var req struct{ TransactItems []json.RawMessage }
			_ = json.Unmarshal(body, &req)
			m.add(0, 2*float64(len(req.TransactItems)))
		case "BatchGetItem":
			var req struct {
				RequestItems map[string]struct {
					Keys           []json.RawMessage
					ConsistentRead bool
				}
			}
			_ = json.Unmarshal(body, &req)
			units := 0.0
			for _, t := range req.RequestItems {
				per := 0.5
				if t.ConsistentRead {
					per = 1
				}
				units += per * float64(len(t.Keys))
			}
			m.add(0, units)
		case "BatchWriteItem":
			var req struct{ RequestItems map[string][]json.RawMessage }
			_ = json.Unmarshal(body, &req)
			n := 0
			for _, t := range req.RequestItems {
				n += len(t)
			}
			m.add(float64(n), 0)
		case "Query", "Scan":
			cw := &countingResponse{ResponseWriter: w}
			start := time.Now()
			h.ServeHTTP(cw, r)
			took := time.Since(start)
			m.add(0, read*math.Max(1, math.Ceil(float64(cw.n)/4096)))
			kind := queryKind(body)
			m.mu.Lock()
			if m.queries == nil {
				m.queries = map[string]*queryStat{}
			}
			if m.queries[kind] == nil {
				m.queries[kind] = &queryStat{}
			}
			m.queries[kind].Count++
			m.queries[kind].Seconds += took.Seconds()
			m.mu.Unlock()
			return
		}
		h.ServeHTTP(w, r)
	})
}

// countingResponse counts the bytes of a response body.
type countingResponse struct {
	http.ResponseWriter
	n int
}

func (c *countingResponse) Write(p []byte) (int, error) {
	c.n += len(p)
	return c.ResponseWriter.Write(p)
}
