package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/orders"
)

func payment(o orders.Order, id string) orders.Payment {
	return orders.Payment{Provider: "sandbox", ID: id, OrderID: o.ID, Succeeded: true, AmountCents: o.AmountCents, Currency: o.Currency}
}

// RunOrderStore is the orders.Store suite.
func RunOrderStore(t *testing.T, newStores func(t *testing.T) Stores) {
	ctx := context.Background()
	t.Run("MarkPaidSellsSeatsAndRecordsPayment", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		o := mustHold(t, st, seatOrder("o1", "e1", "fan-1", "A-1-1"))
		// The webhook that announced the payment is recorded processed by
		// the same transaction; one refused records nothing.
		paying := payment(o, "p1")
		paying.EventID = "evt_pays"
		if err := st.Orders.MarkPaid(ctx, o, paying, Now); err != nil {
			t.Fatal(err)
		}
		if first, err := st.ProviderEvents.FinishEvent(ctx, "sandbox", "evt_pays", Now); first || err != nil {
			t.Fatalf("the paying event after MarkPaid: first record %v, %v; want recorded by MarkPaid", first, err)
		}
		if got := mustOrder(t, st, "o1"); got.Status != orders.Paid || got.PaymentID != "p1" {
			t.Fatalf("order after MarkPaid: %s, payment %q", got.Status, got.PaymentID)
		}
		if s := seatState(t, st, "e1", "A-1-1"); s.State != catalog.SeatSold || s.OrderID != "o1" {
			t.Fatalf("seat after MarkPaid: %+v", s)
		}
		rec, ok, err := st.Orders.GetPayment(ctx, "sandbox", "p1")
		if err != nil || !ok || rec.OrderID != "o1" || rec.Role != orders.RolePays {
			t.Fatalf("GetPayment = %+v, %v, %v", rec, ok, err)
		}
		late := payment(o, "p2")
		late.EventID = "evt_refused"
		if err := st.Orders.MarkPaid(ctx, o, late, Now); !isConflict(err) {
			t.Fatalf("MarkPaid of a paid order = %v, want a conflict", err)
		}
		if first, err := st.ProviderEvents.FinishEvent(ctx, "sandbox", "evt_refused", Now); !first || err != nil {
			t.Fatalf("the event of a refused MarkPaid: first record %v, %v; want not recorded before", first, err)
		}
	})
	t.Run("IssueOrderWritesTicketsAndMovesTheOrderTogether", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		o := mustHold(t, st, seatOrder("o1", "e1", "fan-1", "A-1-1", "A-1-2"))
		if err := st.Orders.MarkPaid(ctx, o, payment(o, "p1"), Now); err != nil {
			t.Fatal(err)
		}
		paid := mustOrder(t, st, "o1")
		m, ts := issue("o1", "A-1-1", "A-1-2")
		// A read from before the payment (pending, older version) issues
		// nothing.
		if err := st.Tickets.IssueOrder(ctx, o, m, ts, Now); !fault.Is(err, fault.ConditionFailed) {
			t.Fatalf("IssueOrder of a stale order = %v, want ConditionFailed", err)
		}
		if _, _, found, err := st.Tickets.OrderTickets(ctx, "o1"); found || err != nil {
			t.Fatalf("tickets after a refused IssueOrder: found %v, %v", found, err)
		}
		if err := st.Tickets.IssueOrder(ctx, paid, m, ts, Now); err != nil {
			t.Fatal(err)
		}
		if got := mustOrder(t, st, "o1"); got.Status != orders.Issued || got.Version != paid.Version+1 || got.IssuedAt.IsZero() {
			t.Fatalf("order after IssueOrder: %s v%d issued at %v", got.Status, got.Version, got.IssuedAt)
		}
		got, err := st.Tickets.TicketsByID(ctx, []string{ts[1].ID, "ghost", ts[0].ID})
		if err != nil || len(got) != 2 || got[0].ID != ts[1].ID || got[1].ID != ts[0].ID {
			t.Fatalf("TicketsByID = %+v, %v; want the two tickets in the order asked, the ghost left out", got, err)
		}
		// Issuing again: the manifest exists (whatever the order's state).
		if err := st.Tickets.IssueOrder(ctx, paid, m, ts, Now); !fault.Is(err, fault.Exists) {
			t.Fatalf("a second IssueOrder = %v, want fault.Exists", err)
		}
	})
	t.Run("WrongStateTransitionConflicts", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		o := mustHold(t, st, seatOrder("o1", "e1", "fan-1", "A-1-1"))
		if err := st.Orders.SetStatus(ctx, o, []orders.Status{orders.Paid}, orders.Issued, nil, Now); !isConflict(err) {
			t.Fatalf("PAID→ISSUED on a pending order = %v, want a conflict", err)
		}
		stale := o
		stale.Version--
		if err := st.Orders.SetStatus(ctx, stale, []orders.Status{orders.PendingPayment}, orders.Expired, nil, Now); !isConflict(err) {
			t.Fatalf("a transition at a stale version = %v, want a conflict", err)
		}
		if err := st.Orders.SetStatus(ctx, o, []orders.Status{orders.PendingPayment}, orders.Expired, nil, Now); err != nil {
			t.Fatal(err)
		}
		if got := mustOrder(t, st, "o1"); got.Status != orders.Expired || got.Version != o.Version+1 {
			t.Fatalf("after SetStatus: %s v%d", got.Status, got.Version)
		}
	})
	t.Run("TaskTokenOnlyWhilePending", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		o := mustHold(t, st, seatOrder("o1", "e1", "fan-1", "A-1-1"))
		if err := st.Orders.SetTaskToken(ctx, "o1", "tok"); err != nil {
			t.Fatal(err)
		}
		if got := mustOrder(t, st, "o1"); got.TaskToken != "tok" || got.Version != o.Version {
			t.Fatalf("after SetTaskToken: token %q v%d (the version must not move)", got.TaskToken, got.Version)
		}
		// MarkPaid from a read without the token loses: the caller must
		// re-read to learn whom to resume.
		if err := st.Orders.MarkPaid(ctx, o, payment(o, "p1"), Now); !isConflict(err) {
			t.Fatalf("MarkPaid without the recorded token = %v, want a conflict", err)
		}
		if err := st.Orders.SetStatus(ctx, mustOrder(t, st, "o1"), []orders.Status{orders.PendingPayment}, orders.Expired, nil, Now); err != nil {
			t.Fatal(err)
		}
		if err := st.Orders.SetTaskToken(ctx, "o1", "tok2"); !isConflict(err) {
			t.Fatalf("SetTaskToken on an expired order = %v, want a conflict", err)
		}
	})
	t.Run("PaymentRecordedOnce", func(t *testing.T) {
		st := newStores(t)
		r := orders.PaymentRecord{Provider: "sandbox", PaymentID: "p1", OrderID: "o1", Role: orders.RoleDuplicate, AmountCents: 100, Currency: "EUR", CapturedAt: Now}
		if created, err := st.Orders.PutPayment(ctx, r); !created || err != nil {
			t.Fatalf("first PutPayment = %v, %v", created, err)
		}
		r2 := r
		r2.OrderID = "o2"
		if created, err := st.Orders.PutPayment(ctx, r2); created || err != nil {
			t.Fatalf("second PutPayment = %v, %v; want not created", created, err)
		}
		if got, _, _ := st.Orders.GetPayment(ctx, "sandbox", "p1"); got.OrderID != "o1" {
			t.Fatalf("the second put overwrote the record: %+v", got)
		}
		if err := st.Orders.MarkPaymentRefunded(ctx, "sandbox", "p1", "re_1"); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := st.Orders.GetPayment(ctx, "sandbox", "p1"); !got.Refunded || got.RefundID != "re_1" {
			t.Fatalf("after MarkPaymentRefunded: %+v", got)
		}
		if _, ok, err := st.Orders.GetPayment(ctx, "sandbox", "nope"); ok || err != nil {
			t.Fatalf("GetPayment(nope) = %v, %v", ok, err)
		}
	})
	t.Run("ReholdAfterRelease", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		o := mustHold(t, st, seatOrder("o1", "e1", "fan-1", "A-1-1"))
		if err := st.Inventory.ReleaseHold(ctx, o, orders.Expired, o.Seats, Now); err != nil {
			t.Fatal(err)
		}
		expired := mustOrder(t, st, "o1")
		if err := st.Orders.Rehold(ctx, expired, payment(expired, "p1"), 10, Now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got := mustOrder(t, st, "o1"); got.Status != orders.Paid || !got.Late {
			t.Fatalf("after Rehold: %s late=%v", got.Status, got.Late)
		}
		if s := seatState(t, st, "e1", "A-1-1"); s.State != catalog.SeatSold {
			t.Fatalf("seat after Rehold: %+v", s)
		}
	})
	t.Run("ReholdSeatsGoneConflicts", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		o := mustHold(t, st, seatOrder("o1", "e1", "fan-1", "A-1-1"))
		if err := st.Inventory.ReleaseHold(ctx, o, orders.Expired, o.Seats, Now); err != nil {
			t.Fatal(err)
		}
		mustHold(t, st, seatOrder("o2", "e1", "fan-2", "A-1-1"))
		expired := mustOrder(t, st, "o1")
		if err := st.Orders.Rehold(ctx, expired, payment(expired, "p1"), 10, Now); !isConflict(err) {
			t.Fatalf("Rehold of a taken seat = %v, want a conflict", err)
		}
		if got := mustOrder(t, st, "o1"); got.Status != orders.Expired {
			t.Fatalf("the order moved: %s", got.Status)
		}
	})
	t.Run("RefundKeepsSeatsSoldUntilReleased", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		o := mustHold(t, st, seatOrder("o1", "e1", "fan-1", "A-1-1", "A-1-2"))
		if err := st.Orders.MarkPaid(ctx, o, payment(o, "p1"), Now); err != nil {
			t.Fatal(err)
		}
		sold, err := st.Orders.SeatsSoldTo(ctx, "e1", "o1", []string{"A-1-1", "A-1-2", "A-1-3"})
		if err != nil || len(sold) != 2 {
			t.Fatalf("SeatsSoldTo = %v, %v", sold, err)
		}
		paid := mustOrder(t, st, "o1")
		if err := st.Orders.BeginRefund(ctx, paid, map[string]any{"refundRequestedBy": "org", "refundHoldsPlaces": true}, Now); err != nil {
			t.Fatal(err)
		}
		pending := mustOrder(t, st, "o1")
		if pending.Status != orders.RefundPending || !pending.RefundHoldsPlaces {
			t.Fatalf("after BeginRefund: %s, holds places %v", pending.Status, pending.RefundHoldsPlaces)
		}
		if s := seatState(t, st, "e1", "A-1-1"); s.State != catalog.SeatSold {
			t.Fatalf("seat after BeginRefund: %+v, want still SOLD", s)
		}
		if err := st.Orders.BeginRefund(ctx, paid, nil, Now); !isConflict(err) {
			t.Fatalf("a second BeginRefund = %v, want a conflict", err)
		}
		if err := st.Orders.ReleaseRefundedPlaces(ctx, pending, sold, Now); err != nil {
			t.Fatal(err)
		}
		if s := seatState(t, st, "e1", "A-1-1"); s.State != catalog.SeatAvailable {
			t.Fatalf("seat after ReleaseRefundedPlaces: %+v", s)
		}
		released := mustOrder(t, st, "o1")
		if released.Status != orders.RefundPending || released.RefundHoldsPlaces {
			t.Fatalf("after the release: %s, holds places %v", released.Status, released.RefundHoldsPlaces)
		}
		if err := st.Orders.ReleaseRefundedPlaces(ctx, released, nil, Now); !isConflict(err) {
			t.Fatalf("a second release = %v, want a conflict (the limit would be credited twice)", err)
		}
	})
	t.Run("UnknownOrderNotFound", func(t *testing.T) {
		st := newStores(t)
		if _, err := st.Orders.GetOrder(ctx, "nope"); !isNotFound(err) {
			t.Fatalf("GetOrder(nope) = %v, want not found", err)
		}
	})
}
