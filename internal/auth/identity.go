// Package auth identifies callers: the identity API Gateway hands a
// function, and the local stack's dev token issuer and JWT authorizer.
package auth

import (
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Role is what a caller may do.
type Role string

// Roles.
const (
	RoleFan       Role = "fan"
	RoleOrganizer Role = "organizer"
)

// OrganizerGroup is the Cognito group whose members are organizers.
const OrganizerGroup = "organizers"

// Identity is an authenticated caller.
type Identity struct {
	Subject string // the account id (JWT sub, or the IAM principal)
	Role    Role
}

// FromRequest reads the identity the HTTP API authorizer attached to the
// request: JWT claims (Cognito in AWS, the dev issuer locally) or an IAM
// principal (organizer routes in AWS). ok is false when there is none.
func FromRequest(rc events.APIGatewayV2HTTPRequestContext) (Identity, bool) {
	a := rc.Authorizer
	if a == nil {
		return Identity{}, false
	}
	if a.JWT != nil {
		sub := a.JWT.Claims["sub"]
		if sub == "" {
			return Identity{}, false
		}
		return Identity{Subject: sub, Role: roleFromClaims(a.JWT.Claims)}, true
	}
	if a.IAM != nil && (a.IAM.UserARN != "" || a.IAM.UserID != "") {
		sub := a.IAM.UserARN
		if sub == "" {
			sub = a.IAM.UserID
		}
		// IAM authorization is only configured on organizer routes.
		return Identity{Subject: sub, Role: RoleOrganizer}, true
	}
	return Identity{}, false
}

// roleFromClaims accepts the dev issuer's "role" claim and Cognito's group
// claim, which API Gateway flattens to a string such as "[organizers fans]".
func roleFromClaims(c map[string]string) Role {
	if Role(c["role"]) == RoleOrganizer {
		return RoleOrganizer
	}
	groups := strings.Fields(strings.Trim(c["cognito:groups"], "[]"))
	for _, g := range groups {
		if strings.Trim(g, `",`) == OrganizerGroup {
			return RoleOrganizer
		}
	}
	return RoleFan
}
