package webtest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/devstack"
)

// arenaSections is a 20,000-seat arena like the demo's: five sections of 40
// rows of 100 seats and a standing floor. Section A has the organizer's
// shape; the others are placed by the generated layout.
func arenaSections() []map[string]any {
	var secs []map[string]any
	for i, id := range []string{"A", "B", "C", "D", "E"} {
		rows := make([]map[string]any, 40)
		for r := range rows {
			rows[r] = map[string]any{"id": fmt.Sprint(r + 1), "seats": 100}
		}
		s := map[string]any{"id": id, "name": "Section " + id, "priceCents": 14900 - 2000*i, "currency": "EUR", "rows": rows}
		if id == "A" {
			s["shape"] = map[string]any{"arc": map[string]any{"inner": 40, "outer": 72, "from": -20, "to": 20}}
		}
		secs = append(secs, s)
	}
	return append(secs, map[string]any{"id": "GA", "name": "Floor (standing)", "priceCents": 6900, "currency": "EUR", "capacity": 2000})
}

// TestVenueMapInBrowser: a fan of a 20,000-seat arena sees the venue map,
// taps a section to zoom into it, picks a seat by tap, one by keyboard and
// one in the list view of the same seats, is held to what the account has
// left of its ticket limit, keeps the Hold button and the stage in sight on
// a phone, holds, and reads the seats in words under My tickets; a missing
// event offers no "Try again"; the organizer's console shows no stray
// "null" and asks before creating its untouched example. It logs
// the map's render times and the bytes the seat step transferred (the
// README quotes them); they are figures, not pass/fail conditions.
func TestVenueMapInBrowser(t *testing.T) {
	exe := chromium(t)
	// Creating 20,000 seat items takes a while on a busy machine: give the
	// admin function's deadline room. Holds last their real 15 minutes, so
	// the fan's first hold still counts against the limit.
	st := startStack(t, func(o *devstack.Options) { o.DeadlineScale, o.TimeScale = 10, 1 })
	api := client{t: t, base: st.URL(), st: st}
	b := newBrowser(t, exe, newShots(t))
	base := st.URL()

	code, ev := api.call("POST", "/admin/v1/events", api.token("org-map", auth.RoleOrganizer), map[string]any{
		"name": "Arena Night", "venue": "Harbour Arena",
		"startsAt":    time.Now().UTC().Add(72 * time.Hour).Format(time.RFC3339),
		"saleOpensAt": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339),
		"queue":       map[string]any{"mode": "off"},
		"sections":    arenaSections(),
	})
	if code != 201 {
		t.Fatalf("create the arena: %d %v", code, ev)
	}
	event := ev["eventId"].(string)
	if shape, _ := ev["sections"].([]any)[1].(map[string]any)["shape"].(map[string]any); shape["arc"] == nil {
		t.Fatalf("section B was shown without a generated arc: %v", ev["sections"].([]any)[1])
	}

	// The fan already holds 2 of the 4 tickets an account may buy.
	fanTok := api.token("fan-map", auth.RoleFan)
	if code, adm := api.call("POST", "/v1/events/"+event+"/admission", fanTok, map[string]any{}); code != 200 {
		t.Fatalf("admission: %d %v", code, adm)
	} else if code, o := api.call("POST", "/v1/events/"+event+"/holds", fanTok, map[string]any{"admissionToken": adm["admissionToken"], "seats": []string{"E-40-1", "E-40-2"}}); code != 201 {
		t.Fatalf("first hold: %d %v", code, o)
	}

	fan := b.person("fan")
	fan.do(20*time.Second, "open the event", chromedp.Navigate(base+"/?event="+event))
	fan.waitText(".sale", "no queue", 40*time.Second)
	fan.do(10*time.Second, "choose seats", chromedp.Click(chromedp.CSS("#main .panel button.primary")))
	fan.do(10*time.Second, "sign in",
		chromedp.WaitVisible(chromedp.ID("acct-fan")),
		chromedp.SetValue(chromedp.ID("acct-fan"), "fan-map"),
		chromedp.Click(chromedp.CSS("form.signin button[type=submit]")))
	fan.waitText("#step", "Choose your seats", 40*time.Second)
	fan.do(10*time.Second, "the venue map", chromedp.WaitVisible(chromedp.CSS(`svg.venue path.sec[data-section="GA"]`)))
	if n := eval[int](fan, "sections drawn", `document.querySelectorAll('svg.venue path.sec').length`); n != 6 {
		t.Fatalf("%d sections drawn, want 6", n)
	}
	fan.shot("venue-map")

	// The page again, timed: the admission is kept, so it goes straight to
	// the seats; the map marks when it is drawn.
	fan.do(20*time.Second, "reload the event", chromedp.Navigate(base+"/?event="+event))
	firstRender := run(fan, 30*time.Second, "time the first render", chromedp.Evaluate[float64](`new Promise(ok => {
		const tick = () => {
			const m = performance.getEntriesByName('stararena:venue-map');
			m.length ? ok(m[0].startTime) : setTimeout(tick, 20);
		};
		tick();
	})`, chromedp.EvalAwaitPromise))
	fan.waitText(`button.section[data-section="B"]`, "4,000 of 4,000 left", 10*time.Second)

	// Tap section B on the map: its 4,000 seats are drawn in rows.
	zoom := run(fan, 30*time.Second, "tap section B", chromedp.Evaluate[float64](`new Promise(ok => {
		const p = document.querySelector('svg.venue path.sec[data-section="B"]');
		const r = p.getBoundingClientRect();
		const t0 = performance.now();
		p.dispatchEvent(new MouseEvent('click', { bubbles: true, clientX: r.x + r.width / 2, clientY: r.y + r.height / 2 }));
		const tick = () => document.querySelectorAll('svg.venue circle.seat').length === 4000
			? requestAnimationFrame(() => ok(performance.now() - t0)) : requestAnimationFrame(tick);
		tick();
	})`, chromedp.EvalAwaitPromise))
	fan.waitText(".pick h3", "Section B", 5*time.Second)
	bytes := eval[map[string]float64](fan, "bytes transferred", `(() => {
		const rs = performance.getEntriesByType('resource');
		const sum = f => rs.filter(f).reduce((n, r) => n + (r.transferSize || r.encodedBodySize), 0);
		return { all: sum(() => true), availability: sum(r => r.name.includes('/availability')), map: sum(r => /venuemap\.(js|css)/.test(r.name)), requests: rs.length };
	})()`)
	t.Logf("20,000-seat arena: venue map drawn %.0f ms after the navigation started; section B's 4,000 seats drawn %.0f ms after the tap", firstRender, zoom)
	t.Logf("the page transferred %.0f bytes in %.0f requests (uncompressed locally): availability %.0f, the map's script and style %.0f", bytes["all"], bytes["requests"], bytes["availability"], bytes["map"])

	// The stage is in view or pointed at from the edge.
	if ok := eval[bool](fan, "the stage in sight", `(() => {
		const svg = document.querySelector('svg.venue').getBoundingClientRect();
		const st = document.querySelector('svg.venue .stage-mark').getBoundingClientRect();
		const inView = st.right > svg.left && st.left < svg.right && st.bottom > svg.top && st.top < svg.bottom;
		const ptr = document.querySelector('.stage-pointer');
		return inView || !ptr.hidden && ptr.getClientRects().length > 0;
	})()`); !ok {
		t.Error("zoomed into section B, the stage is neither in view nor pointed at")
	}

	// What is left for this account: 2 of 4.
	fan.waitText(".allowance", "can buy 2 more tickets", 5*time.Second)
	if n := eval[int](fan, "quantities offered", `document.querySelectorAll('#qty option').length`); n != 2 {
		t.Errorf("the quantity list offers %d choices, want 2 (the 4-ticket limit less the 2 held)", n)
	}

	// A seat by tap, the next row's by keyboard.
	fan.do(10*time.Second, "tap B-1-50", chromedp.Click(chromedp.CSS(`circle.seat[data-seat="B-1-50"]`)))
	fan.waitText(".chosen", "Your choice: B-1-50", 5*time.Second)
	fan.do(10*time.Second, "arrow down and Space", chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(" "))
	fan.waitText(".chosen", "Your choice: B-1-50, B-2-50", 5*time.Second)
	if s := eval[string](fan, "the focused seat", `document.activeElement.dataset.seat + ' ' + document.activeElement.dataset.state`); s != "B-2-50 picked" {
		t.Errorf("focus is on %q, want B-2-50 picked", s)
	}

	// Wheel and the zoom buttons narrow the view.
	w0 := eval[float64](fan, "view width", `document.querySelector('svg.venue').viewBox.baseVal.width`)
	eval[bool](fan, "wheel in", `(() => {
		const svg = document.querySelector('svg.venue'), r = svg.getBoundingClientRect();
		return svg.dispatchEvent(new WheelEvent('wheel', { deltaY: -300, clientX: r.x + r.width / 2, clientY: r.y + r.height / 2, bubbles: true, cancelable: true }));
	})()`)
	w1 := eval[float64](fan, "view width", `document.querySelector('svg.venue').viewBox.baseVal.width`)
	fan.do(10*time.Second, "zoom in with +", chromedp.Click(chromedp.CSS(`.map-tools button[aria-label="Zoom in"]`)))
	w2 := eval[float64](fan, "view width", `document.querySelector('svg.venue').viewBox.baseVal.width`)
	if !(w1 < w0 && w2 < w1) {
		t.Errorf("view widths %.1f → %.1f (wheel) → %.1f (+): want each narrower", w0, w1, w2)
	}
	fan.shot("section-zoomed")

	// The list view shows the same choice; a third seat is over the limit.
	fan.do(10*time.Second, "show the list", chromedp.Click(chromedp.CSS(`button[aria-controls="seat-list"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button.seat[data-seat="B-3-50"]`)))
	if s := eval[string](fan, "the list's pressed seats", `[...document.querySelectorAll('button.seat[aria-pressed=true]')].map(b => b.dataset.seat).join(',')`); s != "B-1-50,B-2-50" {
		t.Errorf("the list shows %q chosen, want B-1-50,B-2-50", s)
	}
	fan.do(10*time.Second, "pick B-3-50 in the list", chromedp.Focus(chromedp.CSS(`button.seat[data-seat="B-3-50"]`)), chromedp.KeyEvent(kb.Enter))
	fan.waitText(".chosen", "You can choose up to 2 seats", 5*time.Second)
	fan.do(10*time.Second, "drop B-2-50 in the list", chromedp.Click(chromedp.CSS(`button.seat[data-seat="B-2-50"]`)))
	fan.do(10*time.Second, "take B-1-49 by keyboard in the list", chromedp.Focus(chromedp.CSS(`button.seat[data-seat="B-1-50"]`)),
		chromedp.KeyEvent(kb.ArrowLeft), chromedp.KeyEvent(" "))
	fan.waitText(".chosen", "Your choice: B-1-49, B-1-50", 5*time.Second)
	fan.shot("seat-list")
	fan.do(10*time.Second, "back to the map", chromedp.Click(chromedp.CSS(`button[aria-controls="seat-list"]`)),
		chromedp.WaitVisible(chromedp.CSS(`circle.seat[data-seat="B-1-49"]`)))
	if s := eval[string](fan, "the map's states", `['B-1-49','B-1-50','B-2-50'].map(id => document.querySelector('circle.seat[data-seat="' + id + '"]').dataset.state).join(',')`); s != "picked,picked,available" {
		t.Errorf("the map shows %q for B-1-49, B-1-50, B-2-50", s)
	}

	// On a phone the Hold button stays on screen while the map is in view.
	fan.narrow("section-zoomed")
	fan.do(10*time.Second, "375 px viewport again", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	if ok := run(fan, 10*time.Second, "the Hold button in sight", chromedp.Evaluate[bool](`new Promise(ok => {
		document.querySelector('svg.venue').scrollIntoView({ block: 'start' });
		requestAnimationFrame(() => requestAnimationFrame(() => {
			const r = document.querySelector('.hold-bar button.primary').getBoundingClientRect();
			ok(r.top >= 0 && r.bottom <= innerHeight);
		}));
	})`, chromedp.EvalAwaitPromise)); !ok {
		t.Error("on a phone with the map at the top of the screen, the Hold button is off screen")
	}

	fan.do(10*time.Second, "hold the two seats", chromedp.Click(chromedp.CSS(".hold-bar button.primary")))
	fan.waitText(".places", "Section B · Row 1 · Seat 49", 15*time.Second)
	fan.do(10*time.Second, "open My tickets", chromedp.Click(chromedp.CSS(`a[href="/?mine"]`)))
	mine := fan.waitText("#main .cards", "Arena Night", 10*time.Second)
	for _, want := range []string{"Section B · Row 1 · Seat 50", "Section E · Row 40 · Seat 1"} {
		if !strings.Contains(mine, want) {
			t.Errorf("My tickets %q lacks %q", mine, want)
		}
	}
	if strings.Contains(mine, "B-1-50") {
		t.Errorf("My tickets shows a raw seat id: %q", mine)
	}

	// An event that does not exist: no "Try again".
	fan.do(20*time.Second, "open a missing event", chromedp.Navigate(base+"/?event=no-such-event"))
	fan.waitText("h1", "Not found", 10*time.Second)
	if n := eval[int](fan, "buttons on the 404", `[...document.querySelectorAll('#main button')].filter(b => b.textContent === 'Try again').length`); n != 0 {
		t.Error("the not-found page offers Try again")
	}

	// The organizer's console: an event without a queue shows no stray
	// "null" under the sale buttons, and Create on the untouched example
	// form asks first (declined here: nothing is created).
	org := b.console(base+"/console/?event="+event, "org-map")
	org.waitText("#sale-state", "On sale", 30*time.Second)
	if txt := eval[string](org, "the sale panel", `document.getElementById('manage').innerText`); strings.Contains(txt, "null") {
		t.Errorf("the sale panel of an event without a queue shows %q", txt)
	}
	eval[bool](org, "answer no to a confirmation", `(window.confirm = m => (window.asked = m, false), true)`)
	org.do(10*time.Second, "press Create on the untouched form", chromedp.Click(chromedp.CSS("#create button[type=submit]")))
	if asked := eval[string](org, "the question", `window.asked || ''`); !strings.Contains(asked, "Create the example event") {
		t.Errorf("Create on the untouched form asked %q, want a confirmation", asked)
	}
	if txt := eval[string](org, "the create result", `document.getElementById('create-result').textContent`); txt != "" {
		t.Errorf("declining the confirmation still answered %q", txt)
	}

	if p := b.pageProblems(); len(p) > 0 {
		t.Errorf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}

// console opens the organizer console at url in a browser context of its
// own and signs in there as the organizer account.
func (b *browser) console(url, account string) *page {
	b.t.Helper()
	p := b.person(account)
	p.do(20*time.Second, "open the console", chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("acct-organizer")))
	p.do(10*time.Second, "sign in as "+account, chromedp.SetValue(chromedp.ID("acct-organizer"), account),
		chromedp.Click(chromedp.CSS("#signin button[type=submit]")), chromedp.WaitVisible(chromedp.ID("create")))
	return p
}
