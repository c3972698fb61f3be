// Package tenancy decides who may do what for which organization: events
// belong to the organization that created them, an organization's owners
// grant its people roles, and every staff route is checked against the
// role the topology declares for it. It also keeps the organization's audit
// log of staff actions.
package tenancy

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/topology"
)

// Role is what a person may do in an organization. The names are the
// topology's staff roles.
type Role = topology.Staff

// Roles, from most to least powerful.
const (
	Owner     = topology.StaffOwner
	Manager   = topology.StaffManager
	BoxOffice = topology.StaffBoxOffice
	Scanner   = topology.StaffScanner
)

// Roles lists every role.
func Roles() []Role { return []Role{Owner, Manager, BoxOffice, Scanner} }

// Allows reports whether role may call a route that needs need. A scanner's
// events are checked apart (Access.Events).
func Allows(role, need Role) bool {
	switch role {
	case Owner:
		return true
	case Manager:
		return need != Owner
	case BoxOffice:
		return need == BoxOffice
	case Scanner:
		return need == Scanner
	}
	return false
}

// Grant is one person's role in one organization.
type Grant struct {
	Org     string `json:"org"`
	Subject string `json:"subject"`
	Role    Role   `json:"role"`
	// Events a scanner may check in at (required for scanners, ignored for
	// the other roles, which cover every event of the organization).
	Events    []string  `json:"events,omitempty"`
	GrantedBy string    `json:"grantedBy"`
	GrantedAt time.Time `json:"grantedAt"`
	// RevokedAt is set once an owner took the role back; the item stays
	// (nothing in StarArena deletes an item) and grants nothing.
	RevokedAt time.Time `json:"revokedAt,omitzero"`
}

// Active reports whether g still grants its role.
func (g Grant) Active() bool { return g.Role != "" && g.RevokedAt.IsZero() }

// Store persists grants and audit entries.
type Store interface {
	// PutGrant writes g, replacing the person's earlier grant.
	PutGrant(ctx context.Context, g Grant) error
	// GetGrant reads one person's grant; found is false without one.
	GetGrant(ctx context.Context, org, subject string) (g Grant, found bool, err error)
	// ListGrants reads every grant of org, revoked ones included.
	ListGrants(ctx context.Context, org string) ([]Grant, error)
	// AppendAudit records e.
	AppendAudit(ctx context.Context, e Entry) error
	// ListAudit reads org's newest entries first, up to limit.
	ListAudit(ctx context.Context, org string, limit int) ([]Entry, error)
}

// Lookup finds the organization behind what a route names.
type Lookup interface {
	// EventOrg returns the organization owning the event (NOT_FOUND for
	// an unknown one).
	EventOrg(ctx context.Context, eventID string) (string, error)
	// OrderEvent returns the event of the order (NOT_FOUND for an unknown
	// one).
	OrderEvent(ctx context.Context, orderID string) (string, error)
}

// Service checks access, manages grants and keeps the audit log.
type Service struct {
	store  Store
	lookup Lookup
	clock  clock.Clock
}

// NewService builds the service; a nil clock is the system clock.
func NewService(store Store, lookup Lookup, c clock.Clock) *Service {
	if c == nil {
		c = clock.System{}
	}
	return &Service{store: store, lookup: lookup, clock: c}
}

// Target is what a request names: an event, an order, or neither (the
// caller's organization).
type Target struct {
	EventID string
	OrderID string
	// Org: the route acts on the caller's organization as a whole. A
	// scanner passes such a route without naming an event (its own
	// assignments); on any other route it must name one of its events.
	Org bool
}

// Access is what an authorized request may act on.
type Access struct {
	Org     string
	Subject string
	Role    Role
	// EventID is the event the request touches, when it names one.
	EventID string
	// Events are a scanner's assigned events (empty for the other roles,
	// which cover every event of the organization).
	Events []string
}

// Authorize decides whether id may call a route needing need on target.
// Another organization's event or order is NOT_FOUND, as if it did not
// exist; a role too weak for the route, or a scanner at an event it is not
// assigned to, is FORBIDDEN.
func (s *Service) Authorize(ctx context.Context, id auth.Identity, need Role, t Target) (Access, error) {
	if !id.Staff() {
		return Access{}, apperr.New(apperr.Forbidden, "this route is for organizers and their staff")
	}
	acc := Access{Subject: id.Subject, Org: id.Org, EventID: t.EventID}
	if t.OrderID != "" {
		ev, err := s.lookup.OrderEvent(ctx, t.OrderID)
		if err != nil {
			return Access{}, err
		}
		acc.EventID = ev
	}
	if acc.EventID != "" {
		org, err := s.lookup.EventOrg(ctx, acc.EventID)
		if err != nil {
			return Access{}, err
		}
		acc.Org = org
	}
	hidden := func() error {
		if t.OrderID != "" {
			return apperr.New(apperr.NotFound, "no order %s", t.OrderID)
		}
		return apperr.New(apperr.NotFound, "no event %q", acc.EventID)
	}
	if acc.Org == "" {
		return Access{}, apperr.New(apperr.Forbidden, "name your organization: this sign-in belongs to none")
	}
	var events []string
	switch {
	case id.Role == auth.RoleOrganizer && !id.Machine && id.Org == acc.Org:
		acc.Role = Owner
	default:
		g, found, err := s.store.GetGrant(ctx, acc.Org, id.Subject)
		if err != nil {
			return Access{}, fmt.Errorf("authorize %s in %s: %w", id.Subject, acc.Org, err)
		}
		if !found || !g.Active() {
			if acc.EventID != "" {
				return Access{}, hidden()
			}
			return Access{}, apperr.New(apperr.Forbidden, "no role in organization %s", acc.Org)
		}
		acc.Role, events = g.Role, g.Events
		if g.Role == Scanner {
			acc.Events = events
		}
	}
	if !Allows(acc.Role, need) {
		return Access{}, apperr.New(apperr.Forbidden, "a %s may not do this; it needs %s", acc.Role, need)
	}
	if acc.Role == Scanner && !(t.Org && acc.EventID == "") && !slices.Contains(events, acc.EventID) {
		return Access{}, apperr.New(apperr.Forbidden, "this scanner is not assigned to event %q", acc.EventID)
	}
	return acc, nil
}

var subjectPattern = regexp.MustCompile(`^[A-Za-z0-9_.@:/+=,-]{1,256}$`)

// GrantRequest is what an owner sends to grant a role.
type GrantRequest struct {
	Subject string   `json:"subject"`
	Role    Role     `json:"role"`
	Events  []string `json:"events"`
}

// Grant gives req.Subject req.Role in by's organization, replacing any
// earlier role, and records it in the audit log. Owners cannot change their
// own role (an organization must keep an owner who can undo a mistake).
func (s *Service) Grant(ctx context.Context, by Access, req GrantRequest) (Grant, error) {
	if !subjectPattern.MatchString(req.Subject) {
		return Grant{}, apperr.New(apperr.Invalid, "subject must be 1-256 characters of letters, digits and _.@:/+=,-")
	}
	if !slices.Contains(Roles(), req.Role) {
		return Grant{}, apperr.New(apperr.Invalid, "role must be one of owner, manager, box-office, scanner")
	}
	if req.Subject == by.Subject {
		return Grant{}, apperr.New(apperr.Invalid, "owners cannot change their own role")
	}
	g := Grant{Org: by.Org, Subject: req.Subject, Role: req.Role, GrantedBy: by.Subject, GrantedAt: s.clock.Now()}
	if req.Role == Scanner {
		if len(req.Events) == 0 || len(req.Events) > limits.ScannerEvents {
			return Grant{}, apperr.New(apperr.Invalid, "a scanner needs 1-%d events", limits.ScannerEvents)
		}
		for _, ev := range req.Events {
			org, err := s.lookup.EventOrg(ctx, ev)
			if apperr.CodeOf(err) == apperr.NotFound || (err == nil && org != by.Org) {
				return Grant{}, apperr.New(apperr.Invalid, "no event %q in this organization", ev)
			}
			if err != nil {
				return Grant{}, err
			}
		}
		g.Events = slices.Compact(slices.Sorted(slices.Values(req.Events)))
	}
	if err := s.store.PutGrant(ctx, g); err != nil {
		return Grant{}, fmt.Errorf("grant %s to %s: %w", g.Role, g.Subject, err)
	}
	return g, s.Record(ctx, by, Entry{Action: ActionGrant, Detail: fmt.Sprintf("%s is %s", g.Subject, g.Role)})
}

// Revoke takes subject's role away in by's organization.
func (s *Service) Revoke(ctx context.Context, by Access, subject string) (Grant, error) {
	g, found, err := s.store.GetGrant(ctx, by.Org, subject)
	if err != nil {
		return Grant{}, fmt.Errorf("revoke %s: %w", subject, err)
	}
	if !found || !g.Active() {
		return Grant{}, apperr.New(apperr.NotFound, "%s has no role here", subject)
	}
	g.RevokedAt = s.clock.Now()
	if err := s.store.PutGrant(ctx, g); err != nil {
		return Grant{}, fmt.Errorf("revoke %s: %w", subject, err)
	}
	return g, s.Record(ctx, by, Entry{Action: ActionRevoke, Detail: fmt.Sprintf("%s was %s", g.Subject, g.Role)})
}

// Staff lists the active grants of org.
func (s *Service) Staff(ctx context.Context, org string) ([]Grant, error) {
	gs, err := s.store.ListGrants(ctx, org)
	if err != nil {
		return nil, fmt.Errorf("staff of %s: %w", org, err)
	}
	out := []Grant{}
	for _, g := range gs {
		if g.Active() {
			out = append(out, g)
		}
	}
	return out, nil
}
