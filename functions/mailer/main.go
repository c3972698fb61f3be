// Command mailer is the "mailer" Lambda function: it drains the mail queue
// and sends each cause's message once through Amazon SES.
package main

import (
	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/mail/sesmail"
	"github.com/stararena/stararena/internal/ticketqr"
)

func main() { app.RunMailer(app.Connectors{MailSender: sesmail.Connect, QR: ticketqr.Render}) }
