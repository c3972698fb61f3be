package auth

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestRoleFromCognitoGroups(t *testing.T) {
	if r := roleFromClaims(map[string]string{"sub": "x", "cognito:groups": "[fans organizers]"}); r != RoleOrganizer {
		t.Fatalf("role = %s", r)
	}
	if r := roleFromClaims(map[string]string{"sub": "x"}); r != RoleFan {
		t.Fatalf("role = %s", r)
	}
}

// An IAM principal is a machine acting for an organization: staff whose
// powers are its grants, never an owner by itself.
func TestIAMIdentityIsMachineStaff(t *testing.T) {
	id, ok := FromRequest(events.APIGatewayV2HTTPRequestContext{Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::123456789012:user/ops"},
	}})
	if !ok || id.Role != RoleStaff || !id.Machine || id.Org != "" || !id.Staff() {
		t.Fatalf("identity = %+v", id)
	}
}

// The org claim names the organization; an organizer without one is the
// organization its sub names; a fan acts for none.
func TestIdentityOrganization(t *testing.T) {
	jwtCtx := func(claims map[string]string) events.APIGatewayV2HTTPRequestContext {
		return events.APIGatewayV2HTTPRequestContext{Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims}}}
	}
	for _, c := range []struct {
		claims map[string]string
		role   Role
		org    string
	}{
		{map[string]string{"sub": "org-a", "role": "organizer"}, RoleOrganizer, "org-a"},
		{map[string]string{"sub": "alice", "role": "organizer", "org": "org-b"}, RoleOrganizer, "org-b"},
		{map[string]string{"sub": "bob", "role": "staff", "org": "org-a"}, RoleStaff, "org-a"},
		{map[string]string{"sub": "carol", "cognito:groups": "[staff]", "custom:org": "org-c"}, RoleStaff, "org-c"},
		{map[string]string{"sub": "dave", "cognito:groups": "[organizers]"}, RoleOrganizer, "dave"},
		{map[string]string{"sub": "fan-1", "org": "org-a"}, RoleFan, ""},
	} {
		id, ok := FromRequest(jwtCtx(c.claims))
		if !ok || id.Role != c.role || id.Org != c.org {
			t.Errorf("claims %v: identity %+v, want role %s org %q", c.claims, id, c.role, c.org)
		}
	}
}

func TestBearerToken(t *testing.T) {
	for h, want := range map[string]bool{"Bearer abc": true, "bearer abc": true, "Basic abc": false, "Bearer ": false, "": false} {
		if _, ok := BearerToken(h); ok != want {
			t.Errorf("BearerToken(%q) ok = %v", h, ok)
		}
	}
}
