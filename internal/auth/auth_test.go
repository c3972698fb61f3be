package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stararena/stararena/internal/clock"
)

func TestDevIssuerRoundTrip(t *testing.T) {
	clk := clock.NewManual(time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC))
	iss, err := NewDevIssuer("http://local/dev", "stararena-local", time.Hour, clk)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := iss.Issue("fan-1", RoleOrganizer)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := iss.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	id, ok := FromRequest(events.APIGatewayV2HTTPRequestContext{Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
	}})
	if !ok || id.Subject != "fan-1" || id.Role != RoleOrganizer {
		t.Fatalf("identity = %+v, %v", id, ok)
	}

	t.Run("Expired", func(t *testing.T) {
		clk.Advance(2 * time.Hour)
		defer clk.Advance(-2 * time.Hour)
		if _, err := iss.Verify(tok); err == nil {
			t.Fatal("expired token accepted")
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
		other, err := NewDevIssuer("http://local/dev", "stararena-local", time.Hour, clk)
		if err != nil {
			t.Fatal(err)
		}
		forged, _, _ := other.Issue("fan-1", RoleOrganizer)
		if _, err := iss.Verify(forged); err == nil {
			t.Fatal("token signed by another key accepted")
		}
	})
}

func TestRoleFromCognitoGroups(t *testing.T) {
	if r := roleFromClaims(map[string]string{"sub": "x", "cognito:groups": "[fans organizers]"}); r != RoleOrganizer {
		t.Fatalf("role = %s", r)
	}
	if r := roleFromClaims(map[string]string{"sub": "x"}); r != RoleFan {
		t.Fatalf("role = %s", r)
	}
}

func TestIAMIdentityIsOrganizer(t *testing.T) {
	id, ok := FromRequest(events.APIGatewayV2HTTPRequestContext{Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::123456789012:user/ops"},
	}})
	if !ok || id.Role != RoleOrganizer {
		t.Fatalf("identity = %+v", id)
	}
}

func TestBearerToken(t *testing.T) {
	for h, want := range map[string]bool{"Bearer abc": true, "bearer abc": true, "Basic abc": false, "Bearer ": false, "": false} {
		if _, ok := BearerToken(h); ok != want {
			t.Errorf("BearerToken(%q) ok = %v", h, ok)
		}
	}
}
