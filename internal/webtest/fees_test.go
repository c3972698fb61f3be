package webtest

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stararena/stararena/internal/auth"
)

// TestFeesInBrowser: an event charges a 3.50 service fee per ticket and
// 20 % tax on top (ADR 26). The fan sees both on the seat map, holds two
// seats and finds the order's breakdown (face value, fees, tax, total) and
// a pay button for the total; after payment and an organizer's refund the
// order page shows how much was refunded, when and why, and the console's
// order lookup shows the same.
func TestFeesInBrowser(t *testing.T) {
	exe := chromium(t)
	st := startStack(t)
	api := client{t: t, base: st.URL(), st: st}
	b := newBrowser(t, exe, newShots(t))
	base := st.URL()

	ownerToken := api.token("org-fees", auth.RoleOrganizer)
	code, ev := api.call("POST", "/admin/v1/events", ownerToken, map[string]any{
		"name": "Priced Night", "venue": "Tax Hall",
		"startsAt":    time.Now().UTC().Add(72 * time.Hour).Format(time.RFC3339),
		"saleOpensAt": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339),
		"queue":       map[string]any{"mode": "off"},
		"pricing":     map[string]any{"feeCents": 350, "taxBasisPoints": 2000, "taxMode": "exclusive"},
		"sections":    []map[string]any{{"id": "A", "name": "Stalls", "priceCents": 4500, "currency": "EUR", "rows": []map[string]any{{"id": "1", "seats": 4}}}},
	})
	if code != 201 {
		t.Fatalf("create event: %d %v", code, ev)
	}
	event := ev["eventId"].(string)

	// --- The seat map says what is added to the prices.
	fan := b.person("fan")
	fan.do(20*time.Second, "open the event", chromedp.Navigate(base+"/?event="+event))
	fan.waitText("#main .pricing-note", "A service fee of €3.50 per ticket is added; 20 % tax is added.", 10*time.Second)
	fan.do(10*time.Second, "choose seats", chromedp.Click(chromedp.CSS("#main .panel button.primary")))
	fan.do(10*time.Second, "sign in as a fan",
		chromedp.SetValue(chromedp.ID("acct-fan"), "fan-fees"),
		chromedp.Click(chromedp.CSS("form.signin button[type=submit]")))
	fan.waitText("#step", "Choose your seats", 10*time.Second)
	fan.waitText("#main .pricing-note", "service fee of €3.50", 5*time.Second)
	fan.do(10*time.Second, "pick A-1-1 and A-1-2",
		chromedp.WaitVisible(chromedp.CSS(`.seat[data-seat="A-1-1"]`)),
		chromedp.Click(chromedp.CSS(`.seat[data-seat="A-1-1"]`)), chromedp.Click(chromedp.CSS(`.seat[data-seat="A-1-2"]`)))
	fan.do(10*time.Second, "hold them", chromedp.Click(chromedp.CSS(".pick button.primary")))

	// --- The hold: 2 × 45.00 + 2 × 3.50 = 97.00, 20 % on top: 19.40, total 116.40.
	fan.waitText("#order-h", "Your order", 10*time.Second)
	fan.waitText(`.breakdown [data-line="face"]`, "€90.00", 5*time.Second)
	fan.waitText(`.breakdown [data-line="fees"]`, "€7.00", 5*time.Second)
	fan.waitText(`.breakdown [data-line="tax"]`, "Tax 20 %€19.40", 5*time.Second)
	fan.waitText(`.breakdown [data-line="total"]`, "€116.40", 5*time.Second)
	fan.waitText("a.button.primary", "Pay €116.40", 10*time.Second)
	fan.shot("hold-with-fees")
	fan.narrow("hold-with-fees")
	orderID := eval[string](fan, "the order id", `new URLSearchParams(location.search).get('order')`)

	// --- Paid through the sandbox, then refunded by the organizer.
	fanToken := api.token("fan-fees", auth.RoleFan)
	code, p := api.call("POST", "/v1/orders/"+orderID+"/payments", fanToken, map[string]any{"provider": "sandbox"})
	if code != 201 {
		t.Fatalf("payment: %d %v", code, p)
	}
	paymentID := p["paymentId"].(string)
	if code, pay := api.call("GET", "/sandbox/payments/"+paymentID, "", nil); code != 200 || pay["amountCents"] != float64(11640) {
		t.Fatalf("the sandbox payment: %d %v, want 11640 cents", code, pay)
	}
	if code, body := api.call("POST", "/sandbox/payments/"+paymentID+"/complete", "", map[string]any{"outcome": "succeeded", "webhook": "deliver"}); code != 200 {
		t.Fatalf("complete the payment: %d %v", code, body)
	}
	fan.waitText(".state", "ready", 30*time.Second)
	if code, body := api.call("POST", "/admin/v1/orders/"+orderID+"/refund", ownerToken, map[string]any{"reason": "the show moved"}); code != 200 {
		t.Fatalf("refund: %d %v", code, body)
	}
	fan.do(20*time.Second, "reload the order", chromedp.Reload())
	fan.waitText(`[data-refund="REFUNDED"]`, "Refunded €116.40 on ", 10*time.Second)
	fan.waitText(`[data-refund="REFUNDED"]`, "Reason: the show moved", 5*time.Second)
	fan.shot("refunded-order")

	// --- The console: the order lookup shows the refund; the report splits it.
	owner := b.person("owner")
	owner.do(20*time.Second, "open the console", chromedp.Navigate(base+"/console/?event="+event), chromedp.WaitVisible(chromedp.ID("acct-organizer")))
	owner.do(10*time.Second, "sign in as the owner",
		chromedp.SetValue(chromedp.ID("acct-organizer"), "org-fees"),
		chromedp.Click(chromedp.CSS("#signin button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("lookup-form")))
	owner.waitText("#pricing-now", "Fee €3.50 per ticket · tax 20 % on top.", 10*time.Second)
	owner.do(10*time.Second, "look the order up",
		chromedp.SetValue(chromedp.ID("lookup-order"), orderID),
		chromedp.Click(chromedp.CSS("#lookup-form button[type=submit]")))
	owner.waitText(`#lookup-result [data-refund="REFUNDED"]`, "Reason: the show moved", 10*time.Second)
	owner.waitText(`#lookup-result [data-line="total"]`, "€116.40", 5*time.Second)
	owner.waitText(`[data-tile="Revenue"] dd`, "€116.40 refunded (face value €90.00, fees €7.00, tax €19.40)", 10*time.Second)
	owner.shot("console-refund-lookup")

	if p := b.pageProblems(); len(p) > 0 {
		t.Errorf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}
