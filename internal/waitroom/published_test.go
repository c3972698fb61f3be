package waitroom_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/draw"
	"github.com/stararena/stararena/internal/waitroom"
)

func TestDrawPartDigitsKeepPartsSmall(t *testing.T) {
	for _, c := range []struct {
		entrants int64
		digits   int
	}{{0, 1}, {1, 1}, {32_000, 1}, {32_001, 2}, {100_000, 2}, {512_000, 2}, {512_001, 3}, {1 << 40, 4}} {
		if got := waitroom.DrawPartDigits(c.entrants); got != c.digits {
			t.Errorf("DrawPartDigits(%d) = %d, want %d", c.entrants, got, c.digits)
		}
	}
}

// drawReads counts reads of the draw's entrants.
type drawReads struct {
	waitroom.Store
	n int
}

func (s *drawReads) DrawEntrants(ctx context.Context, eventID string) ([]waitroom.Place, error) {
	s.n++
	return s.Store.DrawEntrants(ctx, eventID)
}

func TestEachDrawnFanFindsTheirPositionInTheirPartOfTheDraw(t *testing.T) {
	// GIVEN 250 fans who joined before the sale, drawn at opening, on an
	// instance that counts its reads of the draw
	ctx := context.Background()
	r := newRoom(t, 600)
	reads := &drawReads{Store: r.stores.Waitroom}
	svc := waitroom.NewService(reads, r.cat, r.tokens, waitroom.Options{Clock: r.clock, Logger: slog.New(slog.DiscardHandler)})
	early := accounts("early", 250)
	for i := 0; i < len(early); i += 100 {
		r.join(t, early[i:min(i+100, len(early))]...)
	}
	if _, err := svc.DrawPart(ctx, r.ev.ID, "0"); !apperr.Is(err, apperr.InvalidStateChange) {
		t.Fatalf("a part before the draw: %v, want INVALID_STATE", err)
	}
	r.clock.Advance(time.Hour + 3*time.Second)
	r.tick(t)
	status, err := svc.Status(ctx, r.ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if status.DrawEntrants != 250 || status.DrawPartDigits != 1 {
		t.Fatalf("status %+v: want 250 entrants in parts of one hex digit", status)
	}
	// WHEN each fan reads the part its entrant id falls in
	listed := 0
	for p := range 16 {
		part, err := svc.DrawPart(ctx, r.ev.ID, fmt.Sprintf("%x", p))
		if err != nil {
			t.Fatal(err)
		}
		if part.Seed != status.ShuffleSeed || part.SeedHash != status.ShuffleSeedHash || part.Part != fmt.Sprintf("%x", p) {
			t.Fatalf("part %x: %+v", p, part)
		}
		for i, e := range part.Entrants {
			if !strings.HasPrefix(e.Entrant, part.Part) || (i > 0 && e.Position <= part.Entrants[i-1].Position) {
				t.Fatalf("part %s lists %+v after %+v", part.Part, e, part.Entrants[max(i-1, 0)])
			}
		}
		listed += len(part.Entrants)
	}
	// THEN every fan is in their part at the position their place has,
	// and the parts together are the whole draw, read once by the instance
	if listed != len(early) {
		t.Fatalf("parts list %d entrants, want %d", listed, len(early))
	}
	for _, a := range early {
		id := draw.EntrantID(r.ev.ID, a)
		part, err := svc.DrawPart(ctx, r.ev.ID, id[:status.DrawPartDigits])
		if err != nil {
			t.Fatal(err)
		}
		found := int64(0)
		for _, e := range part.Entrants {
			if e.Entrant == id {
				found = int64(e.Position)
			}
		}
		if me := r.me(t, a); found == 0 || found != me.Position {
			t.Fatalf("%s: position %d in its part, %d in its place", a, found, me.Position)
		}
	}
	doc, err := svc.DrawDocument(ctx, r.ev.ID)
	if err != nil || draw.Verify(doc) != nil || len(doc.Entrants) != len(early) {
		t.Fatalf("the whole draw: %d entrants, %v", len(doc.Entrants), err)
	}
	if reads.n != 1 {
		t.Fatalf("the instance read the draw %d times, want once", reads.n)
	}
	// AND a part named by other than one hex digit is refused
	for _, bad := range []string{"", "g", "0a", "00000"} {
		if _, err := svc.DrawPart(ctx, r.ev.ID, bad); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("part %q: %v, want INVALID_REQUEST", bad, err)
		}
	}
}

func TestAJoinSentAfterReadingQueueStatusIsPlacedAfterItsPositionsGiven(t *testing.T) {
	// GIVEN a drawn queue with 40 fans in the draw
	ctx := context.Background()
	r := newRoom(t, 600)
	r.join(t, accounts("early", 40)...)
	r.clock.Advance(time.Hour + 3*time.Second)
	r.tick(t)
	before, err := r.Status(ctx, r.ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if before.PositionsGiven != 40 {
		t.Fatalf("positions given right after the draw: %d, want 40", before.PositionsGiven)
	}
	// WHEN batches of fans join, each after its page read queue-status
	// (cached up to a second at the origin, so sometimes behind)
	bound := map[string]int64{}
	for b := range 6 {
		st, err := r.Status(ctx, r.ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		batch := accounts(fmt.Sprintf("late%d", b), 30)
		for _, a := range batch {
			bound[a] = st.PositionsGiven
		}
		r.join(t, batch...)
		r.clock.Advance(400 * time.Millisecond)
	}
	// THEN every one of them is placed after the bound its page read, and
	// the document catches up within the cache's second
	for a, b := range bound {
		if me := r.me(t, a); me.Position <= b {
			t.Fatalf("%s placed at %d, at or below the bound %d its page read", a, me.Position, b)
		}
	}
	r.clock.Advance(1100 * time.Millisecond)
	after, err := r.Status(ctx, r.ev.ID)
	if err != nil || after.PositionsGiven != 40+6*30 {
		t.Fatalf("positions given %d (%v), want %d", after.PositionsGiven, err, 40+6*30)
	}
	// AND a fan who joined after the opening is in no part of the draw:
	// the entrant count bounds their place
	id := draw.EntrantID(r.ev.ID, "late0-000")
	part, err := r.DrawPart(ctx, r.ev.ID, id[:after.DrawPartDigits])
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range part.Entrants {
		if e.Entrant == id {
			t.Fatalf("a fan who joined after the opening is listed in the draw at %d", e.Position)
		}
	}
	if me := r.me(t, "late0-000"); me.Position <= after.DrawEntrants {
		t.Fatalf("late fan at %d, within the draw's %d", me.Position, after.DrawEntrants)
	}
}

// stateReads counts reads of the queue state.
type stateReads struct {
	waitroom.Store
	n int
}

func (s *stateReads) GetState(ctx context.Context, eventID string) (waitroom.State, bool, error) {
	s.n++
	return s.Store.GetState(ctx, eventID)
}

func TestTheAssignerReadsTheStateEveryBatchUntilItSawTheDraw(t *testing.T) {
	// GIVEN an assigner instance that counts its reads of the queue state
	ctx := context.Background()
	r := newRoom(t, 600)
	reads := &stateReads{Store: r.stores.Waitroom}
	svc := waitroom.NewService(reads, r.cat, r.tokens, waitroom.Options{Clock: r.clock, Logger: slog.New(slog.DiscardHandler)})
	seq := 0
	batch := func(accounts ...string) waitroom.AssignResult {
		t.Helper()
		var recs []waitroom.Record
		for i, a := range accounts {
			seq++
			recs = append(recs, waitroom.Record{ID: fmt.Sprint(seq), Body: waitroom.JoinBody(r.ev.ID, a, r.clock.Now().Add(time.Duration(i)*time.Millisecond))})
		}
		res := svc.Assign(ctx, recs)
		if len(res.Failed) > 0 {
			t.Fatalf("failed: %v", res.Failed)
		}
		return res
	}
	// WHEN it assigns batches before the draw, then after it
	for i := range 3 {
		batch(accounts(fmt.Sprintf("early%d", i), 5)...)
	}
	before := reads.n
	r.clock.Advance(time.Hour + 3*time.Second)
	if res := r.tick(t); res.Drew != 15 {
		t.Fatalf("drew %d, want 15", res.Drew)
	}
	reads.n = 0
	for i := range 6 {
		if res := batch(accounts(fmt.Sprintf("late%d", i), 5)...); res.Placed != 5 || res.Counters != 1 {
			t.Fatalf("batch %d after the draw: %+v", i, res)
		}
		r.clock.Advance(time.Second)
	}
	// THEN every batch before the draw read a fresh state, and after it
	// one read told the instance the draw was done
	if before < 3 || reads.n != 1 {
		t.Fatalf("state reads: %d for 3 batches before the draw, %d for 6 after it; want at least 3, then 1", before, reads.n)
	}
	// AND the late fans are first come after the draw's 15
	for i := range 6 {
		for k, a := range accounts(fmt.Sprintf("late%d", i), 5) {
			if me := r.me(t, a); me.Position != int64(16+5*i+k) {
				t.Fatalf("%s at %d, want %d", a, me.Position, 16+5*i+k)
			}
		}
	}
}

// laggingIndex lists the draw's entrants without one of them the first
// time, as an index the draw's positions have not all reached yet.
type laggingIndex struct {
	waitroom.Store
	calls int
}

func (s *laggingIndex) DrawEntrants(ctx context.Context, eventID string) ([]waitroom.Place, error) {
	s.calls++
	ps, err := s.Store.DrawEntrants(ctx, eventID)
	if s.calls == 1 && len(ps) > 0 {
		ps = ps[1:]
	}
	return ps, err
}

func TestAPartialDrawIsNeitherPublishedNorKept(t *testing.T) {
	// GIVEN a drawn queue whose index first lists one entrant short
	ctx := context.Background()
	r := newRoom(t, 600)
	idx := &laggingIndex{Store: r.stores.Waitroom}
	svc := waitroom.NewService(idx, r.cat, r.tokens, waitroom.Options{Clock: r.clock, Logger: slog.New(slog.DiscardHandler)})
	r.join(t, accounts("early", 20)...)
	r.clock.Advance(time.Hour + 3*time.Second)
	r.tick(t)
	// WHEN a part is asked for twice
	_, first := svc.DrawPart(ctx, r.ev.ID, "0")
	doc, second := svc.DrawDocument(ctx, r.ev.ID)
	// THEN the first answer is UNAVAILABLE, and the next one is the whole draw
	if !apperr.Is(first, apperr.Unavailable) {
		t.Fatalf("part of a partly listed draw: %v, want UNAVAILABLE", first)
	}
	if second != nil || len(doc.Entrants) != 20 || draw.Verify(doc) != nil {
		t.Fatalf("then: %d entrants, %v", len(doc.Entrants), second)
	}
}
