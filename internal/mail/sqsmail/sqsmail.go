// Package sqsmail is the mail queue in AWS: Amazon SQS. Its own package so
// that only the functions that queue mail link the SQS client
// (internal/awsjson's: the SDK's brings the whole SQS model for one call).
package sqsmail

import (
	"context"
	"fmt"

	"github.com/stararena/stararena/internal/awsconf"
	"github.com/stararena/stararena/internal/awsjson"
	"github.com/stararena/stararena/internal/config"
	"github.com/stararena/stararena/internal/mail"
)

// SQSQueue is the mail queue in AWS.
type SQSQueue struct {
	Client *awsjson.SQS
	URL    string
}

// Enqueue sends r to the queue.
func (q SQSQueue) Enqueue(ctx context.Context, r mail.Request) error {
	if q.Client == nil || q.URL == "" {
		return mail.ErrNoQueue
	}
	if _, err := q.Client.SendMessage(ctx, q.URL, r.Body()); err != nil {
		return fmt.Errorf("enqueue %s for order %s: %w", r.Kind, r.OrderID, err)
	}
	return nil
}

// Connect is the configuration's mail queue (MAIL_QUEUE_URL): the wiring's
// MailQueue connector.
func Connect(ctx context.Context, cfg config.Config) (mail.Queue, error) {
	awsCfg, err := awsconf.Load(ctx, awsconf.Options{Region: cfg.Region, Service: "SQS"})
	if err != nil {
		return nil, fmt.Errorf("sqs client: %w", err)
	}
	return SQSQueue{Client: awsjson.NewSQS(awsCfg), URL: cfg.MailQueueURL}, nil
}
