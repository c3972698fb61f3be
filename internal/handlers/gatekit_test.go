package handlers_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stararena/stararena/internal/devstack"
)

// TestGateKitVerifiesCodesOffline: GIVEN an issued ticket and a scanner of
// its event WHEN the scanner fetches the event's gate kit THEN a key in it
// verifies the ticket's code as a phone does offline (Ed25519 over
// "T1.<kid>.<payload>"), and no key verifies an altered code; after the
// order is refunded the kit lists the ticket's order and seat as revoked.
func TestGateKitVerifiesCodesOffline(t *testing.T) {
	st := stackWith(t, devstack.Options{TimeScale: 0.01})
	c := client{t, st.URL()}
	owner := c.token("org-kit", "organizer")
	event, order, code := issuedOrder(t, c, owner)
	b, _ := json.Marshal(map[string]any{"subject": "kit-scanner", "role": "scanner", "events": []string{event}})
	if r := c.do("POST", "/admin/v1/staff", owner, b, nil); r.status != 200 {
		t.Fatalf("grant: %d %s", r.status, r.body)
	}
	scanner := staffToken(t, c, "kit-scanner", "org-kit")

	type kit struct {
		EventID string
		Keys    []struct{ KID, Alg, X string }
		// Revocations name tickets by order and seat.
		Revocations []struct {
			OrderID, Seat string
			UpToVersion   int
		}
	}
	fetch := func() kit {
		t.Helper()
		r := c.do("GET", "/admin/v1/events/"+event+"/gate-kit", scanner, nil, nil)
		var k kit
		if err := json.Unmarshal(r.body, &k); r.status != 200 || err != nil {
			t.Fatalf("gate kit: %d %s %v", r.status, r.body, err)
		}
		return k
	}
	verifies := func(k kit, code string) bool {
		p := strings.Split(code, ".")
		if len(p) != 4 {
			return false
		}
		sig, err := base64.RawURLEncoding.DecodeString(p[3])
		if err != nil {
			return false
		}
		for _, key := range k.Keys {
			x, err := base64.RawURLEncoding.DecodeString(key.X)
			if err == nil && key.KID == p[1] && key.Alg == "Ed25519" && len(x) == ed25519.PublicKeySize &&
				ed25519.Verify(x, []byte(strings.Join(p[:3], ".")), sig) {
				return true
			}
		}
		return false
	}

	k := fetch()
	if k.EventID != event || len(k.Revocations) != 0 {
		t.Fatalf("kit of a fresh event: %+v", k)
	}
	if !verifies(k, code) {
		t.Fatalf("no key of the kit %+v verifies the ticket's code %s", k.Keys, code)
	}
	p := strings.Split(code, ".")
	if altered := strings.Join([]string{p[0], p[1], p[2] + "A", p[3]}, "."); verifies(k, altered) {
		t.Fatal("an altered code verifies")
	}

	if r := c.do("POST", "/admin/v1/orders/"+order+"/refund", owner, []byte(`{"reason":"fan asked"}`), nil); r.status != 200 {
		t.Fatalf("refund: %d %s", r.status, r.body)
	}
	k = fetch()
	if len(k.Revocations) != 1 || k.Revocations[0].OrderID != order || k.Revocations[0].Seat != "A-1-1" || k.Revocations[0].UpToVersion != 1 {
		t.Fatalf("revocations after the refund: %+v, want order %s seat A-1-1 up to version 1", k.Revocations, order)
	}
}
