package app

import (
	"context"
	"fmt"

	"github.com/stararena/stararena/internal/botlevel"
	"github.com/stararena/stararena/internal/config"
	"github.com/stararena/stararena/internal/mail"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/payments"
	"github.com/stararena/stararena/internal/tickets"
	"github.com/stararena/stararena/internal/topology"
)

// Connectors are the parts of the wiring that bring a client of their own:
// AWS services other than DynamoDB and Secrets Manager, the payment
// providers and the QR encoder. New builds every service the same way in
// every function and in the local stack; only these differ, so that each
// Lambda main passes what its topology access declares and its binary
// links nothing else (TestEachFunctionLinksOnlyWhatItUses). A part the
// configuration turns on without its connector is a start-up error.
// internal/app/allconnect has them all, for the local stack and tools.
type Connectors struct {
	// Payments is the provider registry the configuration is read with
	// (internal/payments/providers' All): functions with payment access.
	Payments []payments.Descriptor
	// Flow drives the order workflow on STATE_MACHINE_ARN
	// (stepfunctions.Connect): functions with workflow access.
	Flow func(ctx context.Context, cfg config.Config) (orders.Workflow, error)
	// MailQueue queues mail on MAIL_QUEUE_URL (sqsmail.Connect): functions
	// that send to the mail queue.
	MailQueue func(ctx context.Context, cfg config.Config) (mail.Queue, error)
	// MailSender sends from MAIL_FROM (sesmail.Connect): the mailer.
	MailSender func(ctx context.Context, cfg config.Config) (mail.Sender, error)
	// BotLevel is the edge of CAPTCHA_EVENTS_ARN (wafedge.Connect): the
	// function with bot-level access.
	BotLevel func(ctx context.Context, cfg config.Config, topo topology.Topology) (botlevel.Edge, error)
	// QR draws ticket codes as images (ticketqr.Render): the functions
	// that show a fan's tickets or mail them.
	QR tickets.QRRenderer
}

// errNotLinked says the configuration turns on a part this build left out.
func errNotLinked(setting, part string) error {
	return fmt.Errorf("%s is set but this function is built without %s: its topology access does not declare it", setting, part)
}
