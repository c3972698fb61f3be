package rush

import (
	"context"
	"os"
	"runtime/debug"
	"testing"
	"time"
)

// TestRushCancellation runs a small sale with Small's faults (1,200 fans,
// 300 places), then cancels the event as its organizer and waits for the
// reconciler's saga (ADR 20). It asserts, on what the provider, the gate
// and the stored places say: every captured payment refunded exactly once
// (the provider's own records), every ticket that was valid answers
// REVOKED at check-in, no place held or sold, and the provider never took
// more refunds in a second than CANCEL_REFUNDS_PER_SECOND allows.
func TestRushCancellation(t *testing.T) {
	if testing.Short() {
		t.Skip("a 1,200-fan sale and its cancellation")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(2 << 30))
	cfg := Cancellation()
	cfg.Seats, cfg.Fans = 300, 1_200
	// A slower pace than the default 20/s, so that the limit is what
	// shapes the refunds of a few hundred orders, not their number.
	cfg.CancelRefundsPerSecond = 10
	if testing.Verbose() {
		cfg.Progress = os.Stderr
	}
	began := time.Now()
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%.1f s\n%s", time.Since(began).Seconds(), rep.Text())
	for _, f := range rep.Invariants.Failures {
		t.Errorf("sale invariant: %s", f)
	}
	c := rep.Cancellation
	if c == nil {
		t.Fatal("no cancellation report")
	}
	for _, f := range c.Failures {
		t.Errorf("cancellation: %s", f)
	}
	if c.Progress.State != "DONE" {
		t.Errorf("saga %s, want DONE", c.Progress.State)
	}
	// The sale sold and the saga refunded what the sale captured.
	if rep.Sale.TicketsIssued == 0 || c.TicketsScanned != rep.Sale.TicketsIssued {
		t.Errorf("%d tickets issued by the sale, %d scanned after the cancellation", rep.Sale.TicketsIssued, c.TicketsScanned)
	}
	if c.PaymentsCaptured == 0 || c.PaymentsRefundedOnce != c.PaymentsCaptured || c.PaymentsNotRefunded != 0 || c.PaymentsRefundedTwice != 0 {
		t.Errorf("%d payments captured: %d refunded once, %d not refunded, %d more than once",
			c.PaymentsCaptured, c.PaymentsRefundedOnce, c.PaymentsNotRefunded, c.PaymentsRefundedTwice)
	}
	if c.RefundsBySaga != rep.Sale.OrdersByStatus["ISSUED"] || c.Progress.Refunded < c.RefundsBySaga {
		t.Errorf("saga refunded %d payments (progress %d), the sale left %d issued orders", c.RefundsBySaga, c.Progress.Refunded, rep.Sale.OrdersByStatus["ISSUED"])
	}
	if c.CheckIn["REVOKED"] != c.TicketsScanned || c.ValidTickets != 0 {
		t.Errorf("check-in answers %v for %d tickets, want all REVOKED", c.CheckIn, c.TicketsScanned)
	}
	if c.PlacesHeld != 0 || c.PlacesSold != 0 {
		t.Errorf("%d places held, %d sold after the cancellation", c.PlacesHeld, c.PlacesSold)
	}
	if c.PeakRefunds > int(cfg.CancelRefundsPerSecond)+1 || c.PeakRefunds == 0 {
		t.Errorf("peak %d refunds in one second, limit %.0f/s", c.PeakRefunds, cfg.CancelRefundsPerSecond)
	}
	// The faults were on: the sale was not a clean one.
	if f := rep.Faults; f.Webhooks["drop"] == 0 || f.Webhooks["duplicate"] == 0 || f.DuplicateCaptures+f.LatePayments == 0 {
		t.Errorf("faults: webhooks %v, duplicate captures %d, late payments %d: want some", f.Webhooks, f.DuplicateCaptures, f.LatePayments)
	}
}
