package storetest

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/waitroom"
)

func place(account string, lottery bool) waitroom.Place {
	return waitroom.Place{EventID: "e1", Account: account, Entrant: "ent-" + account, JoinedAt: Now, Lottery: lottery}
}

func accounts(ps []waitroom.Place) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Account
	}
	slices.Sort(out)
	return out
}

// RunWaitroomStore is the waitroom.Store suite.
func RunWaitroomStore(t *testing.T, newStores func(t *testing.T) Stores) {
	ctx := context.Background()
	t.Run("StateCreatedOnceSavedAtVersion", func(t *testing.T) {
		st := newStores(t)
		if _, ok, err := st.Waitroom.GetState(ctx, "e1"); ok || err != nil {
			t.Fatalf("GetState before create = %v, %v", ok, err)
		}
		if created, err := st.Waitroom.CreateState(ctx, waitroom.State{EventID: "e1", Version: 1, Serving: 5}); !created || err != nil {
			t.Fatalf("CreateState = %v, %v", created, err)
		}
		if created, err := st.Waitroom.CreateState(ctx, waitroom.State{EventID: "e1", Version: 1, Serving: 9}); created || err != nil {
			t.Fatalf("a second CreateState = %v, %v; want not created", created, err)
		}
		q, ok, err := st.Waitroom.GetState(ctx, "e1")
		if err != nil || !ok || q.Serving != 5 || q.Version != 1 {
			t.Fatalf("GetState = %+v, %v, %v", q, ok, err)
		}
		// The caller saves the next version of what it read.
		q.Serving, q.Version = 7, q.Version+1
		if err := st.Waitroom.SaveState(ctx, q); err != nil {
			t.Fatal(err)
		}
		if err := st.Waitroom.SaveState(ctx, q); !isConflict(err) {
			t.Fatalf("a save from a stale read = %v, want a conflict", err)
		}
		if got, _, _ := st.Waitroom.GetState(ctx, "e1"); got.Serving != 7 || got.Version != 2 {
			t.Fatalf("after SaveState: %+v", got)
		}
	})
	t.Run("OnePlacePerAccount", func(t *testing.T) {
		st := newStores(t)
		if created, err := st.Waitroom.PutNewPlace(ctx, place("fan-1", true)); !created || err != nil {
			t.Fatalf("PutNewPlace = %v, %v", created, err)
		}
		again := place("fan-1", false)
		again.Entrant = "other"
		if created, err := st.Waitroom.PutNewPlace(ctx, again); created || err != nil {
			t.Fatalf("a re-join = %v, %v; want not created", created, err)
		}
		p, ok, err := st.Waitroom.Place(ctx, "e1", "fan-1")
		if err != nil || !ok || p.Entrant != "ent-fan-1" || !p.Lottery {
			t.Fatalf("Place = %+v, %v, %v", p, ok, err)
		}
		if _, ok, _ := st.Waitroom.Place(ctx, "e1", "nobody"); ok {
			t.Fatal("an unknown account has a place")
		}
	})
	t.Run("NewPlacesInBatchesKeepThePlacesThatExist", func(t *testing.T) {
		// GIVEN fan-50 has a place at position 7
		st := newStores(t)
		had := place("fan-50", false)
		had.Position = 7
		if created, err := st.Waitroom.PutNewPlace(ctx, had); !created || err != nil {
			t.Fatalf("PutNewPlace = %v, %v", created, err)
		}
		// WHEN 130 places are written in one call (two transactions), one
		// of them for fan-50 at another position
		var ps []waitroom.Place
		for i := range 130 {
			p := place("fan-"+strconv.Itoa(i), false)
			p.Position = int64(100 + i)
			ps = append(ps, p)
		}
		created, errs := st.Waitroom.PutNewPlaces(ctx, ps)
		// THEN every other place is written and fan-50 keeps its own
		for i, p := range ps {
			if errs[i] != nil || created[i] != (p.Account != "fan-50") {
				t.Fatalf("%s: created %v, err %v", p.Account, created[i], errs[i])
			}
		}
		got, err := st.Waitroom.Places(ctx, "e1", accounts(ps))
		if err != nil || len(got) != 130 {
			t.Fatalf("Places = %d, %v", len(got), err)
		}
		for _, p := range ps {
			want := p.Position
			if p.Account == "fan-50" {
				want = 7
			}
			if got[p.Account].Position != want {
				t.Fatalf("%s at %d, want %d", p.Account, got[p.Account].Position, want)
			}
		}
		// AND a second call creates nothing
		created, errs = st.Waitroom.PutNewPlaces(ctx, ps[:3])
		for i := range created {
			if created[i] || errs[i] != nil {
				t.Fatalf("again: created %v, err %v", created[i], errs[i])
			}
		}
	})
	t.Run("PendingAndDrawQueries", func(t *testing.T) {
		st := newStores(t)
		ps := []waitroom.Place{place("early-1", true), place("early-2", true), place("late-1", false)}
		if err := st.Waitroom.WritePlaces(ctx, ps); err != nil {
			t.Fatal(err)
		}
		if got, err := st.Waitroom.DrawEntrants(ctx, "e1"); err != nil || !slices.Equal(accounts(got), []string{"early-1", "early-2"}) {
			t.Fatalf("DrawEntrants = %v, %v", accounts(got), err)
		}
		if got, err := st.Waitroom.PendingPlaces(ctx, "e1", false); err != nil || !slices.Equal(accounts(got), []string{"late-1"}) {
			t.Fatalf("PendingPlaces(late) = %v, %v", accounts(got), err)
		}
		late := ps[2]
		late.Position = 1
		if err := st.Waitroom.WritePlaces(ctx, []waitroom.Place{late}); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.Waitroom.PendingPlaces(ctx, "e1", false); len(got) != 0 {
			t.Fatalf("a placed join is still pending: %v", accounts(got))
		}
		got, err := st.Waitroom.Places(ctx, "e1", []string{"early-1", "late-1", "nobody"})
		if err != nil || len(got) != 2 || got["late-1"].Position != 1 {
			t.Fatalf("Places = %+v, %v", got, err)
		}
	})
	t.Run("PositionCounter", func(t *testing.T) {
		st := newStores(t)
		if n, err := st.Waitroom.Positions(ctx, "e1"); n != 0 || err != nil {
			t.Fatalf("Positions before any = %d, %v", n, err)
		}
		if n, err := st.Waitroom.AddPositions(ctx, "e1", 3); n != 3 || err != nil {
			t.Fatalf("AddPositions(3) = %d, %v", n, err)
		}
		if n, _ := st.Waitroom.AddPositions(ctx, "e1", 2); n != 5 {
			t.Fatalf("AddPositions(2) = %d, want 5", n)
		}
		if err := st.Waitroom.SetPositions(ctx, "e1", 100); err != nil {
			t.Fatal(err)
		}
		if n, _ := st.Waitroom.Positions(ctx, "e1"); n != 100 {
			t.Fatalf("Positions after SetPositions(100) = %d", n)
		}
		// A draw repeated after positions were taken past it leaves them.
		if _, err := st.Waitroom.AddPositions(ctx, "e1", 4); err != nil {
			t.Fatal(err)
		}
		if err := st.Waitroom.SetPositions(ctx, "e1", 100); err != nil {
			t.Fatalf("a repeated draw's SetPositions(100) = %v", err)
		}
		if n, _ := st.Waitroom.Positions(ctx, "e1"); n != 104 {
			t.Fatalf("Positions after a repeated draw = %d, want 104: positions given twice", n)
		}
	})
	t.Run("AdmissionUsedOrAbandonedOnce", func(t *testing.T) {
		st := newStores(t)
		for _, a := range []string{"fan-1", "fan-2"} {
			p := place(a, false)
			p.Position = 1
			if err := st.Waitroom.WritePlaces(ctx, []waitroom.Place{p}); err != nil {
				t.Fatal(err)
			}
			if got, found, claimed, err := st.Waitroom.ClaimServed(ctx, "e1", a, 1, "tok-"+a, Now.Add(time.Minute), Now); !found || !claimed || err != nil || got.TokenID != "tok-"+a {
				t.Fatalf("ClaimServed %s = %+v, %v, %v, %v", a, got, found, claimed, err)
			}
		}
		if ok, err := st.Waitroom.MarkUsed(ctx, "e1", "fan-1", "tok-fan-1", Now); !ok || err != nil {
			t.Fatalf("MarkUsed = %v, %v", ok, err)
		}
		if ok, _ := st.Waitroom.MarkUsed(ctx, "e1", "fan-1", "tok-fan-1", Now); ok {
			t.Fatal("a token was used twice")
		}
		if ok, _ := st.Waitroom.MarkUsed(ctx, "e1", "fan-2", "forged", Now); ok {
			t.Fatal("another token marked fan-2's admission used")
		}
		expired, err := st.Waitroom.ExpiredAdmissions(ctx, "e1", Now.Add(2*time.Minute), 10)
		if err != nil || !slices.Equal(accounts(expired), []string{"fan-2"}) {
			t.Fatalf("ExpiredAdmissions = %v, %v", accounts(expired), err)
		}
		if ok, err := st.Waitroom.MarkAbandoned(ctx, expired[0]); !ok || err != nil {
			t.Fatalf("MarkAbandoned = %v, %v", ok, err)
		}
		if ok, _ := st.Waitroom.MarkAbandoned(ctx, expired[0]); ok {
			t.Fatal("an admission was abandoned twice")
		}
		if again, _ := st.Waitroom.ExpiredAdmissions(ctx, "e1", Now.Add(2*time.Minute), 10); len(again) != 0 {
			t.Fatalf("abandoned admissions still listed: %v", accounts(again))
		}
	})
	t.Run("AdmissionClaimedOnceWhenServed", func(t *testing.T) {
		// GIVEN 40 places at positions 1..40, none admitted
		st := newStores(t)
		var ps []waitroom.Place
		for i := range 40 {
			p := place("fan-"+strconv.Itoa(i), false)
			p.Position = int64(i + 1)
			ps = append(ps, p)
		}
		if err := st.Waitroom.WritePlaces(ctx, ps); err != nil {
			t.Fatal(err)
		}
		exp := Now.Add(time.Minute)
		// WHEN each asks with positions up to 30 served
		for i, p := range ps {
			got, found, claimed, err := st.Waitroom.ClaimServed(ctx, "e1", p.Account, 30, "tok-"+p.Account, exp, Now)
			// THEN the served ones are claimed, the others answered their place untouched
			served := i < 30
			if err != nil || !found || claimed != served || got.Position != p.Position || (got.TokenID != "") != served {
				t.Fatalf("%s: %+v, %v, %v, %v", p.Account, got, found, claimed, err)
			}
		}
		// AND asking again (a second tab) claims nothing and answers the first admission
		got, found, claimed, err := st.Waitroom.ClaimServed(ctx, "e1", "fan-3", 30, "other", exp.Add(time.Minute), Now)
		if err != nil || !found || claimed || got.TokenID != "tok-fan-3" || !got.TokenExpiresAt.Equal(exp) {
			t.Fatalf("again: %+v, %v, %v, %v", got, found, claimed, err)
		}
		// AND an account without a place is told so
		if _, found, claimed, err := st.Waitroom.ClaimServed(ctx, "e1", "nobody", 30, "x", exp, Now); found || claimed || err != nil {
			t.Fatalf("no place: %v, %v, %v", found, claimed, err)
		}
		// AND exactly the 30 admissions expire, once each, unclaimed places never
		expired, err := st.Waitroom.ExpiredAdmissions(ctx, "e1", exp.Add(time.Second), 0)
		if err != nil || len(expired) != 30 {
			t.Fatalf("ExpiredAdmissions = %d, %v", len(expired), err)
		}
		seen := map[string]bool{}
		for _, p := range expired {
			if seen[p.Account] || p.TokenID != "tok-"+p.Account {
				t.Fatalf("expired %+v listed twice or with another token", p)
			}
			seen[p.Account] = true
		}
		if early, _ := st.Waitroom.ExpiredAdmissions(ctx, "e1", exp.Add(-time.Second), 0); len(early) != 0 {
			t.Fatalf("%d admissions expired before their time", len(early))
		}
		// AND once one of them is used meanwhile, flagging the 30 together
		// flags the 29 others only, and none is listed again
		if ok, err := st.Waitroom.MarkUsed(ctx, "e1", expired[7].Account, expired[7].TokenID, Now); !ok || err != nil {
			t.Fatalf("MarkUsed = %v, %v", ok, err)
		}
		marked, err := st.Waitroom.MarkAbandonedAll(ctx, expired)
		if err != nil {
			t.Fatal(err)
		}
		for i, ok := range marked {
			if ok != (i != 7) {
				t.Fatalf("%s flagged %v", expired[i].Account, ok)
			}
		}
		if again, _ := st.Waitroom.ExpiredAdmissions(ctx, "e1", exp.Add(time.Second), 0); len(again) != 0 {
			t.Fatalf("%d flagged admissions listed again", len(again))
		}
	})
	t.Run("StatsSum", func(t *testing.T) {
		st := newStores(t)
		for range 10 {
			if err := st.Waitroom.AddStats(ctx, "e1", waitroom.Stats{Admitted: 2, Used: 1}); err != nil {
				t.Fatal(err)
			}
		}
		if s, err := st.Waitroom.Stats(ctx, "e1"); err != nil || s.Admitted != 20 || s.Used != 10 || s.Abandoned != 0 {
			t.Fatalf("Stats = %+v, %v", s, err)
		}
	})
}
