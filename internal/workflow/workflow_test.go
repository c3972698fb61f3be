package workflow

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

type state struct {
	Type     string
	Resource string
	Next     string
	Error    string
	Retry    []struct{ ErrorEquals []string }
	Catch    []struct {
		ErrorEquals []string
		Next        string
	}
}

func parse(t *testing.T) (map[string]any, map[string]state) {
	t.Helper()
	var raw map[string]any
	if err := json.Unmarshal(Definition(), &raw); err != nil {
		t.Fatalf("definition is not JSON: %v", err)
	}
	var typed struct{ States map[string]state }
	if err := json.Unmarshal(Definition(), &typed); err != nil {
		t.Fatal(err)
	}
	return raw, typed.States
}

func TestDefinitionNamesMatchTheConstants(t *testing.T) {
	raw, states := parse(t)
	if raw["QueryLanguage"] != nil && raw["QueryLanguage"] != "JSONPath" {
		t.Fatalf("QueryLanguage %v: the local runtime runs JSONPath only", raw["QueryLanguage"])
	}
	for _, name := range []string{StateAwaitPayment, StateConfirmPayment, StateIsPaid, StateReleaseHold, StatePaidDuringRelease, StateReleased,
		StateIssueTickets, StateIssued, StateMarkIssueFailed, StateIssueFailed} {
		if _, ok := states[name]; !ok {
			t.Errorf("state %q missing", name)
		}
	}
	if len(states) != 10 {
		t.Errorf("%d states, want the 10 named here", len(states))
	}

	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{Function_([^}]+)\}`).FindAllStringSubmatch(string(Definition()), -1) {
		used[m[1]] = true
	}
	for _, fn := range Functions() {
		if !used[fn] {
			t.Errorf("function %q is not invoked by the definition", fn)
		}
		delete(used, fn)
	}
	if len(used) > 0 {
		t.Errorf("definition invokes functions without a constant: %v", used)
	}

	if s := states[StateIssueFailed]; s.Type != "Fail" || s.Error != ErrTicketIssueFailed {
		t.Errorf("IssueFailed = %+v, want Fail with %s", s, ErrTicketIssueFailed)
	}
	if !slices.ContainsFunc(states[StateIssueTickets].Retry, func(r struct{ ErrorEquals []string }) bool {
		return slices.Contains(r.ErrorEquals, ErrTicketIssuerUnavailable)
	}) {
		t.Errorf("IssueTickets does not retry %s", ErrTicketIssuerUnavailable)
	}
	catches := map[string]string{}
	for _, c := range states[StateAwaitPayment].Catch {
		for _, e := range c.ErrorEquals {
			catches[e] = c.Next
		}
	}
	if catches["States.Timeout"] != StateConfirmPayment || catches[ErrPaymentFailed] != StateConfirmPayment {
		t.Errorf("AwaitPayment catches %v, want States.Timeout and %s -> %s", catches, ErrPaymentFailed, StateConfirmPayment)
	}

	// Every lambda:invoke Task retries the Lambda service errors AWS recommends retrying.
	for name, s := range states {
		if !strings.HasPrefix(s.Resource, "arn:aws:states:::lambda:invoke") {
			continue
		}
		var all []string
		for _, r := range s.Retry {
			all = append(all, r.ErrorEquals...)
		}
		for _, e := range []string{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"} {
			if !slices.Contains(all, e) {
				t.Errorf("state %s does not retry %s", name, e)
			}
		}
	}
}

func TestDefinitionIsTheFileAtDefinitionPath(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), filepath.FromSlash(DefinitionPath)))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(Definition()) {
		t.Fatalf("%s differs from the embedded definition", DefinitionPath)
	}
}

// scripts/lint-asl.sh (run by make test) must pass on the real definition and
// fail on broken ones, or the lint proves nothing.
func TestLintASL(t *testing.T) {
	if testing.Short() {
		t.Skip("asl-validator in Node (about 10 s); make lint runs it too")
	}
	root := repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "node_modules", "asl-validator")); errors.Is(err, os.ErrNotExist) {
		t.Skip("node_modules/asl-validator absent: run `npm ci` at the repository root (make test does)")
	}
	script := filepath.Join(root, "scripts", "lint-asl.sh")
	run := func(files ...string) (string, error) {
		out, err := exec.Command("bash", append([]string{script}, files...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := run(); err != nil {
		t.Fatalf("lint-asl.sh on the repository: %v\n%s", err, out)
	}

	dir := t.TempDir()
	broken := map[string]string{
		"dangling-next.asl.json": strings.Replace(string(Definition()), `"Next": "IssueTickets"`, `"Next": "IssueTicketz"`, 1),
		"bad-type.asl.json":      strings.Replace(string(Definition()), `"Type": "Choice"`, `"Type": "Chooser"`, 1),
		"not-json.asl.json":      string(Definition())[:100],
		"jsonata.asl.json":       strings.Replace(string(Definition()), `"StartAt"`, `"QueryLanguage": "JSONata", "StartAt"`, 1),
	}
	for name, body := range broken {
		if body == string(Definition()) {
			t.Fatalf("%s: the edit did not apply", name)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := run(path)
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Errorf("lint-asl.sh passed a broken definition (%s): err=%v\n%s", name, err, out)
		}
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}
