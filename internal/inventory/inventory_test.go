package inventory_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/admission"
	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/testenv/fixture"
)

// world is the application on a real DynamoDB-compatible server.
type world struct {
	*app.App
	keyring admission.Keyring
}

func newWorld(t testing.TB) *world { return newWorldWithClock(t, nil) }

func newWorldWithClock(t testing.TB, clk clock.Clock) *world {
	t.Helper()
	return newWorldWith(t, fixture.AppOptions{Clock: clk})
}

// newWorldWith is an application built with o and a keyring of its own.
func newWorldWith(t testing.TB, o fixture.AppOptions) *world {
	t.Helper()
	kr, err := admission.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	o.Keyring = &kr
	return &world{App: fixture.NewApp(t, o), keyring: kr}
}

// event creates an open event: reserved section A (rows of 10) and GA.
func (w *world) event(t testing.TB, rows, gaCapacity, maxTickets int) catalog.Event {
	t.Helper()
	return fixture.OpenEvent(t, w.App, fixture.Event{Rows: rows, GACapacity: gaCapacity, MaxTicketsPerAccount: maxTickets, GAPriceCents: 3000})
}

func (w *world) token(t testing.TB, account, eventID string) string {
	t.Helper()
	return fixture.Admit(t, w.App, account, eventID)
}

type outcome struct {
	account string
	order   orders.Order
	err     error
}

// rush runs n fans concurrently, each asking req(i) with its own token.
func (w *world) rush(t *testing.T, ev catalog.Event, n int, req func(i int) inventory.HoldRequest) []outcome {
	t.Helper()
	toks := make([]string, n)
	for i := range toks {
		toks[i] = w.token(t, fmt.Sprintf("fan-%d", i), ev.ID)
	}
	out := make([]outcome, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := req(i)
			r.AdmissionToken = toks[i]
			<-start
			acct := fmt.Sprintf("fan-%d", i)
			o, err := w.Inventory.Hold(context.Background(), acct, ev.ID, r, "")
			out[i] = outcome{acct, o, err}
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// seats reads every seat item of section A.
func (w *world) seats(t testing.TB, ev catalog.Event) map[string]inventory.SeatState {
	t.Helper()
	sec, _ := ev.Section("A")
	st, err := w.Stores.Inventory.SeatHolders(context.Background(), ev.ID, sec.SeatIDs())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (w *world) gaCounts(t testing.TB, ev catalog.Event) (available, held int) {
	t.Helper()
	sec, _ := ev.Section("GA")
	a, h, _, err := w.Stores.Catalog.GACounts(context.Background(), ev.ID, "GA", len(catalog.GAShardCapacities(sec.Capacity)))
	if err != nil {
		t.Fatal(err)
	}
	return a, h
}

func (w *world) limitCount(t testing.TB, eventID, account string) int {
	t.Helper()
	out, err := w.DB.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(w.Config.TableName), ConsistentRead: aws.Bool(true),
		Key: dynamo.LimitKey(eventID, account),
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := out.Item["count"].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.Atoi(v.Value)
		return n
	}
	return 0
}

// checkNoOversell asserts I1 on real counts: every seat held by at most one
// order, the held seats are exactly the winners' seats, and every loser
// was told 409.
func checkNoOversell(t *testing.T, w *world, ev catalog.Event, res []outcome) (winners int) {
	t.Helper()
	owner := map[string]string{}
	for _, r := range res {
		if r.err != nil {
			if apperr.Status(apperr.CodeOf(r.err)) != 409 {
				t.Errorf("%s: loser got %v, want a 409", r.account, r.err)
			}
			continue
		}
		winners++
		for _, s := range r.order.Seats {
			if prev, dup := owner[s]; dup {
				t.Errorf("seat %s in orders %s and %s", s, prev, r.order.ID)
			}
			owner[s] = r.order.ID
		}
	}
	held := 0
	for id, st := range w.seats(t, ev) {
		switch {
		case st.State == catalog.SeatHeld:
			held++
			if owner[id] != st.OrderID {
				t.Errorf("seat %s held by %q but won by %q", id, st.OrderID, owner[id])
			}
		case owner[id] != "":
			t.Errorf("seat %s won by %s but is %s", id, owner[id], st.State)
		}
	}
	if held != len(owner) {
		t.Errorf("%d seats held, winners hold %d", held, len(owner))
	}
	return winners
}

func TestFiveHundredFansOnFiftySeats(t *testing.T) {
	w := newWorld(t)
	ev := w.event(t, 5, 10, 4) // 50 reserved seats
	sec, _ := ev.Section("A")
	ids := sec.SeatIDs()

	t.Run("OneSeatEach", func(t *testing.T) {
		res := w.rush(t, ev, 500, func(i int) inventory.HoldRequest {
			return inventory.HoldRequest{Seats: []string{ids[(i*7)%len(ids)]}} // ten fans per seat
		})
		if got := checkNoOversell(t, w, ev, res); got != 50 {
			t.Fatalf("%d holds succeeded, want exactly 50", got)
		}
		for _, r := range res {
			if r.err != nil && !apperr.Is(r.err, apperr.SeatsUnavailable) {
				t.Fatalf("loser error %v, want SEATS_UNAVAILABLE", r.err)
			}
			if r.err != nil {
				var e *apperr.Error
				if ok := asAppErr(r.err, &e); !ok || len(e.Details["seats"].([]string)) == 0 {
					t.Fatalf("SEATS_UNAVAILABLE without the seats lost: %v", r.err)
				}
			}
		}
	})
}

func TestOverlappingMultiSeatHolds(t *testing.T) {
	w := newWorld(t)
	ev := w.event(t, 5, 10, 4)
	sec, _ := ev.Section("A")
	ids := sec.SeatIDs()
	rng := rand.New(rand.NewPCG(1, 2))
	reqs := make([]inventory.HoldRequest, 500)
	for i := range reqs {
		n := 2 + rng.IntN(3)
		start := rng.IntN(len(ids) - n)
		reqs[i] = inventory.HoldRequest{Seats: append([]string(nil), ids[start:start+n]...)}
	}
	res := w.rush(t, ev, 500, func(i int) inventory.HoldRequest { return reqs[i] })
	if got := checkNoOversell(t, w, ev, res); got == 0 {
		t.Fatal("no hold succeeded")
	}
}

func TestGeneralAdmissionNeverGoesBelowZero(t *testing.T) {
	if testing.Short() {
		t.Skip("two rushes of 2,000 fans (about 20 s); the reserved-seat rushes keep I1 in -short")
	}
	t.Run("SinglePlaces", func(t *testing.T) {
		w := newWorld(t)
		ev := w.event(t, 1, 300, 4)
		res := w.rush(t, ev, 2000, func(int) inventory.HoldRequest { return inventory.HoldRequest{Section: "GA", Quantity: 1} })
		won := 0
		for _, r := range res {
			if r.err == nil {
				won += r.order.Quantity
			} else if apperr.Status(apperr.CodeOf(r.err)) != 409 {
				t.Fatalf("loser got %v", r.err)
			}
		}
		avail, held := w.gaCounts(t, ev)
		if won != 300 || held != 300 || avail != 0 {
			t.Fatalf("won %d, shards held %d available %d; want exactly 300 held", won, held, avail)
		}
	})
	t.Run("OneToFourPlaces", func(t *testing.T) {
		w := newWorld(t)
		ev := w.event(t, 1, 300, 4)
		res := w.rush(t, ev, 2000, func(i int) inventory.HoldRequest {
			return inventory.HoldRequest{Section: "GA", Quantity: 1 + i%4}
		})
		won := 0
		for _, r := range res {
			if r.err == nil {
				won += r.order.Quantity
			}
		}
		avail, held := w.gaCounts(t, ev)
		if held > 300 || held != won || avail != 300-held {
			t.Fatalf("won %d, shards held %d available %d", won, held, avail)
		}
	})
}

func TestOneAccountCannotExceedItsLimit(t *testing.T) {
	w := newWorld(t)
	ev := w.event(t, 10, 300, 4)
	// Tokens straight from the signer: the gate would rate-limit one
	// account asking 50 times a minute, and this test is about the hold.
	toks := make([]string, 50)
	for i := range toks {
		tok, _, err := w.Tokens.Issue("greedy", ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		toks[i] = tok
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	places := 0
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := inventory.HoldRequest{AdmissionToken: toks[i], Section: "GA", Quantity: 1 + i%2}
			if i%3 == 0 {
				req = inventory.HoldRequest{AdmissionToken: toks[i], Seats: []string{catalog.SeatID("A", strconv.Itoa(1+i/10), 1+i%10)}}
			}
			o, err := w.Inventory.Hold(context.Background(), "greedy", ev.ID, req, "")
			if err == nil {
				mu.Lock()
				places += o.Places()
				mu.Unlock()
			} else if !apperr.Is(err, apperr.LimitExceeded) && !apperr.Is(err, apperr.RateLimited) {
				// The hold rate limit turns away what exceeds 30 a
				// minute before the transaction; the rest race for the
				// ticket limit.
				t.Errorf("unexpected error %v", err)
			}
		}()
	}
	wg.Wait()
	if places > 4 || places < 3 {
		t.Fatalf("account holds %d places, limit 4", places)
	}
	if got := w.limitCount(t, ev.ID, "greedy"); got != places {
		t.Fatalf("limit item counts %d, orders hold %d", got, places)
	}
	os, _ := w.Inventory.Orders(context.Background(), "greedy")
	sum := 0
	for _, o := range os {
		sum += o.Places()
	}
	if sum != places {
		t.Fatalf("stored orders hold %d places, successes reported %d", sum, places)
	}
}

func TestAdmissionTokensAreRefused(t *testing.T) {
	w := newWorld(t)
	ev := w.event(t, 2, 10, 4)
	other := w.event(t, 2, 10, 4)
	ctx := context.Background()
	hold := func(account, tok string) error {
		_, err := w.Inventory.Hold(ctx, account, ev.ID, inventory.HoldRequest{AdmissionToken: tok, Section: "GA", Quantity: 1}, "")
		return err
	}
	used := w.token(t, "fan-1", ev.ID)
	if err := hold("fan-1", used); err != nil {
		t.Fatal(err)
	}
	tampered := []byte(w.token(t, "fan-1", ev.ID))
	tampered[len(tampered)-3] ^= 1
	cases := map[string]struct{ account, token string }{
		"Reused":       {"fan-1", used},
		"Tampered":     {"fan-1", string(tampered)},
		"OtherAccount": {"fan-2", w.token(t, "fan-1", ev.ID)},
		"OtherEvent":   {"fan-1", w.token(t, "fan-1", other.ID)},
		"Garbage":      {"fan-1", "eyJhbGciOiJub25lIn0.e30."},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if err := hold(tc.account, tc.token); !apperr.Is(err, apperr.AdmissionInvalid) {
				t.Fatalf("err = %v, want ADMISSION_INVALID", err)
			}
		})
	}
	t.Run("Expired", func(t *testing.T) {
		// Same keys, issued an hour ago with a one-minute lifetime.
		past, err := admission.NewTokens(w.keyring, time.Minute, clock.NewManual(time.Now().Add(-time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := past.Issue("fan-3", ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := hold("fan-3", tok); !apperr.Is(err, apperr.AdmissionInvalid) {
			t.Fatalf("err = %v, want ADMISSION_INVALID", err)
		}
	})
	if avail, held := w.gaCounts(t, ev); held != 1 || avail != 9 {
		t.Fatalf("refused holds changed GA counts: held %d available %d", held, avail)
	}
}

func TestIdempotentRetriesMakeOneOrder(t *testing.T) {
	clk := clock.NewManual(time.Now())
	w := newWorldWithClock(t, clk)
	ev := w.event(t, 2, 10, 4)
	req := inventory.HoldRequest{AdmissionToken: w.token(t, "fan-1", ev.ID), Seats: []string{"A-1-1", "A-1-2"}}
	var wg sync.WaitGroup
	ids := make([]string, 100)
	errs := make([]error, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := w.Inventory.Hold(context.Background(), "fan-1", ev.ID, req, "key-123")
			ids[i], errs[i] = o.ID, err
		}()
	}
	wg.Wait()
	// Retries that raced the first hold before its record existed count
	// against the hold rate limit; the others get the order. None makes
	// another.
	first := ""
	for i := range ids {
		if errs[i] == nil && first == "" {
			first = ids[i]
		}
	}
	for i := range ids {
		if apperr.Is(errs[i], apperr.RateLimited) {
			continue
		}
		if errs[i] != nil || ids[i] != first {
			t.Fatalf("retry %d: order %q err %v; first was %q", i, ids[i], errs[i], first)
		}
	}
	if o, err := w.Inventory.Hold(context.Background(), "fan-1", ev.ID, req, "key-123"); err != nil || o.ID != first {
		t.Fatalf("a retry after the rush: order %q err %v, want %q (replays are not limited)", o.ID, err, first)
	}
	os, _ := w.Inventory.Orders(context.Background(), "fan-1")
	if len(os) != 1 || w.limitCount(t, ev.ID, "fan-1") != 2 {
		t.Fatalf("%d orders, limit %d", len(os), w.limitCount(t, ev.ID, "fan-1"))
	}
	t.Run("SameKeyOtherBody", func(t *testing.T) {
		other := req
		other.Seats = []string{"A-2-1"}
		if _, err := w.Inventory.Hold(context.Background(), "fan-1", ev.ID, other, "key-123"); !apperr.Is(err, apperr.IdempotencyReused) {
			t.Fatalf("err = %v, want IDEMPOTENCY_KEY_REUSED", err)
		}
	})
	t.Run("RetryWithoutKeyFailsOnTheToken", func(t *testing.T) {
		clk.Advance(limits.RateWindow) // past the rate window the rush used up
		if _, err := w.Inventory.Hold(context.Background(), "fan-1", ev.ID, req, ""); !apperr.Is(err, apperr.AdmissionInvalid) {
			t.Fatalf("err = %v, want ADMISSION_INVALID", err)
		}
	})
}

func TestReleaseReturnsEverythingOnce(t *testing.T) {
	w := newWorld(t)
	ev := w.event(t, 2, 10, 4)
	ctx := context.Background()
	seatOrder, err := w.Inventory.Hold(ctx, "fan-1", ev.ID, inventory.HoldRequest{AdmissionToken: w.token(t, "fan-1", ev.ID), Seats: []string{"A-1-1", "A-1-2"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	gaOrder, err := w.Inventory.Hold(ctx, "fan-1", ev.ID, inventory.HoldRequest{AdmissionToken: w.token(t, "fan-1", ev.ID), Section: "GA", Quantity: 2}, "")
	if err != nil {
		t.Fatal(err)
	}
	if w.limitCount(t, ev.ID, "fan-1") != 4 {
		t.Fatal("limit not counted")
	}
	t.Run("OnlyTheOwnerCancels", func(t *testing.T) {
		if _, err := w.Inventory.Cancel(ctx, "fan-2", seatOrder.ID); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	var wg sync.WaitGroup
	for range 10 { // concurrent double releases
		wg.Add(2)
		go func() { defer wg.Done(); _, _ = w.Inventory.Cancel(ctx, "fan-1", seatOrder.ID) }()
		go func() { defer wg.Done(); _, _ = w.Inventory.Release(ctx, gaOrder.ID, orders.Expired) }()
	}
	wg.Wait()
	o1, _ := w.Inventory.Order(ctx, "fan-1", seatOrder.ID)
	o2, _ := w.Inventory.Order(ctx, "fan-1", gaOrder.ID)
	if o1.Status != orders.Cancelled || o2.Status != orders.Expired || o1.Version != 2 || o2.Version != 2 {
		t.Fatalf("statuses %s v%d, %s v%d", o1.Status, o1.Version, o2.Status, o2.Version)
	}
	seats := w.seats(t, ev)
	if seats["A-1-1"].State != catalog.SeatAvailable || seats["A-1-2"].State != catalog.SeatAvailable {
		t.Fatalf("seats not returned: %+v %+v", seats["A-1-1"], seats["A-1-2"])
	}
	if avail, held := w.gaCounts(t, ev); avail != 10 || held != 0 {
		t.Fatalf("GA available %d held %d", avail, held)
	}
	if got := w.limitCount(t, ev.ID, "fan-1"); got != 0 {
		t.Fatalf("limit count %d after releases", got)
	}
	t.Run("CancelPaidIsRefused", func(t *testing.T) {
		if _, err := w.Inventory.Cancel(ctx, "fan-1", o2.ID); !apperr.Is(err, apperr.InvalidStateChange) {
			t.Fatalf("cancel of an expired order: %v", err)
		}
	})
	t.Run("AvailabilityReflectsRelease", func(t *testing.T) {
		p, err := w.Catalog.Rebuild(ctx, &ev)
		if err != nil {
			t.Fatal(err)
		}
		if p[0].Available != 20 || p[1].Available != 10 {
			t.Fatalf("projection %+v", p)
		}
	})
}

func TestBestAvailableSpreadsContenders(t *testing.T) {
	w := newWorld(t)
	ev := w.event(t, 20, 10, 4) // 200 seats
	res := w.rush(t, ev, 60, func(int) inventory.HoldRequest { return inventory.HoldRequest{Section: "A", Quantity: 2} })
	won := checkNoOversell(t, w, ev, res)
	if won != 60 {
		for _, r := range res {
			if r.err != nil {
				t.Log(r.err)
			}
		}
		t.Fatalf("%d of 60 best-available holds succeeded with 200 seats free", won)
	}
	rows := map[string]bool{}
	for _, r := range res {
		if len(r.order.Seats) != 2 {
			t.Fatalf("order %s has %v", r.order.ID, r.order.Seats)
		}
		rows[r.order.Seats[0][:len("A-1")]] = true
	}
	keys := make([]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t.Logf("rows used: %v", keys)
}

// TestAvailabilityShowsHoldsAndReleasesWithinFreshness: GIVEN a hold and
// then its release WHEN a fan reads availability after the 2 s freshness
// window each time THEN the seats and GA counts show HELD, then AVAILABLE.
func TestAvailabilityShowsHoldsAndReleasesWithinFreshness(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewManual(time.Now())
	w := newWorldWithClock(t, clk)
	ev := w.event(t, 2, 10, 4)
	read := func() catalog.Availability {
		t.Helper()
		clk.Advance(2*time.Second + time.Millisecond)
		av, err := w.Catalog.Availability(ctx, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		return av
	}
	read()
	seats, err := w.Inventory.Hold(ctx, "fan-1", ev.ID, inventory.HoldRequest{AdmissionToken: w.token(t, "fan-1", ev.ID), Seats: []string{"A-2-3"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	ga, err := w.Inventory.Hold(ctx, "fan-1", ev.ID, inventory.HoldRequest{AdmissionToken: w.token(t, "fan-1", ev.ID), Section: "GA", Quantity: 2}, "")
	if err != nil {
		t.Fatal(err)
	}
	av := read()
	if av.Seats["A-2-3"] != catalog.SeatHeld || av.Sections[0].Held != 1 || av.Sections[1].Held != 2 || av.Sections[1].Available != 8 {
		t.Fatalf("after holds: A-2-3=%s sections %+v", av.Seats["A-2-3"], av.Sections)
	}
	if _, err := w.Inventory.Cancel(ctx, "fan-1", seats.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Inventory.Release(ctx, ga.ID, orders.Expired); err != nil {
		t.Fatal(err)
	}
	av = read()
	if av.Seats["A-2-3"] != catalog.SeatAvailable || av.Sections[0].Available != 20 || av.Sections[1].Available != 10 {
		t.Fatalf("after releases: A-2-3=%s sections %+v", av.Seats["A-2-3"], av.Sections)
	}
}
