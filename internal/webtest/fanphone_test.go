package webtest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/stararena/stararena/internal/auth"
)

// TestDeclinedCardInBrowser: a fan holds a seat and the sandbox declines
// the card. The order page says so, with the reason and until when paying
// again is possible, and offers "Pay again"; the sandbox pay page leads
// back to the order. Paying again succeeds and issues the ticket; the pay
// page then says the payment has succeeded in words. An organizer's refund
// afterwards shows on the order page with its amount and date.
func TestDeclinedCardInBrowser(t *testing.T) {
	exe := chromium(t)
	st := startStack(t)
	api := client{t: t, base: st.URL(), st: st}
	b := newBrowser(t, exe, newShots(t))
	base := st.URL()
	owner := api.token("org-decline", auth.RoleOrganizer)
	event := openEvent(t, api, owner, "Decline Night")

	fan := b.person("fan")
	fan.do(20*time.Second, "open the event", chromedp.Navigate(base+"/?event="+event))
	fan.do(10*time.Second, "choose seats", chromedp.Click(chromedp.CSS("#main .panel button.primary")))
	fan.do(10*time.Second, "sign in as a fan",
		chromedp.SetValue(chromedp.ID("acct-fan"), "fan-decline"),
		chromedp.Click(chromedp.CSS("form.signin button[type=submit]")))
	fan.waitText("#step", "Choose your seats", 10*time.Second)
	fan.do(10*time.Second, "pick A-1-1",
		chromedp.WaitVisible(chromedp.CSS(`.seat[data-seat="A-1-1"]`)),
		chromedp.Click(chromedp.CSS(`.seat[data-seat="A-1-1"]`)))
	fan.do(10*time.Second, "hold it", chromedp.Click(chromedp.CSS(".pick button.primary")))
	fan.waitText("a.button.primary", "Pay €30.00", 10*time.Second)
	orderID := eval[string](fan, "the order id", `new URLSearchParams(location.search).get('order')`)

	// --- The card is declined on the sandbox's pay page.
	fan.do(10*time.Second, "open the pay page", chromedp.Click(chromedp.CSS("a.button.primary")))
	pay, closePay := chromedp.NewContext(fan.ctx, chromedp.WithTargetID(findTab(t, fan, "/sandbox/checkout/")))
	payPage := b.attach("pay-page", pay)
	payPage.waitText("button.decline", "Decline", 10*time.Second)
	if back := eval[string](payPage, "the way back", `document.querySelector('main a')?.getAttribute('href') || ''`); back != "/?order="+orderID {
		t.Errorf("the pay page leads back to %q, want /?order=%s", back, orderID)
	}
	payPage.do(10*time.Second, "decline for insufficient funds",
		chromedp.SetValue(chromedp.ID("declineCode"), "insufficient_funds"), chromedp.Click(chromedp.CSS("button.decline")))
	payPage.waitText("[role=status]", "failed", 10*time.Second)
	closePay()

	// --- The order page says why and until when; the button pays again.
	_, o := api.call("GET", "/v1/orders/"+orderID, api.token("fan-decline", auth.RoleFan), nil)
	expires, err := time.Parse(time.RFC3339Nano, o["expiresAt"].(string))
	if err != nil {
		t.Fatal(err)
	}
	until := expires.UTC().Format("03:04 PM") // the browser runs in UTC with en-US
	fan.waitText(".state", "Your card was declined (insufficient funds). You can pay again until "+until+".", 20*time.Second)
	fan.waitText("a.button.primary", "Pay again", 5*time.Second)
	fan.shot("declined-card")
	fan.narrow("declined-card")
	_, o = api.call("GET", "/v1/orders/"+orderID, api.token("fan-decline", auth.RoleFan), nil)
	if d, _ := o["lastDecline"].(map[string]any); o["status"] != "PENDING_PAYMENT" || d == nil || d["code"] != "insufficient_funds" || d["reason"] != "Your card has insufficient funds." || d["attempts"] != float64(1) {
		t.Fatalf("the order after a decline: %v", o)
	}

	fan.do(10*time.Second, "pay again", chromedp.Click(chromedp.CSS("a.button.primary")))
	fan.waitText(".state", "Waiting for the payment provider to confirm", 5*time.Second)
	pay, closePay = chromedp.NewContext(fan.ctx, chromedp.WithTargetID(findTab(t, fan, "/sandbox/checkout/")))
	defer closePay()
	payPage = b.attach("pay-page-again", pay)
	payPage.do(10*time.Second, "pay", chromedp.Click(chromedp.CSS("button.pay")))
	payPage.waitText(".done", "This payment has succeeded: there is nothing more to pay.", 10*time.Second)
	payPage.shot("sandbox-paid")
	// The pay page's way back opens the order, signed in (same browser).
	payPage.do(10*time.Second, "back to the order", chromedp.Click(chromedp.CSS("main a")))
	payPage.waitText(".state", "ticket is ready", 30*time.Second)
	fan.waitText(".state", "ticket is ready", 30*time.Second)

	// --- A refund shows its amount and date.
	if code, body := api.call("POST", "/admin/v1/orders/"+orderID+"/refund", owner, map[string]any{"reason": "the artist is ill"}); code != 200 {
		t.Fatalf("refund: %d %v", code, body)
	}
	fan.do(20*time.Second, "reload the order", chromedp.Reload())
	fan.waitText(`[data-refund="REFUNDED"]`, "Refunded €30.00 on ", 15*time.Second)
	fan.waitText(`[data-refund="REFUNDED"]`, "Reason: the artist is ill", 5*time.Second)
	at := eval[string](fan, "the refund's date", `document.querySelector('[data-refund="REFUNDED"] time')?.getAttribute('datetime') || ''`)
	if when, err := time.Parse(time.RFC3339Nano, at); err != nil || time.Since(when) > 5*time.Minute || time.Until(when) > time.Minute {
		t.Errorf("the refund is dated %q (%v), want about now", at, err)
	}
	fan.shot("refunded-after-decline")

	if p := b.pageProblems(); len(p) > 0 {
		t.Errorf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}

// TestOfflineTicketsInBrowser: a fan who loaded their ticket once still
// sees it, QR code and all, when the phone loses the network and the page
// is reloaded, with when it was last updated. Signing out deletes the
// copies, and no copy ever held the bearer token.
func TestOfflineTicketsInBrowser(t *testing.T) {
	exe := chromium(t)
	st := startStack(t)
	api := client{t: t, base: st.URL(), st: st}
	b := newBrowser(t, exe, newShots(t))
	base := st.URL()
	owner := api.token("org-offline", auth.RoleOrganizer)
	event := openEvent(t, api, owner, "Offline Night")
	orderID, _ := issuedCode(t, api, event, "A-1-2", api.token("fan-offline", auth.RoleFan))

	fan := b.person("fan")
	fan.do(20*time.Second, "open My tickets", chromedp.Navigate(base+"/?mine"))
	fan.do(10*time.Second, "sign in",
		chromedp.SetValue(chromedp.ID("acct-fan"), "fan-offline"),
		chromedp.Click(chromedp.CSS("form.signin button[type=submit]")))
	fan.waitText("#main .card", "Offline Night", 10*time.Second)
	fan.do(10*time.Second, "open the order", chromedp.Click(chromedp.CSS("#main .card h2 a")))
	fan.waitText(".state", "ticket is ready", 15*time.Second)
	// The worker controls the page once it has claimed it; from then on
	// what the page loads is kept.
	waitFor(t, "the service worker to control the page", 15*time.Second, func() bool {
		return eval[bool](fan, "is the page controlled", `!!navigator.serviceWorker.controller`)
	})
	fan.do(20*time.Second, "open My tickets again", chromedp.Click(chromedp.CSS(`header a[href="/?mine"]`)))
	fan.waitText("#main .card", "Offline Night", 10*time.Second)
	fan.do(10*time.Second, "open the order again", chromedp.Click(chromedp.CSS("#main .card h2 a")))
	fan.waitText(".state", "ticket is ready", 15*time.Second)
	if n := eval[int](fan, "offline notes online", `document.querySelectorAll('.notice.offline').length`); n != 0 {
		t.Fatalf("%d offline notes while online", n)
	}
	// Copies are per account and hold no token.
	keys := run(fan, 10*time.Second, "the data cache's keys", chromedp.Evaluate[string](`caches.open('stararena-data-v1').then(c => c.keys())
		.then(ks => ks.map(r => r.url + (r.headers.has('Authorization') ? ' WITH TOKEN' : '')).join('\n'))`, chromedp.EvalAwaitPromise))
	if !strings.Contains(keys, "/v1/orders/"+orderID+"?account=fan-offline") || strings.Contains(keys, "WITH TOKEN") {
		t.Fatalf("the data cache holds:\n%s", keys)
	}

	// --- The network goes away; the page reloads from the copies.
	offline(fan, true)
	fan.do(20*time.Second, "reload offline", chromedp.Reload())
	fan.waitText(".notice.offline", "offline — last updated ", 15*time.Second)
	fan.waitText(".ticket-seat", "Stalls · Row 1 · Seat 2", 5*time.Second)
	if n := eval[int](fan, "QR codes offline",
		`[...document.querySelectorAll('.ticket img')].filter(i => i.src.startsWith('data:image/png;base64,') && i.complete && i.naturalWidth > 0).length`); n != 1 {
		t.Errorf("%d QR codes offline, want 1", n)
	}
	fan.shot("offline-ticket")
	fan.narrow("offline-ticket")
	fan.do(20*time.Second, "open My tickets offline", chromedp.Click(chromedp.CSS(`header a[href="/?mine"]`)))
	fan.waitText(".notice.offline", "offline — last updated ", 10*time.Second)
	fan.waitText("#main .card", "Offline Night", 5*time.Second)
	offline(fan, false)

	// --- Signing out deletes the copies.
	fan.do(10*time.Second, "sign out", chromedp.Click(chromedp.CSS("#who button")))
	waitFor(t, "the copies to be deleted", 10*time.Second, func() bool {
		return !run(fan, 10*time.Second, "is there a data cache", chromedp.Evaluate[bool](`caches.has('stararena-data-v1')`, chromedp.EvalAwaitPromise))
	})

	if p := b.pageProblems(); len(p) > 0 {
		t.Errorf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}

// offline takes p's network away, and its service worker's, or gives them
// back. The page's emulation does not reach the worker, which runs in a
// target of its own: the same conditions go to each worker target too.
func offline(p *page, off bool) {
	p.t.Helper()
	emulate := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		var rules []*network.Conditions
		if off {
			rules = []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}}
		}
		sw := off
		_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			EmulateOfflineServiceWorker: &sw, MatchedNetworkConditions: rules,
		})
		return err
	})
	p.do(5*time.Second, "network offline", emulate, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: off, DownloadThroughput: -1, UploadThroughput: -1})
		return err
	}))
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	infos, err := chromedp.Targets(ctx)
	if err != nil {
		p.fail("list targets", err)
	}
	workers := 0
	for _, info := range infos {
		if info.Type != "service_worker" {
			continue
		}
		workers++
		wctx, cancel := chromedp.NewContext(p.ctx, chromedp.WithTargetID(info.TargetID))
		p.t.Cleanup(cancel)
		if _, err := chromedp.Run(wctx, emulate); err != nil {
			p.fail("take the worker's network away", err)
		}
	}
	if workers == 0 {
		p.fail("find the service worker", context.Canceled)
	}
}
