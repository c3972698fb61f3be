package payments

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

const testSecret = "whsec_test_secret"

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// refSig is the scheme written out independently of Sign.
func refSig(secret, ts string, payload []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%s.%s", ts, payload)
	return hex.EncodeToString(m.Sum(nil))
}

func TestSignMatchesTheScheme(t *testing.T) {
	body := []byte(`{"id":"evt_1"}`)
	got := Sign(testSecret, body, t0)
	ts := strconv.FormatInt(t0.Unix(), 10)
	if want := "t=" + ts + ",v1=" + refSig(testSecret, ts, body); got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"id":"evt_1","object":"event"}`)
	good := Sign(testSecret, body, t0)
	ts := strconv.FormatInt(t0.Unix(), 10)
	sig := refSig(testSecret, ts, body)
	cases := []struct {
		name   string
		secret string
		body   []byte
		header string
		now    time.Time
		want   error
	}{
		{"valid", testSecret, body, good, t0, nil},
		{"valid at +tolerance", testSecret, body, good, t0.Add(DefaultTolerance), nil},
		{"valid at -tolerance (clock skew)", testSecret, body, good, t0.Add(-DefaultTolerance), nil},
		{"stale", testSecret, body, good, t0.Add(DefaultTolerance + time.Second), ErrStale},
		{"future", testSecret, body, good, t0.Add(-DefaultTolerance - time.Second), ErrStale},
		{"tampered body", testSecret, []byte(`{"id":"evt_2","object":"event"}`), good, t0, ErrBadSignature},
		{"wrong secret", "whsec_other", body, good, t0, ErrBadSignature},
		{"no secret", "", body, good, t0, ErrBadSignature},
		{"forged and stale: forged wins", testSecret, body, "t=1,v1=" + strings.Repeat("00", 32), t0, ErrBadSignature},
		{"upper-case hex", testSecret, body, "t=" + ts + ",v1=" + strings.ToUpper(sig), t0, nil},
		{"rolled secret", testSecret, body, "t=" + ts + ",v1=" + refSig("old", ts, body) + ",v1=" + sig, t0, nil},
		{"v0 and unknown keys ignored", testSecret, body, "t=" + ts + ",v0=zz,x=1,v1=" + sig, t0, nil},
		{"non-hex v1", testSecret, body, "t=" + ts + ",v1=zz", t0, ErrBadSignature},
		{"short v1", testSecret, body, "t=" + ts + ",v1=" + sig[:10], t0, ErrBadSignature},
		{"signature over another t", testSecret, body, "t=" + strconv.FormatInt(t0.Unix()+1, 10) + ",v1=" + sig, t0, ErrBadSignature},
		{"empty", testSecret, body, "", t0, ErrMalformed},
		{"no t", testSecret, body, "v1=" + sig, t0, ErrMalformed},
		{"no v1", testSecret, body, "t=" + ts, t0, ErrMalformed},
		{"two t", testSecret, body, "t=" + ts + ",t=" + ts + ",v1=" + sig, t0, ErrMalformed},
		{"t not a number", testSecret, body, "t=abc,v1=" + sig, t0, ErrMalformed},
		{"t signed", testSecret, body, "t=+" + ts + ",v1=" + sig, t0, ErrMalformed},
		{"t leading zero", testSecret, body, "t=0" + ts + ",v1=" + sig, t0, ErrMalformed},
		{"t negative", testSecret, body, "t=-1,v1=" + sig, t0, ErrMalformed},
		{"t overflow", testSecret, body, "t=99999999999999999999,v1=" + sig, t0, ErrMalformed},
		{"element without =", testSecret, body, "t=" + ts + ",v1", t0, ErrMalformed},
		{"empty element", testSecret, body, "t=" + ts + ",,v1=" + sig, t0, ErrMalformed},
		{"empty key", testSecret, body, "=x,t=" + ts + ",v1=" + sig, t0, ErrMalformed},
		{"spaces", testSecret, body, "t=" + ts + ", v1=" + sig, t0, ErrMalformed},
		{"too long", testSecret, body, good + ",v1=" + strings.Repeat("a", maxHeaderLength), t0, ErrMalformed},
	}
	for _, c := range cases {
		err := Verify(c.secret, c.body, c.header, c.now, DefaultTolerance)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
	}
}

// FuzzVerifyHeader: Verify never panics, and accepts only a header one of
// whose v1 values is the HMAC of the body at the header's timestamp, within
// the tolerance. The oracle is written independently of Verify.
func FuzzVerifyHeader(f *testing.F) {
	body := []byte(`{"id":"evt_1"}`)
	f.Add(body, Sign(testSecret, body, t0), t0.Unix())
	f.Add(body, Sign(testSecret, body, t0)+",v1=00", t0.Unix()+299)
	f.Add(body, "t=1,v1=", int64(1))
	f.Add([]byte("x"), "t=,v1=,v0=", int64(0))
	f.Add(body, "t=1740000000,v1=zz,v1="+strings.Repeat("0", 64), int64(1740000000))
	f.Fuzz(func(t *testing.T, payload []byte, header string, nowUnix int64) {
		now := time.Unix(nowUnix, 0)
		err := Verify(testSecret, payload, header, now, DefaultTolerance)
		if err == nil {
			if !oracleSigned(testSecret, payload, header, now) {
				t.Fatalf("Verify accepted %q for %q at %d", header, payload, nowUnix)
			}
			return
		}
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrStale) {
			t.Fatalf("Verify error %v is not one of the sentinels", err)
		}
		// Whatever the header, a fresh correct signature must verify.
		if nowUnix < 0 {
			return // before 1970: the scheme has no such timestamps
		}
		if err := Verify(testSecret, payload, Sign(testSecret, payload, now), now, DefaultTolerance); err != nil {
			t.Fatalf("a correct signature was refused: %v", err)
		}
	})
}

func oracleSigned(secret string, payload []byte, header string, now time.Time) bool {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		switch {
		case strings.HasPrefix(part, "t="):
			ts = part[2:]
		case strings.HasPrefix(part, "v1="):
			sigs = append(sigs, strings.ToLower(part[3:]))
		}
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	if d := now.Sub(time.Unix(n, 0)); d > DefaultTolerance || d < -DefaultTolerance {
		return false
	}
	want := refSig(secret, ts, payload)
	for _, s := range sigs {
		if s == want {
			return true
		}
	}
	return false
}

func TestParseSignatureHeader(t *testing.T) {
	p, err := ParseSignatureHeader("t=1700000000,v1=aa,v0=bb,v1=cc")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Timestamp.Equal(time.Unix(1700000000, 0)) || len(p.V1) != 2 || p.V1[0] != "aa" || p.V1[1] != "cc" {
		t.Fatalf("ParseSignatureHeader = %+v", p)
	}
}
