package webtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/devstack"
)

// TestRefundWindowClosesInBrowser (ADR 20): a buyer of a postponed event
// who asks for the refund after the organizer's window closed is told so
// in words and keeps valid tickets, and the order page opened after the
// window no longer offers the refund.
func TestRefundWindowClosesInBrowser(t *testing.T) {
	exe := chromium(t)
	clk := &clock.Offset{}
	st := startStack(t, func(o *devstack.Options) { o.Clock = clk })
	api := client{t: t, base: st.URL(), st: st}
	b := newBrowser(t, exe, newShots(t))
	base := st.URL()

	owner := api.token("org-rw", auth.RoleOrganizer)
	event := openEvent(t, api, owner, "Window Night")
	fanToken := api.token("fan-rw", auth.RoleFan)
	order := issuedOrder(t, api, event, fanToken, "A-1-1")
	now := time.Now().UTC()
	refundUntil := now.Add(time.Hour).Truncate(time.Second)
	if code, out := api.call("POST", "/admin/v1/events/"+event+"/postpone", owner, map[string]any{
		"startsAt": now.Add(96 * time.Hour).Format(time.RFC3339), "refundUntil": refundUntil.Format(time.RFC3339),
	}); code != 200 {
		t.Fatalf("postpone: %d %v", code, out)
	}

	// --- The fan opens the order while the window is open, and asks for
	// the refund only after the platform's clock passed its end.
	fan := b.person("fan")
	fan.do(20*time.Second, "open the order", chromedp.Navigate(base+"/?order="+order), chromedp.WaitVisible(chromedp.ID("acct-fan")))
	fan.do(10*time.Second, "sign in as fan-rw",
		chromedp.SetValue(chromedp.ID("acct-fan"), "fan-rw"),
		chromedp.Click(chromedp.CSS("form.signin button[type=submit]")))
	fan.waitText("[data-refund-window=open]", "you may ask for a full refund until", 15*time.Second)
	clk.Advance(2 * time.Hour)
	fan.do(10*time.Second, "ask for a refund", chromedp.Click(chromedp.ID("ask-refund")))
	fan.do(10*time.Second, "confirm the refund", chromedp.Click(chromedp.ID("confirm-refund")))
	fan.waitText("#main [role=alert]", "The refund window has closed: your tickets stay valid for the new date.", 10*time.Second)
	fan.shot("refund-window-closed")
	if code, o := api.call("GET", "/v1/orders/"+order, fanToken, nil); code != 200 || o["status"] != "ISSUED" {
		t.Fatalf("the order after the refused refund: %d %v, want ISSUED", code, o)
	}

	// --- Opened after the window (the phone's clock past it too), the
	// order says the window closed and offers no refund.
	late := fmt.Sprintf(`{ const shift = %d; const now = Date.now; Date.now = () => now() + shift; }`, (2 * time.Hour).Milliseconds())
	if err := chromedp.Do(fan.ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: late})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	fan.do(20*time.Second, "reload the order", chromedp.Reload())
	fan.waitText("[data-refund-window=closed]", "The refund window for the new date closed on", 15*time.Second)
	if n := eval[int](fan, "the refund buttons", `document.querySelectorAll('#ask-refund').length`); n != 0 {
		t.Errorf("the order page offers the refund after its window: %d buttons", n)
	}
	if p := b.pageProblems(); len(p) > 0 {
		t.Errorf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}
