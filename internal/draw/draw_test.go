package draw_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stararena/stararena/internal/draw"
)

// testSeed derives a fixed seed, so statistical tests are deterministic.
func testSeed(i int) []byte {
	sum := sha256.Sum256(fmt.Appendf(nil, "draw test seed %d", i))
	return sum[:]
}

func entrants(event string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = draw.EntrantID(event, fmt.Sprintf("fan-%d", i))
	}
	return out
}

// TestReferenceVector pins the vector in the package doc, computed
// independently with Python's hashlib and hmac modules.
func TestReferenceVector(t *testing.T) {
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = byte(i)
	}
	if got, want := draw.SeedHash(seed), "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"; got != want {
		t.Errorf("SeedHash = %s, want %s", got, want)
	}
	ids := map[string]string{
		"fan-1": "840185e1cfa7493387db5321c85648b8",
		"fan-2": "56c8aaa283ad868b0842db1ad03ef600",
		"fan-3": "7d6ced1db294baa4caab74e4105b1400",
		"fan-4": "cb2d466d0948f38f54bf3c92f7d3c589",
		"fan-5": "1c6053c0f2c0bd4b01d08ddbadf09878",
	}
	var in []string
	for _, account := range []string{"fan-1", "fan-2", "fan-3", "fan-4", "fan-5"} {
		id := draw.EntrantID("demo", account)
		if id != ids[account] {
			t.Errorf("EntrantID(demo, %s) = %s, want %s", account, id, ids[account])
		}
		in = append(in, id)
	}
	want := []string{ids["fan-2"], ids["fan-1"], ids["fan-4"], ids["fan-3"], ids["fan-5"]}
	if got := draw.Order(seed, in); !slices.Equal(got, want) {
		t.Errorf("Order = %v, want %v", got, want)
	}
	if got, want := hex.EncodeToString(draw.Key(seed, ids["fan-2"])), "9e14644dc944a2904edb59ec0a412b840699573792e364481170183c9a184c36"; got != want {
		t.Errorf("Key(fan-2) = %s, want %s", got, want)
	}
}

func TestOrderIsDeterministicAndIgnoresInputOrder(t *testing.T) {
	seed := testSeed(1)
	in := entrants("e1", 200)
	first := draw.Order(seed, in)
	if !slices.Equal(first, draw.Order(seed, in)) {
		t.Fatal("two runs with the same seed differ")
	}
	reversed := slices.Clone(in)
	slices.Reverse(reversed)
	withDuplicates := append(slices.Clone(reversed), in[:50]...)
	if got := draw.Order(seed, withDuplicates); !slices.Equal(got, first) {
		t.Error("order depends on input order or keeps duplicates")
	}
	if !slices.Equal(in, entrants("e1", 200)) {
		t.Error("Order modified its input")
	}
	for i := 1; i < len(first); i++ {
		if string(draw.Key(seed, first[i-1])) >= string(draw.Key(seed, first[i])) {
			t.Fatalf("keys not ascending at position %d", i+1)
		}
	}
	if got := draw.Order(seed, nil); len(got) != 0 {
		t.Errorf("Order(nil) = %v", got)
	}
}

func TestEntrantID(t *testing.T) {
	a := draw.EntrantID("e1", "sub-1")
	if len(a) != 32 || strings.ToLower(a) != a {
		t.Errorf("EntrantID = %q, want 32 lowercase hex characters", a)
	}
	if a == draw.EntrantID("e2", "sub-1") || a == draw.EntrantID("e1", "sub-2") {
		t.Error("entrant id does not depend on both event and account")
	}
	// The separator keeps ("e1", "0sub") and ("e10", "sub") apart.
	if draw.EntrantID("e1", "0sub") == draw.EntrantID("e10", "sub") {
		t.Error("event and account run together")
	}
}

func TestSeed(t *testing.T) {
	a, err := draw.NewSeed()
	if err != nil {
		t.Fatal(err)
	}
	b, err := draw.NewSeed()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != draw.SeedSize || slices.Equal(a, b) {
		t.Errorf("seeds %x and %x: want two different %d-byte seeds", a, b, draw.SeedSize)
	}
	if h := draw.SeedHash(a); len(h) != 64 || strings.ToLower(h) != h {
		t.Errorf("SeedHash = %q, want 64 lowercase hex characters", h)
	}
}

// TestOrderShuffles checks the draw is not a disguised input order: the
// first place goes to different entrants under different seeds, and roughly
// evenly.
func TestOrderShuffles(t *testing.T) {
	in := entrants("e1", 1000)
	firsts := map[string]bool{}
	for s := range 50 {
		order := draw.Order(testSeed(s), in)
		firsts[order[0]] = true
		if slices.Equal(order[:10], in[:10]) {
			t.Errorf("seed %d keeps the input order", s)
		}
	}
	// 50 draws from 1,000: about one collision is expected.
	if len(firsts) < 45 {
		t.Errorf("only %d distinct first places over 50 seeds", len(firsts))
	}

	// With 10 entrants and 2,000 seeds each should come first about 200
	// times (standard deviation about 13).
	small := entrants("e2", 10)
	count := map[string]int{}
	for s := range 2000 {
		count[draw.Order(testSeed(s), small)[0]]++
	}
	for _, e := range small {
		if c := count[e]; c < 130 || c > 270 {
			t.Errorf("entrant %s first %d times out of 2000, want about 200", e, c)
		}
	}
}

func TestVerify(t *testing.T) {
	seed := testSeed(7)
	good := draw.Publish("e1", seed, entrants("e1", 50))
	if err := draw.Verify(good); err != nil {
		t.Fatalf("correct document rejected: %v", err)
	}
	// A document listed in another order is still the same draw.
	shuffled := clone(good)
	slices.Reverse(shuffled.Entrants)
	if err := draw.Verify(shuffled); err != nil {
		t.Errorf("document listed in reverse rejected: %v", err)
	}
	empty := draw.Publish("e1", seed, nil)
	if err := draw.Verify(empty); err != nil {
		t.Errorf("draw without entrants rejected: %v", err)
	}

	other := testSeed(8)
	cases := []struct {
		name   string
		tamper func(p *draw.Published)
		want   string
	}{
		{"wrong seed, matching hash", func(p *draw.Published) {
			p.Seed = hex.EncodeToString(other)
			p.SeedHash = draw.SeedHash(other)
		}, "but the seed puts"},
		{"hash mismatch", func(p *draw.Published) { p.SeedHash = draw.SeedHash(other) }, "shuffleSeedHash"},
		{"seed not hex", func(p *draw.Published) { p.Seed = "zz" + p.Seed[2:] }, "not hex"},
		{"short seed", func(p *draw.Published) { p.Seed = p.Seed[:62] }, "31 bytes"},
		{"swapped pair", func(p *draw.Published) {
			p.Entrants[3].Position, p.Entrants[4].Position = p.Entrants[4].Position, p.Entrants[3].Position
		}, "position 4 is"},
		{"duplicate position", func(p *draw.Published) { p.Entrants[9].Position = 9 }, "position 9 is given to both"},
		{"gap", func(p *draw.Published) { p.Entrants[49].Position = 51 }, "position 51"},
		{"position zero", func(p *draw.Published) { p.Entrants[0].Position = 0 }, "position 0"},
		{"entrant dropped", func(p *draw.Published) { p.Entrants = p.Entrants[1:] }, "position"},
		{"entrant listed twice", func(p *draw.Published) {
			p.Entrants = append(p.Entrants, draw.Entrant{Entrant: p.Entrants[0].Entrant, Position: 51})
		}, "listed twice"},
		{"entrant replaced", func(p *draw.Published) { p.Entrants[5].Entrant = draw.EntrantID("e1", "intruder") }, "but the seed puts"},
		{"raw account published", func(p *draw.Published) { p.Entrants[0].Entrant = "sub-1" }, "not an entrant id"},
		{"uppercase entrant id", func(p *draw.Published) { p.Entrants[0].Entrant = strings.ToUpper(p.Entrants[0].Entrant) }, "not an entrant id"},
	}
	for _, c := range cases {
		p := clone(good)
		c.tamper(&p)
		err := draw.Verify(p)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !errors.Is(err, draw.ErrNotVerified) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want ErrNotVerified mentioning %q", c.name, err, c.want)
		}
	}
}

func TestPublishedJSON(t *testing.T) {
	p := draw.Publish("e1", testSeed(1), entrants("e1", 2))
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"eventId":"e1"`, `"shuffleSeedHash":"`, `"shuffleSeed":"`, `"entrants":[{"entrant":"`, `"position":1`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("%s lacks %s", b, field)
		}
	}
}

func clone(p draw.Published) draw.Published {
	p.Entrants = slices.Clone(p.Entrants)
	return p
}

func FuzzVerify(f *testing.F) {
	good, err := json.Marshal(draw.Publish("e1", testSeed(1), entrants("e1", 5)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"shuffleSeed":"00","entrants":[{"entrant":"x","position":-1}]}`))
	f.Add([]byte(strings.Replace(string(good), `"position":1`, `"position":9223372036854775807`, 1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p draw.Published
		if json.Unmarshal(data, &p) != nil {
			return
		}
		if err := draw.Verify(p); err != nil {
			if !errors.Is(err, draw.ErrNotVerified) {
				t.Fatalf("error %v does not wrap ErrNotVerified", err)
			}
			return
		}
		// Whatever verifies must be exactly what Publish produces.
		seed, _ := hex.DecodeString(p.Seed)
		ids := make([]string, len(p.Entrants))
		for i, e := range p.Entrants {
			ids[i] = e.Entrant
		}
		want := draw.Publish(p.EventID, seed, ids)
		pos := map[string]int{}
		for _, e := range want.Entrants {
			pos[e.Entrant] = e.Position
		}
		for _, e := range p.Entrants {
			if pos[e.Entrant] != e.Position {
				t.Fatalf("verified %s at %d, Publish puts it at %d", e.Entrant, e.Position, pos[e.Entrant])
			}
		}
	})
}
