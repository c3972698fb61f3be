// Command confirm-payment is the order workflow's "confirm-payment" task (see
// internal/workflow/order.asl.json); Step Functions invokes it.
package main

import (
	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/payments/providers"
	"github.com/stararena/stararena/internal/stepfunctions"
)

func main() {
	app.RunTask("confirm-payment", app.Connectors{Payments: providers.All(), Flow: stepfunctions.Connect})
}
