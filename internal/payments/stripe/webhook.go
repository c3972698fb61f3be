package stripe

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/stararena/stararena/internal/payments"
)

// ParseWebhook verifies a Stripe webhook and maps it (see the package
// comment). The checks run in this order, each with its error: the
// header's shape (ErrMalformed), a configured secret and a v1 signature
// of the body under it (ErrBadSignature), the body as an event of this
// API version's release train (ErrBadPayload), the signed time within
// payments.DefaultTolerance of now either way (ErrStale).
func (p *Provider) ParseWebhook(payload []byte, signatureHeader string, now time.Time) (payments.WebhookEvent, error) {
	sig, err := payments.ParseSignatureHeader(signatureHeader)
	if err != nil {
		return payments.WebhookEvent{}, err
	}
	if p.opts.WebhookSecret == "" {
		return payments.WebhookEvent{}, fmt.Errorf("%w: no webhook secret configured", payments.ErrBadSignature)
	}
	if !sig.Match(p.opts.WebhookSecret, payload) {
		return payments.WebhookEvent{}, fmt.Errorf("%w: no v1 signature matches the body", payments.ErrBadSignature)
	}
	ev, err := decodeEvent(payload, p.opts.IgnoreAPIVersionMismatch)
	if err != nil {
		return payments.WebhookEvent{}, err
	}
	if !sig.Within(now, payments.DefaultTolerance) {
		return payments.WebhookEvent{}, fmt.Errorf("%w: signed at %s, now %s", payments.ErrStale,
			sig.Timestamp.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return payments.EventFromObject(ev.ID, ev.Type, ev.Created, ev.Data.Object)
}

// event is the part of a Stripe event the provider reads.
type event struct {
	ID         string  `json:"id"`
	Object     string  `json:"object"`
	Type       string  `json:"type"`
	Created    int64   `json:"created"`
	APIVersion *string `json:"api_version"`
	Data       *struct {
		Object map[string]any `json:"object"`
	} `json:"data"`
}

// decodeEvent reads a verified body: one JSON event ("object": "event")
// with a data.object, of APIVersion's release train unless ignoreVersion.
// Errors wrap ErrBadPayload.
func decodeEvent(payload []byte, ignoreVersion bool) (event, error) {
	var ev event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return ev, fmt.Errorf("%w: the body is not a JSON event: %v", payments.ErrBadPayload, err)
	}
	if ev.Object != "event" {
		return ev, fmt.Errorf("%w: the body's object is %.40q, not an event", payments.ErrBadPayload, ev.Object)
	}
	if !ignoreVersion {
		v := ""
		if ev.APIVersion != nil {
			v = *ev.APIVersion
		}
		if !sameReleaseTrain(v, APIVersion) {
			return ev, fmt.Errorf("%w: event %s has API version %.40q; this provider reads API version %s (release train %s): "+
				"create the webhook endpoint with such a version, or set IgnoreAPIVersionMismatch",
				payments.ErrBadPayload, ev.ID, v, APIVersion, releaseTrain(APIVersion))
		}
	}
	if ev.Data == nil || ev.Data.Object == nil {
		return ev, fmt.Errorf("%w: event %s has no data.object", payments.ErrBadPayload, ev.ID)
	}
	return ev, nil
}

// sameReleaseTrain reports whether an event's API version
// ("2026-02-25.clover") is of ours' release train (the part after the
// date: "clover"), whose versions change no object incompatibly. A preview
// version ("….preview") must be ours exactly.
func sameReleaseTrain(eventVersion, ours string) bool {
	train := releaseTrain(ours)
	if train == "preview" {
		return eventVersion == ours
	}
	return strings.Contains(eventVersion, ".") && releaseTrain(eventVersion) == train
}

// releaseTrain is the second dot-separated part of an API version.
func releaseTrain(version string) string {
	_, rest, _ := strings.Cut(version, ".")
	train, _, _ := strings.Cut(rest, ".")
	return train
}
