package openapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/testenv"
)

// TestWalkthrough runs scripts/walkthrough.sh, the sale the README walks
// through with curl, against a fresh local stack: it must succeed, and the
// order it bought must be ISSUED with the ticket it scanned USED.
func TestWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the local stack")
	}
	// go: the script re-runs the draw with scripts/verify-draw.
	for _, tool := range []string{"bash", "curl", "grep", "sed", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the walkthrough needs %s: %v", tool, err)
		}
	}
	root := testenv.RepoRoot(t)
	st := startStack(t)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join("scripts", "walkthrough.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "API="+st.URL())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("scripts/walkthrough.sh: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	t.Logf("scripts/walkthrough.sh:\n%s", stdout.String())

	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var scan struct{ Result, TicketID, Seat string }
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &scan); err != nil || scan.Result != "ADMITTED" {
		t.Fatalf("the check-in answered %q (%v), want ADMITTED", lines[len(lines)-1], err)
	}
	order := regexp.MustCompile(`(?m)^order ([0-9a-f-]{36})$`).FindStringSubmatch(stdout.String())
	if order == nil {
		t.Fatalf("the walkthrough printed no order id")
	}

	// What the fan sees afterwards, read independently of the script.
	c := &conformance{t: t, spec: loadSpec(t), base: st.URL(), seen: map[string]map[int]bool{}}
	fan := c.token("fan-1", "fan")
	var o struct{ Status string }
	_, b := c.exchange(t, call{method: "GET", path: "/v1/orders/" + order[1], token: fan, status: 200, valid: true})
	mustJSON(t, b, &o)
	if o.Status != "ISSUED" {
		t.Errorf("order %s is %s, want ISSUED", order[1], o.Status)
	}
	var tk []struct{ TicketID, Status string }
	_, b = c.exchange(t, call{method: "GET", path: "/v1/orders/" + order[1] + "/tickets", token: fan, status: 200, valid: true})
	mustJSON(t, b, &tk)
	states := map[string]string{}
	for _, x := range tk {
		states[x.TicketID] = x.Status
	}
	if len(tk) != 2 || states[scan.TicketID] != "USED" {
		t.Errorf("tickets %v: want two, %s USED", states, scan.TicketID)
	}
}

// TestREADMEQuotesTheWalkthrough keeps the README's curl examples runnable:
// every ```sh block of README.md that calls curl must be a verbatim excerpt
// of scripts/walkthrough.sh, which TestWalkthrough runs.
func TestREADMEQuotesTheWalkthrough(t *testing.T) {
	readme := testenv.RepoFile(t, "README.md")
	script := testenv.RepoFile(t, "scripts", "walkthrough.sh")
	blocks := regexp.MustCompile("(?s)\n```sh\n(.*?)```\n").FindAllSubmatch(readme, -1)
	quoted := 0
	for _, b := range blocks {
		if !bytes.Contains(b[1], []byte("curl ")) {
			continue
		}
		quoted++
		if !bytes.Contains(script, b[1]) {
			t.Errorf("README.md has a curl block that is not an excerpt of scripts/walkthrough.sh (copy it from the script):\n%s", b[1])
		}
	}
	if quoted == 0 {
		t.Error("README.md quotes no curl block of scripts/walkthrough.sh")
	}
}
