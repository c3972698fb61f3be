package mail

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/tickets"
)

// OrderReader reads an order.
type OrderReader interface {
	GetOrder(ctx context.Context, id string) (orders.Order, error)
}

// EventReader reads an event.
type EventReader interface {
	Get(ctx context.Context, id string) (catalog.Event, error)
}

// TicketReader reads an order's tickets with their codes and QR images.
type TicketReader interface {
	ForOrder(ctx context.Context, orderID string) ([]tickets.IssuedTicket, error)
	// Listed reads the order's tickets named by ids, without its manifest.
	Listed(ctx context.Context, orderID string, ids []string) ([]tickets.IssuedTicket, error)
	// ListedAll is Listed for several orders in one read; an order whose
	// tickets do not check out is left out.
	ListedAll(ctx context.Context, want map[string][]string) (map[string][]tickets.IssuedTicket, error)
}

// OfferReader reads a waiting-list offer (internal/waitlist): ok is
// false when it is no longer live, and nothing is sent.
type OfferReader interface {
	OfferNotice(ctx context.Context, eventID, account, offerID string) (OfferNotice, bool, error)
}

// TransferReader reads a ticket transfer's message (internal/transfers):
// ok is false when there is nothing to send (no address to write to).
type TransferReader interface {
	TransferNotice(ctx context.Context, kind Kind, transferID string) (TransferNotice, bool, error)
}

// Mailer renders and sends the messages of the causes on the queue.
type Mailer struct {
	Markers MarkerStore
	// Offers reads waiting-list offers; nil skips their causes.
	Offers OfferReader
	// Transfers reads ticket transfers; nil skips their causes.
	Transfers TransferReader
	Orders    OrderReader
	Events    EventReader
	// RecentEvents is the instance's copy of events (catalog.CachedEvents),
	// which renders order confirmations; nil: Events. Notices always read
	// Events: whether one still stands is decided on the event.
	RecentEvents EventReader
	Tickets      TicketReader
	Sender       Sender
	// QR draws the tickets' images in a confirmation (internal/ticketqr):
	// linked only by the functions that send mail.
	QR tickets.QRRenderer
	// SiteURL is the fan site's base URL; the message links to the order
	// there.
	SiteURL string
	// Lease is how long a claim keeps other deliveries of the cause away:
	// the queue's visibility timeout, which outlasts the function, so an
	// expired lease means its holder is gone.
	Lease time.Duration
	Clock clock.Clock
	Log   *slog.Logger
}

// Outcome is what Deliver did with a cause.
type Outcome string

// Outcomes.
const (
	Sent    Outcome = "sent"
	Repeat  Outcome = "repeat"  // sent before: nothing to do
	Held    Outcome = "busy"    // another delivery holds the claim
	Skipped Outcome = "skipped" // nothing to send (no address, no tickets)
)

// Deliver sends the message of one cause at most once. An error leaves the
// cause unsent and claimable: the queue delivers it again.
func (m *Mailer) Deliver(ctx context.Context, r Request) (Outcome, error) {
	o, done, err := m.deliver(ctx, r, nil)
	if err == nil && done {
		m.markSent(ctx, []SentCause{{Cause: r.Cause(), Kind: r.Kind}})
	}
	return o, err
}

// deliver claims the cause, renders and sends its message; done says that
// the cause is to be marked SENT (markSent), which the caller does, for a
// whole batch at once. read holds the tickets of the batch's
// confirmations, read together (prefetch); nil: each reads its own.
func (m *Mailer) deliver(ctx context.Context, r Request, read map[string][]tickets.IssuedTicket) (o Outcome, done bool, err error) {
	now := m.Clock.Now()
	cause := r.Cause()
	claim, err := m.Markers.ClaimMail(ctx, cause, r.Kind, now, now.Add(m.Lease))
	if err != nil {
		return "", false, err
	}
	switch claim {
	case AlreadySent:
		return Repeat, false, nil
	case Busy:
		return Held, false, nil
	}
	msg, ok, err := m.render(ctx, r, read)
	if err == nil && ok {
		err = m.Sender.Send(ctx, msg)
	}
	if err != nil {
		if rerr := m.Markers.ReleaseMail(ctx, cause, r.Kind); rerr != nil {
			m.Log.WarnContext(ctx, "mail claim not released: the next delivery waits for the lease", "cause", cause, "kind", r.Kind, "err", rerr)
		}
		return "", false, err
	}
	// Marked sent even when there was nothing to send: the cause is done.
	if !ok {
		return Skipped, true, nil
	}
	return Sent, true, nil
}

// markSent marks causes SENT. A failure is logged, not returned: the
// messages went, and a redelivery after the lease would send them again,
// which failing the batch cannot undo.
func (m *Mailer) markSent(ctx context.Context, causes []SentCause) {
	if len(causes) == 0 {
		return
	}
	if err := m.Markers.MailsSent(ctx, causes, m.Clock.Now()); err != nil {
		m.Log.ErrorContext(ctx, "mail sent but not marked", "causes", len(causes), "first", causes[0].Cause, "kind", causes[0].Kind, "err", err)
	}
}

func (m *Mailer) render(ctx context.Context, r Request, read map[string][]tickets.IssuedTicket) (Message, bool, error) {
	if r.Kind == WaitlistOffer {
		return m.renderOffer(ctx, r)
	}
	if r.Kind.transferKind() {
		return m.renderTransfer(ctx, r)
	}
	o, err := m.order(ctx, r)
	if err != nil {
		return Message{}, false, fmt.Errorf("mail %s: %w", r.OrderID, err)
	}
	if o.Email == "" {
		m.Log.WarnContext(ctx, "order has no email address: nothing sent", "orderId", o.ID, "kind", r.Kind)
		return Message{}, false, nil
	}
	events := m.Events
	if r.Kind == OrderConfirmation && m.RecentEvents != nil {
		events = m.RecentEvents
	}
	ev, err := events.Get(ctx, o.EventID)
	if err != nil {
		return Message{}, false, fmt.Errorf("mail %s: event %s: %w", r.OrderID, o.EventID, err)
	}
	if r.Kind == EventPostponed && !postponedNoticeDue(r, o, ev) {
		m.Log.InfoContext(ctx, "postponement notice no longer due: nothing sent", "orderId", o.ID, "status", o.Status, "postponedAt", r.Postponed)
		return Message{}, false, nil
	}
	if r.Kind != OrderConfirmation {
		msg, err := Notice(r.Kind, o, ev, m.SiteURL)
		return msg, err == nil, err
	}
	ts, pre := read[o.ID]
	switch {
	case pre && len(r.TicketIDs) > 0:
		// Read with the batch's other confirmations, before this claim:
		// still a read of the tickets themselves, just before the send.
	case len(r.TicketIDs) > 0:
		ts, err = m.Tickets.Listed(ctx, o.ID, r.TicketIDs)
	default:
		ts, err = m.Tickets.ForOrder(ctx, o.ID)
	}
	if err != nil {
		return Message{}, false, fmt.Errorf("mail %s: %w", r.OrderID, err)
	}
	msg, err := Confirmation(o, ev, ts, m.SiteURL, m.QR)
	if err != nil {
		return Message{}, false, err
	}
	if len(msg.Images) == 0 {
		// Refunded before the mailer ran: no ticket to send.
		m.Log.InfoContext(ctx, "order has no valid ticket: no confirmation sent", "orderId", o.ID, "status", o.Status)
		return Message{}, false, nil
	}
	return msg, true, nil
}

// order is the cause's order: the one a confirmation carries (what the
// issuer wrote in the same transaction as the tickets: whether they are
// still valid is read from the tickets themselves), else read.
func (m *Mailer) order(ctx context.Context, r Request) (orders.Order, error) {
	if r.Kind == OrderConfirmation && r.Order != nil && r.Order.ID == r.OrderID && r.Order.Status == orders.Issued {
		return *r.Order, nil
	}
	return m.Orders.GetOrder(ctx, r.OrderID)
}

// renderOffer renders a waiting-list offer that is still live.
func (m *Mailer) renderOffer(ctx context.Context, r Request) (Message, bool, error) {
	if m.Offers == nil {
		m.Log.WarnContext(ctx, "no waiting list configured: offer email skipped", "offerId", r.OfferID)
		return Message{}, false, nil
	}
	n, ok, err := m.Offers.OfferNotice(ctx, r.EventID, r.Account, r.OfferID)
	if err != nil || !ok {
		if err == nil {
			m.Log.InfoContext(ctx, "offer no longer live: no email sent", "offerId", r.OfferID, "eventId", r.EventID)
		}
		return Message{}, false, err
	}
	msg, err := OfferMessage(n, m.SiteURL)
	return msg, err == nil, err
}

// renderTransfer renders a transfer's offer or acceptance.
func (m *Mailer) renderTransfer(ctx context.Context, r Request) (Message, bool, error) {
	if m.Transfers == nil {
		m.Log.WarnContext(ctx, "no transfers configured: transfer email skipped", "transferId", r.TransferID)
		return Message{}, false, nil
	}
	n, ok, err := m.Transfers.TransferNotice(ctx, r.Kind, r.TransferID)
	if err != nil || !ok {
		if err == nil {
			m.Log.InfoContext(ctx, "transfer has no address to write to: no email sent", "transferId", r.TransferID, "kind", r.Kind)
		}
		return Message{}, false, err
	}
	msg, err := TransferMessage(r.Kind, n, m.SiteURL)
	return msg, err == nil, err
}

// HandleBatch is the mailer function: an SQS batch of causes in, the ids
// of those to deliver again out (ReportBatchItemFailures). A body that is
// not a cause fails every time and so ends in the dead-letter queue,
// where someone can read it. The causes sent are marked SENT together
// once the batch is through (one request per 25, where one each cost a
// request per message): the window in which a crash after a send leaves
// its cause unmarked, and so sent again after the lease (ADR 24), runs to
// the batch's end instead of one write.
func (m *Mailer) HandleBatch(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var out events.SQSEventResponse
	counts := map[Outcome]int{}
	var sent []SentCause
	defer func() { m.markSent(ctx, sent) }()
	read := m.prefetch(ctx, ev.Records)
	for _, rec := range ev.Records {
		r, err := ParseRequest(rec.Body)
		var o Outcome
		if err == nil {
			var done bool
			if o, done, err = m.deliver(ctx, r, read); done {
				sent = append(sent, SentCause{Cause: r.Cause(), Kind: r.Kind})
			}
		}
		if err != nil {
			m.Log.WarnContext(ctx, "mail not sent: delivered again later", "messageId", rec.MessageId, "err", err)
			out.BatchItemFailures = append(out.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
			continue
		}
		counts[o]++
	}
	m.Log.InfoContext(ctx, "mail batch", "messages", len(ev.Records), "sent", counts[Sent], "repeats", counts[Repeat],
		"busy", counts[Held], "skipped", counts[Skipped], "failed", len(out.BatchItemFailures))
	return out, nil
}

// prefetch reads the tickets of the batch's order confirmations that
// carry their ticket ids, all in one read (one request per 100 tickets
// where each confirmation cost one). A failed read is logged and each
// confirmation reads its own, as before; so does one left out.
func (m *Mailer) prefetch(ctx context.Context, recs []events.SQSMessage) map[string][]tickets.IssuedTicket {
	want := map[string][]string{}
	for _, rec := range recs {
		r, err := ParseRequest(rec.Body)
		if err != nil || r.Kind != OrderConfirmation || len(r.TicketIDs) == 0 {
			continue
		}
		want[r.OrderID] = r.TicketIDs
	}
	if len(want) < 2 {
		return nil // one confirmation reads its own: the same one request
	}
	read, err := m.Tickets.ListedAll(ctx, want)
	if err != nil {
		m.Log.WarnContext(ctx, "tickets of the batch's confirmations not read together: each reads its own", "orders", len(want), "err", err)
		return nil
	}
	return read
}

// postponedNoticeDue reports whether a postponement's notice still says
// something true: the order still holds its tickets, the event is not
// cancelled, and no later postponement (with its own notice) replaced this
// one.
func postponedNoticeDue(r Request, o orders.Order, ev catalog.Event) bool {
	switch o.Status {
	case orders.Paid, orders.Issued, orders.IssueFailed:
	default:
		return false
	}
	if ev.Cancelled != nil || ev.Postponed == nil {
		return false
	}
	return r.Postponed == "" || r.Postponed == ev.Postponed.At.UTC().Format(time.RFC3339Nano)
}
