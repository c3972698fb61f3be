package payments

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stararena/stararena/internal/limits"
)

// SignatureHeader is the HTTP header carrying a webhook signature, for
// Stripe and for the sandbox alike.
const SignatureHeader = "Stripe-Signature"

// DefaultTolerance is how far a signed timestamp may be from now, either
// way, before ParseWebhook refuses it (Stripe's default, 300 s).
const DefaultTolerance = 300 * time.Second

// maxHeaderLength bounds the work Verify does on hostile input.
const maxHeaderLength = limits.SignatureHeaderBytes

// Sign returns a signature header for payload at time t in Stripe's scheme:
//
//	t=<unix seconds>,v1=<hex hmac-sha256(secret, "<unix seconds>.<payload>")>
func Sign(secret string, payload []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, payload))
}

func mac(secret, ts string, payload []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(payload)
	return m.Sum(nil)
}

// ParsedSignature is a signature header taken apart.
type ParsedSignature struct {
	Timestamp time.Time
	// V1 holds the hex text of every v1 element, in order (several during
	// a secret roll). They are not checked to be hex.
	V1 []string
	ts string // the timestamp as signed
}

// ParseSignatureHeader reads "t=<unix>,v1=<hex>[,v1=<hex>...]". Elements
// with other keys (Stripe's v0 in test mode, future schemes) are skipped.
// It returns ErrMalformed for an empty or over-long header, an element
// without "=", a missing, repeated or non-canonical timestamp (digits only,
// no sign, no leading zero) or no v1 element at all.
func ParseSignatureHeader(header string) (ParsedSignature, error) {
	var p ParsedSignature
	if header == "" {
		return p, fmt.Errorf("%w: empty", ErrMalformed)
	}
	if len(header) > maxHeaderLength {
		return p, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, maxHeaderLength)
	}
	seenT := false
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || k == "" {
			return p, fmt.Errorf("%w: element %q is not key=value", ErrMalformed, clip(part))
		}
		switch k {
		case "t":
			if seenT {
				return p, fmt.Errorf("%w: repeated timestamp", ErrMalformed)
			}
			seenT = true
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 || strconv.FormatInt(n, 10) != v {
				return p, fmt.Errorf("%w: timestamp %q is not unix seconds", ErrMalformed, clip(v))
			}
			p.Timestamp, p.ts = time.Unix(n, 0).UTC(), v
		case "v1":
			p.V1 = append(p.V1, v)
		}
	}
	if !seenT {
		return p, fmt.Errorf("%w: no timestamp", ErrMalformed)
	}
	if len(p.V1) == 0 {
		return p, fmt.Errorf("%w: no v1 signature", ErrMalformed)
	}
	return p, nil
}

// Match reports whether one of p's v1 signatures is the HMAC of payload
// under secret (constant time per candidate). An empty secret matches
// nothing.
func (p ParsedSignature) Match(secret string, payload []byte) bool {
	if secret == "" || p.ts == "" {
		return false
	}
	want := mac(secret, p.ts, payload)
	ok := false
	for _, s := range p.V1 {
		got, err := hex.DecodeString(s)
		if err == nil && hmac.Equal(got, want) {
			ok = true // keep going: no early exit to time
		}
	}
	return ok
}

// Within reports whether p's timestamp is at most tolerance away from now,
// in either direction.
func (p ParsedSignature) Within(now time.Time, tolerance time.Duration) bool {
	d := now.Sub(p.Timestamp)
	return d <= tolerance && d >= -tolerance
}

// Verify checks a signature header made by Sign (or by Stripe): it parses
// the header (ErrMalformed), requires one of its v1 values to match payload
// under secret (ErrBadSignature; also for an empty secret), then requires
// the timestamp to be within tolerance of now in either direction
// (ErrStale). The signature is checked before the timestamp, so a forged
// header is reported as forged whatever time it claims.
func Verify(secret string, payload []byte, header string, now time.Time, tolerance time.Duration) error {
	p, err := ParseSignatureHeader(header)
	if err != nil {
		return err
	}
	if secret == "" {
		return fmt.Errorf("%w: no webhook secret configured", ErrBadSignature)
	}
	if !p.Match(secret, payload) {
		return ErrBadSignature
	}
	if !p.Within(now, tolerance) {
		return fmt.Errorf("%w: signed at %s, now %s, tolerance %s", ErrStale,
			p.Timestamp.Format(time.RFC3339), now.UTC().Format(time.RFC3339), tolerance)
	}
	return nil
}

func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}
