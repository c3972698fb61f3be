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

// Queue admits fans from an event's waiting room by their served position.
type Queue interface {
	Admit(ctx context.Context, account, eventID string) (string, Claims, error)
}

// Limiter bounds how often one account may ask (RATE_LIMITED when over).
type Limiter interface {
	Allow(ctx context.Context, subject string) error
}

// Challenge is the hook for a bot check before admission (a CAPTCHA or
// proof-of-work answer the page sends). StarArena ships none: nil lets
// every fan through.
type Challenge interface {
	Verify(ctx context.Context, account, eventID, proof string) error
}

// GateOptions are the gate's optional parts.
type GateOptions struct {
	Clock     clock.Clock
	Queue     Queue
	Limiter   Limiter
	Challenge Challenge
}

// Gate decides who gets an admission token.
type Gate struct {
	events EventReader
	tokens *Tokens
	o      GateOptions
}

// NewGate builds the gate.
func NewGate(events EventReader, tokens *Tokens, o GateOptions) *Gate {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	return &Gate{events: events, tokens: tokens, o: o}
}

// Admit is AdmitWithProof without a bot-check answer.
func (g *Gate) Admit(ctx context.Context, account, eventID string) (string, Claims, error) {
	return g.AdmitWithProof(ctx, account, eventID, "")
}

// AdmitWithProof issues a token when the sale is open: at once when the
// event needs no waiting room, else when the fan's queue position is
// served. Before opening or when paused: SALE_NOT_OPEN (409).
func (g *Gate) AdmitWithProof(ctx context.Context, account, eventID, proof string) (string, Claims, error) {
	if g.o.Limiter != nil {
		if err := g.o.Limiter.Allow(ctx, eventID+"#"+account); err != nil {
			return "", Claims{}, err
		}
	}
	ev, err := g.events.Get(ctx, eventID)
	if err != nil {
		return "", Claims{}, err
	}
	if st := ev.SaleState(g.o.Clock.Now()); st != catalog.SaleOpen {
		return "", Claims{}, apperr.New(apperr.SaleNotOpen, "the sale is %s", st).With("saleState", st)
	}
	if g.o.Challenge != nil {
		if err := g.o.Challenge.Verify(ctx, account, eventID, proof); err != nil {
			return "", Claims{}, err
		}
	}
	if ev.Queue.Mode == catalog.QueueOn {
		if g.o.Queue == nil {
			return "", Claims{}, apperr.New(apperr.QueueRequired, "join the waiting room first: admission follows your place in the queue").With("state", "NOT_IN_QUEUE")
		}
		return g.o.Queue.Admit(ctx, account, eventID)
	}
	return g.tokens.Issue(account, eventID)
}
