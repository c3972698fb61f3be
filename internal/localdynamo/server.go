// Package localdynamo is the embedded DynamoDB-compatible server of the
// local stack and the tests: minidyn (github.com/truora/minidyn) behind a
// front that runs TransactWriteItems in time proportional to the
// transaction, not the table.
//
// minidyn makes a transaction atomic by deep-copying every table it touches
// before running it, so one hold costs O(table size): about 60 ms with the
// 22,000-item demo event, and growing with every order. The front instead
// runs a transaction's items one by one as single-item requests on minidyn
// while holding an exclusive lock that every other request respects
// (serializable isolation), records each item's image first, and on any
// failed condition undoes the items already applied and answers
// TransactionCanceledException with one reason per item, as DynamoDB does.
// Set Options.NativeTransactions to hand transactions to minidyn unchanged;
// a differential test checks both give the same results.
//
// The front also refuses the writes AWS refuses and minidyn accepts (items
// over 400 KB, batches over 25 items or 16 MB, transactions over 100 items
// or 4 MB: limits.go), and pages a Query with a Limit as AWS does (query.go),
// so code cannot come to rely on what only minidyn allows.
package localdynamo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	miniserver "github.com/truora/minidyn/server"
)

// Options configures a Server.
type Options struct {
	// NativeTransactions passes TransactWriteItems to minidyn as is.
	NativeTransactions bool
	// Faults to inject (faults.go); the zero value injects none.
	// TransactWriteItems' ClientRequestToken is honoured either way.
	Faults Faults
	// Feed, when set, receives the committed writes of the items it
	// filters for (feed.go).
	Feed *Feed
}

// Server is an http.Handler speaking the DynamoDB JSON 1.0 protocol.
type Server struct {
	mini   http.Handler
	native bool
	// mu: transactions take it exclusively, every other request shared, so
	// no request observes a transaction half applied.
	mu     sync.RWMutex
	keysMu sync.Mutex
	keys   map[string][]string // table|index -> key attribute names
	guard  *guard
	feed   *Feed
}

// New returns a server with no tables.
func New(o Options) *Server {
	s := &Server{mini: miniserver.NewServer(), native: o.NativeTransactions, keys: map[string][]string{}, feed: o.Feed}
	s.guard = newGuard(http.HandlerFunc(s.serve), o.Faults)
	return s
}

const targetPrefix = "DynamoDB_20120810."

// ServeHTTP serves a request through the guard (client request tokens,
// injected faults).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.guard.ServeHTTP(w, r) }

// serve dispatches on X-Amz-Target.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if describesTable(op) {
		s.describe(w, r, op)
		return
	}
	if !inspected[op] && (s.feed == nil || !isWrite(op)) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		s.mini.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeErr(w, "SerializationException", "cannot read request")
		return
	}
	if lerr := checkLimits(op, body); lerr != nil {
		status, out := lerr.Answer()
		writeAnswer(w, status, out)
		return
	}
	if op != "TransactWriteItems" || s.native {
		s.mu.RLock()
		defer s.mu.RUnlock()
		if op == "Query" {
			if status, out, ok := s.queryLimited(body); ok {
				writeAnswer(w, status, out)
				return
			}
		}
		status, out := s.call(op, body)
		if status == http.StatusOK && s.feed != nil && isWrite(op) {
			s.feed.feedWrites(writtenItems(op, body, s.keyNames), s.keyNames, s.readBack)
		}
		writeAnswer(w, status, out)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	status, out := s.transact(body)
	if status == http.StatusOK && s.feed != nil {
		if items, err := ParseTransaction(body, s.keyNames); err == nil {
			written := make([]writtenItem, len(items))
			for i, it := range items {
				written[i] = writtenItem{it.Table, it.Key}
			}
			s.feed.feedWrites(written, s.keyNames, s.readBack)
		}
	}
	writeAnswer(w, status, out)
}

// readBack reads an item for the feed; the caller holds the lock.
func (s *Server) readBack(_ writtenItem, body []byte) (int, []byte) { return s.call("GetItem", body) }

// inspected are the operations the front reads before minidyn does: the
// writes AWS limits in size, transactions, which it runs itself, and
// queries, which it pages when they have a Limit.
var inspected = map[string]bool{"PutItem": true, "BatchWriteItem": true, "TransactWriteItems": true, "Query": true}

func writeAnswer(w http.ResponseWriter, status int, out []byte) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// describe answers CreateTable and DescribeTable with the table's status.
func (s *Server) describe(w http.ResponseWriter, r *http.Request, op string) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeErr(w, "SerializationException", "cannot read request")
		return
	}
	s.mu.RLock()
	status, out := withTableStatus(s.call(op, body))
	s.mu.RUnlock()
	writeAnswer(w, status, out)
}

// call runs one request on minidyn.
func (s *Server) call(op string, body []byte) (int, []byte) {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", targetPrefix+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	rec := httptest.NewRecorder()
	s.mini.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// transact runs a TransactWriteItems request on minidyn item by item
// (ApplyTransaction); the caller holds the exclusive lock. A request with
// a ConditionCheck goes to minidyn whole.
func (s *Server) transact(body []byte) (int, []byte) {
	items, err := ParseTransaction(body, s.keyNames)
	var txErr *TxError
	switch {
	case errors.Is(err, ErrConditionCheck):
		return s.call("TransactWriteItems", body)
	case errors.As(err, &txErr):
		return txErr.Answer()
	case err != nil:
		return errBody("ValidationException", err.Error())
	}
	return ApplyTransaction(items, func(_ int, op string, b []byte) (int, []byte) { return s.call(op, b) })
}

func (s *Server) keyNames(table string) ([]string, error) { return s.keySchema(table, "") }

// keySchema names a table's key attributes or, with an index, the table's
// and then the index's: the attributes of a LastEvaluatedKey.
func (s *Server) keySchema(table, index string) ([]string, error) {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	if k, ok := s.keys[table+"|"+index]; ok {
		return k, nil
	}
	b, _ := json.Marshal(map[string]string{"TableName": table})
	status, out := s.call("DescribeTable", b)
	if status != http.StatusOK {
		return nil, fmt.Errorf("table %s: %s", table, out)
	}
	type keySchema []struct{ AttributeName string }
	var d struct {
		Table struct {
			KeySchema              keySchema
			GlobalSecondaryIndexes []struct {
				IndexName string
				KeySchema keySchema
			}
		}
	}
	if err := json.Unmarshal(out, &d); err != nil || len(d.Table.KeySchema) == 0 {
		return nil, fmt.Errorf("table %s: no key schema", table)
	}
	var names []string
	for _, k := range d.Table.KeySchema {
		names = append(names, k.AttributeName)
	}
	if index != "" {
		found := false
		for _, gsi := range d.Table.GlobalSecondaryIndexes {
			if gsi.IndexName == index {
				found = true
				for _, k := range gsi.KeySchema {
					names = append(names, k.AttributeName)
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("table %s has no index %s", table, index)
		}
	}
	s.keys[table+"|"+index] = names
	return names, nil
}

func errBody(typ, msg string) (int, []byte) {
	b, _ := json.Marshal(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#" + typ, "message": msg})
	return http.StatusBadRequest, b
}

func writeErr(w http.ResponseWriter, typ, msg string) {
	status, b := errBody(typ, msg)
	writeAnswer(w, status, b)
}
