package admission

import (
	"context"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
)

// EventReader reads events.
type EventReader interface {
	Get(ctx context.Context, id string) (catalog.Event, error)
}

// freshReader is an EventReader with a copy (catalog.CachedEvents) that
// can also read past it.
type freshReader interface {
	Fresh(ctx context.Context, id string) (catalog.Event, error)
}

// Queue admits fans from an event's waiting room by their served position;
// claimed reports a new admission (at most one per place).
type Queue interface {
	Admit(ctx context.Context, account, eventID string) (token string, c Claims, claimed bool, err error)
}

// Limiter bounds how often one account may ask (RATE_LIMITED when over).
type Limiter interface {
	Allow(ctx context.Context, subject string) error
}

// Presale redeems presale codes (internal/presale): an error for an
// unknown or used-up code.
type Presale interface {
	Redeem(ctx context.Context, eventID, code, account string) error
}

// Waitlist is an event's waiting list after sell-out (internal/waitlist):
// while it governs admission (handled), it answers a fan's live offer or
// refuses everyone else, so places that come back reach the list first.
type Waitlist interface {
	Admit(ctx context.Context, account, eventID string) (token string, c Claims, handled bool, err error)
}

// GateOptions are the gate's optional parts.
type GateOptions struct {
	Clock   clock.Clock
	Queue   Queue
	Limiter Limiter
	// Presale admits code holders in an event's presale window; nil
	// admits nobody then.
	Presale Presale
	// Waitlist, when set, is asked first once the sale is open.
	Waitlist Waitlist
}

// Request is what a fan may send with an admission request.
type Request struct {
	PresaleCode string // needed in the presale window, ignored after
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

// Admit issues a token when the sale is open: at once when the event
// needs no waiting room, else when the fan's queue position is served.
// Before opening or when paused: SALE_NOT_OPEN (409).
func (g *Gate) Admit(ctx context.Context, account, eventID string) (string, Claims, error) {
	return g.AdmitRequest(ctx, account, eventID, Request{})
}

// AdmitRequest is Admit that also reads a presale code. In the
// presale window only a fan with a valid code is admitted, at once: the
// codes' uses bound how many come, so the waiting room, which orders the
// public sale's crowd, waits for saleOpensAt (ADR 23).
//
// The limiter counts every request but one kind: in an open sale with a
// waiting room, the request that claims the fan's admission (one per
// place, which the claim's own condition enforces) is not counted, so the
// fan's first admission costs one write instead of two; every other answer
// there is counted after it is decided.
func (g *Gate) AdmitRequest(ctx context.Context, account, eventID string, req Request) (string, Claims, error) {
	// The event comes from the instance's copy (EVENT_CACHE_TTL).
	ev, err := g.events.Get(ctx, eventID)
	if err == nil && g.o.Queue != nil && ev.Cancelled == nil && ev.Queue.Mode == catalog.QueueOn &&
		ev.SaleState(g.o.Clock.Now()) == catalog.SaleOpen {
		tok, c, claimed, err := g.queued(ctx, account, eventID)
		if claimed {
			return tok, c, err
		}
		if lerr := g.limit(ctx, account, eventID); lerr != nil {
			return "", Claims{}, lerr
		}
		return tok, c, err
	}
	if lerr := g.limit(ctx, account, eventID); lerr != nil {
		return "", Claims{}, lerr
	}
	if err != nil {
		return "", Claims{}, err
	}
	if ev.Cancelled != nil {
		return "", Claims{}, ev.ErrCancelled()
	}
	st := ev.SaleState(g.o.Clock.Now())
	if f, ok := g.events.(freshReader); ok && st != catalog.SaleOpen && st != catalog.SalePresale {
		// The copy may predate the organizer opening the sale or a
		// presale: a refusal is decided on the event as it is now.
		if ev, err = f.Fresh(ctx, eventID); err != nil {
			return "", Claims{}, err
		}
		if ev.Cancelled != nil {
			return "", Claims{}, ev.ErrCancelled()
		}
		st = ev.SaleState(g.o.Clock.Now())
	}
	if st != catalog.SaleOpen && st != catalog.SalePresale {
		return "", Claims{}, notOpen(&ev, st)
	}
	if st == catalog.SalePresale {
		if req.PresaleCode == "" || g.o.Presale == nil {
			return "", Claims{}, apperr.New(apperr.PresaleCodeRequired, "until %s only fans with a presale code are admitted",
				ev.SaleOpensAt.Format(time.RFC3339)).With("saleOpensAt", ev.SaleOpensAt)
		}
		if err := g.o.Presale.Redeem(ctx, eventID, req.PresaleCode, account); err != nil {
			return "", Claims{}, err
		}
		return g.tokens.Issue(account, eventID)
	}
	if g.o.Waitlist != nil {
		if tok, c, handled, err := g.o.Waitlist.Admit(ctx, account, eventID); handled || err != nil {
			return tok, c, err
		}
	}
	if ev.Queue.Mode == catalog.QueueOn {
		if g.o.Queue == nil {
			return "", Claims{}, apperr.New(apperr.QueueRequired, "join the waiting room first: admission follows your place in the queue").With("state", "NOT_IN_QUEUE")
		}
		// Open on the event as it is now though not on the copy: counted
		// above already.
		tok, c, _, err := g.o.Queue.Admit(ctx, account, eventID)
		return tok, c, err
	}
	return g.tokens.Issue(account, eventID)
}

// queued admits from an open sale's waiting room: the waiting list first
// (after a sell-out it governs admission), then the fan's place.
func (g *Gate) queued(ctx context.Context, account, eventID string) (string, Claims, bool, error) {
	if g.o.Waitlist != nil {
		if tok, c, handled, err := g.o.Waitlist.Admit(ctx, account, eventID); handled || err != nil {
			return tok, c, false, err
		}
	}
	return g.o.Queue.Admit(ctx, account, eventID)
}

// limit counts one request of the account for the event.
func (g *Gate) limit(ctx context.Context, account, eventID string) error {
	if g.o.Limiter == nil {
		return nil
	}
	return g.o.Limiter.Allow(ctx, eventID+"#"+account)
}

// notOpen is SALE_NOT_OPEN; before a presale it says when the presale
// opens, so a code holder knows when to come back.
func notOpen(ev *catalog.Event, st string) error {
	if st == catalog.SaleScheduled && ev.Presale != nil {
		return apperr.New(apperr.SaleNotOpen, "the presale opens at %s", ev.Presale.OpensAt.Format(time.RFC3339)).
			With("saleState", st).With("presaleOpensAt", ev.Presale.OpensAt)
	}
	return apperr.New(apperr.SaleNotOpen, "the sale is %s", st).With("saleState", st)
}
