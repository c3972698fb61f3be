package webtest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stararena/stararena/internal/auth"
)

// TestGateInBrowser: an owner signs in on the console and grants a scanner
// for its event; the scanner signs in on the gate page, sees that event,
// types a fan's ticket code and sees ADMITTED, then ALREADY_USED with the
// time and gate of the first scan; a ticket of another event is
// WRONG_EVENT. The page fits a 375 px phone.
func TestGateInBrowser(t *testing.T) {
	exe := chromium(t)
	st := startStack(t)
	api := client{t: t, base: st.URL(), st: st}
	b := newBrowser(t, exe, newShots(t))
	base := st.URL()

	ownerToken := api.token("org-gate", auth.RoleOrganizer)
	event := openEvent(t, api, ownerToken, "Gate Night")
	other := openEvent(t, api, ownerToken, "Other Night")
	fanToken := api.token("fan-gate-1", auth.RoleFan)
	order, code := issuedCode(t, api, event, "A-1-1", fanToken)
	_, otherCode := issuedCode(t, api, other, "A-1-1", api.token("fan-gate-2", auth.RoleFan))
	fan3 := api.token("fan-gate-3", auth.RoleFan)
	order3, code3 := issuedCode(t, api, event, "A-1-2", fan3)
	_, code4 := issuedCode(t, api, event, "A-1-3", api.token("fan-gate-4", auth.RoleFan))

	// --- The owner grants gate-1 the scanner role for the event.
	owner := b.person("owner")
	owner.do(20*time.Second, "open the console", chromedp.Navigate(base+"/console/?event="+event), chromedp.WaitVisible(chromedp.ID("acct-organizer")))
	owner.do(10*time.Second, "sign in as the owner",
		chromedp.SetValue(chromedp.ID("acct-organizer"), "org-gate"),
		chromedp.Click(chromedp.CSS("#signin button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("grant")))
	owner.waitText("#event", "Gate Night", 10*time.Second)
	if v := eval[string](owner, "the chosen event", `document.getElementById('event').value`); v != event {
		t.Fatalf("the console chose %q, want %q", v, event)
	}
	owner.grantScanner("gate-1", event)

	// --- The scanner signs in on the gate page: only its event is offered.
	gate := b.person("scanner")
	gate.do(20*time.Second, "open the gate page", chromedp.Navigate(base+"/gate/"), chromedp.WaitVisible(chromedp.ID("acct-staff")))
	gate.narrow("gate-sign-in")
	gate.do(10*time.Second, "sign in as the scanner",
		chromedp.SetValue(chromedp.ID("acct-staff"), "gate-1"),
		chromedp.SetValue(chromedp.ID("acct-staff-org"), "org-gate"),
		chromedp.Click(chromedp.CSS("#signin button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("code")))
	gate.waitText("#event", "Gate Night", 10*time.Second)
	if opts := eval[[]string](gate, "the offered events", `[...document.querySelectorAll('#event option')].map(o => o.value)`); len(opts) != 1 || opts[0] != event {
		t.Fatalf("the gate offers %v, want only the assigned event %s", opts, event)
	}
	gate.do(10*time.Second, "name the gate", chromedp.SetValue(chromedp.ID("gate-name"), "north-3"))

	scan := gate.scan
	scan(code, "Admitted", "Seat A-1-1")
	if r := eval[string](gate, "the result's colour key", `document.getElementById('result').dataset.result`); r != "ADMITTED" {
		t.Errorf("the result box is marked %q, want ADMITTED", r)
	}
	gate.shot("gate-admitted")

	scan(code, "Already used", "at gate north-3")
	gate.narrow("gate-already-used")

	scan(otherCode, "Wrong event", "another event ("+other+")")

	scan("not-a-ticket", "Invalid", "Not a StarArena ticket")
	gate.waitText("#recent", "Admitted", 5*time.Second)
	// The camera is offered exactly when the browser can read QR codes.
	if ok := eval[bool](gate, "the camera button", `('BarcodeDetector' in window && !!navigator.mediaDevices) ===
		(document.getElementById('camera').getClientRects().length > 0)`); !ok {
		t.Error("the camera button is shown without BarcodeDetector, or hidden with it")
	}

	// The ticket is used on the server, not only on the page.
	if ts := tickets(t, api, fanToken, order); ts[0].Status != "USED" {
		t.Errorf("the admitted ticket is %s on the server, want USED", ts[0].Status)
	}

	// --- Offline: check-in requests fail. The page checks codes itself
	// with the event's keys, admits A-1-2 and queues it; a second scan of
	// it is ALREADY USED on the phone. A-1-3 got in at another gate
	// meanwhile: the phone admits it too, and sync shows the conflict.
	gate.waitText("#kit", "Offline checks ready", 10*time.Second)
	if code, out := api.call("POST", "/v1/checkin", ownerToken, map[string]any{"eventId": event, "code": code4, "nonce": "south-1-a", "gate": "south-1"}); code != 200 || out["result"] != "ADMITTED" {
		t.Fatalf("A-1-3 at gate south-1: %d %v", code, out)
	}
	blockURL(gate, "*://*:*/v1/checkin", true)
	scan(code3, "Admitted offline", "checked on this phone")
	gate.waitText("#sync", "1 offline scan waiting", 5*time.Second)
	gate.shot("gate-admitted-offline")
	scan(code3, "Already used", "checked offline")
	scan(code4, "Admitted offline", "checked on this phone")
	gate.waitText("#sync", "2 offline scans waiting", 5*time.Second)
	scan(tampered(code), "Invalid", "checked offline")
	if ts := tickets(t, api, fan3, order3); ts[0].Status != "VALID" {
		t.Fatalf("A-1-2 is %s on the server while the gate is offline, want VALID", ts[0].Status)
	}

	blockURL(gate, "*://*:*/v1/checkin", false)
	gate.waitText("#sync", "All offline scans sent.", 15*time.Second)
	gate.waitText("#conflicts", "StarArena answered ALREADY USED", 5*time.Second)
	gate.waitText("#conflicts", "the first scan wins: it got in at", 5*time.Second)
	gate.waitText("#conflicts", "at gate south-1", 5*time.Second)
	gate.narrow("gate-synced")
	if ts := tickets(t, api, fan3, order3); ts[0].Status != "USED" {
		t.Errorf("A-1-2 is %s on the server after the sync, want USED", ts[0].Status)
	}
	if n := eval[int](gate, "the queue", `JSON.parse(localStorage.getItem('stararena.gate.queue') || '[]').length`); n != 0 {
		t.Errorf("%d scans still queued after the sync", n)
	}

	if p := b.pageProblems(); len(p) > 0 {
		t.Errorf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}

// scan types code on the gate page, checks it, and waits for word and a
// part of why. A code is a few hundred characters typed key by key, which
// a busy machine takes well over 10 s to deliver.
func (p *page) scan(code, word, why string) {
	p.t.Helper()
	p.checkCode(45*time.Second, "type a code", chromedp.SendKeys(chromedp.ID("code"), code), word, why)
}

// scanNow puts code in the gate page's field at once (a live code lasts
// a minute, longer than typing it key by key may take on a busy machine),
// checks it, and waits for word and a part of why.
func (p *page) scanNow(code, word, why string) {
	p.t.Helper()
	p.checkCode(10*time.Second, "enter a code", chromedp.SetValue(chromedp.ID("code"), code), word, why)
}

func (p *page) checkCode(timeout time.Duration, what string, enter chromedp.Action[chromedp.Void], word, why string) {
	p.t.Helper()
	p.do(timeout, what, enter, chromedp.Click(chromedp.CSS("#scan button[type=submit]")))
	p.waitText("#result .word", word, 10*time.Second)
	p.waitText("#result .why", why, 5*time.Second)
}

// scannerAtGate has the owner grant subject of org the scanner role for
// event through the API (the console's form is TestGateInBrowser's) and
// signs it in on the gate page, which then names eventName.
func scannerAtGate(t *testing.T, b *browser, api client, base, owner, subject, org, event, eventName string) *page {
	t.Helper()
	if code, out := api.call("POST", "/admin/v1/staff", owner, map[string]any{"subject": subject, "role": "scanner", "events": []string{event}}); code != 200 {
		t.Fatalf("grant the scanner: %d %v", code, out)
	}
	gate := b.person("scanner")
	gate.do(20*time.Second, "open the gate page", chromedp.Navigate(base+"/gate/"), chromedp.WaitVisible(chromedp.ID("acct-staff")))
	gate.do(10*time.Second, "sign in as the scanner",
		chromedp.SetValue(chromedp.ID("acct-staff"), subject),
		chromedp.SetValue(chromedp.ID("acct-staff-org"), org),
		chromedp.Click(chromedp.CSS("#signin button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("code")))
	gate.waitText("#event", eventName, 10*time.Second)
	return gate
}

// grantScanner grants sub the scanner role for the console's chosen event
// from its team form, and waits until the team list shows it.
func (p *page) grantScanner(sub, event string) {
	p.t.Helper()
	p.do(10*time.Second, "grant a scanner",
		chromedp.SetValue(chromedp.ID("grant-sub"), sub),
		chromedp.SetValue(chromedp.ID("grant-role"), "scanner"),
		chromedp.Click(chromedp.CSS("#grant button[type=submit]")))
	p.waitText("#team-result", sub+" is now scanner.", 10*time.Second)
	p.waitText("#team", event, 10*time.Second)
}

// openEvent creates an event on sale now, without a queue, with one row of
// four seats (A-1-1 to A-1-4).
func openEvent(t *testing.T, api client, owner, name string) string {
	t.Helper()
	code, ev := api.call("POST", "/admin/v1/events", owner, map[string]any{
		"name": name, "venue": "Gate Hall",
		"startsAt":    time.Now().UTC().Add(48 * time.Hour).Format(time.RFC3339),
		"saleOpensAt": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339),
		"queue":       map[string]any{"mode": "off"},
		"sections":    []map[string]any{{"id": "A", "name": "Stalls", "priceCents": 3000, "currency": "EUR", "rows": []map[string]any{{"id": "1", "seats": 4}}}},
	})
	if code != 201 {
		t.Fatalf("create %s: %d %v", name, code, ev)
	}
	return ev["eventId"].(string)
}

// issuedCode buys seat of event with the fan's token tok through the
// API (admission, hold, sandbox payment) and returns the order and its
// ticket's code once issued.
func issuedCode(t *testing.T, api client, event, seat, tok string) (order, code string) {
	t.Helper()
	status, adm := api.call("POST", "/v1/events/"+event+"/admission", tok, nil)
	if status != 200 {
		t.Fatalf("admission: %d %v", status, adm)
	}
	status, hold := api.call("POST", "/v1/events/"+event+"/holds", tok, map[string]any{"admissionToken": adm["admissionToken"], "seats": []string{seat}})
	if status != 201 {
		t.Fatalf("hold: %d %v", status, hold)
	}
	order = hold["orderId"].(string)
	status, pay := api.call("POST", "/v1/orders/"+order+"/payments", tok, map[string]any{"provider": "sandbox"})
	if status != 201 {
		t.Fatalf("payment: %d %v", status, pay)
	}
	if code, out := api.call("POST", "/sandbox/payments/"+pay["paymentId"].(string)+"/complete", "", map[string]any{"outcome": "succeeded"}); code != 200 {
		t.Fatalf("complete the payment: %d %v", code, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, o := api.call("GET", "/v1/orders/"+order, tok, nil); o["status"] == "ISSUED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s not ISSUED 30 s after payment", order)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ts := tickets(t, api, tok, order)
	if len(ts) != 1 || ts[0].Code == "" {
		t.Fatalf("order %s's tickets: %+v", order, ts)
	}
	return order, ts[0].Code
}

type ticket struct{ Code, Status string }

func tickets(t *testing.T, api client, tok, order string) []ticket {
	t.Helper()
	status, raw := api.raw("GET", "/v1/orders/"+order+"/tickets", tok)
	var ts []ticket
	if err := json.Unmarshal(raw, &ts); status != 200 || err != nil {
		t.Fatalf("tickets of %s: %d %s %v", order, status, raw, err)
	}
	return ts
}

// tampered is code with one character of its signature changed. Not the
// last ones: a base64 signature's final character carries padding bits a
// decoder ignores, so changing it may leave the signature as it was.
func tampered(code string) string {
	i := len(code) - 5
	c := byte('A')
	if code[i] == c {
		c = 'B'
	}
	return code[:i] + string(c) + code[i+1:]
}
