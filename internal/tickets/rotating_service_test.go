package tickets_test

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/ticketqr"
	"github.com/stararena/stararena/internal/tickets"
)

// rotatingCode is the code a fan's page shows for ticket it at t.
func rotatingCode(tb testing.TB, it tickets.IssuedTicket, at time.Time) string {
	tb.Helper()
	if it.Rotation == nil {
		tb.Fatalf("ticket %s has no rotation secret", it.ID)
	}
	secret, err := base64.RawURLEncoding.DecodeString(it.Rotation.Secret)
	if err != nil {
		tb.Fatal(err)
	}
	code, err := tickets.RotatingCode(it.Code, secret, tickets.Step(at))
	if err != nil {
		tb.Fatal(err)
	}
	return code
}

func TestOnlyTheOwnerGetsTheRotationSecret(t *testing.T) {
	e := newEnv(t)
	o := paidOrder("A-9-1")
	if issued := e.mustIssue(t, o); issued[0].Rotation != nil {
		t.Fatal("Issue (the workflow) hands out a rotation secret")
	}
	staff, err := e.svc.ForOrder(context.Background(), o.ID)
	if err != nil || staff[0].Rotation != nil {
		t.Fatalf("ForOrder (staff, mail) hands out a rotation secret: %+v, %v", staff, err)
	}
	mine, err := e.svc.ForAccount(context.Background(), o.Account, o.ID)
	if err != nil || mine[0].Rotation == nil || mine[0].Rotation.StepSeconds != tickets.StepSeconds || !mine[0].Rotation.Printable {
		t.Fatalf("ForAccount: %+v, %v", mine, err)
	}
}

// A code made now admits; the same code scanned after its window answers
// EXPIRED and writes nothing, so the fan's live code still gets in.
func TestRotatingCodeAdmitsOnlyWithinItsWindow(t *testing.T) {
	e := newEnv(t)
	o := paidOrder("A-9-2", "A-9-3")
	e.mustIssue(t, o)
	ts, err := e.svc.ForAccount(context.Background(), o.Account, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	// A code made one step ahead (the phone's clock a little fast) and one
	// made a step ago (shown at the end of its step) both admit.
	ahead := rotatingCode(t, ts[0], e.clock.Now().Add(tickets.StepSeconds*time.Second))
	if r := e.mustCheckIn(t, ahead, "n-ahead"); r.Result != tickets.Admitted || r.Seat != "A-9-2" {
		t.Fatalf("a code one step ahead: %+v", r)
	}
	shot := rotatingCode(t, ts[1], e.clock.Now())
	e.clock.Advance(2 * tickets.StepSeconds * time.Second)
	if r := e.mustCheckIn(t, shot, "n-shot"); r.Result != tickets.Expired || r.Seat != "A-9-3" || r.TicketID != ts[1].ID {
		t.Fatalf("a code two steps old: %+v, want EXPIRED with its seat", r)
	}
	if r := e.mustCheckIn(t, rotatingCode(t, ts[1], e.clock.Now().Add(-tickets.StepSeconds*time.Second)), "n-live"); r.Result != tickets.Admitted {
		t.Fatalf("the live code after a refused screenshot: %+v", r)
	}
	// First scan wins for rotating codes too: a fresh copy of the live
	// code at a second gate is already used.
	if r := e.mustCheckIn(t, rotatingCode(t, ts[1], e.clock.Now()), "n-copy"); r.Result != tickets.AlreadyUsed {
		t.Fatalf("a second live copy: %+v", r)
	}
}

// An organizer who accepts rotating codes only: the static code of a
// genuine ticket is refused, with its seat, and the ticket stays unused.
func TestRotatingOnlyEventRefusesStaticCodes(t *testing.T) {
	e := newEnv(t)
	svc := tickets.NewService(dynamo.NewStores(e.db, e.table, e.clock).Tickets, e.codec, tickets.Options{
		Clock: e.clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), QR: ticketqr.Render,
		StaticCodes: func(_ context.Context, ev string) (bool, error) { return ev != testEvent, nil }})
	o := paidOrder("A-9-4")
	if _, err := svc.Issue(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	ts, err := svc.ForAccount(context.Background(), o.Account, o.ID)
	if err != nil || ts[0].Rotation.Printable {
		t.Fatalf("the owner is told the ticket is printable: %+v, %v", ts, err)
	}
	r, err := svc.CheckIn(context.Background(), testEvent, ts[0].Code, "n-static", "north-1")
	if err != nil || r.Result != tickets.StaticRefused || r.Seat != "A-9-4" {
		t.Fatalf("static code at a rotating-only event: %+v, %v", r, err)
	}
	r, err = svc.CheckIn(context.Background(), testEvent, rotatingCode(t, ts[0], e.clock.Now()), "n-rot", "north-1")
	if err != nil || r.Result != tickets.Admitted {
		t.Fatalf("its rotating code afterwards: %+v, %v", r, err)
	}
}

// An offline gate sends its queued scans later with when it saw them: a
// live code is judged against that time, which may not lie in the future
// or more than a day back.
func TestOfflineScanIsJudgedAtItsScanTime(t *testing.T) {
	e := newEnv(t)
	o := paidOrder("A-9-5")
	e.mustIssue(t, o)
	ts, err := e.svc.ForAccount(context.Background(), o.Account, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	seen := e.clock.Now()
	code := rotatingCode(t, ts[0], seen)
	e.clock.Advance(20 * time.Minute) // the outage
	for _, bad := range []time.Time{e.clock.Now().Add(time.Hour), e.clock.Now().Add(-tickets.MaxOfflineScanAge - time.Minute)} {
		if _, err := e.svc.CheckInScanned(context.Background(), testEvent, code, "n-bad", "north-1", bad); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("scan time %v: %v, want INVALID_REQUEST", bad, err)
		}
	}
	if r := e.mustCheckIn(t, code, "n-late"); r.Result != tickets.Expired {
		t.Fatalf("the code judged at arrival: %+v, want EXPIRED", r)
	}
	r, err := e.svc.CheckInScanned(context.Background(), testEvent, code, "n-offline", "north-1", seen)
	if err != nil || r.Result != tickets.Admitted {
		t.Fatalf("the code judged at its scan time: %+v, %v", r, err)
	}
}
