package handlers_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/devstack"
)

// TestPresaleCodesAdmitOnlyCodeHoldersInTheWindow: GIVEN an event whose
// sale opens in two hours WHEN its owner creates two one-use codes for a
// presale opening in one hour THEN bad requests get JSON errors, a code is
// refused before the window, in the window admission needs a known code
// with a use left (asking again with one's own code is free) and the
// admission makes a hold, the console counts the use, and from
// saleOpensAt fans are admitted without a code.
func TestPresaleCodesAdmitOnlyCodeHoldersInTheWindow(t *testing.T) {
	clk := &clock.Offset{}
	st := stackWith(t, devstack.Options{Clock: clk})
	c := client{t, st.URL()}
	owner := c.token("org-p", "organizer")
	now := time.Now().UTC()
	saleOpens := now.Add(2 * time.Hour).Truncate(time.Second)
	body := fmt.Sprintf(`{"name":"Presale night","venue":"Hall","startsAt":%q,"saleOpensAt":%q,"holdSeconds":600,"queue":{"mode":"off"},
		"sections":[{"id":"A","name":"Stalls","priceCents":4500,"currency":"EUR","rows":[{"id":"1","seats":4}]}]}`,
		now.Add(48*time.Hour).Format(time.RFC3339), saleOpens.Format(time.RFC3339))
	r := c.do("POST", "/admin/v1/events", owner, []byte(body), nil)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	event := r.json(t)["eventId"].(string)
	codesPath := "/admin/v1/events/" + event + "/presale-codes"
	errCode := func(r reply) string {
		t.Helper()
		e, _ := r.json(t)["error"].(map[string]any)
		code, _ := e["code"].(string)
		return code
	}

	opens := now.Add(time.Hour).Truncate(time.Second).Format(time.RFC3339)
	for _, bad := range []struct{ body, want string }{
		{`{"count":0,"uses":1,"opensAt":"` + opens + `"}`, "INVALID_REQUEST"},
		{`{"count":1,"uses":0,"opensAt":"` + opens + `"}`, "INVALID_REQUEST"},
		{`{"count":1,"uses":1,"opensAt":"soon"}`, "INVALID_REQUEST"},
		{`{"count":1,"uses":1,"opensAt":"` + saleOpens.Format(time.RFC3339) + `"}`, "INVALID_REQUEST"},
		{`{"count":1,"uses":1,"opensAt":"` + opens + `","prefix":"VIP"}`, "UNKNOWN_FIELD"},
	} {
		if r := c.do("POST", codesPath, owner, []byte(bad.body), nil); r.status != 400 || errCode(r) != bad.want {
			t.Errorf("%s: %d %s, want 400 %s", bad.body, r.status, r.body, bad.want)
		}
	}
	r = c.do("POST", codesPath, owner, []byte(`{"count":2,"uses":1,"opensAt":"`+opens+`"}`), nil)
	if r.status != 201 {
		t.Fatalf("create codes: %d %s", r.status, r.body)
	}
	var created struct {
		OpensAt time.Time
		Codes   []string
	}
	if err := json.Unmarshal(r.body, &created); err != nil || len(created.Codes) != 2 || created.Codes[0] == created.Codes[1] ||
		created.OpensAt.Format(time.RFC3339) != opens {
		t.Fatalf("created: %s %v", r.body, err)
	}
	for _, code := range created.Codes {
		if !regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$`).MatchString(code) {
			t.Fatalf("code %q is not four groups of four base32 characters", code)
		}
	}

	fan1, fan2 := c.token("fan-p1", "fan"), c.token("fan-p2", "fan")
	admit := func(token, code string) reply {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"presaleCode": code})
		return c.do("POST", "/v1/events/"+event+"/admission", token, b, nil)
	}
	r = admit(fan1, created.Codes[0])
	if d, _ := r.json(t)["error"].(map[string]any)["details"].(map[string]any); r.status != 409 || errCode(r) != "SALE_NOT_OPEN" ||
		d["saleState"] != "SCHEDULED" || d["presaleOpensAt"] != opens {
		t.Fatalf("a code before the window: %d %s", r.status, r.body)
	}

	clk.Advance(time.Hour + time.Minute)
	if r := c.do("GET", "/admin/v1/events/"+event, owner, nil, nil); r.json(t)["saleState"] != "PRESALE" {
		t.Fatalf("event in the window: %s", r.body)
	}
	if r := c.do("POST", "/v1/events/"+event+"/admission", fan1, nil, nil); r.status != 403 || errCode(r) != "PRESALE_CODE_REQUIRED" {
		t.Fatalf("no code in the window: %d %s", r.status, r.body)
	}
	if r := admit(fan1, "ABCD-EFGH-JKMN-PQRS"); r.status != 403 || errCode(r) != "PRESALE_CODE_UNKNOWN" {
		t.Fatalf("unknown code: %d %s", r.status, r.body)
	}
	// Typed loosely: lower case, no dashes.
	r = admit(fan1, strings.ToLower(strings.ReplaceAll(created.Codes[0], "-", "")))
	if r.status != 200 {
		t.Fatalf("fan-p1 with the first code: %d %s", r.status, r.body)
	}
	if again := admit(fan1, created.Codes[0]); again.status != 200 {
		t.Fatalf("fan-p1 asking again with its code: %d %s", again.status, again.body)
	}
	if r := admit(fan2, created.Codes[0]); r.status != 409 || errCode(r) != "PRESALE_CODE_EXHAUSTED" {
		t.Fatalf("fan-p2 with the used first code: %d %s", r.status, r.body)
	}
	b, _ := json.Marshal(map[string]any{"admissionToken": r.json(t)["admissionToken"], "seats": []string{"A-1-1"}})
	if h := c.do("POST", "/v1/events/"+event+"/holds", fan1, b, nil); h.status != 201 {
		t.Fatalf("presale hold: %d %s", h.status, h.body)
	}

	var sum struct {
		Uses, Used int
		Codes      []struct {
			Hint       string
			Uses, Used int
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r = c.do("GET", codesPath, owner, nil, nil)
		if err := json.Unmarshal(r.body, &sum); r.status != 200 || err != nil {
			t.Fatalf("list codes: %d %s", r.status, r.body)
		}
		if sum.Used == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if sum.Uses != 2 || sum.Used != 1 || len(sum.Codes) != 2 {
		t.Fatalf("console's counts: %s", r.body)
	}
	for _, cv := range sum.Codes {
		if want := map[bool]int{true: 1, false: 0}[strings.HasPrefix(created.Codes[0], cv.Hint)]; cv.Used != want || cv.Uses != 1 {
			t.Fatalf("code %s: %d of %d used, want %d", cv.Hint, cv.Used, cv.Uses, want)
		}
	}
	if fan3 := c.token("fan-p3", "fan"); c.do("GET", codesPath, fan3, nil, nil).status != 401 {
		t.Fatal("a fan reads the codes")
	}

	clk.Advance(time.Hour)
	if r := c.do("POST", "/v1/events/"+event+"/admission", fan2, nil, nil); r.status != 200 {
		t.Fatalf("public sale without a code: %d %s", r.status, r.body)
	}
	if r := c.do("POST", codesPath, owner, []byte(`{"count":1,"uses":1,"opensAt":"`+opens+`"}`), nil); r.status != 409 || errCode(r) != "INVALID_STATE" {
		t.Fatalf("codes after the sale opened: %d %s", r.status, r.body)
	}
}
