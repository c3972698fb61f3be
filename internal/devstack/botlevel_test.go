package devstack_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/testenv/fixture"
)

// An organizer raises an event's bot level during a sale (PUT
// /admin/v1/events/{eventId}/bot-level): the CDN stand-in then answers
// that event's joins without a solved CAPTCHA 405 with x-amzn-waf-action:
// captcha, as AWS WAF's CAPTCHA does, however good their challenge token;
// a solved CAPTCHA lets the join through; other events' joins are not
// touched; lowering the level lifts it; the change is in the audit log.
func TestOrganizerRaisesAnEventToCaptcha(t *testing.T) {
	ctx := context.Background()
	st := fixture.Stack(t, devstack.Options{ReconcileEvery: -1, InletEvery: -1, BotCheck: true})
	org, _, err := st.Issuer.Issue("organizer-1", auth.RoleOrganizer)
	if err != nil {
		t.Fatal(err)
	}
	c := &stackClient{t: t, st: st, http: http.DefaultClient}
	newEvent := func(name string) string {
		ev := c.json("POST", "/admin/v1/events", org, map[string]any{
			"name": name, "venue": "Arena", "startsAt": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339),
			"saleOpensAt": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339),
			"queue":       map[string]any{"mode": "on", "admitPerMinute": 600},
			"sections":    []any{map[string]any{"id": "GA", "name": "Standing", "priceCents": 4000, "currency": "EUR", "capacity": 40}},
		}, http.StatusCreated)
		return ev["eventId"].(string)
	}
	raised, other := newEvent("Bots"), newEvent("Calm")
	join := func(event, sub, wafToken string) (int, string) {
		t.Helper()
		tok, _, err := st.Issuer.Issue(sub, auth.RoleFan)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", st.URL()+"/v1/events/"+event+"/queue", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.AddCookie(&http.Cookie{Name: devstack.WafTokenCookie, Value: wafToken})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode, resp.Header.Get(devstack.WafActionHeader)
	}
	challenged, err := devstack.SolveBotCheck(ctx, http.DefaultClient, st.URL())
	if err != nil {
		t.Fatal(err)
	}
	level := "/admin/v1/events/" + raised + "/bot-level"
	// GIVEN requests a manager's route refuses
	c.json("PUT", level, org, map[string]any{"level": "off"}, http.StatusBadRequest)
	c.json("PUT", level, org, map[string]any{"level": "captcha", "events": "all"}, http.StatusBadRequest)
	fan, _, _ := st.Issuer.Issue("fan-x", auth.RoleFan)
	c.json("PUT", level, fan, map[string]any{"level": "captcha"}, http.StatusForbidden)
	if s, a := join(raised, "fan-before", challenged); s != http.StatusAccepted || a != "" {
		t.Fatalf("join before the level is raised: %d %q", s, a)
	}

	// WHEN the organizer raises the event to CAPTCHA
	got := c.json("PUT", level, org, map[string]any{"level": "captcha"}, http.StatusOK)
	if got["eventId"] != raised || got["level"] != "captcha" {
		t.Fatalf("answer %v", got)
	}
	// THEN a join with only the challenge's token meets the CAPTCHA
	if s, a := join(raised, "fan-challenged", challenged); s != http.StatusMethodNotAllowed || a != "captcha" {
		t.Errorf("join with a challenge token: %d %q, want 405 captcha", s, a)
	}
	// AND a wrong answer gets no token
	if _, err := devstack.AnswerCaptcha(ctx, http.DefaultClient, st.URL(), "q.1.x.y", "00000"); err == nil {
		t.Error("a made-up puzzle's answer was taken")
	}
	// AND a solved CAPTCHA lets the join through
	solved, err := devstack.SolveCaptcha(ctx, http.DefaultClient, st.URL())
	if err != nil {
		t.Fatal(err)
	}
	if s, a := join(raised, "fan-solved", solved); s != http.StatusAccepted || a != "" {
		t.Errorf("join with a solved CAPTCHA: %d %q", s, a)
	}
	// AND another event's joins still meet the challenge only
	if s, a := join(other, "fan-other", challenged); s != http.StatusAccepted || a != "" {
		t.Errorf("another event's join: %d %q", s, a)
	}
	// AND lowering the level lifts the CAPTCHA
	c.json("PUT", level, org, map[string]any{"level": "challenge"}, http.StatusOK)
	if s, a := join(raised, "fan-after", challenged); s != http.StatusAccepted || a != "" {
		t.Errorf("join after lowering: %d %q", s, a)
	}
	waitIdle(t, st)
	places, err := st.App.Stores.Waitroom.Places(ctx, raised, []string{"fan-before", "fan-challenged", "fan-solved", "fan-after"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := places["fan-challenged"]; ok || len(places) != 3 {
		t.Errorf("places %v: want all but fan-challenged's", places)
	}
	// AND both changes are in the audit log, with the event and the level
	audit := c.json("GET", "/admin/v1/audit", org, nil, http.StatusOK)
	var levels []string
	for _, e := range audit["entries"].([]any) {
		if e := e.(map[string]any); e["action"] == "event.bot-level" && e["eventId"] == raised {
			levels = append(levels, e["detail"].(string))
		}
	}
	if len(levels) != 2 {
		t.Errorf("audit entries %v, want the two changes", levels)
	}
}
