package localdynamo

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

type raw = json.RawMessage

// TxItem is one Put, Update or Delete of a TransactWriteItems request, as
// the single-item request (PutItem, UpdateItem, DeleteItem) that applies
// it.
type TxItem struct {
	Op    string
	Table string
	Key   map[string]raw
	Body  raw // the single-item request
	prev  map[string]raw
}

// TxError is a request ParseTransaction refuses, with the DynamoDB error
// type to answer it with.
type TxError struct{ Type, Message string }

func (e *TxError) Error() string { return e.Type + ": " + e.Message }

// Answer is the error as DynamoDB's JSON answer.
func (e *TxError) Answer() (int, []byte) { return errBody(e.Type, e.Message) }

// ErrConditionCheck: the request has a ConditionCheck, which no
// single-item request can apply.
var ErrConditionCheck = errors.New("TransactWriteItems with a ConditionCheck")

// ParseTransaction reads a TransactWriteItems request into its items.
// keyNames gives a table's key attribute names (a Put names its key inside
// its item). A refused request is a *TxError, or ErrConditionCheck.
func ParseTransaction(body []byte, keyNames func(table string) ([]string, error)) ([]TxItem, error) {
	var in struct {
		TransactItems []map[string]raw
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, &TxError{"SerializationException", "malformed TransactWriteItems request"}
	}
	if len(in.TransactItems) == 0 || len(in.TransactItems) > 100 {
		return nil, &TxError{"ValidationException", "TransactItems must have between 1 and 100 items"}
	}
	items := make([]TxItem, 0, len(in.TransactItems))
	seen := map[string]bool{}
	for _, ti := range in.TransactItems {
		it, err := parseItem(ti, keyNames)
		if err != nil {
			return nil, err
		}
		id := it.Table + "|" + canonical(it.Key)
		if seen[id] {
			return nil, &TxError{"ValidationException", "Transaction request cannot include multiple operations on one item"}
		}
		seen[id] = true
		items = append(items, it)
	}
	return items, nil
}

func parseItem(ti map[string]raw, keyNames func(string) ([]string, error)) (TxItem, error) {
	invalid := func(format string, a ...any) (TxItem, error) {
		return TxItem{}, &TxError{"ValidationException", fmt.Sprintf(format, a...)}
	}
	if len(ti) != 1 {
		return invalid("each TransactItem needs exactly one of Put, Update, Delete, ConditionCheck")
	}
	for kind, v := range ti {
		var f struct {
			TableName string
			Key       map[string]raw
			Item      map[string]raw
		}
		if err := json.Unmarshal(v, &f); err != nil || f.TableName == "" {
			return invalid("malformed %s", kind)
		}
		it := TxItem{Table: f.TableName, Body: v, Key: f.Key}
		switch kind {
		case "Put":
			it.Op = "PutItem"
			names, err := keyNames(f.TableName)
			if err != nil {
				return invalid("%s", err.Error())
			}
			it.Key = map[string]raw{}
			for _, n := range names {
				if av, ok := f.Item[n]; ok && n != "" {
					it.Key[n] = av
				}
			}
		case "Update":
			it.Op = "UpdateItem"
		case "Delete":
			it.Op = "DeleteItem"
		case "ConditionCheck":
			return TxItem{}, ErrConditionCheck
		default:
			return invalid("unknown TransactItem %s", kind)
		}
		if len(it.Key) == 0 {
			return invalid("%s without a key", kind)
		}
		return it, nil
	}
	return invalid("empty TransactItem")
}

// ApplyTransaction applies items all or nothing, as DynamoDB answers
// TransactWriteItems: it records every item's image, applies the items one
// by one as conditional single-item requests through call (item i's
// request, sent wherever item i lives), and on the first failed condition
// restores the images of the items applied, newest first, and answers
// TransactionCanceledException with one reason per item. The caller keeps
// every other request off these items meanwhile.
func ApplyTransaction(items []TxItem, call func(i int, op string, body []byte) (int, []byte)) (int, []byte) {
	for i := range items {
		b, _ := json.Marshal(map[string]any{"TableName": items[i].Table, "Key": items[i].Key, "ConsistentRead": true})
		status, out := call(i, "GetItem", b)
		if status != http.StatusOK {
			return status, out
		}
		var res struct{ Item map[string]raw }
		if err := json.Unmarshal(out, &res); err != nil {
			return errBody("InternalServerError", "unreadable GetItem answer")
		}
		if len(res.Item) > 0 {
			items[i].prev = res.Item
		}
	}
	reasons := make([]map[string]string, len(items))
	var applied []int
	failed := false
	for i, it := range items {
		status, out := call(i, it.Op, it.Body)
		switch {
		case status == http.StatusOK:
			reasons[i] = map[string]string{"Code": "None"}
			applied = append(applied, i)
		case strings.Contains(string(out), "ConditionalCheckFailed"):
			reasons[i] = map[string]string{"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
			failed = true
		default:
			undo(items, applied, call)
			return status, out
		}
	}
	if !failed {
		return http.StatusOK, []byte("{}")
	}
	undo(items, applied, call)
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
func undo(items []TxItem, applied []int, call func(i int, op string, body []byte) (int, []byte)) {
	for k := len(applied) - 1; k >= 0; k-- {
		i := applied[k]
		it := items[i]
		op, req := "DeleteItem", map[string]any{"TableName": it.Table, "Key": it.Key}
		if it.prev != nil {
			op, req = "PutItem", map[string]any{"TableName": it.Table, "Item": it.prev}
		}
		b, _ := json.Marshal(req)
		if status, out := call(i, op, b); status != http.StatusOK {
			// Cannot happen without a condition; a panic beats silent corruption.
			panic(fmt.Sprintf("localdynamo: undo %s failed: %s", op, out))
		}
	}
}

// canonical renders a key deterministically (json.Marshal sorts map keys).
func canonical(key map[string]raw) string {
	b, _ := json.Marshal(key)
	return string(b)
}
