package localstack

import (
	"net/http"
	"strings"
	"sync"
)

// OpCounter counts DynamoDB API requests by operation (X-Amz-Target), so
// benchmarks and the rush report can state requests per hold or ticket.
type OpCounter struct {
	mu  sync.Mutex
	ops map[string]int64
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
		c.mu.Unlock()
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
