package webtest

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stararena/stararena/internal/devstack"
)

// TestHostedSignInInBrowser: with hosted sign-in (what the site does
// against Cognito in AWS, here against the local stack's stand-in) a fan
// leaves for the sign-in page, comes back signed in to the page they were
// on with the code gone from the address bar, the token works on the API,
// and "Sign out" ends both sessions.
func TestHostedSignInInBrowser(t *testing.T) {
	exe := chromium(t)
	st := startStack(t, func(o *devstack.Options) { o.SignIn = devstack.SignInHosted })
	api := client{t: t, base: st.URL(), st: st}
	b := newBrowser(t, exe, newShots(t))
	fan := b.person("hosted-fan")
	base := st.URL()

	fan.do(20*time.Second, "open My tickets", chromedp.Navigate(base+"/?mine"))
	fan.waitText("#main .signin button", "Sign in or create an account", 10*time.Second)
	fan.shot("hosted-sign-in-offered")
	fan.do(10*time.Second, "go to the sign-in page",
		chromedp.Click(chromedp.CSS("#main .signin button")), chromedp.WaitVisible(chromedp.ID("account")))
	if path := eval[string](fan, "read the address", `location.pathname`); path != "/dev/oauth2/authorize" {
		t.Fatalf("the sign-in button led to %s, want the hosted sign-in page", path)
	}
	fan.shot("hosted-sign-in-page")
	fan.do(10*time.Second, "sign in on the hosted page",
		chromedp.SetValue(chromedp.ID("account"), "hosted-fan-1"), chromedp.Click(chromedp.CSS("button[type=submit]")))
	fan.waitText("#who", "Signed in as hosted-fan-1", 10*time.Second)
	fan.waitText("h1", "My tickets", 10*time.Second)
	if addr := eval[string](fan, "read the address", `location.pathname + location.search`); addr != "/?mine" {
		t.Errorf("back at %s, want /?mine (the page the fan left, without the code)", addr)
	}
	if left := eval[string](fan, "read session storage", `sessionStorage.getItem('stararena.signin') ?? ''`); left != "" {
		t.Errorf("the PKCE verifier is still kept after sign-in: %s", left)
	}
	fan.shot("hosted-signed-in")

	token := eval[string](fan, "read the session", `JSON.parse(localStorage.getItem('stararena.session.fan')).token`)
	if code, body := api.call("GET", "/v1/me/orders", token, nil); code != 200 {
		t.Fatalf("the hosted sign-in's token on GET /v1/me/orders: %d %v", code, body)
	}

	fan.do(10*time.Second, "sign out", chromedp.Click(chromedp.CSS("#who button")))
	fan.waitText("h1", "Events", 10*time.Second)
	if s := eval[string](fan, "read the session", `localStorage.getItem('stararena.session.fan') ?? ''`); s != "" {
		t.Errorf("still a session after signing out: %s", s)
	}

	if p := b.pageProblems(); len(p) > 0 {
		t.Errorf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}
