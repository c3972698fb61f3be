package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/testenv/fixture"
)

func TestOrganizerRunsASaleOnTheLocalStack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the local stack")
	}
	st := fixture.Stack(t, devstack.Options{ReconcileEvery: -1, InletEvery: -1, Logger: testenv.Logs(t, slog.LevelWarn)})
	cmd := func(stdin string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"-api", st.URL()}, args...), strings.NewReader(stdin), &out, &errOut)
		return code, out.String(), errOut.String()
	}

	// An event from standard input: the command signs in as a dev organizer.
	code, out, errOut := cmd(`{"name":"Club night","venue":"Small Hall","startsAt":"2030-06-01T20:00:00Z","saleOpensAt":"2030-05-01T10:00:00Z",
		"sections":[{"id":"A","priceCents":4500,"currency":"EUR","rows":[{"id":"1","seats":20}]}]}`, "POST", "/admin/v1/events", "-")
	var ev struct {
		EventID  string `json:"eventId"`
		Capacity int    `json:"capacity"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &ev) != nil || ev.EventID == "" || ev.Capacity != 20 {
		t.Fatalf("create: exit %d, %q, %s", code, out, errOut)
	}
	// Open the sale with inline JSON, then read the report.
	if code, out, errOut := cmd("", "POST", "/admin/v1/events/"+ev.EventID+"/sale", `{"action":"open"}`); code != 0 || !strings.Contains(out, `"OPEN"`) {
		t.Fatalf("open: exit %d, %q, %s", code, out, errOut)
	}
	if code, out, errOut := cmd("", "get", "/admin/v1/events/"+ev.EventID+"/report"); code != 0 || !strings.Contains(out, ev.EventID) {
		t.Fatalf("report: exit %d, %q, %s", code, out, errOut)
	}
	// The API's refusal is printed and makes the exit status 1.
	if code, out, errOut := cmd("", "POST", "/admin/v1/events/"+ev.EventID+"/sale", `{"action":"reopen"}`); code != 1 ||
		!strings.Contains(out, `"INVALID_REQUEST"`) || !strings.Contains(errOut, "answered 400") {
		t.Fatalf("bad action: exit %d, %q, %s", code, out, errOut)
	}
	// -org acts for another organization, which does not see this one's
	// event; its own events list is its own.
	if code, out, errOut := cmd("", "-org", "org-b", "GET", "/admin/v1/events/"+ev.EventID+"/report"); code != 1 ||
		!strings.Contains(out, `"NOT_FOUND"`) || !strings.Contains(errOut, "answered 404") {
		t.Fatalf("another organization: exit %d, %q, %s", code, out, errOut)
	}
	if code, out, errOut := cmd("", "-org", "org-b", "GET", "/admin/v1/events"); code != 0 || strings.Contains(out, ev.EventID) {
		t.Fatalf("another organization's list: exit %d, %q, %s", code, out, errOut)
	}
	// A fan's token is refused by the staff routes' authorizer.
	fan, _, _ := st.Issuer.Issue("fan-1", "fan")
	if code, _, errOut := cmd("", "-token", fan, "GET", "/admin/v1/events/"+ev.EventID+"/report"); code != 1 || !strings.Contains(errOut, "answered 401") {
		t.Fatalf("fan token: exit %d, %s", code, errOut)
	}
}

func TestOrganizerRefusesBadArguments(t *testing.T) {
	for name, args := range map[string][]string{
		"NoPath":      {"GET"},
		"TooMany":     {"GET", "/a", "{}", "x"},
		"BodyNotJSON": {"POST", "/admin/v1/reconcile", "{not json"},
		"NoSuchFile":  {"POST", "/admin/v1/events", "no-such-file.json"},
		"BadFlag":     {"-nope", "GET", "/"},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(context.Background(), append([]string{"-api", "http://127.0.0.1:1"}, args...), strings.NewReader(""), &out, &errOut); code != 2 {
				t.Fatalf("exit %d (%s), want 2 before any request", code, errOut.String())
			}
		})
	}
}
