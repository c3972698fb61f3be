package localdynamo

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultsEnv names the variable the local stack and the tests read Faults
// from, e.g. LOCAL_DDB_FAULTS=conflict=0.05,throttle=0.05,lostAnswer=0.02,seed=1.
const FaultsEnv = "LOCAL_DDB_FAULTS"

// Faults are failures AWS DynamoDB produces and minidyn never does, each
// injected into a share of the data requests (GetItem, PutItem, UpdateItem,
// DeleteItem, Query, Scan, the batches and the transactions; never table
// management). Without them the application's conflict, throttle and
// retry paths never run locally.
type Faults struct {
	// Conflict: a TransactWriteItems is cancelled, nothing applied, with
	// TransactionConflict as one item's reason (another transaction held
	// the item) and None for the rest.
	Conflict float64
	// Throttle: a request is refused, nothing applied, with
	// ProvisionedThroughputExceededException or ThrottlingException.
	Throttle float64
	// LostAnswer: a write is applied and then answered 500
	// InternalServerError, as when the answer is lost on the way back; the
	// SDK retries it (a transaction with the same ClientRequestToken).
	LostAnswer float64
	// Seed makes the sequence of draws repeatable (given the same order
	// of requests).
	Seed uint64
}

// Any reports whether any fault has a rate above zero.
func (f Faults) Any() bool { return f.Conflict > 0 || f.Throttle > 0 || f.LostAnswer > 0 }

// String is the FaultsEnv form.
func (f Faults) String() string {
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	return fmt.Sprintf("conflict=%s,throttle=%s,lostAnswer=%s,seed=%d", num(f.Conflict), num(f.Throttle), num(f.LostAnswer), f.Seed)
}

// ParseFaults reads the FaultsEnv form: comma-separated name=value pairs
// (conflict, throttle, lostAnswer: rates from 0 to 1; seed: an unsigned
// integer). Empty means no faults.
func ParseFaults(s string) (Faults, error) {
	var f Faults
	for _, pair := range strings.Split(s, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		name, value, ok := strings.Cut(pair, "=")
		if !ok {
			return Faults{}, fmt.Errorf("%s: %q is not name=value", FaultsEnv, pair)
		}
		var rate *float64
		switch strings.TrimSpace(name) {
		case "conflict":
			rate = &f.Conflict
		case "throttle":
			rate = &f.Throttle
		case "lostAnswer":
			rate = &f.LostAnswer
		case "seed":
			seed, err := strconv.ParseUint(strings.TrimSpace(value), 10, 64)
			if err != nil {
				return Faults{}, fmt.Errorf("%s: seed %q: %w", FaultsEnv, value, err)
			}
			f.Seed = seed
			continue
		default:
			return Faults{}, fmt.Errorf("%s: unknown fault %q (conflict, throttle, lostAnswer, seed)", FaultsEnv, name)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || v < 0 || v > 1 {
			return Faults{}, fmt.Errorf("%s: %s=%q is not a rate from 0 to 1", FaultsEnv, name, value)
		}
		*rate = v
	}
	return f, nil
}

// Fault kinds as Injected counts them.
const (
	FaultConflict   = "conflict"
	FaultThrottle   = "throttle"
	FaultLostAnswer = "lostAnswer"
	// TokenReplays counts transactions answered from an earlier one with
	// the same ClientRequestToken, without applying them again.
	TokenReplays = "tokenReplay"
)

// tokenTTL is how long DynamoDB remembers a ClientRequestToken.
const tokenTTL = 10 * time.Minute

// guard sits in front of the server: it honours TransactWriteItems'
// ClientRequestToken and injects Faults.
type guard struct {
	next http.Handler
	now  func() time.Time

	mu       sync.Mutex
	faults   Faults
	rng      *rand.Rand
	injected map[string]int64
	tokens   map[string]*tokenEntry
	swept    time.Time
}

// tokenEntry is one ClientRequestToken: the request it came with and, once
// that succeeded, the answer. mu serializes requests with the same token.
type tokenEntry struct {
	mu     sync.Mutex
	digest [sha256.Size]byte
	done   bool
	answer []byte
	at     time.Time
}

func newGuard(next http.Handler, f Faults) *guard {
	g := &guard{next: next, now: time.Now, injected: map[string]int64{}, tokens: map[string]*tokenEntry{}}
	g.set(f)
	return g
}

func (g *guard) set(f Faults) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.faults = f
	g.rng = rand.New(rand.NewPCG(f.Seed, f.Seed^0x5eed))
}

func (g *guard) counts() map[string]int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return maps.Clone(g.injected)
}

var (
	dataOps  = map[string]bool{"GetItem": true, "PutItem": true, "UpdateItem": true, "DeleteItem": true, "Query": true, "Scan": true, "BatchGetItem": true, "BatchWriteItem": true, "TransactWriteItems": true, "TransactGetItems": true}
	writeOps = map[string]bool{"PutItem": true, "UpdateItem": true, "DeleteItem": true, "BatchWriteItem": true, "TransactWriteItems": true}
)

// plan is what the draws decided for one request.
type plan struct {
	throttle, conflict, lost bool
	throttleType             string
	conflictItem             float64 // which item conflicts, as a fraction of the items
}

func (g *guard) draw(op string) plan {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.faults
	if !f.Any() {
		return plan{}
	}
	// Every request draws the same number of values, so the sequence a
	// seed gives does not depend on which faults fired before.
	t, c, l, kind, item := g.rng.Float64(), g.rng.Float64(), g.rng.Float64(), g.rng.IntN(2), g.rng.Float64()
	p := plan{conflictItem: item, throttleType: [...]string{"ProvisionedThroughputExceededException", "ThrottlingException"}[kind]}
	switch {
	case t < f.Throttle:
		p.throttle = true
		g.injected[FaultThrottle]++
	case op == "TransactWriteItems" && c < f.Conflict:
		p.conflict = true
		g.injected[FaultConflict]++
	case writeOps[op] && l < f.LostAnswer:
		p.lost = true
		g.injected[FaultLostAnswer]++
	}
	return p
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if !dataOps[op] {
		g.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeErr(w, "SerializationException", "cannot read request")
		return
	}
	p := g.draw(op)
	if p.throttle {
		status, out := ddbError(p.throttleType, "The level of configured provisioned throughput for the table was exceeded (injected)")
		writeAnswer(w, status, out)
		return
	}
	var tx struct {
		ClientRequestToken string
		TransactItems      []json.RawMessage
	}
	if op == "TransactWriteItems" {
		if err := json.Unmarshal(body, &tx); err != nil {
			writeErr(w, "SerializationException", "malformed TransactWriteItems")
			return
		}
	}
	var entry *tokenEntry
	if tx.ClientRequestToken != "" {
		var replay []byte
		var status int
		entry, replay, status = g.token(tx.ClientRequestToken, body)
		if entry == nil {
			writeAnswer(w, status, replay)
			return
		}
		defer entry.mu.Unlock()
		if replay != nil {
			g.answer(w, p, http.StatusOK, replay)
			return
		}
	}
	if p.conflict {
		status, out := conflictAnswer(len(tx.TransactItems), p.conflictItem)
		writeAnswer(w, status, out)
		return
	}
	rec := httptest.NewRecorder()
	r.Body = io.NopCloser(bytes.NewReader(body))
	g.next.ServeHTTP(rec, r)
	if entry != nil && rec.Code == http.StatusOK {
		entry.done, entry.answer, entry.at = true, rec.Body.Bytes(), g.now()
	}
	g.answer(w, p, rec.Code, rec.Body.Bytes())
}

// answer writes the server's answer, or loses it when the plan says so.
func (g *guard) answer(w http.ResponseWriter, p plan, status int, out []byte) {
	if p.lost && status == http.StatusOK {
		writeAnswer(w, http.StatusInternalServerError, mustJSON(map[string]string{
			"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "Internal server error (injected after the write was applied)",
		}))
		return
	}
	writeAnswer(w, status, out)
}

// token finds or makes the entry of a ClientRequestToken and locks it.
// It returns the entry with the earlier answer when the same request
// already succeeded (replay), the entry alone when the request is to run,
// or no entry and an error answer when the token came with another request.
func (g *guard) token(token string, body []byte) (entry *tokenEntry, replay []byte, status int) {
	// The token is part of the body. The digest is of the request's
	// meaning, not its bytes: clients write a map's keys in any order.
	digest := sha256.Sum256(canonicalJSON(body))
	now := g.now()
	g.mu.Lock()
	if now.Sub(g.swept) > time.Minute {
		for k, e := range g.tokens {
			if now.Sub(e.at) > tokenTTL {
				delete(g.tokens, k)
			}
		}
		g.swept = now
	}
	e, ok := g.tokens[token]
	if !ok || now.Sub(e.at) > tokenTTL {
		e = &tokenEntry{digest: digest, at: now}
		g.tokens[token] = e
	}
	g.mu.Unlock()
	e.mu.Lock()
	switch {
	case e.digest != digest:
		e.mu.Unlock()
		status, out := ddbError("IdempotentParameterMismatchException", "The request uses the same client token as a previous, but non-identical request.")
		return nil, out, status
	case e.done:
		g.mu.Lock()
		g.injected[TokenReplays]++
		g.mu.Unlock()
		return e, e.answer, http.StatusOK
	}
	return e, nil, 0
}

// canonicalJSON re-encodes a JSON document with every object's keys in
// order (encoding/json sorts map keys); a body that is not JSON stays as is.
func canonicalJSON(body []byte) []byte {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return body
	}
	return mustJSON(v)
}

// conflictAnswer is DynamoDB's cancellation of an n-item transaction one
// of whose items (at fraction at of the list) another transaction held.
func conflictAnswer(n int, at float64) (int, []byte) {
	n = max(n, 1)
	hit := min(int(at*float64(n)), n-1)
	reasons := make([]map[string]string, n)
	codes := make([]string, n)
	for i := range reasons {
		reasons[i], codes[i] = map[string]string{"Code": "None"}, "None"
		if i == hit {
			reasons[i] = map[string]string{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
			codes[i] = "TransactionConflict"
		}
	}
	return http.StatusBadRequest, mustJSON(map[string]any{
		"__type":              "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
		"message":             "Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]",
		"CancellationReasons": reasons,
	})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// SetFaults changes the faults injected from now on (and restarts their
// seed's sequence): tests build their world without faults, then turn
// them on, and off again to read the outcome.
func (s *Server) SetFaults(f Faults) { s.guard.set(f) }

// Injected counts the faults injected so far by kind (FaultConflict,
// FaultThrottle, FaultLostAnswer) and the transactions answered from an
// earlier one with the same ClientRequestToken (TokenReplays).
func (s *Server) Injected() map[string]int64 { return s.guard.counts() }
