package dynamo

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/stararena/stararena/internal/catalog"
)

// TestVenueChunksReassemble: a venue cut into many pieces comes back
// identical, and every piece respects the chunk size.
func TestVenueChunksReassemble(t *testing.T) {
	var sections []catalog.Section
	for s := range 5 {
		sec := catalog.Section{ID: fmt.Sprintf("S%d", s), Name: "Tier", Kind: catalog.Reserved, PriceCents: 5000, Currency: "EUR"}
		for r := range 400 {
			sec.Rows = append(sec.Rows, catalog.Row{ID: fmt.Sprintf("%x", (s*7919+r)*104729), Seats: 1 + r%30})
		}
		sections = append(sections, sec)
	}
	pieces, err := packVenue(sections, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(pieces) < 3 {
		t.Fatalf("%d pieces of at most 1,000 bytes; the test needs several", len(pieces))
	}
	for i, p := range pieces {
		if len(p) == 0 || len(p) > 1000 {
			t.Fatalf("piece %d is %d bytes", i, len(p))
		}
	}
	got, err := unpackVenue(pieces)
	if err != nil || !reflect.DeepEqual(got, sections) {
		t.Fatalf("reassembled venue differs: %v", err)
	}
	if _, err := unpackVenue(pieces[:len(pieces)-1]); err == nil {
		t.Fatal("a venue missing its last piece was accepted")
	}
}
