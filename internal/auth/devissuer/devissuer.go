// Package devissuer is the local stack's stand-in for a Cognito user pool:
// it signs and verifies the JWTs the HTTP API's authorizer would accept.
// Only the local stack and the load tools link it (with its JWT library);
// no Lambda function does.
package devissuer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/clock"
)

// Issuer signs and verifies RS256 JWTs the way a Cognito user pool and
// the HTTP API JWT authorizer do, for the local stack only. Its key is
// generated at start-up and never leaves the process.
type Issuer struct {
	issuer   string
	audience Audiences
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

// Audiences are the app clients a dev issuer signs for. A Cognito ID token
// names its app client in aud, and each HTTP API JWT authorizer accepts
// the clients it lists: fan routes the fans' client, staff routes the
// staff client only, so a fan's token never reaches a staff route.
type Audiences struct {
	Fan, Staff string
}

// New generates an RS256 key pair for issuer and its clients.
func New(issuer string, aud Audiences, ttl time.Duration, c clock.Clock) (*Issuer, error) {
	return NewAlg(issuer, aud, ttl, c, AlgRS256)
}

// NewAlg is NewDevIssuer with the signing algorithm: AlgRS256
// (also for "") or AlgES256.
func NewAlg(issuer string, aud Audiences, ttl time.Duration, c clock.Clock, alg string) (*Issuer, error) {
	if aud.Fan == "" || aud.Staff == "" || aud.Fan == aud.Staff {
		return nil, fmt.Errorf("dev issuer: audiences %+v: want two different clients", aud)
	}
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
	return &Issuer{issuer: issuer, audience: aud, ttl: ttl, clock: c, alg: sigAlg, private: priv, public: set}, nil
}

// Issue signs a token for sub with role.
func (d *Issuer) Issue(sub string, role auth.Role) (string, time.Time, error) {
	return d.IssueFor(sub, role, "")
}

// IssueFor signs a token for sub with role acting for organization org
// (the claim Cognito carries as custom:org; empty: none), with the default
// address DefaultEmail(sub).
func (d *Issuer) IssueFor(sub string, role auth.Role, org string) (string, time.Time, error) {
	return d.IssueWithEmail(sub, role, org, "")
}

// DefaultEmail is the address of a dev account that names none: the
// reserved .test domain, so no captured message can reach a real mailbox.
func DefaultEmail(sub string) string { return sub + "@example.test" }

// IssueWithEmail is IssueFor with the account's email claim (empty:
// DefaultEmail(sub)), as a Cognito user pool puts the verified address in
// its ID tokens. A fan's token names the fans' client; an organizer's or
// staff member's is what Cognito issues to the staff client (StaffClaims).
func (d *Issuer) IssueWithEmail(sub string, role auth.Role, org, email string) (string, time.Time, error) {
	if email == "" {
		email = DefaultEmail(sub)
	}
	if role == auth.RoleOrganizer || role == auth.RoleStaff {
		return d.IssueClaims(sub, d.audience.Staff, StaffClaims(role, org, email))
	}
	claims := map[string]any{"role": string(role), auth.EmailClaim: email}
	if org != "" {
		claims[auth.OrgClaim] = org
	}
	return d.IssueClaims(sub, d.audience.Fan, claims)
}

// StaffClaims are the claims a Cognito ID token of the staff app client
// carries for a member of the organizers group (role organizer) or the
// staff group: the group, the custom org attribute (when set; an
// organizer without one owns the organization its sub names) and the
// email. It carries no role claim: the role comes from the group, as in
// AWS.
func StaffClaims(role auth.Role, org, email string) map[string]any {
	group := auth.StaffGroup
	if role == auth.RoleOrganizer {
		group = auth.OrganizerGroup
	}
	c := map[string]any{auth.GroupsClaim: []string{group}, auth.EmailClaim: email}
	if org != "" {
		c[auth.CognitoOrgClaim] = org
	}
	return c
}

// IssueClaims signs an ID token for sub and the app client audience with
// claims beside the registered ones (iss, aud, sub, iat, nbf, exp, jti and
// token_use "id").
func (d *Issuer) IssueClaims(sub, audience string, claims map[string]any) (string, time.Time, error) {
	now := d.clock.Now()
	exp := now.Add(d.ttl)
	b := jwt.NewBuilder().
		Issuer(d.issuer).Audience([]string{audience}).Subject(sub).
		IssuedAt(now).NotBefore(now).Expiration(exp).JwtID(uuid.NewString()).
		Claim("token_use", "id")
	for k, v := range claims {
		b = b.Claim(k, v)
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

// Audiences are the app clients the issuer signs for.
func (d *Issuer) Audiences() Audiences { return d.audience }

// Verify checks a bearer token like the JWT authorizer (signature from the
// key set, issuer, expiry, not-before, and an aud or client_id claim that
// is one of audiences, as API Gateway's; none given: either of the
// issuer's own clients) and returns its claims in the flattened string
// form API Gateway puts in the request context.
func (d *Issuer) Verify(token string, audiences ...string) (map[string]string, error) {
	if len(audiences) == 0 {
		audiences = []string{d.audience.Fan, d.audience.Staff}
	}
	tok, err := jwt.ParseString(token,
		jwt.WithKeySet(d.public),
		jwt.WithValidate(true),
		jwt.WithIssuer(d.issuer),
		jwt.WithValidator(audienceIn(audiences)),
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

// audienceIn accepts a token whose aud names one of audiences or, as an
// access token does, whose client_id is one of them.
func audienceIn(audiences []string) jwt.Validator {
	return jwt.ValidatorFunc(func(_ context.Context, t jwt.Token) error {
		var names []string
		if aud, ok := t.Audience(); ok {
			names = append(names, aud...)
		}
		var client string
		if err := t.Get("client_id", &client); err == nil {
			names = append(names, client)
		}
		for _, n := range names {
			if slices.Contains(audiences, n) {
				return nil
			}
		}
		return fmt.Errorf("audience %v is none of %v", names, audiences)
	})
}

// JWKS is the public key set, as a user pool publishes it.
func (d *Issuer) JWKS() ([]byte, error) { return json.Marshal(d.public) }

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
