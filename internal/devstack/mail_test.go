package devstack_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/localsqs"
	"github.com/stararena/stararena/internal/mail"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/payments/sandbox"
	"github.com/stararena/stararena/internal/testenv/fixture"
	"github.com/stararena/stararena/internal/topology"
)

// mailStack is a stack whose workflow and queues run a hundred times
// faster than real time, with nothing scheduled.
func mailStack(t *testing.T, faults localsqs.Faults) *devstack.Stack {
	t.Helper()
	return fixture.Stack(t, devstack.Options{TimeScale: 0.01, ReconcileEvery: -1, InletEvery: -1, QueueFaults: faults})
}

// buyTickets holds two seats for account with email, pays, and waits until
// the order workflow issued them.
func buyTickets(t *testing.T, st *devstack.Stack, account, email string) orders.Order {
	t.Helper()
	ctx := context.Background()
	ev := fixture.OpenEvent(t, st.App, fixture.Event{})
	o := fixture.Hold(t, st.App, account, ev.ID, inventory.HoldRequest{Seats: []string{"A-1-1", "A-1-2"}, Email: email})
	if o.Email != email {
		t.Fatalf("the order records %q, want the buyer's %q", o.Email, email)
	}
	pay, err := st.Sandbox.CreatePayment(ctx, o.ID, o.AmountCents, o.Currency)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Sandbox.Complete(pay.ID, sandbox.Completion{Outcome: sandbox.OutcomeSucceeded}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := st.App.Stores.Orders.GetOrder(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == orders.Issued {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s is %s, want ISSUED", o.ID, got.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mailIdle waits until every cause on the mail queue was deleted or
// dead-lettered.
func mailIdle(t *testing.T, st *devstack.Stack) *localsqs.Queue {
	t.Helper()
	q := st.Queue(topology.MailQueue)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := q.WaitIdle(ctx); err != nil {
		t.Fatalf("mail queue not idle: %v (%+v)", err, q.Stats())
	}
	return q
}

// The order confirmation reaches the buyer's address exactly once, with a
// QR image per ticket and a link to the order, though the queue delivers
// every cause twice and the issue task runs twice more after the order was
// ISSUED (a Step Functions retry, the reconciler).
func TestOrderConfirmationIsCapturedOnceThroughRepeatsAndDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the order workflow on the local stack")
	}
	st := mailStack(t, localsqs.Faults{DuplicateRate: 1, Seed: 17})
	ctx := context.Background()
	o := buyTickets(t, st, "fan-mail", "ana.mail@example.org")
	issue, err := st.App.Task("issue-tickets")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := issue(ctx, json.RawMessage(`{"orderId":"`+o.ID+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	q := mailIdle(t, st)
	stats := q.Stats()
	if stats.Sent != 3 || stats.Duplicated != 3 || stats.DeadLettered != 0 {
		t.Fatalf("mail queue %+v: want 3 causes sent, each stored twice, none dead-lettered", stats)
	}

	resp, err := http.Get(st.URL() + "/dev/mail?to=fan-mail")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /dev/mail: %d, %v", resp.StatusCode, err)
	}
	if len(got) != 1 {
		t.Fatalf("%d messages captured for fan-mail, want exactly 1: %v", len(got), got)
	}
	m := got[0]
	for _, k := range []string{"to", "subject", "text", "html", "sentAt"} {
		if _, ok := m[k]; !ok {
			t.Errorf("captured message has no %q", k)
		}
	}
	if len(m) != 5 {
		t.Errorf("captured message has fields %v, want exactly to, subject, text, html, sentAt", m)
	}
	html, _ := m["html"].(string)
	text, _ := m["text"].(string)
	if m["to"] != "ana.mail@example.org" || !strings.HasPrefix(m["subject"].(string), "Your tickets for ") {
		t.Errorf("to %v, subject %v", m["to"], m["subject"])
	}
	if n := strings.Count(html, `src="data:image/png;base64,`); n != 2 {
		t.Errorf("%d QR images in the HTML, want one per ticket (2)", n)
	}
	link := st.URL() + "/?order=" + o.ID
	if !strings.Contains(text, link) || !strings.Contains(html, link) {
		t.Errorf("the message does not link to %s", link)
	}
	if byAddress := st.Mail.For("ANA.MAIL@example.org"); len(byAddress) != 1 {
		t.Errorf("%d messages by address, want 1", len(byAddress))
	}
}

// A sender that keeps failing leaves the cause in the dead-letter queue
// after the queue's maximum receives, sending nothing; redriven once the
// sender is back, it is sent once.
func TestFailingMailGoesToTheDeadLetterQueueAfterMaxReceives(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the order workflow on the local stack")
	}
	st := mailStack(t, localsqs.Faults{})
	st.Mail.Fail(errors.New("SES unavailable"))
	o := buyTickets(t, st, "fan-dlq", "fan-dlq@example.test")
	q := mailIdle(t, st)
	dead := q.DeadLetters()
	var spec topology.Queue
	for _, tq := range topology.Default().Queues {
		if tq.Name == topology.MailQueue {
			spec = tq
		}
	}
	if len(dead) != 1 || dead[0].ReceiveCount != spec.MaxReceiveCount {
		t.Fatalf("dead letters %+v: want the one cause after %d receives", dead, spec.MaxReceiveCount)
	}
	r, err := mail.ParseRequest(dead[0].Body)
	if err != nil || r.OrderID != o.ID || r.Kind != mail.OrderConfirmation {
		t.Fatalf("dead letter %q (%v): want the order's confirmation", dead[0].Body, err)
	}
	if n := len(st.Mail.All()); n != 0 {
		t.Fatalf("%d messages captured while the sender failed", n)
	}

	st.Mail.Fail(nil)
	if _, err := q.Send(dead[0].Body, nil); err != nil {
		t.Fatal(err)
	}
	mailIdle(t, st)
	if got := st.Mail.For("fan-dlq"); len(got) != 1 || got[0].To != "fan-dlq@example.test" {
		t.Fatalf("after the redrive: %+v, want one message to the buyer", got)
	}
}
