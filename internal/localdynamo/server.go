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
package localdynamo

import (
	"bytes"
	"encoding/json"
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
}

// Server is an http.Handler speaking the DynamoDB JSON 1.0 protocol.
type Server struct {
	mini   http.Handler
	native bool
	// mu: transactions take it exclusively, every other request shared, so
	// no request observes a transaction half applied.
	mu     sync.RWMutex
	keysMu sync.Mutex
	keys   map[string][]string // table -> key attribute names
}

// New returns a server with no tables.
func New(o Options) *Server {
	return &Server{mini: miniserver.NewServer(), native: o.NativeTransactions, keys: map[string][]string{}}
}

const targetPrefix = "DynamoDB_20120810."

// ServeHTTP dispatches on X-Amz-Target.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if op != "TransactWriteItems" || s.native {
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
	s.mu.Lock()
	defer s.mu.Unlock()
	status, out := s.transact(body)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(status)
	_, _ = w.Write(out)
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

type raw = json.RawMessage

type txItem struct {
	op    string // PutItem, UpdateItem, DeleteItem
	table string
	key   map[string]raw
	body  raw // the single-item request
	prev  map[string]raw
}

func (s *Server) transact(body []byte) (int, []byte) {
	var in struct {
		TransactItems []map[string]raw
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return errBody("SerializationException", "malformed TransactWriteItems request")
	}
	if len(in.TransactItems) == 0 || len(in.TransactItems) > 100 {
		return errBody("ValidationException", "TransactItems must have between 1 and 100 items")
	}
	items := make([]txItem, 0, len(in.TransactItems))
	seen := map[string]bool{}
	for _, ti := range in.TransactItems {
		it, ok, err := s.parseItem(ti)
		if err != nil {
			return errBody("ValidationException", err.Error())
		}
		if !ok { // ConditionCheck: let minidyn run the whole transaction
			return s.call("TransactWriteItems", body)
		}
		id := it.table + "|" + canonical(it.key)
		if seen[id] {
			return errBody("ValidationException", "Transaction request cannot include multiple operations on one item")
		}
		seen[id] = true
		items = append(items, it)
	}
	for i := range items {
		prev, status, out := s.get(items[i].table, items[i].key)
		if status != http.StatusOK {
			return status, out
		}
		items[i].prev = prev
	}
	reasons := make([]map[string]string, len(items))
	var applied []int
	failed := false
	for i, it := range items {
		status, out := s.call(it.op, it.body)
		switch {
		case status == http.StatusOK:
			reasons[i] = map[string]string{"Code": "None"}
			applied = append(applied, i)
		case strings.Contains(string(out), "ConditionalCheckFailed"):
			reasons[i] = map[string]string{"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
			failed = true
		default:
			s.undo(items, applied)
			return status, out
		}
	}
	if !failed {
		return http.StatusOK, []byte("{}")
	}
	s.undo(items, applied)
	codes := make([]string, len(reasons))
	for i, r := range reasons {
		codes[i] = r["Code"]
	}
	b, _ := json.Marshal(map[string]any{
		"__type":              "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
		"message":             "Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]",
		"CancellationReasons": reasons,
	})
	return http.StatusBadRequest, b
}

// undo restores the images of applied items, newest first.
func (s *Server) undo(items []txItem, applied []int) {
	for k := len(applied) - 1; k >= 0; k-- {
		it := items[applied[k]]
		var op string
		var req map[string]any
		if it.prev != nil {
			op, req = "PutItem", map[string]any{"TableName": it.table, "Item": it.prev}
		} else {
			op, req = "DeleteItem", map[string]any{"TableName": it.table, "Key": it.key}
		}
		b, _ := json.Marshal(req)
		if status, out := s.call(op, b); status != http.StatusOK {
			// Cannot happen without a condition; a panic beats silent corruption.
			panic(fmt.Sprintf("localdynamo: undo %s failed: %s", op, out))
		}
	}
}

func (s *Server) parseItem(ti map[string]raw) (txItem, bool, error) {
	if len(ti) != 1 {
		return txItem{}, false, fmt.Errorf("each TransactItem needs exactly one of Put, Update, Delete, ConditionCheck")
	}
	for kind, v := range ti {
		var f struct {
			TableName string
			Key       map[string]raw
			Item      map[string]raw
		}
		if err := json.Unmarshal(v, &f); err != nil || f.TableName == "" {
			return txItem{}, false, fmt.Errorf("malformed %s", kind)
		}
		it := txItem{table: f.TableName, body: v, key: f.Key}
		switch kind {
		case "Put":
			it.op = "PutItem"
			names, err := s.keyNames(f.TableName)
			if err != nil {
				return txItem{}, false, err
			}
			it.key = map[string]raw{}
			for _, n := range names {
				if av, ok := f.Item[n]; ok {
					it.key[n] = av
				}
			}
		case "Update":
			it.op = "UpdateItem"
		case "Delete":
			it.op = "DeleteItem"
		case "ConditionCheck":
			return txItem{}, false, nil
		default:
			return txItem{}, false, fmt.Errorf("unknown TransactItem %s", kind)
		}
		if len(it.key) == 0 {
			return txItem{}, false, fmt.Errorf("%s without a key", kind)
		}
		return it, true, nil
	}
	return txItem{}, false, nil
}

func (s *Server) get(table string, key map[string]raw) (map[string]raw, int, []byte) {
	b, _ := json.Marshal(map[string]any{"TableName": table, "Key": key, "ConsistentRead": true})
	status, out := s.call("GetItem", b)
	if status != http.StatusOK {
		return nil, status, out
	}
	var res struct{ Item map[string]raw }
	if err := json.Unmarshal(out, &res); err != nil {
		st, body := errBody("InternalServerError", "unreadable GetItem answer")
		return nil, st, body
	}
	if len(res.Item) == 0 {
		return nil, http.StatusOK, nil
	}
	return res.Item, http.StatusOK, nil
}

func (s *Server) keyNames(table string) ([]string, error) {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	if k, ok := s.keys[table]; ok {
		return k, nil
	}
	b, _ := json.Marshal(map[string]string{"TableName": table})
	status, out := s.call("DescribeTable", b)
	if status != http.StatusOK {
		return nil, fmt.Errorf("table %s: %s", table, out)
	}
	var d struct {
		Table struct {
			KeySchema []struct{ AttributeName string }
		}
	}
	if err := json.Unmarshal(out, &d); err != nil || len(d.Table.KeySchema) == 0 {
		return nil, fmt.Errorf("table %s: no key schema", table)
	}
	var names []string
	for _, k := range d.Table.KeySchema {
		names = append(names, k.AttributeName)
	}
	s.keys[table] = names
	return names, nil
}

// canonical renders a key deterministically (json.Marshal sorts map keys).
func canonical(key map[string]raw) string {
	b, _ := json.Marshal(key)
	return string(b)
}

func errBody(typ, msg string) (int, []byte) {
	b, _ := json.Marshal(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#" + typ, "message": msg})
	return http.StatusBadRequest, b
}

func writeErr(w http.ResponseWriter, typ, msg string) {
	status, b := errBody(typ, msg)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
