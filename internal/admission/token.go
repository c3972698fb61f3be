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
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

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

// tokenKeys are the signing key and verification set of one keyring version.
type tokenKeys struct {
	version uint64
	signer  jwk.Key
	verify  jwk.Set
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
	k := &tokenKeys{verify: jwk.NewSet()}
	for _, key := range kr.Keys {
		priv, err := jwk.Import(key.Private)
		if err != nil {
			return nil, fmt.Errorf("admission key %s: %w", key.ID, err)
		}
		if err := priv.Set(jwk.KeyIDKey, key.ID); err != nil {
			return nil, err
		}
		if err := priv.Set(jwk.AlgorithmKey, jwa.EdDSAEd25519()); err != nil {
			return nil, err
		}
		pub, err := jwk.PublicKeyOf(priv)
		if err != nil {
			return nil, err
		}
		if err := k.verify.AddKey(pub); err != nil {
			return nil, err
		}
		if key.ID == kr.Current {
			k.signer = priv
		}
	}
	if k.signer == nil {
		return nil, errors.New("admission keys: no current key")
	}
	return k, nil
}

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
	tok, err := jwt.NewBuilder().Issuer(Issuer).Subject(c.Account).JwtID(c.ID).
		IssuedAt(t.clock.Now()).Expiration(c.ExpiresAt).Claim("evt", c.EventID).Build()
	if err != nil {
		return "", fmt.Errorf("build admission token: %w", err)
	}
	b, err := jwt.Sign(tok, jwt.WithKey(jwa.EdDSAEd25519(), keys.signer))
	if err != nil {
		return "", fmt.Errorf("sign admission token: %w", err)
	}
	return string(b), nil
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
	tok, err := jwt.ParseString(token,
		jwt.WithKeySet(keys.verify, jws.WithRequireKid(true)),
		jwt.WithValidate(true),
		jwt.WithIssuer(Issuer),
		jwt.WithClock(jwt.ClockFunc(t.clock.Now)),
		// Without it a token signed without exp (a bug, or a stolen key
		// used carelessly) would never expire.
		jwt.WithRequiredClaim(jwt.ExpirationKey),
	)
	if err != nil {
		if errors.Is(err, jwt.TokenExpiredError()) {
			return Claims{}, apperr.Wrap(err, apperr.AdmissionInvalid, "admission token has expired; ask for a new one").With("reason", ReasonExpired)
		}
		return Claims{}, apperr.Wrap(err, apperr.AdmissionInvalid, "admission token is not valid").With("reason", ReasonInvalid)
	}
	c := Claims{}
	c.ID, _ = tok.JwtID()
	c.Account, _ = tok.Subject()
	exp, _ := tok.Expiration()
	c.ExpiresAt = exp
	var evt string
	if err := tok.Get("evt", &evt); err != nil || c.ID == "" {
		return Claims{}, apperr.New(apperr.AdmissionInvalid, "admission token is not valid").With("reason", ReasonInvalid)
	}
	c.EventID = evt
	if c.Account != account {
		return Claims{}, apperr.New(apperr.AdmissionInvalid, "admission token belongs to another account").With("reason", ReasonOtherAccount)
	}
	if c.EventID != eventID {
		return Claims{}, apperr.New(apperr.AdmissionInvalid, "admission token is for another event").With("reason", ReasonOtherEvent)
	}
	return c, nil
}
