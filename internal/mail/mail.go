// Package mail sends StarArena's email: what a message says, once per
// cause. A cause (an order and a kind of message) goes on the mail queue
// from wherever it happens, never on the purchase path's clock; the mailer
// function takes it off the queue, claims it with a conditional write of a
// MAIL# marker, renders it and hands it to a Sender (Amazon SES in AWS, a
// capture in the local stack). A message that keeps failing ends in the
// queue's dead-letter queue.
package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stararena/stararena/internal/orders"
)

// Kind is why a message is sent. One message per order and kind.
type Kind string

// Kinds of message.
const (
	// OrderConfirmation: the order is ISSUED; the message carries its
	// tickets.
	OrderConfirmation Kind = "order-confirmation"
	// WaitlistOffer: places came back and a fan on the waiting list is
	// offered them (internal/waitlist); the cause is the offer.
	WaitlistOffer Kind = "waitlist-offer"
	// EventCancelled: the event is cancelled and the order refunded
	// (internal/cancellation).
	EventCancelled Kind = "event-cancelled"
	// EventPostponed: the event has a new date; the tickets stay valid
	// and the buyer may ask for a refund until the organizer's deadline.
	EventPostponed Kind = "event-postponed"
	// TransferOffer: a fan offers a ticket to another (internal/
	// transfers); the cause is the transfer, the message goes to the
	// recipient's address.
	TransferOffer Kind = "transfer-offer"
	// TransferAccepted: the recipient accepted; the message confirms it
	// to the sender.
	TransferAccepted Kind = "transfer-accepted"
)

// Known reports whether k is a kind the mailer renders.
func (k Kind) Known() bool {
	switch k {
	case OrderConfirmation, WaitlistOffer, EventCancelled, EventPostponed, TransferOffer, TransferAccepted:
		return true
	}
	return false
}

// Request is one cause on the mail queue: an order and a kind, or for a
// waiting-list offer the event, the account and the offer.
type Request struct {
	OrderID string `json:"orderId,omitempty"`
	Kind    Kind   `json:"kind"`
	EventID string `json:"eventId,omitempty"`
	Account string `json:"account,omitempty"`
	OfferID string `json:"offerId,omitempty"`
	// Postponed names the postponement an event-postponed notice is for
	// (its time, RFC 3339): a later postponement is a new cause.
	Postponed string `json:"postponedAt,omitempty"`
	// TransferID names a ticket transfer (TransferOffer, TransferAccepted).
	TransferID string `json:"transferId,omitempty"`
	// Order is the ISSUED order as the issuer left it (OrderConfirmation):
	// the mailer renders from it instead of reading the order again. Its
	// tickets are still read, so a refund or transfer since is seen.
	Order *orders.Order `json:"order,omitempty"`
	// TicketIDs are the tickets the order was issued with: the mailer reads
	// them without the order's manifest. Empty: it reads the manifest.
	TicketIDs []string `json:"ticketIds,omitempty"`
}

// ConfirmationOf is the order confirmation cause of an ISSUED order,
// carrying the order (without the workflow's task token, which the message
// does not need) and the ticket ids when the caller knows them.
func ConfirmationOf(o orders.Order, ticketIDs []string) Request {
	o.TaskToken = ""
	return Request{OrderID: o.ID, Kind: OrderConfirmation, Order: &o, TicketIDs: ticketIDs}
}

// transferKind: the cause is a ticket transfer.
func (k Kind) transferKind() bool { return k == TransferOffer || k == TransferAccepted }

// Cause is the id the cause's marker is kept under: the order, the order
// and the postponement, the offer or the transfer (whose ids never look
// like an order's).
func (r Request) Cause() string {
	switch {
	case r.Kind == WaitlistOffer:
		return r.OfferID
	case r.Kind.transferKind():
		return r.TransferID
	}
	if r.Kind == EventPostponed && r.Postponed != "" {
		return r.OrderID + "@" + r.Postponed
	}
	return r.OrderID
}

// ParseRequest decodes a queue message's body.
func ParseRequest(body string) (Request, error) {
	var r Request
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return Request{}, fmt.Errorf("mail request: %w", err)
	}
	bad := func(s string) bool { return s == "" || len(s) > 256 }
	switch {
	case r.Kind == WaitlistOffer && (bad(r.EventID) || bad(r.Account) || bad(r.OfferID)):
		return Request{}, fmt.Errorf("mail request: an offer needs eventId, account and offerId, got %q", body)
	case r.Kind.transferKind() && bad(r.TransferID):
		return Request{}, fmt.Errorf("mail request: a transfer message needs a transferId, got %q", body)
	case r.Kind == OrderConfirmation && (r.OrderID == "" || len(r.OrderID) > 64):
		return Request{}, fmt.Errorf("mail request: want an orderId, got %q", body)
	case r.Order != nil && r.Order.ID != r.OrderID:
		return Request{}, fmt.Errorf("mail request: the order carried is %q, not the cause's %q", r.Order.ID, r.OrderID)
	case len(r.TicketIDs) > maxTicketIDs:
		return Request{}, fmt.Errorf("mail request: %d ticket ids, at most %d", len(r.TicketIDs), maxTicketIDs)
	case !r.Kind.Known():
		return Request{}, fmt.Errorf("mail request: unknown kind in %q", body)
	}
	return r, nil
}

// maxTicketIDs bounds the ticket ids a cause carries: far above any
// order's tickets, far below SQS's message size.
const maxTicketIDs = 100

// Body is the queue message of r.
func (r Request) Body() string {
	// Strings, numbers and times of this century only: it cannot fail.
	b, _ := json.Marshal(r)
	return string(b)
}

// Image is an inline image, referenced from the HTML part as cid:<CID>.
type Image struct {
	CID string
	PNG []byte
}

// Message is one email to one address.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
	Images  []Image
	// Cause names what the message is for (order id and kind): the
	// capture keeps it, SES gets it as message tags.
	OrderID string
	Kind    Kind
	// Account is the recipient's account when the cause names it (an
	// offer, an order's buyer): the capture finds messages by it.
	Account string
}

// Sender delivers a message. An error means it was not accepted and may be
// retried.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Queue takes a cause for the mailer.
type Queue interface {
	Enqueue(ctx context.Context, r Request) error
}

// ErrNoQueue is returned by a Queue that is not configured.
var ErrNoQueue = errors.New("mail queue not configured")

// Marker states of one cause.
const (
	// StatusSending: a mailer claimed the cause until its lease ends.
	StatusSending = "SENDING"
	// StatusSent: the sender accepted the message; never sent again.
	StatusSent = "SENT"
)

// Claim is the outcome of claiming a cause.
type Claim int

// Claims.
const (
	// Claimed: this mailer sends it.
	Claimed Claim = iota
	// AlreadySent: a mailer sent it before.
	AlreadySent
	// Busy: another mailer holds the lease; if it fails, its own delivery
	// comes back after the lease.
	Busy
)

// SentCause is a cause whose message went (or that had nothing to send):
// its marker becomes SENT.
type SentCause struct {
	Cause string
	Kind  Kind
}

// MarkerStore keeps the MAIL# markers.
type MarkerStore interface {
	// ClaimMail takes the cause unless it was sent or another mailer's
	// lease runs past now.
	ClaimMail(ctx context.Context, orderID string, kind Kind, now, leaseUntil time.Time) (Claim, error)
	// MailsSent records that the sender accepted the messages of causes
	// (a batch's, in as few requests as the store allows).
	MailsSent(ctx context.Context, causes []SentCause, now time.Time) error
	// ReleaseMail ends this mailer's lease after a failed send, so the
	// next delivery may claim it at once.
	ReleaseMail(ctx context.Context, orderID string, kind Kind) error
}
