package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stararena/stararena/internal/health"
)

var _ health.Store = (*HealthStore)(nil)

// Purchase-path health windows (see package health):
//
//	HEALTH#<eventId>#<start>    HEALTH    one window of one event, all instances merged: eventId,
//	                                      start (unix s), count, conflicts, errors, throttles,
//	                                      b<i> (latency bucket i, only the non-zero ones);
//	                                      ttl: garbage collection only (start + health.Retention)
//
// Each window has its own partition key, so the writes of a sale move to a
// new partition every window instead of heating one item for hours. The
// expiry attribute is "ttl", the table's one TTL attribute (scan records use
// it too); "expiresAt" already names the hold deadline on seat and order
// items and must never be a TTL.

// AddWindow merges w into its window item with one UpdateItem: ADD is
// atomic per attribute, so concurrent flushes of many instances sum exactly
// without reading first or retrying on a condition. Only non-zero buckets
// are sent, which keeps the request small.
func (st *HealthStore) AddWindow(ctx context.Context, w health.Window) error {
	if w.EventID == "" {
		return errors.New("add health window: no event id")
	}
	if w.IsZero() {
		return nil
	}
	start := w.Start.Unix()
	vals := item{
		":c": n(w.Count), ":x": n(w.Conflicts), ":e": n(w.Errors), ":t": n(w.Throttles),
		":ev": s(w.EventID), ":st": n(start), ":ttl": n(w.Start.Add(health.Retention).Unix()),
	}
	// Placeholders for every name: "count" is a DynamoDB reserved word.
	names := map[string]string{"#c": "count", "#x": "conflicts", "#e": "errors", "#t": "throttles", "#ev": "eventId", "#st": "start", "#ttl": "ttl"}
	var expr strings.Builder
	expr.WriteString("SET #ev = :ev, #st = :st, #ttl = :ttl ADD #c :c, #x :x, #e :e, #t :t")
	for i, c := range w.Buckets {
		if c == 0 {
			continue
		}
		b := "b" + itoa(i)
		expr.WriteString(", #" + b + " :" + b)
		names["#"+b], vals[":"+b] = b, n(c)
	}
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.table),
		Key:                       healthKey(w.EventID, start),
		UpdateExpression:          aws.String(expr.String()),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: vals,
	})
	if err != nil {
		return classify(fmt.Sprintf("add health window %s@%d", w.EventID, start), err)
	}
	return nil
}

// Windows batch-gets the window items by key (eventually consistent: a
// health signal a second stale is as good, at half the read cost). A window
// nobody wrote comes back empty.
func (st *HealthStore) Windows(ctx context.Context, eventID string, starts []time.Time) ([]health.Window, error) {
	out := make([]health.Window, len(starts))
	// BatchGetItem refuses duplicate keys: ask once per distinct start.
	index := make(map[string][]int, len(starts))
	keys := make([]item, 0, len(starts))
	for i, t := range starts {
		sec := t.Unix()
		out[i] = health.Window{EventID: eventID, Start: time.Unix(sec, 0).UTC()}
		pk := healthPK(eventID, sec)
		if _, seen := index[pk]; !seen {
			keys = append(keys, key(pk, skHealth))
		}
		index[pk] = append(index[pk], i)
	}
	items, err := st.batchGet(ctx, keys, "", nil, false)
	if err != nil {
		return nil, classify(fmt.Sprintf("read health windows of %s", eventID), err)
	}
	for _, it := range items {
		for _, i := range index[str(it, "pk")] {
			decodeWindow(it, &out[i])
		}
	}
	return out, nil
}

func decodeWindow(it item, w *health.Window) {
	w.Count, w.Conflicts, w.Errors, w.Throttles = num(it, "count"), num(it, "conflicts"), num(it, "errors"), num(it, "throttles")
	for i := range w.Buckets {
		w.Buckets[i] = num(it, "b"+itoa(i))
	}
}
