// Command orders is the "orders" Lambda function (see internal/topology).
package main

import (
	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/mail/sqsmail"
	"github.com/stararena/stararena/internal/payments/providers"
	"github.com/stararena/stararena/internal/ticketqr"
)

func main() {
	app.RunHTTP("orders", app.Connectors{Payments: providers.All(), QR: ticketqr.Render, MailQueue: sqsmail.Connect}, app.OrdersHTTP)
}
