// Command webhooks is the "webhooks" Lambda function (see internal/topology).
package main

import (
	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/payments/providers"
	"github.com/stararena/stararena/internal/stepfunctions"
)

func main() {
	app.RunHTTP("webhooks", app.Connectors{Payments: providers.All(), Flow: stepfunctions.Connect}, app.WebhooksHTTP)
}
