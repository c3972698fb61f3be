package webtest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stararena/stararena/internal/auth"
)

// TestTransferInBrowser: fan A, who bought a ticket, opens the order on the
// fan site, transfers the ticket to fan B by email and confirms; the order
// shows the pending transfer. B, in a browser context of its own, opens My
// tickets, sees the offer and accepts; the ticket appears under "Tickets
// you received" with its live QR code. At the gate, A's old code answers
// REVOKED with the reason "transferred" (the gate page says so) and B's
// new code ADMITTED; A's order shows the ticket as transferred.
func TestTransferInBrowser(t *testing.T) {
	exe := chromium(t)
	st := startStack(t)
	api := client{t: t, base: st.URL(), st: st}
	b := newBrowser(t, exe, newShots(t))
	base := st.URL()

	owner := api.token("org-transfer", auth.RoleOrganizer)
	event := openEvent(t, api, owner, "Transfer Night")
	aTok := api.token("fan-transfer-a", auth.RoleFan)
	order, oldCode := issuedCode(t, api, event, "A-1-1", aTok)

	// --- A transfers the ticket from the order page.
	a := b.person("fan A")
	a.do(20*time.Second, "open the order", chromedp.Navigate(base+"/?order="+order), chromedp.WaitVisible(chromedp.ID("acct-fan")))
	a.do(10*time.Second, "sign in as fan A",
		chromedp.SetValue(chromedp.ID("acct-fan"), "fan-transfer-a"),
		chromedp.Click(chromedp.CSS("form.signin button[type=submit]")))
	a.waitText(".ticket", "Ticket", 15*time.Second)
	a.waitText("[data-transfer] button", "Transfer", 10*time.Second)
	a.do(10*time.Second, "start a transfer", chromedp.Click(chromedp.CSS("[data-transfer] button")))
	a.do(10*time.Second, "name the recipient",
		chromedp.SendKeys(chromedp.CSS(".transfer-form input[type=email]"), "fan-transfer-b@example.test"),
		chromedp.Click(chromedp.CSS(".transfer-form button[type=submit]")))
	a.waitText(".transfer-confirm", "When they accept, this ticket's code stops working", 5*time.Second)
	a.shot("transfer-confirm")
	a.do(10*time.Second, "confirm the transfer", chromedp.Click(chromedp.CSS(".transfer-confirm button.primary")))
	a.waitText("[data-transfer] .state", "Offered to fan-transfer-b@example.test", 10*time.Second)
	a.waitText("[data-transfer] button", "Cancel transfer", 5*time.Second)
	a.narrow("transfer-offered")

	// --- B accepts on My tickets, in a browser context of its own.
	bp := b.person("fan B")
	bp.do(20*time.Second, "open My tickets", chromedp.Navigate(base+"/?mine"), chromedp.WaitVisible(chromedp.ID("acct-fan")))
	bp.do(10*time.Second, "sign in as fan B",
		chromedp.SetValue(chromedp.ID("acct-fan"), "fan-transfer-b"),
		chromedp.Click(chromedp.CSS("form.signin button[type=submit]")))
	bp.waitText("#main section h2", "Tickets offered to you", 15*time.Second)
	bp.waitText("#main section .card", "from fan-transfer-a@example.test", 5*time.Second)
	bp.shot("transfer-offer-received")
	bp.do(10*time.Second, "accept the ticket", chromedp.Click(chromedp.CSS("#main section .card button.primary")))
	bp.waitText("#main section", "Tickets you received", 10*time.Second)
	bp.waitText("#main section .ticket .ticket-seat", "seat A-1-1", 5*time.Second)
	bp.do(10*time.Second, "the received ticket's live QR code", chromedp.WaitVisible(chromedp.CSS(`#main section .ticket canvas.ticket-qr[data-step]`)))
	bp.narrow("transfer-accepted")

	// --- The gate: A's old code is revoked as transferred, B's admits.
	bTok := api.token("fan-transfer-b", auth.RoleFan)
	status, raw := api.raw("GET", "/v1/me/transfers", bTok)
	var list struct {
		Incoming []struct {
			Status  string
			Tickets []struct{ Seat, Status, Code string }
		}
	}
	if err := json.Unmarshal(raw, &list); status != 200 || err != nil || len(list.Incoming) != 1 || len(list.Incoming[0].Tickets) != 1 {
		t.Fatalf("B's transfers: %d %s %v", status, raw, err)
	}
	newCode := list.Incoming[0].Tickets[0].Code
	if newCode == "" || newCode == oldCode {
		t.Fatalf("B's ticket code %q: want a new code", newCode)
	}
	checkIn := func(code, nonce string) map[string]any {
		t.Helper()
		c, out := api.call("POST", "/v1/checkin", owner, map[string]any{"eventId": event, "code": code, "nonce": nonce, "gate": "east-1"})
		if c != 200 {
			t.Fatalf("check-in: %d %v", c, out)
		}
		return out
	}
	// The gate page says why the old code is refused.
	gate := scannerAtGate(t, b, api, base, owner, "gate-transfer", "org-transfer", event, "Transfer Night")
	gate.scan(oldCode, "Revoked", "transferred to another account")
	gate.narrow("gate-transferred")

	if out := checkIn(oldCode, "transfer-old"); out["result"] != "REVOKED" || out["reason"] != "transferred" {
		t.Errorf("A's old code at the gate: %v, want REVOKED transferred", out)
	}
	if out := checkIn(newCode, "transfer-new"); out["result"] != "ADMITTED" {
		t.Errorf("B's code at the gate: %v, want ADMITTED", out)
	}

	// --- A's order now shows the ticket as transferred, with no code.
	a.do(20*time.Second, "reload the order", chromedp.Navigate(base+"/?order="+order))
	a.waitText(".ticket .error", "This ticket is transferred.", 15*time.Second)
	if n := eval[int](a, "transfer actions", `document.querySelectorAll('[data-transfer]').length`); n != 0 {
		t.Errorf("the transferred ticket still offers %d transfer action(s)", n)
	}
	if ps := b.pageProblems(); len(ps) > 0 {
		t.Errorf("page problems:\n%v", ps)
	}
}
