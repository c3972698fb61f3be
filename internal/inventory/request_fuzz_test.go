package inventory_test

import (
	"regexp"
	"slices"
	"testing"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/limits"
)

var fuzzSeatID = regexp.MustCompile(`^[A-Za-z0-9]{1,16}-[A-Za-z0-9]{1,16}-[1-9][0-9]{0,3}$`)

// FuzzParseHoldRequest: the hold body comes from any fan. The parser must
// never panic, must refuse with a client error (4xx), and what it accepts
// must be one well-formed request: a token, and either distinct seat ids
// or a section with a quantity, within the per-hold limit.
func FuzzParseHoldRequest(f *testing.F) {
	for _, s := range []string{
		`{"admissionToken":"t","seats":["A-1-1","A-1-2"]}`,
		`{"admissionToken":"t","section":"GA","quantity":2}`,
		`{"admissionToken":"t","section":"A","quantity":0}`,
		`{"admissionToken":"t","seats":["A-1-1","A-1-1"]}`,
		`{"admissionToken":"t","seats":["A-1-1"],"section":"A","quantity":1}`,
		`{"admissionToken":"","seats":["A-1-1"]}`,
		`{"admissionToken":"t","seats":["A-1-0"]}`,
		`{"admissionToken":"t","seats":["A-1-1"],"extra":1}`,
		`{"admissionToken":"t","section":"GA","quantity":1e3}`,
		`{"admissionToken":"t","seats":["A-1-1","A-1-2","A-1-3","A-1-4","A-1-5","A-1-6","A-1-7","A-1-8","A-1-9","A-1-10","A-1-11"]}`,
		`{"admissionToken":"t","section":"GA","quantity":2}{}`,
		`[]`, `null`, ``, `{"admissionToken":"t","seats":null,"section":"GA","quantity":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := inventory.ParseHoldRequest(body, 16<<10)
		if err != nil {
			if st := apperr.Status(apperr.CodeOf(err)); st < 400 || st > 499 {
				t.Fatalf("ParseHoldRequest(%q): %v answers %d, want a client error", body, err, st)
			}
			return
		}
		if req.AdmissionToken == "" {
			t.Fatalf("ParseHoldRequest(%q) accepted a request without a token", body)
		}
		switch {
		case len(req.Seats) > 0:
			if req.Section != "" || req.Quantity != 0 {
				t.Fatalf("ParseHoldRequest(%q) accepted seats and a section: %+v", body, req)
			}
			if len(req.Seats) > limits.TicketsPerAccount {
				t.Fatalf("ParseHoldRequest(%q) accepted %d seats", body, len(req.Seats))
			}
			seen := map[string]bool{}
			for _, s := range req.Seats {
				if !fuzzSeatID.MatchString(s) || seen[s] {
					t.Fatalf("ParseHoldRequest(%q) accepted seat %q (listed before: %v)", body, s, seen[s])
				}
				seen[s] = true
			}
			// The fingerprint does not depend on the order the seats are listed in.
			rev := req
			rev.Seats = slices.Clone(req.Seats)
			slices.Reverse(rev.Seats)
			if req.Fingerprint("e") != rev.Fingerprint("e") {
				t.Fatalf("fingerprint of %v depends on the seats' order", req.Seats)
			}
		case req.Section != "":
			if req.Quantity < 1 || req.Quantity > limits.TicketsPerAccount {
				t.Fatalf("ParseHoldRequest(%q) accepted quantity %d", body, req.Quantity)
			}
		default:
			t.Fatalf("ParseHoldRequest(%q) accepted a request for nothing: %+v", body, req)
		}
		if req.Fingerprint("e") == req.Fingerprint("f") {
			t.Fatalf("fingerprint ignores the event")
		}
	})
}
