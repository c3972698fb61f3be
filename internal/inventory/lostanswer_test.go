package inventory_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/localdynamo"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/testenv/fixture"
)

// lostFirstAnswer is the real store whose first hold transaction is
// applied and its answer lost on the way back, as DynamoDB's answer
// sometimes is.
type lostFirstAnswer struct {
	inventory.Store
	db *localdynamo.Server

	mu    sync.Mutex
	calls int
}

func (s *lostFirstAnswer) CreateHold(ctx context.Context, p inventory.HoldPlan) error {
	s.mu.Lock()
	s.calls++
	first := s.calls == 1
	s.mu.Unlock()
	if first {
		s.db.SetFaults(localdynamo.Faults{LostAnswer: 1})
		defer s.db.SetFaults(localdynamo.Faults{})
	}
	return s.Store.CreateHold(ctx, p)
}

// TestHoldWhoseAnswerWasLostReturnsItsOrder: a hold without an
// Idempotency-Key whose transaction committed but whose answer was lost
// is retried by the service; the retry returns the order that exists
// (the same plan through the transaction's ClientRequestToken), not
// "admission token already used", and nothing is taken twice.
func TestHoldWhoseAnswerWasLostReturnsItsOrder(t *testing.T) {
	db, table, srv := testenv.FaultyDynamoDB(t)
	w := newWorldWith(t, fixture.AppOptions{DB: db, Table: table})
	a := w.App
	ev := w.event(t, 1, 10, 4)
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		account string
		req     inventory.HoldRequest
	}{
		{"Seats", "fan-seats", inventory.HoldRequest{Seats: []string{"A-1-1", "A-1-2"}}},
		{"GA", "fan-ga", inventory.HoldRequest{Section: "GA", Quantity: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &lostFirstAnswer{Store: a.Stores.Inventory, db: srv}
			inv := inventory.NewService(store, a.Catalog, a.Tokens, inventory.Options{})
			before := srv.Injected()
			tc.req.AdmissionToken = w.token(t, tc.account, ev.ID)
			o, err := inv.Hold(ctx, tc.account, ev.ID, tc.req, "")
			if err != nil {
				t.Fatalf("hold: %v, want the order its lost answer was about", err)
			}
			after := srv.Injected()
			if lost := after[localdynamo.FaultLostAnswer] - before[localdynamo.FaultLostAnswer]; lost != 1 || store.calls < 2 {
				t.Fatalf("%d answers lost in %d hold transactions: the test did not lose the first answer", lost, store.calls)
			}
			if tc.name == "Seats" && after[localdynamo.TokenReplays] == before[localdynamo.TokenReplays] {
				t.Error("the retry of the same plan was not answered from the first transaction's ClientRequestToken")
			}
			os, err := inv.Orders(ctx, tc.account)
			if err != nil || len(os) != 1 || os[0].ID != o.ID {
				t.Fatalf("orders %v (%v), want the one order %s", os, err, o.ID)
			}
			if n := w.limitCount(t, ev.ID, tc.account); n != 2 {
				t.Errorf("account limit counts %d places, want 2", n)
			}
			if tc.name == "Seats" {
				for id, st := range w.seats(t, ev) {
					if (id == "A-1-1" || id == "A-1-2") != (st.State == catalog.SeatHeld && st.OrderID == o.ID) {
						t.Errorf("seat %s is %s for %q", id, st.State, st.OrderID)
					}
				}
			} else if available, held := w.gaCounts(t, ev); available != 8 || held != 2 {
				t.Errorf("GA available %d held %d, want 8 and 2", available, held)
			}
		})
	}
}
