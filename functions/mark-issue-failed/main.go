// Command mark-issue-failed is the order workflow's "mark-issue-failed" task (see
// internal/workflow/order.asl.json); Step Functions invokes it.
package main

import "github.com/stararena/stararena/internal/app"

func main() { app.RunTask("mark-issue-failed", app.Connectors{}) }
