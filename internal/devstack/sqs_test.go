package devstack_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/draw"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/waitroom"
)

// fan is one signed-in account.
type fan struct {
	sub   string
	token string
}

type stackClient struct {
	t    *testing.T
	st   *devstack.Stack
	http *http.Client
}

func (c *stackClient) do(method, path, token string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.st.URL()+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (c *stackClient) json(method, path, token string, body any, want int) map[string]any {
	c.t.Helper()
	status, b := c.do(method, path, token, body)
	if status != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, status, b, want)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		c.t.Fatalf("%s %s: not JSON: %s", method, path, b)
	}
	return out
}

// fans signs n accounts in, in parallel (RSA signing dominates).
func fans(t *testing.T, st *devstack.Stack, prefix string, n int) []fan {
	t.Helper()
	out := make([]fan, n)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				sub := fmt.Sprintf("%s-%05d", prefix, i)
				tok, _, err := st.Issuer.Issue(sub, auth.RoleFan)
				if err != nil {
					t.Error(err)
					return
				}
				out[i] = fan{sub, tok}
			}
		}()
	}
	wg.Wait()
	return out
}

// joinAll sends every fan's join with 32 concurrent clients.
func (c *stackClient) joinAll(eventID string, fs []fan) {
	c.t.Helper()
	work := make(chan fan)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				if status, b := c.do("POST", "/v1/events/"+eventID+"/queue", f.token, nil); status != http.StatusAccepted {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("%s: %d %s", f.sub, status, b))
					mu.Unlock()
				}
			}
		}()
	}
	for _, f := range fs {
		work <- f
	}
	close(work)
	wg.Wait()
	if len(bad) > 0 {
		c.t.Fatalf("%d joins refused, first: %s", len(bad), bad[0])
	}
}

// TestWaitingRoomThroughTheLocalStack drives 10,000 joins through the
// emulated API Gateway → SQS → assigner plumbing and checks the waiting
// room's promises on the stored places.
func TestWaitingRoomThroughTheLocalStack(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 joins")
	}
	ctx := context.Background()
	// Real time: the join queue's 1 s batching window is what fills batches
	// of 100 during a burst, as in AWS.
	// The stack's clock moves the inlet's rate window and the fans' read
	// cache forward on demand; the queues keep real time.
	emf, clk := &testenv.Buffer{}, &clock.Offset{}
	st := startStack(t, devstack.Options{TimeScale: 1, Clock: clk, ReconcileEvery: -1, InletEvery: -1, MetricsOut: emf})
	st.DynamoOps().Watch("UpdateItem", dynamo.PrefixQueueCounter)
	c := &stackClient{t: t, st: st, http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	org, _, err := st.Issuer.Issue("organizer-1", auth.RoleOrganizer)
	if err != nil {
		t.Fatal(err)
	}
	ev := c.json("POST", "/admin/v1/events", org, map[string]any{
		"name": "Waiting room", "venue": "Arena", "startsAt": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339),
		"saleOpensAt": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339), "maxTicketsPerAccount": 4,
		"queue":    map[string]any{"mode": "on", "admitPerMinute": 18000},
		"sections": []any{map[string]any{"id": "GA", "name": "Standing", "priceCents": 4000, "currency": "EUR", "capacity": 40}},
	}, http.StatusCreated)
	id := ev["eventId"].(string)
	status := c.json("GET", "/v1/events/"+id+"/queue-status", "", nil, http.StatusOK)
	seedHash, _ := status["shuffleSeedHash"].(string)
	if len(seedHash) != 64 || status["shuffleSeed"] != nil {
		t.Fatalf("before the sale queue-status must publish the seed hash only: %v", status)
	}

	began := time.Now()
	lap := func(what string) { t.Logf("%6.1fs %s", time.Since(began).Seconds(), what) }
	early := fans(t, st, "early", 6000)
	late := fans(t, st, "late", 4000)
	lap("signed in")
	c.joinAll(id, early)
	lap("early joins sent")
	waitIdle(t, st)
	lap("early joins assigned")

	// The organizer opens the sale; the first tick after the draw's grace
	// draws, and the fans see it once their cached view has expired.
	c.json("POST", "/admin/v1/events/"+id+"/sale", org, map[string]any{"action": "open"}, http.StatusOK)
	clk.Advance(waitroom.DefaultDrawGrace)
	if _, err := st.App.Waitroom.TickAll(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(waitroom.DefaultReadCacheTTL)
	status = c.json("GET", "/v1/events/"+id+"/queue-status", "", nil, http.StatusOK)
	if status["shuffleSeed"] == nil {
		t.Fatalf("no draw after the first tick past the grace: %v", status)
	}
	lap("drawn")
	seed, err := hex.DecodeString(status["shuffleSeed"].(string))
	if err != nil || draw.SeedHash(seed) != seedHash {
		t.Fatalf("revealed seed does not hash to the published %s", seedHash)
	}

	c.joinAll(id, late)
	// One account joining 20 times (refreshes, tabs): one place.
	repeat := late[17]
	for range 19 {
		if s, b := c.do("POST", "/v1/events/"+id+"/queue", repeat.token, nil); s != http.StatusAccepted {
			t.Fatalf("re-join: %d %s", s, b)
		}
	}
	lap("late joins sent")
	waitIdle(t, st)
	lap("late joins assigned")
	if _, err := st.App.Waitroom.TickAll(ctx); err != nil {
		t.Fatal(err)
	}

	// Positions are a permutation of 1..10,000.
	all := append(append([]fan{}, early...), late...)
	subs := make([]string, len(all))
	for i, f := range all {
		subs[i] = f.sub
	}
	places, err := st.App.Stores.Waitroom.Places(ctx, id, subs)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[int64]string, len(all))
	for _, f := range all {
		p, ok := places[f.sub]
		if !ok || p.Position < 1 || p.Position > int64(len(all)) {
			t.Fatalf("%s has no position in 1..%d: %+v", f.sub, len(all), p)
		}
		if other, dup := seen[p.Position]; dup {
			t.Fatalf("%s and %s share position %d", other, f.sub, p.Position)
		}
		seen[p.Position] = f.sub
	}
	if len(seen) != len(all) {
		t.Fatalf("%d positions for %d fans", len(seen), len(all))
	}

	lap("places read")
	// Pre-sale joins are in the order the revealed seed gives, and the
	// published draw verifies.
	var doc draw.Published
	s, b := c.do("GET", "/v1/events/"+id+"/queue/draw", "", nil)
	if s != http.StatusOK || json.Unmarshal(b, &doc) != nil {
		t.Fatalf("draw document: %d %.300s", s, b)
	}
	if err := draw.Verify(doc); err != nil || len(doc.Entrants) != len(early) || doc.SeedHash != seedHash {
		t.Fatalf("published draw: %v, %d entrants", err, len(doc.Entrants))
	}
	ids := make([]string, len(early))
	for i, f := range early {
		ids[i] = draw.EntrantID(id, f.sub)
	}
	order := draw.Order(seed, ids)
	for i, f := range early {
		if pos := places[f.sub].Position; order[pos-1] != ids[i] {
			t.Fatalf("%s is at %d, not where the seed puts it", f.sub, pos)
		}
	}
	// Later joins come after every pre-sale join.
	for _, f := range late {
		if places[f.sub].Position <= int64(len(early)) {
			t.Fatalf("late joiner %s is at %d, ahead of the draw", f.sub, places[f.sub].Position)
		}
	}
	lap("draw verified")
	// One counter write per assigner batch: at most ceil(joins / 100) for
	// the joins after the draw (those before it take their positions from
	// the draw's single write).
	counterWrites := st.DynamoOps().Watched("UpdateItem", dynamo.PrefixQueueCounter)
	qs := st.Queue("joins").Stats()
	lateJoins := int64(len(late) + 19)
	if bound := (lateJoins + 99) / 100; counterWrites > bound || counterWrites > int64(qs.Invocations) || counterWrites == 0 {
		t.Fatalf("%d counter writes for %d joins after the draw (bound %d) in %d assigner batches", counterWrites, lateJoins, bound, qs.Invocations)
	}
	t.Logf("%d joins in %d assigner batches, %d counter writes (%.0f joins per write)", qs.Sent, qs.Invocations,
		counterWrites, float64(len(late))/float64(max(counterWrites, 1)))

	// The inlet admits up to what 40 places can use; only served positions
	// get an admission token.
	for range 20 {
		clk.Advance(50 * time.Millisecond)
		if _, err := st.App.Waitroom.TickAll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(waitroom.DefaultReadCacheTTL)
	status = c.json("GET", "/v1/events/"+id+"/queue-status", "", nil, http.StatusOK)
	serving := int64(status["servingPosition"].(float64))
	if serving < 1 || serving > 40 {
		t.Fatalf("serving position %d: the inlet must admit some fans and never more than the 40 places left", serving)
	}
	first, next := seen[1], seen[serving+1]
	tokenOf := map[string]string{}
	for _, f := range all {
		tokenOf[f.sub] = f.token
	}
	adm := c.json("POST", "/v1/events/"+id+"/admission", tokenOf[first], map[string]any{}, http.StatusOK)
	if adm["admissionToken"] == "" {
		t.Fatal("served fan got no admission token")
	}
	refused := c.json("POST", "/v1/events/"+id+"/admission", tokenOf[next], map[string]any{}, http.StatusConflict)
	if e := refused["error"].(map[string]any); e["code"] != "QUEUE_REQUIRED" {
		t.Fatalf("unserved fan: %v", refused)
	}
	me := c.json("GET", "/v1/events/"+id+"/queue/me", tokenOf[next], nil, http.StatusOK)
	if me["state"] != "WAITING" || int64(me["position"].(float64)) != serving+1 {
		t.Fatalf("unserved fan's place: %v", me)
	}

	// The metrics the dashboard shows add up to what happened.
	placed, servingSeen, admissions := 0.0, 0.0, 0.0
	for _, line := range strings.Split(strings.TrimSpace(emf.String()), "\n") {
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("metric line is not JSON: %q", line)
		}
		if _, ok := doc["_aws"]; !ok {
			t.Fatalf("metric line without EMF metadata: %q", line)
		}
		if v, ok := doc["QueueJoinsPlaced"].(float64); ok {
			placed += v
		}
		if v, ok := doc["QueueServing"].(float64); ok {
			servingSeen = v
		}
		if v, ok := doc["Admissions"].(float64); ok {
			admissions += v
		}
	}
	if placed != float64(len(all)) || servingSeen != float64(serving) || admissions != 1 {
		t.Fatalf("metrics: %v places, serving %v, %v admissions; want %d, %d, 1", placed, servingSeen, admissions, len(all), serving)
	}
}

func waitIdle(t *testing.T, st *devstack.Stack) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := st.Queue("joins").WaitIdle(ctx); err != nil {
		t.Fatalf("join queue not drained: %v", err)
	}
	if dl := st.Queue("joins").DeadLetters(); len(dl) > 0 {
		t.Fatalf("%d joins dead-lettered, first: %s", len(dl), dl[0].Body)
	}
}
