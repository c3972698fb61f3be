package localdynamo

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
)

// Feed is the local stand-in for a DynamoDB stream with a key filter: the
// servers (Server, Sharded) publish a record for every committed write of
// an item whose partition key starts with one of the feed's prefixes, and
// a consumer takes them in batches (ADR 18).
//
// How faithful it is: a record is published after the write committed
// (after the whole transaction, for TransactWriteItems), with the item's
// keys and its image read back right after the write under the item's
// lock, so the last record of an item always carries its latest state, as
// a stream delivers an item's changes in order. Unlike a stream, the image
// is read after the write, so two quick writes of one item may publish the
// second state twice (a consumer that applies the latest state, as the
// projector does, cannot tell); records live in memory only (a stopped
// stack loses what was not taken), there are no shards, no 24-hour
// retention and no iterator positions; a consumer that fails a record
// puts it back itself.
type Feed struct {
	prefixes []string
	mu       sync.Mutex
	seq      int64
	records  []Record
	signal   chan struct{}
}

// Record is one change: the item's keys and its image after the write
// (nil: the write deleted it).
type Record struct {
	Seq      int64
	Table    string
	Keys     map[string]json.RawMessage
	NewImage map[string]json.RawMessage
}

// NewFeed returns a feed of the items whose partition key starts with one
// of prefixes.
func NewFeed(prefixes ...string) *Feed {
	return &Feed{prefixes: prefixes, signal: make(chan struct{}, 1)}
}

// Signal receives a value when records were published since the last
// receive.
func (f *Feed) Signal() <-chan struct{} { return f.signal }

// Take removes and returns up to n records, oldest first.
func (f *Feed) Take(n int) []Record {
	f.mu.Lock()
	defer f.mu.Unlock()
	n = min(n, len(f.records))
	out := append([]Record(nil), f.records[:n]...)
	f.records = f.records[n:]
	return out
}

// Return puts records a consumer could not apply back at the front, to be
// taken again.
func (f *Feed) Return(rs []Record) {
	if len(rs) == 0 {
		return
	}
	f.mu.Lock()
	f.records = append(append([]Record(nil), rs...), f.records...)
	f.mu.Unlock()
	f.notify()
}

// Pending counts the records not taken yet.
func (f *Feed) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.records)
}

func (f *Feed) notify() {
	select {
	case f.signal <- struct{}{}:
	default:
	}
}

// wants reports whether the item with this partition key value is fed.
func (f *Feed) wants(pk json.RawMessage) bool {
	var v struct{ S string }
	if json.Unmarshal(pk, &v) != nil || v.S == "" {
		return false
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(v.S, p) {
			return true
		}
	}
	return false
}

// publish reads the item's image with get (under the caller's lock on the
// item) and records it. Reading and appending under the feed's own lock
// keeps an item's records in the order of the states they carry.
func (f *Feed) publish(table string, key map[string]json.RawMessage, get func(body []byte) (int, []byte)) {
	b, _ := json.Marshal(map[string]any{"TableName": table, "Key": key, "ConsistentRead": true})
	f.mu.Lock()
	defer f.mu.Unlock()
	status, out := get(b)
	if status != http.StatusOK {
		return
	}
	var res struct{ Item map[string]json.RawMessage }
	if json.Unmarshal(out, &res) != nil {
		return
	}
	f.seq++
	r := Record{Seq: f.seq, Table: table, Keys: key}
	if len(res.Item) > 0 {
		r.NewImage = res.Item
	}
	f.records = append(f.records, r)
	f.notify()
}

// writtenItem is one item a write request changed.
type writtenItem struct {
	table string
	key   map[string]json.RawMessage
}

// writtenItems lists the items a successful single-item or batch write
// changed; keyNames gives a table's key attribute names (a put names its
// key inside its item).
func writtenItems(op string, body []byte, keyNames func(string) ([]string, error)) []writtenItem {
	pick := func(table string, it map[string]json.RawMessage) map[string]json.RawMessage {
		names, err := keyNames(table)
		if err != nil {
			return nil
		}
		k := map[string]json.RawMessage{}
		for _, n := range names {
			if v, ok := it[n]; ok {
				k[n] = v
			}
		}
		return k
	}
	switch op {
	case "PutItem", "UpdateItem", "DeleteItem":
		var in struct {
			TableName string
			Key, Item map[string]json.RawMessage
		}
		if json.Unmarshal(body, &in) != nil {
			return nil
		}
		if op == "PutItem" {
			return []writtenItem{{in.TableName, pick(in.TableName, in.Item)}}
		}
		return []writtenItem{{in.TableName, in.Key}}
	case "BatchWriteItem":
		var in batchWriteBody
		if json.Unmarshal(body, &in) != nil {
			return nil
		}
		var out []writtenItem
		for table, reqs := range in.RequestItems {
			for _, r := range reqs {
				switch {
				case r.PutRequest != nil:
					out = append(out, writtenItem{table, pick(table, r.PutRequest.Item)})
				case r.DeleteRequest != nil:
					out = append(out, writtenItem{table, r.DeleteRequest.Key})
				}
			}
		}
		return out
	}
	return nil
}

// feedWrites publishes the fed items among those a successful request
// wrote; get reads an item back on its server (the caller holds what
// keeps the item from changing under the read, or accepts a newer state).
func (f *Feed) feedWrites(items []writtenItem, keyNames func(string) ([]string, error), get func(w writtenItem, body []byte) (int, []byte)) {
	for _, w := range items {
		names, err := keyNames(w.table)
		if err != nil || len(names) == 0 || !f.wants(w.key[names[0]]) {
			continue
		}
		f.publish(w.table, w.key, func(b []byte) (int, []byte) { return get(w, b) })
	}
}

// isWrite: the operations that change items.
func isWrite(op string) bool {
	switch op {
	case "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems":
		return true
	}
	return false
}

// batchWriteBody is what a BatchWriteItem request asks for.
type batchWriteBody struct {
	RequestItems map[string][]struct {
		PutRequest    *struct{ Item map[string]json.RawMessage }
		DeleteRequest *struct{ Key map[string]json.RawMessage }
	}
}
