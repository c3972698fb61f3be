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
	"github.com/stararena/stararena/internal/clock"
)

// hostedWorld is the stand-in behind a loopback server, with a browser
// that does not follow redirects (the test reads them).
type hostedWorld struct {
	srv    *httptest.Server
	issuer *auth.DevIssuer
	clock  *clock.Manual
	client *http.Client
}

func newHostedWorld(t *testing.T) *hostedWorld {
	t.Helper()
	c := clock.NewManual(time.Now())
	iss, err := auth.NewDevIssuerAlg("http://127.0.0.1/dev", "stararena-local", time.Hour, c, auth.AlgES256)
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
	resp, err := w.client.PostForm(w.srv.URL+"/dev/oauth2/token", url.Values{"grant_type": {"authorization_code"},
		"client_id": {HostedClientID}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}})
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
