package webtest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/testenv/fixture"
)

// requireBrowser makes a missing Chromium a failure instead of a skip
// (make test sets it).
const requireBrowser = "STARARENA_REQUIRE_BROWSER"

// chromium finds the browser or skips the test with the reason; -short
// skips the browser tests, which take half a minute.
func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode (headless Chromium, about 35 s)")
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(requireBrowser) != "" {
		t.Fatalf("%s is set but no Chromium is on PATH: install it with scripts/system-deps.sh", requireBrowser)
	}
	t.Skipf("browser test skipped: no Chromium on PATH (install it with scripts/system-deps.sh; set %s=1 to fail instead)", requireBrowser)
	return ""
}

// startStack runs the local stack in-process on a free port, serving the
// repository's web/ folder, with fast workflow waits and a fast inlet;
// more changes the options.
func startStack(t *testing.T, more ...func(*devstack.Options)) *devstack.Stack {
	t.Helper()
	web, err := filepath.Abs(filepath.Join("..", "..", "web"))
	if err != nil {
		t.Fatal(err)
	}
	o := devstack.Options{
		WebDir:    web,
		TimeScale: 0.02, InletEvery: 200 * time.Millisecond, ReconcileEvery: -1,
		Logger: testenv.Logs(t, slog.LevelWarn),
	}
	for _, f := range more {
		f(&o)
	}
	return fixture.Stack(t, o)
}

// client calls the API directly, as the other fans and the organizer's
// scripts do.
type client struct {
	t    *testing.T
	base string
	st   *devstack.Stack
	waf  string // a solved bot check's token (devstack.SolveBotCheck)
}

func (c client) token(sub string, role auth.Role) string {
	c.t.Helper()
	tok, _, err := c.st.Issuer.Issue(sub, role)
	if err != nil {
		c.t.Fatal(err)
	}
	return tok
}

func (c client) call(method, path, token string, body any) (int, map[string]any) {
	c.t.Helper()
	code, raw := c.send(method, path, token, body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return code, out
}

// raw is a GET's status and body, for answers that are not an object.
func (c client) raw(method, path, token string) (int, []byte) {
	c.t.Helper()
	return c.send(method, path, token, nil)
}

func (c client) send(method, path, token string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if c.waf != "" {
		req.AddCookie(&http.Cookie{Name: devstack.WafTokenCookie, Value: c.waf})
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return res.StatusCode, raw
}

// shots numbers and saves screenshots.
type shots struct {
	t   *testing.T
	dir string
	mu  sync.Mutex
	n   int
}

// newShots picks the screenshot folder: the test's artifact directory when
// go test runs with -artifacts (kept under -outputdir), else a folder under
// the system's temporary directory that outlives the test.
func newShots(t *testing.T) *shots {
	t.Helper()
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		d := t.ArtifactDir()
		t.Logf("screenshots: %s", d)
		return &shots{t: t, dir: d}
	}
	d, err := os.MkdirTemp("", "stararena-webtest-"+time.Now().Format("20060102-150405")+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s (go test -artifacts -outputdir DIR keeps them under DIR instead)", d)
	return &shots{t: t, dir: d}
}

func (s *shots) save(name string, png []byte) {
	s.mu.Lock()
	s.n++
	file := filepath.Join(s.dir, fmt.Sprintf("%02d-%s.png", s.n, name))
	s.mu.Unlock()
	if err := os.WriteFile(file, png, 0o644); err != nil {
		s.t.Errorf("save screenshot: %v", err)
	}
}

// browser is one headless Chromium with a fresh profile.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots *shots
	mu    sync.Mutex
	// problems are uncaught exceptions and console errors of any page.
	problems []string
}

func newBrowser(t *testing.T, exe string, sh *shots) *browser {
	t.Helper()
	profile, err := os.MkdirTemp("", "stararena-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(profile) }) // runs after the browser has exited
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.UserDataDir(profile), chromedp.NoSandbox, chromedp.DisableGPU,
		// Without these Chromium phones home, which fails on a closed network.
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("lang", "en-US"), chromedp.WindowSize(1280, 900), chromedp.Env("TZ=UTC", "LANGUAGE=en_US"))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	// The first Do binds the browser's life to its context: no timeout here.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start Chromium %s: %v", exe, err)
	}
	return &browser{t: t, ctx: bctx, shots: sh}
}

// person opens a tab in a browser context of its own (own storage), as a
// different person on a different device would.
func (b *browser) person(name string) *page {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	return b.attach(name, ctx)
}

// tab opens another tab beside p, sharing its storage (a second tab of the
// same fan).
func (b *browser) tab(p *page, name string) (*page, context.CancelFunc) {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(p.ctx)
	return b.attach(name, ctx), cancel
}

// cspListener turns every Content-Security-Policy violation of a page into
// a console error, which the tab's problems collect: a blocked inline
// script or style fails the test instead of silently breaking the page.
const cspListener = `document.addEventListener('securitypolicyviolation', e =>
  console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline code') +
    ' (' + e.sourceFile + ':' + e.lineNumber + ')'), true);`

func (b *browser) attach(name string, ctx context.Context) *page {
	b.t.Helper()
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: cspListener})
		return err
	})); err != nil {
		b.t.Fatalf("open a tab for %s: %v", name, err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			// Failed requests are expected (a refused hold is a 409); a
			// script error or an exception is not.
			if m.IsException() || m.Type == chromedp.ConsoleError && !strings.HasPrefix(m.Text, "Failed to load resource") {
				b.mu.Lock()
				b.problems = append(b.problems, fmt.Sprintf("%s: %s (%s:%d)", name, m.Text, m.URL, m.Line+1))
				b.mu.Unlock()
			}
		}
	}()
	return &page{t: b.t, b: b, name: name, ctx: ctx}
}

func (b *browser) pageProblems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// page is one tab and the steps a person takes in it; every wait has a
// deadline.
type page struct {
	t    *testing.T
	b    *browser
	name string
	ctx  context.Context
}

func (p *page) do(timeout time.Duration, what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.fail(what, err)
	}
}

func run[T any](p *page, timeout time.Duration, what string, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.fail(what, err)
	}
	return v
}

// fail saves what the page showed and stops the test.
func (p *page) fail(what string, err error) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	if png, e := chromedp.Run(ctx, chromedp.FullScreenshot(100)); e == nil {
		p.b.shots.save("FAILED-"+p.name, png)
	}
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
	p.t.Fatalf("%s: %s: %v\n--- page text ---\n%s\n--- page problems ---\n%s", p.name, what, err, text,
		strings.Join(p.b.pageProblems(), "\n"))
}

// waitText waits until the first element matching sel is visible and its
// text contains want, and returns that text. A navigation while it waits
// (a form post) restarts the wait in the new document.
func (p *page) waitText(sel, want string, timeout time.Duration) string {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithDeadline(p.ctx, deadline.Add(2*time.Second))
		v, err := chromedp.Run(ctx, chromedp.PollFunction[string](`(sel, want) => {
			const e = document.querySelector(sel);
			return e && e.getClientRects().length > 0 && e.textContent.includes(want) ? e.textContent : false;
		}`, chromedp.WithPollingArgs(sel, want), chromedp.WithPollingInterval(50*time.Millisecond),
			chromedp.WithPollingTimeout(max(time.Until(deadline), time.Millisecond))))
		cancel()
		if err == nil {
			return v
		}
		if !navigated(err) || time.Now().After(deadline) {
			p.fail(fmt.Sprintf("wait for %q in %s", want, sel), err)
		}
	}
}

func navigated(err error) bool {
	for _, s := range []string{"navigated or closed", "Execution context was destroyed", "Cannot find context"} {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

// eval runs JavaScript and decodes its result.
func eval[T any](p *page, what, js string) T {
	p.t.Helper()
	return run(p, 10*time.Second, what, chromedp.Evaluate[T](js))
}

// shot saves a full-page screenshot.
func (p *page) shot(name string) {
	p.t.Helper()
	p.b.shots.save(name, run(p, 15*time.Second, "screenshot "+name, chromedp.FullScreenshot(100)))
}

// narrow shows the page 375 px wide (a phone), checks that nothing makes
// the page scroll sideways, saves a screenshot and restores the window.
func (p *page) narrow(name string) {
	p.t.Helper()
	p.do(10*time.Second, "375 px viewport", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	w := run(p, 10*time.Second, "layout at 375 px", chromedp.Poll[int](
		`window.innerWidth === 375 && document.documentElement.scrollWidth`, chromedp.WithPollingTimeout(5*time.Second)))
	if w > 375 {
		p.fail("layout at 375 px", fmt.Errorf("the page is %d px wide: something overflows the screen", w))
	}
	p.shot(name + "-375px")
	p.do(10*time.Second, "restore the viewport", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
		return err
	}))
}
