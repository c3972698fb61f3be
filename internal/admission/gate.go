package admission

import (
	"context"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
)

// EventReader reads events.
type EventReader interface {
	Get(ctx context.Context, id string) (catalog.Event, error)
}

// Gate decides who gets an admission token.
type Gate struct {
	events EventReader
	tokens *Tokens
	clock  clock.Clock
}

// NewGate builds the gate.
func NewGate(events EventReader, tokens *Tokens, c clock.Clock) *Gate {
	if c == nil {
		c = clock.System{}
	}
	return &Gate{events: events, tokens: tokens, clock: c}
}

// Admit issues a token when the sale is open and the event needs no queue.
// With the waiting room on, a fan needs a served queue position first:
// QUEUE_REQUIRED (409). Before opening or when paused: SALE_NOT_OPEN (409).
func (g *Gate) Admit(ctx context.Context, account, eventID string) (string, Claims, error) {
	ev, err := g.events.Get(ctx, eventID)
	if err != nil {
		return "", Claims{}, err
	}
	if st := ev.SaleState(g.clock.Now()); st != catalog.SaleOpen {
		return "", Claims{}, apperr.New(apperr.SaleNotOpen, "the sale is %s", st).With("saleState", st)
	}
	if ev.Queue.Mode == catalog.QueueOn {
		return "", Claims{}, apperr.New(apperr.QueueRequired, "join the waiting room first: admission follows your place in the queue").With("state", "NOT_IN_QUEUE")
	}
	return g.tokens.Issue(account, eventID)
}
