package webtest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/devstack"
)

const venueCSV = `section,name,price,currency,rows,seats
A,Balcony,45.00,EUR,1-2,10
GA,Floor,30.00,EUR,,50
`

// TestSiteInBrowser: an organizer creates a queued event in the console
// and opens its sale; a fan goes from the event page through the waiting
// room and the seat map (losing a seat to another fan on the way) to a
// hold, pays on the sandbox pay page and sees ticket QR codes; the report
// shows the sale. Then an event without a queue skips the queue, and a
// standing place is held and released.
func TestSiteInBrowser(t *testing.T) {
	exe := chromium(t)
	started := time.Now()
	// Joins meet the WAF's bot check, as in AWS (ADR 22).
	st := startStack(t, func(o *devstack.Options) { o.BotCheck = true })
	api := client{t: t, base: st.URL(), st: st}
	sh := newShots(t)
	b := newBrowser(t, exe, sh)
	org := b.person("organizer")
	fan := b.person("fan")
	base := st.URL()
	t.Logf("stack and browser up in %s", time.Since(started).Round(time.Millisecond))

	// --- The organizer signs in and creates an event from a CSV venue map.
	name := fmt.Sprintf("Night Owls %d", time.Now().UnixNano()%100000)
	org.do(20*time.Second, "open the console", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.ID("acct-organizer")))
	org.do(10*time.Second, "sign in as an organizer",
		chromedp.SetValue(chromedp.ID("acct-organizer"), "org-e2e"),
		chromedp.Click(chromedp.CSS("#signin button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("create")))
	csv := filepath.Join(t.TempDir(), "venue.csv")
	if err := os.WriteFile(csv, []byte(venueCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	// The sale opens in 40 s: the fan joins the waiting room before it.
	// A datetime-local input drops ":00" seconds from its value, which
	// chromedp then reads as the value not taking: avoid a whole minute.
	at := time.Now().UTC().Add(40 * time.Second)
	if at.Second() == 0 {
		at = at.Add(time.Second)
	}
	opens := at.Format("2006-01-02T15:04:05")
	org.do(10*time.Second, "fill in the event",
		chromedp.SetValue(chromedp.ID("name"), name),
		chromedp.SetValue(chromedp.ID("venue"), "Test Hall"),
		chromedp.SetValue(chromedp.ID("saleOpensAt"), opens),
		chromedp.SetValue(chromedp.ID("holdMinutes"), "5"),
		chromedp.SetValue(chromedp.ID("admitPerMinute"), "300"),
		chromedp.SetUploadFiles(chromedp.CSS("#upload"), []string{csv}))
	org.waitText("#venue-summary", "2 sections · 70 places (20 seated, 50 standing)", 5*time.Second)
	org.do(10*time.Second, "create the event", chromedp.Click(chromedp.CSS("#create button[type=submit]")))
	org.waitText("#create-result", "Created “"+name+"”", 10*time.Second)
	org.waitText("#sale-state", "Scheduled", 10*time.Second)
	fanURL := eval[string](org, "read the fan page link", `document.querySelector('#create-result a').href`)
	u, err := url.Parse(fanURL)
	if err != nil {
		t.Fatal(err)
	}
	eventID := u.Query().Get("event")
	if eventID == "" {
		t.Fatalf("fan link %q names no event", fanURL)
	}
	org.shot("console-event-created")

	// A whole event can be loaded from JSON too (not submitted here).
	evJSON := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(evJSON, []byte(`{"name":"From JSON","venue":"Loft","queue":{"mode":"off"},
		"sections":[{"id":"S","name":"Stalls","priceCents":2500,"currency":"EUR","rows":[{"id":"1","seats":8},{"id":"2","seats":8}],
		"shape":{"arc":{"inner":10,"outer":12,"from":-30,"to":30}}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	org.do(10*time.Second, "load an event from JSON", chromedp.SetUploadFiles(chromedp.CSS("#upload"), []string{evJSON}))
	org.waitText("#venue-summary", "1 section · 16 places (16 seated, 0 standing)", 5*time.Second)
	// The section's shape on the venue map becomes the CSV's seventh column.
	if v := eval[string](org, "read the form", `(id => [id('name').value, id('venueMap').value.split('\n')[1], id('queueOff').checked].join('|'))(x => document.getElementById(x))`); v != "From JSON|S,Stalls,25.00,EUR,1-2,8,arc 10 12 -30 30|true" {
		t.Errorf("the JSON upload filled the form with %q", v)
	}

	// --- The fan opens the event page: facts, prices, a countdown.
	fan.do(20*time.Second, "open the event page", chromedp.Navigate(fanURL))
	fan.waitText("h1", name, 10*time.Second)
	fan.waitText(".facts", "Test Hall", 5*time.Second)
	fan.waitText(".sale", "Sale opens in", 5*time.Second)
	table := fan.waitText("#main table", "Balcony", 5*time.Second)
	for _, want := range []string{"€45.00", "Floor", "€30.00", "20", "50"} {
		if !strings.Contains(table, want) {
			t.Errorf("sections table %q lacks %q", table, want)
		}
	}
	fan.shot("event-page")

	// Other fans join too, through the API: the WAF challenges a join
	// without a solved bot check, and lets one with a token through.
	req, _ := http.NewRequest("POST", base+"/v1/events/"+eventID+"/queue", nil)
	req.Header.Set("Authorization", "Bearer "+api.token("other-unchecked", auth.RoleFan))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusAccepted || res.Header.Get(devstack.WafActionHeader) != "challenge" {
		t.Fatalf("join without a bot check: %d %s %q, want the WAF's challenge", res.StatusCode, devstack.WafActionHeader, res.Header.Get(devstack.WafActionHeader))
	}
	if api.waf, err = devstack.SolveBotCheck(context.Background(), http.DefaultClient, base); err != nil {
		t.Fatal(err)
	}
	others := make([]string, 5)
	for i := range others {
		others[i] = api.token(fmt.Sprintf("other-%d", i), auth.RoleFan)
		if code, body := api.call("POST", "/v1/events/"+eventID+"/queue", others[i], nil); code != 202 {
			t.Fatalf("other fan join: %d %v", code, body)
		}
	}

	// --- Bots are winning: the organizer raises the event's bot level to
	// CAPTCHA during the sale (ADR 22), and the fan's join meets it.
	if code, body := api.call("PUT", "/admin/v1/events/"+eventID+"/bot-level", api.token("org-e2e", auth.RoleOrganizer),
		map[string]any{"level": "captcha"}); code != 200 || body["level"] != "captcha" {
		t.Fatalf("raise the bot level: %d %v", code, body)
	}

	// --- Join the queue: sign in first, solve the CAPTCHA, then the
	// waiting room.
	fan.do(10*time.Second, "join the queue", chromedp.Click(chromedp.CSS("#main .panel button.primary")))
	fan.waitText("#step", "Sign in", 5*time.Second)
	fan.do(10*time.Second, "sign in as a fan",
		chromedp.SetValue(chromedp.ID("acct-fan"), "fan-e2e"),
		chromedp.Click(chromedp.CSS("form.signin button[type=submit]")))
	fan.waitText("#step", "One more check", 10*time.Second)
	fan.waitText("#main", "Type these digits", 30*time.Second)
	digits := eval[string](fan, "read the CAPTCHA's digits", `document.querySelector('.waf-captcha-digits').textContent`)
	fan.shot("join-captcha")
	fan.do(10*time.Second, "solve the CAPTCHA",
		chromedp.SendKeys(chromedp.ID("waf-captcha-answer"), strings.ReplaceAll(digits, " ", "")),
		chromedp.Click(chromedp.CSS("form.waf-captcha button[type=submit]")))
	fan.waitText("#step", "You are in the waiting room", 10*time.Second)
	fan.waitText(".queue .place", "Your place is drawn when the sale opens", 5*time.Second)
	fan.waitText("#who", "fan-e2e", 5*time.Second)
	fan.shot("queue-waiting-room")
	fan.narrow("queue-waiting-room")

	// A second tab of the same fan finds the same place, without joining.
	second, closeSecond := b.tab(fan, "fan-second-tab")
	second.do(20*time.Second, "open the event in a second tab", chromedp.Navigate(fanURL))
	second.waitText("#step", "You are in the waiting room", 10*time.Second)
	closeSecond()

	// --- The organizer opens the sale early, letting in 3 fans a minute.
	org.do(10*time.Second, "open the sale at 3 fans a minute",
		chromedp.SetValue(chromedp.ID("rate"), "3"),
		chromedp.Click(chromedp.CSS(".controls button.primary")))
	org.waitText("#sale-state", "On sale", 10*time.Second)
	org.waitText(`[data-tile="Admission rate"] dd`, "3/min", 10*time.Second)

	// --- The draw gives the fan a place; at 3 a minute nobody is served yet.
	fan.waitText("#step", "You are in the queue", 20*time.Second)
	fan.waitText(".queue .place", "Your place in the queue: ", 5*time.Second)
	// It found its place in its part of the published draw, without
	// reading it.
	if reads := eval[[]int](fan, "count the place and draw reads", `['/queue/me', '/queue/draw/'].map(p =>
		performance.getEntriesByType('resource').filter(e => e.name.includes(p)).length)`); len(reads) != 2 || reads[0] != 0 || reads[1] != 1 {
		t.Errorf("place reads and draw-part reads %v, want [0 1]", reads)
	}
	ahead := fan.waitText(".queue .ahead", "Estimated wait: ", 5*time.Second)
	if !strings.Contains(ahead, "ahead of you") && !strings.Contains(ahead, "You are next") || !strings.Contains(ahead, "minute") {
		t.Errorf("queue line %q: want people ahead and an ETA in minutes", ahead)
	}
	fan.waitText(".sale", "On sale now", 5*time.Second)
	fan.shot("queue-position")
	fan.narrow("queue-position")

	// --- The organizer raises the admission rate; the report follows.
	org.do(10*time.Second, "raise the admission rate",
		chromedp.SetValue(chromedp.ID("rate"), "1200"),
		chromedp.Click(chromedp.CSS("form.row button[type=submit]")))
	org.waitText("#manage p[role=status]", "Admission rate set to 1,200 per minute", 10*time.Second)
	org.waitText(`[data-tile="In queue"] dd`, "6 joined", 10*time.Second)
	org.shot("console-sale-open")

	// --- The inlet serves the queue: it is the fan's turn.
	fan.waitText("#step", "It is your turn", 30*time.Second)
	fan.shot("your-turn")
	fan.do(10*time.Second, "ask for admission", chromedp.Click(chromedp.CSS("#main .panel button.primary")))
	fan.waitText("#step", "Choose your seats", 10*time.Second)
	fan.waitText(".admission", "Your admission is valid for", 5*time.Second)
	fan.do(10*time.Second, "open the balcony", chromedp.Click(chromedp.CSS(`button.section[data-section="A"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.seat[data-seat="A-1-3"]`)))
	fan.waitText(`button.section[data-section="A"]`, "20 of 20 left", 5*time.Second)
	fan.shot("seat-map")
	fan.narrow("seat-map")

	// The fan picks two seats; meanwhile another fan holds one of them. The
	// map's refresh is held back meanwhile (as on a slow network), so the
	// page learns it from the refused hold.
	blockAvailability(fan, true)
	if blocked := run(fan, 10*time.Second, "check the block", chromedp.Evaluate[bool](
		`fetch('/v1/events/`+eventID+`/availability', {cache: 'no-store'}).then(() => false, () => true)`, chromedp.EvalAwaitPromise)); !blocked {
		t.Fatal("availability requests still go through")
	}
	// A-1-4 with the keyboard: arrow right from A-1-3, then Space.
	fan.do(10*time.Second, "pick A-1-3 and A-1-4",
		chromedp.Click(chromedp.CSS(`.seat[data-seat="A-1-3"]`)), chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(" "))
	fan.waitText(".chosen", "Your choice: A-1-3, A-1-4 · €90.00", 5*time.Second)
	other := others[0]
	waitAdmittable(t, api, eventID, other)
	code, adm := api.call("POST", "/v1/events/"+eventID+"/admission", other, map[string]any{})
	if code != 200 {
		t.Fatalf("other fan admission: %d %v", code, adm)
	}
	if code, body := api.call("POST", "/v1/events/"+eventID+"/holds", other,
		map[string]any{"admissionToken": adm["admissionToken"], "seats": []string{"A-1-3"}}); code != 201 {
		t.Fatalf("other fan hold: %d %v", code, body)
	}
	fan.do(10*time.Second, "hold the two seats", chromedp.Click(chromedp.CSS(".pick button.primary")))
	lost := fan.waitText(".msg [role=alert]", "just taken", 10*time.Second)
	if !strings.Contains(lost, "A-1-3") || !strings.Contains(lost, "Choose other seats") {
		t.Errorf("seat-taken message %q does not name A-1-3 and the next step", lost)
	}
	if s := eval[string](fan, "state of A-1-3", `document.querySelector('.seat[data-seat="A-1-3"]').dataset.state`); s != "held" {
		t.Errorf("A-1-3 shows as %q after the conflict, want held", s)
	}
	fan.waitText(".chosen", "A-1-3 was just taken", 5*time.Second)
	fan.shot("seat-taken")
	blockAvailability(fan, false)
	fan.do(10*time.Second, "pick A-1-5 instead", chromedp.Click(chromedp.CSS(`.seat[data-seat="A-1-5"]`)))
	fan.waitText(".chosen", "Your choice: A-1-4, A-1-5", 5*time.Second)
	fan.do(10*time.Second, "hold A-1-4 and A-1-5", chromedp.Click(chromedp.CSS(".pick button.primary")))

	// --- The hold: seats, total, a countdown and the pay link.
	fan.waitText("#order-h", "Your order", 10*time.Second)
	fan.waitText(".places", "Balcony · Row 1 · Seat 5", 5*time.Second)
	fan.waitText(".held", "Your seats are held for 0", 5*time.Second)
	fan.waitText("a.button.primary", "Pay €90.00", 10*time.Second)
	fan.shot("hold")

	// --- Pay in the sandbox's pay page, which opens in a new tab.
	fan.do(10*time.Second, "open the pay page", chromedp.Click(chromedp.CSS("a.button.primary")))
	fan.waitText(".state", "Waiting for the payment provider to confirm", 5*time.Second)
	fan.shot("confirming-payment")
	payTab := findTab(t, fan, "/sandbox/checkout/")
	pay, closePay := chromedp.NewContext(fan.ctx, chromedp.WithTargetID(payTab))
	payPage := b.attach("pay-page", pay)
	payPage.waitText("main", "Sandbox checkout", 10*time.Second)
	payPage.waitText("button.pay", "Pay 90.00 EUR", 5*time.Second)
	payPage.shot("sandbox-pay-page")
	payPage.do(10*time.Second, "pay", chromedp.Click(chromedp.CSS("button.pay")))
	payPage.waitText("[role=status]", "succeeded", 10*time.Second)
	closePay()

	// --- Back on the site: tickets with QR codes.
	fan.waitText(".state", "tickets are ready", 30*time.Second)
	n := eval[int](fan, "count decoded QR images",
		`[...document.querySelectorAll('.ticket img')].filter(i => i.src.startsWith('data:image/png;base64,') && i.complete && i.naturalWidth > 0).length`)
	if n != 2 {
		t.Errorf("%d QR codes on screen, want 2", n)
	}
	seats := eval[string](fan, "ticket seats", `[...document.querySelectorAll('.ticket-seat')].map(e => e.textContent).join(' | ')`)
	if seats != "Balcony · Row 1 · Seat 4 | Balcony · Row 1 · Seat 5" {
		t.Errorf("tickets show %q", seats)
	}
	fan.shot("tickets")
	// The event goes to the fan's calendar as an iCalendar file.
	ics := eval[string](fan, "read the calendar file", `(h => decodeURIComponent(h.slice(h.indexOf(',') + 1)))(document.querySelector('a[download$=".ics"]').href)`)
	for _, want := range []string{"BEGIN:VEVENT", "SUMMARY:" + name, "LOCATION:Test Hall", "DTSTART:", "UID:" + eventID + "@stararena"} {
		if !strings.Contains(ics, want) {
			t.Errorf("the calendar file lacks %q:\n%s", want, ics)
		}
	}

	// --- The organizer's report moves: sold, orders, reconciliation, chart.
	org.waitText(`[data-tile="Sold"] dd`, "2", 15*time.Second)
	org.waitText(`[data-tile="Revenue"] dd`, "€90.00", 5*time.Second)
	org.waitText("#orders-by-state", "ISSUED", 10*time.Second)
	org.do(10*time.Second, "reconcile now", chromedp.Click(chromedp.CSS("#manage .cols button")))
	org.waitText("#manage .cols p", "checked", 10*time.Second)
	if d := eval[string](org, "chart", `document.querySelector('.chart path.sold')?.getAttribute('d') || ''`); strings.Count(d, "L") < 1 {
		t.Errorf("the sales chart has no line: %q", d)
	}
	org.shot("console-report")
	org.narrow("console-report")

	// --- The owner grants a scanner for the event; the audit log shows the
	// event's creation, the sale's changes and the grant.
	org.grantScanner("gate-1", eventID)
	org.waitText("#audit", "staff.grant: gate-1 is scanner", 10*time.Second)
	org.waitText("#audit", "event.sale: open", 10*time.Second)
	org.waitText("#audit", "event.create: "+name, 10*time.Second)
	org.shot("console-team")

	// --- The fan's orders and the list of events.
	fan.do(10*time.Second, "open My tickets", chromedp.Click(chromedp.CSS(`a[href="/?mine"]`)))
	fan.waitText("#main .cards", "Tickets ready", 10*time.Second)
	fan.do(10*time.Second, "open the list of events", chromedp.Click(chromedp.CSS("a.brand")))
	fan.waitText("#main .cards", name, 10*time.Second)

	// --- An event without a queue: straight to the seats.
	orgToken := api.token("org-e2e", auth.RoleOrganizer)
	code, ev := api.call("POST", "/admin/v1/events", orgToken, map[string]any{
		"name": "Open Doors", "venue": "Side Room",
		"startsAt":    time.Now().UTC().Add(72 * time.Hour).Format(time.RFC3339),
		"saleOpensAt": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339),
		"queue":       map[string]any{"mode": "off"},
		"sections":    []map[string]any{{"id": "GA", "name": "Standing", "priceCents": 2000, "currency": "EUR", "capacity": 10}},
	})
	if code != 201 {
		t.Fatalf("create the event without a queue: %d %v", code, ev)
	}
	fan.do(20*time.Second, "open the event without a queue", chromedp.Navigate(base+"/?event="+ev["eventId"].(string)))
	fan.waitText(".sale", "no queue", 10*time.Second)
	fan.do(10*time.Second, "choose seats", chromedp.Click(chromedp.CSS("#main .panel button.primary")))
	fan.waitText("#step", "Choose your seats", 10*time.Second)
	fan.waitText(".pick button.primary", "Hold 1 place", 5*time.Second)
	fan.shot("no-queue-seats")
	fan.do(10*time.Second, "hold a standing place", chromedp.Click(chromedp.CSS(".pick button.primary")))
	fan.waitText(".places", "1 × Standing", 10*time.Second)
	fan.waitText("a.button.primary", "Pay €20.00", 10*time.Second)
	fan.do(10*time.Second, "release it", chromedp.Click(chromedp.CSS("button.secondary")))
	fan.waitText(".state", "You released these places. Nothing was charged.", 10*time.Second)

	if p := b.pageProblems(); len(p) > 0 {
		t.Errorf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
	t.Logf("site journey done in %s", time.Since(started).Round(time.Millisecond))
}

// waitAdmittable waits until another fan's place is served.
func waitAdmittable(t *testing.T, api client, eventID, token string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		_, me := api.call("GET", "/v1/events/"+eventID+"/queue/me", token, nil)
		if me["state"] == "ADMITTABLE" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other fan was not served in time: %v", me)
		}
		<-tick.C
	}
}

// findTab waits for the tab whose URL contains part.
func findTab(t *testing.T, p *page, part string) target.ID {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		infos, err := chromedp.Targets(ctx)
		if err != nil {
			p.fail("list tabs", err)
		}
		for _, info := range infos {
			if info.Type == "page" && strings.Contains(info.URL, part) {
				return info.TargetID
			}
		}
		select {
		case <-ctx.Done():
			p.fail("find the tab "+part, ctx.Err())
		case <-tick.C:
		}
	}
}

// blockAvailability makes the page's availability requests fail (or lets
// them through again).
func blockAvailability(p *page, block bool) { blockURL(p, "*://*:*/v1/events/*/availability", block) }

// blockURL makes the page's requests matching pattern fail as on a dropped
// network (or, with block false, lets every request through again).
func blockURL(p *page, pattern string, block bool) {
	p.t.Helper()
	var patterns []*network.BlockPattern
	if block {
		patterns = []*network.BlockPattern{{URLPattern: pattern, Block: true}}
	}
	p.do(5*time.Second, "block "+pattern, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: patterns})
		return err
	}))
}
