package rush

import (
	"context"
	"encoding/json"
	"os"
	"runtime/debug"
	"testing"
	"time"
)

// TestRushSmall runs the sale at a tenth of `make rush` — 2,000 places,
// 10,000 fans — with the same faults: webhooks dropped, duplicated,
// delayed past expiry and re-ordered, late and duplicate payments,
// declined cards, the ticket issuer down for a while and workflow
// functions crashing between steps. It asserts the invariants on the
// stored seats, shards, orders, tickets and the provider's payments, and
// that the faults really happened (a run without them proves little).
func TestRushSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("a 10,000-fan sale")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(2 << 30))
	cfg := Small()
	if testing.Verbose() {
		cfg.Progress = os.Stderr
	}
	began := time.Now()
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%.1f s\n%s", time.Since(began).Seconds(), rep.Text())
	if out := os.Getenv("RUSH_REPORT"); out != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		_ = os.WriteFile(out, b, 0o644)
	}

	inv := rep.Invariants
	for _, f := range inv.Failures {
		t.Errorf("invariant: %s", f)
	}
	for name, n := range map[string]int{
		"oversold places":                    inv.Oversold,
		"fans charged without a ticket":      inv.ChargedWithoutTicket,
		"double charges not refunded":        inv.DoubleChargesNotRefunded,
		"charges other than the order total": inv.ChargedNotOrderTotal,
		"tickets without a payment":          inv.TicketsWithoutPayment,
		"orders not terminal":                inv.OrdersNotTerminal,
		"accounts over the limit":            inv.AccountsOverLimit,
		"SOLD seats without an issued order": inv.SoldSeatsNotIssued,
		"issued seats not SOLD":              inv.IssuedSeatsNotSold,
		"places still held":                  inv.HeldSeatsLeft,
	} {
		if n != 0 {
			t.Errorf("%s: %d, want 0", name, n)
		}
	}
	if !inv.ReconcilerQuiet {
		t.Error("the reconciler still found drift at the end")
	}

	// The counts add up: every place sold has one valid ticket, every
	// captured payment pays an issued order or was refunded.
	s := rep.Sale
	if s.PlacesSold == 0 || s.TicketsIssued != s.PlacesSold {
		t.Errorf("%d places sold, %d tickets issued", s.PlacesSold, s.TicketsIssued)
	}
	if s.PlacesSold > s.Capacity {
		t.Errorf("%d places sold of %d", s.PlacesSold, s.Capacity)
	}
	if paying := s.OrdersByStatus["ISSUED"]; s.PaymentsCaptured != paying+s.Refunds {
		t.Errorf("%d payments captured, %d issued orders + %d refunds", s.PaymentsCaptured, paying, s.Refunds)
	}

	// The faults were injected and the repairs ran.
	f := rep.Faults
	for mode, min := range map[string]int64{"drop": 20, "duplicate": 20, "delay": 5, "reorder": 1} {
		if f.Webhooks[mode] < min {
			t.Errorf("%d webhooks with fault %q, want at least %d", f.Webhooks[mode], mode, min)
		}
	}
	if f.LatePayments == 0 || f.DuplicateCaptures == 0 || f.Declines == 0 {
		t.Errorf("late payments %d, duplicate captures %d, declines %d: want some of each", f.LatePayments, f.DuplicateCaptures, f.Declines)
	}
	if s.RefundsByRole["DUPLICATE"] != int(f.DuplicateCaptures) {
		t.Errorf("%d duplicate captures, %d refunded as duplicates", f.DuplicateCaptures, s.RefundsByRole["DUPLICATE"])
	}
	if f.IssuerFailures == 0 {
		t.Error("the ticket issuer outage hit no issue attempt")
	}
	crashes := int64(0)
	for _, n := range f.CrashesFired {
		crashes += n
	}
	if crashes == 0 {
		t.Error("no workflow function crashed")
	}
	if rep.Requests.NeverReachedPurchasePath < 0.5 {
		t.Errorf("only %.0f%% of the requests stayed in the waiting room", 100*rep.Requests.NeverReachedPurchasePath)
	}
	if rep.StepFunctions.Executions < int64(s.Orders) || rep.Lambda.Invocations == 0 || rep.DynamoDB.Requests == 0 || rep.Cost.TotalUSD <= 0 {
		t.Errorf("numbers missing: %d executions for %d orders, %d invocations, %d DynamoDB requests, $%.2f",
			rep.StepFunctions.Executions, s.Orders, rep.Lambda.Invocations, rep.DynamoDB.Requests, rep.Cost.TotalUSD)
	}
}
