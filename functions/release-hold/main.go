// Command release-hold is the order workflow's "release-hold" task (see
// internal/workflow/order.asl.json); Step Functions invokes it.
package main

import "github.com/stararena/stararena/internal/app"

func main() { app.RunTask("release-hold", app.Connectors{}) }
