package devissuer

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/clock"
)

func TestDevIssuerRoundTrip(t *testing.T) {
	for _, alg := range []string{AlgRS256, AlgES256} {
		t.Run(alg, func(t *testing.T) { devIssuerRoundTrip(t, alg) })
	}
}

func devIssuerRoundTrip(t *testing.T, alg string) {
	clk := clock.NewManual(time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC))
	iss, err := NewAlg("http://local/dev", testAudiences, time.Hour, clk, alg)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := iss.Issue("fan-1", auth.RoleOrganizer)
	if err != nil {
		t.Fatal(err)
	}
	header, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil || !strings.Contains(string(header), `"alg":"`+alg+`"`) {
		t.Fatalf("token header %s (%v), want alg %s", header, err, alg)
	}
	claims, err := iss.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	id, ok := auth.FromRequest(events.APIGatewayV2HTTPRequestContext{Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
	}})
	if !ok || id.Subject != "fan-1" || id.Role != auth.RoleOrganizer {
		t.Fatalf("identity = %+v, %v", id, ok)
	}

	t.Run("Expired", func(t *testing.T) {
		clk.Advance(2 * time.Hour)
		defer clk.Advance(-2 * time.Hour)
		if _, err := iss.Verify(tok); err == nil {
			t.Fatal("expired token accepted")
		}
	})
	t.Run("NoExpiry", func(t *testing.T) {
		// Signed by the issuer's own key, every claim right but exp.
		sign := func(b *jwt.Builder) string {
			tok, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			out, err := jwt.Sign(tok, jwt.WithKey(iss.alg, iss.private))
			if err != nil {
				t.Fatal(err)
			}
			return string(out)
		}
		b := func() *jwt.Builder {
			return jwt.NewBuilder().Issuer("http://local/dev").Audience([]string{"stararena-local"}).Subject("fan-1").
				IssuedAt(clk.Now()).Claim("role", string(auth.RoleOrganizer))
		}
		if _, err := iss.Verify(sign(b())); err == nil {
			t.Fatal("a token without exp was accepted")
		}
		if _, err := iss.Verify(sign(b().Expiration(clk.Now().Add(time.Minute)))); err != nil {
			t.Fatalf("the same token with exp: %v", err)
		}
	})
	t.Run("Tampered", func(t *testing.T) {
		parts := strings.Split(tok, ".")
		parts[1] = parts[1][:len(parts[1])-2] + "AA"
		if _, err := iss.Verify(strings.Join(parts, ".")); err == nil {
			t.Fatal("tampered token accepted")
		}
	})
	t.Run("OtherIssuer", func(t *testing.T) {
		for _, otherAlg := range []string{AlgRS256, AlgES256} {
			other, err := NewAlg("http://local/dev", testAudiences, time.Hour, clk, otherAlg)
			if err != nil {
				t.Fatal(err)
			}
			forged, _, _ := other.Issue("fan-1", auth.RoleOrganizer)
			if _, err := iss.Verify(forged); err == nil {
				t.Fatalf("token signed by another %s key accepted", otherAlg)
			}
		}
	})
}

func TestDevIssuerUnknownAlgorithm(t *testing.T) {
	if _, err := NewAlg("http://local/dev", testAudiences, time.Hour, nil, "HS256"); err == nil {
		t.Fatal("HS256 accepted: a shared-secret token is not what the authorizer verifies")
	}
}

// BenchmarkDevIssuer compares the dev token algorithms: the rush
// simulation signs in 100,000 fans and every request verifies a token.
//
//	go test -run '^$' -bench DevIssuer ./internal/auth
func BenchmarkDevIssuer(b *testing.B) {
	for _, alg := range []string{AlgRS256, AlgES256} {
		iss, err := NewAlg("http://local/dev", testAudiences, time.Hour, nil, alg)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(alg+"/Issue", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := iss.Issue("fan-1", auth.RoleFan); err != nil {
					b.Fatal(err)
				}
			}
		})
		tok, _, _ := iss.Issue("fan-1", auth.RoleFan)
		b.Run(alg+"/Verify", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := iss.Verify(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestTokensCarryTheAccountsEmail(t *testing.T) {
	iss, err := NewAlg("http://local/dev", testAudiences, time.Hour, nil, AlgES256)
	if err != nil {
		t.Fatal(err)
	}
	identity := func(tok string) auth.Identity {
		t.Helper()
		claims, err := iss.Verify(tok)
		if err != nil {
			t.Fatal(err)
		}
		id, ok := auth.FromRequest(events.APIGatewayV2HTTPRequestContext{Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}})
		if !ok {
			t.Fatal("no identity")
		}
		return id
	}
	named, _, err := iss.IssueWithEmail("fan-7", auth.RoleFan, "", "ana@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if got := identity(named).Email; got != "ana@example.org" {
		t.Fatalf("email = %q, want the token's", got)
	}
	plain, _, err := iss.Issue("fan-8", auth.RoleFan)
	if err != nil {
		t.Fatal(err)
	}
	if got := identity(plain).Email; got != "fan-8@example.test" {
		t.Fatalf("email = %q, want the default <sub>@example.test", got)
	}
	// A Cognito token's email claim arrives flattened the same way.
	id, _ := auth.FromRequest(events.APIGatewayV2HTTPRequestContext{Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": "u-1", "email": "u@example.com"}},
	}})
	if id.Email != "u@example.com" {
		t.Fatalf("cognito email = %q", id.Email)
	}
}

var testAudiences = Audiences{Fan: "stararena-local", Staff: "stararena-local-staff"}

// TestStaffTokensAreTheStaffClientsIDTokens: an organizer's or staff
// member's dev token is what Cognito issues to the staff app client (its
// audience, cognito:groups, custom:org, email, no role claim); the staff
// routes' authorizer (the staff audience) takes it and refuses a fan's,
// the fan routes' authorizer the reverse; the identity read from it is the
// group's role in the organization.
func TestStaffTokensAreTheStaffClientsIDTokens(t *testing.T) {
	iss, err := NewAlg("http://local/dev", testAudiences, time.Hour, nil, AlgES256)
	if err != nil {
		t.Fatal(err)
	}
	identity := func(claims map[string]string) auth.Identity {
		t.Helper()
		id, ok := auth.FromRequest(events.APIGatewayV2HTTPRequestContext{Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}})
		if !ok {
			t.Fatal("no identity")
		}
		return id
	}
	for _, c := range []struct {
		role       auth.Role
		org, group string
		want       auth.Identity
	}{
		{auth.RoleOrganizer, "org-a", auth.OrganizerGroup, auth.Identity{Subject: "ann", Role: auth.RoleOrganizer, Org: "org-a", Email: "ann@example.test"}},
		{auth.RoleOrganizer, "", auth.OrganizerGroup, auth.Identity{Subject: "ann", Role: auth.RoleOrganizer, Org: "ann", Email: "ann@example.test"}},
		{auth.RoleStaff, "org-a", auth.StaffGroup, auth.Identity{Subject: "ann", Role: auth.RoleStaff, Org: "org-a", Email: "ann@example.test"}},
	} {
		tok, _, err := iss.IssueFor("ann", c.role, c.org)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := iss.Verify(tok, testAudiences.Fan); err == nil {
			t.Errorf("%s: the fan routes' authorizer accepted a staff client's token", c.role)
		}
		claims, err := iss.Verify(tok, testAudiences.Staff)
		if err != nil {
			t.Fatalf("%s: the staff routes' authorizer refused it: %v", c.role, err)
		}
		if claims["aud"] != "["+testAudiences.Staff+"]" || claims[auth.GroupsClaim] != "["+c.group+"]" || claims[auth.CognitoOrgClaim] != c.org ||
			claims[auth.EmailClaim] != "ann@example.test" || claims["token_use"] != "id" || claims["role"] != "" {
			t.Errorf("%s: claims %v, want the staff client's ID token for group %s, org %q", c.role, claims, c.group, c.org)
		}
		if got := identity(claims); got != c.want {
			t.Errorf("%s: identity %+v, want %+v", c.role, got, c.want)
		}
	}
	fan, _, err := iss.Issue("fan-1", auth.RoleFan)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Verify(fan, testAudiences.Staff); err == nil {
		t.Error("the staff routes' authorizer accepted a fan's token")
	}
	if _, err := iss.Verify(fan, testAudiences.Fan); err != nil {
		t.Errorf("the fan routes' authorizer refused a fan's token: %v", err)
	}
}

func TestDevIssuerWantsTwoClients(t *testing.T) {
	for _, aud := range []Audiences{{Fan: "a"}, {Staff: "b"}, {Fan: "a", Staff: "a"}} {
		if _, err := NewAlg("http://local/dev", aud, time.Hour, nil, AlgES256); err == nil {
			t.Errorf("audiences %+v accepted", aud)
		}
	}
}
