// Command queue is the "queue" Lambda function: the waiting room's reads
// (a fan's place, the CDN-cached queue status, the published draw).
package main

import "github.com/stararena/stararena/internal/app"

func main() { app.RunHTTP("queue", app.Connectors{}, app.QueueHTTP) }
