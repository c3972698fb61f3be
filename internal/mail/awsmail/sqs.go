package awsmail

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/stararena/stararena/internal/mail"
)

// SQSQueue is the mail queue in AWS.
type SQSQueue struct {
	Client *sqs.Client
	URL    string
}

// Enqueue sends r to the queue.
func (q SQSQueue) Enqueue(ctx context.Context, r mail.Request) error {
	if q.Client == nil || q.URL == "" {
		return mail.ErrNoQueue
	}
	if _, err := q.Client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(r.Body())}); err != nil {
		return fmt.Errorf("enqueue %s for order %s: %w", r.Kind, r.OrderID, err)
	}
	return nil
}
