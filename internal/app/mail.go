package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/stararena/stararena/internal/awsconf"
	"github.com/stararena/stararena/internal/config"
	"github.com/stararena/stararena/internal/mail"
	"github.com/stararena/stararena/internal/mail/awsmail"
	"github.com/stararena/stararena/internal/topology"
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

// buildMail wires the mail queue (SQS when MAIL_QUEUE_URL is set) and the
// mailer with sender (nil: the configuration's, SES when MAIL_FROM is set).
func (a *App) buildMail(ctx context.Context, cfg config.Config, sender mail.Sender) error {
	if cfg.MailQueueURL != "" {
		awsCfg, err := awsconf.Load(ctx, awsconf.Options{Region: cfg.Region, Service: "SQS"})
		if err != nil {
			return fmt.Errorf("sqs client: %w", err)
		}
		a.MailQueue = awsmail.SQSQueue{Client: sqs.NewFromConfig(awsCfg), URL: cfg.MailQueueURL}
	}
	lease := time.Minute
	for _, q := range a.Topology.Queues {
		if q.Name == topology.MailQueue {
			lease = q.VisibilityTimeout
		}
	}
	// A message names the event from the instance's copy (HotEvents): an
	// organizer's rename reaches mail within the TTL.
	a.Mailer = &mail.Mailer{Markers: a.Stores.Mail, Offers: a.Waitlist, Orders: a.Stores.Orders, Events: a.HotEvents, Tickets: a.Tickets,
		Sender: sender, SiteURL: cfg.SiteURL, Lease: lease, Clock: a.Clock, Log: a.Log}
	return nil
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

// newSender is the configuration's sender: SES from MAIL_FROM, or none.
func newSender(ctx context.Context, cfg config.Config) (mail.Sender, error) {
	if cfg.MailFrom == "" {
		return noSender{}, nil
	}
	awsCfg, err := awsconf.Load(ctx, awsconf.Options{Region: cfg.Region, Service: "SESV2"})
	if err != nil {
		return nil, fmt.Errorf("ses client: %w", err)
	}
	return awsmail.SES{Client: sesv2.NewFromConfig(awsCfg), From: cfg.MailFrom, ConfigurationSet: cfg.MailConfigurationSet}, nil
}
