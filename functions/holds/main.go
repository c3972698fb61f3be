// Command holds is the "holds" Lambda function (see internal/topology).
package main

import (
	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/stepfunctions"
)

func main() { app.RunHTTP("holds", app.Connectors{Flow: stepfunctions.Connect}, app.HoldsHTTP) }
