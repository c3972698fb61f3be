package admission

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/keyring"
)

func mustTokens(t testing.TB, kr Keyring, clk clock.Clock) *Tokens {
	t.Helper()
	tk, err := NewTokens(kr, time.Minute, clk)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestVerifyRefusesEveryMisuse(t *testing.T) {
	clk := clock.NewManual(time.Date(2027, 5, 1, 10, 0, 0, 0, time.UTC))
	kr, err := GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	tk := mustTokens(t, kr, clk)
	tok, issued, err := tk.Issue("fan-1", "ev-1")
	if err != nil {
		t.Fatal(err)
	}
	c, err := tk.Verify(tok, "fan-1", "ev-1")
	if err != nil || c.ID != issued.ID || c.Account != "fan-1" || c.EventID != "ev-1" {
		t.Fatalf("valid token: %+v, %v", c, err)
	}

	other, _ := GenerateKeyring()
	forged, _, _ := mustTokens(t, other, clk).Issue("fan-1", "ev-1")
	parts := strings.Split(tok, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"evt":"ev-1","exp":9999999999,"iss":"stararena/admission","jti":"x","sub":"fan-1"}`)) + "." + parts[2]
	cases := map[string]struct{ token, account, event, reason string }{
		"OtherAccount":    {tok, "fan-2", "ev-1", ReasonOtherAccount},
		"OtherEvent":      {tok, "fan-1", "ev-2", ReasonOtherEvent},
		"ForgedKey":       {forged, "fan-1", "ev-1", ReasonInvalid},
		"TamperedPayload": {tampered, "fan-1", "ev-1", ReasonInvalid},
		"Garbage":         {"abc", "fan-1", "ev-1", ReasonInvalid},
		"Empty":           {"", "fan-1", "ev-1", ReasonInvalid},
		"Huge":            {strings.Repeat("a", MaxTokenBytes+1), "fan-1", "ev-1", ReasonInvalid},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := tk.Verify(tc.token, tc.account, tc.event)
			assertRefused(t, err, tc.reason)
		})
	}
	t.Run("Expired", func(t *testing.T) {
		clk.Advance(time.Minute + time.Second)
		_, err := tk.Verify(tok, "fan-1", "ev-1")
		assertRefused(t, err, ReasonExpired)
	})
}

// A token signed with a current key but without exp is refused (it would
// never expire), and the issuer refuses to sign one.
func TestTokensWithoutExpiryAreRefused(t *testing.T) {
	kr, err := GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	tk := mustTokens(t, kr, nil)
	if _, err := tk.Sign(Claims{ID: "a-1", Account: "fan-1", EventID: "ev-1"}); err == nil {
		t.Fatal("signed claims without an expiry")
	}
	keys, err := tk.current()
	if err != nil {
		t.Fatal(err)
	}
	// Signed by an independent JWT library with the current key and its kid.
	key := libraryKey(t, keys.kid, keys.signer)
	sign := func(b *jwt.Builder) string {
		tok, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		out, err := jwt.Sign(tok, jwt.WithKey(jwa.EdDSAEd25519(), key))
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	base := func() *jwt.Builder {
		return jwt.NewBuilder().Issuer(Issuer).Subject("fan-1").JwtID("a-1").IssuedAt(time.Now()).Claim("evt", "ev-1")
	}
	_, err = tk.Verify(sign(base()), "fan-1", "ev-1")
	assertRefused(t, err, ReasonInvalid)
	if _, err := tk.Verify(sign(base().Expiration(time.Now().Add(time.Minute))), "fan-1", "ev-1"); err != nil {
		t.Fatalf("the same token with exp: %v", err)
	}
}

// libraryKey is an Ed25519 key as lestrrat-go/jwx holds it, named kid.
func libraryKey(t *testing.T, kid string, priv ed25519.PrivateKey) jwk.Key {
	t.Helper()
	key, err := jwk.Import(priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := key.Set(jwk.KeyIDKey, kid); err != nil {
		t.Fatal(err)
	}
	if err := key.Set(jwk.AlgorithmKey, jwa.EdDSAEd25519()); err != nil {
		t.Fatal(err)
	}
	return key
}

// TestTokensAreStandardJWTs: the tokens are built with the standard
// library alone; an independent JWT library verifies what Sign signed with
// the same checks the gate relies on (the key by kid, the issuer, the
// expiry), and what it signed with a header this code did not write
// (another kid, a crit header, another algorithm) is refused here.
func TestTokensAreStandardJWTs(t *testing.T) {
	kr, err := GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	tk := mustTokens(t, kr, nil)
	tok, issued, err := tk.Issue("fan-1", "ev-1")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := tk.current()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := jwk.PublicKeyOf(libraryKey(t, keys.kid, keys.signer))
	if err != nil {
		t.Fatal(err)
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseString(tok, jwt.WithKeySet(set, jws.WithRequireKid(true)), jwt.WithValidate(true),
		jwt.WithIssuer(Issuer), jwt.WithRequiredClaim(jwt.ExpirationKey))
	if err != nil {
		t.Fatalf("the library refuses a token Sign made: %v", err)
	}
	var evt string
	exp, _ := parsed.Expiration()
	jti, _ := parsed.JwtID()
	sub, _ := parsed.Subject()
	if err := parsed.Get("evt", &evt); err != nil || evt != "ev-1" || jti != issued.ID || sub != "fan-1" || !exp.Equal(issued.ExpiresAt) {
		t.Fatalf("library read evt %q jti %q sub %q exp %v; issued %+v", evt, jti, sub, exp, issued)
	}

	libSigned := func(kid string, hdr map[string]any) string {
		t.Helper()
		b, err := jwt.NewBuilder().Issuer(Issuer).Subject("fan-1").JwtID("a-1").IssuedAt(time.Now()).
			Expiration(time.Now().Add(time.Minute)).Claim("evt", "ev-1").Build()
		if err != nil {
			t.Fatal(err)
		}
		h := jws.NewHeaders()
		for k, v := range hdr {
			if err := h.Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
		out, err := jwt.Sign(b, jwt.WithKey(jwa.EdDSAEd25519(), libraryKey(t, kid, keys.signer), jws.WithProtectedHeaders(h)))
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	if _, err := tk.Verify(libSigned(keys.kid, nil), "fan-1", "ev-1"); err != nil {
		t.Fatalf("a token the library signed with the current key: %v", err)
	}
	_, err = tk.Verify(libSigned("other", nil), "fan-1", "ev-1")
	assertRefused(t, err, ReasonInvalid)
	_, err = tk.Verify(libSigned(keys.kid, map[string]any{"crit": []string{"exp"}}), "fan-1", "ev-1")
	assertRefused(t, err, ReasonInvalid)
	// The same signature under a header naming another algorithm.
	parts := strings.Split(tok, ".")
	noneHdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"` + keys.kid + `"}`))
	_, err = tk.Verify(noneHdr+"."+parts[1]+"."+parts[2], "fan-1", "ev-1")
	assertRefused(t, err, ReasonInvalid)
	_, err = tk.Verify(noneHdr+"."+parts[1]+".", "fan-1", "ev-1")
	assertRefused(t, err, ReasonInvalid)
}

// assertRefused checks an ADMISSION_INVALID error and the reason a page
// shows the fan.
func assertRefused(t *testing.T, err error, reason string) {
	t.Helper()
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Code != apperr.AdmissionInvalid || ae.Details["reason"] != reason {
		t.Fatalf("err = %v (details %v), want ADMISSION_INVALID with reason %s", err, ae, reason)
	}
}

func TestRotationKeepsOldTokensValid(t *testing.T) {
	seed := func(b byte) string {
		return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(rune(b)), ed25519.SeedSize)))
	}
	old, err := ParseKeyring([]byte(`{"current":"k1","keys":[{"kid":"k1","seed":"` + seed('a') + `"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := ParseKeyring([]byte(`{"current":"k2","keys":[{"kid":"k2","seed":"` + seed('b') + `"},{"kid":"k1","seed":"` + seed('a') + `"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tok, _, _ := mustTokens(t, old, nil).Issue("fan-1", "ev-1")
	if _, err := mustTokens(t, rotated, nil).Verify(tok, "fan-1", "ev-1"); err != nil {
		t.Fatalf("token of the previous key refused after rotation: %v", err)
	}
	if _, err := ParseKeyring([]byte(`{"current":"k3","keys":[{"kid":"k2","seed":"` + seed('b') + `"}]}`)); err == nil {
		t.Fatal("keyring whose current key is missing accepted")
	}
}

// FuzzVerify: no input makes Verify panic or accept a token it did not issue.
func FuzzVerify(f *testing.F) {
	kr, _ := GenerateKeyring()
	tk := mustTokens(f, kr, nil)
	tok, issued, _ := tk.Issue("fan-1", "ev-1")
	f.Add(tok)
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJmYW4tMSJ9.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := tk.Verify(s, "fan-1", "ev-1")
		if err == nil && c.ID != issued.ID {
			t.Fatalf("accepted a token it did not issue: %q -> %+v", s, c)
		}
	})
}

// TestTokensPickUpARotatedSecret: tokens read their keyring's secret on
// first use, not when built, and after the source's TTL sign with the
// rotated current key while still verifying tokens of the previous one.
func TestTokensPickUpARotatedSecret(t *testing.T) {
	seed := func(b byte) string {
		return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(rune(b)), ed25519.SeedSize)))
	}
	clk := clock.NewManual(time.Now())
	value, reads := `{"current":"k1","keys":[{"kid":"k1","seed":"`+seed('a')+`"}]}`, 0
	src := keyring.NewSource("admission", func(context.Context) ([]byte, error) { reads++; return []byte(value), nil }, time.Minute, clk)
	tk := NewTokensFrom(src, time.Hour, clk)
	if reads != 0 {
		t.Fatal("the keyring was read before a token needed it")
	}
	before, _, err := tk.Issue("fan-1", "ev-1")
	if err != nil || reads != 1 {
		t.Fatalf("issue: %v after %d reads", err, reads)
	}
	value = `{"current":"k2","keys":[{"kid":"k2","seed":"` + seed('b') + `"},{"kid":"k1","seed":"` + seed('a') + `"}]}`
	clk.Advance(time.Minute)
	after, _, err := tk.Issue("fan-1", "ev-1")
	if err != nil {
		t.Fatal(err)
	}
	kid := func(tok string) string {
		h, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
		return string(h)
	}
	if !strings.Contains(kid(before), `"k1"`) || !strings.Contains(kid(after), `"k2"`) {
		t.Fatalf("headers %s then %s, want k1 then the rotated k2", kid(before), kid(after))
	}
	if _, err := tk.Verify(before, "fan-1", "ev-1"); err != nil {
		t.Fatalf("a token of the previous key refused after the rotation: %v", err)
	}
}
