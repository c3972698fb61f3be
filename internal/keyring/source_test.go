package keyring

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/clock"
)

// secret is a secret whose value the test rotates, counting reads.
type secret struct {
	value string
	err   error
	reads int
}

func (s *secret) read(context.Context) ([]byte, error) {
	s.reads++
	return []byte(s.value), s.err
}

func doc(current string, kids ...string) string {
	d := `{"current":"` + current + `","keys":[`
	for i, k := range kids {
		if i > 0 {
			d += ","
		}
		d += `{"kid":"` + k + `","seed":"` + seed(k[len(k)-1]) + `"}`
	}
	return d + "]}"
}

// TestSourceReadsOnFirstUseAndAgainAfterItsTTL: nothing is read until the
// ring is needed; within the TTL the ring is served from memory; after it
// a rotated secret is picked up (a new version), an unchanged one keeps
// its version, and a failed read keeps the ring it had.
func TestSourceReadsOnFirstUseAndAgainAfterItsTTL(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewManual(time.Date(2026, 6, 1, 20, 0, 0, 0, time.UTC))
	sec := &secret{value: doc("k1", "k1")}
	src := NewSource("test", sec.read, time.Minute, clk)
	if sec.reads != 0 {
		t.Fatal("the secret was read before anything needed it")
	}
	ring := func() (Ring, uint64) {
		t.Helper()
		r, v, err := src.Ring(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return r, v
	}
	r, v1 := ring()
	ring()
	clk.Advance(59 * time.Second)
	ring()
	if r.Current != "k1" || sec.reads != 1 {
		t.Fatalf("current %q after %d reads, want k1 after 1 (cached within the TTL)", r.Current, sec.reads)
	}

	sec.value = doc("k2", "k2", "k1") // rotated
	clk.Advance(time.Second)
	r, v2 := ring()
	if r.Current != "k2" || len(r.Keys) != 2 || v2 == v1 || sec.reads != 2 {
		t.Fatalf("after the TTL: current %q, %d keys, version %d (was %d), %d reads; want the rotated ring, a new version, 2 reads", r.Current, len(r.Keys), v2, v1, sec.reads)
	}

	clk.Advance(time.Minute)
	if _, v := ring(); v != v2 || sec.reads != 3 {
		t.Fatalf("unchanged secret: version %d (was %d), %d reads; want the same version after a third read", v, v2, sec.reads)
	}

	sec.err = errors.New("secrets manager unreachable")
	clk.Advance(time.Minute)
	if r, v := ring(); r.Current != "k2" || v != v2 {
		t.Fatalf("failed read: current %q version %d, want the ring it had", r.Current, v)
	}
	if _, _, err := NewSource("test", (&secret{err: errors.New("denied")}).read, time.Minute, clk).Ring(ctx); err == nil {
		t.Fatal("a source that never read its secret answered without an error")
	}
}
