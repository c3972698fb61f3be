package tenancy_test

import (
	"context"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/tenancy"
	"github.com/stararena/stararena/internal/testenv"
)

// lookup is a two-event, one-order world: e1 and e2 of org-a, e3 of org-b.
type lookup struct{}

func (lookup) EventOrg(_ context.Context, id string) (string, error) {
	switch id {
	case "e1", "e2":
		return "org-a", nil
	case "e3":
		return "org-b", nil
	}
	return "", apperr.New(apperr.NotFound, "no event %q", id)
}

func (lookup) OrderEvent(_ context.Context, id string) (string, error) {
	if id == "o1" {
		return "e1", nil
	}
	return "", apperr.New(apperr.NotFound, "no order %s", id)
}

// TestAuthorize: GIVEN org-a's owner, a scanner of e1 granted by it, a
// revoked manager and org-b's owner THEN each is let through or refused
// with the code the contract names, and a revoked grant grants nothing.
func TestAuthorize(t *testing.T) {
	ctx := context.Background()
	db, table := testenv.DynamoDB(t)
	clk := clock.NewManual(time.Date(2027, 5, 1, 10, 0, 0, 0, time.UTC))
	svc := tenancy.NewService(dynamo.NewStores(db, table, clk).Tenancy, lookup{}, clk)
	owner := auth.Identity{Subject: "org-a", Role: auth.RoleOrganizer, Org: "org-a"}
	acc, err := svc.Authorize(ctx, owner, tenancy.Owner, tenancy.Target{})
	if err != nil || acc.Role != tenancy.Owner || acc.Org != "org-a" {
		t.Fatalf("owner in its org: %+v, %v", acc, err)
	}
	if _, err := svc.Grant(ctx, acc, tenancy.GrantRequest{Subject: "sam", Role: tenancy.Scanner, Events: []string{"e1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Grant(ctx, acc, tenancy.GrantRequest{Subject: "sam", Role: tenancy.Scanner, Events: []string{"e3"}}); apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("scanner for another organization's event: %v", err)
	}
	if _, err := svc.Grant(ctx, acc, tenancy.GrantRequest{Subject: "org-a", Role: tenancy.Scanner, Events: []string{"e1"}}); apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("owner demoting itself: %v", err)
	}
	if _, err := svc.Grant(ctx, acc, tenancy.GrantRequest{Subject: "max", Role: tenancy.Manager}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if _, err := svc.Revoke(ctx, acc, "max"); err != nil {
		t.Fatal(err)
	}
	sam := auth.Identity{Subject: "sam", Role: auth.RoleStaff, Org: "org-a"}
	max := auth.Identity{Subject: "max", Role: auth.RoleStaff, Org: "org-a"}
	other := auth.Identity{Subject: "org-b", Role: auth.RoleOrganizer, Org: "org-b"}
	fan := auth.Identity{Subject: "fan-1", Role: auth.RoleFan}
	machine := auth.Identity{Subject: "arn:aws:iam::1:role/ci", Role: auth.RoleStaff, Org: "org-a", Machine: true}
	for _, c := range []struct {
		name string
		id   auth.Identity
		need tenancy.Role
		t    tenancy.Target
		want apperr.Code // "": allowed
	}{
		{"scanner at its event", sam, tenancy.Scanner, tenancy.Target{EventID: "e1"}, ""},
		{"scanner at its event's order", sam, tenancy.Scanner, tenancy.Target{OrderID: "o1"}, ""},
		{"scanner at another event of its org", sam, tenancy.Scanner, tenancy.Target{EventID: "e2"}, apperr.Forbidden},
		{"scanner on an org route (its own events)", sam, tenancy.Scanner, tenancy.Target{Org: true}, ""},
		{"scanner naming no event on an event route", sam, tenancy.Scanner, tenancy.Target{}, apperr.Forbidden},
		{"scanner refunding", sam, tenancy.BoxOffice, tenancy.Target{OrderID: "o1"}, apperr.Forbidden},
		{"scanner pausing", sam, tenancy.Manager, tenancy.Target{EventID: "e1"}, apperr.Forbidden},
		{"revoked manager", max, tenancy.Manager, tenancy.Target{EventID: "e1"}, apperr.NotFound},
		{"revoked manager, org route", max, tenancy.Manager, tenancy.Target{}, apperr.Forbidden},
		{"another org's owner on the event", other, tenancy.Manager, tenancy.Target{EventID: "e1"}, apperr.NotFound},
		{"another org's owner on the order", other, tenancy.BoxOffice, tenancy.Target{OrderID: "o1"}, apperr.NotFound},
		{"another org's owner on its own event", other, tenancy.Manager, tenancy.Target{EventID: "e3"}, ""},
		{"owner on an unknown event", owner, tenancy.Manager, tenancy.Target{EventID: "nope"}, apperr.NotFound},
		{"fan", fan, tenancy.Scanner, tenancy.Target{EventID: "e1"}, apperr.Forbidden},
		{"ungranted machine", machine, tenancy.Manager, tenancy.Target{}, apperr.Forbidden},
	} {
		_, err := svc.Authorize(ctx, c.id, c.need, c.t)
		if got := apperr.CodeOf(err); (c.want == "" && err != nil) || (c.want != "" && got != c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if a, err := svc.Authorize(ctx, sam, tenancy.Scanner, tenancy.Target{Org: true}); err != nil || len(a.Events) != 1 || a.Events[0] != "e1" {
		t.Errorf("scanner's access on an org route: %+v, %v; want its event e1", a, err)
	}
	clk.Advance(time.Second)
	if _, err := svc.Grant(ctx, acc, tenancy.GrantRequest{Subject: machine.Subject, Role: tenancy.Manager}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authorize(ctx, machine, tenancy.Manager, tenancy.Target{EventID: "e1"}); err != nil {
		t.Errorf("granted machine: %v", err)
	}
	staff, err := svc.Staff(ctx, "org-a")
	if err != nil || len(staff) != 2 {
		t.Errorf("active staff %+v, %v; want sam and the machine", staff, err)
	}
	log, err := svc.Audit(ctx, "org-a")
	if err != nil || len(log) != 4 || log[0].Action != tenancy.ActionGrant || log[0].Detail != machine.Subject+" is manager" ||
		log[1].Action != tenancy.ActionRevoke || log[0].Actor != "org-a" || log[0].Role != tenancy.Owner {
		t.Errorf("audit %+v, %v; want 4 entries, newest first: the machine's grant, max's revocation", log, err)
	}
}
