package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/health"
	"github.com/stararena/stararena/internal/orders"
)

// RunHealthStore is the health.Store suite.
func RunHealthStore(t *testing.T, newStores func(t *testing.T) Stores) {
	ctx := context.Background()
	start := Now.Truncate(10 * time.Second)
	window := func(ev string, n int, out health.Outcome) health.Window {
		w := health.Window{EventID: ev, Start: start}
		for range n {
			w.Observe(40*time.Millisecond, out)
		}
		return w
	}
	t.Run("WindowsMerge", func(t *testing.T) {
		st := newStores(t)
		a, b := window("e1", 3, health.OK), window("e1", 2, health.Error)
		for _, w := range []health.Window{a, b} {
			if err := st.Health.AddWindow(ctx, w); err != nil {
				t.Fatal(err)
			}
		}
		want := a
		want.Merge(b)
		ws, err := st.Health.Windows(ctx, "e1", []time.Time{start, start.Add(10 * time.Second)})
		if err != nil || len(ws) != 2 || ws[0] != want || !ws[1].IsZero() {
			t.Fatalf("Windows = %+v, %v; want %+v and an empty one", ws, err, want)
		}
	})
	t.Run("EventsApart", func(t *testing.T) {
		st := newStores(t)
		if err := st.Health.AddWindow(ctx, window("e1", 1, health.OK)); err != nil {
			t.Fatal(err)
		}
		if ws, err := st.Health.Windows(ctx, "e2", []time.Time{start}); err != nil || !ws[0].IsZero() {
			t.Fatalf("another event's window = %+v, %v", ws, err)
		}
	})
}

// RunRateLimitStore is the ratelimit.Store suite.
func RunRateLimitStore(t *testing.T, newStores func(t *testing.T) Stores) {
	ctx := context.Background()
	t.Run("AllowsUpToLimitPerWindowAndSubject", func(t *testing.T) {
		st := newStores(t)
		hit := func(subject string, window time.Time) bool {
			t.Helper()
			ok, err := st.RateLimit.Hit(ctx, "admission", subject, window, window.Add(time.Hour), 2)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		for i := range 2 {
			if !hit("fan-1", Now) {
				t.Fatalf("hit %d of a limit of 2 was refused", i+1)
			}
		}
		if hit("fan-1", Now) {
			t.Fatal("the third hit of a limit of 2 was allowed")
		}
		if !hit("fan-2", Now) {
			t.Fatal("another subject shares the count")
		}
		if !hit("fan-1", Now.Add(time.Minute)) {
			t.Fatal("the next window shares the count")
		}
	})
}

// RunReportStore is the handlers.ReportStore suite.
func RunReportStore(t *testing.T, newStores func(t *testing.T) Stores) {
	ctx := context.Background()
	t.Run("EventOrdersOpenAndDone", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		mustEvent(t, st, "e2")
		mustHold(t, st, seatOrder("open", "e1", "fan-1", "A-1-1"))
		done := mustHold(t, st, seatOrder("done", "e1", "fan-2", "A-1-2"))
		mustHold(t, st, seatOrder("elsewhere", "e2", "fan-3", "A-1-1"))
		if err := st.Inventory.ReleaseHold(ctx, done, orders.Cancelled, done.Seats, Now); err != nil {
			t.Fatal(err)
		}
		// The report reads an index: eventually consistent on AWS.
		got := waitFor(t, func() []string {
			os, err := st.Reports.EventOrders(ctx, "e1")
			if err != nil {
				t.Fatal(err)
			}
			return orderIDs(os)
		}, []string{"done", "open"})
		if !slices.Equal(got, []string{"done", "open"}) {
			t.Fatalf("EventOrders = %v", got)
		}
	})
	t.Run("LastReconcileReport", func(t *testing.T) {
		st := newStores(t)
		if r, err := st.Reports.LastReconcileReport(ctx, "e1"); r != nil || err != nil {
			t.Fatalf("report before any = %q, %v", r, err)
		}
		for _, r := range []string{`{"n":1}`, `{"n":2}`} {
			if err := st.Reconcile.SaveReconcileReport(ctx, "e1", []byte(r)); err != nil {
				t.Fatal(err)
			}
		}
		if r, err := st.Reports.LastReconcileReport(ctx, "e1"); string(r) != `{"n":2}` || err != nil {
			t.Fatalf("LastReconcileReport = %q, %v", r, err)
		}
	})
}

// RunProviderEventStore is the checkout.EventStore suite.
func RunProviderEventStore(t *testing.T, newStores func(t *testing.T) Stores) {
	ctx := context.Background()
	t.Run("FirstFinishOnly", func(t *testing.T) {
		st := newStores(t)
		if first, err := st.ProviderEvents.FinishEvent(ctx, "sandbox", "evt_1", Now); !first || err != nil {
			t.Fatalf("first record = %v, %v", first, err)
		}
		// A replay (or a racing delivery) finds it recorded.
		if first, err := st.ProviderEvents.FinishEvent(ctx, "sandbox", "evt_1", Now); first || err != nil {
			t.Fatalf("second record = %v, %v; want a replay", first, err)
		}
		if first, _ := st.ProviderEvents.FinishEvent(ctx, "stripe", "evt_1", Now); !first {
			t.Fatal("another provider's event of the same id counts as done")
		}
	})
}

// RunReconcileStore is the reconcile.Store suite.
func RunReconcileStore(t *testing.T, newStores func(t *testing.T) Stores) {
	ctx := context.Background()
	t.Run("OverdueOrdersByDeadline", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		mustHold(t, st, seatOrder("o1", "e1", "fan-1", "A-1-1")) // expires at Now+15m
		if got, _ := st.Reconcile.OverdueOrders(ctx, "e1", Now.Add(time.Minute), 10); len(got) != 0 {
			t.Fatalf("orders before their deadline are overdue: %v", orderIDs(got))
		}
		got := waitFor(t, func() []string {
			os, err := st.Reconcile.OverdueOrders(ctx, "e1", Now.Add(16*time.Minute), 10)
			if err != nil {
				t.Fatal(err)
			}
			return orderIDs(os)
		}, []string{"o1"})
		if !slices.Equal(got, []string{"o1"}) {
			t.Fatalf("OverdueOrders = %v", got)
		}
	})
	t.Run("OrdersByID", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		mustHold(t, st, seatOrder("o1", "e1", "fan-1", "A-1-1"))
		got, err := st.Reconcile.OrdersByID(ctx, []string{"o1", "nope"})
		if err != nil || len(got) != 1 || got["o1"].ID != "o1" {
			t.Fatalf("OrdersByID = %v, %v", got, err)
		}
		if o, err := st.Reconcile.GetOrder(ctx, "o1"); err != nil || o.ID != "o1" {
			t.Fatalf("GetOrder = %+v, %v", o, err)
		}
	})
	t.Run("ReleaseOrphanSeatOnlyForItsOrder", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		mustHold(t, st, seatOrder("o1", "e1", "fan-1", "A-1-1"))
		if err := st.Reconcile.ReleaseOrphanSeat(ctx, "e1", "A-1-1", "other"); !isConflict(err) {
			t.Fatalf("release for another order = %v, want a conflict", err)
		}
		if err := st.Reconcile.ReleaseOrphanSeat(ctx, "e1", "A-1-1", "o1"); err != nil {
			t.Fatal(err)
		}
		hs, err := st.Reconcile.SeatHolders(ctx, "e1", []string{"A-1-1"})
		if err != nil || hs["A-1-1"].State != catalog.SeatAvailable {
			t.Fatalf("SeatHolders after release = %v, %v", hs, err)
		}
	})
	t.Run("RecentRefundsSince", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		o := mustHold(t, st, seatOrder("o1", "e1", "fan-1", "A-1-1"))
		if err := st.Orders.MarkPaid(ctx, o, payment(o, "p1"), Now); err != nil {
			t.Fatal(err)
		}
		if err := st.Orders.BeginRefund(ctx, mustOrder(t, st, "o1"), nil, Now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got, err := st.Reconcile.RecentRefunds(ctx, "e1", Now); err != nil || !slices.Equal(got, []string{"o1"}) {
			t.Fatalf("RecentRefunds(since before) = %v, %v", got, err)
		}
		if got, _ := st.Reconcile.RecentRefunds(ctx, "e1", Now.Add(time.Hour)); len(got) != 0 {
			t.Fatalf("RecentRefunds(since after) = %v", got)
		}
		if rec, ok, err := st.Reconcile.GetPayment(ctx, "sandbox", "p1"); !ok || err != nil || rec.OrderID != "o1" {
			t.Fatalf("GetPayment = %+v, %v, %v", rec, ok, err)
		}
	})
}

func orderIDs(os []orders.Order) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.ID
	}
	slices.Sort(out)
	return out
}
