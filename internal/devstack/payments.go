package devstack

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/stararena/stararena/internal/payments/sandbox"
)

// startMoney creates the sandbox payment provider, which delivers its
// webhooks to this stack's POST /webhooks/sandbox.
func (st *Stack) startMoney(o Options, url string) error {
	secret := o.SandboxSecret
	if secret == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		secret = "whsec_" + hex.EncodeToString(b)
	}
	box, err := sandbox.New(sandbox.Options{WebhookURL: url + "/webhooks/sandbox", Secret: secret, Clock: o.Clock,
		TimeScale: o.TimeScale, CheckoutBaseURL: url, Logger: o.Logger})
	if err != nil {
		return err
	}
	st.Sandbox = box
	return nil
}
