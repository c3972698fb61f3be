package rush

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/dynamo"
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
// Writes to global secondary indexes are not included. It also keeps the
// requests and units by caller (the function whose invocation made the
// request, dynamo.CallerHeader), operation and kind of item (usageKey), so
// that the report can say where the requests go.
type unitMeter struct {
	mu      sync.Mutex
	wru     float64
	rru     float64
	queries map[string]*queryStat // "index key-prefix": what the Query asked for
	byKind  map[usageKey]ddbUsage
}

// usageKey is one kind of request: who made it, which operation (with
// "·consistent" when it asked for a strongly consistent read) and which
// kinds of items it named (itemKinds).
type usageKey struct{ caller, op, items string }

// ddbUsage is what the requests of one usageKey cost.
type ddbUsage struct {
	requests int64
	wru, rru float64
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

// Usage returns the requests and units by caller, operation and item kind
// so far.
func (m *unitMeter) Usage() map[usageKey]ddbUsage {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[usageKey]ddbUsage, len(m.byKind))
	for k, v := range m.byKind {
		out[k] = v
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

// attrKey is an item's key as the request carries it.
type attrKey struct {
	PK struct{ S string } `json:"pk"`
	SK struct{ S string } `json:"sk"`
}

// kind names an item by the leading parts of its keys: EVENT/META,
// EVENT/QUEUE, SEAT/SEAT, ORDER/TICKETS.
func (k attrKey) kind() string {
	pk, _, _ := strings.Cut(k.PK.S, "#")
	sk, _, _ := strings.Cut(k.SK.S, "#")
	return pk + "/" + sk
}

// itemKinds names the kinds of items a request reads or writes, sorted
// and joined with "+" (a transaction: "IDEM/IDEM+LIMIT/LIMIT+ORDER/ORDER+…").
func itemKinds(op string, body []byte) string {
	var keys []attrKey
	switch op {
	case "GetItem", "UpdateItem", "DeleteItem":
		var r struct{ Key attrKey }
		_ = json.Unmarshal(body, &r)
		keys = append(keys, r.Key)
	case "PutItem":
		var r struct{ Item attrKey }
		_ = json.Unmarshal(body, &r)
		keys = append(keys, r.Item)
	case "TransactWriteItems", "TransactGetItems":
		var r struct {
			TransactItems []map[string]struct {
				Key  *attrKey
				Item *attrKey
			}
		}
		_ = json.Unmarshal(body, &r)
		for _, ti := range r.TransactItems {
			for _, a := range ti {
				if a.Key != nil {
					keys = append(keys, *a.Key)
				}
				if a.Item != nil {
					keys = append(keys, *a.Item)
				}
			}
		}
	case "BatchGetItem":
		var r struct {
			RequestItems map[string]struct{ Keys []attrKey }
		}
		_ = json.Unmarshal(body, &r)
		for _, t := range r.RequestItems {
			keys = append(keys, t.Keys...)
		}
	case "BatchWriteItem":
		var r struct {
			RequestItems map[string][]struct {
				PutRequest    *struct{ Item attrKey }
				DeleteRequest *struct{ Key attrKey }
			}
		}
		_ = json.Unmarshal(body, &r)
		for _, t := range r.RequestItems {
			for _, w := range t {
				if w.PutRequest != nil {
					keys = append(keys, w.PutRequest.Item)
				}
				if w.DeleteRequest != nil {
					keys = append(keys, w.DeleteRequest.Key)
				}
			}
		}
	case "Query", "Scan":
		return queryKind(body)
	default:
		return "-"
	}
	seen := map[string]bool{}
	var kinds []string
	for _, k := range keys {
		if n := k.kind(); !seen[n] {
			seen[n] = true
			kinds = append(kinds, n)
		}
	}
	sort.Strings(kinds)
	return strings.Join(kinds, "+")
}

// Units returns the write and read request units so far.
func (m *unitMeter) Units() (wru, rru float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.wru, m.rru
}

func (m *unitMeter) add(k usageKey, w, r float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.wru += w
	m.rru += r
	if m.byKind == nil {
		m.byKind = map[usageKey]ddbUsage{}
	}
	u := m.byKind[k]
	u.requests++
	u.wru += w
	u.rru += r
	m.byKind[k] = u
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
		k := usageKey{caller: r.Header.Get(dynamo.CallerHeader), op: op, items: itemKinds(op, body)}
		if k.caller == "" {
			k.caller = "(untagged)"
		}
		if bytes.Contains(body, consistentTrue) {
			read = 1
			k.op += "·consistent"
		}
		switch op {
		case "GetItem":
			m.add(k, 0, read)
		case "PutItem", "UpdateItem", "DeleteItem":
			m.add(k, 1, 0)
		case "TransactWriteItems":
			var req struct{ TransactItems []json.RawMessage }
			_ = json.Unmarshal(body, &req)
			m.add(k, 2*float64(len(req.TransactItems)), 0)
		case "TransactGetItems":
			var req struct{ TransactItems []json.RawMessage }
			_ = json.Unmarshal(body, &req)
			m.add(k, 0, 2*float64(len(req.TransactItems)))
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
			m.add(k, 0, units)
		case "BatchWriteItem":
			var req struct{ RequestItems map[string][]json.RawMessage }
			_ = json.Unmarshal(body, &req)
			n := 0
			for _, t := range req.RequestItems {
				n += len(t)
			}
			m.add(k, float64(n), 0)
		case "Query", "Scan":
			cw := &countingResponse{ResponseWriter: w}
			start := time.Now()
			h.ServeHTTP(cw, r)
			took := time.Since(start)
			m.add(k, 0, read*math.Max(1, math.Ceil(float64(cw.n)/4096)))
			m.mu.Lock()
			if m.queries == nil {
				m.queries = map[string]*queryStat{}
			}
			if m.queries[k.items] == nil {
				m.queries[k.items] = &queryStat{}
			}
			m.queries[k.items].Count++
			m.queries[k.items].Seconds += took.Seconds()
			m.mu.Unlock()
			return
		default:
			m.add(k, 0, 0)
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
