// Command inlet is the "inlet" Lambda function: EventBridge runs it every
// minute and it advances every live waiting room every few seconds.
package main

import "github.com/stararena/stararena/internal/app"

func main() { app.RunInlet(app.Connectors{}) }
