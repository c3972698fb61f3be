// Package auth identifies callers: the identity API Gateway hands a
// function, and the local stack's dev token issuer and JWT authorizer.
package auth

import (
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Role is what a caller may do.
type Role string

// Roles a token carries. An organizer owns its organization; staff are
// people of an organization whose powers are the grants its owners gave
// them (internal/tenancy); a fan buys tickets.
const (
	RoleFan       Role = "fan"
	RoleOrganizer Role = "organizer"
	RoleStaff     Role = "staff"
)

// Cognito groups of the user pool: members of OrganizerGroup own the
// organization named by their org attribute; members of StaffGroup act for
// it with granted roles.
const (
	OrganizerGroup = "organizers"
	StaffGroup     = "staff"
)

// Claims naming the organization: the dev issuer's "org", Cognito's custom
// attribute.
const (
	OrgClaim        = "org"
	CognitoOrgClaim = "custom:org"
)

// GroupsClaim lists a Cognito user's groups in its tokens.
const GroupsClaim = "cognito:groups"

// EmailClaim is the account's address in a token: Cognito's standard
// attribute, and the dev issuer's.
const EmailClaim = "email"

// OrgHeader names the organization an IAM-signed (machine) request acts
// for; its powers are the grants of its principal in that organization.
const OrgHeader = "X-Stararena-Org"

// Identity is an authenticated caller.
type Identity struct {
	Subject string // the account id (JWT sub, or the IAM principal)
	Role    Role
	// Org is the organization the caller acts for: the token's org claim,
	// else an organizer's own sub; empty for fans.
	Org string
	// Machine: an IAM-signed request (automation), never an owner by
	// itself.
	Machine bool
	// Email is the account's address (the token's email claim; empty when
	// the token carries none): where the order confirmation goes.
	Email string
}

// Staff reports whether the caller may reach staff routes at all: an
// organizer, staff, or a machine. What it may do there is decided per
// route and organization (internal/tenancy).
func (id Identity) Staff() bool {
	return id.Role == RoleOrganizer || id.Role == RoleStaff || id.Machine
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
		id := Identity{Subject: sub, Role: roleFromClaims(a.JWT.Claims), Email: a.JWT.Claims[EmailClaim]}
		id.Org = a.JWT.Claims[OrgClaim]
		if id.Org == "" {
			id.Org = a.JWT.Claims[CognitoOrgClaim]
		}
		if id.Org == "" && id.Role == RoleOrganizer {
			// An organizer without an org attribute is an organization of
			// one: its sub names it.
			id.Org = sub
		}
		if id.Role == RoleFan {
			id.Org = ""
		}
		return id, true
	}
	if a.IAM != nil && (a.IAM.UserARN != "" || a.IAM.UserID != "") {
		sub := a.IAM.UserARN
		if sub == "" {
			sub = a.IAM.UserID
		}
		// IAM authorization is only configured on staff routes; the
		// organization comes from OrgHeader (httpapi) and the powers from
		// the principal's grants there.
		return Identity{Subject: sub, Role: RoleStaff, Machine: true}, true
	}
	return Identity{}, false
}

// roleFromClaims accepts the dev issuer's "role" claim and Cognito's group
// claim, which API Gateway flattens to a string such as "[organizers fans]".
// Organizer wins over staff, staff over fan.
func roleFromClaims(c map[string]string) Role {
	switch Role(c["role"]) {
	case RoleOrganizer, RoleStaff:
		return Role(c["role"])
	}
	role := RoleFan
	groups := strings.Fields(strings.Trim(c[GroupsClaim], "[]"))
	for _, g := range groups {
		switch strings.Trim(g, `",`) {
		case OrganizerGroup:
			return RoleOrganizer
		case StaffGroup:
			role = RoleStaff
		}
	}
	return role
}
