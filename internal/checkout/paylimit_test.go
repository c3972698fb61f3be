package checkout_test

import (
	"context"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/checkout"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/ratelimit"
)

// Only the request that starts a held order's first payment goes
// uncounted: with a limit of one, a second counted request is refused, so
// each case below shows whether its request was counted.
func TestPaymentLimitCountsAllButAnOrdersFirstPayment(t *testing.T) {
	ctx := context.Background()
	held := orders.Order{ID: "o-held", Status: orders.PendingPayment}
	declined := orders.Order{ID: "o-declined", Status: orders.PendingPayment, Declines: 1}
	paid := orders.Order{ID: "o-paid", Status: orders.Paid, PaymentID: "pi_1"}
	cases := []struct {
		name      string
		o         orders.Order
		startable bool
		counted   bool
	}{
		{"a held order's first payment", held, true, false},
		{"a repeat for that order", held, true, true},
		{"a payment after a decline", declined, true, true},
		{"a paid order", paid, true, true},
		{"an unknown order or provider", orders.Order{ID: "o-other", Status: orders.PendingPayment}, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := &ratelimit.Limiter{Name: "payments", Limit: 1, Window: time.Minute, Store: ratelimit.NewMemory(), Clock: clock.System{}}
			pl := checkout.NewPaymentLimit(l)
			if c.o.ID == held.ID && c.counted {
				if err := pl.Allow(ctx, "fan", held, true); err != nil { // its first payment
					t.Fatal(err)
				}
			}
			if err := pl.Allow(ctx, "fan", c.o, c.startable); err != nil {
				t.Fatal(err)
			}
			err := l.Allow(ctx, "fan") // a second counted request
			if got := apperr.Is(err, apperr.RateLimited); got != c.counted {
				t.Fatalf("counted = %v (then %v), want %v", got, err, c.counted)
			}
		})
	}
}
