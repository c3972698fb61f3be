// Package draw orders a waiting room's pre-sale joins so that anyone can
// check the order was not chosen by the operator.
//
// Fans who join an event's queue before the sale opens all arrive "first";
// at opening they are ordered by a secret seed. Before the first join is
// accepted the platform publishes SHA-256(seed); after the draw it publishes
// the seed and the ordered list. The hash commits the platform to the seed
// before it can know who will join, the seed lets anyone recompute the
// order, and the published list lets each fan check that they are in it at
// the position they were told. Later joins are first-come and not part of
// the draw.
//
// # Specification
//
// Everything below is bytes and standard primitives, so the draw can be
// re-implemented in any language. Strings are UTF-8; hex is lowercase.
//
//   - Seed: 32 random bytes. Seed hash: hex(SHA-256(seed)), 64 characters.
//   - Entrant id of an account in an event: the first 32 characters of
//     hex(SHA-256(eventId || "\n" || account)). It identifies a fan within
//     one event without publishing the account, and differs across events.
//   - Key of an entrant: HMAC-SHA256 with the 32 raw seed bytes as the key
//     and the entrant id's 32 ASCII characters (not their decoded bytes) as
//     the message.
//   - Order: remove duplicate entrant ids, sort ascending by key compared as
//     unsigned bytes, break ties (only possible on an HMAC collision) by the
//     entrant id compared bytewise. The first entrant has position 1.
//
// In Python:
//
//	order = sorted(set(ids), key=lambda e: (hmac.new(seed, e.encode(), hashlib.sha256).digest(), e))
//
// Reference vector: seed bytes 0x00, 0x01, …, 0x1f (seed hash
// 630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd), event
// "demo", accounts fan-1 … fan-5: positions 1 to 5 are fan-2
// (56c8aaa283ad868b0842db1ad03ef600), fan-1, fan-4, fan-3, fan-5
// (1c6053c0f2c0bd4b01d08ddbadf09878).
//
// # Published document
//
//	{"eventId": "...", "shuffleSeedHash": "<64 hex>", "shuffleSeed": "<64 hex>",
//	 "entrants": [{"entrant": "<32 hex>", "position": 1}, ...]}
//
// [Verify] accepts it when the seed decodes to 32 bytes, its SHA-256 is the
// seed hash (the one published before the sale: compare it yourself), every
// entrant is a well-formed entrant id listed once, the positions are
// exactly 1 to N, and listing the entrants by position gives the order
// above. Extra JSON fields are ignored.
package draw

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// SeedSize is the length of a seed in bytes.
const SeedSize = 32

// entrantIDLen is the length of an entrant id in hex characters (128 bits).
const entrantIDLen = 32

// ErrNotVerified is wrapped by every error Verify returns.
var ErrNotVerified = errors.New("draw not verified")

// NewSeed returns a fresh seed from crypto/rand.
func NewSeed() ([]byte, error) {
	seed := make([]byte, SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, fmt.Errorf("draw seed: %w", err)
	}
	return seed, nil
}

// SeedHash is the commitment published before the sale: lowercase hex of
// SHA-256 of the raw seed.
func SeedHash(seed []byte) string {
	sum := sha256.Sum256(seed)
	return hex.EncodeToString(sum[:])
}

// EntrantID is the public id of account in eventID's draw. It is not
// reversible without guessing the account, and the same fan gets unrelated
// ids in different events.
func EntrantID(eventID, account string) string {
	sum := sha256.Sum256([]byte(eventID + "\n" + account))
	return hex.EncodeToString(sum[:])[:entrantIDLen]
}

// Key is the sort key of entrant under seed: HMAC-SHA256(key=seed,
// message=entrant).
func Key(seed []byte, entrant string) []byte {
	m := hmac.New(sha256.New, seed)
	m.Write([]byte(entrant))
	return m.Sum(nil)
}

// Order returns the entrants, without duplicates, sorted by Key ascending
// (bytewise), ties by entrant id. The input is not modified.
func Order(seed []byte, entrants []string) []string {
	type keyed struct {
		key     [sha256.Size]byte
		entrant string
	}
	m := hmac.New(sha256.New, seed)
	ks := make([]keyed, 0, len(entrants))
	seen := make(map[string]bool, len(entrants))
	for _, e := range entrants {
		if seen[e] {
			continue
		}
		seen[e] = true
		k := keyed{entrant: e}
		m.Reset()
		m.Write([]byte(e))
		m.Sum(k.key[:0])
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if c := bytes.Compare(a.key[:], b.key[:]); c != 0 {
			return c
		}
		return strings.Compare(a.entrant, b.entrant)
	})
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.entrant
	}
	return out
}

// Entrant is one fan's place in a published draw.
type Entrant struct {
	Entrant  string `json:"entrant"`
	Position int    `json:"position"`
}

// Published is the draw as published after the sale opens.
type Published struct {
	EventID  string    `json:"eventId"`
	SeedHash string    `json:"shuffleSeedHash"`
	Seed     string    `json:"shuffleSeed"` // hex
	Entrants []Entrant `json:"entrants"`
}

// Publish orders entrants with seed and returns the document to publish,
// entrants listed by position.
func Publish(eventID string, seed []byte, entrants []string) Published {
	order := Order(seed, entrants)
	p := Published{
		EventID:  eventID,
		SeedHash: SeedHash(seed),
		Seed:     hex.EncodeToString(seed),
		Entrants: make([]Entrant, len(order)),
	}
	for i, e := range order {
		p.Entrants[i] = Entrant{Entrant: e, Position: i + 1}
	}
	return p
}

// Verify checks a published draw as described in the package doc. The
// error, wrapping ErrNotVerified, names the first check that failed.
func Verify(p Published) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrNotVerified, fmt.Sprintf(format, args...))
	}
	seed, err := hex.DecodeString(p.Seed)
	if err != nil {
		return fail("shuffleSeed is not hex: %v", err)
	}
	if len(seed) != SeedSize {
		return fail("shuffleSeed is %d bytes, want %d", len(seed), SeedSize)
	}
	if got := SeedHash(seed); !strings.EqualFold(got, p.SeedHash) {
		return fail("SHA-256 of shuffleSeed is %s, but shuffleSeedHash is %q", got, p.SeedHash)
	}

	n := len(p.Entrants)
	// byPosition[i] is the index in p.Entrants of the entrant at position i+1.
	byPosition := make([]int, n)
	for i := range byPosition {
		byPosition[i] = -1
	}
	listed := make(map[string]int, n)
	for i, e := range p.Entrants {
		if !isEntrantID(e.Entrant) {
			return fail("entrant %q is not an entrant id (%d lowercase hex characters)", e.Entrant, entrantIDLen)
		}
		if j, dup := listed[e.Entrant]; dup {
			return fail("entrant %s is listed twice (positions %d and %d)", e.Entrant, p.Entrants[j].Position, e.Position)
		}
		listed[e.Entrant] = i
		if e.Position < 1 || e.Position > n {
			return fail("entrant %s has position %d, but %d entrants hold positions 1..%d without gaps", e.Entrant, e.Position, n, n)
		}
		if j := byPosition[e.Position-1]; j >= 0 {
			return fail("position %d is given to both %s and %s", e.Position, p.Entrants[j].Entrant, e.Entrant)
		}
		byPosition[e.Position-1] = i
	}
	// n entrants with distinct positions in 1..n cover every position, so
	// there is no gap left to check.

	ids := make([]string, n)
	for i, e := range p.Entrants {
		ids[i] = e.Entrant
	}
	for pos, want := range Order(seed, ids) {
		if got := p.Entrants[byPosition[pos]].Entrant; got != want {
			return fail("position %d is %s, but the seed puts %s there", pos+1, got, want)
		}
	}
	return nil
}

func isEntrantID(s string) bool {
	if len(s) != entrantIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
