// Command confirm-payment is the order workflow's "confirm-payment" task (see
// internal/workflow/order.asl.json); Step Functions invokes it.
package main

import "github.com/stararena/stararena/internal/app"

func main() { app.RunTask("confirm-payment") }
