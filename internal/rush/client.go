package rush

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// kind is a class of fan request, counted and timed separately.
type kind int

const (
	kJoin kind = iota
	kQueueMe
	kQueueStatus  // through the CDN
	kAvailability // through the CDN
	kDrawPart     // a part of the published draw, through the CDN
	kAdmission
	kHold
	kCancel
	kPayment
	kOrder
	kPay       // the sandbox provider's checkout (not StarArena)
	kDuplicate // a second capture at the provider (not StarArena)
	nKinds
)

var kindNames = [nKinds]string{"join", "queueMe", "queueStatus", "availability", "queueDrawPart", "admission", "hold", "cancel",
	"createPayment", "orderStatus", "providerCheckout", "providerDuplicateCapture"}

// waitingRoom reports whether requests of k belong to the waiting room:
// they never reach the purchase path (admission and holds).
func (k kind) waitingRoom() bool {
	return k == kJoin || k == kQueueMe || k == kQueueStatus || k == kDrawPart
}

// provider reports whether k goes to the payment provider, not StarArena.
func (k kind) provider() bool { return k == kPay || k == kDuplicate }

// kindStats counts one kind's requests by status and keeps latencies.
type kindStats struct {
	mu        sync.Mutex
	byStatus  map[int]int64 // 0: transport error
	bytes     int64         // response bodies as the edge sends them (edgeSize)
	latencies []time.Duration
}

// count is the number of requests so far.
func (s *kindStats) count() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := int64(0)
	for _, v := range s.byStatus {
		n += v
	}
	return n
}

// record counts one request; an answered one (status > 0) is timed.
func (s *kindStats) record(status int, d time.Duration, size int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byStatus == nil {
		s.byStatus = map[int]int64{}
	}
	s.byStatus[status]++
	s.bytes += int64(size)
	if status > 0 {
		s.latencies = append(s.latencies, d)
	}
}

// client is the fans' HTTP client: every request goes to the local stack
// on 127.0.0.1, counted by kind; cacheable reads go through cdn.
type client struct {
	base  string
	hc    *http.Client
	stats [nKinds]kindStats
	cdn   *cdn
	gz    compressor
}

func newClient(base string, conns int) *client {
	tr := &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, IdleConnTimeout: 90 * time.Second,
		DisableCompression: true}
	c := &client{base: base, hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
	c.cdn = &cdn{c: c, entries: map[string]*cdnEntry{}}
	return c
}

// reply is one answer.
type reply struct {
	status int
	body   []byte
	took   time.Duration // from sending to the last byte of the answer
}

// apiError is the contract's error body.
type apiError struct {
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

func (r reply) errorCode() (string, map[string]any) {
	var e apiError
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Code, e.Error.Details
}

func (r reply) decode(v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("status %d, body %.200s: %w", r.status, r.body, err)
	}
	return nil
}

// do sends one request. status 0 is a transport error.
func (c *client) do(ctx context.Context, k kind, method, path, token string, body any, hdr map[string]string) reply {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		c.stats[k].record(0, 0, 0)
		return reply{}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for h, v := range hdr {
		req.Header.Set(h, v)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.stats[k].record(0, time.Since(start), 0)
		return reply{}
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		c.stats[k].record(0, took, 0)
		return reply{}
	}
	size := len(b)
	if !k.provider() {
		size = c.gz.edgeSize(b)
	}
	c.stats[k].record(resp.StatusCode, took, size)
	return reply{status: resp.StatusCode, body: b, took: took}
}

// cdn stands in for CloudFront in front of the cacheable routes: each
// path is fetched from the origin at most once per TTL (concurrent misses
// wait for the one fetch, as CloudFront collapses them); every fan request
// is an edge request.
type cdn struct {
	c       *client
	mu      sync.Mutex
	entries map[string]*cdnEntry
	edge    [nKinds]atomic.Int64
	origin  [nKinds]atomic.Int64
	bytes   [nKinds]atomic.Int64 // bytes served to fans from the edge
}

type cdnEntry struct {
	mu      sync.Mutex
	fetched time.Time
	status  int
	size    int
	value   any
}

// get returns the cached answer for path, refreshed from the origin when
// older than ttl; parse turns a 200 body into the shared value.
func (d *cdn) get(ctx context.Context, k kind, path string, ttl time.Duration, parse func([]byte) (any, error)) (any, int) {
	d.mu.Lock()
	e := d.entries[path]
	if e == nil {
		e = &cdnEntry{}
		d.entries[path] = e
	}
	d.mu.Unlock()
	d.edge[k].Add(1)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fetched.IsZero() || time.Since(e.fetched) >= ttl {
		d.origin[k].Add(1)
		r := d.c.do(ctx, k, http.MethodGet, path, "", nil, nil)
		if r.status == http.StatusOK {
			v, err := parse(r.body)
			if err == nil {
				e.value, e.status, e.size, e.fetched = v, r.status, d.c.gz.edgeSize(r.body), time.Now()
			} else {
				e.status = 0
			}
		} else if e.value == nil {
			// An error is not cached; the stale copy (if any) is served.
			d.bytes[k].Add(int64(d.c.gz.edgeSize(r.body)))
			return nil, r.status
		}
	}
	d.bytes[k].Add(int64(e.size))
	return e.value, e.status
}

// percentiles of a sample, in milliseconds.
type percentiles struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50Ms"`
	P90   float64 `json:"p90Ms"`
	P99   float64 `json:"p99Ms"`
	Max   float64 `json:"maxMs"`
}

func percentilesOf(ds []time.Duration) percentiles {
	if len(ds) == 0 {
		return percentiles{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(q float64) float64 {
		i := int(q*float64(len(s)-1) + 0.5)
		return float64(s[i].Microseconds()) / 1000
	}
	return percentiles{Count: len(s), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: at(1)}
}
