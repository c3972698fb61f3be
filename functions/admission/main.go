// Command admission is the "admission" Lambda function (see internal/topology).
package main

import "github.com/stararena/stararena/internal/app"

func main() { app.RunHTTP("admission", app.Connectors{}, app.AdmissionHTTP) }
