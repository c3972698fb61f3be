package devstack_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stararena/stararena/internal/localsqs"
	"github.com/stararena/stararena/internal/tickets"
	"github.com/stararena/stararena/internal/transfers"
)

// A ticket transfer mails the recipient the offer and the sender the
// acceptance, each exactly once though the queue delivers every cause
// twice; an offer to an account id (no address) sends nothing.
func TestTransferMailsTheOfferAndTheAcceptanceOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the order workflow on the local stack")
	}
	st := mailStack(t, localsqs.Faults{DuplicateRate: 1, Seed: 29})
	ctx := context.Background()
	o := buyTickets(t, st, "fan-giver", "giver@example.org")
	ts, err := st.App.Tickets.ForOrder(ctx, o.ID)
	if err != nil || len(ts) != 2 {
		t.Fatalf("tickets: %v %v", ts, err)
	}
	giver := transfers.Party{Account: "fan-giver", Email: "giver@example.org"}
	tr, err := st.App.Transfers.Offer(ctx, giver, ts[0].ID, "taker@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.App.Transfers.Offer(ctx, giver, ts[1].ID, "fan-by-account"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.App.Transfers.Accept(ctx, transfers.Party{Account: "fan-taker", Email: "Taker@example.org"}, tr.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.App.Tickets.ForOrder(ctx, o.ID); got[0].Status != tickets.StatusTransferred {
		t.Fatalf("the giver's ticket is %s, want TRANSFERRED", got[0].Status)
	}
	q := mailIdle(t, st)
	if s := q.Stats(); s.DeadLettered != 0 {
		t.Fatalf("mail queue %+v: want nothing dead-lettered", s)
	}
	offers := st.Mail.For("taker@example.org")
	if len(offers) != 1 || !strings.HasPrefix(offers[0].Subject, "A ticket for ") || !strings.Contains(offers[0].Text, "giver@example.org wants to give you a ticket: A-1-1") ||
		!strings.Contains(offers[0].Text, st.URL()+"/?mine") {
		t.Fatalf("the taker's mail: %+v, want one offer naming the giver, the seat and My tickets", offers)
	}
	var accepted int
	for _, m := range st.Mail.For("giver@example.org") {
		if strings.HasPrefix(m.Subject, "Your ticket for ") && strings.Contains(m.Text, "fan-taker accepted your ticket A-1-1") {
			accepted++
		}
	}
	if accepted != 1 {
		t.Errorf("%d acceptance messages to the giver, want 1: %+v", accepted, st.Mail.For("giver@example.org"))
	}
}
