package devstack_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/config"
	"github.com/stararena/stararena/internal/devstack"
)

// TestStaffRoutesTakeTheStaffClientsTokens: with hosted sign-in, the site's
// config names the staff app client; an owner signed in through it calls
// staff routes as with a Cognito token in AWS, and neither the fans' nor
// the staff's token passes the other routes' authorizer (401 before any
// function runs, as API Gateway answers).
func TestStaffRoutesTakeTheStaffClientsTokens(t *testing.T) {
	st := startStack(t, devstack.Options{TimeScale: 0.01, ReconcileEvery: -1, InletEvery: -1, SignIn: devstack.SignInHosted})
	c := &stackClient{t: t, st: st, http: &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}

	site := c.json("GET", "/config.json", "", nil, http.StatusOK)
	cognito, _ := site["cognito"].(map[string]any)
	if cognito["clientId"] != devstack.HostedClientID || cognito["staffClientId"] != devstack.StaffClientID {
		t.Fatalf("config.json cognito %v: want both app clients", site["cognito"])
	}

	owner := c.hostedStaffToken("owner-1", "organizers", "org-h", "console/")
	c.json("GET", "/admin/v1/events", owner, nil, http.StatusOK)
	grant := c.json("POST", "/admin/v1/staff", owner, map[string]any{"subject": "box-1", "role": "box-office"}, http.StatusOK)
	if grant["subject"] != "box-1" {
		t.Fatalf("grant: %v", grant)
	}
	box := c.hostedStaffToken("box-1", "staff", "org-h", "gate/")
	staff := c.json("GET", "/admin/v1/staff", owner, nil, http.StatusOK)
	if b, _ := json.Marshal(staff); !strings.Contains(string(b), "box-1") {
		t.Fatalf("the owner's team %s does not list box-1", b)
	}

	fan := c.json("POST", "/dev/token", "", map[string]any{"sub": "fan-1"}, http.StatusOK)["token"].(string)
	devOwner := c.json("POST", "/dev/token", "", map[string]any{"sub": "org-h", "role": "organizer"}, http.StatusOK)["token"].(string)
	c.json("GET", "/admin/v1/events", devOwner, nil, http.StatusOK)
	for _, r := range []struct{ who, token, path string }{
		{"a fan", fan, "/admin/v1/events"},
		{"a fan", fan, "/admin/v1/staff"},
		{"an owner", owner, "/v1/me/orders"},
		{"box office", box, "/v1/me/orders"},
	} {
		out := c.json("GET", r.path, r.token, nil, http.StatusUnauthorized)
		if e, _ := out["error"].(map[string]any); e["code"] != "UNAUTHORIZED" {
			t.Errorf("%s on %s: %v, want UNAUTHORIZED", r.who, r.path, out)
		}
	}
	c.json("GET", "/v1/me/orders", fan, nil, http.StatusOK)
}

// startStack starts a local stack with o on a free port, the environment's
// configuration (logging off) unless o names one, and stops it when the
// test ends.
func startStack(t *testing.T, o devstack.Options) *devstack.Stack {
	t.Helper()
	if o.Config.TableName == "" {
		cfg, err := config.FromEnv(func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		cfg.LogLevel = 12
		o.Config = cfg
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Addr = "127.0.0.1:0"
	st, err := devstack.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = st.Close(ctx)
	})
	return st
}

// hostedStaffToken signs account in through the staff app client on the
// stack's hosted pages (the code flow with PKCE, back to page) and returns
// the ID token.
func (c *stackClient) hostedStaffToken(account, group, org, page string) string {
	c.t.Helper()
	verifier := base64.RawURLEncoding.EncodeToString([]byte(account + "-a-verifier-of-enough-length"))
	sum := sha256.Sum256([]byte(verifier))
	redirect := c.st.URL() + "/" + page
	resp, err := c.http.PostForm(c.st.URL()+"/dev/oauth2/authorize", url.Values{"response_type": {"code"},
		"client_id": {devstack.StaffClientID}, "redirect_uri": {redirect}, "state": {"s"}, "scope": {"openid email profile"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"account": {account}, "group": {group}, "org": {org}})
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || back.Query().Get("code") == "" {
		c.t.Fatalf("staff sign-in of %s: %d to %q", account, resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = c.http.PostForm(c.st.URL()+"/dev/oauth2/token", url.Values{"grant_type": {"authorization_code"},
		"client_id": {devstack.StaffClientID}, "code": {back.Query().Get("code")}, "redirect_uri": {redirect}, "code_verifier": {verifier}})
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		IDToken string `json:"id_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 || tok.IDToken == "" {
		c.t.Fatalf("token for %s: %d %v", account, resp.StatusCode, err)
	}
	return tok.IDToken
}
