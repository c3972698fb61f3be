package waitroom

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/draw"
	"github.com/stararena/stararena/internal/limits"
)

// What the fans' pages read instead of their place (ADR 9, "Reads a page
// can do without"): the positions given so far, published in
// queue-status, and the draw, published in parts by entrant-id prefix.

// MaxDrawPart is the most entrants one part of the published draw holds
// on average: entrant ids are uniform, so parts named by a prefix of
// DrawPartDigits hex digits hold about entrants/16^digits each.
const MaxDrawPart = 2000

// maxPartDigits bounds the prefix (limits.DrawPartDigits).
const maxPartDigits = limits.DrawPartDigits

// DrawPartDigits is the length of the entrant-id prefix that names one
// part of a draw of n entrants: at least 1, and enough that parts hold
// about MaxDrawPart entrants or fewer.
func DrawPartDigits(n int64) int {
	k, parts := 1, int64(16)
	for k < maxPartDigits && n > MaxDrawPart*parts {
		k, parts = k+1, parts*16
	}
	return k
}

// DrawPart is one part of the published draw: the entrants whose id
// starts with Part, listed by position, with the seed that ordered the
// whole draw.
type DrawPart struct {
	EventID  string         `json:"eventId"`
	SeedHash string         `json:"shuffleSeedHash"`
	Seed     string         `json:"shuffleSeed"`
	Part     string         `json:"part"`
	Entrants []draw.Entrant `json:"entrants"`
}

// drawCache keeps each drawn event's published draw in the instance: the
// draw is final once State.Drawn is saved (positions 1..Entrants are never
// written again), so one read of the entrants per instance serves every
// part and the whole document for the rest of the sale.
type drawCache struct {
	mu   sync.Mutex
	m    map[string]draw.Published
	once singleflight.Group
}

// drawCacheMax bounds the events kept (a big draw is a few MB).
const drawCacheMax = 16

// published returns the event's published draw (INVALID_STATE before the
// draw).
func (s *Service) published(ctx context.Context, eventID string) (draw.Published, error) {
	s.drawn.mu.Lock()
	doc, ok := s.drawn.m[eventID]
	s.drawn.mu.Unlock()
	if ok {
		return doc, nil
	}
	load := func() (any, error) {
		if _, err := s.queued(ctx, eventID); err != nil {
			return nil, err
		}
		st, err := s.state(ctx, eventID)
		if err != nil {
			return nil, err
		}
		if !st.Drawn {
			return nil, apperr.New(apperr.InvalidStateChange, "the draw happens when the sale opens; its seed hash is %s", st.SeedHash).
				With("shuffleSeedHash", st.SeedHash)
		}
		ps, err := s.store.DrawEntrants(ctx, eventID)
		if err != nil {
			return nil, err
		}
		doc := draw.Published{EventID: eventID, SeedHash: st.SeedHash, Seed: st.Seed, Entrants: make([]draw.Entrant, 0, len(ps))}
		for _, p := range ps {
			// Pre-sale joins written after the draw listed its entrants
			// are swept to positions after it: not part of the draw.
			if p.Position > 0 && p.Position <= st.Entrants {
				doc.Entrants = append(doc.Entrants, draw.Entrant{Entrant: p.Entrant, Position: int(p.Position)})
			}
		}
		sort.Slice(doc.Entrants, func(i, k int) bool { return doc.Entrants[i].Position < doc.Entrants[k].Position })
		if int64(len(doc.Entrants)) != st.Entrants {
			// The index listed some entrants before the draw's positions
			// reached it: a part missing a drawn fan would send its page
			// to the back of the draw, so nothing partial is published.
			return nil, apperr.New(apperr.Unavailable, "the draw of %s is still being published (%d of %d entrants listed); retry", eventID, len(doc.Entrants), st.Entrants)
		}
		s.drawn.mu.Lock()
		if s.drawn.m == nil || len(s.drawn.m) >= drawCacheMax {
			s.drawn.m = map[string]draw.Published{}
		}
		s.drawn.m[eventID] = doc
		s.drawn.mu.Unlock()
		return doc, nil
	}
	v, err, shared := s.drawn.once.Do(eventID, load)
	if err != nil && shared && ctx.Err() == nil && !apperr.Is(err, apperr.InvalidStateChange) {
		// The read this request waited for failed, perhaps on its own
		// request's deadline: read for this request.
		v, err = load()
	}
	if err != nil {
		return draw.Published{}, err
	}
	return v.(draw.Published), nil
}

// DrawDocument is the published draw: every entrant's public id and
// position, and the seed once revealed, so anyone can re-run the draw
// (scripts/verify-draw). Before the draw it is INVALID_STATE.
func (s *Service) DrawDocument(ctx context.Context, eventID string) (draw.Published, error) {
	return s.published(ctx, eventID)
}

// DrawPart is the part of the published draw whose entrant ids start
// with part: DrawPartDigits(entrants) lowercase hex digits, as
// queue-status says once drawn. A fan's page finds its own position
// there (its entrant id is SHA-256 of the event id and its account)
// instead of reading its place.
func (s *Service) DrawPart(ctx context.Context, eventID, part string) (DrawPart, error) {
	if !isHexPrefix(part, maxPartDigits) {
		return DrawPart{}, apperr.New(apperr.Invalid, "part %q is not 1 to %d lowercase hex digits", part, maxPartDigits)
	}
	doc, err := s.published(ctx, eventID)
	if err != nil {
		return DrawPart{}, err
	}
	if digits := DrawPartDigits(int64(len(doc.Entrants))); len(part) != digits {
		return DrawPart{}, apperr.New(apperr.Invalid, "parts of this draw are named by %d hex digits (drawPartDigits in queue-status)", digits).
			With("drawPartDigits", digits)
	}
	out := DrawPart{EventID: eventID, SeedHash: doc.SeedHash, Seed: doc.Seed, Part: part, Entrants: []draw.Entrant{}}
	for _, e := range doc.Entrants {
		if strings.HasPrefix(e.Entrant, part) {
			out.Entrants = append(out.Entrants, e)
		}
	}
	return out, nil
}

func isHexPrefix(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

// positionsGiven is the event's position counter for queue-status, read
// at most once per Options.ReadCacheTTL per instance, like the state: an
// older counter is a smaller lower bound, never a wrong one.
func (s *Service) positionsGiven(ctx context.Context, eventID string) (int64, error) {
	now := s.clock.Now()
	s.reads.mu.Lock()
	c, ok := s.reads.given[eventID]
	s.reads.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.n, nil
	}
	if s.o.ReadCacheTTL <= 0 {
		return s.store.Positions(ctx, eventID)
	}
	v, err, _ := s.reads.once.Do("given\x00"+eventID, func() (any, error) {
		return s.store.Positions(ctx, eventID)
	})
	if err != nil {
		return 0, err
	}
	n := v.(int64)
	s.reads.mu.Lock()
	if s.reads.given == nil || len(s.reads.given) > 10_000 {
		s.reads.given = map[string]cachedGiven{}
	}
	s.reads.given[eventID] = cachedGiven{n: n, until: now.Add(s.o.ReadCacheTTL)}
	s.reads.mu.Unlock()
	return n, nil
}

type cachedGiven struct {
	n     int64
	until time.Time
}
