package inventory_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/admission"
	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/testenv/fixture"
	"github.com/stararena/stararena/internal/waitroom"
)

// placeLog records the DynamoDB requests that name a waiting-room place.
type placeLog struct{ requestLog }

func (l *placeLog) observe(op string, body []byte) bool {
	if bytes.Contains(body, []byte(`"`+dynamo.PrefixPlace)) {
		l.record(op)
	}
	return false
}

// TestAHoldMarksItsWaitingRoomPlaceInItsTransaction: GIVEN a sale
// through the waiting room and a fan admitted from their place WHEN the
// fan holds THEN the hold's one transaction also marks the place's
// admission used, with no write of the place after it: the fan's view
// says the admission was used, asking again is refused as used, the
// inlet never flags it abandoned once it expires, and the report counts
// it used once. An admission that no place gave (a presale's) holds as
// well: the place's condition refuses it, the hold goes on without it
// and no place is written.
func TestAHoldMarksItsWaitingRoomPlaceInItsTransaction(t *testing.T) {
	log := &placeLog{}
	db, table := testenv.ThrottledDynamoDB(t, log.observe)
	clk := clock.NewManual(time.Now().Truncate(time.Minute))
	kr, err := admission.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	a := fixture.NewApp(t, fixture.AppOptions{DB: db, Table: table, Clock: clk, Keyring: &kr})
	ctx := context.Background()
	body := fmt.Sprintf(`{"name":"Rush","venue":"Arena","startsAt":%q,"saleOpensAt":%q,
		"queue":{"mode":"on","admitPerMinute":600},
		"sections":[{"id":"A","name":"Floor","priceCents":5000,"currency":"EUR","rows":[{"id":"1","seats":20}]}]}`,
		clk.Now().Add(24*time.Hour).Format(time.RFC3339), clk.Now().Add(time.Minute).Format(time.RFC3339))
	req, err := catalog.ParseCreateEvent([]byte(body), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := a.Catalog.Create(ctx, req, "organizer-1", "organizer-1")
	if err != nil {
		t.Fatal(err)
	}
	tick := func() waitroom.TickResult {
		t.Helper()
		res, err := a.Waitroom.Tick(ctx, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	clk.Advance(time.Minute + 3*time.Second)
	tick()
	res := a.Waitroom.Assign(ctx, []waitroom.Record{{ID: "m1", Body: waitroom.JoinBody(ev.ID, "fan-1", clk.Now())}})
	if res.Placed != 1 {
		t.Fatalf("join: %+v", res)
	}
	clk.Advance(2 * time.Second)
	tick()
	tok, claims, err := a.Gate.Admit(ctx, "fan-1", ev.ID)
	if err != nil {
		t.Fatal(err)
	}

	ops := log.during(func() {
		if _, err := a.Inventory.Hold(ctx, "fan-1", ev.ID, inventory.HoldRequest{AdmissionToken: tok, Seats: []string{"A-1-1"}}, "k-1"); err != nil {
			t.Fatal(err)
		}
	})
	if strings.Join(ops, ",") != "TransactWriteItems" {
		t.Fatalf("the hold sent %q naming the place, want only its transaction", ops)
	}
	me, err := a.Waitroom.Me(ctx, "fan-1", ev.ID)
	if err != nil || me.State != waitroom.StateAdmitted || !me.AdmissionExpires.IsZero() {
		t.Fatalf("the fan's view after the hold: %+v %v, want ADMITTED with the admission used", me, err)
	}
	if _, _, err := a.Gate.Admit(ctx, "fan-1", ev.ID); !apperr.Is(err, apperr.QueueRequired) || !strings.Contains(err.Error(), "used") {
		t.Fatalf("admission asked again after the hold: %v, want the admission used", err)
	}
	clk.Advance(time.Until(claims.ExpiresAt) + waitroom.AbandonCheckEvery + time.Minute)
	if res := tick(); res.Abandoned != 0 {
		t.Fatalf("the inlet flagged %d used admissions abandoned", res.Abandoned)
	}

	// A token the gate gives without a place (a presale's): no place.
	other, _, err := a.Tokens.Issue("fan-2", ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Inventory.Hold(ctx, "fan-2", ev.ID, inventory.HoldRequest{AdmissionToken: other, Seats: []string{"A-1-2"}}, ""); err != nil {
		t.Fatalf("hold with an admission no place gave: %v", err)
	}
	if _, found, err := a.Stores.Waitroom.Place(ctx, ev.ID, "fan-2"); found || err != nil {
		t.Fatalf("a place for fan-2 (found %v, %v): the hold wrote one", found, err)
	}
	rep, err := a.Waitroom.Report(ctx, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Admitted != 1 || rep.Used != 1 || rep.Abandoned != 0 {
		t.Fatalf("report %+v, want admitted 1, used 1, abandoned 0", rep)
	}
}
