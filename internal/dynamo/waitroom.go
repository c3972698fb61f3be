package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/waitroom"
)

// Waiting-room items (keys.go): places are listed through the indexes, over
// placeShards partitions so a join storm never concentrates index writes.
const (
	// stampLayout sorts as text in time order (fixed width, UTC).
	stampLayout = "2006-01-02T15:04:05.000Z"
)

func stamp(t time.Time) types.AttributeValue {
	if t.IsZero() {
		return s("")
	}
	return s(t.UTC().Format(stampLayout))
}

func parseStamp(it item, name string) time.Time {
	t, _ := time.Parse(stampLayout, str(it, name))
	return t
}

func boolAttr(it item, name string) bool {
	b, ok := it[name].(*types.AttributeValueMemberBOOL)
	return ok && b.Value
}

func b(v bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: v} }

// stateDoc is the stored form of waitroom.State.
type stateDoc struct {
	Serving    int64           `json:"serving"`
	SoldOut    bool            `json:"soldOut"`
	Seed       string          `json:"seed"`
	SeedHash   string          `json:"seedHash"`
	Drawn      bool            `json:"drawn"`
	DrawnAt    time.Time       `json:"drawnAt"`
	Entrants   int64           `json:"entrants"`
	DrawLease  time.Time       `json:"drawLease"`
	Multiplier float64         `json:"multiplier"`
	Carry      float64         `json:"carry"`
	LastTick   time.Time       `json:"lastTick"`
	Marks      []waitroom.Mark `json:"marks"`
	Health     string          `json:"health"`
	FinalSweep time.Time       `json:"finalSweep"`
	Abandon    time.Time       `json:"abandonCheck"`
	UpdatedAt  time.Time       `json:"updatedAt"`
}

func stateItem(st waitroom.State) (item, error) {
	doc, err := json.Marshal(stateDoc{Serving: st.Serving, SoldOut: st.SoldOut, Seed: st.Seed, SeedHash: st.SeedHash,
		Drawn: st.Drawn, DrawnAt: st.DrawnAt, Entrants: st.Entrants, DrawLease: st.DrawLease, Multiplier: st.Multiplier,
		Carry: st.Carry, LastTick: st.LastTick, Marks: st.Marks, Health: st.Health, FinalSweep: st.FinalSweep, Abandon: st.AbandonCheck, UpdatedAt: st.UpdatedAt})
	if err != nil {
		return nil, fmt.Errorf("encode queue state: %w", err)
	}
	it := queueStateKey(st.EventID)
	it["doc"], it["version"] = s(string(doc)), n(st.Version)
	return it, nil
}

// GetState reads the queue state (strongly consistent: the inlet and
// admission decide on it).
func (st *WaitroomStore) GetState(ctx context.Context, eventID string) (waitroom.State, bool, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(st.table), Key: queueStateKey(eventID), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return waitroom.State{}, false, classify(fmt.Sprintf("get queue state %s", eventID), err)
	}
	if out.Item == nil {
		return waitroom.State{}, false, nil
	}
	var d stateDoc
	if err := json.Unmarshal([]byte(str(out.Item, "doc")), &d); err != nil {
		return waitroom.State{}, false, fmt.Errorf("decode queue state %s: %w", eventID, err)
	}
	return waitroom.State{EventID: eventID, Version: num(out.Item, "version"), Serving: d.Serving, SoldOut: d.SoldOut,
		Seed: d.Seed, SeedHash: d.SeedHash, Drawn: d.Drawn, DrawnAt: d.DrawnAt, Entrants: d.Entrants, DrawLease: d.DrawLease,
		Multiplier: d.Multiplier, Carry: d.Carry, LastTick: d.LastTick, Marks: d.Marks, Health: d.Health, FinalSweep: d.FinalSweep,
		AbandonCheck: d.Abandon, UpdatedAt: d.UpdatedAt}, true, nil
}

// CreateState writes the first queue state of an event.
func (st *WaitroomStore) CreateState(ctx context.Context, q waitroom.State) (bool, error) {
	it, err := stateItem(q)
	if err != nil {
		return false, err
	}
	_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(st.table), Item: it, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, classify(fmt.Sprintf("create queue state %s", q.EventID), err)
	}
	return true, nil
}

// SaveState replaces the state if nobody saved another since it was read.
func (st *WaitroomStore) SaveState(ctx context.Context, q waitroom.State) error {
	it, err := stateItem(q)
	if err != nil {
		return err
	}
	_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(st.table), Item: it,
		ConditionExpression:       aws.String("version = :prev"),
		ExpressionAttributeValues: item{":prev": n(q.Version - 1)},
	})
	if kindOf(err) == fault.ConditionFailed {
		return fault.E("save queue state "+q.EventID, fault.Contention, err) // another inlet saved first
	}
	return classify("save queue state "+q.EventID, err)
}

func placeItem(p waitroom.Place) item {
	it := placeKey(p.EventID, p.Account)
	it["eventId"], it["account"], it["entrant"] = s(p.EventID), s(p.Account), s(p.Entrant)
	it["position"], it["joinedAt"], it["lottery"] = n(p.Position), stamp(p.JoinedAt), b(p.Lottery)
	it["tokenId"], it["tokenExpiresAt"], it["admittedAt"] = s(p.TokenID), stamp(p.TokenExpiresAt), stamp(p.AdmittedAt)
	it["usedAt"], it["abandoned"] = stamp(p.UsedAt), b(p.Abandoned)
	shard := strconv.Itoa(placeShard(p.Account))
	switch {
	case p.Lottery:
		it["gsi1pk"], it["gsi1sk"] = s(lotteryShards(p.EventID)+shard), s(p.Entrant)
	case p.Position == 0:
		it["gsi1pk"], it["gsi1sk"] = s(lateShards(p.EventID)+shard), stamp(p.JoinedAt)
	}
	switch {
	case p.TokenID != "" && p.UsedAt.IsZero() && !p.Abandoned:
		it["gsi2pk"], it["gsi2sk"] = s(admittedShards(p.EventID)+shard), stamp(p.TokenExpiresAt)
	case p.TokenID == "" && p.Position > 0:
		// In the admitted index already, after every expiry: the claim
		// (ClaimServed, an UpdateItem) then moves the place within the
		// index instead of adding it, which the embedded server files
		// wrongly (ADR 9).
		it["gsi2pk"], it["gsi2sk"] = s(admittedShards(p.EventID)+shard), s(unclaimedSK+p.Account)
	}
	return it
}

// unclaimedSK sorts after every stamp, so the expired-admissions query
// (gsi2sk < now) never reads a place that has no admission.
const unclaimedSK = "~"

func decodePlace(it item) waitroom.Place {
	return waitroom.Place{EventID: str(it, "eventId"), Account: str(it, "account"), Entrant: str(it, "entrant"),
		Position: num(it, "position"), JoinedAt: parseStamp(it, "joinedAt"), Lottery: boolAttr(it, "lottery"),
		TokenID: str(it, "tokenId"), TokenExpiresAt: parseStamp(it, "tokenExpiresAt"), AdmittedAt: parseStamp(it, "admittedAt"),
		UsedAt: parseStamp(it, "usedAt"), Abandoned: boolAttr(it, "abandoned")}
}

// Places reads many places in BatchGetItem calls.
func (st *WaitroomStore) Places(ctx context.Context, eventID string, accounts []string) (map[string]waitroom.Place, error) {
	keys := make([]item, len(accounts))
	for i, a := range accounts {
		keys[i] = placeKey(eventID, a)
	}
	its, err := st.batchGet(ctx, keys, "", nil, false)
	if err != nil {
		return nil, classify("read places", err)
	}
	out := make(map[string]waitroom.Place, len(its))
	for _, it := range its {
		p := decodePlace(it)
		out[p.Account] = p
	}
	return out, nil
}

// Place reads one place, strongly consistent.
func (st *WaitroomStore) Place(ctx context.Context, eventID, account string) (waitroom.Place, bool, error) {
	return st.place(ctx, eventID, account, true)
}

// PlaceView reads one place, eventually consistent (waitroom.Store says
// what for).
func (st *WaitroomStore) PlaceView(ctx context.Context, eventID, account string) (waitroom.Place, bool, error) {
	return st.place(ctx, eventID, account, false)
}

func (st *WaitroomStore) place(ctx context.Context, eventID, account string, consistent bool) (waitroom.Place, bool, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(st.table), Key: placeKey(eventID, account), ConsistentRead: aws.Bool(consistent),
	})
	if err != nil {
		return waitroom.Place{}, false, classify("read place", err)
	}
	if out.Item == nil {
		return waitroom.Place{}, false, nil
	}
	return decodePlace(out.Item), true, nil
}

// PutNewPlace writes a place unless the account has one.
func (st *WaitroomStore) PutNewPlace(ctx context.Context, p waitroom.Place) (bool, error) {
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(st.table), Item: placeItem(p), ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, classify("put place", err)
	}
	return true, nil
}

// WritePlaces overwrites places with batch writes.
func (st *WaitroomStore) WritePlaces(ctx context.Context, ps []waitroom.Place) error {
	items := make([]item, len(ps))
	for i, p := range ps {
		items[i] = placeItem(p)
	}
	if err := st.putAll(ctx, items); err != nil {
		return classify("write places", err)
	}
	return nil
}

// queryShards runs one index query per place shard and decodes places.
func (st *WaitroomStore) queryShards(ctx context.Context, index, prefix, cond string, values item, filter string, limit int) ([]waitroom.Place, error) {
	var out []waitroom.Place
	for shard := range placeShards {
		vals := item{":p": s(prefix + strconv.Itoa(shard))}
		for k, v := range values {
			vals[k] = v
		}
		in := &dynamodb.QueryInput{
			TableName: aws.String(st.table), IndexName: aws.String(index),
			KeyConditionExpression: aws.String(cond), ExpressionAttributeValues: vals,
		}
		if filter != "" {
			in.FilterExpression = aws.String(filter)
			if strings.Contains(filter, "#pos") { // "position" is a reserved word
				in.ExpressionAttributeNames = map[string]string{"#pos": "position"}
			}
		}
		pages := dynamodb.NewQueryPaginator(st.db, in)
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, classify(fmt.Sprintf("query %s", prefix), err)
			}
			for _, it := range page.Items {
				out = append(out, decodePlace(it))
			}
			if limit > 0 && len(out) >= limit {
				return out[:limit], nil
			}
		}
	}
	return out, nil
}

// PendingPlaces lists places without a position.
func (st *WaitroomStore) PendingPlaces(ctx context.Context, eventID string, lottery bool) ([]waitroom.Place, error) {
	prefix := lateShards(eventID)
	if lottery {
		prefix = lotteryShards(eventID)
	}
	return st.queryShards(ctx, gsi1, prefix, "gsi1pk = :p", item{":zero": n(0)}, "#pos = :zero", 0)
}

// DrawEntrants lists every place that joined before opening.
func (st *WaitroomStore) DrawEntrants(ctx context.Context, eventID string) ([]waitroom.Place, error) {
	return st.queryShards(ctx, gsi1, lotteryShards(eventID), "gsi1pk = :p", nil, "", 0)
}

// AddPositions takes n positions with one counter write.
func (st *WaitroomStore) AddPositions(ctx context.Context, eventID string, count int64) (int64, error) {
	out, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.table),
		Key:                       queueCounterKey(eventID),
		UpdateExpression:          aws.String("ADD #next :n"),
		ExpressionAttributeNames:  map[string]string{"#next": "next"},
		ExpressionAttributeValues: item{":n": n(count)},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, classify(fmt.Sprintf("take %d positions", count), err)
	}
	return num(out.Attributes, "next"), nil
}

// SetPositions sets the counter after the draw. An inlet whose draw
// lease ran out while it drew repeats the same draw; by then the first
// may have saved it and the assigner taken positions after it, so the
// counter is only ever set forward: a counter already past count is left.
func (st *WaitroomStore) SetPositions(ctx context.Context, eventID string, count int64) error {
	it := queueCounterKey(eventID)
	it["next"] = n(count)
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.table), Item: it,
		ConditionExpression:       aws.String("attribute_not_exists(#next) OR #next <= :n"),
		ExpressionAttributeNames:  map[string]string{"#next": "next"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": n(count)},
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return classify("set positions", err)
	}
	return nil
}

// Positions reads the counter.
func (st *WaitroomStore) Positions(ctx context.Context, eventID string) (int64, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(st.table), Key: queueCounterKey(eventID), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return 0, classify("read positions", err)
	}
	return num(out.Item, "next"), nil
}

// MarkUsed records the hold an admission made, once.
func (st *WaitroomStore) MarkUsed(ctx context.Context, eventID, account, tokenID string, now time.Time) (bool, error) {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.table),
		Key:                       placeKey(eventID, account),
		ConditionExpression:       aws.String("tokenId = :t AND usedAt = :none"),
		UpdateExpression:          aws.String("SET usedAt = :now, gsi2pk = :done"),
		ExpressionAttributeValues: item{":t": s(tokenID), ":none": s(""), ":now": stamp(now), ":done": s(placesDonePK(eventID))},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, classify("mark admission used", err)
	}
	return true, nil
}

// ExpiredAdmissions lists admitted, unused places whose token expired.
func (st *WaitroomStore) ExpiredAdmissions(ctx context.Context, eventID string, now time.Time, limit int) ([]waitroom.Place, error) {
	return st.queryShards(ctx, gsi2, admittedShards(eventID), "gsi2pk = :p AND gsi2sk < :now",
		item{":now": stamp(now), ":none": s(""), ":no": b(false)}, "usedAt = :none AND abandoned = :no", limit)
}

// MarkAbandoned flags an expired admission once.
func (st *WaitroomStore) MarkAbandoned(ctx context.Context, p waitroom.Place) (bool, error) {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.table),
		Key:                       placeKey(p.EventID, p.Account),
		ConditionExpression:       aws.String("tokenId = :t AND usedAt = :none AND abandoned = :no"),
		UpdateExpression:          aws.String("SET abandoned = :yes, gsi2pk = :done"),
		ExpressionAttributeValues: item{":t": s(p.TokenID), ":none": s(""), ":no": b(false), ":yes": b(true), ":done": s(placesDonePK(p.EventID))},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, classify("mark admission abandoned", err)
	}
	return true, nil
}

// AddStats adds to one of the counter shards, picked at random.
func (st *WaitroomStore) AddStats(ctx context.Context, eventID string, d waitroom.Stats) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.table),
		Key:                       statsKey(eventID, rand.IntN(statsShards)),
		UpdateExpression:          aws.String("ADD admitted :a, used :u, abandoned :x"),
		ExpressionAttributeValues: item{":a": n(d.Admitted), ":u": n(d.Used), ":x": n(d.Abandoned)},
	})
	if err != nil {
		return classify("add queue stats", err)
	}
	return nil
}

// Stats sums the counter shards.
func (st *WaitroomStore) Stats(ctx context.Context, eventID string) (waitroom.Stats, error) {
	keys := make([]item, statsShards)
	for i := range keys {
		keys[i] = statsKey(eventID, i)
	}
	its, err := st.batchGet(ctx, keys, "", nil, true)
	if err != nil {
		return waitroom.Stats{}, classify("read queue stats", err)
	}
	var out waitroom.Stats
	for _, it := range its {
		out.Admitted += num(it, "admitted")
		out.Used += num(it, "used")
		out.Abandoned += num(it, "abandoned")
	}
	return out, nil
}
