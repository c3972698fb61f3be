package admission_test

import (
	"context"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
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
