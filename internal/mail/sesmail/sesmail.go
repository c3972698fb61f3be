// Package sesmail is the mail sender in AWS: Amazon SES through the SESv2
// API. Its own package so that only the function that sends mail (the
// mailer) links the SES client.
package sesmail

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/stararena/stararena/internal/awsconf"
	"github.com/stararena/stararena/internal/config"
	"github.com/stararena/stararena/internal/mail"
)

// SES sends through Amazon SES (the SESv2 API) from From, an address of
// the domain identity, with the configuration set that suppresses bounced
// and complaining addresses.
type SES struct {
	Client           *sesv2.Client
	From             string
	ConfigurationSet string
}

// Send hands m to SES as a raw MIME message, so the QR images travel
// inline.
func (s SES) Send(ctx context.Context, m mail.Message) error {
	raw, err := m.MIME(s.From)
	if err != nil {
		return err
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.From),
		Destination:      &sestypes.Destination{ToAddresses: []string{m.To}},
		Content:          &sestypes.EmailContent{Raw: &sestypes.RawMessage{Data: raw}},
		EmailTags:        []sestypes.MessageTag{{Name: aws.String("kind"), Value: aws.String(string(m.Kind))}},
	}
	if s.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(s.ConfigurationSet)
	}
	if _, err := s.Client.SendEmail(ctx, in); err != nil {
		return fmt.Errorf("ses send %s for order %s: %w", m.Kind, m.OrderID, err)
	}
	return nil
}

// Connect is the configuration's SES sender (MAIL_FROM,
// MAIL_CONFIGURATION_SET): the wiring's MailSender connector.
func Connect(ctx context.Context, cfg config.Config) (mail.Sender, error) {
	awsCfg, err := awsconf.Load(ctx, awsconf.Options{Region: cfg.Region, Service: "SESV2"})
	if err != nil {
		return nil, fmt.Errorf("ses client: %w", err)
	}
	return SES{Client: sesv2.NewFromConfig(awsCfg), From: cfg.MailFrom, ConfigurationSet: cfg.MailConfigurationSet}, nil
}
