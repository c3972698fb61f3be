package webtest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	goqr "github.com/piglig/go-qr"

	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/devstack"
)

// TestRotatingCodesInBrowser (ADR 28): a fan's ticket page shows live QR
// codes with a countdown. A code read from the page's QR image is
// ADMITTED at the gate within its window, online and offline (the gate
// derives the ticket's secret from its kit). A code read from the page and
// shown after its window (the platform's clock moved two minutes on) is
// refused as EXPIRED, "a screenshot or old code", and the ticket stays
// valid. The printable view shows the static code while the organizer
// allows it; once the organizer accepts rotating codes only (in the
// console), the page says the ticket cannot be printed and the gate
// refuses the static code.
func TestRotatingCodesInBrowser(t *testing.T) {
	exe := chromium(t)
	clk := &clock.Offset{}
	st := startStack(t, func(o *devstack.Options) { o.Clock = clk })
	api := client{t: t, base: st.URL(), st: st}
	b := newBrowser(t, exe, newShots(t))
	base := st.URL()

	ownerToken := api.token("org-rot", auth.RoleOrganizer)
	event := openEvent(t, api, ownerToken, "Rotating Night")
	fanToken := api.token("fan-rot", auth.RoleFan)
	order := issuedOrder(t, api, event, fanToken, "A-1-1", "A-1-2", "A-1-3")

	// --- The fan's ticket page: three live codes with a countdown.
	fan := b.person("fan")
	fan.do(20*time.Second, "open the order", chromedp.Navigate(base+"/?order="+order), chromedp.WaitVisible(chromedp.ID("acct-fan")))
	fan.do(20*time.Second, "sign in as the fan",
		chromedp.SetValue(chromedp.ID("acct-fan"), "fan-rot"),
		chromedp.Click(chromedp.CSS("form.signin button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`li.ticket:nth-child(3) canvas.ticket-qr[data-step]`)))
	fan.waitText("#main", "a screenshot will not get in", 5*time.Second)
	if n := eval[int](fan, "the countdown", `Number(document.querySelector('.ticket-countdown').textContent)`); n < 1 || n > 30 {
		t.Errorf("the countdown shows %d s, want 1-30", n)
	}
	fan.shot("rotating-ticket")
	fan.narrow("rotating-ticket")

	// capture reads the i-th ticket's QR image off the page, as a phone
	// camera (or a screenshot) would.
	capture := func(i int) string {
		t.Helper()
		url := eval[string](fan, "a ticket's QR image", fmt.Sprintf(`document.querySelectorAll('canvas.ticket-qr')[%d].toDataURL('image/png')`, i))
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(url, "data:image/png;base64,"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		code, err := goqr.Decode(img)
		if err != nil {
			t.Fatalf("the page's QR image does not decode: %v", err)
		}
		if !strings.HasPrefix(code, "R2.") {
			t.Fatalf("the page shows %q, want a rotating code", code)
		}
		return code
	}

	// --- The owner grants a scanner (the console's form is
	// TestGateInBrowser's), who opens the gate page.
	gate := scannerAtGate(t, b, api, base, ownerToken, "gate-rot", "org-rot", event, "Rotating Night")
	gate.waitText("#kit", "Offline checks ready", 10*time.Second)

	// --- A live code, read off the page, admits online.
	gate.scanNow(capture(0), "Admitted", "Seat A-1-1")

	// --- Offline, the gate checks a live code itself and admits it; the
	// platform agrees when the scan is sent.
	blockURL(gate, "*://*:*/v1/checkin", true)
	gate.scanNow(capture(1), "Admitted offline", "checked on this phone")
	blockURL(gate, "*://*:*/v1/checkin", false)
	gate.waitText("#sync", "All offline scans sent.", 15*time.Second)
	if n := eval[int](gate, "the conflicts", `document.querySelectorAll('#conflicts li').length`); n != 0 {
		t.Errorf("the platform refused the offline scan of a live code: %s", eval[string](gate, "the conflicts", `document.getElementById('conflicts').textContent`))
	}

	// --- A code read off the page and shown two minutes later (a
	// screenshot) is refused, and the ticket stays valid for the fan.
	shot := capture(2)
	clk.Advance(2 * time.Minute)
	gate.scanNow(shot, "Expired code", "a screenshot or old code")
	gate.shot("rotating-expired")
	if ts := tickets(t, api, fanToken, order); len(ts) != 3 || ts[0].Status != "USED" || ts[1].Status != "USED" || ts[2].Status != "VALID" {
		t.Fatalf("tickets after the scans: %+v, want USED, USED, VALID", ts)
	}

	// --- Printing: the static code is offered while the organizer allows
	// it, and refused at the gate once it does not.
	fan.do(10*time.Second, "open the printable ticket", chromedp.Click(chromedp.CSS(`li.ticket:nth-child(3) button.link`)))
	fan.do(5*time.Second, "see the printable code", chromedp.WaitVisible(chromedp.CSS(`li.ticket:nth-child(3) .ticket-print img`)))
	static := tickets(t, api, fanToken, order)[2].Code
	org := b.console(base+"/console/?event="+event, "org-rot")
	org.waitText("#ticket-codes-form", "Gates accept", 15*time.Second)
	if v := eval[string](org, "the ticket-code setting", `document.getElementById('ticket-codes').value`); v != "ROTATING_AND_PRINTABLE" {
		t.Errorf("the console shows the setting %q, want ROTATING_AND_PRINTABLE", v)
	}
	org.do(10*time.Second, "accept live codes only",
		chromedp.SetValue(chromedp.ID("ticket-codes"), "ROTATING_ONLY"),
		chromedp.Click(chromedp.CSS("#ticket-codes-form button[type=submit]")))
	org.waitText("#ticket-codes-msg", "Gates now accept only the live code", 10*time.Second)
	org.shot("console-ticket-codes")
	if code, out := api.call("GET", "/v1/events/"+event, "", nil); code != 200 || out["ticketCodes"] != "ROTATING_ONLY" {
		t.Fatalf("the event after the console's change: %d %v", code, out)
	}
	// The fan's order view says what may be printed from the orders
	// function's copy of the event (EVENT_CACHE_TTL, ADR 14); the gate
	// below decides on the event itself.
	clk.Advance(5 * time.Second)
	fan.do(20*time.Second, "reload the order", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`li.ticket:nth-child(3) canvas.ticket-qr[data-step]`)))
	fan.waitText("li.ticket:nth-child(3) .ticket-noprint", "cannot be printed", 5*time.Second)
	if n := eval[int](fan, "the print views", `document.querySelectorAll('.ticket-print').length`); n != 0 {
		t.Errorf("a rotating-only event's page offers %d printable tickets", n)
	}
	gate.scanNow(static, "Printed code refused", "accepts only the live code")

	if p := b.pageProblems(); len(p) > 0 {
		t.Errorf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}

// issuedOrder buys seats of event in one order with the fan's token tok
// through the API and returns the order once its tickets are issued.
func issuedOrder(t *testing.T, api client, event, tok string, seats ...string) string {
	t.Helper()
	status, adm := api.call("POST", "/v1/events/"+event+"/admission", tok, nil)
	if status != 200 {
		t.Fatalf("admission: %d %v", status, adm)
	}
	status, hold := api.call("POST", "/v1/events/"+event+"/holds", tok, map[string]any{"admissionToken": adm["admissionToken"], "seats": seats})
	if status != 201 {
		t.Fatalf("hold: %d %v", status, hold)
	}
	order := hold["orderId"].(string)
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
			return order
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s not ISSUED 30 s after payment", order)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
