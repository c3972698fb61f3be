package rush

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stararena/stararena/internal/dynamo"
)

// TestUnitMeterBreaksDownByCallerOperationAndItems: the breakdown the
// report prints names who asked, how, and for which kinds of items, and
// prices each request as the totals do.
func TestUnitMeterBreaksDownByCallerOperationAndItems(t *testing.T) {
	m := &unitMeter{}
	h := m.wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{}`)) }))
	send := func(caller, op, body string) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
		if caller != "" {
			r.Header.Set(dynamo.CallerHeader, caller)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	send("holds", "GetItem", `{"Key":{"pk":{"S":"EVENT#e1"},"sk":{"S":"META"}}}`)
	send("holds", "GetItem", `{"Key":{"pk":{"S":"EVENT#e1"},"sk":{"S":"META"}}}`)
	send("orders", "GetItem", `{"Key":{"pk":{"S":"ORDER#o1"},"sk":{"S":"ORDER"}},"ConsistentRead":true}`)
	send("holds", "TransactWriteItems", `{"TransactItems":[{"Put":{"Item":{"pk":{"S":"IDEM#a#k"},"sk":{"S":"IDEM"}}}},`+
		`{"Update":{"Key":{"pk":{"S":"SEAT#e1#A-1-1"},"sk":{"S":"SEAT"}}}},{"Update":{"Key":{"pk":{"S":"SEAT#e1#A-1-2"},"sk":{"S":"SEAT"}}}}]}`)
	send("", "BatchGetItem", `{"RequestItems":{"t":{"Keys":[{"pk":{"S":"SEAT#e1#A-1-1"},"sk":{"S":"SEAT"}},{"pk":{"S":"GA#e1#F#0"},"sk":{"S":"GA"}}],"ConsistentRead":true}}}`)

	want := map[usageKey]ddbUsage{
		{"holds", "GetItem", "EVENT/META"}:                           {requests: 2, rru: 1},
		{"orders", "GetItem·consistent", "ORDER/ORDER"}:              {requests: 1, rru: 1},
		{"holds", "TransactWriteItems", "IDEM/IDEM+SEAT/SEAT"}:       {requests: 1, wru: 6},
		{"(untagged)", "BatchGetItem·consistent", "GA/GA+SEAT/SEAT"}: {requests: 1, rru: 2},
	}
	got := m.Usage()
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%v: got %+v, want %+v", k, got[k], w)
		}
	}
	if wru, rru := m.Units(); wru != 6 || rru != 4 {
		t.Errorf("totals %v WRU %v RRU, want 6 and 4", wru, rru)
	}

	byCaller, byRequest := usageBetween(map[usageKey]ddbUsage{{"holds", "GetItem", "EVENT/META"}: {requests: 1, rru: 0.5}}, got, 2)
	if len(byRequest) != 4 || len(byCaller) != 3 {
		t.Fatalf("by request %v, by caller %v", byRequest, byCaller)
	}
	if c := byCaller[0]; c.Caller != "holds" || c.Requests != 2 || c.RequestsPerTicket != 1 || c.RRUPerTicket != 0.25 {
		t.Errorf("first caller %+v, want holds with 2 requests since the first snapshot", c)
	}
}
