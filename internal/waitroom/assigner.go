package waitroom

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/draw"
	"github.com/stararena/stararena/internal/metrics"
)

// Record is one queue message as the assigner sees it.
type Record struct {
	ID   string
	Body string
}

// AssignResult says what one batch did.
type AssignResult struct {
	// Failed are the ids of messages to deliver again (partial batch
	// failure): a store error, never a bad message.
	Failed   []string
	Placed   int // new places (pending or with a position)
	Repeats  int // joins of accounts that had a place already
	Dropped  int // messages that can never be valid
	Holes    int // positions reserved for a fan whose place appeared meanwhile
	Counters int // counter writes (at most one per event in the batch)
}

// joiner is one account's joins in a batch.
type joiner struct {
	join ParsedJoin
	ids  []string
}

// Assign gives each new account in a batch a place. Joins of one event
// share ONE counter write and their new places go in transactions of up
// to 100 conditional puts (Store.PutNewPlaces), each on the fan's own place
// item, so no partition is hot however many fans join.
func (s *Service) Assign(ctx context.Context, recs []Record) AssignResult {
	var res AssignResult
	byEvent := map[string]map[string]*joiner{}
	for _, r := range recs {
		j, err := ParseJoin(r.Body)
		if err != nil {
			res.Dropped++
			s.log.WarnContext(ctx, "join dropped", "messageId", r.ID, "err", err)
			continue
		}
		accts := byEvent[j.EventID]
		if accts == nil {
			accts = map[string]*joiner{}
			byEvent[j.EventID] = accts
		}
		if cur, ok := accts[j.Account]; ok {
			res.Repeats++
			cur.ids = append(cur.ids, r.ID)
			if j.JoinedAt.Before(cur.join.JoinedAt) {
				cur.join.JoinedAt = j.JoinedAt
			}
			continue
		}
		accts[j.Account] = &joiner{join: j, ids: []string{r.ID}}
	}
	events := make([]string, 0, len(byEvent))
	for id := range byEvent {
		events = append(events, id)
	}
	sort.Strings(events)
	for _, eventID := range events {
		s.assignEvent(ctx, eventID, byEvent[eventID], &res)
	}
	if res.Placed > 0 {
		s.o.Metrics.Count(metrics.QueueJoinsPlaced, float64(res.Placed), nil)
	}
	return res
}

func (s *Service) assignEvent(ctx context.Context, eventID string, accts map[string]*joiner, res *AssignResult) {
	log := s.log.With("eventId", eventID)
	failAll := func(err error) {
		log.ErrorContext(ctx, "joins not assigned; they will be delivered again", "err", err, "joins", len(accts))
		for _, j := range accts {
			res.Failed = append(res.Failed, j.ids...)
		}
	}
	ev, st, err := s.assignView(ctx, eventID)
	if apperr.Is(err, apperr.NotFound) {
		log.WarnContext(ctx, "joins for an unknown event dropped", "joins", len(accts))
		res.Dropped += len(accts)
		return
	}
	if err != nil {
		failAll(err)
		return
	}
	if ev.Queue.Mode != "on" {
		res.Dropped += len(accts)
		return
	}
	names := make([]string, 0, len(accts))
	for a, j := range accts {
		if s.placed.has(eventID, a) {
			res.Repeats += len(j.ids) // a refresh or second tab of a fan placed here before
			delete(accts, a)
			continue
		}
		names = append(names, a)
	}
	if len(names) == 0 {
		return
	}
	have, err := s.store.Places(ctx, eventID, names)
	if err != nil {
		failAll(err)
		return
	}
	var fresh []*joiner
	for a, j := range accts {
		if _, ok := have[a]; ok {
			s.placed.add(eventID, a)
			res.Repeats += len(j.ids)
			continue
		}
		fresh = append(fresh, j)
	}
	if len(fresh) == 0 {
		return
	}
	// First come, first served within the batch too.
	sort.Slice(fresh, func(i, k int) bool {
		a, b := fresh[i].join, fresh[k].join
		if !a.JoinedAt.Equal(b.JoinedAt) {
			return a.JoinedAt.Before(b.JoinedAt)
		}
		return a.Account < b.Account
	})
	opened := OpenedAt(&ev)
	places := make([]Place, len(fresh))
	for i, j := range fresh {
		places[i] = Place{EventID: eventID, Account: j.join.Account, Entrant: draw.EntrantID(eventID, j.join.Account),
			JoinedAt: j.join.JoinedAt, Lottery: !st.Drawn && j.join.JoinedAt.Before(opened)}
	}
	if st.Drawn {
		last, err := s.store.AddPositions(ctx, eventID, int64(len(places)))
		if err != nil {
			failAll(err)
			return
		}
		res.Counters++
		first := last - int64(len(places)) + 1
		for i := range places {
			places[i].Position = first + int64(i)
		}
	}
	created, errs := s.store.PutNewPlaces(ctx, places)
	for i, j := range fresh {
		if errs[i] == nil {
			s.placed.add(eventID, j.join.Account) // written now, or by a concurrent batch
		}
		switch {
		case errs[i] != nil:
			log.ErrorContext(ctx, "place not written", "err", errs[i])
			res.Failed = append(res.Failed, j.ids...)
			if places[i].Position > 0 {
				res.Holes++
			}
		case created[i]:
			res.Placed++
		default:
			// A concurrent batch placed this account first: its place
			// stands; the position reserved here is served empty.
			res.Repeats += len(j.ids)
			if places[i].Position > 0 {
				res.Holes++
				log.InfoContext(ctx, "position left empty", "position", places[i].Position)
			}
		}
	}
}

// placedSet remembers, per instance, accounts known to have a place: a
// place is never removed, so a later join of one of them is a repeat
// without reading it again (the batch read costs read units per account).
// Bounded: it forgets everything when full.
type placedSet struct {
	mu sync.Mutex
	m  map[string]struct{}
}

const placedSetMax = 200_000

func (p *placedSet) has(eventID, account string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.m[eventID+"\x00"+account]
	return ok
}

func (p *placedSet) add(eventID, account string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil || len(p.m) >= placedSetMax {
		p.m = map[string]struct{}{}
	}
	p.m[eventID+"\x00"+account] = struct{}{}
}

// assignerEventTTL is how long an assigner instance uses its copy of a
// drawn event (whether its waiting room is on) before reading it again.
const assignerEventTTL = 2 * time.Second

// drawnEvents remembers, per instance, events whose draw this instance
// saw done, with a copy of the event: a state that says Drawn never says
// otherwise again, and after the draw the assigner needs nothing else of
// it (positions come from the counter), so their batches read neither
// the state nor, within assignerEventTTL, the event. Before the draw every
// batch reads both: whether a join enters the draw is decided on a fresh
// state, which StragglerGrace counts on. Bounded: it forgets everything
// when full.
type drawnEvents struct {
	mu sync.Mutex
	m  map[string]drawnEvent
}

type drawnEvent struct {
	ev    catalog.Event
	until time.Time
}

// assignView is the event and its queue state for one batch.
func (s *Service) assignView(ctx context.Context, eventID string) (catalog.Event, State, error) {
	now := s.clock.Now()
	s.drawnSeen.mu.Lock()
	d, drawn := s.drawnSeen.m[eventID]
	s.drawnSeen.mu.Unlock()
	if drawn && now.Before(d.until) {
		return d.ev, State{EventID: eventID, Drawn: true}, nil
	}
	ev, err := s.events.Get(ctx, eventID)
	if err != nil || ev.Queue.Mode != catalog.QueueOn {
		return ev, State{}, err
	}
	st := State{EventID: eventID, Drawn: true}
	if !drawn {
		if st, err = s.state(ctx, eventID); err != nil || !st.Drawn {
			return ev, st, err
		}
	}
	s.drawnSeen.mu.Lock()
	if s.drawnSeen.m == nil || len(s.drawnSeen.m) >= 10_000 {
		s.drawnSeen.m = map[string]drawnEvent{}
	}
	s.drawnSeen.m[eventID] = drawnEvent{ev: ev, until: now.Add(assignerEventTTL)}
	s.drawnSeen.mu.Unlock()
	return ev, st, nil
}
