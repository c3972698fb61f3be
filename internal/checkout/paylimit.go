package checkout

import (
	"context"
	"sync"

	"github.com/stararena/stararena/internal/orders"
)

// Limiter counts one call by subject (ratelimit.Limiter): RATE_LIMITED
// once the subject is over its limit.
type Limiter interface {
	Allow(ctx context.Context, subject string) error
}

// PaymentLimitMemory is how many orders a PaymentLimit remembers before it
// starts over (a few MB at most).
const PaymentLimitMemory = 50_000

// PaymentLimit bounds one account's payment requests
// (limits.PaymentsPerMinute) without counting the request that starts an
// order's first payment: that one is bounded already, one per order, since
// providers key an order's payment by its id (StartPayment) and orders are
// bounded by the hold's own limits. Every other request is counted: a
// repeat for the same order, a retry after a decline, a request for an
// unknown or finished order or with an unknown provider. So a client that
// hammers the route is refused as before (ADR 7, ADR 14).
//
// Which request is an order's first is told from the order the request
// reads anyway (held, no captured payment, no declined attempt) and from
// the orders this instance already let through uncounted: a per-instance
// memory, since nothing in the table records a payment's creation (a write
// to record it would cost what the count costs). In the simulation one
// instance serves every payment request, so each order has exactly one
// uncounted request; in Lambda an order has at most one per warm orders
// instance that serves it, each a replay of the same payment at the
// provider, and every request after that is counted. The memory starts
// over after PaymentLimitMemory orders, which may give an order seen
// before it one more uncounted request.
type PaymentLimit struct {
	limiter Limiter
	mu      sync.Mutex
	started map[string]struct{}
}

// NewPaymentLimit wraps the account's payment request limiter.
func NewPaymentLimit(l Limiter) *PaymentLimit {
	return &PaymentLimit{limiter: l, started: map[string]struct{}{}}
}

// Allow decides a payment request of account. startable says the request
// read o, the account's order, and names a configured provider; false
// (an unknown order, an unknown provider) counts the request whatever o
// is. RATE_LIMITED (429, Retry-After) when a counted request is over the
// limit; a counter that cannot be reached lets the request through, as
// the limiter says.
func (l *PaymentLimit) Allow(ctx context.Context, account string, o orders.Order, startable bool) error {
	if startable && l.first(o) {
		return nil
	}
	return l.limiter.Allow(ctx, account)
}

// first claims o's uncounted request: true once per order (in this
// instance) while it is held with no payment captured and no declined
// attempt.
func (l *PaymentLimit) first(o orders.Order) bool {
	if o.Status != orders.PendingPayment || o.PaymentID != "" || o.Declines > 0 || o.ID == "" {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, seen := l.started[o.ID]; seen {
		return false
	}
	if len(l.started) >= PaymentLimitMemory {
		clear(l.started)
	}
	l.started[o.ID] = struct{}{}
	return true
}
