package devstack

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/botlevel"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/jsonbody"
	"github.com/stararena/stararena/internal/topology"
)

// The stand-in for AWS WAF's Challenge on the join route (ADR 22). In AWS
// the WAF answers a join without a valid token 202 with x-amzn-waf-action:
// challenge and never forwards it; the page's challenge script solves a
// silent browser check, gets a token in the aws-waf-token cookie and joins
// again. Here the script is /dev/waf/challenge.js, the check a small proof
// of work, and the token an HMAC of its expiry.
//
// An organizer may raise an event to CAPTCHA (PUT /admin/v1/events/{eventId}/
// bot-level): its joins then need a token from a solved CAPTCHA, else the
// WAF answers 405 with x-amzn-waf-action: captcha, as AWS's CAPTCHA action
// does. The stand-in matches the same patterns as the web ACL's pattern set
// (botlevel.EventPatterns), and its CAPTCHA script (/dev/waf/captcha.js)
// offers AWS's CAPTCHA JavaScript API, AwsWafCaptcha.renderCaptcha, with a
// puzzle of digits to type in place of AWS's images.
const (
	// WafTokenCookie is the cookie the token travels in, as in AWS.
	WafTokenCookie = "aws-waf-token"
	// WafActionHeader names what the WAF asks for (challenge, captcha).
	WafActionHeader = "x-amzn-waf-action"
	// ChallengeScript is the stand-in's script, which the local site's
	// config.json names.
	ChallengeScript = "/dev/waf/challenge.js"
	// CaptchaScript is the CAPTCHA JavaScript API's stand-in.
	CaptchaScript = "/dev/waf/captcha.js"
	// CaptchaAPIKey is what the local config.json gives the CAPTCHA API
	// (AWS's needs an API key for the site's domain; the stand-in none).
	CaptchaAPIKey = "local"
	// captchaDigits is how many digits the stand-in's puzzle shows.
	captchaDigits = 5
	// challengeBits: leading zero bits of SHA-256(nonce ":" counter), a
	// few thousand hashes in a browser.
	challengeBits = 10
	// challengeImmunity is how long a token is good for: the web ACL's.
	challengeImmunity = 5 * time.Minute
	puzzleTTL         = time.Minute
)

//go:embed wafchallenge.js
var challengeJS string

//go:embed wafcaptcha.js
var captchaJS string

type botCheck struct {
	key   []byte
	clock clock.Clock
	topo  topology.Topology
	joins []topology.Route

	mu sync.Mutex
	// captcha holds the join patterns of the events at CAPTCHA, by event.
	captcha map[string][]*regexp.Regexp
}

// SetCaptcha is botlevel.Edge: the stand-in's pattern set.
func (b *botCheck) SetCaptcha(_ context.Context, eventID string, on bool) error {
	var res []*regexp.Regexp
	for _, p := range botlevel.EventPatterns(b.topo, eventID) {
		re, err := regexp.Compile(p)
		if err != nil {
			return fmt.Errorf("event %s's join pattern: %w", eventID, err)
		}
		res = append(res, re)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if on {
		b.captcha[eventID] = res
	} else {
		delete(b.captcha, eventID)
	}
	return nil
}

// needsCaptcha reports whether path is the join of an event at CAPTCHA.
func (b *botCheck) needsCaptcha(path string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, res := range b.captcha {
		for _, re := range res {
			if re.MatchString(path) {
				return true
			}
		}
	}
	return false
}

func newBotCheck(tp topology.Topology, clk clock.Clock) *botCheck {
	b := &botCheck{key: make([]byte, 32), clock: clk, topo: tp, captcha: map[string][]*regexp.Regexp{}}
	_, _ = rand.Read(b.key)
	for _, r := range tp.Routes {
		if r.Integration == topology.IntegrationSQS {
			b.joins = append(b.joins, r)
		}
	}
	return b
}

func (b *botCheck) register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+ChallengeScript, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = io.WriteString(w, challengeJS)
	})
	mux.HandleFunc("GET /dev/waf/puzzle", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]any{"nonce": b.sign("p", b.clock.Now().Add(puzzleTTL)), "bits": challengeBits})
	})
	mux.HandleFunc("POST /dev/waf/token", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Nonce   string `json:"nonce"`
			Counter string `json:"counter"`
		}
		body, err := readLimited(w, r, 1024)
		if err == nil {
			err = jsonbody.Decode(body, 1024, &req)
		}
		if err == nil && (!b.valid("p", req.Nonce) || !solved(req.Nonce, req.Counter)) {
			err = apperr.New(apperr.Forbidden, "the bot check's answer is wrong or its puzzle expired")
		}
		if err != nil {
			httpapi.WriteError(w, err)
			return
		}
		b.issue(w, "t")
	})
	mux.HandleFunc("GET "+CaptchaScript, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = io.WriteString(w, captchaJS)
	})
	mux.HandleFunc("GET /dev/waf/captcha-puzzle", func(w http.ResponseWriter, _ *http.Request) {
		nonce := b.sign("q", b.clock.Now().Add(puzzleTTL))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]any{"nonce": nonce, "digits": b.captchaAnswer(nonce)})
	})
	mux.HandleFunc("POST /dev/waf/captcha-token", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Nonce  string `json:"nonce"`
			Answer string `json:"answer"`
		}
		body, err := readLimited(w, r, 1024)
		if err == nil {
			err = jsonbody.Decode(body, 1024, &req)
		}
		if err == nil && (!b.valid("q", req.Nonce) || !hmac.Equal([]byte(strings.TrimSpace(req.Answer)), []byte(b.captchaAnswer(req.Nonce)))) {
			err = apperr.New(apperr.Forbidden, "the CAPTCHA's answer is wrong or its puzzle expired")
		}
		if err != nil {
			httpapi.WriteError(w, err)
			return
		}
		b.issue(w, "c")
	})
}

// issue sets and answers a token of kind: "t" a passed challenge, "c" a
// solved CAPTCHA (which passes the challenge too, as in AWS).
func (b *botCheck) issue(w http.ResponseWriter, kind string) {
	tok := b.sign(kind, b.clock.Now().Add(challengeImmunity))
	http.SetCookie(w, &http.Cookie{Name: WafTokenCookie, Value: tok, Path: "/", MaxAge: int(challengeImmunity.Seconds()), SameSite: http.SameSiteLaxMode})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]string{"token": tok})
}

// captchaAnswer is the digits the puzzle nonce shows: derived from the
// nonce with the stand-in's key, so nothing is kept per puzzle.
func (b *botCheck) captchaAnswer(nonce string) string {
	sum := hmac.New(sha256.New, b.key)
	sum.Write([]byte("captcha:" + nonce))
	d := sum.Sum(nil)
	out := make([]byte, captchaDigits)
	for i := range out {
		out[i] = '0' + d[i]%10
	}
	return string(out)
}

// check is what the WAF asks of r: "" lets it through (anything but a
// join, or a join with a valid token: the cookie, or the x-aws-waf-token
// header the SDK's fetch wrapper sends), else "captcha" for a join of an
// event at CAPTCHA without a solved one, "challenge" for any other.
func (b *botCheck) check(r *http.Request) string {
	if r.Method != http.MethodPost || !b.isJoin(r.URL.Path) {
		return ""
	}
	tok := r.Header.Get("X-Aws-Waf-Token")
	if c, err := r.Cookie(WafTokenCookie); err == nil {
		tok = c.Value
	}
	captcha := b.valid("c", tok)
	switch {
	case b.needsCaptcha(r.URL.Path) && !captcha:
		return "captcha"
	case !captcha && !b.valid("t", tok):
		return "challenge"
	}
	return ""
}

func (b *botCheck) isJoin(path string) bool {
	for _, r := range b.joins {
		if r.MatchesPath(path) {
			return true
		}
	}
	return false
}

// sign is "<kind>.<expiry unix>.<random>.<mac>".
func (b *botCheck) sign(kind string, exp time.Time) string {
	n := make([]byte, 12)
	_, _ = rand.Read(n)
	msg := kind + "." + strconv.FormatInt(exp.Unix(), 10) + "." + base64.RawURLEncoding.EncodeToString(n)
	return msg + "." + b.mac(msg)
}

func (b *botCheck) valid(kind, s string) bool {
	i := strings.LastIndexByte(s, '.')
	if i < 0 || !hmac.Equal([]byte(s[i+1:]), []byte(b.mac(s[:i]))) {
		return false
	}
	parts := strings.Split(s[:i], ".")
	if len(parts) != 3 || parts[0] != kind {
		return false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	return err == nil && b.clock.Now().Unix() < exp
}

func (b *botCheck) mac(msg string) string {
	m := hmac.New(sha256.New, b.key)
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func solved(nonce, counter string) bool {
	if len(counter) > 20 {
		return false
	}
	sum := sha256.Sum256([]byte(nonce + ":" + counter))
	for i := range challengeBits {
		if sum[i/8]&(0x80>>(i%8)) != 0 {
			return false
		}
	}
	return true
}

// wafChallenge is the WAF's answer to a join without a valid token: 202
// for a challenge, 405 for a CAPTCHA, as AWS WAF answers them.
func wafChallenge(w http.ResponseWriter, action string) {
	w.Header().Set(WafActionHeader, action)
	w.Header().Set("Cache-Control", "no-store")
	if action == "captcha" {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// SolveBotCheck solves the local stack's bot check at base as the page's
// script does and returns the token, for clients that join without a
// browser (tests, load runs).
func SolveBotCheck(ctx context.Context, c *http.Client, base string) (string, error) {
	var p struct {
		Nonce string `json:"nonce"`
	}
	if err := getJSON(ctx, c, base+"/dev/waf/puzzle", &p); err != nil {
		return "", fmt.Errorf("bot check puzzle: %w", err)
	}
	counter := 0
	for !solved(p.Nonce, strconv.Itoa(counter)) {
		counter++
	}
	return postForToken(ctx, c, base+"/dev/waf/token", map[string]string{"nonce": p.Nonce, "counter": strconv.Itoa(counter)})
}

// SolveCaptcha solves the local stack's CAPTCHA at base as a fan does in
// the stand-in's page (reads the digits, types them) and returns the
// token, for clients that join without a browser.
func SolveCaptcha(ctx context.Context, c *http.Client, base string) (string, error) {
	var p struct {
		Nonce  string `json:"nonce"`
		Digits string `json:"digits"`
	}
	if err := getJSON(ctx, c, base+"/dev/waf/captcha-puzzle", &p); err != nil {
		return "", fmt.Errorf("captcha puzzle: %w", err)
	}
	return AnswerCaptcha(ctx, c, base, p.Nonce, p.Digits)
}

// AnswerCaptcha sends answer to the puzzle nonce and returns the token.
func AnswerCaptcha(ctx context.Context, c *http.Client, base, nonce, answer string) (string, error) {
	return postForToken(ctx, c, base+"/dev/waf/captcha-token", map[string]string{"nonce": nonce, "answer": answer})
}

func getJSON(ctx context.Context, c *http.Client, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}

// postForToken sends an answer and returns the token the stand-in issued.
func postForToken(ctx context.Context, c *http.Client, url string, answer map[string]string) (string, error) {
	body, _ := json.Marshal(answer)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("answer %s: %w", url, err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil || out.Token == "" {
		return "", fmt.Errorf("answer %s refused: %s", url, resp.Status)
	}
	return out.Token, nil
}
