package handlers

import (
	"testing"
	"time"

	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/pricing"
)

// An order's view carries its breakdown (an order from before fees reads
// as face value only) and, once refunded or refunding, how much, when and
// why: the organizer's reason, a stand-in when none was given, or the late
// payment's explanation.
func TestOrderViewShowsBreakdownAndRefund(t *testing.T) {
	asked := time.Date(2027, 5, 1, 10, 0, 0, 0, time.UTC)
	done := asked.Add(3 * time.Second)
	old := orders.Order{ID: "o-1", Status: orders.Issued, AmountCents: 9000, Currency: "EUR", Quantity: 2}
	if v := orderView(old); v.Breakdown != (pricing.Breakdown{FaceCents: 9000, TotalCents: 9000}) || v.Refund != nil {
		t.Errorf("an order from before fees: %+v, refund %+v", v.Breakdown, v.Refund)
	}

	priced := old
	priced.SetPrice((&pricing.Pricing{FeeCents: 100, TaxBasisPoints: 1000, TaxMode: pricing.Exclusive}).Price(9000, 2))
	priced.Status, priced.RefundRequestedBy, priced.RefundReason, priced.RefundRequestedAt = orders.RefundPending, "org-a", "", asked
	v := orderView(priced)
	if v.AmountCents != 10120 || v.Breakdown.TotalCents != 10120 || v.Breakdown.TaxCents != 920 {
		t.Errorf("priced order: amount %d, breakdown %+v", v.AmountCents, v.Breakdown)
	}
	want := RefundView{Status: "PENDING", AmountCents: 10120, Currency: "EUR", RequestedAt: asked, Reason: OrganizerRefundReason}
	if v.Refund == nil || *v.Refund != want {
		t.Errorf("pending refund %+v, want %+v", v.Refund, want)
	}

	priced.Status, priced.RefundReason, priced.RefundedAt = orders.Refunded, "the show moved", done
	want.Status, want.Reason, want.RefundedAt = "REFUNDED", "the show moved", done
	if v := orderView(priced); v.Refund == nil || *v.Refund != want {
		t.Errorf("refund %+v, want %+v", v.Refund, want)
	}

	// A late payment refunded on arrival, before refundedAt was recorded.
	late := old
	late.Status, late.UpdatedAt = orders.Refunded, done
	want = RefundView{Status: "REFUNDED", AmountCents: 9000, Currency: "EUR", RequestedAt: done, RefundedAt: done, Reason: LateRefundReason}
	if v := orderView(late); v.Refund == nil || *v.Refund != want {
		t.Errorf("late refund %+v, want %+v", v.Refund, want)
	}
}
