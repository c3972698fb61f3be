package keyring

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/stararena/stararena/internal/clock"
)

// DefaultTTL is how long an instance signs and verifies with a keyring it
// read before reading the secret again: a rotation reaches every running
// instance within it, without a redeploy.
const DefaultTTL = 5 * time.Minute

// Source is a keyring read from its secret when first needed, not at
// start-up, and read again once its TTL has passed. A function that never
// signs or verifies with it never reads the secret, so its role need not
// be allowed to. It is safe for concurrent use.
type Source struct {
	what  string
	read  func(ctx context.Context) ([]byte, error)
	ttl   time.Duration
	clock clock.Clock

	mu      sync.Mutex
	ring    Ring
	doc     []byte
	version uint64 // 0: nothing read yet
	readAt  time.Time
}

// NewSource reads the keyring document (what names it in errors) with
// read, at most once per ttl (DefaultTTL when zero) as c tells time.
func NewSource(what string, read func(ctx context.Context) ([]byte, error), ttl time.Duration, c clock.Clock) *Source {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if c == nil {
		c = clock.System{}
	}
	return &Source{what: what, read: read, ttl: ttl, clock: c}
}

// Static is a Source of a ring that never changes (inline keys, the local
// stack's generated ones, tests).
func Static(r Ring) *Source { return &Source{ring: r, version: 1} }

// ReadTimeout bounds a read of the secret by Current.
const ReadTimeout = 5 * time.Second

// Current is Ring for callers without a request context (signing and
// verifying are computations once the keys are known): a read of the
// secret is bounded by ReadTimeout.
func (s *Source) Current() (Ring, uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ReadTimeout)
	defer cancel()
	return s.Ring(ctx)
}

// Ring returns the current ring and its version, which changes exactly
// when the secret's value does, so a caller rebuilds what it derives from
// the ring only then. Once a ring was read, a failed read after the TTL
// keeps it (the keys it lists are still valid; the secret service may be
// briefly unreachable) and the next call tries again.
func (s *Source) Ring(ctx context.Context) (Ring, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.read == nil || (s.version > 0 && s.clock.Now().Sub(s.readAt) < s.ttl) {
		return s.ring, s.version, nil
	}
	doc, err := s.read(ctx)
	if err == nil && s.version > 0 && bytes.Equal(doc, s.doc) {
		s.readAt = s.clock.Now()
		return s.ring, s.version, nil
	}
	var r Ring
	if err == nil {
		r, err = Parse(doc, s.what)
	}
	if err != nil {
		if s.version > 0 {
			return s.ring, s.version, nil
		}
		return Ring{}, 0, fmt.Errorf("%s keys: %w", s.what, err)
	}
	s.ring, s.doc, s.readAt = r, doc, s.clock.Now()
	s.version++
	return s.ring, s.version, nil
}
