package orders_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/testenv/fixture"
)

// refunds records refunds by idempotency key, like a provider would: the
// same key refunds once.
type refunds struct {
	mu    sync.Mutex
	byKey map[string]string
	fail  int // fail this many calls first
}

func (r *refunds) Refund(_ context.Context, provider, paymentID, key string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		return "", errors.New("provider unavailable")
	}
	if r.byKey == nil {
		r.byKey = map[string]string{}
	}
	if id, ok := r.byKey[key]; ok {
		return id, nil
	}
	r.byKey[key] = "re_" + paymentID
	return r.byKey[key], nil
}

func (r *refunds) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byKey)
}

type resumes struct {
	mu     sync.Mutex
	tokens []string
	late   []string
}

func (r *resumes) PaymentArrived(_ context.Context, token string, _ orders.Order) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tokens = append(r.tokens, token)
	return nil
}

func (r *resumes) LatePaymentAccepted(_ context.Context, o orders.Order) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.late = append(r.late, o.ID)
	return nil
}

type world struct {
	*app.App
	svc     *orders.Service
	refunds *refunds
	resumes *resumes
	ev      catalog.Event
}

func newWorld(t *testing.T) *world {
	t.Helper()
	a := fixture.NewApp(t, fixture.AppOptions{})
	w := &world{App: a, refunds: &refunds{}, resumes: &resumes{}}
	w.svc = orders.NewService(a.Stores.Orders, w.refunds, w.resumes, orders.ServiceOptions{MaxTickets: fixture.MaxTickets(a)})
	w.ev = fixture.OpenEvent(t, a, fixture.Event{MaxTicketsPerAccount: 4})
	return w
}

func (w *world) hold(t *testing.T, account string, r inventory.HoldRequest) orders.Order {
	t.Helper()
	return fixture.Hold(t, w.App, account, w.ev.ID, r)
}

func pay(o orders.Order, id string) orders.Payment {
	return orders.Payment{Provider: "sandbox", ID: id, OrderID: o.ID, Succeeded: true, AmountCents: o.AmountCents, Currency: o.Currency}
}

func (w *world) order(t *testing.T, id string) orders.Order {
	t.Helper()
	o, err := w.Stores.Orders.GetOrder(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (w *world) seat(t *testing.T, id string) inventory.SeatState {
	t.Helper()
	st, err := w.Stores.Inventory.SeatHolders(context.Background(), w.ev.ID, []string{id})
	if err != nil {
		t.Fatal(err)
	}
	return st[id]
}

func TestPaymentMovesPendingToPaidAndSellsThePlaces(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	o := w.hold(t, "fan-1", inventory.HoldRequest{Seats: []string{"A-1-1", "A-1-2"}})
	g := w.hold(t, "fan-2", inventory.HoldRequest{Section: "GA", Quantity: 2})
	if err := w.svc.AwaitPayment(ctx, o.ID, "token-1"); err != nil {
		t.Fatal(err)
	}
	out, err := w.svc.PaymentCaptured(ctx, pay(o, "pi_1"))
	if err != nil || out != orders.OutcomePaid {
		t.Fatalf("outcome %s, %v", out, err)
	}
	if got := w.order(t, o.ID); got.Status != orders.Paid || got.PaymentID != "pi_1" {
		t.Fatalf("order %+v", got)
	}
	if s := w.seat(t, "A-1-1"); s.State != catalog.SeatSold || s.OrderID != o.ID {
		t.Fatalf("seat %+v", s)
	}
	if len(w.resumes.tokens) != 1 || w.resumes.tokens[0] != "token-1" {
		t.Fatalf("workflow resumed with %v", w.resumes.tokens)
	}
	if out, _ := w.svc.PaymentCaptured(ctx, pay(g, "pi_2")); out != orders.OutcomePaid {
		t.Fatal(out)
	}
	a, h, sold, _ := w.Stores.Catalog.GACounts(ctx, w.ev.ID, "GA", len(catalog.GAShardCapacities(10)))
	if a != 8 || h != 0 || sold != 2 {
		t.Fatalf("GA %d/%d/%d", a, h, sold)
	}
	t.Run("ReplayIsANoOp", func(t *testing.T) {
		for range 3 {
			if out, err := w.svc.PaymentCaptured(ctx, pay(o, "pi_1")); err != nil || out != orders.OutcomeAlreadyPaid {
				t.Fatalf("%s %v", out, err)
			}
		}
		if got := w.order(t, o.ID); got.Version != o.Version+1 || w.refunds.count() != 0 {
			t.Fatalf("replay changed the order (v%d) or refunded (%d)", got.Version, w.refunds.count())
		}
	})
	t.Run("DuplicateCaptureIsRefunded", func(t *testing.T) {
		for range 2 {
			if out, err := w.svc.PaymentCaptured(ctx, pay(o, "pi_dup")); err != nil || out != orders.OutcomeRefunded {
				t.Fatalf("%s %v", out, err)
			}
		}
		rec, ok, _ := w.Stores.Orders.GetPayment(ctx, "sandbox", "pi_dup")
		if !ok || rec.Role != orders.RoleDuplicate || !rec.Refunded || w.refunds.count() != 1 {
			t.Fatalf("record %+v, refunds %d", rec, w.refunds.count())
		}
		if got := w.order(t, o.ID); got.Status != orders.Paid || got.PaymentID != "pi_1" {
			t.Fatalf("order changed: %+v", got)
		}
	})
	t.Run("WrongAmountIsRefunded", func(t *testing.T) {
		o3 := w.hold(t, "fan-3", inventory.HoldRequest{Seats: []string{"A-1-5"}})
		p := pay(o3, "pi_short")
		p.AmountCents--
		if out, _ := w.svc.PaymentCaptured(ctx, p); out != orders.OutcomeRefunded {
			t.Fatal(out)
		}
		if got := w.order(t, o3.ID); got.Status != orders.PendingPayment {
			t.Fatalf("order %s", got.Status)
		}
	})
	t.Run("IssuedOnceThenIdempotent", func(t *testing.T) {
		for range 2 {
			got, err := w.svc.MarkIssued(ctx, o.ID)
			if err != nil || got.Status != orders.Issued {
				t.Fatalf("%+v %v", got, err)
			}
		}
	})
}

func TestLatePayment(t *testing.T) {
	ctx := context.Background()
	t.Run("SamePlacesFreeIsPaid", func(t *testing.T) {
		w := newWorld(t)
		o := w.hold(t, "fan-1", inventory.HoldRequest{Seats: []string{"A-1-3"}})
		if _, err := w.Inventory.Release(ctx, o.ID, orders.Expired); err != nil {
			t.Fatal(err)
		}
		out, err := w.svc.PaymentCaptured(ctx, pay(o, "pi_late"))
		if err != nil || out != orders.OutcomeLatePaid {
			t.Fatalf("%s %v", out, err)
		}
		got := w.order(t, o.ID)
		if got.Status != orders.Paid || !got.Late || w.seat(t, "A-1-3").State != catalog.SeatSold || len(w.resumes.late) != 1 {
			t.Fatalf("order %+v seat %+v late starts %v", got, w.seat(t, "A-1-3"), w.resumes.late)
		}
	})
	t.Run("PlacesGoneIsRefunded", func(t *testing.T) {
		w := newWorld(t)
		o := w.hold(t, "fan-1", inventory.HoldRequest{Seats: []string{"A-1-3"}})
		if _, err := w.Inventory.Cancel(ctx, "fan-1", o.ID); err != nil {
			t.Fatal(err)
		}
		w.hold(t, "fan-2", inventory.HoldRequest{Seats: []string{"A-1-3"}})
		w.refunds.fail = 1 // the first refund call fails: the order waits in REFUND_PENDING
		out, err := w.svc.PaymentCaptured(ctx, pay(o, "pi_late"))
		if out != orders.OutcomeRefundPending || err == nil || w.order(t, o.ID).Status != orders.RefundPending {
			t.Fatalf("first try: %s %v %s", out, err, w.order(t, o.ID).Status)
		}
		out, err = w.svc.PaymentCaptured(ctx, pay(o, "pi_late"))
		if err != nil || out != orders.OutcomeRefunded {
			t.Fatalf("retry: %s %v", out, err)
		}
		got := w.order(t, o.ID)
		rec, _, _ := w.Stores.Orders.GetPayment(ctx, "sandbox", "pi_late")
		if got.Status != orders.Refunded || !rec.Refunded || rec.Role != orders.RoleLate || w.refunds.count() != 1 {
			t.Fatalf("order %s record %+v refunds %d", got.Status, rec, w.refunds.count())
		}
		if s := w.seat(t, "A-1-3"); s.State != catalog.SeatHeld || s.OrderID == o.ID {
			t.Fatalf("the other fan's seat was touched: %+v", s)
		}
	})
}

// TestTimerAndPaymentRace: GIVEN an order whose hold expires exactly when
// its payment arrives WHEN the release and the payment race, 40 times
// THEN a captured payment always ends as a paid order with sold places or
// as a refund — never an expired order that kept the money.
func TestTimerAndPaymentRace(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	outcomes := map[orders.Outcome]int{}
	defer func() { t.Logf("outcomes: %v", outcomes) }()
	for i := range 40 {
		acct := "fan-" + strconv.Itoa(i)
		seat := fmt.Sprintf("A-1-%d", 1+i%10)
		o := w.hold(t, acct, inventory.HoldRequest{Seats: []string{seat}})
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); _, _ = w.Inventory.Release(ctx, o.ID, orders.Expired) }()
		var out orders.Outcome
		var err error
		go func() { defer wg.Done(); out, err = w.svc.PaymentCaptured(ctx, pay(o, "pi_"+strconv.Itoa(i))) }()
		wg.Wait()
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		outcomes[out]++
		got := w.order(t, o.ID)
		rec, recorded, _ := w.Stores.Orders.GetPayment(ctx, "sandbox", "pi_"+strconv.Itoa(i))
		switch {
		case got.Status == orders.Paid && w.seat(t, seat).State == catalog.SeatSold && w.seat(t, seat).OrderID == o.ID && recorded:
		case got.Status == orders.Refunded && recorded && rec.Refunded:
		default:
			t.Fatalf("round %d: outcome %s, order %s, seat %+v, payment %+v", i, out, got.Status, w.seat(t, seat), rec)
		}
		// Free the seat for the next round that uses it.
		if got.Status == orders.Paid {
			if _, err := w.svc.MarkIssued(ctx, o.ID); err != nil {
				t.Fatal(err)
			}
			w.freeSeat(t, seat)
		}
	}
}

func TestAwaitPaymentAfterThePaymentResumesAtOnce(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	o := w.hold(t, "fan-1", inventory.HoldRequest{Seats: []string{"A-1-9"}})
	if _, err := w.svc.PaymentCaptured(ctx, pay(o, "pi_early")); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.AwaitPayment(ctx, o.ID, "token-late"); err != nil {
		t.Fatal(err)
	}
	if len(w.resumes.tokens) != 1 || w.resumes.tokens[0] != "token-late" {
		t.Fatalf("resumed %v", w.resumes.tokens)
	}
}

// tokenBetween is the real store, except that the workflow records its
// payment wait right after the payment's first read of the order: the
// moment between that read and the PAID write.
type tokenBetween struct {
	orders.Store
	once  sync.Once
	token string
	err   error
}

func (s *tokenBetween) GetOrder(ctx context.Context, id string) (orders.Order, error) {
	o, err := s.Store.GetOrder(ctx, id)
	s.once.Do(func() { s.err = s.Store.SetTaskToken(ctx, id, s.token) })
	return o, err
}

func TestPaymentResumesAWaitRecordedDuringItsOwnWrite(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	store := &tokenBetween{Store: w.Stores.Orders, token: "token-between"}
	svc := orders.NewService(store, w.refunds, w.resumes, orders.ServiceOptions{})
	o := w.hold(t, "fan-1", inventory.HoldRequest{Seats: []string{"A-1-8"}})
	out, err := svc.PaymentCaptured(ctx, pay(o, "pi_between"))
	if err != nil || out != orders.OutcomePaid {
		t.Fatalf("PaymentCaptured = %q, %v", out, err)
	}
	if store.err != nil {
		t.Fatalf("the workflow's wait was not recorded: %v", store.err)
	}
	if got := w.order(t, o.ID); got.Status != orders.Paid || got.TaskToken != "token-between" {
		t.Fatalf("order = %s with token %q", got.Status, got.TaskToken)
	}
	// The wait was recorded while the order was still pending, so the
	// workflow's own AwaitPayment returned quietly: only the payment can
	// resume it.
	if len(w.resumes.tokens) != 1 || w.resumes.tokens[0] != "token-between" {
		t.Fatalf("resumed %v, want the token recorded during the payment", w.resumes.tokens)
	}
}
