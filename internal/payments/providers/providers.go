// Package providers is the payment-provider registry: the one list of
// every provider StarArena can use. internal/config reads their settings,
// internal/app builds the configured ones, and the CDK app (infra/stack)
// deploys their settings and secrets and writes the site's payment config
// from it. A new provider is a package under internal/payments with a
// Descriptor function, a conformance run (paymentstest) and one line here.
package providers

import (
	"github.com/stararena/stararena/internal/payments"
	"github.com/stararena/stararena/internal/payments/sandbox"
	"github.com/stararena/stararena/internal/payments/stripe"
)

// All returns every provider's descriptor, in a fixed order: the order the
// CDK app declares their secrets and picks the site's provider in. A new
// slice each call: callers may not change the registry.
func All() []payments.Descriptor {
	return []payments.Descriptor{
		sandbox.Descriptor(),
		stripe.Descriptor(),
	}
}

// Deployable returns the providers the CDK app can deploy: every provider
// that is not local.
func Deployable() []payments.Descriptor {
	var out []payments.Descriptor
	for _, d := range All() {
		if !d.Local {
			out = append(out, d)
		}
	}
	return out
}
