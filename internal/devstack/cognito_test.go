package devstack

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/auth/devissuer"
	"github.com/stararena/stararena/internal/clock"
)

// hostedWorld is the stand-in behind a loopback server, with a browser
// that does not follow redirects (the test reads them).
type hostedWorld struct {
	srv    *httptest.Server
	issuer *devissuer.Issuer
	clock  *clock.Manual
	client *http.Client
}

func newHostedWorld(t *testing.T) *hostedWorld {
	t.Helper()
	c := clock.NewManual(time.Now())
	iss, err := devissuer.NewAlg("http://127.0.0.1/dev", Clients, time.Hour, c, devissuer.AlgES256)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	newHostedSignIn(iss, c).register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &hostedWorld{srv: srv, issuer: iss, clock: c,
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func pkce() (verifier, challenge string) {
	verifier = strings.Repeat("v", 20) + "-verifier-of-forty-three-ch"
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func authorizeForm(challenge, redirect, account string) url.Values {
	return url.Values{"response_type": {"code"}, "client_id": {HostedClientID}, "redirect_uri": {redirect},
		"state": {"st-1"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}, "scope": {"openid email"},
		"account": {account}}
}

// signIn posts the authorization form and returns the code the redirect
// carries.
func (w *hostedWorld) signIn(t *testing.T, form url.Values) string {
	t.Helper()
	resp, err := w.client.PostForm(w.srv.URL+"/dev/oauth2/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d, want a redirect", resp.StatusCode)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Scheme + "://" + back.Host + back.Path; got != form.Get("redirect_uri") {
		t.Fatalf("redirected to %s, want %s", got, form.Get("redirect_uri"))
	}
	if back.Query().Get("state") != "st-1" || back.Query().Get("code") == "" {
		t.Fatalf("redirect query %q: want the state back and a code", back.RawQuery)
	}
	return back.Query().Get("code")
}

func (w *hostedWorld) exchange(t *testing.T, code, verifier, redirect string) (int, map[string]any) {
	t.Helper()
	return w.exchangeAs(t, HostedClientID, code, verifier, redirect)
}

func (w *hostedWorld) exchangeAs(t *testing.T, client, code, verifier, redirect string) (int, map[string]any) {
	t.Helper()
	resp, err := w.client.PostForm(w.srv.URL+"/dev/oauth2/token", url.Values{"grant_type": {"authorization_code"},
		"client_id": {client}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("token answer is not JSON: %s", b)
	}
	return resp.StatusCode, body
}

func TestHostedSignInCodeFlowWithPKCE(t *testing.T) {
	w := newHostedWorld(t)
	verifier, challenge := pkce()
	redirect := "http://127.0.0.1:8080/"

	// The page the site sends the fan to.
	q := authorizeForm(challenge, redirect, "")
	q.Del("account")
	resp, err := w.client.Get(w.srv.URL + "/dev/oauth2/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `name="account"`) || !strings.Contains(string(page), challenge) {
		t.Fatalf("authorize page: %d %.300s", resp.StatusCode, page)
	}

	code := w.signIn(t, authorizeForm(challenge, redirect, "fan-hosted"))
	status, tok := w.exchange(t, code, verifier, redirect)
	if status != 200 || tok["token_type"] != "Bearer" || tok["expires_in"].(float64) <= 0 {
		t.Fatalf("token: %d %v", status, tok)
	}
	claims, err := w.issuer.Verify(tok["access_token"].(string))
	if err != nil || claims["sub"] != "fan-hosted" || claims["role"] != string(auth.RoleFan) {
		t.Fatalf("access token claims %v, %v: want sub fan-hosted, role fan", claims, err)
	}

	t.Run("CodeIsSingleUse", func(t *testing.T) {
		if status, body := w.exchange(t, code, verifier, redirect); status != 400 {
			t.Fatalf("second exchange: %d %v", status, body)
		}
	})
	t.Run("WrongVerifierIsRefusedAndSpendsTheCode", func(t *testing.T) {
		code := w.signIn(t, authorizeForm(challenge, redirect, "fan-2"))
		if status, body := w.exchange(t, code, verifier+"x", redirect); status != 400 || !strings.Contains(body["error"].(map[string]any)["message"].(string), "code_verifier") {
			t.Fatalf("wrong verifier: %d %v", status, body)
		}
		if status, _ := w.exchange(t, code, verifier, redirect); status != 400 {
			t.Fatalf("the right verifier after a wrong one: %d, want 400", status)
		}
	})
	t.Run("OtherRedirectURIIsRefused", func(t *testing.T) {
		code := w.signIn(t, authorizeForm(challenge, redirect, "fan-3"))
		if status, _ := w.exchange(t, code, verifier, "http://127.0.0.1:9999/"); status != 400 {
			t.Fatalf("exchange with another redirect_uri: %d, want 400", status)
		}
	})
	t.Run("ExpiredCodeIsRefused", func(t *testing.T) {
		code := w.signIn(t, authorizeForm(challenge, redirect, "fan-4"))
		w.clock.Advance(codeTTL + time.Second)
		if status, _ := w.exchange(t, code, verifier, redirect); status != 400 {
			t.Fatalf("exchange after %s: %d, want 400", codeTTL, status)
		}
	})
}

func TestHostedSignInRefusesBadRequests(t *testing.T) {
	w := newHostedWorld(t)
	_, challenge := pkce()
	for name, mutate := range map[string]func(url.Values){
		"ForeignRedirect":      func(v url.Values) { v.Set("redirect_uri", "https://tickets.example.com/") },
		"RedirectWithUserInfo": func(v url.Values) { v.Set("redirect_uri", "http://evil@127.0.0.1/") },
		"UnknownClient":        func(v url.Values) { v.Set("client_id", "someone-else") },
		"PlainChallenge":       func(v url.Values) { v.Set("code_challenge_method", "plain") },
		"ShortChallenge":       func(v url.Values) { v.Set("code_challenge", "abc") },
		"ImplicitFlow":         func(v url.Values) { v.Set("response_type", "token") },
		"NoAccount":            func(v url.Values) { v.Set("account", " ") },
		"AccountWithHash":      func(v url.Values) { v.Set("account", "fan#1") },
		"LongAccount":          func(v url.Values) { v.Set("account", strings.Repeat("a", 65)) },
	} {
		t.Run(name, func(t *testing.T) {
			form := authorizeForm(challenge, "http://127.0.0.1:8080/", "fan-1")
			mutate(form)
			resp, err := w.client.PostForm(w.srv.URL+"/dev/oauth2/authorize", form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error struct{ Code, Message string }
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || body.Error.Code == "" {
				t.Fatalf("%d, Location %q, error %+v: want a 400 JSON error and no redirect", resp.StatusCode, resp.Header.Get("Location"), body.Error)
			}
		})
	}
	t.Run("LogoutOnlyToThisMachine", func(t *testing.T) {
		resp, err := w.client.Get(w.srv.URL + "/dev/logout?client_id=" + HostedClientID + "&logout_uri=" + url.QueryEscape("https://evil.example/"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("logout to a foreign URI: %d, want 400", resp.StatusCode)
		}
		resp, err = w.client.Get(w.srv.URL + "/dev/logout?client_id=" + HostedClientID + "&logout_uri=" + url.QueryEscape("http://localhost:8080/"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "http://localhost:8080/" {
			t.Fatalf("logout: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// staffForm is the staff client's authorization form for a person of
// group in org.
func staffForm(challenge, redirect, account, group, org string) url.Values {
	f := authorizeForm(challenge, redirect, account)
	f.Set("client_id", StaffClientID)
	f.Set("scope", "openid email profile")
	f.Set("group", group)
	f.Set("org", org)
	return f
}

// TestHostedSignInStaffClient: the staff app client signs people in on the
// same pages, back to the console or the gate page only, and its ID token
// is the one Cognito issues to that client: the staff audience (which the
// fan routes' authorizer refuses), cognito:groups, custom:org, email.
func TestHostedSignInStaffClient(t *testing.T) {
	w := newHostedWorld(t)
	verifier, challenge := pkce()
	base := "http://127.0.0.1:8080/"

	q := staffForm(challenge, base+"gate/", "", "", "")
	for _, k := range []string{"account", "group", "org"} {
		q.Del(k)
	}
	resp, err := w.client.Get(w.srv.URL + "/dev/oauth2/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `name="group"`) || !strings.Contains(string(page), `name="org"`) {
		t.Fatalf("staff authorize page: %d %.400s", resp.StatusCode, page)
	}

	for _, c := range []struct {
		page, account, group, org string
		role                      auth.Role
		wantOrg                   string
	}{
		{"gate/", "gate-1", auth.StaffGroup, "org-a", auth.RoleStaff, "org-a"},
		{"console/", "ann", auth.OrganizerGroup, "org-a", auth.RoleOrganizer, "org-a"},
		{"console/", "bob", auth.OrganizerGroup, "", auth.RoleOrganizer, ""},
	} {
		redirect := base + c.page
		code := w.signIn(t, staffForm(challenge, redirect, c.account, c.group, c.org))
		status, tok := w.exchangeAs(t, StaffClientID, code, verifier, redirect)
		if status != 200 {
			t.Fatalf("%s: token: %d %v", c.account, status, tok)
		}
		id := tok["id_token"].(string)
		if _, err := w.issuer.Verify(id, Clients.Fan); err == nil {
			t.Errorf("%s: the fan routes' authorizer accepts the staff client's token", c.account)
		}
		claims, err := w.issuer.Verify(id, Clients.Staff)
		if err != nil {
			t.Fatalf("%s: the staff routes' authorizer refuses it: %v", c.account, err)
		}
		if claims["sub"] != c.account || claims["aud"] != "["+StaffClientID+"]" || claims[auth.GroupsClaim] != "["+c.group+"]" ||
			claims[auth.CognitoOrgClaim] != c.wantOrg || claims[auth.EmailClaim] != devissuer.DefaultEmail(c.account) || claims["role"] != "" {
			t.Errorf("%s: ID token claims %v", c.account, claims)
		}
	}

	t.Run("FanClientTokensNameTheFanClient", func(t *testing.T) {
		code := w.signIn(t, authorizeForm(challenge, base, "fan-9"))
		_, tok := w.exchange(t, code, verifier, base)
		if _, err := w.issuer.Verify(tok["id_token"].(string), Clients.Staff); err == nil {
			t.Error("the staff routes' authorizer accepts a fan's token")
		}
	})
	t.Run("CodeIsTheClientsOwn", func(t *testing.T) {
		code := w.signIn(t, staffForm(challenge, base+"gate/", "gate-2", auth.StaffGroup, "org-a"))
		if status, body := w.exchange(t, code, verifier, base+"gate/"); status != 400 {
			t.Fatalf("a staff code exchanged by the fans' client: %d %v", status, body)
		}
	})
	for name, form := range map[string]url.Values{
		"BackToTheSiteRoot":  staffForm(challenge, base, "gate-3", auth.StaffGroup, "org-a"),
		"BackToAnotherPage":  staffForm(challenge, base+"console/x", "gate-3", auth.StaffGroup, "org-a"),
		"StaffWithoutAnOrg":  staffForm(challenge, base+"gate/", "gate-3", auth.StaffGroup, ""),
		"UnknownGroup":       staffForm(challenge, base+"gate/", "gate-3", "admins", "org-a"),
		"OrgWithAHash":       staffForm(challenge, base+"gate/", "gate-3", auth.StaffGroup, "org#a"),
		"ForeignConsoleHost": staffForm(challenge, "https://tickets.example.com/console/", "gate-3", auth.OrganizerGroup, ""),
	} {
		t.Run("Refuses"+name, func(t *testing.T) {
			resp, err := w.client.PostForm(w.srv.URL+"/dev/oauth2/authorize", form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
				t.Fatalf("%d, Location %q: want a 400 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
	t.Run("LogoutOnlyToTheStaffPages", func(t *testing.T) {
		for uri, want := range map[string]int{base: 400, base + "console/": http.StatusFound, base + "gate/": http.StatusFound} {
			resp, err := w.client.Get(w.srv.URL + "/dev/logout?client_id=" + StaffClientID + "&logout_uri=" + url.QueryEscape(uri))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("staff logout to %s: %d, want %d", uri, resp.StatusCode, want)
			}
		}
	})
}
