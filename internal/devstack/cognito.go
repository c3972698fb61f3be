package devstack

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/auth/devissuer"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/topology"
)

// Sign-in modes of the local site (Options.SignIn).
const (
	// SignInDev: the site asks for an account name and calls POST
	// /dev/token (the default; quickest for development).
	SignInDev = "dev"
	// SignInHosted: the site signs in the way it does against a Cognito
	// user pool's hosted sign-in, an OAuth 2.0 authorization code flow
	// with PKCE, here against the stand-in under /dev/oauth2/.
	SignInHosted = "hosted"
)

// App clients of the local hosted sign-in, as the CDK app's user pool has
// two (ADR 16): the fans' site, and the staff's console and gate page.
// Each is also the audience of the ID tokens issued to it, and the local
// JWT authorizers accept the fans' client on fan routes and the staff
// client on staff routes, as the HTTP API's do.
const (
	HostedClientID = "stararena-local-web"
	StaffClientID  = "stararena-local-staff"
)

// Clients are the local app clients as the dev issuer's audiences.
var Clients = devissuer.Audiences{Fan: HostedClientID, Staff: StaffClientID}

// codeTTL is how long an authorization code may be exchanged (Cognito's
// codes also live five minutes).
const codeTTL = 5 * time.Minute

// hostedSignIn stands in for a Cognito user pool's hosted sign-in pages
// and token endpoint: /dev/oauth2/authorize asks for an account name (any
// name is that account, as with /dev/token) and redirects back with a
// single-use code; /dev/oauth2/token exchanges the code and the PKCE
// verifier for a dev token; /dev/logout redirects back. Only loopback
// redirect URIs are accepted, and for the staff client only the staff
// pages (topology.StaffSignInPages). Signing in through the staff client
// also asks for what an administrator sets in AWS, the person's group and
// organization, and issues the ID token Cognito issues to that client.
type hostedSignIn struct {
	issuer *devissuer.Issuer
	clock  clock.Clock
	mu     sync.Mutex
	codes  map[string]authCode
}

type authCode struct {
	clientID, redirectURI, challenge, sub string
	// role and org: a staff client's sign-in only.
	role    auth.Role
	org     string
	expires time.Time
}

func newHostedSignIn(issuer *devissuer.Issuer, c clock.Clock) *hostedSignIn {
	return &hostedSignIn{issuer: issuer, clock: c, codes: map[string]authCode{}}
}

func (h *hostedSignIn) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /dev/oauth2/authorize", h.authorizePage)
	mux.HandleFunc("POST /dev/oauth2/authorize", h.authorize)
	mux.HandleFunc("POST /dev/oauth2/token", h.token)
	mux.HandleFunc("GET /dev/logout", h.logout)
}

// authorizeRequest is the query of /oauth2/authorize.
type authorizeRequest struct {
	ClientID, RedirectURI, State, Challenge, Scope string
}

func parseAuthorize(v url.Values) (authorizeRequest, error) {
	r := authorizeRequest{ClientID: v.Get("client_id"), RedirectURI: v.Get("redirect_uri"), State: v.Get("state"),
		Challenge: v.Get("code_challenge"), Scope: v.Get("scope")}
	switch {
	case v.Get("response_type") != "code":
		return r, apperr.New(apperr.Invalid, `response_type must be "code"`)
	case r.ClientID != HostedClientID && r.ClientID != StaffClientID:
		return r, apperr.New(apperr.Invalid, "unknown client_id %q", r.ClientID)
	case !allowedReturn(r.ClientID, r.RedirectURI):
		return r, apperr.New(apperr.Invalid, "redirect_uri must be an http(s) URL on this machine%s", staffPagesNote(r.ClientID))
	case v.Get("code_challenge_method") != "S256":
		return r, apperr.New(apperr.Invalid, `code_challenge_method must be "S256"`)
	case len(r.Challenge) != 43 || strings.Trim(r.Challenge, b64urlChars) != "":
		return r, apperr.New(apperr.Invalid, "code_challenge must be a base64url SHA-256 (43 characters)")
	case len(r.State) > 512:
		return r, apperr.New(apperr.Invalid, "state is longer than 512 characters")
	}
	return r, nil
}

// Staff reports whether the request is the staff client's.
func (r authorizeRequest) Staff() bool { return r.ClientID == StaffClientID }

// allowedReturn is the client's callback and sign-out URL check: any
// loopback URL for the fans' client; for the staff client, the console or
// the gate page on a loopback host, as its callbacks in AWS list only them.
func allowedReturn(clientID, raw string) bool {
	if !loopbackURL(raw) {
		return false
	}
	if clientID != StaffClientID {
		return true
	}
	u, _ := url.Parse(raw)
	for _, p := range topology.StaffSignInPages {
		if u.Path == "/"+p && u.RawQuery == "" {
			return true
		}
	}
	return false
}

func staffPagesNote(clientID string) string {
	if clientID != StaffClientID {
		return ""
	}
	return ", at /" + strings.Join(topology.StaffSignInPages, " or /")
}

const b64urlChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// loopbackURL accepts http(s) URLs on 127.0.0.1, ::1 or localhost only:
// even locally the stand-in must not redirect a browser elsewhere.
func loopbackURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Fragment != "" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var authorizeHTML = template.Must(template.New("authorize").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · StarArena (local)</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}
input,select,button{font:inherit;padding:.5rem;width:100%;box-sizing:border-box;margin:.25rem 0 1rem}</style></head>
<body><main><h1>Sign in</h1>
<p>Local stand-in for the StarArena account page: any name works and is your account.</p>
{{if .Staff}}<p>Staff sign-in. In AWS an administrator puts a person in a group and sets the organization; here you choose them.</p>{{end}}
<form method="post" action="/dev/oauth2/authorize">
<input type="hidden" name="response_type" value="code"><input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}"><input type="hidden" name="state" value="{{.State}}">
<input type="hidden" name="code_challenge" value="{{.Challenge}}"><input type="hidden" name="code_challenge_method" value="S256">
<input type="hidden" name="scope" value="{{.Scope}}">
<label for="account">Account name</label>
<input id="account" name="account" autocomplete="username" required maxlength="64" autofocus>
{{if .Staff}}<label for="group">Group</label>
<select id="group" name="group"><option value="organizers">organizers: owner of the organization</option>
<option value="staff">staff: the roles its owners grant</option></select>
<label for="org">Organization (an owner without one owns the organization its account name names)</label>
<input id="org" name="org" maxlength="64">{{end}}
<button type="submit">Sign in</button>
</form></main></body></html>
`))

func (h *hostedSignIn) authorizePage(w http.ResponseWriter, r *http.Request) {
	req, err := parseAuthorize(r.URL.Query())
	if err != nil {
		httpapi.WriteError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = authorizeHTML.Execute(w, req)
}

func (h *hostedSignIn) authorize(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		httpapi.WriteError(w, apperr.New(apperr.Invalid, "the form could not be read"))
		return
	}
	req, err := parseAuthorize(r.PostForm)
	if err != nil {
		httpapi.WriteError(w, err)
		return
	}
	account := strings.TrimSpace(r.PostForm.Get("account"))
	if account == "" || len(account) > 64 || strings.ContainsAny(account, "\"# \t\r\n") {
		httpapi.WriteError(w, apperr.New(apperr.Invalid, "account must be 1-64 characters without spaces, quotes or #"))
		return
	}
	ac := authCode{clientID: req.ClientID, redirectURI: req.RedirectURI, challenge: req.Challenge, sub: account}
	if req.Staff() {
		if ac.role, ac.org, err = staffOf(r.PostForm); err != nil {
			httpapi.WriteError(w, err)
			return
		}
	}
	code := randomToken()
	h.mu.Lock()
	now := h.clock.Now()
	for c, a := range h.codes {
		if now.After(a.expires) {
			delete(h.codes, c)
		}
	}
	ac.expires = now.Add(codeTTL)
	h.codes[code] = ac
	h.mu.Unlock()
	back, _ := url.Parse(req.RedirectURI)
	q := back.Query()
	q.Set("code", code)
	if req.State != "" {
		q.Set("state", req.State)
	}
	back.RawQuery = q.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// staffOf reads the staff form's group and organization: an owner
// (organizers) may name an organization, staff must.
func staffOf(f url.Values) (auth.Role, string, error) {
	org := strings.TrimSpace(f.Get("org"))
	if len(org) > 64 || strings.ContainsAny(org, "\"# \t\r\n") {
		return "", "", apperr.New(apperr.Invalid, "org must be at most 64 characters without spaces, quotes or #")
	}
	switch f.Get("group") {
	case auth.OrganizerGroup:
		return auth.RoleOrganizer, org, nil
	case auth.StaffGroup:
		if org == "" {
			return "", "", apperr.New(apperr.Invalid, "staff belong to an organization: name it (org)")
		}
		return auth.RoleStaff, org, nil
	}
	return "", "", apperr.New(apperr.Invalid, "group must be %q or %q", auth.OrganizerGroup, auth.StaffGroup)
}

func (h *hostedSignIn) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		httpapi.WriteError(w, apperr.New(apperr.Invalid, "the form could not be read"))
		return
	}
	f := r.PostForm
	switch {
	case f.Get("grant_type") != "authorization_code":
		httpapi.WriteError(w, apperr.New(apperr.Invalid, `grant_type must be "authorization_code"`))
		return
	case f.Get("client_id") != HostedClientID && f.Get("client_id") != StaffClientID:
		httpapi.WriteError(w, apperr.New(apperr.Invalid, "unknown client_id %q", f.Get("client_id")))
		return
	}
	// A code is spent by its first exchange, right or wrong, as OAuth asks.
	h.mu.Lock()
	a, ok := h.codes[f.Get("code")]
	delete(h.codes, f.Get("code"))
	h.mu.Unlock()
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	switch {
	case !ok || h.clock.Now().After(a.expires):
		httpapi.WriteError(w, apperr.New(apperr.Invalid, "the code is unknown, used or expired"))
		return
	case f.Get("client_id") != a.clientID:
		httpapi.WriteError(w, apperr.New(apperr.Invalid, "the code was issued to another client"))
		return
	case f.Get("redirect_uri") != a.redirectURI:
		httpapi.WriteError(w, apperr.New(apperr.Invalid, "redirect_uri differs from the authorization request's"))
		return
	case subtle.ConstantTimeCompare([]byte(challenge), []byte(a.challenge)) != 1:
		httpapi.WriteError(w, apperr.New(apperr.Invalid, "code_verifier does not match the code_challenge"))
		return
	}
	role := auth.RoleFan
	if a.clientID == StaffClientID {
		// The staff client's ID token: its audience, cognito:groups,
		// custom:org and email (devissuer.StaffClaims), what the staff routes'
		// authorizer and the tenancy check read in AWS.
		role = a.role
	}
	tok, exp, err := h.issuer.IssueFor(a.sub, role, a.org)
	if err != nil {
		httpapi.WriteError(w, apperr.Wrap(err, apperr.Internal, "issue token"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	// One dev token serves as both: the API accepts it, and it carries
	// the sub the site shows.
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "id_token": tok, "token_type": "Bearer",
		"expires_in": int(exp.Sub(h.clock.Now()).Seconds())})
}

func (h *hostedSignIn) logout(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("client_id")
	if (id != HostedClientID && id != StaffClientID) || !allowedReturn(id, q.Get("logout_uri")) {
		httpapi.WriteError(w, apperr.New(apperr.Invalid, "client_id and a logout_uri on this machine%s are required", staffPagesNote(id)))
		return
	}
	http.Redirect(w, r, q.Get("logout_uri"), http.StatusFound)
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
