// Package projector keeps the availability projections (ADR 2) up to date
// from the table's change records: DynamoDB Streams in AWS, the embedded
// server's feed locally (ADR 18). Each batch's seat and GA shard changes
// are grouped by event and section; each touched projection is read once,
// patched (a seat's byte at its venue position, a GA shard's counts),
// recounted and written back on the condition that it is still the version
// read. A record carries the item's state after the write, so applying it
// again, or after a later one of another item, is harmless: the projection
// converges on the latest state of every seat.
//
// Holds never read the projection to decide anything; their conditional
// writes on the seat and shard items do.
package projector

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/fault"
)

// Store reads and writes projections.
type Store interface {
	// Projection reads one section's projection, strongly consistent.
	Projection(ctx context.Context, eventID, section string) (catalog.Projection, bool, error)
	// PutProjection writes it if the stored version is still prev;
	// fault.Contention otherwise.
	PutProjection(ctx context.Context, eventID string, p catalog.Projection, prev int64) error
}

// Events reads event documents (the venue gives a seat its position).
type Events interface {
	Get(ctx context.Context, id string) (catalog.Event, error)
}

// Change is one seat's or GA shard's state after a write.
type Change struct {
	ID      string // the record's sequence number
	EventID string
	Section string
	// A reserved seat: its id and state.
	Seat  string
	State string
	// A GA shard: its number and counts.
	GA     bool
	Shard  int
	Counts catalog.ShardCount
}

// Projector applies changes to projections.
type Projector struct {
	store  Store
	events Events
	clock  clock.Clock
	log    *slog.Logger

	mu        sync.Mutex
	positions map[string]map[string]int // event|section → seat → position
}

// New builds a projector.
func New(store Store, evs Events, clk clock.Clock, log *slog.Logger) *Projector {
	if clk == nil {
		clk = clock.System{}
	}
	if log == nil {
		log = slog.Default()
	}
	return &Projector{store: store, events: evs, clock: clk, log: log, positions: map[string]map[string]int{}}
}

// attempts bounds the re-reads after lost races on one projection (other
// instances of the projector work on other stream shards, and a reader's
// rebuild may write in between).
const attempts = 5

type group struct {
	eventID, section string
	changes          []Change
}

// Apply applies changes and returns the ids of those it could not apply
// (their group's projection could not be read or written), in the order
// given. Changes of a section whose projection does not exist yet, or
// does not know its GA shards (written before ADR 18), are left to the
// readers' rebuild, which such a projection triggers.
func (p *Projector) Apply(ctx context.Context, changes []Change) []string {
	var groups []*group
	byKey := map[string]*group{}
	for _, c := range changes {
		k := c.EventID + "|" + c.Section
		g := byKey[k]
		if g == nil {
			g = &group{eventID: c.EventID, section: c.Section}
			byKey[k] = g
			groups = append(groups, g)
		}
		g.changes = append(g.changes, c)
	}
	failed := map[string]bool{}
	for _, g := range groups {
		if err := p.applyGroup(ctx, g); err != nil {
			p.log.ErrorContext(ctx, "projection not updated; the batch is retried", "eventId", g.eventID, "section", g.section,
				"changes", len(g.changes), "err", err)
			for _, c := range g.changes {
				failed[c.ID] = true
			}
		}
	}
	var out []string
	for _, c := range changes {
		if failed[c.ID] {
			out = append(out, c.ID)
		}
	}
	return out
}

func (p *Projector) applyGroup(ctx context.Context, g *group) error {
	ev, err := p.events.Get(ctx, g.eventID)
	if apperr.Is(err, apperr.NotFound) {
		// An event's seats are written before its document (CreateEvent),
		// so their creation records can arrive first. Nothing can be held
		// or sold before the document exists, and the projections written
		// with the seats already say "all available": nothing to patch.
		p.log.DebugContext(ctx, "changes of an event not yet readable; nothing to project", "eventId", g.eventID, "section", g.section, "changes", len(g.changes))
		return nil
	}
	if err != nil {
		return fmt.Errorf("event %s: %w", g.eventID, err)
	}
	sec, ok := ev.Section(g.section)
	if !ok {
		p.log.WarnContext(ctx, "change of a section the event does not have; skipped", "eventId", g.eventID, "section", g.section)
		return nil
	}
	for range attempts {
		cur, found, err := p.store.Projection(ctx, g.eventID, g.section)
		if err != nil {
			return err
		}
		if !found {
			return nil
		}
		next, ok := p.patch(cur, sec, g)
		if !ok || next.Same(cur) {
			// A write that changes no state would only move asOf and
			// spend a write unit (a replayed batch, a seat's creation).
			return nil
		}
		err = p.store.PutProjection(ctx, g.eventID, next, cur.Version)
		if !fault.Is(err, fault.Contention) {
			return err
		}
	}
	return fault.E("projection "+g.eventID+"/"+g.section, fault.Contention, fmt.Errorf("still racing after %d attempts", attempts))
}

// patch applies a group's changes to a copy of cur; false when cur cannot
// take them (the readers' repair rebuild will).
func (p *Projector) patch(cur catalog.Projection, sec *catalog.Section, g *group) (catalog.Projection, bool) {
	next := cur
	next.Version = cur.Version + 1
	next.AsOf = p.clock.Now().Truncate(time.Millisecond)
	switch sec.Kind {
	case catalog.Reserved:
		if len(cur.States) != sec.Capacity {
			return cur, false
		}
		pos := p.seatPositions(g.eventID, sec)
		b := []byte(cur.States)
		for _, c := range g.changes {
			i, ok := pos[c.Seat]
			if !ok {
				continue
			}
			b[i] = stateByte(c.State)
		}
		next.States = string(b)
		next.Available, next.Held, next.Sold = catalog.CountStates(next.States)
	case catalog.GA:
		if len(cur.Shards) != len(catalog.GAShardCapacities(sec.Capacity)) {
			return cur, false
		}
		next.Shards = append([]catalog.ShardCount(nil), cur.Shards...)
		for _, c := range g.changes {
			if c.Shard >= 0 && c.Shard < len(next.Shards) {
				next.Shards[c.Shard] = c.Counts
			}
		}
		next.Sum()
	}
	return next, true
}

func stateByte(state string) byte { return catalog.StateByte(state) }

// seatPositions maps a reserved section's seats to their venue positions,
// computed once per instance: sections do not change once seats exist.
func (p *Projector) seatPositions(eventID string, sec *catalog.Section) map[string]int {
	k := eventID + "|" + sec.ID
	p.mu.Lock()
	defer p.mu.Unlock()
	if m, ok := p.positions[k]; ok {
		return m
	}
	ids := sec.SeatIDs()
	m := make(map[string]int, len(ids))
	for i, id := range ids {
		m[id] = i
	}
	if len(p.positions) >= maxCachedSections {
		clear(p.positions)
	}
	p.positions[k] = m
	return m
}

// maxCachedSections bounds the positions kept per instance.
const maxCachedSections = 256

// HandleStream is the "projector" function: a batch of DynamoDB stream
// records in (filtered to seat and GA shard items by the event source
// mapping), the first record it could not apply out, so that Lambda
// retries the batch from there (partial batch response; applying the
// records before it again is harmless). Records it cannot read are
// logged and skipped: retrying would not change them.
func (p *Projector) HandleStream(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	changes := make([]Change, 0, len(ev.Records))
	for _, r := range ev.Records {
		c, ok := changeOf(r)
		if !ok {
			p.log.WarnContext(ctx, "stream record skipped: not a seat or GA shard image", "sequenceNumber", r.Change.SequenceNumber, "eventName", r.EventName)
			continue
		}
		changes = append(changes, c)
	}
	var out events.DynamoDBEventResponse
	if failed := p.Apply(ctx, changes); len(failed) > 0 {
		out.BatchItemFailures = []events.DynamoDBBatchItemFailure{{ItemIdentifier: failed[0]}}
	}
	return out, nil
}

// Key prefixes of the items the projector follows (the stream's filter).
const (
	SeatPrefix    = "SEAT#"
	GAShardPrefix = "GA#"
)

// changeOf reads a record's new image: a seat (eventId, section, seatId,
// state) or a GA shard (eventId, section, counts; the shard number ends
// its partition key).
func changeOf(r events.DynamoDBEventRecord) (Change, bool) {
	img := r.Change.NewImage
	str := func(name string) string {
		if v, ok := img[name]; ok && v.DataType() == events.DataTypeString {
			return v.String()
		}
		return ""
	}
	num := func(name string) (int, bool) {
		v, ok := img[name]
		if !ok || v.DataType() != events.DataTypeNumber {
			return 0, false
		}
		n, err := strconv.Atoi(v.Number())
		return n, err == nil
	}
	c := Change{ID: r.Change.SequenceNumber, EventID: str("eventId"), Section: str("section")}
	pk := str("pk")
	if c.EventID == "" || c.Section == "" {
		return Change{}, false
	}
	switch {
	case strings.HasPrefix(pk, SeatPrefix):
		c.Seat, c.State = str("seatId"), str("state")
		return c, c.Seat != "" && c.State != ""
	case strings.HasPrefix(pk, GAShardPrefix):
		i := strings.LastIndexByte(pk, '#')
		n, err := strconv.Atoi(pk[i+1:])
		a, okA := num("available")
		h, okH := num("held")
		s, okS := num("sold")
		if err != nil || !okA || !okH || !okS {
			return Change{}, false
		}
		c.GA, c.Shard, c.Counts = true, n, catalog.ShardCount{Available: a, Held: h, Sold: s}
		return c, true
	}
	return Change{}, false
}
