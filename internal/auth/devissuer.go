package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/stararena/stararena/internal/clock"
)

// DevIssuer signs and verifies RS256 JWTs the way a Cognito user pool and
// the HTTP API JWT authorizer do, for the local stack only. Its key is
// generated at start-up and never leaves the process.
type DevIssuer struct {
	issuer   string
	audience string
	ttl      time.Duration
	clock    clock.Clock
	alg      jwa.SignatureAlgorithm
	private  jwk.Key
	public   jwk.Set
}

// Dev token algorithms. RS256 (2048-bit) is what a Cognito user pool signs
// with and the default; ES256 (P-256) signs about fifty times faster, for
// load runs that sign in a hundred thousand fans (internal/rush).
const (
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
)

// NewDevIssuer generates an RS256 key pair for issuer/audience.
func NewDevIssuer(issuer, audience string, ttl time.Duration, c clock.Clock) (*DevIssuer, error) {
	return NewDevIssuerAlg(issuer, audience, ttl, c, AlgRS256)
}

// NewDevIssuerAlg is NewDevIssuer with the signing algorithm: AlgRS256
// (also for "") or AlgES256.
func NewDevIssuerAlg(issuer, audience string, ttl time.Duration, c clock.Clock, alg string) (*DevIssuer, error) {
	if c == nil {
		c = clock.System{}
	}
	var raw crypto.Signer
	var sigAlg jwa.SignatureAlgorithm
	var err error
	switch alg {
	case "", AlgRS256:
		sigAlg = jwa.RS256()
		raw, err = rsa.GenerateKey(rand.Reader, 2048)
	case AlgES256:
		sigAlg = jwa.ES256()
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("dev issuer: algorithm %q: want %s or %s", alg, AlgRS256, AlgES256)
	}
	if err != nil {
		return nil, fmt.Errorf("dev issuer key: %w", err)
	}
	priv, err := jwk.Import(raw)
	if err != nil {
		return nil, fmt.Errorf("dev issuer key: %w", err)
	}
	kid := "dev-" + uuid.NewString()[:8]
	if err := priv.Set(jwk.KeyIDKey, kid); err != nil {
		return nil, err
	}
	if err := priv.Set(jwk.AlgorithmKey, sigAlg); err != nil {
		return nil, err
	}
	pub, err := jwk.PublicKeyOf(priv)
	if err != nil {
		return nil, err
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		return nil, err
	}
	return &DevIssuer{issuer: issuer, audience: audience, ttl: ttl, clock: c, alg: sigAlg, private: priv, public: set}, nil
}

// Issue signs a token for sub with role.
func (d *DevIssuer) Issue(sub string, role Role) (string, time.Time, error) {
	return d.IssueFor(sub, role, "")
}

// IssueFor signs a token for sub with role acting for organization org
// (the claim Cognito carries as custom:org; empty: none), with the default
// address DefaultEmail(sub).
func (d *DevIssuer) IssueFor(sub string, role Role, org string) (string, time.Time, error) {
	return d.IssueWithEmail(sub, role, org, "")
}

// DefaultEmail is the address of a dev account that names none: the
// reserved .test domain, so no captured message can reach a real mailbox.
func DefaultEmail(sub string) string { return sub + "@example.test" }

// IssueWithEmail is IssueFor with the account's email claim (empty:
// DefaultEmail(sub)), as a Cognito user pool puts the verified address in
// its ID tokens.
func (d *DevIssuer) IssueWithEmail(sub string, role Role, org, email string) (string, time.Time, error) {
	if email == "" {
		email = DefaultEmail(sub)
	}
	now := d.clock.Now()
	exp := now.Add(d.ttl)
	b := jwt.NewBuilder().
		Issuer(d.issuer).Audience([]string{d.audience}).Subject(sub).
		IssuedAt(now).NotBefore(now).Expiration(exp).JwtID(uuid.NewString()).
		Claim("role", string(role)).Claim("token_use", "id").Claim(EmailClaim, email)
	if org != "" {
		b = b.Claim(OrgClaim, org)
	}
	tok, err := b.Build()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("build token: %w", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(d.alg, d.private))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return string(signed), exp, nil
}

// Verify checks a bearer token like the JWT authorizer (signature from the
// key set, issuer, audience, expiry, not-before) and returns its claims in
// the flattened string form API Gateway puts in the request context.
func (d *DevIssuer) Verify(token string) (map[string]string, error) {
	tok, err := jwt.ParseString(token,
		jwt.WithKeySet(d.public),
		jwt.WithValidate(true),
		jwt.WithIssuer(d.issuer),
		jwt.WithAudience(d.audience),
		jwt.WithRequiredClaim(jwt.ExpirationKey), // as Cognito's authorizer: no exp, no entry
		jwt.WithClock(jwt.ClockFunc(d.clock.Now)),
		jwt.WithAcceptableSkew(30*time.Second),
	)
	if err != nil {
		return nil, fmt.Errorf("verify token: %w", err)
	}
	claims := map[string]string{}
	for _, k := range tok.Keys() {
		var v any
		if err := tok.Get(k, &v); err != nil {
			continue
		}
		claims[k] = flatten(v)
	}
	return claims, nil
}

// JWKS is the public key set, as a user pool publishes it.
func (d *DevIssuer) JWKS() ([]byte, error) { return json.Marshal(d.public) }

func flatten(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case time.Time:
		return fmt.Sprint(x.Unix())
	case []string:
		return "[" + strings.Join(x, " ") + "]"
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = fmt.Sprint(p)
		}
		return "[" + strings.Join(parts, " ") + "]"
	default:
		return fmt.Sprint(x)
	}
}

// BearerToken extracts the token of an "Authorization: Bearer x" header.
func BearerToken(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}
