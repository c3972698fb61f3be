package transfers_test

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/checkout"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/payments/sandbox"
	"github.com/stararena/stararena/internal/testenv/fixture"
	"github.com/stararena/stararena/internal/ticketqr"
	"github.com/stararena/stararena/internal/tickets"
	"github.com/stararena/stararena/internal/transfers"
)

// world is the transfer path on real parts: the embedded DynamoDB, the
// sandbox provider (the test applies payments itself), tickets, orders and
// transfers services over one table.
type world struct {
	*app.App
	box *sandbox.Sandbox
	os  *orders.Service
	tk  *tickets.Service
	tr  *transfers.Service
	ev  catalog.Event
}

type limitsOf struct{ a *app.App }

func (l limitsOf) MaxTicketsPerAccount(ctx context.Context, id string) (int, error) {
	return fixture.MaxTickets(l.a)(ctx, id)
}

func newWorld(t *testing.T, maxPerAccount int) *world {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	clk := clock.NewManual(time.Now())
	a := fixture.NewApp(t, fixture.AppOptions{Clock: clk, Logger: quiet})
	w := &world{App: a}
	var err error
	if w.box, err = sandbox.New(sandbox.Options{Secret: "whsec_test", Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.box.Close() })
	kr, _ := tickets.GenerateKeyring()
	codec, err := tickets.NewCodec(kr)
	if err != nil {
		t.Fatal(err)
	}
	w.tk = tickets.NewService(a.Stores.Tickets, codec, tickets.Options{Clock: clk, Logger: quiet, QR: ticketqr.Render})
	w.os = orders.NewService(a.Stores.Orders, checkout.Providers{"sandbox": w.box}, nil, orders.ServiceOptions{Clock: clk, Logger: quiet,
		Tickets: w.tk, MaxTickets: fixture.MaxTickets(a)})
	w.tr = transfers.NewService(a.Stores.Transfers, w.tk, a.Inventory, limitsOf{a}, transfers.Options{Clock: clk, Logger: quiet})
	w.ev = fixture.OpenEvent(t, a, fixture.Event{MaxTicketsPerAccount: maxPerAccount})
	return w
}

// buy holds seats for account, pays at the sandbox, issues the tickets and
// marks the order ISSUED, as the order workflow does.
func (w *world) buy(t *testing.T, account string, seats ...string) (orders.Order, []tickets.IssuedTicket) {
	t.Helper()
	ctx := context.Background()
	o := fixture.Hold(t, w.App, account, w.ev.ID, inventory.HoldRequest{Seats: seats})
	p, err := w.box.CreatePayment(ctx, o.ID, o.AmountCents, o.Currency)
	if err != nil {
		t.Fatal(err)
	}
	if p, err = w.box.Complete(p.ID, sandbox.Completion{Outcome: sandbox.OutcomeSucceeded, Webhook: sandbox.WebhookDrop}); err != nil {
		t.Fatal(err)
	}
	if out, err := w.os.PaymentCaptured(ctx, orders.Payment{Provider: "sandbox", ID: p.ID, OrderID: o.ID, Succeeded: p.Paid(),
		AmountCents: p.AmountCents, Currency: p.Currency}); err != nil || out != orders.OutcomePaid {
		t.Fatalf("payment: %s %v", out, err)
	}
	paid, err := w.Stores.Orders.GetOrder(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := w.tk.Issue(ctx, paid)
	if err != nil {
		t.Fatal(err)
	}
	if o, err = w.os.MarkIssued(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	return o, ts
}

func (w *world) checkIn(t *testing.T, code, nonce string) tickets.Result {
	t.Helper()
	r, err := w.tk.CheckIn(context.Background(), w.ev.ID, code, nonce, "gate-1")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// limit reads the account's LIMIT count for the event.
func (w *world) limit(t *testing.T, account string) int {
	t.Helper()
	out, err := w.DB.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(w.Config.TableName), ConsistentRead: aws.Bool(true), Key: dynamo.LimitKey(w.ev.ID, account)})
	if err != nil {
		t.Fatal(err)
	}
	c, ok := out.Item["count"].(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(c.Value)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (w *world) received(t *testing.T, p transfers.Party, id string) tickets.IssuedTicket {
	t.Helper()
	l, err := w.tr.For(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range l.Incoming {
		if x.ID == id {
			ts, err := w.tr.Tickets(context.Background(), x)
			if err != nil || len(ts) != 1 {
				t.Fatalf("tickets of transfer %s: %v %v", id, ts, err)
			}
			return ts[0]
		}
	}
	t.Fatalf("transfer %s not in %s's list %+v", id, p.Account, l.Incoming)
	return tickets.IssuedTicket{}
}

var (
	alice = transfers.Party{Account: "alice", Email: "alice@example.test"}
	bob   = transfers.Party{Account: "bob", Email: "bob@example.test"}
	carol = transfers.Party{Account: "carol", Email: "carol@example.test"}
)

// TestAcceptedTransferSwapsTheCodes: GIVEN alice's issued ticket offered
// to bob by email, WHEN bob accepts, THEN alice's code answers REVOKED
// "transferred" (and is on the offline revocation list with that reason),
// alice's order shows the ticket TRANSFERRED, bob's new code is ADMITTED,
// and bob's per-event count grew by one.
func TestAcceptedTransferSwapsTheCodes(t *testing.T) {
	w := newWorld(t, 4)
	ctx := context.Background()
	o, ts := w.buy(t, "alice", "A-1-1", "A-1-2")
	tr, err := w.tr.Offer(ctx, alice, ts[0].ID, "Bob@Example.test")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Status != transfers.Pending || !tr.ToEmail || tr.To != "bob@example.test" {
		t.Fatalf("offer = %+v", tr)
	}
	if _, err := w.tr.Accept(ctx, carol, tr.ID); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("carol accepts bob's transfer: %v, want NOT_FOUND", err)
	}
	before := w.limit(t, "bob")
	got, err := w.tr.Accept(ctx, bob, tr.ID)
	if err != nil || got.Status != transfers.Accepted || got.AcceptedBy != "bob" {
		t.Fatalf("accept = %+v, %v", got, err)
	}
	if r := w.checkIn(t, ts[0].Code, "n-old"); r.Result != tickets.Revoked || r.Reason != tickets.ReasonTransferred {
		t.Fatalf("old code at the gate = %+v, want REVOKED transferred", r)
	}
	rs, err := w.tk.Revocations(ctx, w.ev.ID)
	if err != nil || len(rs) != 1 || rs[0].TicketID != ts[0].ID || rs[0].Reason != tickets.ReasonTransferred || rs[0].UpToVersion != ts[0].Version {
		t.Fatalf("revocation list = %+v, %v", rs, err)
	}
	mine, err := w.tk.ForAccount(ctx, "alice", o.ID)
	if err != nil || mine[0].Status != tickets.StatusTransferred || mine[0].Code != "" || mine[1].Status != tickets.StatusValid {
		t.Fatalf("alice's tickets = %+v, %v", mine, err)
	}
	nt := w.received(t, bob, tr.ID)
	if nt.Code == "" || nt.Code == ts[0].Code || nt.Seat != "A-1-1" || nt.QR == "" {
		t.Fatalf("bob's ticket = %+v", nt)
	}
	if r := w.checkIn(t, nt.Code, "n-new"); r.Result != tickets.Admitted {
		t.Fatalf("bob's code = %+v, want ADMITTED", r)
	}
	if after := w.limit(t, "bob"); after != before+1 {
		t.Fatalf("bob's count %d → %d, want one more", before, after)
	}
	again, err := w.tr.Accept(ctx, bob, tr.ID)
	if err != nil || again.NewTicketID != got.NewTicketID {
		t.Fatalf("accept again = %+v, %v; want the same acceptance", again, err)
	}
	if _, err := w.tr.Cancel(ctx, alice, tr.ID); !apperr.Is(err, apperr.InvalidStateChange) {
		t.Fatalf("cancel after accept: %v, want INVALID_STATE", err)
	}
	if _, err := w.tr.Offer(ctx, bob, nt.ID, "carol"); !apperr.Is(err, apperr.InvalidStateChange) {
		t.Fatalf("bob passes on a received ticket: %v, want INVALID_STATE", err)
	}
	if _, err := w.tr.Offer(ctx, alice, ts[0].ID, "carol"); !apperr.Is(err, apperr.InvalidStateChange) {
		t.Fatalf("alice offers the transferred ticket again: %v, want INVALID_STATE", err)
	}
}

// TestTransferRefusals: a ticket of someone else's order is NOT_FOUND; a
// ticket in a pending transfer, a used ticket, a refunded one and a
// transfer to oneself are refused; a recipient at the event's limit gets
// CONFLICT and nothing changes.
func TestTransferRefusals(t *testing.T) {
	w := newWorld(t, 2)
	ctx := context.Background()
	_, ts := w.buy(t, "alice", "A-1-1", "A-1-2")
	if _, err := w.tr.Offer(ctx, bob, ts[0].ID, "carol"); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("bob offers alice's ticket: %v, want NOT_FOUND", err)
	}
	if _, err := w.tr.Offer(ctx, alice, ts[0].ID, "alice@example.test"); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("to oneself: %v, want INVALID_REQUEST", err)
	}
	if _, err := w.tr.Offer(ctx, alice, ts[0].ID, "not an address@"); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("bad recipient: %v, want INVALID_REQUEST", err)
	}
	first, err := w.tr.Offer(ctx, alice, ts[0].ID, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.tr.Offer(ctx, alice, ts[0].ID, "carol"); !apperr.Is(err, apperr.InvalidStateChange) {
		t.Fatalf("second offer of one ticket: %v, want INVALID_STATE", err)
	}
	if _, err := w.tr.Cancel(ctx, alice, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.tr.Accept(ctx, bob, first.ID); !apperr.Is(err, apperr.InvalidStateChange) {
		t.Fatalf("accept a cancelled transfer: %v, want INVALID_STATE", err)
	}
	// Used at the gate: no longer transferable.
	if r := w.checkIn(t, ts[1].Code, "used"); r.Result != tickets.Admitted {
		t.Fatal(r)
	}
	if _, err := w.tr.Offer(ctx, alice, ts[1].ID, "bob"); !apperr.Is(err, apperr.InvalidStateChange) {
		t.Fatalf("offer a used ticket: %v, want INVALID_STATE", err)
	}

	// Carol holds the event's limit of 2: she cannot receive a third.
	w.buy(t, "carol", "A-1-5", "A-1-6")
	offer, err := w.tr.Offer(ctx, alice, ts[0].ID, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.tr.Accept(ctx, carol, offer.ID); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("carol at her limit accepts: %v, want CONFLICT", err)
	}
	if n := w.limit(t, "carol"); n != 2 {
		t.Fatalf("carol's count = %d, want 2", n)
	}
	if r := w.checkIn(t, ts[0].Code, "still-alice"); r.Result != tickets.Admitted {
		t.Fatalf("alice's code after the refused accept = %+v, want ADMITTED", r)
	}
}

// TestRefundAfterTransferRevokesTheReceivedTicket: GIVEN alice's ticket
// transferred to bob and another offered to carol, WHEN alice's order is
// refunded, THEN bob's received code answers REVOKED and carol can no
// longer accept: the refund's money and the tickets it paid for go
// together.
func TestRefundAfterTransferRevokesTheReceivedTicket(t *testing.T) {
	w := newWorld(t, 4)
	ctx := context.Background()
	o, ts := w.buy(t, "alice", "A-1-1", "A-1-2")
	tr, err := w.tr.Offer(ctx, alice, ts[0].ID, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.tr.Accept(ctx, bob, tr.ID); err != nil {
		t.Fatal(err)
	}
	nt := w.received(t, bob, tr.ID)
	pending, err := w.tr.Offer(ctx, alice, ts[1].ID, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := w.os.RefundOrder(ctx, o.ID, "organizer-1", "the show moved"); err != nil || got.Status != orders.Refunded {
		t.Fatalf("refund = %+v, %v", got, err)
	}
	if r := w.checkIn(t, nt.Code, "after-refund"); r.Result != tickets.Revoked {
		t.Fatalf("bob's code after alice's refund = %+v, want REVOKED", r)
	}
	if _, err := w.tr.Accept(ctx, carol, pending.ID); !apperr.Is(err, apperr.InvalidStateChange) {
		t.Fatalf("accept after the refund: %v, want INVALID_STATE", err)
	}
}

// TestAcceptAndCancelRaceToOneOutcome: GIVEN pending transfers, WHEN the
// recipient accepts while the sender cancels, concurrently, THEN exactly
// one of the two succeeds each time and the ticket state agrees with it:
// accepted → old code REVOKED and a new ticket; cancelled → old code
// valid and no new ticket.
func TestAcceptAndCancelRaceToOneOutcome(t *testing.T) {
	w := newWorld(t, 20)
	ctx := context.Background()
	seats := []string{"A-1-1", "A-1-2", "A-1-3", "A-1-4", "A-1-5", "A-1-6", "A-1-7", "A-1-8"}
	_, ts := w.buy(t, "alice", seats...)
	accepted, cancelled := 0, 0
	for i, tk := range ts {
		tr, err := w.tr.Offer(ctx, alice, tk.ID, "bob@example.test")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var aerr, cerr error
		wg.Add(2)
		go func() { defer wg.Done(); _, aerr = w.tr.Accept(ctx, bob, tr.ID) }()
		go func() { defer wg.Done(); _, cerr = w.tr.Cancel(ctx, alice, tr.ID) }()
		wg.Wait()
		if (aerr == nil) == (cerr == nil) {
			t.Fatalf("race %d: accept %v, cancel %v; want exactly one to succeed", i, aerr, cerr)
		}
		for _, err := range []error{aerr, cerr} {
			if err != nil && !apperr.Is(err, apperr.InvalidStateChange) {
				t.Fatalf("race %d: the loser got %v, want INVALID_STATE", i, err)
			}
		}
		stored, found, err := w.Stores.Transfers.Transfer(ctx, tr.ID)
		if err != nil || !found {
			t.Fatal(found, err)
		}
		old := w.checkIn(t, tk.Code, "race-"+strconv.Itoa(i))
		if aerr == nil {
			accepted++
			if stored.Status != transfers.Accepted || old.Result != tickets.Revoked {
				t.Fatalf("race %d accepted: transfer %s, old code %s", i, stored.Status, old.Result)
			}
			if _, found, _ := w.Stores.Tickets.Ticket(ctx, stored.NewTicketID); !found {
				t.Fatalf("race %d accepted without a new ticket", i)
			}
		} else {
			cancelled++
			if stored.Status != transfers.Cancelled || old.Result != tickets.Admitted {
				t.Fatalf("race %d cancelled: transfer %s, old code %s", i, stored.Status, old.Result)
			}
			if _, found, _ := w.Stores.Tickets.Ticket(ctx, tickets.TicketID(tr.ID, tk.Seat)); found {
				t.Fatalf("race %d cancelled but a new ticket exists", i)
			}
		}
	}
	if n := w.limit(t, "bob"); n != accepted {
		t.Fatalf("bob's count = %d, want %d accepted", n, accepted)
	}
	t.Logf("%d races: %d accepted, %d cancelled", len(ts), accepted, cancelled)
}
