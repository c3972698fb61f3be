package waitroom_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/waitroom"
)

func TestParseJoin(t *testing.T) {
	at := time.Date(2027, 3, 1, 19, 0, 0, 123e6, time.UTC)
	for name, tc := range map[string]struct {
		body    string
		account string
		ok      bool
	}{
		"AsRendered":        {waitroom.JoinBody("ev-1", "fan-1", at), "fan-1", true},
		"QuotedClaim":       {`join ev-1 1803927600123 "fan-1"`, "fan-1", true},
		"EscapedClaim":      {`join ev-1 1803927600123 "f\u00e9n"`, "fén", true},
		"Empty":             {"", "", false},
		"NotAJoin":          {"leave ev-1 1803927600123 fan-1", "", false},
		"MissingAccount":    {"join ev-1 1803927600123", "", false},
		"EmptyQuotedClaim":  {`join ev-1 1803927600123 ""`, "", false},
		"BrokenQuote":       {`join ev-1 1803927600123 "fan-1`, "", false},
		"HashInAccount":     {"join ev-1 1803927600123 fan#1", "", false},
		"SpaceInAccount":    {"join ev-1 1803927600123 fan 1", "", false},
		"BadTime":           {"join ev-1 yesterday fan-1", "", false},
		"NegativeTime":      {"join ev-1 -5 fan-1", "", false},
		"LongEvent":         {"join " + strings.Repeat("e", 65) + " 1803927600123 fan-1", "", false},
		"ControlInAccount":  {"join ev-1 1803927600123 fan\x01", "", false},
		"QuoteInAccount":    {`join ev-1 1803927600123 "\""`, "", false},
		"InvalidUTF8":       {"join ev-1 1803927600123 fan\xff", "", false},
		"OverOneKiB":        {"join ev-1 1803927600123 " + strings.Repeat("a", 1100), "", false},
		"JSONFromOldFormat": {`{"eventId":"ev-1","account":"fan-1","joinedAt":"1"}`, "", false},
	} {
		t.Run(name, func(t *testing.T) {
			j, err := waitroom.ParseJoin(tc.body)
			if !tc.ok {
				if !apperr.Is(err, apperr.Invalid) {
					t.Fatalf("ParseJoin(%q) = %+v, %v; want INVALID_REQUEST", tc.body, j, err)
				}
				return
			}
			if err != nil || j.Account != tc.account || j.EventID != "ev-1" {
				t.Fatalf("ParseJoin(%q) = %+v, %v", tc.body, j, err)
			}
		})
	}
	j, _ := waitroom.ParseJoin(waitroom.JoinBody("ev-1", "fan-1", at))
	if !j.JoinedAt.Equal(at) {
		t.Fatalf("joinedAt %v, want %v", j.JoinedAt, at)
	}
}

// FuzzParseJoin: queue messages come from outside (a mapping of request
// data); the parser must never panic, and what it accepts must be safe to
// put in a key and render back to the same message.
func FuzzParseJoin(f *testing.F) {
	for _, s := range []string{
		"join ev 1 fan", `join ev 1 "fan"`, `join ev 1 "\u0000"`, "join  1 fan", "join ev 1 fan extra words",
		`join ev 99999999999999999999 fan`, "join ev 1 \"fan\\\"x\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		j, err := waitroom.ParseJoin(body)
		if err != nil {
			if !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("ParseJoin(%q): %v is not INVALID_REQUEST", body, err)
			}
			return
		}
		for _, s := range []string{j.EventID, j.Account} {
			if s == "" || strings.ContainsAny(s, "# \n\x00") {
				t.Fatalf("ParseJoin(%q) accepted an unsafe id %q", body, s)
			}
		}
		again, err := waitroom.ParseJoin(waitroom.JoinBody(j.EventID, j.Account, j.JoinedAt))
		if err != nil || again != j {
			t.Fatalf("round trip of %+v: %+v, %v", j, again, err)
		}
	})
}
