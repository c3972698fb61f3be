package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stararena/stararena/internal/config"
	"github.com/stararena/stararena/internal/mail"
	"github.com/stararena/stararena/internal/topology"
	"github.com/stararena/stararena/internal/transfers"
)

// mailQueueRef resolves the mail queue at call time: the local stack
// starts its queues after the services exist.
type mailQueueRef struct{ a *App }

func (m mailQueueRef) Enqueue(ctx context.Context, r mail.Request) error {
	if m.a.MailQueue == nil {
		return mail.ErrNoQueue
	}
	return m.a.MailQueue.Enqueue(ctx, r)
}

// buildMail wires the mail queue (c.MailQueue when MAIL_QUEUE_URL is set)
// and the mailer with sender.
func (a *App) buildMail(ctx context.Context, cfg config.Config, sender mail.Sender, c Connectors) error {
	if cfg.MailQueueURL != "" {
		if c.MailQueue == nil {
			return errNotLinked("MAIL_QUEUE_URL", "the mail queue")
		}
		q, err := c.MailQueue(ctx, cfg)
		if err != nil {
			return err
		}
		a.MailQueue = q
	}
	lease := time.Minute
	for _, q := range a.Topology.Queues {
		if q.Name == topology.MailQueue {
			lease = q.VisibilityTimeout
		}
	}
	// The mailer reads the event itself for notices, not the instance's
	// copy: whether a notice still stands (the event cancelled, a later
	// postponement) is decided on it, and a copy older than the change
	// would drop a notice of that very change. A confirmation decides
	// nothing on the event (its tickets say whether it is still due), so
	// it renders from the copy, as its ticket codes' expiry already does.
	a.Mailer = &mail.Mailer{Markers: a.Stores.Mail, Offers: a.Waitlist, Transfers: transferMail{a}, Orders: a.Stores.Orders, Events: a.Catalog,
		RecentEvents: a.HotEvents, Tickets: a.Tickets,
		Sender: sender, QR: c.QR, SiteURL: cfg.SiteURL, Lease: lease, Clock: a.Clock, Log: a.Log}
	return nil
}

// transferMail queues a transfer's messages (transfers.Notifier) and
// reads what they say (mail.TransferReader).
type transferMail struct{ a *App }

func (m transferMail) Offered(ctx context.Context, t transfers.Transfer) error {
	return mailQueueRef(m).Enqueue(ctx, mail.Request{Kind: mail.TransferOffer, TransferID: t.ID, EventID: t.EventID})
}

func (m transferMail) Accepted(ctx context.Context, t transfers.Transfer) error {
	return mailQueueRef(m).Enqueue(ctx, mail.Request{Kind: mail.TransferAccepted, TransferID: t.ID, EventID: t.EventID})
}

// TransferNotice writes an offer to the address the sender named (an
// offer to an account id has no address: the recipient finds it under My
// tickets), and an acceptance to the sender's address.
func (m transferMail) TransferNotice(ctx context.Context, kind mail.Kind, id string) (mail.TransferNotice, bool, error) {
	t, found, err := m.a.Stores.Transfers.Transfer(ctx, id)
	if err != nil || !found {
		return mail.TransferNotice{}, false, err
	}
	n := mail.TransferNotice{TransferID: t.ID, Seat: t.Seat, From: cmp.Or(t.FromEmail, t.From), AcceptedBy: t.AcceptedBy}
	switch {
	case kind == mail.TransferOffer && t.ToEmail:
		n.To = t.To
	case kind == mail.TransferAccepted && t.Status == transfers.Accepted:
		n.To, n.Account = t.FromEmail, t.From
	}
	if n.To == "" {
		return mail.TransferNotice{}, false, nil
	}
	if n.Event, err = m.a.Catalog.Get(ctx, t.EventID); err != nil {
		return mail.TransferNotice{}, false, fmt.Errorf("event %s of transfer %s: %w", t.EventID, id, err)
	}
	return n, true, nil
}

// errNoSender answers every send of a mailer without a sender, so the
// causes wait in the queue (and then its dead-letter queue) rather than
// vanish.
var errNoSender = errors.New("mail sender not configured (MAIL_FROM)")

type noSender struct{}

func (noSender) Send(context.Context, mail.Message) error { return errNoSender }

// MailerHandler is the "mailer" function: an SQS batch of causes in, the
// ids of those to deliver again out.
func (a *App) MailerHandler() func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	return a.Mailer.HandleBatch
}

// newSender is the configuration's sender: c.MailSender's from MAIL_FROM,
// or none.
func newSender(ctx context.Context, cfg config.Config, c Connectors) (mail.Sender, error) {
	if cfg.MailFrom == "" {
		return noSender{}, nil
	}
	if c.MailSender == nil {
		return nil, errNotLinked("MAIL_FROM", "the mail sender")
	}
	return c.MailSender(ctx, cfg)
}
