package dynamo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/retry"
)

var _ catalog.Store = (*CatalogStore)(nil)

func itoa(n int) string { return strconv.Itoa(n) }

func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// CreateEvent writes seats, GA shards and projections with batch writes,
// then the event document last, so an event is never visible before its
// inventory exists.
func (st *CatalogStore) CreateEvent(ctx context.Context, ev catalog.Event) error {
	var items []item
	for _, sec := range ev.Sections {
		switch sec.Kind {
		case catalog.Reserved:
			for _, id := range sec.SeatIDs() {
				it := SeatKey(ev.ID, id)
				it["eventId"], it["seatId"], it["section"] = s(ev.ID), s(id), s(sec.ID)
				it["state"], it["version"] = s(catalog.SeatAvailable), n(0)
				items = append(items, it)
			}
		case catalog.GA:
			for i, c := range catalog.GAShardCapacities(sec.Capacity) {
				it := gaShardKey(ev.ID, sec.ID, i)
				it["eventId"], it["section"] = s(ev.ID), s(sec.ID)
				it["capacity"], it["available"], it["held"], it["sold"] = n(int64(c)), n(int64(c)), n(0), n(0)
				items = append(items, it)
			}
		}
	}
	for _, p := range catalog.InitialProjections(&ev, ev.CreatedAt) {
		items = append(items, projectionItem(ev.ID, p))
	}
	doc, venue, err := eventItems(ev)
	if err != nil {
		return err
	}
	if err := st.putAll(ctx, append(items, venue...)); err != nil {
		return classify("write inventory", err)
	}
	meta := eventKey(ev.ID)
	meta["doc"] = s(doc)
	if len(venue) > 0 {
		meta["venueChunks"] = n(int64(len(venue)))
	}
	gpk, gsk := eventsByStart(ev.StartsAt, ev.ID)
	meta["gsi1pk"], meta["gsi1sk"] = s(gpk), s(gsk)
	if ev.Org != "" {
		opk, osk := orgEventsByStart(ev.Org, ev.StartsAt, ev.ID)
		meta["gsi2pk"], meta["gsi2sk"] = s(opk), s(osk)
	}
	meta["version"] = n(1)
	_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(st.table),
		Item:                meta,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		// The client retries a put whose answer was lost; the retry then
		// finds its own first attempt. Ids are fresh, so an item holding
		// this very document is that attempt, not another event.
		if same, gerr := st.eventDocIs(ctx, ev.ID, doc); gerr == nil && same {
			return nil
		}
		return fault.E("create event "+ev.ID, fault.Exists, err)
	}
	if err != nil {
		return classify("put event", err)
	}
	return nil
}

// eventDocIs reports whether the stored event document is exactly doc.
func (st *CatalogStore) eventDocIs(ctx context.Context, id, doc string) (bool, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(st.table),
		Key:            eventKey(id),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, classify(fmt.Sprintf("get event %s", id), err)
	}
	got, ok := out.Item["doc"].(*types.AttributeValueMemberS)
	return ok && got.Value == doc, nil
}

// GetEvent reads the event document.
func (st *CatalogStore) GetEvent(ctx context.Context, id string) (catalog.Event, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(st.table),
		Key:       eventKey(id),
	})
	if err != nil {
		return catalog.Event{}, classify(fmt.Sprintf("get event %s", id), err)
	}
	if out.Item == nil {
		return catalog.Event{}, fault.E("get event "+id, fault.NotFound, nil)
	}
	return st.readEvent(ctx, out.Item)
}

// readEvent decodes a META item, with its venue when stored apart.
func (st *CatalogStore) readEvent(ctx context.Context, meta item) (catalog.Event, error) {
	ev, err := decodeEvent(meta)
	if err != nil {
		return catalog.Event{}, err
	}
	if err := st.loadVenue(ctx, &ev, meta); err != nil {
		return catalog.Event{}, err
	}
	return ev, nil
}

func decodeEvent(it item) (catalog.Event, error) {
	doc, ok := it["doc"].(*types.AttributeValueMemberS)
	if !ok {
		return catalog.Event{}, errors.New("event item has no doc")
	}
	var ev catalog.Event
	if err := json.Unmarshal([]byte(doc.Value), &ev); err != nil {
		return catalog.Event{}, fmt.Errorf("decode event: %w", err)
	}
	return ev, nil
}

// ListEvents queries gsi1 (all events, by start time).
func (st *CatalogStore) ListEvents(ctx context.Context, limit int) ([]catalog.Event, error) {
	return st.listEvents(ctx, "gsi1pk = :p", item{":p": s(eventsPK)}, limit)
}

// ListEventsFrom queries gsi1 from a start time on (the key is
// <startsAt RFC 3339>#<id>, which sorts by time), page by page: limit 0
// reads every page.
func (st *CatalogStore) ListEventsFrom(ctx context.Context, from time.Time, limit int) ([]catalog.Event, error) {
	return st.listEvents(ctx, "gsi1pk = :p AND gsi1sk >= :from",
		item{":p": s(eventsPK), ":from": s(eventsFrom(from))}, limit)
}

// ListOrgEvents queries gsi2 (an organization's events, by start time).
func (st *CatalogStore) ListOrgEvents(ctx context.Context, org string, limit int) ([]catalog.Event, error) {
	return st.listEventsOn(ctx, gsi2, "gsi2pk = :p", item{":p": s(orgEventsPK(org))}, limit)
}

func (st *CatalogStore) listEvents(ctx context.Context, cond string, values item, limit int) ([]catalog.Event, error) {
	return st.listEventsOn(ctx, gsi1, cond, values, limit)
}

func (st *CatalogStore) listEventsOn(ctx context.Context, index, cond string, values item, limit int) ([]catalog.Event, error) {
	p := dynamodb.NewQueryPaginator(st.db, &dynamodb.QueryInput{
		TableName:                 aws.String(st.table),
		IndexName:                 aws.String(index),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeValues: values,
	})
	if limit <= 0 {
		limit = math.MaxInt
	}
	var evs []catalog.Event
	for p.HasMorePages() && len(evs) < limit {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, classify("list events", err)
		}
		for _, it := range out.Items {
			ev, err := st.readEvent(ctx, it)
			if err != nil {
				return nil, err
			}
			evs = append(evs, ev)
		}
	}
	if len(evs) > limit {
		evs = evs[:limit]
	}
	return evs, nil
}

func projectionItem(eventID string, p catalog.Projection) item {
	it := projectionKey(eventID, p.Section)
	it["states"] = s(p.States)
	it["capacity"], it["available"], it["held"], it["sold"] = n(int64(p.Capacity)), n(int64(p.Available)), n(int64(p.Held)), n(int64(p.Sold))
	it["asOf"], it["rebuiltAt"], it["version"] = n(p.AsOf.UnixMilli()), n(p.RebuiltAt.UnixMilli()), n(p.Version)
	if len(p.Shards) > 0 {
		it["shards"] = s(encodeShards(p.Shards))
	}
	return it
}

// encodeShards writes GA shard counts as "available/held/sold" per shard,
// space-separated: a few bytes per shard.
func encodeShards(cs []catalog.ShardCount) string {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d/%d/%d", c.Available, c.Held, c.Sold)
	}
	return b.String()
}

// decodeShards reads encodeShards' text; nil when it is not that.
func decodeShards(v string) []catalog.ShardCount {
	if v == "" {
		return nil
	}
	fields := strings.Fields(v)
	out := make([]catalog.ShardCount, len(fields))
	for i, f := range fields {
		if _, err := fmt.Sscanf(f, "%d/%d/%d", &out[i].Available, &out[i].Held, &out[i].Sold); err != nil {
			return nil
		}
	}
	return out
}

func decodeProjection(it item) catalog.Projection {
	return catalog.Projection{
		Section:   projectionSection(str(it, "sk")),
		States:    str(it, "states"),
		Capacity:  int(num(it, "capacity")),
		Available: int(num(it, "available")),
		Held:      int(num(it, "held")),
		Sold:      int(num(it, "sold")),
		AsOf:      time.UnixMilli(num(it, "asOf")).UTC(),
		RebuiltAt: time.UnixMilli(num(it, "rebuiltAt")).UTC(),
		Version:   num(it, "version"),
		Shards:    decodeShards(str(it, "shards")),
	}
}

// Projections batch-gets the sections' AVAIL# items (eventually
// consistent: the projection is a read model).
func (st *CatalogStore) Projections(ctx context.Context, eventID string, sections []string) ([]catalog.Projection, error) {
	keys := make([]item, len(sections))
	for i, sec := range sections {
		keys[i] = projectionKey(eventID, sec)
	}
	items, err := st.batchGet(ctx, keys, "", nil, false)
	if err != nil {
		return nil, classify("read projections", err)
	}
	ps := make([]catalog.Projection, 0, len(items))
	for _, it := range items {
		ps = append(ps, decodeProjection(it))
	}
	return ps, nil
}

// Projection reads one section's projection, strongly consistent: the
// projector patches what it read and writes it back on its version.
func (st *CatalogStore) Projection(ctx context.Context, eventID, section string) (catalog.Projection, bool, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(st.table),
		Key:            projectionKey(eventID, section),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return catalog.Projection{}, false, classify("read projection", err)
	}
	if len(out.Item) == 0 {
		return catalog.Projection{}, false, nil
	}
	return decodeProjection(out.Item), true, nil
}

// PutProjection writes a section's projection on the condition that the
// stored one is still version prev (0: none, or one without a version).
func (st *CatalogStore) PutProjection(ctx context.Context, eventID string, p catalog.Projection, prev int64) error {
	cond, values := "version = :prev", item{":prev": n(prev)}
	if prev == 0 {
		cond, values = "attribute_not_exists(version) OR version = :prev", item{":prev": n(0)}
	}
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(st.table),
		Item:                      projectionItem(eventID, p),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fault.E("projection "+eventID+"/"+p.Section, fault.Contention, err)
	}
	if err != nil {
		return classify("write projection", err)
	}
	return nil
}

// LeaseRefresh is a conditional write on the lease item: it succeeds for one
// caller per expired lease.
func (st *CatalogStore) LeaseRefresh(ctx context.Context, eventID string, now, until time.Time) (bool, error) {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.table),
		Key:                       leaseKey(eventID),
		UpdateExpression:          aws.String("SET leaseUntil = :u"),
		ConditionExpression:       aws.String("attribute_not_exists(leaseUntil) OR leaseUntil < :now"),
		ExpressionAttributeValues: item{":u": n(until.UnixMilli()), ":now": n(now.UnixMilli())},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, classify("lease refresh", err)
	}
	return true, nil
}

// EndRefresh clears the lease.
func (st *CatalogStore) EndRefresh(ctx context.Context, eventID string) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.table),
		Key:                       leaseKey(eventID),
		UpdateExpression:          aws.String("SET leaseUntil = :zero"),
		ExpressionAttributeValues: item{":zero": n(0)},
	})
	if err != nil {
		return classify("end refresh", err)
	}
	return nil
}

// SeatStates reads every seat's state (eventually consistent: for the
// availability read model).
func (st *CatalogStore) SeatStates(ctx context.Context, eventID string, ids []string) (map[string]string, error) {
	seats, err := st.readSeats(ctx, eventID, ids, false, false)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(seats))
	for id, s := range seats {
		out[id] = s.State
	}
	return out, nil
}

// GACounts sums a GA section's shards (eventually consistent).
func (st *CatalogStore) GACounts(ctx context.Context, eventID, section string, shards int) (int, int, int, error) {
	return st.gaTotals(ctx, eventID, section, shards, false)
}

// GAShards reads a GA section's shards (eventually consistent: for the
// availability read model).
func (st *CatalogStore) GAShards(ctx context.Context, eventID, section string, shards int) ([]catalog.ShardCount, error) {
	counts, err := st.readShards(ctx, eventID, section, shards, false)
	if err != nil {
		return nil, err
	}
	out := make([]catalog.ShardCount, len(counts))
	for i, c := range counts {
		out[i] = catalog.ShardCount{Available: c.available, Held: c.held, Sold: c.sold}
	}
	return out, nil
}

// gaTotals sums a GA section's shards: available, held, sold.
func (st *base) gaTotals(ctx context.Context, eventID, section string, shards int, consistent bool) (a, h, so int, err error) {
	counts, err := st.readShards(ctx, eventID, section, shards, consistent)
	if err != nil {
		return 0, 0, 0, err
	}
	for _, c := range counts {
		a, h, so = a+c.available, h+c.held, so+c.sold
	}
	return a, h, so, nil
}

// readSeats batch-reads seat items by seat id: the state and, withOrder,
// the holding order (left out of the projection rebuild, which reads every
// seat of an event and needs only states).
func (st *base) readSeats(ctx context.Context, eventID string, ids []string, consistent, withOrder bool) (map[string]inventory.SeatState, error) {
	keys := make([]item, len(ids))
	for i, id := range ids {
		keys[i] = SeatKey(eventID, id)
	}
	fields := "seatId, #st"
	if withOrder {
		fields += ", orderId"
	}
	items, err := st.batchGet(ctx, keys, fields, map[string]string{"#st": "state"}, consistent)
	if err != nil {
		return nil, err
	}
	out := make(map[string]inventory.SeatState, len(items))
	for _, it := range items {
		out[str(it, "seatId")] = inventory.SeatState{State: str(it, "state"), OrderID: str(it, "orderId")}
	}
	return out, nil
}

type shardCounts struct{ available, held, sold int }

// readShards batch-reads a GA section's counter shards, by shard number.
func (st *base) readShards(ctx context.Context, eventID, section string, shards int, consistent bool) ([]shardCounts, error) {
	keys := make([]item, shards)
	index := make(map[string]int, shards)
	for i := range keys {
		pk := gaShardPK(eventID, section, i)
		keys[i], index[pk] = key(pk, skGA), i
	}
	items, err := st.batchGet(ctx, keys, "", nil, consistent)
	if err != nil {
		return nil, err
	}
	out := make([]shardCounts, shards)
	for _, it := range items {
		if i, ok := index[str(it, "pk")]; ok {
			out[i] = shardCounts{int(num(it, "available")), int(num(it, "held")), int(num(it, "sold"))}
		}
	}
	return out, nil
}

func str(it item, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func num(it item, name string) int64 {
	if v, ok := it[name].(*types.AttributeValueMemberN); ok {
		x, _ := strconv.ParseInt(v.Value, 10, 64)
		return x
	}
	return 0
}

// UpdateEvent changes the event document with optimistic locking on its
// version, so two organizers changing the sale at once cannot lose an edit.
func (st *CatalogStore) UpdateEvent(ctx context.Context, id string, change func(*catalog.Event) error) (catalog.Event, error) {
	// A lost race re-reads and re-applies change almost at once: the winner
	// has already written, so waiting buys nothing but latency.
	races := retry.Policy{Attempts: 5, Base: time.Millisecond, Cap: 4 * time.Millisecond, Retryable: isContention}
	for b := races.Start(); ; {
		ev, err := st.updateEventOnce(ctx, id, change)
		if again, err := b.Again(ctx, err); !again {
			return ev, err
		}
	}
}

func isContention(err error) bool { return fault.Is(err, fault.Contention) }

func (st *CatalogStore) updateEventOnce(ctx context.Context, id string, change func(*catalog.Event) error) (catalog.Event, error) {
	op := "update event " + id
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(st.table), Key: eventKey(id), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return catalog.Event{}, classify(op, err)
	}
	if out.Item == nil {
		return catalog.Event{}, fault.E(op, fault.NotFound, nil)
	}
	ev, err := st.readEvent(ctx, out.Item)
	if err != nil {
		return catalog.Event{}, err
	}
	venue, _ := json.Marshal(ev.Sections)
	if err := change(&ev); err != nil {
		return catalog.Event{}, err
	}
	stored := ev
	if num(out.Item, "venueChunks") > 0 {
		// The chunks are written once: the venue and its inventory are
		// fixed at creation.
		if now, _ := json.Marshal(ev.Sections); !bytes.Equal(now, venue) {
			return catalog.Event{}, fault.E(op, fault.Invalid, errors.New("the venue of an event cannot change"))
		}
		stored.Sections = nil
	}
	doc, err := json.Marshal(stored)
	if err != nil {
		return catalog.Event{}, fmt.Errorf("encode event: %w", err)
	}
	v := num(out.Item, "version")
	update, values := "SET doc = :d, version = :next", item{":v": n(v), ":next": n(v + 1), ":d": s(string(doc))}
	if _, gsk := eventsByStart(ev.StartsAt, ev.ID); gsk != str(out.Item, "gsi1sk") {
		// A postponed event moves in the listings by start time.
		update += ", gsi1sk = :g1"
		values[":g1"] = s(gsk)
		if ev.Org != "" {
			_, osk := orgEventsByStart(ev.Org, ev.StartsAt, ev.ID)
			update += ", gsi2sk = :g2"
			values[":g2"] = s(osk)
		}
	}
	_, err = st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.table),
		Key:                       eventKey(id),
		ConditionExpression:       aws.String("version = :v"),
		UpdateExpression:          aws.String(update),
		ExpressionAttributeValues: values,
	})
	if kindOf(err) == fault.ConditionFailed {
		return catalog.Event{}, fault.E(op, fault.Contention, err) // another organizer wrote first
	}
	if err != nil {
		return catalog.Event{}, classify(op, err)
	}
	return ev, nil
}
