package webtest

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestCSPViolationsAreProblems: the pages run under the site's
// Content-Security-Policy (the local file server sends it), and what it
// blocks (an inline script, an inline style) becomes one of the problems
// the browser tests fail on.
func TestCSPViolationsAreProblems(t *testing.T) {
	exe := chromium(t)
	st := startStack(t)
	b := newBrowser(t, exe, newShots(t))
	p := b.person("intruder")
	p.do(20*time.Second, "open the site", chromedp.Navigate(st.URL()+"/"), chromedp.WaitReady("body"))
	if got := b.pageProblems(); len(got) > 0 {
		t.Fatalf("the site itself violates its policy or logs errors:\n%s", strings.Join(got, "\n"))
	}
	ran := eval[bool](p, "inject inline code", `(() => {
		const s = document.createElement('script');
		s.textContent = 'window.__injected = true';
		document.head.append(s);
		document.body.setAttribute('style', 'outline: 1px solid red');
		return window.__injected === true;
	})()`)
	if ran {
		t.Fatal("an inline script ran: the page has no effective CSP")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		joined := strings.Join(b.pageProblems(), "\n")
		if strings.Contains(joined, "CSP violation: script-src") && strings.Contains(joined, "CSP violation: style-src") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the blocked inline script and style were not reported; problems:\n%s", joined)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
