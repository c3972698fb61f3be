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
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/clock"
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

// Key is one Ed25519 key pair with its id.
type Key struct {
	ID      string
	Private ed25519.PrivateKey
}

// Keyring signs with Current and verifies with any of Keys.
type Keyring struct {
	Current string
	Keys    []Key
}

// GenerateKeyring makes a one-key ring (the local stack's).
func GenerateKeyring() (Keyring, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Keyring{}, fmt.Errorf("generate admission key: %w", err)
	}
	id := "adm-" + uuid.NewString()[:8]
	return Keyring{Current: id, Keys: []Key{{ID: id, Private: priv}}}, nil
}

// secretDoc is the JSON a deployment stores in Secrets Manager or SSM
// (SecureString): {"current":"k2","keys":[{"kid":"k2","seed":"<base64 32-byte seed>"},{"kid":"k1",...}]}.
type secretDoc struct {
	Current string `json:"current"`
	Keys    []struct {
		KID  string `json:"kid"`
		Seed string `json:"seed"`
	} `json:"keys"`
}

// ParseKeyring reads the secret document. Rotation: add a new key, make it
// current, keep the old one listed for at least the token lifetime, then
// remove it.
func ParseKeyring(doc []byte) (Keyring, error) {
	var d secretDoc
	dec := json.NewDecoder(strings.NewReader(string(doc)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return Keyring{}, fmt.Errorf("admission keys: %w", err)
	}
	kr := Keyring{Current: d.Current}
	for _, k := range d.Keys {
		seed, err := base64.StdEncoding.DecodeString(k.Seed)
		if err != nil || len(seed) != ed25519.SeedSize || k.KID == "" {
			return Keyring{}, fmt.Errorf("admission keys: key %q needs a kid and a base64 32-byte seed", k.KID)
		}
		kr.Keys = append(kr.Keys, Key{ID: k.KID, Private: ed25519.NewKeyFromSeed(seed)})
	}
	if _, ok := kr.key(kr.Current); !ok {
		return Keyring{}, fmt.Errorf("admission keys: current key %q is not listed", d.Current)
	}
	return kr, nil
}

func (kr Keyring) key(id string) (Key, bool) {
	for _, k := range kr.Keys {
		if k.ID == id {
			return k, true
		}
	}
	return Key{}, false
}

// Tokens issues and verifies admission tokens.
type Tokens struct {
	signer jwk.Key
	verify jwk.Set
	ttl    time.Duration
	clock  clock.Clock
}

// DefaultTTL is how long a fan has to use an admission token.
const DefaultTTL = 10 * time.Minute

// NewTokens builds an issuer/verifier from a keyring.
func NewTokens(kr Keyring, ttl time.Duration, c clock.Clock) (*Tokens, error) {
	if c == nil {
		c = clock.System{}
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	t := &Tokens{verify: jwk.NewSet(), ttl: ttl, clock: c}
	for _, k := range kr.Keys {
		priv, err := jwk.Import(k.Private)
		if err != nil {
			return nil, fmt.Errorf("admission key %s: %w", k.ID, err)
		}
		if err := priv.Set(jwk.KeyIDKey, k.ID); err != nil {
			return nil, err
		}
		if err := priv.Set(jwk.AlgorithmKey, jwa.EdDSAEd25519()); err != nil {
			return nil, err
		}
		pub, err := jwk.PublicKeyOf(priv)
		if err != nil {
			return nil, err
		}
		if err := t.verify.AddKey(pub); err != nil {
			return nil, err
		}
		if k.ID == kr.Current {
			t.signer = priv
		}
	}
	if t.signer == nil {
		return nil, errors.New("admission keys: no current key")
	}
	return t, nil
}

// Issue signs a token for account and event.
func (t *Tokens) Issue(account, eventID string) (string, Claims, error) {
	now := t.clock.Now()
	c := Claims{ID: uuid.NewString(), Account: account, EventID: eventID, ExpiresAt: now.Add(t.ttl).Truncate(time.Second)}
	tok, err := jwt.NewBuilder().Issuer(Issuer).Subject(account).JwtID(c.ID).
		IssuedAt(now).Expiration(c.ExpiresAt).Claim("evt", eventID).Build()
	if err != nil {
		return "", Claims{}, fmt.Errorf("build admission token: %w", err)
	}
	b, err := jwt.Sign(tok, jwt.WithKey(jwa.EdDSAEd25519(), t.signer))
	if err != nil {
		return "", Claims{}, fmt.Errorf("sign admission token: %w", err)
	}
	return string(b), c, nil
}

// MaxTokenBytes bounds what Verify parses.
const MaxTokenBytes = 2048

// Verify checks the signature, issuer, expiry and that the token was issued
// to account for eventID. Every failure is ADMISSION_INVALID; the message
// says which check failed, never anything about keys.
func (t *Tokens) Verify(token, account, eventID string) (Claims, error) {
	if token == "" || len(token) > MaxTokenBytes {
		return Claims{}, apperr.New(apperr.AdmissionInvalid, "admission token is missing or malformed")
	}
	tok, err := jwt.ParseString(token,
		jwt.WithKeySet(t.verify, jws.WithRequireKid(true)),
		jwt.WithValidate(true),
		jwt.WithIssuer(Issuer),
		jwt.WithClock(jwt.ClockFunc(t.clock.Now)),
	)
	if err != nil {
		if errors.Is(err, jwt.TokenExpiredError()) {
			return Claims{}, apperr.Wrap(err, apperr.AdmissionInvalid, "admission token has expired; ask for a new one")
		}
		return Claims{}, apperr.Wrap(err, apperr.AdmissionInvalid, "admission token is not valid")
	}
	c := Claims{}
	c.ID, _ = tok.JwtID()
	c.Account, _ = tok.Subject()
	exp, _ := tok.Expiration()
	c.ExpiresAt = exp
	var evt string
	if err := tok.Get("evt", &evt); err != nil || c.ID == "" {
		return Claims{}, apperr.New(apperr.AdmissionInvalid, "admission token is not valid")
	}
	c.EventID = evt
	if c.Account != account {
		return Claims{}, apperr.New(apperr.AdmissionInvalid, "admission token belongs to another account")
	}
	if c.EventID != eventID {
		return Claims{}, apperr.New(apperr.AdmissionInvalid, "admission token is for another event")
	}
	return c, nil
}
