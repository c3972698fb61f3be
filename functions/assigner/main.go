// Command assigner is the "assigner" Lambda function: it drains the join
// queue in batches and gives each new fan a place, with one counter write
// per batch.
package main

import "github.com/stararena/stararena/internal/app"

func main() { app.RunAssigner(app.Connectors{}) }
