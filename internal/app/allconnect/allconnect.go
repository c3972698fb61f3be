// Package allconnect gives the wiring every connector: the local stack,
// the test fixtures and the tools link everything, where each Lambda main
// passes only what its function uses (app.Connectors).
package allconnect

import (
	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/botlevel/wafedge"
	"github.com/stararena/stararena/internal/mail/sesmail"
	"github.com/stararena/stararena/internal/mail/sqsmail"
	"github.com/stararena/stararena/internal/payments/providers"
	"github.com/stararena/stararena/internal/stepfunctions"
	"github.com/stararena/stararena/internal/ticketqr"
)

// Connectors returns every connector.
func Connectors() app.Connectors {
	return app.Connectors{
		Payments:   providers.All(),
		Flow:       stepfunctions.Connect,
		MailQueue:  sqsmail.Connect,
		MailSender: sesmail.Connect,
		BotLevel:   wafedge.Connect,
		QR:         ticketqr.Render,
	}
}
