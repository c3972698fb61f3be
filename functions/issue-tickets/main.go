// Command issue-tickets is the order workflow's "issue-tickets" task (see
// internal/workflow/order.asl.json); Step Functions invokes it.
package main

import (
	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/mail/sqsmail"
)

func main() { app.RunTask("issue-tickets", app.Connectors{MailQueue: sqsmail.Connect}) }
