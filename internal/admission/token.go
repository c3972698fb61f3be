// Package admission issues and verifies admission tokens: the proof that a
// fan may try to hold seats for one event.
//
// A token is a JWT signed with Ed25519 (alg "Ed25519", RFC 9864) whose claims
// bind the account (sub), the event (evt), an expiry (exp) and a unique id
// (jti). Verification checks the signature against the key named by the
// header's kid, so keys can rotate: sign with the newest key, keep the
// previous ones for verification until every token they signed has expired.
// Single use is not checked here: the hold transaction consumes jti with a
// conditional put (see inventory).
package admission

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/keyring"
	"github.com/stararena/stararena/internal/limits"
)

// Issuer is the iss claim of every admission token.
const Issuer = "stararena/admission"

// Claims are a verified token's contents.
type Claims struct {
	ID        string // jti: consumed by the hold
	Account   string
	EventID   string
	ExpiresAt time.Time
}

// Key and Keyring are the shared Ed25519 key ring (internal/keyring).
// Admission tokens live minutes: a retired key can go once ADMISSION_TTL
// has passed since it stopped being current.
type (
	Key     = keyring.Key
	Keyring = keyring.Ring
)

// GenerateKeyring makes a one-key ring (the local stack's).
func GenerateKeyring() (Keyring, error) { return keyring.Generate("adm-") }

// ParseKeyring reads the secret document.
func ParseKeyring(doc []byte) (Keyring, error) { return keyring.Parse(doc, "admission") }

// Tokens issues and verifies admission tokens. Its keys come from a
// keyring.Source: read when a token is first signed or verified, and again
// after the source's TTL, so a rotated keyring is used without a redeploy
// and a function that never touches a token never reads the keys.
type Tokens struct {
	src   *keyring.Source
	ttl   time.Duration
	clock clock.Clock

	mu   sync.Mutex
	keys *tokenKeys
}

// tokenKeys are the signing key and verification keys of one keyring
// version.
type tokenKeys struct {
	version uint64
	kid     string
	signer  ed25519.PrivateKey
	verify  map[string]ed25519.PublicKey // by kid
}

// DefaultTTL is how long a fan has to use an admission token.
const DefaultTTL = limits.AdmissionTTL

// NewTokens builds an issuer/verifier from a keyring, checking it now.
func NewTokens(kr Keyring, ttl time.Duration, c clock.Clock) (*Tokens, error) {
	t := NewTokensFrom(keyring.Static(kr), ttl, c)
	if _, err := t.current(); err != nil {
		return nil, err
	}
	return t, nil
}

// NewTokensFrom builds an issuer/verifier whose keys src reads on first
// use.
func NewTokensFrom(src *keyring.Source, ttl time.Duration, c clock.Clock) *Tokens {
	if c == nil {
		c = clock.System{}
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Tokens{src: src, ttl: ttl, clock: c}
}

// current returns the keys of the source's current keyring, built again
// only when its version changes.
func (t *Tokens) current() (*tokenKeys, error) {
	kr, version, err := t.src.Current()
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.keys != nil && t.keys.version == version {
		return t.keys, nil
	}
	k, err := buildKeys(kr)
	if err != nil {
		return nil, err
	}
	k.version = version
	t.keys = k
	return k, nil
}

func buildKeys(kr Keyring) (*tokenKeys, error) {
	k := &tokenKeys{verify: map[string]ed25519.PublicKey{}}
	for _, key := range kr.Keys {
		if len(key.Private) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("admission key %s: not an Ed25519 private key", key.ID)
		}
		k.verify[key.ID] = key.Private.Public().(ed25519.PublicKey)
		if key.ID == kr.Current {
			k.kid, k.signer = key.ID, key.Private
		}
	}
	if k.signer == nil {
		return nil, errors.New("admission keys: no current key")
	}
	return k, nil
}

// The token's JOSE header and claims. The JWS is built here with the
// standard library's Ed25519 rather than a JWT library: the format is
// fixed (one algorithm, one key type, these claims), and a general JWT
// library was the largest part of every function's binary after the AWS
// SDK. token_test.go checks both ways against such a library.
type header struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Typ  string          `json:"typ,omitempty"`
	Crit json.RawMessage `json:"crit,omitempty"`
}

type claims struct {
	Event     string   `json:"evt"`
	ExpiresAt *float64 `json:"exp,omitempty"`
	IssuedAt  *float64 `json:"iat,omitempty"`
	NotBefore *float64 `json:"nbf,omitempty"`
	Issuer    string   `json:"iss"`
	ID        string   `json:"jti"`
	Subject   string   `json:"sub"`
}

// alg is the fully-specified Ed25519 algorithm (RFC 9864).
const alg = "Ed25519"

var b64 = base64.RawURLEncoding

// Issue signs a token for account and event.
func (t *Tokens) Issue(account, eventID string) (string, Claims, error) {
	c := Claims{ID: uuid.NewString(), Account: account, EventID: eventID, ExpiresAt: t.clock.Now().Add(t.ttl).Truncate(time.Second)}
	tok, err := t.Sign(c)
	if err != nil {
		return "", Claims{}, err
	}
	return tok, c, nil
}

// Sign signs a token with the given claims. The waiting room chooses the id
// and expiry itself, so asking again for the same admission (a refresh)
// yields a token for the same single use.
func (t *Tokens) Sign(c Claims) (string, error) {
	if c.ExpiresAt.IsZero() {
		return "", errors.New("sign admission token: no expiry")
	}
	keys, err := t.current()
	if err != nil {
		return "", fmt.Errorf("sign admission token: %w", err)
	}
	exp, iat := float64(c.ExpiresAt.Unix()), float64(t.clock.Now().Unix())
	h, err := json.Marshal(header{Alg: alg, Kid: keys.kid, Typ: "JWT"})
	if err != nil {
		return "", fmt.Errorf("sign admission token: %w", err)
	}
	p, err := json.Marshal(claims{Event: c.EventID, ExpiresAt: &exp, IssuedAt: &iat, Issuer: Issuer, ID: c.ID, Subject: c.Account})
	if err != nil {
		return "", fmt.Errorf("sign admission token: %w", err)
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	return input + "." + b64.EncodeToString(ed25519.Sign(keys.signer, []byte(input))), nil
}

// TTL is how long a new token lives.
func (t *Tokens) TTL() time.Duration { return t.ttl }

// Why an admission token was refused (ADMISSION_INVALID details.reason),
// so a page can say "ask again" (EXPIRED) or "you already used it" (USED)
// without guessing.
const (
	ReasonInvalid      = "INVALID"
	ReasonExpired      = "EXPIRED"
	ReasonUsed         = "USED"
	ReasonOtherAccount = "OTHER_ACCOUNT"
	ReasonOtherEvent   = "OTHER_EVENT"
)

// MaxTokenBytes bounds what Verify parses.
const MaxTokenBytes = limits.AdmissionTokenBytes

// Verify checks the signature, issuer, expiry and that the token was issued
// to account for eventID. Every failure is ADMISSION_INVALID; the message
// says which check failed, never anything about keys.
func (t *Tokens) Verify(token, account, eventID string) (Claims, error) {
	if token == "" || len(token) > MaxTokenBytes {
		return Claims{}, apperr.New(apperr.AdmissionInvalid, "admission token is missing or malformed").With("reason", ReasonInvalid)
	}
	keys, err := t.current()
	if err != nil {
		return Claims{}, fmt.Errorf("verify admission token: %w", err)
	}
	cl, err := keys.parse(token)
	if err != nil {
		return Claims{}, apperr.Wrap(err, apperr.AdmissionInvalid, "admission token is not valid").With("reason", ReasonInvalid)
	}
	now := t.clock.Now()
	switch {
	case cl.ExpiresAt == nil:
		// Without it a token signed without exp (a bug, or a stolen key
		// used carelessly) would never expire.
		return Claims{}, apperr.New(apperr.AdmissionInvalid, "admission token is not valid").With("reason", ReasonInvalid)
	case !now.Before(unix(*cl.ExpiresAt)):
		return Claims{}, apperr.New(apperr.AdmissionInvalid, "admission token has expired; ask for a new one").With("reason", ReasonExpired)
	case cl.NotBefore != nil && now.Before(unix(*cl.NotBefore)),
		cl.IssuedAt != nil && now.Before(unix(*cl.IssuedAt)),
		cl.Issuer != Issuer, cl.ID == "", cl.Event == "":
		return Claims{}, apperr.New(apperr.AdmissionInvalid, "admission token is not valid").With("reason", ReasonInvalid)
	}
	c := Claims{ID: cl.ID, Account: cl.Subject, EventID: cl.Event, ExpiresAt: unix(*cl.ExpiresAt)}
	if c.Account != account {
		return Claims{}, apperr.New(apperr.AdmissionInvalid, "admission token belongs to another account").With("reason", ReasonOtherAccount)
	}
	if c.EventID != eventID {
		return Claims{}, apperr.New(apperr.AdmissionInvalid, "admission token is for another event").With("reason", ReasonOtherEvent)
	}
	return c, nil
}

// parse checks a compact JWS's header and Ed25519 signature with the key
// its kid names and returns its claims (not yet validated).
func (k *tokenKeys) parse(token string) (claims, error) {
	h64, rest, ok := strings.Cut(token, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.Contains(s64, ".") {
		return claims{}, errors.New("not a compact JWS")
	}
	hb, err := b64.DecodeString(h64)
	if err != nil {
		return claims{}, fmt.Errorf("header: %w", err)
	}
	var h header
	if err := strictJSON(hb, &h); err != nil {
		return claims{}, fmt.Errorf("header: %w", err)
	}
	if h.Alg != alg || h.Crit != nil {
		return claims{}, fmt.Errorf("header: algorithm %q or critical extensions refused", h.Alg)
	}
	pub, ok := k.verify[h.Kid]
	if h.Kid == "" || !ok {
		return claims{}, errors.New("header: unknown key")
	}
	sig, err := b64.DecodeString(s64)
	if err != nil || !ed25519.Verify(pub, []byte(h64+"."+p64), sig) {
		return claims{}, errors.New("bad signature")
	}
	pb, err := b64.DecodeString(p64)
	if err != nil {
		return claims{}, fmt.Errorf("claims: %w", err)
	}
	var c claims
	if err := strictJSON(pb, &c); err != nil {
		return claims{}, fmt.Errorf("claims: %w", err)
	}
	return c, nil
}

// strictJSON decodes one JSON object into v with nothing after it.
func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}

// unix is a NumericDate as a time, to the second as Sign writes it.
func unix(sec float64) time.Time { return time.Unix(int64(sec), 0) }
