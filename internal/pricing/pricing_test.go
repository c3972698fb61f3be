package pricing_test

import (
	"testing"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/pricing"
)

func TestPrice(t *testing.T) {
	cases := []struct {
		name    string
		p       *pricing.Pricing
		face    int64
		tickets int
		want    pricing.Breakdown
	}{
		{"no pricing charges the face value", nil, 9000, 2,
			pricing.Breakdown{FaceCents: 9000, TotalCents: 9000}},
		{"fee only", &pricing.Pricing{FeeCents: 350}, 9000, 2,
			pricing.Breakdown{FaceCents: 9000, FeeCents: 700, TotalCents: 9700}},
		// 20 % on top of 45.00 + 3.50: 9.70.
		{"exclusive tax on face value and fee", &pricing.Pricing{FeeCents: 350, TaxBasisPoints: 2000, TaxMode: pricing.Exclusive}, 4500, 1,
			pricing.Breakdown{FaceCents: 4500, FeeCents: 350, TaxCents: 970, TotalCents: 5820, TaxBasisPoints: 2000, TaxMode: pricing.Exclusive}},
		// 20 % within 48.50: 48.50 / 1.2 = 40.4166…, tax 8.0833… → 8.08.
		{"inclusive tax is the part of the total", &pricing.Pricing{FeeCents: 350, TaxBasisPoints: 2000, TaxMode: pricing.Inclusive}, 4500, 1,
			pricing.Breakdown{FaceCents: 4500, FeeCents: 350, TaxCents: 808, TotalCents: 4850, TaxBasisPoints: 2000, TaxMode: pricing.Inclusive}},
		// 7.7 % of 0.65 = 5.005 → 5 (below the half); of 0.78 = 6.006 → 6.
		{"exclusive rounds down below the half", &pricing.Pricing{TaxBasisPoints: 770, TaxMode: pricing.Exclusive}, 65, 1,
			pricing.Breakdown{FaceCents: 65, TaxCents: 5, TotalCents: 70, TaxBasisPoints: 770, TaxMode: pricing.Exclusive}},
		// 10 % of 0.05 = 0.5 exactly → 1: a half rounds up.
		{"exclusive rounds a half up", &pricing.Pricing{TaxBasisPoints: 1000, TaxMode: pricing.Exclusive}, 5, 1,
			pricing.Breakdown{FaceCents: 5, TaxCents: 1, TotalCents: 6, TaxBasisPoints: 1000, TaxMode: pricing.Exclusive}},
		// 10 % within 0.11: 0.11·1000/11000 = 0.01 exactly.
		{"inclusive exact", &pricing.Pricing{TaxBasisPoints: 1000, TaxMode: pricing.Inclusive}, 11, 1,
			pricing.Breakdown{FaceCents: 11, TaxCents: 1, TotalCents: 11, TaxBasisPoints: 1000, TaxMode: pricing.Inclusive}},
		// 19 % within 3 × 9.99 + 3 × 1.00 = 32.97: 32.97·1900/11900 = 5.264… → 5.26.
		{"several tickets: one tax on the order", &pricing.Pricing{FeeCents: 100, TaxBasisPoints: 1900, TaxMode: pricing.Inclusive}, 3 * 999, 3,
			pricing.Breakdown{FaceCents: 2997, FeeCents: 300, TaxCents: 526, TotalCents: 3297, TaxBasisPoints: 1900, TaxMode: pricing.Inclusive}},
		// 5.5 % on top of 4 × 0.09 = 0.36: 1.98 → 2. Per ticket it would be
		// 4 × round(0.495) = 0, the rounding error per-order tax avoids.
		{"several tickets exclusive: no per-ticket rounding", &pricing.Pricing{TaxBasisPoints: 550, TaxMode: pricing.Exclusive}, 36, 4,
			pricing.Breakdown{FaceCents: 36, TaxCents: 2, TotalCents: 38, TaxBasisPoints: 550, TaxMode: pricing.Exclusive}},
		{"zero rate with a mode adds nothing", &pricing.Pricing{FeeCents: 200, TaxMode: pricing.Exclusive}, 1000, 2,
			pricing.Breakdown{FaceCents: 1000, FeeCents: 400, TotalCents: 1400, TaxMode: pricing.Exclusive}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.p.Price(c.face, c.tickets)
			if got != c.want {
				t.Fatalf("Price(%d, %d) = %+v, want %+v", c.face, c.tickets, got, c.want)
			}
		})
	}
}

// TestPriceInvariants checks, over a grid of amounts and rates, what every
// receipt relies on: an exclusive total is the sum of its lines, an
// inclusive total is face value plus fees and contains a tax no larger
// than it, and each tax is the exact tax rounded to the nearest unit.
func TestPriceInvariants(t *testing.T) {
	for _, bp := range []int64{1, 550, 770, 1900, 2000, 2100, limits.TaxBasisPoints} {
		for _, face := range []int64{1, 5, 99, 1234, 4500, 99_999, limits.PriceCents * limits.TicketsPerAccount} {
			for _, n := range []int{1, 2, 3, 7, limits.TicketsPerAccount} {
				for _, mode := range []string{pricing.Inclusive, pricing.Exclusive} {
					p := &pricing.Pricing{FeeCents: 199, TaxBasisPoints: bp, TaxMode: mode}
					b := p.Price(face, n)
					base := face + 199*int64(n)
					if b.FaceCents != face || b.FeeCents != 199*int64(n) {
						t.Fatalf("%s %d bp, face %d × %d: lines %+v", mode, bp, face, n, b)
					}
					var num, den int64 // exact tax = num/den
					if mode == pricing.Exclusive {
						num, den = base*bp, 10_000
						if b.TotalCents != base+b.TaxCents {
							t.Fatalf("exclusive total %d ≠ %d + %d", b.TotalCents, base, b.TaxCents)
						}
					} else {
						num, den = base*bp, 10_000+bp
						if b.TotalCents != base || b.TaxCents > base {
							t.Fatalf("inclusive total %d (tax %d), want %d", b.TotalCents, b.TaxCents, base)
						}
					}
					// |tax·den − num| ≤ den/2: the nearest integer.
					if d := b.TaxCents*den - num; 2*d > den || -2*d > den {
						t.Fatalf("%s %d bp on %d: tax %d is not the nearest unit of %d/%d", mode, bp, base, b.TaxCents, num, den)
					}
				}
			}
		}
	}
}

func TestMaxTotalFitsTheDeclaredOrderLimit(t *testing.T) {
	p := &pricing.Pricing{FeeCents: limits.FeeCents, TaxBasisPoints: limits.TaxBasisPoints, TaxMode: pricing.Exclusive}
	if got := p.MaxTotal(limits.PriceCents, limits.TicketsPerAccount); got != limits.OrderAmountCents {
		t.Fatalf("the dearest order costs %d; limits.OrderAmountCents says %d", got, limits.OrderAmountCents)
	}
}

func TestValidate(t *testing.T) {
	long := make([]byte, limits.NameChars+1)
	for i := range long {
		long[i] = 'x'
	}
	bad := []pricing.Pricing{
		{FeeCents: -1},
		{FeeCents: limits.FeeCents + 1},
		{TaxBasisPoints: -1, TaxMode: pricing.Exclusive},
		{TaxBasisPoints: limits.TaxBasisPoints + 1, TaxMode: pricing.Exclusive},
		{TaxBasisPoints: 2000},
		{TaxBasisPoints: 2000, TaxMode: "included"},
		{Seller: string(long)},
		{Seller: "\xff"},
	}
	for _, p := range bad {
		if err := p.Validate(); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("%+v: %v, want INVALID_REQUEST", p, err)
		}
	}
	good := []pricing.Pricing{
		{},
		{FeeCents: limits.FeeCents},
		{TaxBasisPoints: limits.TaxBasisPoints, TaxMode: pricing.Inclusive, Seller: "Star Promotions Ltd"},
		{TaxMode: pricing.Exclusive},
	}
	for _, p := range good {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
}
