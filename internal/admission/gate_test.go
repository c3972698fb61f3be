package admission_test

import (
	"context"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/admission"
	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/ratelimit"
	"github.com/stararena/stararena/internal/testenv/fixture"
)

// TestGateRefusesOnlyOnTheEventAsItIsNow: GIVEN the gate's copy of an
// event taken while its sale was paused WHEN the organizer resumes it
// THEN the next fan is admitted at once (a refusal is checked against the
// event itself), while pausing again reaches the gate only when the copy
// expires (EVENT_CACHE_TTL).
func TestGateRefusesOnlyOnTheEventAsItIsNow(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewManual(time.Now())
	a := fixture.NewApp(t, fixture.AppOptions{Clock: clk})
	ev := fixture.OpenEvent(t, a, fixture.Event{})
	control := func(action string) {
		t.Helper()
		if _, err := a.Catalog.ControlSale(ctx, ev.ID, catalog.SaleRequest{Action: action}, "organizer-1"); err != nil {
			t.Fatal(err)
		}
	}
	control(catalog.ActionPause)
	if _, _, err := a.Gate.Admit(ctx, "fan-1", ev.ID); !apperr.Is(err, apperr.SaleNotOpen) {
		t.Fatalf("paused sale: %v, want SALE_NOT_OPEN", err)
	}
	control(catalog.ActionOpen)
	if _, _, err := a.Gate.Admit(ctx, "fan-1", ev.ID); err != nil {
		t.Fatalf("resumed sale, same instant: %v, want an admission", err)
	}
	control(catalog.ActionPause)
	if _, _, err := a.Gate.Admit(ctx, "fan-2", ev.ID); err != nil {
		t.Fatalf("paused again within the copy's TTL: %v, want the copy's answer (admitted)", err)
	}
	clk.Advance(fixture.Config(t).EventCacheTTL + time.Millisecond)
	if _, _, err := a.Gate.Admit(ctx, "fan-3", ev.ID); !apperr.Is(err, apperr.SaleNotOpen) {
		t.Fatalf("paused, copy expired: %v, want SALE_NOT_OPEN", err)
	}
}

type events map[string]catalog.Event

func (e events) Get(_ context.Context, id string) (catalog.Event, error) {
	ev, ok := e[id]
	if !ok {
		return catalog.Event{}, apperr.New(apperr.NotFound, "no event %s", id)
	}
	return ev, nil
}

// place is one fan's place in a waiting room: claimed on the first ask,
// then answered the same admission.
type place struct{ asks int }

func (p *place) Admit(_ context.Context, account, eventID string) (string, admission.Claims, bool, error) {
	p.asks++
	return "tok", admission.Claims{ID: "adm-1", Account: account, EventID: eventID}, p.asks == 1, nil
}

func TestTheRequestThatClaimsAnAdmissionIsNotCounted(t *testing.T) {
	// GIVEN an open sale with a waiting room, a limit of 3 a minute
	now := time.Date(2027, 3, 1, 20, 0, 0, 0, time.UTC)
	clk := clock.NewManual(now)
	evs := events{"q": {ID: "q", SaleOpensAt: now.Add(-time.Minute), Queue: catalog.QueueConfig{Mode: catalog.QueueOn, AdmitPerMinute: 60}}}
	kr, err := admission.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := admission.NewTokens(kr, time.Minute, clk)
	if err != nil {
		t.Fatal(err)
	}
	p := &place{}
	gate := admission.NewGate(evs, tokens, admission.GateOptions{Clock: clk, Queue: p,
		Limiter: &ratelimit.Limiter{Name: "admission", Limit: 3, Window: time.Minute, Store: ratelimit.NewMemory(), Clock: clk}})
	ctx := context.Background()
	// WHEN the fan asks five times
	var answered, limited int
	for range 5 {
		_, _, err := gate.Admit(ctx, "fan-1", "q")
		switch {
		case err == nil:
			answered++
		case apperr.Is(err, apperr.RateLimited):
			limited++
		default:
			t.Fatal(err)
		}
	}
	// THEN the claim and three repeats are answered, the fifth is limited
	if answered != 4 || limited != 1 {
		t.Fatalf("answered %d, limited %d; want 4 and 1 (the claim is not counted)", answered, limited)
	}
	// AND an unknown event's requests are counted before they are refused
	for i := range 4 {
		_, _, err := gate.Admit(ctx, "fan-2", "nope")
		if want := map[bool]apperr.Code{true: apperr.RateLimited, false: apperr.NotFound}[i == 3]; !apperr.Is(err, want) {
			t.Fatalf("unknown event, request %d: %v, want %s", i+1, err, want)
		}
	}
}

// staleCopy answers a copy taken before the organizer opened the sale;
// Fresh reads the event as it is now.
type staleCopy struct{ copy, now catalog.Event }

func (s staleCopy) Get(context.Context, string) (catalog.Event, error)   { return s.copy, nil }
func (s staleCopy) Fresh(context.Context, string) (catalog.Event, error) { return s.now, nil }

func TestAWaitingRoomOpenedSinceTheCopyAdmitsFromThePlace(t *testing.T) {
	// GIVEN a waiting room whose sale the gate's copy still has paused
	now := time.Date(2027, 3, 1, 20, 0, 0, 0, time.UTC)
	clk := clock.NewManual(now)
	open := catalog.Event{ID: "q", SaleOpensAt: now.Add(-time.Minute), Queue: catalog.QueueConfig{Mode: catalog.QueueOn, AdmitPerMinute: 60}}
	paused := open
	paused.Sale.Status = catalog.SalePaused
	kr, err := admission.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := admission.NewTokens(kr, time.Minute, clk)
	if err != nil {
		t.Fatal(err)
	}
	p := &place{}
	gate := admission.NewGate(staleCopy{copy: paused, now: open}, tokens, admission.GateOptions{Clock: clk, Queue: p})
	// WHEN a served fan asks THEN the place answers (not NOT_IN_QUEUE)
	tok, c, err := gate.Admit(context.Background(), "fan-1", "q")
	if err != nil || tok != "tok" || c.ID != "adm-1" || p.asks != 1 {
		t.Fatalf("admission %q %+v, %v (asks %d); want the place's admission", tok, c, err, p.asks)
	}
}
