package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/tickets"
	"github.com/stararena/stararena/internal/transfers"
)

// issuedOrder holds, pays and issues a one-seat order with its ticket.
func issuedOrder(t *testing.T, st Stores, id, account, seat string) (orders.Order, tickets.StoredTicket) {
	t.Helper()
	ctx := context.Background()
	o := mustHold(t, st, seatOrder(id, "e1", account, seat))
	if err := st.Orders.MarkPaid(ctx, o, payment(o, "p-"+id), Now); err != nil {
		t.Fatal(err)
	}
	o = mustOrder(t, st, id)
	if err := st.Orders.SetStatus(ctx, o, []orders.Status{orders.Paid}, orders.Issued, nil, Now); err != nil {
		t.Fatal(err)
	}
	m, ts := issue(id, seat)
	m.Account = account
	if err := st.Tickets.CreateTickets(ctx, m, ts); err != nil {
		t.Fatal(err)
	}
	tk, found, err := st.Tickets.Ticket(ctx, ts[0].ID)
	if err != nil || !found {
		t.Fatalf("Ticket(%s) = %v, %v", ts[0].ID, found, err)
	}
	return mustOrder(t, st, id), tk
}

func offerOf(id string, tk tickets.StoredTicket, from, to string, email bool, at time.Time) transfers.Transfer {
	return transfers.Transfer{ID: id, TicketID: tk.ID, EventID: tk.EventID, OrderID: tk.OrderID, Seat: tk.Seat,
		From: from, FromEmail: from + "@example.test", To: to, ToEmail: email, Status: transfers.Pending, CreatedAt: at}
}

func acceptance(tr transfers.Transfer, old tickets.StoredTicket, by string, limit int) transfers.Acceptance {
	tr.Status, tr.DecidedAt, tr.AcceptedBy = transfers.Accepted, Now.Add(time.Minute), by
	tr.NewTicketID = tickets.TicketID(tr.ID, tr.Seat)
	return transfers.Acceptance{Transfer: tr, Old: old, LimitMax: limit,
		New: tickets.Ticket{ID: tr.NewTicketID, EventID: tr.EventID, Seat: tr.Seat, OrderID: tr.ID, Version: 1}}
}

// RunTransferStore is the conformance suite of transfers.Store.
func RunTransferStore(t *testing.T, newStores func(t *testing.T) Stores) {
	ctx := context.Background()
	t.Run("OfferOnceCancelOnce", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		_, tk := issuedOrder(t, st, "o1", "fan-1", "A-1-1")
		a := offerOf("t1", tk, "fan-1", "fan-2", false, Now)
		if err := st.Transfers.Offer(ctx, a, tk.Version); err != nil {
			t.Fatal(err)
		}
		got, found, err := st.Transfers.Transfer(ctx, "t1")
		if err != nil || !found || got.Status != transfers.Pending || got.To != "fan-2" || got.TicketID != tk.ID || !got.CreatedAt.Equal(Now) {
			t.Fatalf("Transfer(t1) = %+v, %v, %v", got, found, err)
		}
		if err := st.Transfers.Offer(ctx, offerOf("t2", tk, "fan-1", "x@example.test", true, Now), tk.Version); !errors.Is(err, transfers.ErrTicketChanged) {
			t.Fatalf("a second offer of the ticket = %v, want ErrTicketChanged", err)
		}
		if err := st.Transfers.Cancel(ctx, a, Now); err != nil {
			t.Fatal(err)
		}
		if err := st.Transfers.Cancel(ctx, a, Now); !errors.Is(err, transfers.ErrNotPending) {
			t.Fatalf("cancel twice = %v, want ErrNotPending", err)
		}
		if err := st.Transfers.Accept(ctx, acceptance(a, tk, "fan-2", 4)); !errors.Is(err, transfers.ErrNotPending) {
			t.Fatalf("accept a cancelled transfer = %v, want ErrNotPending", err)
		}
		// Cancelled frees the ticket for another offer.
		if err := st.Transfers.Offer(ctx, offerOf("t3", tk, "fan-1", "fan-3", false, Now.Add(time.Second)), tk.Version); err != nil {
			t.Fatalf("offer after a cancel: %v", err)
		}
		if _, found, _ := st.Transfers.Transfer(ctx, "nope"); found {
			t.Fatal("Transfer(nope) found")
		}
	})
	t.Run("AcceptRevokesIssuesAndCounts", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		_, tk := issuedOrder(t, st, "o1", "fan-1", "A-1-1")
		a := offerOf("t1", tk, "fan-1", "fan-2@example.test", true, Now)
		if err := st.Transfers.Offer(ctx, a, tk.Version); err != nil {
			t.Fatal(err)
		}
		acc := acceptance(a, tk, "fan-2", 4)
		if err := st.Transfers.Accept(ctx, acc); err != nil {
			t.Fatal(err)
		}
		old, _, err := st.Tickets.Ticket(ctx, tk.ID)
		if err != nil || !old.Revoked() || old.RevokeReason != tickets.ReasonTransferred || old.TransferredTo != acc.New.ID {
			t.Fatalf("old ticket = %+v, %v", old, err)
		}
		nt, found, err := st.Tickets.Ticket(ctx, acc.New.ID)
		if err != nil || !found || nt.Revoked() || nt.Version != 1 || nt.OrderID != "t1" {
			t.Fatalf("new ticket = %+v, %v, %v", nt, found, err)
		}
		rs, err := st.Tickets.Revocations(ctx, "e1")
		if err != nil || len(rs) != 1 || rs[0].TicketID != tk.ID || rs[0].Reason != tickets.ReasonTransferred {
			t.Fatalf("revocations = %+v, %v", rs, err)
		}
		got, _, _ := st.Transfers.Transfer(ctx, "t1")
		if got.Status != transfers.Accepted || got.AcceptedBy != "fan-2" || got.NewTicketID != acc.New.ID {
			t.Fatalf("transfer after accept = %+v", got)
		}
		if err := st.Transfers.Accept(ctx, acc); !errors.Is(err, transfers.ErrNotPending) {
			t.Fatalf("accept twice = %v, want ErrNotPending", err)
		}
		in := waitFor(t, func() []string { return transferIDs(t, st, "email:fan-2@example.test", "") }, []string{"t1"})
		if len(in) != 1 {
			t.Fatalf("To = %v", in)
		}
		out := waitFor(t, func() []string { return transferIDs(t, st, "", "fan-1") }, []string{"t1"})
		if len(out) != 1 {
			t.Fatalf("From = %v", out)
		}
	})
	t.Run("AcceptRefusals", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		_, tk := issuedOrder(t, st, "o1", "fan-1", "A-1-1")
		issuedOrder(t, st, "o2", "fan-2", "A-1-2") // fan-2's count is 1
		a := offerOf("t1", tk, "fan-1", "fan-2", false, Now)
		if err := st.Transfers.Offer(ctx, a, tk.Version); err != nil {
			t.Fatal(err)
		}
		// fan-2 bought one of a limit of one.
		if err := st.Transfers.Accept(ctx, acceptance(a, tk, "fan-2", 1)); !errors.Is(err, transfers.ErrLimit) {
			t.Fatalf("accept at the limit = %v, want ErrLimit", err)
		}
		stale := tk
		stale.Version++
		if err := st.Transfers.Accept(ctx, acceptance(a, stale, "fan-2", 4)); !errors.Is(err, transfers.ErrTicketChanged) {
			t.Fatalf("accept at a stale version = %v, want ErrTicketChanged", err)
		}
		o := mustOrder(t, st, "o1")
		if err := st.Orders.SetStatus(ctx, o, []orders.Status{orders.Issued}, orders.RefundPending, nil, Now); err != nil {
			t.Fatal(err)
		}
		if err := st.Transfers.Accept(ctx, acceptance(a, tk, "fan-2", 4)); !errors.Is(err, transfers.ErrOrderChanged) {
			t.Fatalf("accept after the order left ISSUED = %v, want ErrOrderChanged", err)
		}
		if cur, _, _ := st.Tickets.Ticket(ctx, tk.ID); cur.Revoked() {
			t.Fatal("a refused accept revoked the ticket")
		}
	})
}

func transferIDs(t *testing.T, st Stores, to, from string) []string {
	t.Helper()
	var ts []transfers.Transfer
	var err error
	if to != "" {
		ts, err = st.Transfers.To(context.Background(), []string{to})
	} else {
		ts, err = st.Transfers.From(context.Background(), from)
	}
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(ts))
	for i, x := range ts {
		ids[i] = x.ID
	}
	return ids
}
