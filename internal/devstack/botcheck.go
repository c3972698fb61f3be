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
	"strconv"
	"strings"
	"time"

	"github.com/stararena/stararena/internal/apperr"
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
const (
	// WafTokenCookie is the cookie the token travels in, as in AWS.
	WafTokenCookie = "aws-waf-token"
	// WafActionHeader names what the WAF asks for (challenge, captcha).
	WafActionHeader = "x-amzn-waf-action"
	// ChallengeScript is the stand-in's script, which the local site's
	// config.json names.
	ChallengeScript = "/dev/waf/challenge.js"
	// challengeBits: leading zero bits of SHA-256(nonce ":" counter), a
	// few thousand hashes in a browser.
	challengeBits = 10
	// challengeImmunity is how long a token is good for: the web ACL's.
	challengeImmunity = 5 * time.Minute
	puzzleTTL         = time.Minute
)

//go:embed wafchallenge.js
var challengeJS string

type botCheck struct {
	key   []byte
	clock clock.Clock
	joins []topology.Route
}

func newBotCheck(tp topology.Topology, clk clock.Clock) *botCheck {
	b := &botCheck{key: make([]byte, 32), clock: clk}
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
		tok := b.sign("t", b.clock.Now().Add(challengeImmunity))
		http.SetCookie(w, &http.Cookie{Name: WafTokenCookie, Value: tok, Path: "/", MaxAge: int(challengeImmunity.Seconds()), SameSite: http.SameSiteLaxMode})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]string{"token": tok})
	})
}

// allows reports whether the WAF lets r through: anything but a join, or a
// join with a valid token (the cookie, or the x-aws-waf-token header the
// SDK's fetch wrapper sends).
func (b *botCheck) allows(r *http.Request) bool {
	if r.Method != http.MethodPost || !b.isJoin(r.URL.Path) {
		return true
	}
	tok := r.Header.Get("X-Aws-Waf-Token")
	if c, err := r.Cookie(WafTokenCookie); err == nil {
		tok = c.Value
	}
	return b.valid("t", tok)
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

// wafChallenge is the WAF's answer to a join without a valid token.
func wafChallenge(w http.ResponseWriter) {
	w.Header().Set(WafActionHeader, "challenge")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusAccepted)
}

// SolveBotCheck solves the local stack's bot check at base as the page's
// script does and returns the token, for clients that join without a
// browser (tests, load runs).
func SolveBotCheck(ctx context.Context, c *http.Client, base string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/dev/waf/puzzle", nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("bot check puzzle: %w", err)
	}
	var p struct {
		Nonce string `json:"nonce"`
	}
	err = json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if err != nil {
		return "", fmt.Errorf("bot check puzzle: %w", err)
	}
	counter := 0
	for !solved(p.Nonce, strconv.Itoa(counter)) {
		counter++
	}
	body, _ := json.Marshal(map[string]string{"nonce": p.Nonce, "counter": strconv.Itoa(counter)})
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, base+"/dev/waf/token", strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err = c.Do(req)
	if err != nil {
		return "", fmt.Errorf("bot check answer: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil || out.Token == "" {
		return "", fmt.Errorf("bot check answer refused: %s", resp.Status)
	}
	return out.Token, nil
}
