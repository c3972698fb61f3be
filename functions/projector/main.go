// Command projector is the "projector" Lambda function: it applies the
// table's seat and GA shard change records (DynamoDB Streams) to the
// availability projections.
package main

import "github.com/stararena/stararena/internal/app"

func main() { app.RunProjector(app.Connectors{}) }
