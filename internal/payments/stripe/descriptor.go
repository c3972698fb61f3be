package stripe

import "github.com/stararena/stararena/internal/payments"

// Environment variables of the Stripe provider.
const (
	EnvAPIKey        = "STRIPE_API_KEY"
	EnvWebhookSecret = "STRIPE_WEBHOOK_SECRET"
	EnvAPIBase       = "STRIPE_API_BASE"
)

// Descriptor is the Stripe provider's entry in the provider registry
// (internal/payments/providers). The API key turns it on; only the webhook
// receiver needs the webhook secret; STRIPE_API_BASE points a local run at
// a stripe-mock and is never deployed. The site takes the payment with
// Stripe's Payment Element (web/pay-stripe.js), which needs the account's
// publishable key.
func Descriptor() payments.Descriptor {
	return payments.Descriptor{
		Name:  Name,
		Title: "Stripe",
		Settings: []payments.Setting{
			{Env: EnvAPIKey, Required: true, Secret: true, Field: "apiKey", Example: "sk_..."},
			{Env: EnvWebhookSecret, Secret: true, Use: payments.UseWebhooks, Field: "webhookSecret", Example: "whsec_..."},
			{Env: EnvAPIBase, Use: payments.UseLocal, Example: "http://127.0.0.1:12111"},
		},
		New: func(v payments.Values) (payments.Provider, error) {
			p, err := New(Options{APIKey: v[EnvAPIKey], WebhookSecret: v[EnvWebhookSecret], APIBase: v[EnvAPIBase]})
			if err != nil {
				return nil, err
			}
			return p, nil
		},
		Site: payments.Site{Script: "pay-stripe.js", Public: []string{"publishableKey"}},
	}
}
