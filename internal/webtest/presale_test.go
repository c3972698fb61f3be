package webtest

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stararena/stararena/internal/auth"
)

// TestPresaleInBrowser: an owner creates a one-use presale code on the
// console for an event whose sale opens in an hour, with the presale open
// already, and copies it from the page; a fan on the event page sees the
// presale and its code entry, is told plainly that a wrong code is not
// the event's, gets in with the right one and reaches the seats; the
// console then counts the code's use, and another fan is told the code is
// used up.
func TestPresaleInBrowser(t *testing.T) {
	exe := chromium(t)
	st := startStack(t)
	api := client{t: t, base: st.URL(), st: st}
	b := newBrowser(t, exe, newShots(t))
	base := st.URL()

	ownerToken := api.token("org-pre", auth.RoleOrganizer)
	code, ev := api.call("POST", "/admin/v1/events", ownerToken, map[string]any{
		"name": "Fan Club Night", "venue": "Club Hall",
		"startsAt":    time.Now().UTC().Add(48 * time.Hour).Format(time.RFC3339),
		"saleOpensAt": time.Now().UTC().Add(time.Hour).Format(time.RFC3339),
		"queue":       map[string]any{"mode": "off"},
		"sections":    []map[string]any{{"id": "A", "name": "Stalls", "priceCents": 3000, "currency": "EUR", "rows": []map[string]any{{"id": "1", "seats": 4}}}},
	})
	if code != 201 {
		t.Fatalf("create event: %d %v", code, ev)
	}
	event := ev["eventId"].(string)

	// --- The owner creates one code of one use; the presale opened a minute ago.
	owner := b.person("owner")
	owner.do(20*time.Second, "open the console", chromedp.Navigate(base+"/console/?event="+event), chromedp.WaitVisible(chromedp.ID("acct-organizer")))
	owner.do(10*time.Second, "sign in as the owner",
		chromedp.SetValue(chromedp.ID("acct-organizer"), "org-pre"),
		chromedp.Click(chromedp.CSS("#signin button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("presale-form")))
	owner.waitText("#presale-codes", "No codes yet.", 10*time.Second)
	opens := eval[string](owner, "a minute ago in local time", `(d => new Date(d - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16))(new Date(Date.now() - 60000))`)
	owner.do(10*time.Second, "create a code",
		chromedp.SetValue(chromedp.ID("presale-count"), "1"),
		chromedp.SetValue(chromedp.ID("presale-uses"), "1"),
		chromedp.SetValue(chromedp.ID("presale-opens"), opens),
		chromedp.Click(chromedp.CSS("#presale-form button[type=submit]")))
	owner.waitText("#presale-msg", "1 codes created. Copy them now", 10*time.Second)
	presaleCode := eval[string](owner, "the new code", `document.getElementById('presale-new').value`)
	if len(presaleCode) != 19 {
		t.Fatalf("the console shows the code %q, want XXXX-XXXX-XXXX-XXXX", presaleCode)
	}
	owner.waitText("#presale-codes", "0 of 1", 10*time.Second)
	owner.waitText("#sale-state", "Presale", 10*time.Second)
	owner.shot("console-presale-codes")

	// --- The fan: the presale, a wrong code, then the right one.
	fan := b.person("fan")
	fan.presaleFirstCode(base+"/?event="+event, "ABCD-EFGH-JKMN-PQRS", "fan-pre-1")
	fan.waitText("#main [role=alert]", "not one of this event's", 10*time.Second)
	fan.narrow("presale-wrong-code")
	fan.do(10*time.Second, "type the code in lower case",
		chromedp.SendKeys(chromedp.ID("presale-code"), strings.ToLower(presaleCode)),
		chromedp.Click(chromedp.CSS("form.presale button[type=submit]")))
	fan.waitText("#step", "Choose your seats", 10*time.Second)
	fan.shot("presale-admitted")

	owner.waitText("#presale-codes", "1 of 1", 15*time.Second)

	// Another fan finds the code used up, in words.
	other := b.person("other fan")
	other.presaleFirstCode(base+"/?event="+event, presaleCode, "fan-pre-2")
	other.waitText("#main [role=alert]", "used as many times as it allows", 10*time.Second)

	if p := b.pageProblems(); len(p) > 0 {
		t.Errorf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}

// presaleFirstCode opens the event page in its presale, types code in the
// code entry, and signs in as account when the page asks.
func (p *page) presaleFirstCode(url, code, account string) {
	p.t.Helper()
	p.do(20*time.Second, "open the event page", chromedp.Navigate(url))
	p.waitText(".sale", "Presale for code holders", 10*time.Second)
	p.waitText("#main form.presale", "Presale code", 5*time.Second)
	p.do(10*time.Second, "type a code",
		chromedp.SendKeys(chromedp.ID("presale-code"), code),
		chromedp.Click(chromedp.CSS("form.presale button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("acct-fan")))
	p.do(10*time.Second, "sign in as "+account,
		chromedp.SetValue(chromedp.ID("acct-fan"), account),
		chromedp.Click(chromedp.CSS("form.signin button[type=submit]")))
}
