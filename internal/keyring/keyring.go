// Package keyring holds the Ed25519 signing keys StarArena rotates by key
// id (admission tokens, ticket codes): sign with the current key, verify
// with every listed one.
//
// A deployment stores the ring as JSON in Secrets Manager:
//
//	{"current":"k2","keys":[{"kid":"k2","seed":"<base64 32-byte seed>"},{"kid":"k1","seed":"..."}]}
//
// Rotation: add a key and make it current; keep the previous keys listed
// while anything they signed may still be presented; then drop them.
package keyring

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/uuid"
)

// MaxKID is the longest key id.
const MaxKID = 16

var kidPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,16}$`)

// Key is one Ed25519 key pair with its id.
type Key struct {
	ID      string
	Private ed25519.PrivateKey
}

// Ring signs with Current and verifies with any of Keys.
type Ring struct {
	Current string
	Keys    []Key
}

// Generate makes a one-key ring whose key id starts with prefix (for the
// local stack, where keys live as long as the process).
func Generate(prefix string) (Ring, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Ring{}, fmt.Errorf("generate %s key: %w", prefix, err)
	}
	id := prefix + strings.ReplaceAll(uuid.NewString(), "-", "")[:MaxKID-len(prefix)]
	return Ring{Current: id, Keys: []Key{{ID: id, Private: priv}}}, nil
}

// Parse reads the secret document; what names the keys in errors.
func Parse(doc []byte, what string) (Ring, error) {
	var d struct {
		Current string `json:"current"`
		Keys    []struct {
			KID  string `json:"kid"`
			Seed string `json:"seed"`
		} `json:"keys"`
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return Ring{}, fmt.Errorf("%s keys: %w", what, err)
	}
	r := Ring{Current: d.Current}
	for _, k := range d.Keys {
		seed, err := base64.StdEncoding.DecodeString(k.Seed)
		if err != nil || len(seed) != ed25519.SeedSize {
			return Ring{}, fmt.Errorf("%s keys: key %q needs a base64 32-byte seed", what, k.KID)
		}
		r.Keys = append(r.Keys, Key{ID: k.KID, Private: ed25519.NewKeyFromSeed(seed)})
	}
	if err := r.Validate(what); err != nil {
		return Ring{}, err
	}
	return r, nil
}

// Validate checks ids (1-16 of [A-Za-z0-9_-], unique), key sizes, and
// that the current key is listed.
func (r Ring) Validate(what string) error {
	seen := map[string]bool{}
	for _, k := range r.Keys {
		if !kidPattern.MatchString(k.ID) {
			return fmt.Errorf("%s keys: kid %q must be 1-%d of [A-Za-z0-9_-]", what, k.ID, MaxKID)
		}
		if seen[k.ID] {
			return fmt.Errorf("%s keys: kid %q is listed twice", what, k.ID)
		}
		seen[k.ID] = true
		if len(k.Private) != ed25519.PrivateKeySize {
			return fmt.Errorf("%s keys: key %q is not an Ed25519 private key", what, k.ID)
		}
	}
	if !seen[r.Current] {
		return fmt.Errorf("%s keys: current key %q is not listed", what, r.Current)
	}
	return nil
}
