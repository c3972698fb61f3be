// Command admin is the "admin" Lambda function (see internal/topology).
package main

import (
	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/botlevel/wafedge"
	"github.com/stararena/stararena/internal/mail/sqsmail"
	"github.com/stararena/stararena/internal/payments/providers"
)

func main() {
	app.RunHTTP("admin", app.Connectors{Payments: providers.All(), BotLevel: wafedge.Connect, MailQueue: sqsmail.Connect}, app.AdminHTTP)
}
