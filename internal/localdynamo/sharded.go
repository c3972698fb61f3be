package localdynamo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"

	miniserver "github.com/truora/minidyn/server"
)

// Sharded is a DynamoDB JSON 1.0 server over several minidyn
// servers, items spread by a hash of their partition key.
//
// The simulation needs it because minidyn keeps each table's keys in one
// sorted slice that it re-sorts on every new key: inserting the k-th item
// costs O(k), so the 250,000 items of a 100,000-fan sale cost hours.
// Spread over n servers each insertion costs O(k/n). The test's smaller
// sale runs on it too, so `make test` exercises it.
//
// Semantics follow internal/localdynamo: single-item requests go to the
// item's shard; TransactWriteItems is localdynamo's own transaction
// (items one by one, undone when a condition fails, a reason per item),
// applied on the items' shards while it holds its items' partitions
// exclusively (locks.go), which every single-item request, batch and
// table query respects; batches are split and merged; a Query on the table
// goes to its partition's shard and one on a global secondary index asks
// every shard and merges the answers in index order, honouring Limit,
// ScanIndexForward and ExclusiveStartKey. Requests the application does
// not make (Scan, ConditionCheck, TransactGetItems, projections on an
// index query) are refused rather than half emulated.
type Sharded struct {
	shards []http.Handler
	// parts isolates transactions by partition, not by shard (locks.go).
	parts partitionLocks

	schemaMu sync.Mutex
	tables   map[string]*tableSchema

	// routes remembers, per index and index partition key value, which
	// shards have held an item of that partition (a superset: entries are
	// never removed), so an index query asks those shards only.
	routesMu sync.RWMutex
	routes   map[string]map[string]uint64

	// feed, when set, receives the committed writes it filters for.
	feed *Feed
}

// SetFeed makes the server publish committed writes to f (before it
// serves requests).
func (d *Sharded) SetFeed(f *Feed) { d.feed = f }

// keyNames names a table's key attributes, for the feed.
func (d *Sharded) keyNames(table string) ([]string, error) {
	s, err := d.schema(table)
	if err != nil {
		return nil, err
	}
	return []string{s.pk, s.sk}, nil
}

// readBackOn reads an item for the feed on its shard; the caller holds the
// shard's lock.
func (d *Sharded) readBackOn(shard int) func(writtenItem, []byte) (int, []byte) {
	return func(_ writtenItem, b []byte) (int, []byte) { return d.call(shard, "GetItem", b) }
}

type tableSchema struct {
	pk, sk  string
	indexes map[string][2]string // index → partition key, sort key
}

// MaxShards is the most shards: a route is a 64-bit set of shards.
const MaxShards = 64

func NewSharded(n int) *Sharded {
	n = min(max(n, 1), MaxShards)
	d := &Sharded{tables: map[string]*tableSchema{}, routes: map[string]map[string]uint64{}}
	for range n {
		d.shards = append(d.shards, miniserver.NewServer())
	}
	return d
}

// route notes that shard holds (or held) an item with these index keys.
func (d *Sharded) route(s *tableSchema, shard int, item map[string]raw) {
	for name, keys := range s.indexes {
		av, ok := item[keys[0]]
		if !ok {
			continue
		}
		v := routeValue(av)
		d.routesMu.RLock()
		known := d.routes[name][v]&(1<<shard) != 0
		d.routesMu.RUnlock()
		if known {
			continue
		}
		d.routesMu.Lock()
		if d.routes[name] == nil {
			d.routes[name] = map[string]uint64{}
		}
		d.routes[name][v] |= 1 << shard
		d.routesMu.Unlock()
	}
}

func (d *Sharded) shardsOf(index string, av raw) uint64 {
	d.routesMu.RLock()
	defer d.routesMu.RUnlock()
	return d.routes[index][routeValue(av)]
}

// routeValue is a key attribute value as a map key, whatever its JSON
// spelling.
func routeValue(av raw) string {
	var v map[string]any
	if err := json.Unmarshal(av, &v); err != nil {
		return string(av)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// mentionsIndexKey reports whether a request may set an index partition
// key: it names the attribute, in an expression or as an alias's value.
func mentionsIndexKey(s *tableSchema, body []byte) bool {
	for _, keys := range s.indexes {
		if bytes.Contains(body, []byte(keys[0])) {
			return true
		}
	}
	return false
}

// readBack reads an item after a write, to route its index keys.
func (d *Sharded) readBack(s *tableSchema, shard int, table string, key map[string]raw) {
	b, _ := json.Marshal(map[string]any{"TableName": table, "Key": key, "ConsistentRead": true})
	if status, out := d.call(shard, "GetItem", b); status == http.StatusOK {
		var res struct{ Item map[string]raw }
		if json.Unmarshal(out, &res) == nil && len(res.Item) > 0 {
			d.route(s, shard, res.Item)
		}
	}
}

func (d *Sharded) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(op, '.'); i >= 0 {
		op = op[i+1:]
	}
	body, err := io.ReadAll(r.Body)
	var status int
	var out []byte
	switch {
	case err != nil:
		status, out = ddbError("SerializationException", "cannot read the request")
	case op == "TransactWriteItems":
		status, out = d.transact(body)
	default:
		status, out = d.serve(op, body)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// call runs one request on one shard; the caller holds the locks of the
// partitions it reads or writes (none for table requests and index
// queries).
func (d *Sharded) call(shard int, op string, body []byte) (int, []byte) {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	rec := httptest.NewRecorder()
	d.shards[shard].ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func ddbError(typ, msg string) (int, []byte) {
	b, _ := json.Marshal(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#" + typ, "message": msg})
	return http.StatusBadRequest, b
}

func unsupported(what string) (int, []byte) {
	return ddbError("ValidationException", what+" is not supported by the simulation's sharded DynamoDB")
}

// shardOf is the shard of a partition key attribute value. The seats of
// one row share a shard (their key without the seat number), so that the
// batch reads of a row and a hold's seats stay on one shard.
func (d *Sharded) shardOf(av raw) (int, error) {
	key, err := partitionString(av)
	if err != nil {
		return 0, err
	}
	if strings.HasPrefix(key, "SSEAT#") {
		if i := strings.LastIndexByte(key, '-'); i > 0 {
			key = key[:i]
		}
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(len(d.shards))), nil
}

// partitionString renders a key attribute value as its type and value,
// e.g. "SSEAT#e1#A-1-7" for {"S":"SEAT#e1#A-1-7"}.
func partitionString(av raw) (string, error) {
	if len(av) > 8 && bytes.HasPrefix(av, []byte(`{"S":"`)) && bytes.HasSuffix(av, []byte(`"}`)) &&
		bytes.IndexByte(av[6:len(av)-2], '\\') < 0 && bytes.IndexByte(av[6:len(av)-2], '"') < 0 {
		return "S" + string(av[6:len(av)-2]), nil
	}
	var v map[string]raw
	if err := json.Unmarshal(av, &v); err != nil || len(v) != 1 {
		return "", fmt.Errorf("bad key attribute value %s", av)
	}
	for typ, val := range v {
		if typ == "S" {
			var s string
			if err := json.Unmarshal(val, &s); err != nil {
				return "", err
			}
			return "S" + s, nil
		}
		return typ + string(val), nil
	}
	return "", nil
}

func (d *Sharded) schema(table string) (*tableSchema, error) {
	d.schemaMu.Lock()
	defer d.schemaMu.Unlock()
	if s, ok := d.tables[table]; ok {
		return s, nil
	}
	b, _ := json.Marshal(map[string]string{"TableName": table})
	status, out := d.call(0, "DescribeTable", b)
	if status != http.StatusOK {
		return nil, fmt.Errorf("table %s: %s", table, out)
	}
	var desc struct {
		Table struct {
			KeySchema              []struct{ AttributeName, KeyType string }
			GlobalSecondaryIndexes []struct {
				IndexName string
				KeySchema []struct{ AttributeName, KeyType string }
			}
		}
	}
	if err := json.Unmarshal(out, &desc); err != nil {
		return nil, err
	}
	s := &tableSchema{indexes: map[string][2]string{}}
	for _, k := range desc.Table.KeySchema {
		if k.KeyType == "HASH" {
			s.pk = k.AttributeName
		} else {
			s.sk = k.AttributeName
		}
	}
	for _, idx := range desc.Table.GlobalSecondaryIndexes {
		var keys [2]string
		for _, k := range idx.KeySchema {
			if k.KeyType == "HASH" {
				keys[0] = k.AttributeName
			} else {
				keys[1] = k.AttributeName
			}
		}
		s.indexes[idx.IndexName] = keys
	}
	if s.pk == "" {
		return nil, fmt.Errorf("table %s: no partition key", table)
	}
	d.tables[table] = s
	return s, nil
}

// itemShard is the shard of the item a Key (or a whole Item) names.
func (d *Sharded) itemShard(table string, key map[string]raw) (int, error) {
	s, err := d.schema(table)
	if err != nil {
		return 0, err
	}
	av, ok := key[s.pk]
	if !ok {
		return 0, fmt.Errorf("no partition key %s", s.pk)
	}
	return d.shardOf(av)
}

func (d *Sharded) serve(op string, body []byte) (int, []byte) {
	switch op {
	case "GetItem", "UpdateItem", "DeleteItem", "PutItem":
		var in struct {
			TableName string
			Key, Item map[string]raw
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return ddbError("SerializationException", "malformed "+op)
		}
		key := in.Key
		if op == "PutItem" {
			key = in.Item
		}
		shard, err := d.itemShard(in.TableName, key)
		if err != nil {
			return ddbError("ValidationException", err.Error())
		}
		unlock := d.parts.shared([]uint32{d.parts.of(in.TableName, key[d.pkOf(in.TableName)])})
		defer unlock()
		if op == "GetItem" {
			return d.call(shard, op, body)
		}
		sch, _ := d.schema(in.TableName)
		status, out := d.call(shard, op, body)
		if status == http.StatusOK && d.feed != nil {
			d.feed.feedWrites(writtenItems(op, body, d.keyNames), d.keyNames, d.readBackOn(shard))
		}
		if status == http.StatusOK && op != "DeleteItem" {
			if op == "PutItem" {
				d.route(sch, shard, in.Item)
			} else if mentionsIndexKey(sch, body) {
				d.readBack(sch, shard, in.TableName, in.Key)
			}
		}
		return status, out
	case "BatchGetItem":
		return d.batchGet(body)
	case "BatchWriteItem":
		return d.batchWrite(body)
	case "Query":
		return d.query(body)
	case "CreateTable", "DeleteTable", "UpdateTable", "UpdateTimeToLive", "TagResource", "UntagResource":
		var status int
		var out []byte
		for i := range d.shards {
			st, o := d.call(i, op, body)
			if i == 0 || st != http.StatusOK {
				status, out = st, o
			}
		}
		if op == "CreateTable" {
			return withTableStatus(status, out)
		}
		return status, out
	case "DescribeTable":
		return withTableStatus(d.call(0, op, body))
	case "ListTables", "DescribeTimeToLive", "ListTagsOfResource", "DescribeContinuousBackups":
		return d.call(0, op, body)
	}
	return unsupported(op)
}

func (d *Sharded) batchGet(body []byte) (int, []byte) {
	var in struct {
		RequestItems map[string]map[string]raw
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return ddbError("SerializationException", "malformed BatchGetItem")
	}
	per := make([]map[string]map[string]raw, len(d.shards))
	parts := make([][]uint32, len(d.shards))
	for table, req := range in.RequestItems {
		var keys []map[string]raw
		if err := json.Unmarshal(req["Keys"], &keys); err != nil {
			return ddbError("SerializationException", "malformed BatchGetItem keys")
		}
		byShard := map[int][]map[string]raw{}
		for _, k := range keys {
			shard, err := d.itemShard(table, k)
			if err != nil {
				return ddbError("ValidationException", err.Error())
			}
			byShard[shard] = append(byShard[shard], k)
			parts[shard] = append(parts[shard], d.parts.of(table, k[d.pkOf(table)]))
		}
		for shard, ks := range byShard {
			if per[shard] == nil {
				per[shard] = map[string]map[string]raw{}
			}
			r := map[string]raw{}
			for f, v := range req {
				r[f] = v
			}
			r["Keys"], _ = json.Marshal(ks)
			per[shard][table] = r
		}
	}
	only := -1
	for shard, items := range per {
		if items != nil {
			if only >= 0 {
				only = -2
				break
			}
			only = shard
		}
	}
	if only >= 0 {
		unlock := d.parts.shared(parts[only])
		defer unlock()
		return d.call(only, "BatchGetItem", body) // every key on one shard
	}
	responses := map[string][]raw{}
	unprocessed := map[string]map[string]any{}
	for shard, items := range per {
		if items == nil {
			continue
		}
		b, _ := json.Marshal(map[string]any{"RequestItems": items})
		unlock := d.parts.shared(parts[shard])
		status, out := d.call(shard, "BatchGetItem", b)
		unlock()
		if status != http.StatusOK {
			return status, out
		}
		var res struct {
			Responses       map[string][]raw
			UnprocessedKeys map[string]struct {
				Keys []raw
			}
		}
		if err := json.Unmarshal(out, &res); err != nil {
			return ddbError("InternalServerError", "unreadable BatchGetItem answer")
		}
		for t, its := range res.Responses {
			responses[t] = append(responses[t], its...)
		}
		for t, u := range res.UnprocessedKeys {
			if len(u.Keys) == 0 {
				continue
			}
			if unprocessed[t] == nil {
				unprocessed[t] = map[string]any{}
				for f, v := range in.RequestItems[t] {
					if f != "Keys" {
						unprocessed[t][f] = v
					}
				}
				unprocessed[t]["Keys"] = []raw{}
			}
			unprocessed[t]["Keys"] = append(unprocessed[t]["Keys"].([]raw), u.Keys...)
		}
	}
	for t := range in.RequestItems {
		if responses[t] == nil {
			responses[t] = []raw{}
		}
	}
	b, _ := json.Marshal(map[string]any{"Responses": responses, "UnprocessedKeys": unprocessed})
	return http.StatusOK, b
}

func (d *Sharded) batchWrite(body []byte) (int, []byte) {
	var in struct {
		RequestItems map[string][]struct {
			PutRequest    *struct{ Item map[string]raw }
			DeleteRequest *struct{ Key map[string]raw }
		}
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return ddbError("SerializationException", "malformed BatchWriteItem")
	}
	per := make([]map[string][]any, len(d.shards))
	puts := make([]map[string][]map[string]raw, len(d.shards))
	parts := make([][]uint32, len(d.shards))
	for table, reqs := range in.RequestItems {
		for _, r := range reqs {
			var key map[string]raw
			var req any
			switch {
			case r.PutRequest != nil:
				key, req = r.PutRequest.Item, map[string]any{"PutRequest": r.PutRequest}
			case r.DeleteRequest != nil:
				key, req = r.DeleteRequest.Key, map[string]any{"DeleteRequest": r.DeleteRequest}
			default:
				return ddbError("ValidationException", "a write request needs PutRequest or DeleteRequest")
			}
			shard, err := d.itemShard(table, key)
			if err != nil {
				return ddbError("ValidationException", err.Error())
			}
			if per[shard] == nil {
				per[shard], puts[shard] = map[string][]any{}, map[string][]map[string]raw{}
			}
			per[shard][table] = append(per[shard][table], req)
			parts[shard] = append(parts[shard], d.parts.of(table, key[d.pkOf(table)]))
			if r.PutRequest != nil {
				puts[shard][table] = append(puts[shard][table], r.PutRequest.Item)
			}
		}
	}
	unprocessed := map[string][]raw{}
	for shard, items := range per {
		if items == nil {
			continue
		}
		b, _ := json.Marshal(map[string]any{"RequestItems": items})
		unlock := d.parts.shared(parts[shard])
		status, out := d.call(shard, "BatchWriteItem", b)
		if status == http.StatusOK && d.feed != nil {
			d.feed.feedWrites(writtenItems("BatchWriteItem", b, d.keyNames), d.keyNames, d.readBackOn(shard))
		}
		if status == http.StatusOK {
			for table, its := range puts[shard] {
				if sch, err := d.schema(table); err == nil {
					for _, it := range its {
						d.route(sch, shard, it)
					}
				}
			}
		}
		unlock()
		if status != http.StatusOK {
			return status, out
		}
		var res struct{ UnprocessedItems map[string][]raw }
		if err := json.Unmarshal(out, &res); err != nil {
			return ddbError("InternalServerError", "unreadable BatchWriteItem answer")
		}
		for t, its := range res.UnprocessedItems {
			unprocessed[t] = append(unprocessed[t], its...)
		}
	}
	b, _ := json.Marshal(map[string]any{"UnprocessedItems": unprocessed})
	return http.StatusOK, b
}

var eqPattern = regexp.MustCompile(`([#A-Za-z0-9_]+)\s*=\s*(:[A-Za-z0-9_]+)`)

func (d *Sharded) query(body []byte) (int, []byte) {
	var in map[string]raw
	if err := json.Unmarshal(body, &in); err != nil {
		return ddbError("SerializationException", "malformed Query")
	}
	var table, index, cond string
	_ = json.Unmarshal(in["TableName"], &table)
	_ = json.Unmarshal(in["IndexName"], &index)
	_ = json.Unmarshal(in["KeyConditionExpression"], &cond)
	s, err := d.schema(table)
	if err != nil {
		return ddbError("ResourceNotFoundException", err.Error())
	}
	var names map[string]string
	var values map[string]raw
	_ = json.Unmarshal(in["ExpressionAttributeNames"], &names)
	_ = json.Unmarshal(in["ExpressionAttributeValues"], &values)
	// partition is the value the key condition gives the partition key.
	partition := func(attr string) (raw, bool) {
		for _, m := range eqPattern.FindAllStringSubmatch(cond, -1) {
			name := m[1]
			if strings.HasPrefix(name, "#") {
				name = names[name]
			}
			if name == attr {
				v, ok := values[m[2]]
				return v, ok
			}
		}
		return nil, false
	}
	if index == "" {
		// The partition's shard answers alone.
		v, ok := partition(s.pk)
		if !ok {
			return ddbError("ValidationException", "the key condition names no partition key")
		}
		shard, err := d.shardOf(v)
		if err != nil {
			return ddbError("ValidationException", err.Error())
		}
		unlock := d.parts.shared([]uint32{d.parts.of(table, v)})
		defer unlock()
		return d.call(shard, "Query", body)
	}
	keys, ok := s.indexes[index]
	if !ok {
		return ddbError("ValidationException", "no index "+index)
	}
	v, ok := partition(keys[0])
	if !ok {
		return ddbError("ValidationException", "the key condition names no index partition key")
	}
	targets := d.shardsOf(index, v)
	for _, f := range []string{"ProjectionExpression", "Select", "AttributesToGet"} {
		if _, ok := in[f]; ok {
			return unsupported(f + " on an index query")
		}
	}
	forward := true
	if v, ok := in["ScanIndexForward"]; ok {
		_ = json.Unmarshal(v, &forward)
	}
	limit := 0
	if v, ok := in["Limit"]; ok {
		_ = json.Unmarshal(v, &limit)
	}
	start := in["ExclusiveStartKey"]
	delete(in, "Limit")
	delete(in, "ExclusiveStartKey")
	type hit struct {
		item  map[string]raw
		order [3]sortable
	}
	var hits []hit
	scanned := 0
	attrs := [3]string{keys[1], s.pk, s.sk}
	for shard := range d.shards {
		if targets&(1<<shard) == 0 {
			continue
		}
		for {
			b, _ := json.Marshal(in)
			// An index query takes no partition locks: like DynamoDB's
			// global secondary indexes it is eventually consistent, and
			// holding 64 shards' worth of partitions for a long index
			// read would stall every transaction behind it.
			status, out := d.call(shard, "Query", b)
			if status != http.StatusOK {
				return status, out
			}
			var res struct {
				Items            []map[string]raw
				ScannedCount     int
				LastEvaluatedKey raw
			}
			if err := json.Unmarshal(out, &res); err != nil {
				return ddbError("InternalServerError", "unreadable Query answer")
			}
			scanned += res.ScannedCount
			for _, it := range res.Items {
				var h hit
				h.item = it
				for i, a := range attrs {
					h.order[i] = sortKey(it[a])
				}
				hits = append(hits, h)
			}
			if len(res.LastEvaluatedKey) == 0 || string(res.LastEvaluatedKey) == "null" || string(res.LastEvaluatedKey) == "{}" {
				break
			}
			in["ExclusiveStartKey"] = res.LastEvaluatedKey
		}
		delete(in, "ExclusiveStartKey")
	}
	less := func(a, b [3]sortable) bool {
		for i := range a {
			if c := a[i].cmp(b[i]); c != 0 {
				return c < 0
			}
		}
		return false
	}
	sort.Slice(hits, func(i, j int) bool {
		if forward {
			return less(hits[i].order, hits[j].order)
		}
		return less(hits[j].order, hits[i].order)
	})
	if len(start) > 0 && string(start) != "null" {
		var sk map[string]raw
		if err := json.Unmarshal(start, &sk); err != nil {
			return ddbError("ValidationException", "malformed ExclusiveStartKey")
		}
		var from [3]sortable
		for i, a := range attrs {
			from[i] = sortKey(sk[a])
		}
		k := 0
		for k < len(hits) && (forward && !less(from, hits[k].order) || !forward && !less(hits[k].order, from)) {
			k++
		}
		hits = hits[k:]
	}
	res := map[string]any{}
	if limit > 0 && len(hits) > limit {
		hits = hits[:limit]
		last := hits[len(hits)-1].item
		lek := map[string]raw{}
		for _, a := range []string{s.pk, s.sk, keys[0], keys[1]} {
			if a != "" {
				lek[a] = last[a]
			}
		}
		res["LastEvaluatedKey"] = lek
	}
	items := make([]map[string]raw, len(hits))
	for i, h := range hits {
		items[i] = h.item
	}
	res["Items"], res["Count"], res["ScannedCount"] = items, len(items), scanned
	b, _ := json.Marshal(res)
	return http.StatusOK, b
}

// sortable is a key attribute value in DynamoDB's order: strings and
// binary by bytes, numbers by value.
type sortable struct {
	s   string
	n   *big.Float
	set bool
}

func sortKey(av raw) sortable {
	var v map[string]raw
	if len(av) == 0 || json.Unmarshal(av, &v) != nil {
		return sortable{}
	}
	if x, ok := v["N"]; ok {
		var s string
		_ = json.Unmarshal(x, &s)
		f, _, err := big.ParseFloat(s, 10, 200, big.ToNearestEven)
		if err == nil {
			return sortable{n: f, set: true}
		}
	}
	for _, t := range []string{"S", "B"} {
		if x, ok := v[t]; ok {
			var s string
			_ = json.Unmarshal(x, &s)
			return sortable{s: s, set: true}
		}
	}
	return sortable{}
}

func (a sortable) cmp(b sortable) int {
	switch {
	case !a.set && !b.set:
		return 0
	case !a.set:
		return -1
	case !b.set:
		return 1
	case a.n != nil && b.n != nil:
		return a.n.Cmp(b.n)
	}
	return strings.Compare(a.s, b.s)
}

// transact runs TransactWriteItems as internal/localdynamo does
// (ApplyTransaction), across shards: it locks the items' partitions
// exclusively, applies the items on their shards,
// and then files the index entries the items gained.
func (d *Sharded) transact(body []byte) (int, []byte) {
	keyNames := func(table string) ([]string, error) {
		s, err := d.schema(table)
		if err != nil {
			return nil, err
		}
		return []string{s.pk, s.sk}, nil
	}
	items, err := ParseTransaction(body, keyNames)
	var txErr *TxError
	switch {
	case errors.Is(err, ErrConditionCheck):
		return unsupported("ConditionCheck")
	case errors.As(err, &txErr):
		return txErr.Answer()
	case err != nil:
		return ddbError("ValidationException", err.Error())
	}
	shards := make([]int, len(items))
	parts := make([]uint32, len(items))
	for i, it := range items {
		if shards[i], err = d.itemShard(it.Table, it.Key); err != nil {
			return ddbError("ValidationException", err.Error())
		}
		parts[i] = d.parts.of(it.Table, it.Key[d.pkOf(it.Table)])
	}
	unlock := d.parts.exclusive(parts)
	defer unlock()
	status, out := ApplyTransaction(items, func(i int, op string, b []byte) (int, []byte) { return d.call(shards[i], op, b) })
	if status != http.StatusOK {
		return status, out
	}
	if d.feed != nil {
		for i, it := range items {
			d.feed.feedWrites([]writtenItem{{it.Table, it.Key}}, d.keyNames, d.readBackOn(shards[i]))
		}
	}
	for i, it := range items {
		sch, err := d.schema(it.Table)
		if err != nil || !mentionsIndexKey(sch, it.Body) {
			continue
		}
		var f struct{ Item map[string]raw }
		if it.Op == "PutItem" && json.Unmarshal(it.Body, &f) == nil {
			d.route(sch, shards[i], f.Item)
		} else {
			d.readBack(sch, shards[i], it.Table, it.Key)
		}
	}
	return status, out
}

// pkOf names a table's partition key attribute ("" for an unknown table,
// which the request then fails on).
func (d *Sharded) pkOf(table string) string {
	s, err := d.schema(table)
	if err != nil {
		return ""
	}
	return s.pk
}
