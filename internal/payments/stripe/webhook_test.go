package stripe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/payments"
	"github.com/stararena/stararena/internal/payments/paymentstest"
)

// v1 is Stripe's v1 signature, computed here from its definition
// (hex HMAC-SHA256 under the secret of "<unix seconds>.<body>"), not with
// the code under test.
func v1(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.", ts)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func TestWebhookSignature(t *testing.T) {
	p := newProvider(t, "http://127.0.0.1:1", nil)
	now := time.Unix(1_800_000_000, 0)
	ts := now.Unix()
	body := paymentstest.Event("evt_1", payments.EventPaymentSucceeded, APIVersion, now.Add(-time.Minute), paymentstest.Intent("pi_1", "o-1", "succeeded"))
	good := v1(webhookSecret, ts, body)
	other := v1("whsec_other", ts, body)

	for _, c := range []struct {
		name   string
		header string
		body   []byte
		now    time.Time
		want   error // nil: accepted
	}{
		{"Valid", fmt.Sprintf("t=%d,v1=%s", ts, good), body, now, nil},
		{"WrongSecret", fmt.Sprintf("t=%d,v1=%s", ts, other), body, now, payments.ErrBadSignature},
		{"BodyChangedByOneSpace", fmt.Sprintf("t=%d,v1=%s", ts, good), append([]byte(" "), body...), now, payments.ErrBadSignature},
		{"TimestampChanged", fmt.Sprintf("t=%d,v1=%s", ts+1, good), body, now, payments.ErrBadSignature},
		{"SignatureNotHex", fmt.Sprintf("t=%d,v1=%s", ts, strings.Repeat("zz", 32)), body, now, payments.ErrBadSignature},
		{"SignatureTruncated", fmt.Sprintf("t=%d,v1=%s", ts, good[:40]), body, now, payments.ErrBadSignature},
		{"SeveralV1MatchingLast", fmt.Sprintf("t=%d,v1=%s,v1=%s,v1=%s", ts, other, strings.Repeat("00", 32), good), body, now, nil},
		{"SeveralV1MatchingFirst", fmt.Sprintf("t=%d,v1=%s,v1=%s", ts, good, other), body, now, nil},
		{"SeveralV1NoneMatching", fmt.Sprintf("t=%d,v1=%s,v1=%s", ts, other, strings.Repeat("ab", 32)), body, now, payments.ErrBadSignature},
		{"V0Ignored", fmt.Sprintf("t=%d,v0=%s,v1=%s", ts, other, good), body, now, nil},
		{"OnlyV0", fmt.Sprintf("t=%d,v0=%s", ts, good), body, now, payments.ErrMalformed},
		{"NoTimestamp", "v1=" + good, body, now, payments.ErrMalformed},
		{"Empty", "", body, now, payments.ErrMalformed},
		{"SignedAtTheToleranceBefore", fmt.Sprintf("t=%d,v1=%s", ts, good), body, now.Add(300 * time.Second), nil},
		{"SignedAtTheToleranceAfter", fmt.Sprintf("t=%d,v1=%s", ts, good), body, now.Add(-300 * time.Second), nil},
		{"Old", fmt.Sprintf("t=%d,v1=%s", ts, good), body, now.Add(301 * time.Second), payments.ErrStale},
		{"Future", fmt.Sprintf("t=%d,v1=%s", ts, good), body, now.Add(-301 * time.Second), payments.ErrStale},
		{"ForgedAndOldIsForged", fmt.Sprintf("t=%d,v1=%s", ts, other), body, now.Add(time.Hour), payments.ErrBadSignature},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev, err := p.ParseWebhook(c.body, c.header, c.now)
			if c.want == nil {
				if err != nil || ev.ID != "evt_1" || ev.PaymentID != "pi_1" || ev.OrderID != "o-1" {
					t.Fatalf("ParseWebhook = %+v, %v; want evt_1 for pi_1", ev, err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("ParseWebhook: %v, want %v", err, c.want)
			}
		})
	}
}

func TestWebhookPayload(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	signed := func(b []byte) string { return fmt.Sprintf("t=%d,v1=%s", now.Unix(), v1(webhookSecret, now.Unix(), b)) }
	intent := paymentstest.Intent("pi_1", "o-1", "succeeded")
	strict := newProvider(t, "http://127.0.0.1:1", nil)
	lax := newProvider(t, "http://127.0.0.1:1", func(o *Options) { o.IgnoreAPIVersionMismatch = true })

	for _, c := range []struct {
		name       string
		body       []byte
		strictWant error
		laxWant    error
	}{
		{"OurVersion", paymentstest.Event("evt_1", "payment_intent.succeeded", APIVersion, now, intent), nil, nil},
		{"SameTrainOtherDate", paymentstest.Event("evt_1", "payment_intent.succeeded", "2026-06-30.clover", now, intent), nil, nil},
		{"OtherTrain", paymentstest.Event("evt_1", "payment_intent.succeeded", "2025-09-30.basil", now, intent), payments.ErrBadPayload, nil},
		{"NoVersion", paymentstest.Event("evt_1", "payment_intent.succeeded", "", now, intent), payments.ErrBadPayload, nil},
		{"VersionWithoutTrain", paymentstest.Event("evt_1", "payment_intent.succeeded", "clover", now, intent), payments.ErrBadPayload, nil},
		{"DataAfterTheEvent", append(paymentstest.Event("evt_1", "payment_intent.succeeded", APIVersion, now, intent), []byte(" {}")...),
			payments.ErrBadPayload, payments.ErrBadPayload},
		{"NoDataObject", []byte(`{"id":"evt_1","object":"event","type":"payment_intent.succeeded","created":1,"api_version":"` + APIVersion + `","data":{}}`),
			payments.ErrBadPayload, payments.ErrBadPayload},
		{"CreatedNotANumber", []byte(`{"id":"evt_1","object":"event","type":"x","created":"1","api_version":"` + APIVersion + `","data":{"object":{}}}`),
			payments.ErrBadPayload, payments.ErrBadPayload},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, v := range []struct {
				name string
				p    *Provider
				want error
			}{{"strict", strict, c.strictWant}, {"lax", lax, c.laxWant}} {
				ev, err := v.p.ParseWebhook(c.body, signed(c.body), now)
				if v.want == nil && (err != nil || ev.PaymentID != "pi_1") {
					t.Errorf("%s: %+v, %v; want accepted", v.name, ev, err)
				}
				if v.want != nil && !errors.Is(err, v.want) {
					t.Errorf("%s: %v, want %v", v.name, err, v.want)
				}
			}
		})
	}

	// A signed body that cannot be read is reported as such even when it is
	// also stale, as stripe-go's order of checks had it.
	t.Run("UnreadableBeforeStale", func(t *testing.T) {
		b := []byte("not json")
		if _, err := strict.ParseWebhook(b, signed(b), now.Add(time.Hour)); !errors.Is(err, payments.ErrBadPayload) {
			t.Fatalf("stale unreadable body: %v, want ErrBadPayload", err)
		}
	})
}

func TestReleaseTrain(t *testing.T) {
	for _, c := range []struct {
		event, ours string
		want        bool
	}{
		{"2026-02-25.clover", "2026-02-25.clover", true},
		{"2025-11-17.clover", "2026-02-25.clover", true},
		{"2025-09-30.basil", "2026-02-25.clover", false},
		{"2026-02-25", "2026-02-25.clover", false},
		{"", "2026-02-25.clover", false},
		{"2026-02-25.clover.extra", "2026-02-25.clover", true},
		{"2026-03-01.preview", "2026-03-01.preview", true},
		{"2026-03-02.preview", "2026-03-01.preview", false},
	} {
		if got := sameReleaseTrain(c.event, c.ours); got != c.want {
			t.Errorf("sameReleaseTrain(%q, %q) = %v, want %v", c.event, c.ours, got, c.want)
		}
	}
	if releaseTrain(APIVersion) != "clover" {
		t.Fatalf("APIVersion %s is not of the clover train the webhook endpoint was created with", APIVersion)
	}
}
