// Command admin is the "admin" Lambda function (see internal/topology).
package main

import "github.com/stararena/stararena/internal/app"

func main() { app.RunHTTP("admin") }
