// Command reconciler is the "reconciler" Lambda function: EventBridge runs
// it every minute over every event, and POST /admin/v1/reconcile runs it on
// demand.
package main

import "github.com/stararena/stararena/internal/app"

func main() { app.RunReconciler() }
