package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/waitroom"
)

// RunInventoryStore is the inventory.Store suite.
func RunInventoryStore(t *testing.T, newStores func(t *testing.T) Stores) {
	ctx := context.Background()
	t.Run("HoldTakesSeatsAndCreatesOrder", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		o := mustHold(t, st, seatOrder("o1", "e1", "fan-1", "A-1-1", "A-1-2"))
		if o.Status != orders.PendingPayment || len(o.Seats) != 2 {
			t.Fatalf("stored order %+v", o)
		}
		for _, seat := range o.Seats {
			if s := seatState(t, st, "e1", seat); s.State != catalog.SeatHeld || s.OrderID != "o1" {
				t.Fatalf("seat %s = %+v, want held by o1", seat, s)
			}
		}
		list, err := st.Inventory.ListOrders(ctx, "fan-1", 10)
		if err != nil || len(list) != 1 || list[0].ID != "o1" {
			t.Fatalf("ListOrders = %+v, %v", list, err)
		}
	})
	t.Run("SeatAlreadyHeld", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		mustHold(t, st, seatOrder("o1", "e1", "fan-1", "A-1-1"))
		err := st.Inventory.CreateHold(ctx, holdPlan(seatOrder("o2", "e1", "fan-2", "A-1-2", "A-1-1"), 10))
		if !seatsTaken(err, "A-1-1") {
			t.Fatalf("hold on a held seat = %v, want a conflict naming A-1-1", err)
		}
		if s := seatState(t, st, "e1", "A-1-2"); s.State != catalog.SeatAvailable {
			t.Fatalf("the losing hold took A-1-2: %+v", s)
		}
		if _, err := st.Inventory.GetOrder(ctx, "o2"); !isNotFound(err) {
			t.Fatalf("the losing hold's order: %v, want not found", err)
		}
	})
	t.Run("LimitPerAccount", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		if err := st.Inventory.CreateHold(ctx, holdPlan(seatOrder("o1", "e1", "fan-1", "A-1-1", "A-1-2"), 3)); err != nil {
			t.Fatal(err)
		}
		err := st.Inventory.CreateHold(ctx, holdPlan(seatOrder("o2", "e1", "fan-1", "A-1-3", "A-1-4"), 3))
		if !limitReached(err) {
			t.Fatalf("a hold past the limit = %v, want the limit conflict", err)
		}
		if err := st.Inventory.CreateHold(ctx, holdPlan(seatOrder("o3", "e1", "fan-1", "A-1-3"), 3)); err != nil {
			t.Fatalf("a hold up to the limit: %v", err)
		}
	})
	t.Run("AdmissionUsedOnce", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		mustHold(t, st, seatOrder("o1", "e1", "fan-1", "A-1-1"))
		again := seatOrder("o2", "e1", "fan-1", "A-1-2")
		again.AdmissionID = "adm-o1"
		if err := st.Inventory.CreateHold(ctx, holdPlan(again, 10)); !admissionUsed(err) {
			t.Fatalf("a second hold with one admission = %v, want the admission conflict", err)
		}
	})
	t.Run("HoldMarksItsPlaceUsed", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		p := place("fan-1", false)
		p.Position = 1
		if err := st.Waitroom.WritePlaces(ctx, []waitroom.Place{p}); err != nil {
			t.Fatal(err)
		}
		if _, _, claimed, err := st.Waitroom.ClaimServed(ctx, "e1", "fan-1", 1, "adm-o1", Now.Add(time.Minute), Now); !claimed || err != nil {
			t.Fatalf("ClaimServed = %v, %v", claimed, err)
		}
		plan := holdPlan(seatOrder("o1", "e1", "fan-1", "A-1-1"), 10)
		plan.MarkPlace = true
		if err := st.Inventory.CreateHold(ctx, plan); err != nil {
			t.Fatal(err)
		}
		if got, found, err := st.Waitroom.Place(ctx, "e1", "fan-1"); !found || err != nil || !got.UsedAt.Equal(Now) {
			t.Fatalf("place after the hold = %+v (found %v, %v), want used at %v", got, found, err, Now)
		}
		if expired, err := st.Waitroom.ExpiredAdmissions(ctx, "e1", Now.Add(2*time.Minute), 10); err != nil || len(expired) != 0 {
			t.Fatalf("a used admission listed as expired: %v, %v", accounts(expired), err)
		}
		// An admission no place gave: refused on the place, nothing written.
		other := holdPlan(seatOrder("o2", "e1", "fan-2", "A-1-2"), 10)
		other.MarkPlace = true
		var c *inventory.Conflict
		if err := st.Inventory.CreateHold(ctx, other); !errors.As(err, &c) || !c.Place || c.Admission || len(c.Seats) > 0 {
			t.Fatalf("hold marking a place that does not exist = %v, want the place's conflict only", err)
		}
		if _, found, _ := st.Waitroom.Place(ctx, "e1", "fan-2"); found {
			t.Fatal("the refused hold created a place")
		}
		if s := seatState(t, st, "e1", "A-1-2"); s.State != catalog.SeatAvailable {
			t.Fatalf("the refused hold took A-1-2: %+v", s)
		}
		other.MarkPlace, other.Cancelled = false, 1
		if err := st.Inventory.CreateHold(ctx, other); err != nil {
			t.Fatalf("the same hold without the place: %v", err)
		}
	})
	t.Run("GATakesFromShards", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		shards := len(catalog.GAShardCapacities(20))
		before, err := st.Inventory.GAShards(ctx, "e1", "GA", shards)
		if err != nil || len(before) != shards {
			t.Fatalf("GAShards = %v, %v", before, err)
		}
		o := seatOrder("o1", "e1", "fan-1")
		o.Seats, o.Section, o.Quantity = nil, "GA", 2
		o.GATakes = []orders.GATake{{Shard: 0, Quantity: 2}}
		mustHold(t, st, o)
		after, _ := st.Inventory.GAShards(ctx, "e1", "GA", shards)
		if after[0] != before[0]-2 {
			t.Fatalf("shard 0: %d available after taking 2 of %d", after[0], before[0])
		}
		o2 := o
		o2.ID, o2.Account, o2.AdmissionID = "o2", "fan-2", "adm-o2"
		o2.GATakes = []orders.GATake{{Shard: 0, Quantity: after[0] + 1}}
		o2.Quantity = after[0] + 1
		if err := st.Inventory.CreateHold(ctx, holdPlan(o2, 100)); err == nil {
			t.Fatal("a take larger than the shard's stock succeeded")
		}
	})
	t.Run("IdempotencyRecordedWithHold", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		p := holdPlan(seatOrder("o1", "e1", "fan-1", "A-1-1"), 10)
		p.Idempotency = &inventory.IdempotencyRecord{Account: "fan-1", Key: "k1", Fingerprint: "f", OrderID: "o1"}
		if err := st.Inventory.CreateHold(ctx, p); err != nil {
			t.Fatal(err)
		}
		rec, ok, err := st.Inventory.GetIdempotency(ctx, "fan-1", "k1")
		if err != nil || !ok || rec.OrderID != "o1" || rec.Fingerprint != "f" {
			t.Fatalf("GetIdempotency = %+v, %v, %v", rec, ok, err)
		}
		if _, ok, _ := st.Inventory.GetIdempotency(ctx, "fan-1", "other"); ok {
			t.Fatal("an unknown key was found")
		}
	})
	t.Run("ReleaseOnceAtItsVersion", func(t *testing.T) {
		st := newStores(t)
		mustEvent(t, st, "e1")
		o := mustHold(t, st, seatOrder("o1", "e1", "fan-1", "A-1-1"))
		if err := st.Inventory.ReleaseHold(ctx, o, orders.Cancelled, o.Seats, Now); err != nil {
			t.Fatal(err)
		}
		// The seat's former orderId may stay (the embedded server ignores
		// REMOVE in a SET clause): AVAILABLE is what frees it.
		if s := seatState(t, st, "e1", "A-1-1"); s.State != catalog.SeatAvailable {
			t.Fatalf("released seat = %+v", s)
		}
		if got, _ := st.Inventory.GetOrder(ctx, "o1"); got.Status != orders.Cancelled || got.Version != o.Version+1 {
			t.Fatalf("order after release: %s v%d", got.Status, got.Version)
		}
		if err := st.Inventory.ReleaseHold(ctx, o, orders.Expired, o.Seats, Now); !isConflict(err) {
			t.Fatalf("a second release = %v, want a conflict", err)
		}
	})
	t.Run("UnknownOrderNotFound", func(t *testing.T) {
		st := newStores(t)
		if _, err := st.Inventory.GetOrder(ctx, "nope"); !isNotFound(err) {
			t.Fatalf("GetOrder(nope) = %v, want not found", err)
		}
	})
}
