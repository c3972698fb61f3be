package seatmgmt_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/seatmgmt"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/testenv/fixture"
)

func seatStates(t *testing.T, a *app.App, ev catalog.Event) map[string]inventory.SeatState {
	t.Helper()
	sec, _ := ev.Section("A")
	st, err := a.Stores.Inventory.SeatHolders(context.Background(), ev.ID, sec.SeatIDs())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func codeOf(err error) apperr.Code {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

func TestSeatActions(t *testing.T) {
	ctx := context.Background()
	a := fixture.NewApp(t, fixture.AppOptions{})
	ev := fixture.OpenEvent(t, a, fixture.Event{Rows: 2})

	t.Run("KilledAndHeldBackSeatsAreUnavailableToFans", func(t *testing.T) {
		res, err := a.Seats.Apply(ctx, ev.ID, seatmgmt.Kill, seatmgmt.Selection{Seats: []string{"A-1-1", "A-1-2"}})
		if err != nil || !slices.Equal(res.Changed, []string{"A-1-1", "A-1-2"}) || len(res.Refused) != 0 {
			t.Fatalf("kill = %+v, %v", res, err)
		}
		res, err = a.Seats.Apply(ctx, ev.ID, seatmgmt.HoldBack, seatmgmt.Selection{Section: "A", FromRow: "2", ToRow: "2", FromSeat: 1, ToSeat: 3})
		if err != nil || !slices.Equal(res.Changed, []string{"A-2-1", "A-2-2", "A-2-3"}) {
			t.Fatalf("hold back = %+v, %v", res, err)
		}
		// The projection is rebuilt here as the projector or a reader
		// past its freshness would (no change feed in this test).
		if _, err := a.Catalog.Rebuild(ctx, &ev); err != nil {
			t.Fatal(err)
		}
		av, err := a.Catalog.Availability(ctx, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"A-1-1", "A-1-2", "A-2-1", "A-2-2", "A-2-3"} {
			if av.Seats[id] != catalog.SeatUnavailable {
				t.Errorf("availability shows %s as %s, want UNAVAILABLE", id, av.Seats[id])
			}
		}
		if s := av.Sections[0]; s.Available != 15 || s.Unavailable != 5 {
			t.Errorf("section A: %d available, %d unavailable; want 15 and 5", s.Available, s.Unavailable)
		}
		for _, seat := range []string{"A-1-1", "A-2-2"} {
			if _, err := fixture.TryHold(ctx, a, "fan-"+seat, ev.ID, inventory.HoldRequest{Seats: []string{seat}}); codeOf(err) != apperr.SeatsUnavailable {
				t.Errorf("a fan's hold of %s: %v, want SEATS_UNAVAILABLE", seat, err)
			}
		}
		sum, err := a.Seats.Summarize(ctx, ev.ID)
		if err != nil || sum.Sections[0].Killed != 2 || sum.Sections[0].HeldBack != 3 {
			t.Fatalf("summary = %+v, %v", sum, err)
		}
	})

	t.Run("RepeatedActionIsUnchangedNotRefused", func(t *testing.T) {
		res, err := a.Seats.Apply(ctx, ev.ID, seatmgmt.Kill, seatmgmt.Selection{Seats: []string{"A-1-1"}})
		if err != nil || len(res.Changed) != 0 || !slices.Equal(res.Unchanged, []string{"A-1-1"}) || len(res.Refused) != 0 {
			t.Fatalf("second kill = %+v, %v", res, err)
		}
	})

	t.Run("HoldBackRefusesKilledSeat", func(t *testing.T) {
		res, err := a.Seats.Apply(ctx, ev.ID, seatmgmt.HoldBack, seatmgmt.Selection{Seats: []string{"A-1-1"}})
		if err != nil || len(res.Refused) != 1 || res.Refused[0].State != catalog.SeatKilled {
			t.Fatalf("hold back of a killed seat = %+v, %v", res, err)
		}
	})

	t.Run("ReleasedSeatsSellAgain", func(t *testing.T) {
		res, err := a.Seats.Apply(ctx, ev.ID, seatmgmt.Release, seatmgmt.Selection{Seats: []string{"A-1-1", "A-2-2"}})
		if err != nil || !slices.Equal(res.Changed, []string{"A-1-1", "A-2-2"}) {
			t.Fatalf("release = %+v, %v", res, err)
		}
		if _, err := fixture.TryHold(ctx, a, "fan-after-release", ev.ID, inventory.HoldRequest{Seats: []string{"A-2-2"}}); err != nil {
			t.Fatalf("hold of a released seat: %v", err)
		}
	})

	t.Run("HeldAndSoldSeatsAreRefusedAndLeftAsTheyWere", func(t *testing.T) {
		o := fixture.Hold(t, a, "fan-held", ev.ID, inventory.HoldRequest{Seats: []string{"A-1-5"}})
		testenv.SetSeat(t, a.DB, a.Config.TableName, ev.ID, "A-1-6", catalog.SeatSold, "order-sold")
		for _, action := range []seatmgmt.Action{seatmgmt.Kill, seatmgmt.HoldBack, seatmgmt.Release} {
			res, err := a.Seats.Apply(ctx, ev.ID, action, seatmgmt.Selection{Seats: []string{"A-1-5", "A-1-6"}})
			if err != nil || len(res.Changed) != 0 || len(res.Refused) != 2 {
				t.Fatalf("%s of a held and a sold seat = %+v, %v", action, res, err)
			}
			if r := res.Refused; r[0].State != catalog.SeatHeld || r[1].State != catalog.SeatSold || r[0].Reason == "" {
				t.Errorf("%s refusals = %+v", action, r)
			}
		}
		st := seatStates(t, a, ev)
		if h := st["A-1-5"]; h.State != catalog.SeatHeld || h.OrderID != o.ID {
			t.Errorf("held seat is now %+v, want HELD by %s", h, o.ID)
		}
		if h := st["A-1-6"]; h.State != catalog.SeatSold || h.OrderID != "order-sold" {
			t.Errorf("sold seat is now %+v", h)
		}
	})

	t.Run("UnknownSeatIsInvalidVenue", func(t *testing.T) {
		_, err := a.Seats.Apply(ctx, ev.ID, seatmgmt.Kill, seatmgmt.Selection{Seats: []string{"A-9-1"}})
		if codeOf(err) != apperr.InvalidVenue {
			t.Fatalf("kill of A-9-1: %v, want INVALID_VENUE", err)
		}
		_, err = a.Seats.Apply(ctx, ev.ID, seatmgmt.Kill, seatmgmt.Selection{})
		if codeOf(err) != apperr.Invalid {
			t.Fatalf("kill of nothing: %v, want INVALID_REQUEST", err)
		}
	})

	t.Run("ReconcilerLeavesManagedSeatsAlone", func(t *testing.T) {
		if _, err := a.Reconciler.Run(ctx, ev.ID); err != nil {
			t.Fatal(err)
		}
		st := seatStates(t, a, ev)
		if st["A-1-2"].State != catalog.SeatKilled || st["A-2-1"].State != catalog.SeatHeldBack {
			t.Fatalf("after reconcile: A-1-2 %s, A-2-1 %s; want KILLED and HELD_BACK", st["A-1-2"].State, st["A-2-1"].State)
		}
	})

	t.Run("AccessibilityMarks", func(t *testing.T) {
		_, n, err := a.Seats.Mark(ctx, ev.ID, seatmgmt.MarkRequest{Selection: seatmgmt.Selection{Seats: []string{"A-1-9", "A-1-10"}}, Mark: catalog.MarkWheelchair})
		if err != nil || n != 2 {
			t.Fatalf("mark = %d, %v", n, err)
		}
		if _, _, err := a.Seats.Mark(ctx, ev.ID, seatmgmt.MarkRequest{Selection: seatmgmt.Selection{Seats: []string{"A-1-8"}}, Mark: catalog.MarkCompanion}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.Seats.Mark(ctx, ev.ID, seatmgmt.MarkRequest{Selection: seatmgmt.Selection{Seats: []string{"A-1-10"}}, Mark: catalog.MarkNone}); err != nil {
			t.Fatal(err)
		}
		got, err := a.Catalog.Get(ctx, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		sec, _ := got.Section("A")
		if !slices.Equal(sec.Wheelchair, []string{"A-1-9"}) || !slices.Equal(sec.Companion, []string{"A-1-8"}) {
			t.Fatalf("marks: wheelchair %v, companion %v", sec.Wheelchair, sec.Companion)
		}
		if _, _, err := a.Seats.Mark(ctx, ev.ID, seatmgmt.MarkRequest{Selection: seatmgmt.Selection{Seats: []string{"A-1-8"}}, Mark: "ramp"}); codeOf(err) != apperr.Invalid {
			t.Fatalf("unknown mark: %v, want INVALID_REQUEST", err)
		}
	})
}

// TestConcurrentHoldsAndHoldBackNeverDoubleAssign races fans holding
// seats against the organizer holding the same seats back: every seat
// ends either held by exactly one fan's order or held back, and the
// counts on both sides add up to the section.
func TestConcurrentHoldsAndHoldBackNeverDoubleAssign(t *testing.T) {
	ctx := context.Background()
	a := fixture.NewApp(t, fixture.AppOptions{})
	const rows, perRow = 4, 10
	ev := fixture.OpenEvent(t, a, fixture.Event{Rows: rows, SeatsPerRow: perRow, MaxTicketsPerAccount: 2})
	sec, _ := ev.Section("A")
	ids := sec.SeatIDs()
	toks := make([]string, len(ids))
	for i := range ids {
		toks[i] = fixture.Admit(t, a, fmt.Sprintf("fan-%d", i), ev.ID)
	}

	var wg sync.WaitGroup
	start := make(chan struct{})
	heldBy := make([]string, len(ids)) // order id of fan i's hold of seat i
	holdErr := make([]error, len(ids))
	for i, seat := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			o, err := a.Inventory.Hold(ctx, fmt.Sprintf("fan-%d", i), ev.ID, inventory.HoldRequest{AdmissionToken: toks[i], Seats: []string{seat}}, "")
			heldBy[i], holdErr[i] = o.ID, err
		}()
	}
	results := make([]seatmgmt.Result, rows)
	actErr := make([]error, rows)
	for r := range rows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			row := sec.Rows[r].ID
			results[r], actErr[r] = a.Seats.Apply(ctx, ev.ID, seatmgmt.HoldBack, seatmgmt.Selection{Section: "A", FromRow: row, ToRow: row})
		}()
	}
	close(start)
	wg.Wait()

	heldBack := map[string]bool{}
	refused := map[string]string{}
	for r, res := range results {
		if actErr[r] != nil {
			t.Fatalf("hold back of row %s: %v", sec.Rows[r].ID, actErr[r])
		}
		for _, s := range res.Changed {
			heldBack[s] = true
		}
		for _, f := range res.Refused {
			refused[f.Seat] = f.State
		}
		if len(res.Unchanged) != 0 {
			t.Errorf("row %s: unchanged %v in a first hold back", sec.Rows[r].ID, res.Unchanged)
		}
	}
	st := seatStates(t, a, ev)
	fansHolding := 0
	for i, seat := range ids {
		won, backed := holdErr[i] == nil, heldBack[seat]
		switch {
		case won && backed:
			t.Errorf("%s: both fan-%d's hold and the hold back succeeded", seat, i)
		case !won && !backed:
			t.Errorf("%s: neither the hold (%v) nor the hold back took it (refused as %q)", seat, holdErr[i], refused[seat])
		case won:
			fansHolding++
			if h := st[seat]; h.State != catalog.SeatHeld || h.OrderID != heldBy[i] {
				t.Errorf("%s is %+v, want HELD by fan-%d's order %s", seat, h, i, heldBy[i])
			}
			if refused[seat] != catalog.SeatHeld {
				t.Errorf("%s held by a fan but the hold back reported %q", seat, refused[seat])
			}
		default:
			if st[seat].State != catalog.SeatHeldBack || st[seat].OrderID != "" {
				t.Errorf("%s is %+v, want HELD_BACK with no order", seat, st[seat])
			}
			if c := codeOf(holdErr[i]); c != apperr.SeatsUnavailable {
				t.Errorf("fan-%d lost %s with %v, want SEATS_UNAVAILABLE", i, seat, holdErr[i])
			}
		}
	}
	if fansHolding+len(heldBack) != len(ids) || len(refused) != fansHolding {
		t.Fatalf("%d held by fans + %d held back ≠ %d seats, or %d refusals ≠ %d fan holds", fansHolding, len(heldBack), len(ids), len(refused), fansHolding)
	}
	av, err := a.Catalog.Rebuild(ctx, &ev)
	if err != nil {
		t.Fatal(err)
	}
	if p := av[0]; p.Held != fansHolding || p.Available != 0 || p.Sold != 0 {
		t.Fatalf("projection: %d held, %d available, %d sold; want %d held, none available", p.Held, p.Available, p.Sold, fansHolding)
	}
	t.Logf("%d seats: %d held by fans, %d held back", len(ids), fansHolding, len(heldBack))
}

func TestComps(t *testing.T) {
	ctx := context.Background()
	a := fixture.NewApp(t, fixture.AppOptions{})
	ev := fixture.OpenEvent(t, a, fixture.Event{Rows: 1, SeatsPerRow: 6})
	if _, err := a.Seats.Apply(ctx, ev.ID, seatmgmt.HoldBack, seatmgmt.Selection{Seats: []string{"A-1-4"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Seats.Apply(ctx, ev.ID, seatmgmt.Kill, seatmgmt.Selection{Seats: []string{"A-1-6"}}); err != nil {
		t.Fatal(err)
	}
	held := fixture.Hold(t, a, "fan-1", ev.ID, inventory.HoldRequest{Seats: []string{"A-1-1"}})

	t.Run("HeldSoldOrKilledSeatRefusesTheWholeComp", func(t *testing.T) {
		for _, seat := range []string{"A-1-1", "A-1-6"} {
			_, err := a.Seats.Comp(ctx, ev.ID, "org", seatmgmt.CompRequest{Seats: []string{"A-1-2", seat}, To: "guest@example.com"})
			if codeOf(err) != apperr.SeatsUnavailable {
				t.Fatalf("comp with %s: %v, want SEATS_UNAVAILABLE", seat, err)
			}
		}
		st := seatStates(t, a, ev)
		if st["A-1-2"].State != catalog.SeatAvailable || st["A-1-1"].OrderID != held.ID || st["A-1-6"].State != catalog.SeatKilled {
			t.Fatalf("after refused comps: %+v", st)
		}
	})

	t.Run("CompSellsHeldBackSeatsFirstAndIssuesTickets", func(t *testing.T) {
		c, err := a.Seats.Comp(ctx, ev.ID, "org", seatmgmt.CompRequest{Section: "A", Quantity: 2, To: "Guest@Example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.Seats, []string{"A-1-4", "A-1-2"}) {
			t.Fatalf("comp took %v, want the held-back A-1-4 first, then A-1-2", c.Seats)
		}
		o, err := a.Orders.Get(ctx, c.OrderID)
		if err != nil || o.Status != "ISSUED" || !o.Comp || o.AmountCents != 0 || o.Email != "guest@example.com" {
			t.Fatalf("comp order = %+v, %v", o, err)
		}
		ts, err := a.Tickets.ForOrder(ctx, c.OrderID)
		if err != nil || len(ts) != 2 {
			t.Fatalf("comp tickets = %d, %v", len(ts), err)
		}
		st := seatStates(t, a, ev)
		for _, seat := range c.Seats {
			if st[seat].State != catalog.SeatSold || st[seat].OrderID != c.OrderID {
				t.Errorf("%s is %+v, want SOLD to the comp", seat, st[seat])
			}
		}
		rep, err := a.Reconciler.Run(ctx, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range rep.Findings {
			if f.OrderID == c.OrderID {
				t.Errorf("the reconciler found %+v on the comp", f)
			}
		}
		sum, err := a.Seats.Summarize(ctx, ev.ID)
		if err != nil || sum.Sections[0].Comps != 2 {
			t.Fatalf("summary = %+v, %v", sum, err)
		}
	})

	t.Run("RecipientMustBeAnEmailOrAccount", func(t *testing.T) {
		for _, to := range []string{"", "not an account", "a@b@c"} {
			if _, err := a.Seats.Comp(ctx, ev.ID, "org", seatmgmt.CompRequest{Seats: []string{"A-1-3"}, To: to}); codeOf(err) != apperr.Invalid {
				t.Errorf("comp to %q: %v, want INVALID_REQUEST", to, err)
			}
		}
	})
}
