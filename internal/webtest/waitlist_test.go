package webtest

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stararena/stararena/internal/auth"
)

// TestWaitlistInBrowser: a one-seat event sells out; a fan on the event
// page joins its waiting list and is told they are next; the buyer
// cancels, the reconciler's schedule offers the returned seat to the fan,
// whose offer email arrives in /dev/mail; the fan follows its link, sees
// the offer on the site, holds the seat with it, pays and gets the ticket;
// the console counts the list.
func TestWaitlistInBrowser(t *testing.T) {
	exe := chromium(t)
	st := startStack(t)
	api := client{t: t, base: st.URL(), st: st}
	b := newBrowser(t, exe, newShots(t))
	base := st.URL()

	ownerToken := api.token("org-wl", auth.RoleOrganizer)
	code, ev := api.call("POST", "/admin/v1/events", ownerToken, map[string]any{
		"name": "Sold Out Night", "venue": "Small Room",
		"startsAt":    time.Now().UTC().Add(48 * time.Hour).Format(time.RFC3339),
		"saleOpensAt": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339),
		"queue":       map[string]any{"mode": "off"},
		"sections":    []map[string]any{{"id": "A", "name": "Stalls", "priceCents": 3000, "currency": "EUR", "rows": []map[string]any{{"id": "1", "seats": 1}}}},
	})
	if code != 201 {
		t.Fatalf("create event: %d %v", code, ev)
	}
	event := ev["eventId"].(string)
	path := "/v1/events/" + event

	// --- Another fan buys (holds) the only seat.
	buyer := api.token("wl-buyer", auth.RoleFan)
	code, adm := api.call("POST", path+"/admission", buyer, map[string]any{})
	if code != 200 {
		t.Fatalf("buyer admission: %d %v", code, adm)
	}
	code, order := api.call("POST", path+"/holds", buyer, map[string]any{"admissionToken": adm["admissionToken"], "seats": []string{"A-1-1"}})
	if code != 201 {
		t.Fatalf("buyer hold: %d %v", code, order)
	}
	waitFor(t, "the seat map to show the sell-out", 10*time.Second, func() bool {
		_, av := api.call("GET", path+"/availability", "", nil)
		secs, _ := av["sections"].([]any)
		return len(secs) == 1 && secs[0].(map[string]any)["available"] == float64(0)
	})

	// --- The fan joins the waiting list on the event page.
	fan := b.person("fan")
	fan.do(20*time.Second, "open the event page", chromedp.Navigate(base+"/?event="+event))
	fan.waitText("#main", "Join the waiting list", 10*time.Second)
	fan.do(10*time.Second, "join the waiting list",
		chromedp.Click(chromedp.CSS("#main button.primary")),
		chromedp.WaitVisible(chromedp.ID("acct-fan")))
	fan.do(10*time.Second, "sign in as wl-fan",
		chromedp.SetValue(chromedp.ID("acct-fan"), "wl-fan"),
		chromedp.Click(chromedp.CSS("form.signin button[type=submit]")))
	fan.waitText("#step", "You are on the waiting list", 10*time.Second)
	fan.waitText(".waitlist-place", "You are next in line.", 5*time.Second)
	fan.shot("waitlist-joined")

	// --- The buyer cancels; the schedule's sweep offers the seat.
	if code, body := api.call("DELETE", "/v1/orders/"+order["orderId"].(string), buyer, nil); code != 200 {
		t.Fatalf("buyer cancels: %d %v", code, body)
	}
	fanAPI := api.token("wl-fan", auth.RoleFan)
	waitFor(t, "the sweep to offer the returned seat", 15*time.Second, func() bool {
		if err := st.ScheduledTick("reconciler")(context.Background()); err != nil {
			t.Fatal(err)
		}
		_, e := api.call("GET", path+"/waitlist", fanAPI, nil)
		return e["status"] == "OFFERED"
	})
	var link string
	waitFor(t, "the offer email", 15*time.Second, func() bool {
		_, raw := api.raw("GET", "/dev/mail?to=wl-fan", "")
		var msgs []struct{ Subject, Text string }
		_ = json.Unmarshal(raw, &msgs)
		for _, m := range msgs {
			if strings.HasPrefix(m.Subject, "Places came back for Sold Out Night") {
				link = regexp.MustCompile(`https?://\S+`).FindString(m.Text)
				return true
			}
		}
		return false
	})
	if !strings.Contains(link, "?event="+event) {
		t.Fatalf("the offer email links to %q", link)
	}

	// --- The fan follows the email's link, sees the offer and buys.
	fan.do(20*time.Second, "follow the email's link", chromedp.Navigate(link))
	fan.waitText("#step", "Places came back for you", 10*time.Second)
	fan.waitText(".offer", "1 place is yours to buy until", 5*time.Second)
	fan.shot("waitlist-offer")
	fan.do(10*time.Second, "choose seats with the offer", chromedp.Click(chromedp.CSS("#main button.primary")))
	fan.waitText("#step", "Choose your seats", 10*time.Second)
	// The returned seat shows as available once availability catches up
	// with its release (within its stated freshness): only then can it
	// be picked.
	fan.do(15*time.Second, "see A-1-1 available", chromedp.WaitVisible(chromedp.CSS(`.seat[data-seat="A-1-1"][data-state="available"]`)))
	fan.do(10*time.Second, "pick A-1-1", chromedp.Click(chromedp.CSS(`.seat[data-seat="A-1-1"]`)))
	fan.waitText(".chosen", "Your choice: A-1-1", 5*time.Second)
	fan.do(10*time.Second, "hold A-1-1", chromedp.Click(chromedp.CSS(".pick button.primary")))
	fan.waitText("a.button.primary", "Pay €30.00", 10*time.Second)
	fan.do(10*time.Second, "open the pay page", chromedp.Click(chromedp.CSS("a.button.primary")))
	pay, closePay := chromedp.NewContext(fan.ctx, chromedp.WithTargetID(findTab(t, fan, "/sandbox/checkout/")))
	payPage := b.attach("pay-page", pay)
	payPage.waitText("button.pay", "Pay 30.00 EUR", 10*time.Second)
	payPage.do(10*time.Second, "pay", chromedp.Click(chromedp.CSS("button.pay")))
	payPage.waitText("[role=status]", "succeeded", 10*time.Second)
	closePay()
	fan.waitText(".state", "Your ticket is ready", 30*time.Second)
	fan.shot("waitlist-ticket")

	// --- The console counts the list.
	owner := b.person("owner")
	owner.do(20*time.Second, "open the console", chromedp.Navigate(base+"/console/?event="+event), chromedp.WaitVisible(chromedp.ID("acct-organizer")))
	owner.do(10*time.Second, "sign in as the owner",
		chromedp.SetValue(chromedp.ID("acct-organizer"), "org-wl"),
		chromedp.Click(chromedp.CSS("#signin button[type=submit]")))
	owner.waitText("#waitlist-summary", "1 bought with one", 10*time.Second)
	owner.shot("console-waitlist")

	if p := b.pageProblems(); len(p) > 0 {
		t.Errorf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}

// waitFor checks cond every 100 ms until it holds, failing after within.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
