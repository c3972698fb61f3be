package inventory_test

import (
	"testing"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/inventory"
)

// FuzzParseHoldRequest: the hold body comes from fans. The parser must
// never panic, answer only the documented 400 codes, and accept only
// requests a hold can act on.
func FuzzParseHoldRequest(f *testing.F) {
	for _, s := range []string{
		`{"admissionToken":"t","seats":["A-1-1","A-1-2"]}`, `{"admissionToken":"t","section":"GA","quantity":2}`,
		`{"admissionToken":"t","seats":[]}`, `{"admissionToken":"t","seats":["A-1-1"],"section":"GA","quantity":1}`,
		`{"admissionToken":"t","section":"GA","quantity":0}`, `{"admissionToken":"t","seats":["A-1-1","A-1-1"]}`,
		`{"seats":["A-1-1"]}`, `{"admissionToken":"t","seats":["bad seat"]}`, `[]`, `{"admissionToken":"t","quantity":1e9,"section":"GA"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := inventory.ParseHoldRequest(body, 16<<10)
		if err != nil {
			switch c := apperr.CodeOf(err); c {
			case apperr.Invalid, apperr.InvalidJSON, apperr.UnknownField, apperr.TooLarge, apperr.LimitExceeded:
			default:
				t.Fatalf("code %q for %q: %v", c, body, err)
			}
			return
		}
		if r.AdmissionToken == "" {
			t.Fatalf("accepted %q without an admission token", body)
		}
		if (len(r.Seats) > 0) == (r.Section != "" || r.Quantity != 0) {
			t.Fatalf("accepted %q with both or neither of seats and section+quantity", body)
		}
		seen := map[string]bool{}
		for _, s := range r.Seats {
			if seen[s] {
				t.Fatalf("accepted %q with seat %s twice", body, s)
			}
			seen[s] = true
		}
		if len(r.Seats) == 0 && r.Quantity < 1 {
			t.Fatalf("accepted %q with quantity %d", body, r.Quantity)
		}
	})
}
