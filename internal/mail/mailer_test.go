package mail

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/ticketqr"
	"github.com/stararena/stararena/internal/tickets"
)

// markers keeps MAIL# markers in memory and counts the requests a store
// would make.
type markers struct {
	mu       sync.Mutex
	state    map[string]string // cause → SENDING or SENT
	claims   int
	sentCall int
}

func (m *markers) ClaimMail(_ context.Context, cause string, kind Kind, _, _ time.Time) (Claim, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.claims++
	switch m.state[cause+"/"+string(kind)] {
	case StatusSent:
		return AlreadySent, nil
	case StatusSending:
		return Busy, nil
	}
	m.state[cause+"/"+string(kind)] = StatusSending
	return Claimed, nil
}

func (m *markers) MailsSent(_ context.Context, causes []SentCause, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sentCall++
	for _, c := range causes {
		m.state[c.Cause+"/"+string(c.Kind)] = StatusSent
	}
	return nil
}

func (m *markers) ReleaseMail(_ context.Context, cause string, kind Kind) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.state, cause+"/"+string(kind))
	return nil
}

// ticketReads answers the listed tickets and counts the reads.
type ticketReads struct {
	mu      sync.Mutex
	revoked map[string]bool
	reads   int
}

func (r *ticketReads) ticket(orderID, id string) tickets.IssuedTicket {
	it := tickets.IssuedTicket{Ticket: tickets.Ticket{ID: id, OrderID: orderID, Seat: "A-1-" + id}, Status: tickets.StatusValid, Code: "CODE-" + id}
	if r.revoked[id] {
		it.Status, it.Code = tickets.StatusRevoked, ""
	}
	return it
}

func (r *ticketReads) ForOrder(context.Context, string) ([]tickets.IssuedTicket, error) {
	return nil, fmt.Errorf("the confirmations here carry their ticket ids")
}

func (r *ticketReads) Listed(_ context.Context, orderID string, ids []string) ([]tickets.IssuedTicket, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads++
	var out []tickets.IssuedTicket
	for _, id := range ids {
		out = append(out, r.ticket(orderID, id))
	}
	return out, nil
}

func (r *ticketReads) ListedAll(_ context.Context, want map[string][]string) (map[string][]tickets.IssuedTicket, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads++
	out := map[string][]tickets.IssuedTicket{}
	for orderID, ids := range want {
		for _, id := range ids {
			out[orderID] = append(out[orderID], r.ticket(orderID, id))
		}
	}
	return out, nil
}

type oneEvent struct{}

func (oneEvent) Get(context.Context, string) (catalog.Event, error) {
	return catalog.Event{ID: "e-1", Name: "Stars", Venue: "Hall", StartsAt: time.Date(2027, 6, 1, 20, 0, 0, 0, time.UTC)}, nil
}

// A batch of confirmations reads all their tickets in one read and marks
// every cause sent in one call; a repeat in the batch is not sent twice,
// and a confirmation whose tickets were revoked meanwhile sends nothing.
func TestABatchReadsItsTicketsAndMarksItsCausesTogether(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewManual(time.Date(2027, 5, 1, 10, 0, 0, 0, time.UTC))
	capture := NewCapture(clk, nil)
	mk := &markers{state: map[string]string{}}
	tr := &ticketReads{revoked: map[string]bool{"t4": true}}
	m := &Mailer{Markers: mk, Events: oneEvent{}, Tickets: tr, Sender: capture, QR: ticketqr.Render, SiteURL: "https://tickets.example/",
		Lease: time.Minute, Clock: clk, Log: slog.New(slog.DiscardHandler)}
	body := func(orderID string, ids ...string) string {
		o := orders.Order{ID: orderID, EventID: "e-1", Account: "fan-" + orderID, Email: orderID + "@example.org", Status: orders.Issued,
			AmountCents: 5000, Currency: "EUR"}
		b, err := json.Marshal(ConfirmationOf(o, ids))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var ev events.SQSEvent
	for i, b := range []string{body("o-1", "t1"), body("o-2", "t2", "t3"), body("o-1", "t1"), body("o-3", "t4")} {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprint("m", i), Body: b})
	}
	out, err := m.HandleBatch(ctx, ev)
	if err != nil || len(out.BatchItemFailures) != 0 {
		t.Fatalf("batch: %+v, %v", out, err)
	}
	sent := capture.All()
	if len(sent) != 2 {
		t.Fatalf("%d messages sent, want 2 (o-1 once, o-2; o-3's only ticket is revoked)", len(sent))
	}
	if tr.reads != 1 || mk.sentCall != 1 || mk.claims != 4 {
		t.Fatalf("%d ticket reads, %d sent-mark calls, %d claims; want 1, 1, 4", tr.reads, mk.sentCall, mk.claims)
	}
	for _, c := range []string{"o-1", "o-2", "o-3"} {
		if mk.state[c+"/"+string(OrderConfirmation)] != StatusSent {
			t.Errorf("cause %s is %q, want SENT", c, mk.state[c+"/"+string(OrderConfirmation)])
		}
	}
	// The queue delivers the batch again: every cause is a repeat.
	if _, err := m.HandleBatch(ctx, ev); err != nil || len(capture.All()) != 2 {
		t.Fatalf("a second delivery sent %d messages in all, %v; want still 2", len(capture.All()), err)
	}
}
