// Command catalog is the "catalog" Lambda function (see internal/topology).
package main

import "github.com/stararena/stararena/internal/app"

func main() { app.RunHTTP("catalog", app.Connectors{}, app.CatalogHTTP) }
