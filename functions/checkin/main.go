// Command checkin is the "checkin" Lambda function (see internal/topology).
package main

import "github.com/stararena/stararena/internal/app"

func main() { app.RunHTTP("checkin", app.Connectors{}, app.CheckInHTTP) }
