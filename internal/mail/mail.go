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
)

// Known reports whether k is a kind the mailer renders.
func (k Kind) Known() bool {
	switch k {
	case OrderConfirmation, WaitlistOffer, EventCancelled, EventPostponed:
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
}

// Cause is the id the cause's marker is kept under: the order, the order
// and the postponement, or the offer (whose ids never look like an
// order's).
func (r Request) Cause() string {
	if r.Kind == WaitlistOffer {
		return r.OfferID
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
	case r.Kind == OrderConfirmation && (r.OrderID == "" || len(r.OrderID) > 64):
		return Request{}, fmt.Errorf("mail request: want an orderId, got %q", body)
	case !r.Kind.Known():
		return Request{}, fmt.Errorf("mail request: unknown kind in %q", body)
	}
	return r, nil
}

// Body is the queue message of r.
func (r Request) Body() string {
	b, _ := json.Marshal(r) // strings only: cannot fail
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
	// offer): the capture finds messages by it.
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

// MarkerStore keeps the MAIL# markers.
type MarkerStore interface {
	// ClaimMail takes the cause unless it was sent or another mailer's
	// lease runs past now.
	ClaimMail(ctx context.Context, orderID string, kind Kind, now, leaseUntil time.Time) (Claim, error)
	// MailSent records that the sender accepted the message.
	MailSent(ctx context.Context, orderID string, kind Kind, now time.Time) error
	// ReleaseMail ends this mailer's lease after a failed send, so the
	// next delivery may claim it at once.
	ReleaseMail(ctx context.Context, orderID string, kind Kind) error
}
