// Package pricing computes what a fan pays for an order: the face value of
// its places, the event's service fee per ticket and the tax, each in the
// currency's minor unit (ADR 26). All arithmetic is on int64 minor units;
// no float ever touches an amount.
package pricing

import (
	"unicode/utf8"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/limits"
)

// Tax modes.
const (
	// Inclusive: the face value and the fee already contain the tax; the
	// total is their sum and the tax is the part of it the rate accounts
	// for.
	Inclusive = "inclusive"
	// Exclusive: the tax is added on top of the face value and the fee.
	Exclusive = "exclusive"
)

// Pricing is an event's fee and tax setting. The zero value (and a nil
// *Pricing) charges the face value only, as events did before fees.
type Pricing struct {
	// FeeCents is the service fee per ticket, in minor units.
	FeeCents int64 `json:"feeCents"`
	// TaxBasisPoints is the tax rate in hundredths of a percent (2000 is
	// 20 %), so that every rate a tax office publishes (5.5 %, 7.7 %) is an
	// integer.
	TaxBasisPoints int64 `json:"taxBasisPoints"`
	// TaxMode is Inclusive or Exclusive; empty when there is no tax.
	TaxMode string `json:"taxMode,omitempty"`
	// Seller is who sells the tickets, as receipts name it.
	Seller string `json:"seller,omitempty"`
}

// Breakdown is what an order costs, line by line. TotalCents is what the
// payment charges: Face + Fee + Tax when the tax is exclusive, Face + Fee
// (which contain Tax) when it is inclusive.
type Breakdown struct {
	FaceCents      int64  `json:"faceValueCents"`
	FeeCents       int64  `json:"feeCents"`
	TaxCents       int64  `json:"taxCents"`
	TotalCents     int64  `json:"totalCents"`
	TaxBasisPoints int64  `json:"taxBasisPoints"`
	TaxMode        string `json:"taxMode,omitempty"`
}

// Price is the breakdown of an order of tickets places whose face values
// add up to faceCents. The fee is FeeCents per ticket. The tax is computed
// once on the order's face value plus fees, and rounded half up to the
// minor unit: per-ticket rounding would make an order of n tickets differ
// from n times one ticket by up to n/2 units, and the order is what is
// charged and receipted.
func (p *Pricing) Price(faceCents int64, tickets int) Breakdown {
	b := Breakdown{FaceCents: faceCents}
	if p == nil {
		b.TotalCents = faceCents
		return b
	}
	b.FeeCents = p.FeeCents * int64(tickets)
	b.TaxBasisPoints, b.TaxMode = p.TaxBasisPoints, p.TaxMode
	base := b.FaceCents + b.FeeCents
	switch {
	case p.TaxBasisPoints == 0:
		b.TotalCents = base
	case p.TaxMode == Inclusive:
		// base = net + net·r, so tax = base·r/(1+r) = base·bp/(10000+bp).
		b.TaxCents = roundHalfUp(base*p.TaxBasisPoints, 10_000+p.TaxBasisPoints)
		b.TotalCents = base
	default:
		b.TaxCents = roundHalfUp(base*p.TaxBasisPoints, 10_000)
		b.TotalCents = base + b.TaxCents
	}
	return b
}

// roundHalfUp is num/den rounded to the nearest integer, halves up, for
// num ≥ 0 and den > 0.
func roundHalfUp(num, den int64) int64 {
	return (2*num + den) / (2 * den)
}

// MaxTotal is the most an order of tickets places, each at most
// priceCents, can cost under p.
func (p *Pricing) MaxTotal(priceCents int64, tickets int) int64 {
	return p.Price(priceCents*int64(tickets), tickets).TotalCents
}

// Validate checks an organizer's setting: a fee of 0..limits.FeeCents, a
// rate of 0..limits.TaxBasisPoints with a mode when it is not 0, and a
// seller name of at most limits.NameChars characters.
func (p *Pricing) Validate() error {
	if p.FeeCents < 0 || p.FeeCents > limits.FeeCents {
		return apperr.New(apperr.Invalid, "pricing.feeCents must be between 0 and %d", limits.FeeCents)
	}
	if p.TaxBasisPoints < 0 || p.TaxBasisPoints > limits.TaxBasisPoints {
		return apperr.New(apperr.Invalid, "pricing.taxBasisPoints must be between 0 and %d (%d is 20 %%)", limits.TaxBasisPoints, 2000)
	}
	switch p.TaxMode {
	case Inclusive, Exclusive:
	case "":
		if p.TaxBasisPoints != 0 {
			return apperr.New(apperr.Invalid, `pricing.taxMode must be "inclusive" or "exclusive" when taxBasisPoints is set`)
		}
	default:
		return apperr.New(apperr.Invalid, `pricing.taxMode must be "inclusive" or "exclusive"`)
	}
	if !utf8.ValidString(p.Seller) || utf8.RuneCountInString(p.Seller) > limits.NameChars {
		return apperr.New(apperr.Invalid, "pricing.seller must be at most %d characters", limits.NameChars)
	}
	return nil
}
