package webtest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/devstack"
)

// TestQueueAfterTheDrawInBrowser: three fans are placed after the draw;
// the fan who joins next on the page is shown "after 3, at least 3
// ahead" from the queue-status it read before joining, without reading
// its place; when the organizer raises the rate and the serving position
// passes that bound, the page reads the place once, says it is the fan's
// turn, and the fan is admitted to the seats.
func TestQueueAfterTheDrawInBrowser(t *testing.T) {
	exe := chromium(t)
	st := startStack(t)
	api := client{t: t, base: st.URL(), st: st}
	b := newBrowser(t, exe, newShots(t))
	base := st.URL()

	org := api.token("org-queue", auth.RoleOrganizer)
	code, ev := api.call("POST", "/admin/v1/events", org, map[string]any{
		"name": "Late Queue", "venue": "Club",
		"startsAt":    time.Now().UTC().Add(48 * time.Hour).Format(time.RFC3339),
		"saleOpensAt": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339),
		"queue":       map[string]any{"mode": "on", "admitPerMinute": 1},
		"sections":    []map[string]any{{"id": "A", "name": "Stalls", "priceCents": 3000, "currency": "EUR", "rows": []map[string]any{{"id": "1", "seats": 10}}}},
	})
	if code != 201 {
		t.Fatalf("create event: %d %v", code, ev)
	}
	event := ev["eventId"].(string)
	path := "/v1/events/" + event

	// --- The draw has run (nobody joined before the sale); three fans
	// join and are placed at 1, 2 and 3.
	waitFor(t, "the draw", 15*time.Second, func() bool {
		_, s := api.call("GET", path+"/queue-status", "", nil)
		return s["shuffleSeed"] != nil
	})
	var err error
	if api.waf, err = devstack.SolveBotCheck(context.Background(), http.DefaultClient, base); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if code, body := api.call("POST", path+"/queue", api.token(fmt.Sprintf("queue-other-%d", i), auth.RoleFan), nil); code != 202 {
			t.Fatalf("other fan join: %d %v", code, body)
		}
	}
	waitFor(t, "three positions given", 15*time.Second, func() bool {
		_, s := api.call("GET", path+"/queue-status", "", nil)
		return s["positionsGiven"] == float64(3)
	})

	// --- The fan joins on the page: its place is after 3, and the page
	// follows queue-status without reading it.
	fan := b.person("fan")
	fan.do(20*time.Second, "open the event page", chromedp.Navigate(base+"/?event="+event))
	fan.waitText("#main", "Join the queue", 10*time.Second)
	fan.do(10*time.Second, "join the queue", chromedp.Click(chromedp.CSS("#main .panel button.primary")))
	fan.do(10*time.Second, "sign in as queue-fan",
		chromedp.WaitVisible(chromedp.ID("acct-fan")),
		chromedp.SetValue(chromedp.ID("acct-fan"), "queue-fan"),
		chromedp.Click(chromedp.CSS("form.signin button[type=submit]")))
	fan.waitText("#step", "You are in the queue", 15*time.Second)
	fan.waitText(".queue .place", "Your place in the queue: after 3", 10*time.Second)
	ahead := fan.waitText(".queue .ahead", "At least 3 people are ahead of you.", 5*time.Second)
	if !strings.Contains(ahead, "Estimated wait: at least") {
		t.Errorf("queue line %q: want an ETA", ahead)
	}
	fan.shot("queue-after-bound")
	reads := func(what string) int {
		return eval[int](fan, "count "+what+" requests",
			`performance.getEntriesByType('resource').filter(e => e.name.includes('`+what+`')).length`)
	}
	if n := reads("/queue/me"); n != 0 {
		t.Errorf("the page read its place %d times while below its bound, want 0", n)
	}

	// --- The organizer raises the rate: everyone is served, the page
	// reads its place once and it is the fan's turn.
	if code, body := api.call("POST", "/admin/v1/events/"+event+"/sale", org, map[string]any{"action": "open", "admitPerMinute": 1200}); code != 200 {
		t.Fatalf("raise the rate: %d %v", code, body)
	}
	fan.waitText("#step", "It is your turn", 30*time.Second)
	if n := reads("/queue/me"); n != 1 {
		t.Errorf("the page read its place %d times, want once when the bound was passed", n)
	}
	_, me := api.call("GET", path+"/queue/me", api.token("queue-fan", auth.RoleFan), nil)
	if me["position"] != float64(4) {
		t.Errorf("the fan's place %v, want position 4", me)
	}
	fan.do(10*time.Second, "ask for admission", chromedp.Click(chromedp.CSS("#main .panel button.primary")))
	fan.waitText("#step", "Choose your seats", 10*time.Second)
}
