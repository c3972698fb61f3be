package sandbox

import "github.com/stararena/stararena/internal/payments"

// Descriptor is the sandbox's entry in the provider registry
// (internal/payments/providers). The local stack builds the sandbox itself
// (its webhooks go to the stack's own URL), so it reads no settings and is
// never deployed; fans pay on its hosted page (checkoutUrl).
func Descriptor() payments.Descriptor {
	return payments.Descriptor{Name: Name, Title: "Sandbox", Local: true}
}
