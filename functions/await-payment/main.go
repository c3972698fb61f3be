// Command await-payment is the order workflow's "await-payment" task (see
// internal/workflow/order.asl.json); Step Functions invokes it.
package main

import (
	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/stepfunctions"
)

func main() { app.RunTask("await-payment", app.Connectors{Flow: stepfunctions.Connect}) }
