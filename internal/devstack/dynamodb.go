package devstack

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
)

// OpCounter counts DynamoDB API requests by operation (X-Amz-Target), so
// benchmarks and the rush report can state requests per hold or ticket.
type OpCounter struct {
	mu      sync.Mutex
	ops     map[string]int64
	watches map[watch]int64
	items   int64 // items read
}

// watch counts the requests of one operation whose body mentions needle
// (a key prefix): how often one kind of item is written.
type watch struct{ op, needle string }

// Watch starts counting op requests whose body contains needle.
func (c *OpCounter) Watch(op, needle string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watches == nil {
		c.watches = map[watch]int64{}
	}
	c.watches[watch{op, needle}] += 0
}

// Watched is the count of a Watch.
func (c *OpCounter) Watched(op, needle string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.watches[watch{op, needle}]
}

// Wrap counts every request h serves.
func (c *OpCounter) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := r.Header.Get("X-Amz-Target")
		if i := strings.LastIndexByte(op, '.'); i >= 0 {
			op = op[i+1:]
		}
		c.mu.Lock()
		if c.ops == nil {
			c.ops = map[string]int64{}
		}
		c.ops[op]++
		watching := len(c.watches) > 0
		c.mu.Unlock()
		var body []byte
		if watching || readsByRequest[op] {
			var err error
			if body, err = io.ReadAll(r.Body); err == nil {
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
		}
		if watching {
			c.mu.Lock()
			for k := range c.watches {
				if k.op == op && bytes.Contains(body, []byte(k.needle)) {
					c.watches[k]++
				}
			}
			c.mu.Unlock()
		}
		switch {
		case readsByRequest[op]:
			c.addItems(requestedItems(op, body))
		case op == "Query" || op == "Scan":
			rec := &bodyTee{ResponseWriter: w}
			h.ServeHTTP(rec, r)
			// minidyn answers no ScannedCount; without a filter it is Count.
			var out struct{ Count, ScannedCount int64 }
			_ = json.Unmarshal(rec.body.Bytes(), &out)
			c.addItems(max(out.Count, out.ScannedCount))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// readsByRequest names the operations whose item reads the request
// states: one per key asked for, found or not, as DynamoDB bills them. A
// Query or Scan reads the items it scans (ScannedCount in the answer, or
// Count).
var readsByRequest = map[string]bool{"GetItem": true, "BatchGetItem": true, "TransactGetItems": true}

func requestedItems(op string, body []byte) int64 {
	switch op {
	case "GetItem":
		return 1
	case "BatchGetItem":
		var req struct {
			RequestItems map[string]struct{ Keys []json.RawMessage }
		}
		_ = json.Unmarshal(body, &req)
		var n int64
		for _, t := range req.RequestItems {
			n += int64(len(t.Keys))
		}
		return n
	default: // TransactGetItems
		var req struct{ TransactItems []json.RawMessage }
		_ = json.Unmarshal(body, &req)
		return int64(len(req.TransactItems))
	}
}

func (c *OpCounter) addItems(n int64) {
	c.mu.Lock()
	c.items += n
	c.mu.Unlock()
}

// ItemReads is the number of items read so far: keys asked for by GetItem,
// BatchGetItem and TransactGetItems, items scanned by Query and Scan.
func (c *OpCounter) ItemReads() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.items
}

// bodyTee keeps a copy of the answer it writes.
type bodyTee struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (t *bodyTee) Write(b []byte) (int, error) {
	t.body.Write(b)
	return t.ResponseWriter.Write(b)
}

// Snapshot returns the counts so far.
func (c *OpCounter) Snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.ops))
	for k, v := range c.ops {
		out[k] = v
	}
	return out
}

// Total is the number of requests so far.
func (c *OpCounter) Total() int64 {
	var n int64
	for _, v := range c.Snapshot() {
		n += v
	}
	return n
}
