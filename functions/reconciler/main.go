// Command reconciler is the "reconciler" Lambda function: EventBridge runs
// it every minute over every event, and POST /admin/v1/reconcile runs it on
// demand.
package main

import (
	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/mail/sqsmail"
	"github.com/stararena/stararena/internal/payments/providers"
	"github.com/stararena/stararena/internal/stepfunctions"
)

func main() {
	app.RunReconciler(app.Connectors{Payments: providers.All(), Flow: stepfunctions.Connect, MailQueue: sqsmail.Connect})
}
