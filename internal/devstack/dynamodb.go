package devstack

import (
	"bytes"
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
		if watching {
			body, err := io.ReadAll(r.Body)
			if err == nil {
				r.Body = io.NopCloser(bytes.NewReader(body))
				c.mu.Lock()
				for k := range c.watches {
					if k.op == op && bytes.Contains(body, []byte(k.needle)) {
						c.watches[k]++
					}
				}
				c.mu.Unlock()
			}
		}
		h.ServeHTTP(w, r)
	})
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
