package devstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/testenv/fixture"
	"github.com/stararena/stararena/internal/topology"
)

// The API is reached through the CDN stand-in only, as through CloudFront
// in AWS (ADR 22). On the API's own address a CDN route without the origin
// proof, or with a forged one, is refused with the contract's JSON error;
// a join sent there is refused by the queue (no proof) or dropped by the
// assigner (a forged one), never placed. A proof a client sends through
// the CDN is replaced, and staff routes take the API's own address.
func TestAPIOnlyThroughTheCDN(t *testing.T) {
	st := fixture.Stack(t, devstack.Options{ReconcileEvery: -1, InletEvery: -1})
	send := func(base, method, path, token, proof string, body any) (int, []byte) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if proof != "" {
			req.Header.Set(topology.OriginHeader, proof)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	refusedForOrigin := func(what string, status int, body []byte) {
		t.Helper()
		var e httpapi.ErrorBody
		if status != http.StatusForbidden || json.Unmarshal(body, &e) != nil || e.Error.Code != "FORBIDDEN" ||
			!strings.Contains(e.Error.Message, "site's address") {
			t.Errorf("%s: %d %s, want 403 FORBIDDEN naming the site's address", what, status, body)
		}
	}

	if s, b := send(st.URL(), "GET", "/v1/events", "", "", nil); s != http.StatusOK {
		t.Fatalf("through the CDN: %d %s", s, b)
	}
	if s, b := send(st.URL(), "GET", "/v1/events", "", "forged", nil); s != http.StatusOK {
		t.Errorf("through the CDN with a client's own proof (replaced): %d %s", s, b)
	}
	s, b := send(st.OriginURL(), "GET", "/v1/events", "", "", nil)
	refusedForOrigin("origin without proof", s, b)
	s, b = send(st.OriginURL(), "GET", "/v1/events", "", "forged", nil)
	refusedForOrigin("origin with a forged proof", s, b)

	org, _, err := st.Issuer.Issue("organizer-1", auth.RoleOrganizer)
	if err != nil {
		t.Fatal(err)
	}
	s, b = send(st.OriginURL(), "POST", "/admin/v1/events", org, "", map[string]any{
		"name": "Origin", "venue": "Arena", "startsAt": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339),
		"saleOpensAt": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339),
		"queue":       map[string]any{"mode": "on", "admitPerMinute": 600},
		"sections":    []any{map[string]any{"id": "GA", "name": "Standing", "priceCents": 4000, "currency": "EUR", "capacity": 40}},
	})
	var ev struct {
		EventID string `json:"eventId"`
	}
	if s != http.StatusCreated || json.Unmarshal(b, &ev) != nil {
		t.Fatalf("staff route on the API's own address: %d %s", s, b)
	}
	join := "/v1/events/" + ev.EventID + "/queue"
	token := func(sub string) string {
		tok, _, err := st.Issuer.Issue(sub, auth.RoleFan)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if s, b := send(st.OriginURL(), "POST", join, token("fan-bare"), "", nil); s != http.StatusBadRequest {
		t.Errorf("join on the origin without proof: %d %s, want 400 (the queue refuses the empty attribute)", s, b)
	}
	if s, b := send(st.OriginURL(), "POST", join, token("fan-forged"), "forged", nil); s != http.StatusAccepted {
		t.Fatalf("join on the origin with a forged proof: %d %s, want 202 (SQS takes it; the assigner drops it)", s, b)
	}
	if s, b := send(st.URL(), "POST", join, token("fan-cdn"), "", nil); s != http.StatusAccepted {
		t.Fatalf("join through the CDN: %d %s", s, b)
	}
	waitIdle(t, st)
	places, err := st.App.Stores.Waitroom.Places(context.Background(), ev.EventID, []string{"fan-bare", "fan-forged", "fan-cdn"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := places["fan-cdn"]; !ok || len(places) != 1 {
		t.Errorf("places %v: want fan-cdn's only", places)
	}
}

// The CDN stand-in's WAF challenges every join without a solved bot check
// as AWS WAF's Challenge does (202, x-amzn-waf-action: challenge, nothing
// queued); a forged token is challenged too; a solved check's token lets
// the join through to a place. The page's stand-in script is served.
func TestJoinMeetsTheBotCheck(t *testing.T) {
	st := fixture.Stack(t, devstack.Options{ReconcileEvery: -1, InletEvery: -1, BotCheck: true})
	org, _, err := st.Issuer.Issue("organizer-1", auth.RoleOrganizer)
	if err != nil {
		t.Fatal(err)
	}
	c := &stackClient{t: t, st: st, http: http.DefaultClient}
	ev := c.json("POST", "/admin/v1/events", org, map[string]any{
		"name": "Bots", "venue": "Arena", "startsAt": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339),
		"saleOpensAt": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339),
		"queue":       map[string]any{"mode": "on", "admitPerMinute": 600},
		"sections":    []any{map[string]any{"id": "GA", "name": "Standing", "priceCents": 4000, "currency": "EUR", "capacity": 40}},
	}, http.StatusCreated)
	id := ev["eventId"].(string)
	join := func(sub, wafToken string) *http.Response {
		t.Helper()
		tok, _, err := st.Issuer.Issue(sub, auth.RoleFan)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", st.URL()+"/v1/events/"+id+"/queue", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if wafToken != "" {
			req.AddCookie(&http.Cookie{Name: devstack.WafTokenCookie, Value: wafToken})
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp
	}
	for sub, tok := range map[string]string{"fan-none": "", "fan-forged": "t.99999999999.abc.def"} {
		if resp := join(sub, tok); resp.StatusCode != http.StatusAccepted || resp.Header.Get(devstack.WafActionHeader) != "challenge" {
			t.Errorf("%s: %d %s=%q, want 202 with the challenge", sub, resp.StatusCode, devstack.WafActionHeader, resp.Header.Get(devstack.WafActionHeader))
		}
	}
	tok, err := devstack.SolveBotCheck(context.Background(), http.DefaultClient, st.URL())
	if err != nil {
		t.Fatal(err)
	}
	if resp := join("fan-solved", tok); resp.StatusCode != http.StatusAccepted || resp.Header.Get(devstack.WafActionHeader) != "" {
		t.Fatalf("join with a solved check: %d %s=%q", resp.StatusCode, devstack.WafActionHeader, resp.Header.Get(devstack.WafActionHeader))
	}
	waitIdle(t, st)
	places, err := st.App.Stores.Waitroom.Places(context.Background(), id, []string{"fan-none", "fan-forged", "fan-solved"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := places["fan-solved"]; !ok || len(places) != 1 {
		t.Errorf("places %v: want fan-solved's only", places)
	}
	resp, err := http.Get(st.URL() + devstack.ChallengeScript)
	if err != nil {
		t.Fatal(err)
	}
	script, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") ||
		!strings.Contains(string(script), "AwsWafIntegration") {
		t.Errorf("challenge script: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
