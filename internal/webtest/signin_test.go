package webtest

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stararena/stararena/internal/auth"
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

// TestStaffHostedSignInInBrowser: with hosted sign-in, the console and the
// gate page sign staff in through the staff app client on the hosted pages,
// as in AWS. An owner signs in on /console/ and grants a scanner for its
// event; the scanner signs in on /gate/, admits a ticket by typing its
// code, and with the API unreachable admits another, queued, which the
// platform admits on sync. Each page keeps the staff client's ID token,
// which the fan routes refuse.
func TestStaffHostedSignInInBrowser(t *testing.T) {
	exe := chromium(t)
	st := startStack(t, func(o *devstack.Options) { o.SignIn = devstack.SignInHosted })
	api := client{t: t, base: st.URL(), st: st}
	b := newBrowser(t, exe, newShots(t))
	base := st.URL()

	event := openEvent(t, api, api.token("org-hosted", auth.RoleOrganizer), "Hosted Gate Night")
	fan1 := api.token("fan-hosted-gate-1", auth.RoleFan)
	order1, code1 := issuedCode(t, api, event, "A-1-1", fan1)
	fan2 := api.token("fan-hosted-gate-2", auth.RoleFan)
	order2, code2 := issuedCode(t, api, event, "A-1-2", fan2)

	owner := b.person("hosted-owner")
	owner.do(20*time.Second, "open the console", chromedp.Navigate(base+"/console/?event="+event))
	owner.staffSignIn("organizer", "org-hosted", auth.OrganizerGroup, "")
	owner.do(10*time.Second, "wait for the console", chromedp.WaitVisible(chromedp.ID("grant")))
	if addr := eval[string](owner, "read the address", `location.pathname + location.search`); addr != "/console/?event="+event {
		t.Errorf("back at %s, want the console page the owner left", addr)
	}
	owner.waitText("#event", "Hosted Gate Night", 10*time.Second)
	owner.shot("hosted-console-signed-in")
	owner.grantScanner("gate-hosted-1", event)

	gate := b.person("hosted-scanner")
	gate.do(20*time.Second, "open the gate page", chromedp.Navigate(base+"/gate/"))
	gate.staffSignIn("staff", "gate-hosted-1", auth.StaffGroup, "org-hosted")
	gate.do(10*time.Second, "wait for the scan form", chromedp.WaitVisible(chromedp.ID("code")))
	gate.waitText("#event", "Hosted Gate Night", 10*time.Second)
	gate.do(10*time.Second, "name the gate", chromedp.SetValue(chromedp.ID("gate-name"), "east-1"))
	gate.scan(code1, "Admitted", "Seat A-1-1")
	gate.narrow("hosted-gate-admitted")
	if ts := tickets(t, api, fan1, order1); ts[0].Status != "USED" {
		t.Errorf("the admitted ticket is %s on the server, want USED", ts[0].Status)
	}

	gate.waitText("#kit", "Offline checks ready", 10*time.Second)
	blockURL(gate, "*://*:*/v1/checkin", true)
	gate.scan(code2, "Admitted offline", "checked on this phone")
	gate.waitText("#sync", "1 offline scan waiting", 5*time.Second)
	if ts := tickets(t, api, fan2, order2); ts[0].Status != "VALID" {
		t.Fatalf("A-1-2 is %s on the server while the gate is offline, want VALID", ts[0].Status)
	}
	blockURL(gate, "*://*:*/v1/checkin", false)
	gate.waitText("#sync", "All offline scans sent.", 15*time.Second)
	if ts := tickets(t, api, fan2, order2); ts[0].Status != "USED" {
		t.Errorf("A-1-2 is %s on the server after the sync, want USED", ts[0].Status)
	}

	// Each page holds the staff client's token: the fan routes refuse it
	// as API Gateway's fan authorizer would.
	for _, p := range []struct {
		page *page
		role string
	}{{owner, "organizer"}, {gate, "staff"}} {
		tok := eval[string](p.page, "read the session", `JSON.parse(localStorage.getItem('stararena.session.`+p.role+`')).token`)
		if code, body := api.call("GET", "/v1/me/orders", tok, nil); code != 401 {
			t.Errorf("the %s's hosted token on a fan route: %d %v, want 401", p.role, code, body)
		}
	}

	if p := b.pageProblems(); len(p) > 0 {
		t.Errorf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}

// staffSignIn signs in on the page's hosted sign-in as account of group in
// org (empty: none), through the staff client, and waits to be back.
func (p *page) staffSignIn(role, account, group, org string) {
	p.t.Helper()
	p.waitText("#signin .signin button", "Sign in or create an account", 10*time.Second)
	left := eval[string](p, "read the address", `location.pathname`)
	p.do(10*time.Second, "go to the sign-in page",
		chromedp.Click(chromedp.CSS("#signin .signin button")), chromedp.WaitVisible(chromedp.ID("group")))
	if q := eval[string](p, "read the address", `location.pathname + ' ' + new URLSearchParams(location.search).get('client_id')`); q != "/dev/oauth2/authorize "+devstack.StaffClientID {
		p.t.Fatalf("the %s sign-in led to %s, want the hosted page for the staff client", role, q)
	}
	p.shot("hosted-staff-sign-in-" + role)
	steps := []chromedp.Action[chromedp.Void]{chromedp.SetValue(chromedp.ID("account"), account), chromedp.SetValue(chromedp.ID("group"), group)}
	if org != "" {
		steps = append(steps, chromedp.SetValue(chromedp.ID("org"), org))
	}
	p.do(10*time.Second, "sign in on the hosted page", append(steps, chromedp.Click(chromedp.CSS("button[type=submit]")))...)
	p.waitText("#who", account, 10*time.Second)
	if back := eval[string](p, "read the address", `location.pathname`); back != left {
		p.t.Fatalf("back at %s after signing in, want %s", back, left)
	}
}
