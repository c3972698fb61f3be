package webtest

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/devstack"
)

// TestCancelAndPostponeInBrowser: an organizer postpones an event in the
// console, after a confirmation that counts its paid order; its buyer is
// emailed the new date, sees it on the order and asks for a refund. Then the organizer cancels another event with two paid orders,
// typing its name to confirm; the console follows the refunds to "Refunded
// 2 of 2" as the reconciler's schedule runs the saga, the fan page shows
// the cancelled banner with the refund instead of the seats, and the
// buyer's mail holds the cancellation notice.
func TestCancelAndPostponeInBrowser(t *testing.T) {
	exe := chromium(t)
	// The saga may end as soon as its first pass has refunded everything:
	// the test drives the passes itself.
	st := startStack(t, func(o *devstack.Options) { o.CancelSettle = time.Millisecond })
	api := client{t: t, base: st.URL(), st: st}
	b := newBrowser(t, exe, newShots(t))
	base := st.URL()

	owner := api.token("org-cx", auth.RoleOrganizer)
	newEvent := func(name string) string {
		code, ev := api.call("POST", "/admin/v1/events", owner, map[string]any{
			"name": name, "venue": "Small Room",
			"startsAt":    time.Now().UTC().Add(72 * time.Hour).Format(time.RFC3339),
			"saleOpensAt": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339),
			"queue":       map[string]any{"mode": "off"},
			"sections":    []map[string]any{{"id": "A", "name": "Stalls", "priceCents": 2500, "currency": "EUR", "rows": []map[string]any{{"id": "1", "seats": 4}}}},
		})
		if code != 201 {
			t.Fatalf("create %s: %d %v", name, code, ev)
		}
		return ev["eventId"].(string)
	}
	// buy takes a seat for the fan through the API and pays for it; it
	// answers the order once ISSUED.
	buy := func(event, fan, seat string) string {
		tok := api.token(fan, auth.RoleFan)
		code, adm := api.call("POST", "/v1/events/"+event+"/admission", tok, map[string]any{})
		if code != 200 {
			t.Fatalf("%s admission: %d %v", fan, code, adm)
		}
		code, o := api.call("POST", "/v1/events/"+event+"/holds", tok, map[string]any{"admissionToken": adm["admissionToken"], "seats": []string{seat}})
		if code != 201 {
			t.Fatalf("%s hold: %d %v", fan, code, o)
		}
		id := o["orderId"].(string)
		code, pay := api.call("POST", "/v1/orders/"+id+"/payments", tok, map[string]any{"provider": "sandbox"})
		if code != 201 {
			t.Fatalf("%s payment: %d %v", fan, code, pay)
		}
		if code, out := api.call("POST", "/sandbox/payments/"+pay["paymentId"].(string)+"/complete", "", map[string]any{"outcome": "succeeded", "webhook": "deliver"}); code != 200 {
			t.Fatalf("%s pays: %d %v", fan, code, out)
		}
		waitFor(t, fan+"'s order to be issued", 20*time.Second, func() bool {
			_, cur := api.call("GET", "/v1/orders/"+id, tok, nil)
			return cur["status"] == "ISSUED"
		})
		return id
	}
	mailTo := func(account, subject string) string {
		var text string
		waitFor(t, account+"'s mail "+subject, 15*time.Second, func() bool {
			_, raw := api.raw("GET", "/dev/mail?to="+account, "")
			var msgs []struct{ Subject, Text string }
			_ = json.Unmarshal(raw, &msgs)
			for _, m := range msgs {
				if strings.HasPrefix(m.Subject, subject) {
					text = m.Text
					return true
				}
			}
			return false
		})
		return text
	}

	moved, gone := newEvent("Moved Night"), newEvent("Gone Night")
	movedOrder := buy(moved, "cx-fan", "A-1-1")
	goneOrder := buy(gone, "cx-fan", "A-1-1")
	buy(gone, "cx-other", "A-1-2")

	// --- The organizer postpones the first event, confirming first.
	org := b.person("organizer")
	org.do(20*time.Second, "open the console", chromedp.Navigate(base+"/console/?event="+moved), chromedp.WaitVisible(chromedp.ID("acct-organizer")))
	org.do(10*time.Second, "sign in as the owner",
		chromedp.SetValue(chromedp.ID("acct-organizer"), "org-cx"),
		chromedp.Click(chromedp.CSS("#signin button[type=submit]")))
	org.waitText("#postpone-form", "Postpone the event", 15*time.Second)
	org.do(10*time.Second, "ask to postpone", chromedp.Click(chromedp.CSS("#postpone-form button[type=submit]")))
	org.waitText("#postpone-consequences", "the 1 paid order keeps valid tickets", 10*time.Second)
	org.shot("console-postpone-confirm")
	org.do(10*time.Second, "confirm the postponement", chromedp.Click(chromedp.ID("postpone-confirm")))
	org.waitText("#event-status", "Postponed", 10*time.Second)
	code, ev := api.call("GET", "/v1/events/"+moved, "", nil)
	if code != 200 || ev["postponed"] == nil {
		t.Fatalf("the event after the console's postponement: %d %v", code, ev)
	}

	// The reconciler's schedule queues the buyer's notice of the new date.
	if err := st.ScheduledTick("reconciler")(context.Background()); err != nil {
		t.Fatal(err)
	}
	if text := mailTo("cx-fan", "New date for Moved Night"); !strings.Contains(text, "Your tickets stay valid") {
		t.Errorf("the postponement notice says:\n%s", text)
	}

	// --- Its buyer sees the new date on the order and asks for a refund.
	fan := b.person("fan")
	fan.do(20*time.Second, "open the order", chromedp.Navigate(base+"/?order="+movedOrder), chromedp.WaitVisible(chromedp.ID("acct-fan")))
	fan.do(10*time.Second, "sign in as cx-fan",
		chromedp.SetValue(chromedp.ID("acct-fan"), "cx-fan"),
		chromedp.Click(chromedp.CSS("form.signin button[type=submit]")))
	fan.waitText(".postponed", "Tickets already bought stay valid for the new date.", 15*time.Second)
	fan.waitText("[data-refund-window=open]", "you may ask for a full refund until", 5*time.Second)
	fan.shot("order-postponed")
	fan.do(10*time.Second, "ask for a refund", chromedp.Click(chromedp.ID("ask-refund")))
	fan.do(10*time.Second, "confirm the refund", chromedp.Click(chromedp.ID("confirm-refund")))
	fan.waitText(".state", "This order was refunded.", 15*time.Second)
	fan.waitText(".refund", "Refunded", 5*time.Second)

	// --- Box office never gets the buttons: the console does not open an
	// event's management for them, and the routes refuse them.
	if code, g := api.call("POST", "/admin/v1/staff", owner, map[string]any{"subject": "cx-box", "role": "box-office"}); code != 200 && code != 201 {
		t.Fatalf("grant box office: %d %v", code, g)
	}
	boxTok, exp, err := st.Issuer.IssueFor("cx-box", auth.RoleStaff, "org-cx")
	if err != nil {
		t.Fatal(err)
	}
	session, _ := json.Marshal(map[string]any{"sub": "cx-box", "name": "cx-box", "token": boxTok, "expiresAt": exp.UTC().Format(time.RFC3339)})
	box := b.person("box-office")
	box.do(20*time.Second, "open the console", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.ID("acct-organizer")))
	eval[bool](box, "keep the box office's staff session", `localStorage.setItem('stararena.session.organizer', `+strconv.Quote(string(session))+`), true`)
	box.do(20*time.Second, "open the event as box office", chromedp.Navigate(base+"/console/?event="+gone))
	box.waitText("#manage", "Choose an event to run its sale", 15*time.Second)
	if n := eval[int](box, "the lifecycle buttons", `document.querySelectorAll('#cancel-form, #postpone-form, #bot-form, #ticket-codes-form').length`); n != 0 {
		t.Errorf("box office sees %d of the cancel, postpone, bot-check and ticket-code forms", n)
	}
	if code, _ := api.call("POST", "/admin/v1/events/"+gone+"/cancel", boxTok, map[string]any{"reason": "no"}); code != 403 {
		t.Errorf("box office cancelling: %d, want 403", code)
	}

	// --- The organizer cancels the second event, typing its name.
	org.do(20*time.Second, "open the second event", chromedp.Navigate(base+"/console/?event="+gone))
	org.waitText("#cancel-form", "Cancel the event", 15*time.Second)
	org.do(10*time.Second, "ask to cancel",
		chromedp.SendKeys(chromedp.ID("cancel-reason"), "The artist is ill."),
		chromedp.Click(chromedp.CSS("#cancel-form button[type=submit]")))
	org.waitText("#cancel-consequences", "refund 2 paid orders in full", 10*time.Second)
	if on := eval[bool](org, "the confirm button before the name", `document.getElementById('cancel-confirm').disabled`); !on {
		t.Fatal("the cancel button works before the event's name is typed")
	}
	org.do(10*time.Second, "type the name and confirm",
		chromedp.SendKeys(chromedp.ID("cancel-confirm-name"), "Gone Night"),
		chromedp.Click(chromedp.ID("cancel-confirm")))
	org.waitText("#event-status", "Cancelled", 10*time.Second)
	org.waitText("#cancel-refunded", "Refunds start with the next pass", 10*time.Second)
	org.waitText("#sale-state", "Cancelled", 5*time.Second)
	if n := eval[int](org, "the sale buttons", `[...document.querySelectorAll('[aria-label=Sale] button')].filter(b => !b.disabled).length`); n != 0 {
		t.Errorf("%d sale buttons still work on the cancelled event", n)
	}
	// The progress is the event's, not the page's: a reload shows it again.
	org.do(20*time.Second, "reload the console", chromedp.Reload())
	org.waitText("#cancel-refunded", "Refunds start with the next pass", 15*time.Second)

	// The reconciler's schedule runs the saga; the console follows it.
	tok := api.token("org-cx", auth.RoleOrganizer)
	waitFor(t, "the saga to finish", 30*time.Second, func() bool {
		if err := st.ScheduledTick("reconciler")(context.Background()); err != nil {
			t.Fatal(err)
		}
		_, p := api.call("GET", "/admin/v1/events/"+gone+"/cancellation", tok, nil)
		return p["state"] == "DONE"
	})
	org.waitText("#cancel-refunded", "Refunded 2 of 2", 10*time.Second)
	org.waitText("#cancel-progress", "Buyers emailed2 of 2", 5*time.Second)
	org.shot("console-cancelled")

	// --- The fan page shows the banner and the refund, not the seats.
	fan.do(20*time.Second, "open the cancelled event", chromedp.Navigate(base+"/?event="+gone))
	fan.waitText(".cancelled", "This event is cancelled. The artist is ill.", 15*time.Second)
	fan.waitText(".refund-line", "was refunded on", 5*time.Second)
	if n := eval[int](fan, "seat pickers", `document.querySelectorAll('.pick, .seat').length`); n != 0 {
		t.Errorf("the cancelled event shows %d seat controls", n)
	}
	fan.shot("event-cancelled")
	_, o := api.call("GET", "/v1/orders/"+goneOrder, api.token("cx-fan", auth.RoleFan), nil)
	if o["status"] != "REFUNDED" {
		t.Errorf("the cancelled event's order is %v", o["status"])
	}
	if text := mailTo("cx-fan", "Cancelled: Gone Night"); !strings.Contains(text, "The artist is ill.") {
		t.Errorf("the cancellation notice says:\n%s", text)
	}

	if p := b.pageProblems(); len(p) > 0 {
		t.Errorf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}
