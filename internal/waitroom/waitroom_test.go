package waitroom_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/admission"
	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/draw"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/waitroom"
)

var t0 = time.Date(2027, 3, 1, 19, 0, 0, 0, time.UTC)

// room is the waiting room on the real embedded DynamoDB server, with a
// manual clock and a settable inventory and health.
type room struct {
	*waitroom.Service
	stores  dynamo.Stores
	cat     *catalog.Service
	tokens  *admission.Tokens
	clock   *clock.Manual
	left    atomic.Int64 // places available
	held    atomic.Int64
	healthy atomic.Bool
	ev      catalog.Event
	seq     int
}

func newRoom(t *testing.T, admitPerMinute int) *room {
	t.Helper()
	db, table := testenv.DynamoDB(t)
	r := &room{clock: clock.NewManual(t0)}
	r.healthy.Store(true)
	r.stores = dynamo.NewStores(db, table, r.clock)
	quiet := slog.New(slog.DiscardHandler)
	r.cat = catalog.NewService(r.stores.Catalog, catalog.Options{Clock: r.clock, Logger: quiet})
	kr, err := admission.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	if r.tokens, err = admission.NewTokens(kr, 10*time.Minute, r.clock); err != nil {
		t.Fatal(err)
	}
	r.Service = waitroom.NewService(r.stores.Waitroom, r.cat, r.tokens, waitroom.Options{Clock: r.clock, Logger: quiet,
		Remaining: func(context.Context, string) (int, int, error) { return int(r.left.Load()), int(r.held.Load()), nil },
		Health: func(context.Context, string) (bool, string, error) {
			if r.healthy.Load() {
				return true, "", nil
			}
			return false, "hold p99 2.1s over 1s", nil
		},
	})
	body := fmt.Sprintf(`{"name":"Rush","venue":"Arena","startsAt":"2027-04-01T20:00:00Z","saleOpensAt":%q,
		"queue":{"mode":"on","admitPerMinute":%d},
		"sections":[{"id":"A","name":"Floor","priceCents":5000,"currency":"EUR","rows":[{"id":"1","seats":50}]}]}`,
		t0.Add(time.Hour).Format(time.RFC3339), admitPerMinute)
	ev, err := catalog.ParseCreateEvent([]byte(body), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if r.ev, err = r.cat.Create(context.Background(), ev, "org", "org"); err != nil {
		t.Fatal(err)
	}
	r.left.Store(50)
	return r
}

// join assigns one batch of joins by accounts, as the assigner would get
// them from SQS.
func (r *room) join(t *testing.T, accounts ...string) waitroom.AssignResult {
	t.Helper()
	recs := make([]waitroom.Record, len(accounts))
	for i, a := range accounts {
		r.seq++
		recs[i] = waitroom.Record{ID: fmt.Sprintf("m%d", r.seq),
			Body: waitroom.JoinBody(r.ev.ID, a, r.clock.Now().Add(time.Duration(i)*time.Millisecond))}
	}
	res := r.Assign(context.Background(), recs)
	if len(res.Failed) > 0 {
		t.Fatalf("failed joins: %v", res.Failed)
	}
	return res
}

func (r *room) me(t *testing.T, account string) waitroom.Me {
	t.Helper()
	me, err := r.Me(context.Background(), account, r.ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	return me
}

func (r *room) tick(t *testing.T) waitroom.TickResult {
	t.Helper()
	res, err := r.Tick(context.Background(), r.ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func accounts(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return out
}

func TestDrawOrdersPreSaleJoinsAndLaterJoinsQueueFIFO(t *testing.T) {
	ctx := context.Background()
	r := newRoom(t, 600)
	status, err := r.Status(ctx, r.ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if status.ShuffleSeedHash == "" || status.ShuffleSeed != "" {
		t.Fatalf("before the sale: hash %q published, seed %q must stay secret", status.ShuffleSeedHash, status.ShuffleSeed)
	}
	early := accounts("early", 250)
	counters := 0
	for i := 0; i < len(early); i += 100 {
		res := r.join(t, early[i:min(i+100, len(early))]...)
		counters += res.Counters
	}
	if counters != 0 {
		t.Fatalf("pre-sale joins wrote the counter %d times; positions come from the draw", counters)
	}
	if me := r.me(t, "early-007"); me.State != waitroom.StatePending || me.Position != 0 {
		t.Fatalf("before the draw: %+v, want PENDING without a position", me)
	}
	// Joining again before the sale changes nothing.
	if res := r.join(t, "early-007", "early-008"); res.Placed != 0 || res.Repeats != 2 {
		t.Fatalf("re-join: %+v", res)
	}

	r.clock.Advance(time.Hour + 3*time.Second) // opening + draw grace
	if res := r.tick(t); res.Drew != len(early) {
		t.Fatalf("draw ordered %d fans, want %d", res.Drew, len(early))
	}
	status, _ = r.Status(ctx, r.ev.ID)
	seed, err := hex.DecodeString(status.ShuffleSeed)
	if err != nil || draw.SeedHash(seed) != status.ShuffleSeedHash {
		t.Fatalf("revealed seed %q does not match the published hash %s", status.ShuffleSeed, status.ShuffleSeedHash)
	}
	doc, err := r.DrawDocument(ctx, r.ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := draw.Verify(doc); err != nil {
		t.Fatalf("the published draw does not verify: %v", err)
	}
	ids := make([]string, len(early))
	for i, a := range early {
		ids[i] = draw.EntrantID(r.ev.ID, a)
	}
	want := draw.Order(seed, ids)
	for i, a := range early {
		me := r.me(t, a)
		if me.Position < 1 || me.Position > int64(len(early)) || want[me.Position-1] != ids[i] {
			t.Fatalf("%s: position %d is not its place in the seed's order", a, me.Position)
		}
	}

	// After the draw: first come, first served, one counter write a batch.
	late := accounts("late", 230)
	counters = 0
	batches := 0
	for i := 0; i < len(late); i += 100 {
		r.clock.Advance(time.Second)
		counters += r.join(t, late[i:min(i+100, len(late))]...).Counters
		batches++
	}
	if counters != batches {
		t.Fatalf("%d counter writes for %d batches", counters, batches)
	}
	positions := map[int64]string{}
	for i, a := range append(append([]string{}, early...), late...) {
		me := r.me(t, a)
		if prev, dup := positions[me.Position]; dup {
			t.Fatalf("%s and %s share position %d", prev, a, me.Position)
		}
		positions[me.Position] = a
		if i >= len(early) && me.Position != int64(len(early)+i-len(early)+1) {
			t.Fatalf("%s joined %d-th after opening and got position %d", a, i-len(early)+1, me.Position)
		}
	}
	for p := int64(1); p <= int64(len(positions)); p++ {
		if _, ok := positions[p]; !ok {
			t.Fatalf("positions are not 1..%d: %d missing", len(positions), p)
		}
	}
}

func TestOneAccountJoiningTwentyTimesHoldsOnePlace(t *testing.T) {
	r := newRoom(t, 600)
	r.clock.Advance(time.Hour + 3*time.Second)
	r.tick(t)
	r.join(t, "a", "b")
	for i := 0; i < 20; i++ {
		batch := []string{"fan"}
		if i%2 == 0 {
			batch = append(batch, "fan", fmt.Sprintf("other-%d", i))
		}
		r.join(t, batch...)
	}
	me := r.me(t, "fan")
	if me.Position != 3 {
		t.Fatalf("fan's place is %d, want the 3rd (first join wins, later ones change nothing)", me.Position)
	}
	rep, err := r.Report(context.Background(), r.ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Joined != 2+1+10 {
		t.Fatalf("joined %d, want 13 places for 13 accounts", rep.Joined)
	}
}

func TestInletAdmitsAtTheRateUnderTheInventoryCap(t *testing.T) {
	ctx := context.Background()
	r := newRoom(t, 300) // 10 fans per 2 s tick
	r.clock.Advance(time.Hour + 3*time.Second)
	r.tick(t)
	r.join(t, accounts("fan", 100)...)
	r.left.Store(25)
	var served []int64
	for range 6 {
		r.clock.Advance(2 * time.Second)
		res := r.tick(t)
		if res.Admitted > 10 {
			t.Fatalf("tick admitted %d fans; 300/min allows 10 per 2 s", res.Admitted)
		}
		served = append(served, res.Serving)
	}
	if got := served[len(served)-1]; got != 25 {
		t.Fatalf("serving positions %v: want the rate to reach the cap of 25 places and stop there", served)
	}
	if served[0] != 10 || served[1] != 20 {
		t.Fatalf("serving positions %v: want 10 per tick", served)
	}

	// Position 26 waits with an ETA; position 25 may ask for admission.
	if me := r.me(t, "fan-025"); me.State != waitroom.StateWaiting || me.EtaSeconds <= 0 || me.PollSeconds < 2 {
		t.Fatalf("position 26: %+v", me)
	}
	_, _, _, err := r.Admit(ctx, "fan-025", r.ev.ID)
	if !apperr.Is(err, apperr.QueueRequired) {
		t.Fatalf("admission for an unserved position: %v, want QUEUE_REQUIRED", err)
	}
	tok, c, claimed, err := r.Admit(ctx, "fan-024", r.ev.ID)
	if err != nil || !claimed {
		t.Fatalf("admission for a served position: claimed %v, %v", claimed, err)
	}
	if _, err := r.tokens.Verify(tok, "fan-024", r.ev.ID); err != nil {
		t.Fatalf("admission token does not verify: %v", err)
	}
	// A refresh gets the same admission (same single-use id).
	_, again, claimed, err := r.Admit(ctx, "fan-024", r.ev.ID)
	if err != nil || again.ID != c.ID || claimed || !again.ExpiresAt.Equal(c.ExpiresAt) {
		t.Fatalf("second ask: %v id %s (claimed %v), want the same admission %s", err, again.ID, claimed, c.ID)
	}
	if me := r.me(t, "fan-024"); me.State != waitroom.StateAdmitted {
		t.Fatalf("admitted fan: %+v", me)
	}

	// Places free up: the cap rises and the rate goes on.
	r.left.Store(60)
	r.clock.Advance(2 * time.Second)
	if res := r.tick(t); res.Serving != 35 {
		t.Fatalf("after inventory came back: serving %d, want 35", res.Serving)
	}
}

func TestUnusedAdmissionIsAbandonedAndUsedOneCounted(t *testing.T) {
	ctx := context.Background()
	r := newRoom(t, 600)
	r.clock.Advance(time.Hour + 3*time.Second)
	r.tick(t)
	r.join(t, "keeps", "leaves")
	r.clock.Advance(2 * time.Second)
	r.tick(t)
	_, used, _, err := r.Admit(ctx, "keeps", r.ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := r.Admit(ctx, "leaves", r.ev.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.MarkUsed(ctx, r.ev.ID, "keeps", used.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.MarkUsed(ctx, r.ev.ID, "keeps", used.ID); err != nil { // the hook may run twice
		t.Fatal(err)
	}
	r.clock.Advance(11 * time.Minute)
	if res := r.tick(t); res.Abandoned != 1 {
		t.Fatalf("abandoned %d, want 1", res.Abandoned)
	}
	r.clock.Advance(2 * time.Second)
	if res := r.tick(t); res.Abandoned != 0 {
		t.Fatalf("abandonment counted twice")
	}
	if me := r.me(t, "leaves"); me.State != waitroom.StateExpired {
		t.Fatalf("fan who let the admission expire: %+v", me)
	}
	if _, _, _, err := r.Admit(ctx, "leaves", r.ev.ID); !apperr.Is(err, apperr.QueueRequired) {
		t.Fatalf("expired admission asked again: %v", err)
	}
	if me := r.me(t, "keeps"); me.State != waitroom.StateAdmitted {
		t.Fatalf("fan who used the admission: %+v", me)
	}
	rep, err := r.Report(ctx, r.ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Admitted != 2 || rep.Used != 1 || rep.Abandoned != 1 || rep.Joined != 2 || rep.Served != 2 {
		t.Fatalf("report %+v, want joined 2, served 2, admitted 2, used 1, abandoned 1", rep)
	}
}

func TestInletBacksOffWhenThePurchasePathIsUnhealthy(t *testing.T) {
	r := newRoom(t, 600) // 20 per tick when healthy
	r.left.Store(10_000)
	r.clock.Advance(time.Hour + 3*time.Second)
	r.tick(t)
	r.join(t, accounts("fan", 400)...)
	r.healthy.Store(false)
	var steps []int64
	for range 3 {
		r.clock.Advance(2 * time.Second)
		res := r.tick(t)
		if res.Health == "" {
			t.Fatal("tick does not report the unhealthy reason")
		}
		steps = append(steps, res.Admitted)
	}
	if steps[0] > 10 || steps[2] > 3 || steps[2] > steps[0] {
		t.Fatalf("admissions per tick while unhealthy %v: want at most half the rate, shrinking", steps)
	}
	// Pages estimate their wait from the rate the inlet admits at now.
	if st, err := r.Status(context.Background(), r.ev.ID); err != nil || st.AdmitPerMinute != 600 || st.AdmittingPerMinute > 300 {
		t.Fatalf("queue-status while unhealthy: %+v, %v; want the organizer's 600 a minute and at most half of it admitting", st, err)
	}
	r.healthy.Store(true)
	var after int64
	for range 12 {
		r.clock.Advance(2 * time.Second)
		after = r.tick(t).Admitted
	}
	if after != 20 {
		t.Fatalf("after recovery a tick admits %d, want the full 20", after)
	}
	if st, err := r.Status(context.Background(), r.ev.ID); err != nil || st.AdmittingPerMinute != 600 {
		t.Fatalf("queue-status after recovery: %+v, %v; want 600 a minute admitting", st, err)
	}
}

func TestSoldOutReachesWaitingFans(t *testing.T) {
	ctx := context.Background()
	r := newRoom(t, 60)
	r.clock.Advance(time.Hour + 3*time.Second)
	r.tick(t)
	r.join(t, accounts("fan", 5)...)
	r.left.Store(0)
	r.held.Store(2)
	r.clock.Advance(2 * time.Second)
	if res := r.tick(t); res.SoldOut {
		t.Fatal("sold out while holds may still come back")
	}
	r.held.Store(0)
	r.clock.Advance(2 * time.Second)
	if res := r.tick(t); !res.SoldOut {
		t.Fatal("nothing left, but not sold out")
	}
	st, _ := r.Status(ctx, r.ev.ID)
	if !st.SoldOut {
		t.Fatal("queue-status does not say sold out")
	}
	if me := r.me(t, "fan-004"); me.State != waitroom.StateSoldOut {
		t.Fatalf("waiting fan sees %s, want SOLD_OUT", me.State)
	}
	if _, _, _, err := r.Admit(ctx, "fan-004", r.ev.ID); !apperr.Is(err, apperr.SoldOut) {
		t.Fatalf("admission after sell-out: %v", err)
	}
}

func TestSaleControlPausesAndRetunesTheInlet(t *testing.T) {
	ctx := context.Background()
	r := newRoom(t, 600)
	r.left.Store(10_000)
	// Opening early draws at once.
	if _, err := r.cat.ControlSale(ctx, r.ev.ID, catalog.SaleRequest{Action: catalog.ActionOpen}, "org"); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(3 * time.Second)
	r.tick(t)
	r.join(t, accounts("fan", 200)...)
	if _, err := r.cat.ControlSale(ctx, r.ev.ID, catalog.SaleRequest{Action: catalog.ActionPause}, "org"); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(2 * time.Second)
	if res := r.tick(t); res.Admitted != 0 {
		t.Fatalf("paused sale admitted %d", res.Admitted)
	}
	rate := 120
	if _, err := r.cat.ControlSale(ctx, r.ev.ID, catalog.SaleRequest{Action: catalog.ActionOpen, AdmitPerMinute: &rate}, "org"); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(2 * time.Second)
	if res := r.tick(t); res.Admitted != 4 {
		t.Fatalf("retuned to 120/min a 2 s tick admitted %d, want 4", res.Admitted)
	}
	if _, err := r.cat.ControlSale(ctx, r.ev.ID, catalog.SaleRequest{Action: "reopen"}, "org"); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("unknown action: %v", err)
	}
}

func TestFansReadTheServingPositionAtMostOneSecondStale(t *testing.T) {
	ctx := context.Background()
	r := newRoom(t, 600)
	r.left.Store(10_000)
	r.clock.Advance(time.Hour + 3*time.Second)
	r.tick(t)
	r.join(t, accounts("fan", 100)...)
	before, err := r.Status(ctx, r.ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(500 * time.Millisecond)
	if res := r.tick(t); res.Serving <= before.ServingPosition {
		t.Fatalf("tick did not serve anyone: %+v", res)
	}
	cached, _ := r.Status(ctx, r.ev.ID)
	if cached.ServingPosition != before.ServingPosition {
		t.Fatalf("within a second fans read %d, want the cached %d (one read per instance per second)", cached.ServingPosition, before.ServingPosition)
	}
	r.clock.Advance(600 * time.Millisecond)
	fresh, _ := r.Status(ctx, r.ev.ID)
	if fresh.ServingPosition <= before.ServingPosition {
		t.Fatalf("after a second fans still read %d", fresh.ServingPosition)
	}
}

func TestAdmissionCountsReachTheTableWithinTheFlushInterval(t *testing.T) {
	// GIVEN three served fans
	ctx := context.Background()
	r := newRoom(t, 600)
	r.clock.Advance(time.Hour + 3*time.Second)
	r.tick(t)
	r.join(t, "a", "b", "c")
	r.clock.Advance(2 * time.Second)
	r.tick(t)
	stored := func() int64 {
		t.Helper()
		s, err := r.stores.Waitroom.Stats(ctx, r.ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		return s.Admitted
	}
	admit := func(account string) {
		t.Helper()
		if _, _, claimed, err := r.Admit(ctx, account, r.ev.ID); err != nil || !claimed {
			t.Fatalf("admit %s: claimed %v, %v", account, claimed, err)
		}
	}
	// WHEN one is admitted THEN the instance keeps the count for now
	admit("a")
	if n := stored(); n != 0 {
		t.Fatalf("stored admitted %d right away, want 0 (kept in the instance)", n)
	}
	// WHEN the next is admitted once the interval has passed THEN both are added
	r.clock.Advance(waitroom.DefaultStatsFlushEvery)
	admit("b")
	if n := stored(); n != 2 {
		t.Fatalf("stored admitted %d after the interval, want 2", n)
	}
	// AND the report adds what the instance still holds before reading
	admit("c")
	rep, err := r.Report(ctx, r.ev.ID)
	if err != nil || rep.Admitted != 3 || stored() != 3 {
		t.Fatalf("report %+v (%v), stored %d; want 3 admitted", rep, err, stored())
	}
}

// askedStore records the accounts whose places the assigner reads.
type askedStore struct {
	waitroom.Store
	asked [][]string
}

func (s *askedStore) Places(ctx context.Context, eventID string, accounts []string) (map[string]waitroom.Place, error) {
	s.asked = append(s.asked, slices.Sorted(slices.Values(accounts)))
	return s.Store.Places(ctx, eventID, accounts)
}

func TestRepeatJoinsOfFansPlacedHereReadNoPlace(t *testing.T) {
	// GIVEN an assigner instance that placed a and b
	ctx := context.Background()
	r := newRoom(t, 600)
	st := &askedStore{Store: r.stores.Waitroom}
	svc := waitroom.NewService(st, r.cat, r.tokens, waitroom.Options{Clock: r.clock, Logger: slog.New(slog.DiscardHandler)})
	batch := func(accounts ...string) waitroom.AssignResult {
		t.Helper()
		var recs []waitroom.Record
		for i, a := range accounts {
			recs = append(recs, waitroom.Record{ID: fmt.Sprintf("%s-%d", a, len(st.asked)), Body: waitroom.JoinBody(r.ev.ID, a, r.clock.Now().Add(time.Duration(i)*time.Millisecond))})
		}
		res := svc.Assign(ctx, recs)
		if len(res.Failed) > 0 {
			t.Fatalf("failed: %v", res.Failed)
		}
		return res
	}
	if res := batch("a", "b"); res.Placed != 2 {
		t.Fatalf("first batch: %+v", res)
	}
	// WHEN they join again with a new fan, and then alone
	second := batch("a", "b", "c")
	third := batch("b", "a")
	// THEN only the new fan's place is read, and the last batch reads nothing
	if second.Placed != 1 || second.Repeats != 2 || third.Placed != 0 || third.Repeats != 2 {
		t.Fatalf("second %+v, third %+v", second, third)
	}
	if want := [][]string{{"a", "b"}, {"c"}}; !slices.EqualFunc(st.asked, want, slices.Equal) {
		t.Fatalf("places read %v, want %v", st.asked, want)
	}
	// AND each fan has one place
	got, err := r.stores.Waitroom.Places(ctx, r.ev.ID, []string{"a", "b", "c"})
	if err != nil || len(got) != 3 {
		t.Fatalf("places %v, %v", got, err)
	}
}
