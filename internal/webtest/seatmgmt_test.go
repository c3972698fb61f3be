package webtest

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stararena/stararena/internal/auth"
)

// TestSeatManagementInBrowser: an owner holds two seats back on the
// console by their ids, marks a wheelchair space and its companion seat by
// a range, gives a guest a comp and sees the counts per section and the
// comp apart in the report; a fan choosing seats sees the
// held-back seats as not on sale, turns on the "wheelchair accessible"
// filter and is shown only the wheelchair space and the companion seat,
// named so in the list of seats.
func TestSeatManagementInBrowser(t *testing.T) {
	exe := chromium(t)
	st := startStack(t)
	api := client{t: t, base: st.URL(), st: st}
	b := newBrowser(t, exe, newShots(t))
	base := st.URL()

	ownerToken := api.token("org-seats", auth.RoleOrganizer)
	code, ev := api.call("POST", "/admin/v1/events", ownerToken, map[string]any{
		"name": "Seated Night", "venue": "Access Hall",
		"startsAt":    time.Now().UTC().Add(72 * time.Hour).Format(time.RFC3339),
		"saleOpensAt": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339),
		"queue":       map[string]any{"mode": "off"},
		"sections": []map[string]any{{"id": "A", "name": "Stalls", "priceCents": 4500, "currency": "EUR",
			"rows": []map[string]any{{"id": "1", "seats": 4}, {"id": "2", "seats": 4}}}},
	})
	if code != 201 {
		t.Fatalf("create event: %d %v", code, ev)
	}
	event := ev["eventId"].(string)

	// --- The owner holds back A-1-1 and A-1-2, then marks row 2's first
	// two seats by range.
	owner := b.person("owner")
	owner.do(20*time.Second, "open the console", chromedp.Navigate(base+"/console/?event="+event), chromedp.WaitVisible(chromedp.ID("acct-organizer")))
	owner.do(10*time.Second, "sign in as the owner",
		chromedp.SetValue(chromedp.ID("acct-organizer"), "org-seats"),
		chromedp.Click(chromedp.CSS("#signin button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("seat-management")))
	owner.do(10*time.Second, "hold back two seats",
		chromedp.SendKeys(chromedp.ID("seats-ids"), "A-1-1 A-1-2"),
		chromedp.Click(chromedp.CSS(`#seat-management [data-action="hold-back"]`)))
	owner.waitText("#seats-msg", "Hold back: 2 changed, 0 already so, 0 refused.", 10*time.Second)
	owner.waitText(`#seats-summary [data-section="A"] [data-count="held-back"]`, "2", 10*time.Second)
	// The range's fields are filled as a person would leave them; the
	// button reads them when clicked.
	eval[bool](owner, "fill in the range row 2, seat 1", `(() => {
		const set = (id, v) => { const e = document.getElementById(id); e.value = v; e.dispatchEvent(new Event('input', { bubbles: true })); e.dispatchEvent(new Event('change', { bubbles: true })); };
		set('seats-ids', ''); set('seats-section', 'A'); set('seats-from-row', '2'); set('seats-to-row', '2'); set('seats-from-seat', '1'); set('seats-to-seat', '1');
		return true;
	})()`)
	owner.do(10*time.Second, "mark A-2-1 a wheelchair space by range", chromedp.Click(chromedp.CSS(`#seat-management [data-mark="wheelchair"]`)))
	owner.waitText("#seats-msg", "Mark wheelchair: done.", 10*time.Second)
	eval[bool](owner, "clear the range", `(() => { document.getElementById('seats-section').value = ''; return true; })()`)
	owner.do(10*time.Second, "mark A-2-2 a companion seat",
		chromedp.SendKeys(chromedp.ID("seats-ids"), "A-2-2"),
		chromedp.Click(chromedp.CSS(`#seat-management [data-mark="companion"]`)))
	owner.waitText("#seats-msg", "Mark companion: done.", 10*time.Second)
	owner.waitText(`#seats-summary [data-section="A"] [data-count="wheelchair"]`, "1", 10*time.Second)
	// A comp for a guest: sold at no charge, counted apart in the report.
	eval[bool](owner, "clear the seat ids", `(() => { document.getElementById('seats-ids').value = ''; return true; })()`)
	owner.do(10*time.Second, "issue a comp for A-1-3",
		chromedp.SendKeys(chromedp.ID("seats-ids"), "A-1-3"),
		chromedp.SendKeys(chromedp.ID("comp-to"), "guest@example.com"),
		chromedp.Click(chromedp.ID("comp-issue")))
	owner.waitText("#seats-msg", "1 comp tickets issued to guest@example.com: A-1-3.", 15*time.Second)
	owner.waitText(`#seats-summary [data-section="A"] [data-count="comps"]`, "1", 10*time.Second)
	owner.waitText(`[data-tile="Comps"]`, "1 free", 10*time.Second)
	owner.shot("console-seat-management")

	// --- The fan: held-back seats are not on sale; the filter shows the
	// wheelchair space and the companion seat only.
	fan := b.person("fan")
	fan.do(20*time.Second, "open the event", chromedp.Navigate(base+"/?event="+event))
	fan.do(10*time.Second, "choose seats", chromedp.Click(chromedp.CSS("#main .panel button.primary")))
	fan.do(10*time.Second, "sign in as a fan",
		chromedp.SetValue(chromedp.ID("acct-fan"), "fan-seats"),
		chromedp.Click(chromedp.CSS("form.signin button[type=submit]")))
	fan.waitText("#step", "Choose your seats", 10*time.Second)
	fan.do(15*time.Second, "the held-back seats show as not on sale",
		chromedp.WaitVisible(chromedp.CSS(`.venue .seat[data-seat="A-1-1"][data-state="unavailable"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.venue .seat[data-seat="A-1-2"][data-state="unavailable"]`)))
	fan.do(15*time.Second, "the comp's seat shows as sold", chromedp.WaitVisible(chromedp.CSS(`.venue .seat[data-seat="A-1-3"][data-state="sold"]`)))
	// An event without fees has no pricing note: nothing stands in its place.
	if text := eval[string](fan, "the page's text", `document.getElementById('main').innerText`); strings.Contains(text, "\nnull\n") {
		t.Errorf("the seat view shows the word null:\n%s", text)
	}
	fan.do(10*time.Second, "turn on the wheelchair filter", chromedp.Click(chromedp.ID("accessible-only")))
	visible := `[...document.querySelectorAll(%q)].filter(e => e.getClientRects().length > 0).map(e => e.dataset.seat).sort().join(' ')`
	if got := eval[string](fan, "seats drawn on the map", strings.Replace(visible, "%q", `'.venue .seat'`, 1)); got != "A-2-1 A-2-2" {
		t.Errorf("with the filter the map shows %q, want the wheelchair space and its companion seat", got)
	}
	fan.shot("fan-wheelchair-filter")
	fan.do(10*time.Second, "show the seats as a list", chromedp.Click(chromedp.CSS(`button[aria-controls="seat-list"]`)), chromedp.WaitVisible(chromedp.ID("seat-list")))
	if got := eval[string](fan, "seats in the list", strings.Replace(visible, "%q", `'#seat-list .seat'`, 1)); got != "A-2-1 A-2-2" {
		t.Errorf("with the filter the list shows %q, want A-2-1 A-2-2", got)
	}
	for seat, want := range map[string]string{"A-2-1": "wheelchair space", "A-2-2": "companion seat", "A-1-1": "not on sale"} {
		label := eval[string](fan, "the name of "+seat, `document.querySelector('#seat-list .seat[data-seat="`+seat+`"]').getAttribute('aria-label')`)
		if !strings.Contains(label, want) {
			t.Errorf("%s is named %q in the list, want it to say %q", seat, label, want)
		}
	}
	fan.narrow("fan-wheelchair-filter-list")

	if p := b.pageProblems(); len(p) > 0 {
		t.Errorf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}
