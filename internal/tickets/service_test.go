package tickets_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/ticketqr"
	"github.com/stararena/stararena/internal/tickets"
)

// env is the tickets service on a real DynamoDB-compatible server.
type env struct {
	svc   *tickets.Service
	codec *tickets.Codec
	clock *clock.Manual
	db    *dynamodb.Client
	table string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	db, table := testenv.DynamoDB(t)
	clk := clock.NewManual(time.Date(2027, 6, 1, 19, 0, 0, 0, time.UTC))
	kr, err := tickets.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	codec, err := tickets.NewCodec(kr)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := tickets.NewService(dynamo.NewStores(db, table, clk).Tickets, codec, tickets.Options{Clock: clk, Logger: log, QR: ticketqr.Render})
	return &env{svc: svc, codec: codec, clock: clk, db: db, table: table}
}

func paidOrder(seats ...string) orders.Order {
	return orders.Order{ID: uuid.NewString(), EventID: testEvent, Account: "fan-1", Status: orders.Paid, Seats: seats}
}

func (e *env) mustIssue(t testing.TB, o orders.Order) []tickets.IssuedTicket {
	t.Helper()
	ts, err := e.svc.Issue(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func (e *env) mustCheckIn(t testing.TB, code, nonce string) tickets.Result {
	t.Helper()
	r, err := e.svc.CheckIn(context.Background(), testEvent, code, nonce, "north-1")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// countItems counts the table's items whose pk starts with prefix.
func (e *env) countItems(t testing.TB, prefix string) int {
	t.Helper()
	out, err := e.db.Scan(context.Background(), &dynamodb.ScanInput{
		TableName:                 aws.String(e.table),
		FilterExpression:          aws.String("begins_with(pk, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: prefix}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Items)
}

func TestIssueIsIdempotent(t *testing.T) {
	e := newEnv(t)
	o := paidOrder("A-1-1", "A-1-2")
	first := e.mustIssue(t, o)
	if len(first) != 2 || first[0].Seat != "A-1-1" || first[1].Seat != "A-1-2" {
		t.Fatalf("tickets = %+v", first)
	}
	for _, tk := range first {
		if tk.ID != tickets.TicketID(o.ID, tk.Seat) || tk.Version != 1 || tk.Code == "" || tk.Status != tickets.StatusValid {
			t.Fatalf("ticket = %+v", tk)
		}
	}

	t.Run("SecondCallSameTickets", func(t *testing.T) {
		again := e.mustIssue(t, o)
		for i := range first {
			if again[i].Ticket != first[i].Ticket || again[i].Code != first[i].Code {
				t.Fatalf("second issue %+v, first %+v", again[i], first[i])
			}
		}
	})
	t.Run("ConcurrentCallsSameTickets", func(t *testing.T) {
		o2 := paidOrder("B-1-1", "B-1-2", "B-1-3")
		var wg sync.WaitGroup
		results := make([][]tickets.IssuedTicket, 12)
		errs := make([]error, len(results))
		for i := range results {
			wg.Go(func() { results[i], errs[i] = e.svc.Issue(context.Background(), o2) })
		}
		wg.Wait()
		for i := range results {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			for j := range results[i] {
				if results[i][j].Ticket != results[0][j].Ticket {
					t.Fatalf("call %d ticket %d: %+v vs %+v", i, j, results[i][j], results[0][j])
				}
			}
		}
	})
	t.Run("OneSetOfItems", func(t *testing.T) {
		if n := e.countItems(t, dynamo.PrefixTicket); n != 5 {
			t.Fatalf("%d ticket items, want 5", n)
		}
		out, err := e.db.GetItem(context.Background(), &dynamodb.GetItemInput{
			TableName: aws.String(e.table),
			Key:       dynamo.TicketManifestKey(o.ID),
		})
		if err != nil || out.Item == nil {
			t.Fatalf("manifest: %v, %v", out, err)
		}
	})
	t.Run("StatusAfterIssuedAccepted", func(t *testing.T) {
		o.Status = orders.Issued
		if again := e.mustIssue(t, o); again[0].Ticket != first[0].Ticket {
			t.Fatalf("ISSUED order re-issue gave %+v", again[0])
		}
	})
}

func TestIssueRefusesUnpaidOrders(t *testing.T) {
	e := newEnv(t)
	for _, st := range []orders.Status{orders.PendingPayment, orders.Expired, orders.Cancelled, orders.RefundPending, orders.Refunded} {
		t.Run(string(st), func(t *testing.T) {
			o := paidOrder("A-1-1")
			o.Status = st
			if _, err := e.svc.Issue(context.Background(), o); !apperr.Is(err, apperr.InvalidStateChange) {
				t.Fatalf("err = %v, want INVALID_STATE", err)
			}
		})
	}
	if n := e.countItems(t, dynamo.PrefixTicket); n != 0 {
		t.Fatalf("%d ticket items written for unpaid orders", n)
	}
}

func TestGAOrderOfThreeGetsThreeTickets(t *testing.T) {
	e := newEnv(t)
	o := orders.Order{ID: uuid.NewString(), EventID: testEvent, Account: "fan-1", Status: orders.Paid, Section: "GA", Quantity: 3}
	e.mustIssue(t, o)
	got, err := e.svc.ForAccount(context.Background(), "fan-1", o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d tickets", len(got))
	}
	ids := map[string]bool{}
	for i, tk := range got {
		if tk.Seat != fmt.Sprintf("GA-%d", i+1) || !strings.HasPrefix(tk.QR, "data:image/png;base64,") || tk.Code == "" {
			t.Fatalf("ticket %d = %+v", i, tk)
		}
		ids[tk.ID] = true
		if r := e.mustCheckIn(t, tk.Code, "n-"+tk.ID); r.Result != tickets.Admitted || r.Seat != tk.Seat {
			t.Fatalf("check-in of %s: %+v", tk.Seat, r)
		}
	}
	if len(ids) != 3 {
		t.Fatalf("ids not distinct: %v", ids)
	}
}

func TestForAccountHidesOtherFansTickets(t *testing.T) {
	e := newEnv(t)
	o := paidOrder("A-1-1")
	e.mustIssue(t, o)
	if ts, err := e.svc.ForAccount(context.Background(), "fan-1", o.ID); err != nil || len(ts) != 1 {
		t.Fatalf("owner: %+v, %v", ts, err)
	}
	if _, err := e.svc.ForAccount(context.Background(), "fan-2", o.ID); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("other fan: err = %v, want NOT_FOUND", err)
	}
	if ts, err := e.svc.ForAccount(context.Background(), "fan-1", uuid.NewString()); err != nil || len(ts) != 0 {
		t.Fatalf("no tickets yet: %+v, %v", ts, err)
	}
}

func TestFirstScanWins(t *testing.T) {
	e := newEnv(t)
	tk := e.mustIssue(t, paidOrder("A-1-7"))[0]
	const scans = 200
	results := make([]tickets.Result, scans)
	errs := make([]error, scans)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range scans {
		wg.Go(func() {
			results[i], errs[i] = e.svc.CheckIn(context.Background(), testEvent, tk.Code, fmt.Sprintf("scan-%03d", i), "north-1")
		})
	}
	wg.Wait()
	t.Logf("%d concurrent check-ins in %v", scans, time.Since(start))
	winner := -1
	for i, r := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if r.TicketID != tk.ID || r.Seat != "A-1-7" {
			t.Fatalf("result %d = %+v", i, r)
		}
		switch r.Result {
		case tickets.Admitted:
			if winner >= 0 {
				t.Fatalf("scans %d and %d both admitted", winner, i)
			}
			winner = i
		case tickets.AlreadyUsed:
		default:
			t.Fatalf("result %d = %+v", i, r)
		}
	}
	if winner < 0 {
		t.Fatal("nobody admitted")
	}
	t.Run("RetriesKeepTheirAnswers", func(t *testing.T) {
		if r := e.mustCheckIn(t, tk.Code, fmt.Sprintf("scan-%03d", winner)); r.Result != tickets.Admitted {
			t.Fatalf("winner's retry: %+v", r)
		}
		loser := (winner + 1) % scans
		if r := e.mustCheckIn(t, tk.Code, fmt.Sprintf("scan-%03d", loser)); r.Result != tickets.AlreadyUsed {
			t.Fatalf("loser's retry: %+v", r)
		}
		if r := e.mustCheckIn(t, tk.Code, "fresh"); r.Result != tickets.AlreadyUsed {
			t.Fatalf("new nonce: %+v", r)
		}
	})
	t.Run("ShownAsUsed", func(t *testing.T) {
		ts, err := e.svc.ForOrder(context.Background(), tk.OrderID)
		if err != nil || ts[0].Status != tickets.StatusUsed {
			t.Fatalf("tickets = %+v, %v", ts, err)
		}
	})
}

func TestSameNonceSameAnswer(t *testing.T) {
	e := newEnv(t)
	tk := e.mustIssue(t, paidOrder("A-1-1"))[0]
	t.Run("Concurrent", func(t *testing.T) {
		const n = 50
		results := make([]tickets.Result, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				results[i], errs[i] = e.svc.CheckIn(context.Background(), testEvent, tk.Code, "same-nonce", "north-1")
			})
		}
		wg.Wait()
		for i := range results {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if results[i] != results[0] {
				t.Fatalf("answer %d %+v differs from %+v", i, results[i], results[0])
			}
		}
		if results[0].Result != tickets.Admitted {
			t.Fatalf("answer = %+v", results[0])
		}
	})
	t.Run("EvenAfterTheTicketChanges", func(t *testing.T) {
		e.clock.Advance(time.Minute)
		r := e.mustCheckIn(t, tk.Code, "second")
		if r.Result != tickets.AlreadyUsed {
			t.Fatalf("second nonce: %+v", r)
		}
		// The gate is told when and where the ticket got in.
		if want := e.clock.Now().Add(-time.Minute); !r.FirstScanAt.Equal(want) || r.FirstScanGate != "north-1" {
			t.Fatalf("second nonce's first scan: %v at %q, want %v at north-1", r.FirstScanAt, r.FirstScanGate, want)
		}
		if err := e.svc.Revoke(context.Background(), tk.OrderID, "refund"); err != nil {
			t.Fatal(err)
		}
		if r := e.mustCheckIn(t, tk.Code, "second"); r.Result != tickets.AlreadyUsed {
			t.Fatalf("retry of a recorded ALREADY_USED after a revoke: %+v", r)
		}
	})
}

func TestRevokedTickets(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	t.Run("RevokedBeforeScan", func(t *testing.T) {
		o := paidOrder("A-2-1", "A-2-2")
		ts := e.mustIssue(t, o)
		if err := e.svc.Revoke(ctx, o.ID, "refund"); err != nil {
			t.Fatal(err)
		}
		for _, tk := range ts {
			if r := e.mustCheckIn(t, tk.Code, "n1"); r.Result != tickets.Revoked || r.TicketID != tk.ID {
				t.Fatalf("check-in: %+v", r)
			}
		}
		shown, err := e.svc.ForOrder(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range shown {
			if tk.Status != tickets.StatusRevoked || tk.Code != "" || tk.QR != "" {
				t.Fatalf("revoked ticket shown as %+v", tk)
			}
		}
	})
	t.Run("RevokeIsIdempotent", func(t *testing.T) {
		o := paidOrder("A-3-1")
		e.mustIssue(t, o)
		if err := e.svc.Revoke(ctx, o.ID, "refund"); err != nil {
			t.Fatal(err)
		}
		before, _ := e.svc.Revocations(ctx, testEvent)
		e.clock.Advance(time.Hour)
		if err := e.svc.Revoke(ctx, o.ID, "chargeback"); err != nil {
			t.Fatal(err)
		}
		after, err := e.svc.Revocations(ctx, testEvent)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(before) {
			t.Fatalf("revocation list grew from %d to %d", len(before), len(after))
		}
		for _, r := range after {
			if r.OrderID == o.ID && (r.Reason != "refund" || r.UpToVersion != 1) {
				t.Fatalf("second revoke changed the entry: %+v", r)
			}
		}
		if err := e.svc.Revoke(ctx, uuid.NewString(), "refund"); err != nil {
			t.Fatalf("revoking an order without tickets: %v", err)
		}
	})
	t.Run("RevokedAfterAdmission", func(t *testing.T) {
		o := paidOrder("A-4-1")
		tk := e.mustIssue(t, o)[0]
		if r := e.mustCheckIn(t, tk.Code, "door"); r.Result != tickets.Admitted {
			t.Fatalf("first scan: %+v", r)
		}
		if err := e.svc.Revoke(ctx, o.ID, "refund"); err != nil {
			t.Fatal(err)
		}
		if r := e.mustCheckIn(t, tk.Code, "later"); r.Result != tickets.Revoked {
			t.Fatalf("new nonce after revoke: %+v", r)
		}
		if r := e.mustCheckIn(t, tk.Code, "door"); r.Result != tickets.Admitted {
			t.Fatalf("the admitting nonce's retry: %+v", r)
		}
	})
	t.Run("ListedForOfflineGates", func(t *testing.T) {
		rs, err := e.svc.Revocations(ctx, testEvent)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 4 {
			t.Fatalf("revocation list = %+v", rs)
		}
		for _, r := range rs {
			if r.TicketID != tickets.TicketID(r.OrderID, r.Seat) || r.UpToVersion != 1 || r.EventID != testEvent {
				t.Fatalf("entry = %+v", r)
			}
		}
	})
}

func TestReissueInvalidatesOlderCodes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	o := paidOrder("A-5-1")
	old := e.mustIssue(t, o)[0]
	if err := e.svc.Revoke(ctx, o.ID, "refund requested"); err != nil {
		t.Fatal(err)
	}
	// The refund is withdrawn: the ticket is restored with a new version.
	fresh, err := e.svc.Reissue(ctx, o, "refund withdrawn")
	if err != nil {
		t.Fatal(err)
	}
	if fresh[0].Version != 2 || fresh[0].Code == old.Code || fresh[0].Status != tickets.StatusValid {
		t.Fatalf("re-issued ticket = %+v", fresh[0])
	}
	if r := e.mustCheckIn(t, old.Code, "screenshot"); r.Result != tickets.Invalid || r.TicketID != "" {
		t.Fatalf("old code after re-issue: %+v", r)
	}
	if r := e.mustCheckIn(t, fresh[0].Code, "door"); r.Result != tickets.Admitted {
		t.Fatalf("new code: %+v", r)
	}
	shown, err := e.svc.ForOrder(ctx, o.ID)
	if err != nil || shown[0].Code != fresh[0].Code {
		t.Fatalf("ForOrder after re-issue: %+v, %v", shown, err)
	}
	rs, err := e.svc.Revocations(ctx, testEvent)
	if err != nil || len(rs) != 1 || rs[0].UpToVersion != 1 {
		t.Fatalf("revocation list = %+v, %v (offline gates must refuse version 1 only)", rs, err)
	}
	t.Run("RefundedOrderCannotBeReissued", func(t *testing.T) {
		o.Status = orders.Refunded
		if _, err := e.svc.Reissue(ctx, o, "oops"); !apperr.Is(err, apperr.InvalidStateChange) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestCheckInRefusals(t *testing.T) {
	e := newEnv(t)
	tk := e.mustIssue(t, paidOrder("A-6-1"))[0]
	other, _ := tickets.GenerateKeyring()
	oc, _ := tickets.NewCodec(other)
	forged, err := oc.Encode(tk.Ticket)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ForgedIsInvalid", func(t *testing.T) {
		if r := e.mustCheckIn(t, forged, "n1"); r != (tickets.Result{Result: tickets.Invalid}) {
			t.Fatalf("forged: %+v", r)
		}
	})
	t.Run("SignedButNeverIssued", func(t *testing.T) {
		ghost := tickets.Ticket{ID: tickets.TicketID("o-x", "A-1-1"), EventID: testEvent, OrderID: "o-x", Seat: "A-1-1", Version: 1, ExpiresAt: tk.ExpiresAt}
		code, err := e.codec.Encode(ghost)
		if err != nil {
			t.Fatal(err)
		}
		if r := e.mustCheckIn(t, code, "n1"); r.Result != tickets.Invalid {
			t.Fatalf("ghost: %+v", r)
		}
	})
	bad := map[string][3]string{
		"NoCode":      {"", "n1", "g"},
		"NoNonce":     {tk.Code, "", "g"},
		"LongNonce":   {tk.Code, strings.Repeat("n", 129), "g"},
		"NonceSpaces": {tk.Code, "a b", "g"},
		"GateControl": {tk.Code, "n1", "g\n"},
		"LongGate":    {tk.Code, "n1", strings.Repeat("g", 65)},
	}
	for name, in := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := e.svc.CheckIn(context.Background(), testEvent, in[0], in[1], in[2]); !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("err = %v, want INVALID_REQUEST", err)
			}
		})
	}
	if r := e.mustCheckIn(t, tk.Code, "n1"); r.Result != tickets.Admitted {
		t.Fatalf("the refusals used the ticket: %+v", r)
	}
}

// testEvent is the event of this file's orders and the gate's.
const testEvent = "ev1"

// TestCheckInRefusesAnotherEventsTicket: GIVEN a valid ticket of event ev1
// WHEN a gate of another event scans it THEN it answers WRONG_EVENT naming
// the ticket's event, and the ticket is still unused: its own gate admits
// it afterwards.
func TestCheckInRefusesAnotherEventsTicket(t *testing.T) {
	e := newEnv(t)
	ts := e.mustIssue(t, paidOrder("A-1-1"))
	r, err := e.svc.CheckIn(context.Background(), "ev2", ts[0].Code, "n-1", "north-1")
	if err != nil || r.Result != tickets.WrongEvent || r.EventID != testEvent {
		t.Fatalf("other event's gate: %+v, %v", r, err)
	}
	if r, err = e.svc.CheckIn(context.Background(), testEvent, ts[0].Code, "n-2", "north-1"); err != nil || r.Result != tickets.Admitted {
		t.Fatalf("own gate after a wrong-event scan: %+v, %v", r, err)
	}
}

// A ticket's code carries its expiry: the gate admits with it until then
// and answers INVALID after, even for a ticket never scanned.
func TestCheckInRefusesAnExpiredCode(t *testing.T) {
	e := newEnv(t)
	late := e.mustIssue(t, paidOrder("A-7-1"))[0]
	onTime := e.mustIssue(t, paidOrder("A-7-2"))[0]
	if want := e.clock.Now().Add(tickets.DefaultCodeLifetime); !late.ExpiresAt.Equal(want) {
		t.Fatalf("code expires %v, want %v", late.ExpiresAt, want)
	}
	if r := e.mustCheckIn(t, onTime.Code, "n-on-time"); r.Result != tickets.Admitted {
		t.Fatalf("before the expiry: %+v", r)
	}
	e.clock.Advance(tickets.DefaultCodeLifetime + time.Second)
	if r := e.mustCheckIn(t, late.Code, "n-late"); r != (tickets.Result{Result: tickets.Invalid}) {
		t.Fatalf("after the expiry: %+v, want INVALID", r)
	}
}

// Shown answers an ISSUED order's tickets from the ids the order lists,
// as the manifest would, refuses ids of another order's tickets, and
// reads the manifest for an order that lists none.
func TestShownReadsTheTicketsTheOrderLists(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	o := paidOrder("A-1-1", "A-1-2")
	issued := e.mustIssue(t, o)
	o.Status = orders.Issued
	byManifest, err := e.svc.Shown(ctx, o)
	if err != nil || len(byManifest) != 2 {
		t.Fatalf("an order listing no ids: %d tickets, %v; want the manifest's 2", len(byManifest), err)
	}
	o.TicketIDs = []string{issued[0].ID, issued[1].ID}
	listed, err := e.svc.Shown(ctx, o)
	if err != nil || len(listed) != 2 {
		t.Fatalf("an order listing its ids: %d tickets, %v", len(listed), err)
	}
	for i := range listed {
		if listed[i].ID != byManifest[i].ID || listed[i].Status != tickets.StatusValid || listed[i].QR == "" || listed[i].Rotation == nil {
			t.Fatalf("ticket %d: %+v, want %s valid with its QR and rotation", i, listed[i], byManifest[i].ID)
		}
	}
	other := paidOrder("A-1-3")
	theirs := e.mustIssue(t, other)
	o.TicketIDs = []string{theirs[0].ID}
	if _, err := e.svc.Shown(ctx, o); err == nil {
		t.Fatal("an order listing another order's ticket: no error")
	}
}
