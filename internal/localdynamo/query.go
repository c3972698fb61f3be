package localdynamo

import (
	"encoding/json"
	"net/http"
	"regexp"
)

// queryLimited answers a Query with a Limit as DynamoDB pages it, which
// minidyn does not: DynamoDB reads at most Limit items of the key condition
// (in key order from ExclusiveStartKey), then applies the filter, so a page
// may hold fewer items than Limit, even none, and LastEvaluatedKey is the
// key of the last item read. minidyn applied the Limit after the filter and
// answered keys of other partitions, which made a paginator walk thousands
// of empty pages. Queries with a projection or Select go to minidyn as they
// are: the application makes none with a Limit.
func (s *Server) queryLimited(body []byte) (int, []byte, bool) {
	var in map[string]json.RawMessage
	if json.Unmarshal(body, &in) != nil || in["Limit"] == nil || in["ProjectionExpression"] != nil || in["Select"] != nil {
		return 0, nil, false
	}
	var limit int
	var table, index, keyCond string
	if json.Unmarshal(in["Limit"], &limit) != nil || limit < 1 || json.Unmarshal(in["TableName"], &table) != nil ||
		json.Unmarshal(in["KeyConditionExpression"], &keyCond) != nil {
		return 0, nil, false
	}
	if in["IndexName"] != nil {
		_ = json.Unmarshal(in["IndexName"], &index)
	}
	keys, err := s.keySchema(table, index)
	if err != nil {
		status, out := errBody("ResourceNotFoundException", err.Error())
		return status, out, true
	}

	// The items the key condition reads, in order, from the start key.
	read := clone(in)
	delete(read, "Limit")
	delete(read, "FilterExpression")
	prune(read, keyCond)
	evaluated, status, out := s.queryAll(read, limit+1)
	if status != http.StatusOK {
		return status, out, true
	}
	var lastKey map[string]json.RawMessage
	if len(evaluated) >= limit {
		// DynamoDB stops at Limit and says where, even when nothing
		// follows; the next page is then empty.
		evaluated = evaluated[:limit]
		lastKey = map[string]json.RawMessage{}
		for _, k := range keys {
			if v, ok := evaluated[limit-1][k]; ok {
				lastKey[k] = v
			}
		}
	}
	items := evaluated
	if in["FilterExpression"] != nil {
		// The same read with the filter: of its items, those read on this
		// page are the page's answer.
		filtered := clone(in)
		delete(filtered, "Limit")
		matching, status, out := s.queryAll(filtered, 0)
		if status != http.StatusOK {
			return status, out, true
		}
		onPage := map[string]bool{}
		for _, it := range evaluated {
			onPage[primaryKey(it, keys)] = true
		}
		items = []map[string]json.RawMessage{}
		for _, it := range matching {
			if onPage[primaryKey(it, keys)] {
				items = append(items, it)
			}
		}
	}
	if items == nil {
		items = []map[string]json.RawMessage{}
	}
	resp := map[string]any{"Items": items, "Count": len(items), "ScannedCount": len(evaluated)}
	if lastKey != nil {
		resp["LastEvaluatedKey"] = lastKey
	}
	b, _ := json.Marshal(resp)
	return http.StatusOK, b, true
}

// queryAll runs a query on minidyn to its end, or until it has at least
// enough items (0: all).
func (s *Server) queryAll(in map[string]json.RawMessage, enough int) ([]map[string]json.RawMessage, int, []byte) {
	var items []map[string]json.RawMessage
	for {
		b, _ := json.Marshal(in)
		status, out := s.call("Query", b)
		if status != http.StatusOK {
			return nil, status, out
		}
		var page struct {
			Items            []map[string]json.RawMessage
			LastEvaluatedKey map[string]json.RawMessage
		}
		if err := json.Unmarshal(out, &page); err != nil {
			st, o := errBody("InternalServerError", "unreadable query answer")
			return nil, st, o
		}
		items = append(items, page.Items...)
		if len(page.LastEvaluatedKey) == 0 || (enough > 0 && len(items) >= enough) {
			return items, http.StatusOK, nil
		}
		in["ExclusiveStartKey"], _ = json.Marshal(page.LastEvaluatedKey)
	}
}

func clone(m map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// primaryKey identifies an item by its key attributes, whatever the
// JSON spelling.
func primaryKey(item map[string]json.RawMessage, keys []string) string {
	sub := make(map[string]raw, len(keys))
	for _, k := range keys {
		if v, ok := item[k]; ok {
			sub[k] = v
		}
	}
	return canonical(sub)
}

var placeholder = regexp.MustCompile(`[#:][A-Za-z0-9_]+`)

// prune drops the expression names and values expr does not use, since
// DynamoDB refuses unused ones and the filter that used them is gone.
func prune(in map[string]json.RawMessage, expr string) {
	used := map[string]bool{}
	for _, p := range placeholder.FindAllString(expr, -1) {
		used[p] = true
	}
	for _, field := range []string{"ExpressionAttributeNames", "ExpressionAttributeValues"} {
		var m map[string]json.RawMessage
		if in[field] == nil || json.Unmarshal(in[field], &m) != nil {
			continue
		}
		for k := range m {
			if !used[k] {
				delete(m, k)
			}
		}
		if len(m) == 0 {
			delete(in, field)
			continue
		}
		in[field], _ = json.Marshal(m)
	}
}
