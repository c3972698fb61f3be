package stack

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stararena/stararena/internal/testenv"
)

// cfnLintMatch is one finding of `cfn-lint --format json`.
type cfnLintMatch struct {
	Filename string
	Level    string
	Message  string
	Rule     struct{ Id string }
	Location struct {
		Start struct{ LineNumber int }
		Path  []any
	}
}

func TestCfnLintFindsNoErrorsOrWarningsInAnySynthesizedTemplate(t *testing.T) {
	// GIVEN AWS's CloudFormation linter (its resource schemas, not ours)
	bin := testenv.Tool(t, "cfn-lint", "pip install cfn-lint")
	if len(synthesized) < 3 {
		t.Fatalf("TestMain recorded %d templates; expected the main, edge and fixture stacks at least", len(synthesized))
	}
	for _, tmpl := range synthesized {
		t.Run(tmpl.Stack, func(t *testing.T) {
			// WHEN it lints the template for the Region the stack deploys to
			region := tmpl.Region
			if region == "" || strings.HasPrefix(region, "unknown-") || strings.Contains(region, "${") {
				region = "us-east-1"
			}
			matches := cfnLint(t, bin, tmpl.Path, region)
			// THEN it finds no error and no warning (informational
			// findings are listed, not failed)
			for _, m := range matches {
				line := m.Rule.Id + " " + strings.Join(pathOf(m), "/") + ": " + m.Message
				if m.Level == "Error" || m.Level == "Warning" {
					t.Errorf("%s %s", m.Level, line)
				} else {
					t.Logf("%s %s", m.Level, line)
				}
			}
		})
	}
}

// cfnLint runs cfn-lint on one template and returns its findings.
func cfnLint(t *testing.T, bin, path, region string) []cfnLintMatch {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "--format", "json", "--regions", region, "--", path)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Away from the repository, so no .cfnlintrc there can silence a rule.
	cmd.Dir = t.TempDir()
	err := cmd.Run()
	// cfn-lint's exit status is a bit mask of the levels it found (2
	// error, 4 warning, 8 informational); 1 means it could not lint.
	var exit *exec.ExitError
	if err != nil && (!errors.As(err, &exit) || exit.ExitCode()&1 != 0) {
		t.Fatalf("cfn-lint %s: %v\n%s%s", path, err, stdout.String(), stderr.String())
	}
	var matches []cfnLintMatch
	if err := json.Unmarshal(stdout.Bytes(), &matches); err != nil {
		t.Fatalf("cfn-lint output is not its JSON format: %v\n%s", err, stdout.String())
	}
	return matches
}

func TestFunctionsAndStateMachinesStillDependOnTheirRolesPolicy(t *testing.T) {
	// GIVEN every function and state machine of the deployed and fixture
	// stacks, whose redundant DependsOn on their role the stack drops
	for name, tmpl := range map[string]*map[string]any{"main": deployed.ToJSON(), "fixture": fixture.ToJSON()} {
		resources, _ := (*tmpl)["Resources"].(map[string]any)
		checked := 0
		for id, r := range resources {
			res, _ := r.(map[string]any)
			typ := str(res["Type"])
			if typ != "AWS::Lambda::Function" && typ != "AWS::StepFunctions::StateMachine" {
				continue
			}
			checked++
			props, _ := res["Properties"].(map[string]any)
			role := refOf(props["Role"])
			if typ == "AWS::StepFunctions::StateMachine" {
				role = refOf(props["RoleArn"])
			}
			deps := stringList(res["DependsOn"])
			// THEN the role is ordered by the GetAtt alone
			if role == "" || slices.Contains(deps, role) {
				t.Errorf("%s %s: role %q, DependsOn %v", name, id, role, deps)
			}
			// AND the resource still waits for a policy of that role
			hasPolicy := false
			for _, d := range deps {
				dep, _ := resources[d].(map[string]any)
				dprops, _ := dep["Properties"].(map[string]any)
				if str(dep["Type"]) == "AWS::IAM::Policy" && slices.ContainsFunc(anyList(dprops["Roles"]), func(v any) bool { return refOf(v) == role }) {
					hasPolicy = true
				}
			}
			if !hasPolicy {
				t.Errorf("%s %s: DependsOn %v names no policy of its role %s", name, id, deps, role)
			}
		}
		if checked == 0 {
			t.Errorf("%s: no functions or state machines found", name)
		}
	}
}

func TestNoTemplateSilencesCfnLint(t *testing.T) {
	// GIVEN every synthesized template
	for _, tmpl := range synthesized {
		b, err := os.ReadFile(tmpl.Path)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Metadata  map[string]any
			Resources map[string]struct{ Metadata map[string]any }
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		// THEN neither the template nor any resource turns a cfn-lint rule
		// off: findings are fixed in the CDK code. (A suppression would
		// need the rule, the resource and a reason written next to it, as
		// the cdk-nag ones have.)
		if _, ok := doc.Metadata["cfn-lint"]; ok {
			t.Errorf("%s: template Metadata configures cfn-lint: %v", tmpl.Stack, doc.Metadata["cfn-lint"])
		}
		for id, r := range doc.Resources {
			if v, ok := r.Metadata["cfn-lint"]; ok {
				t.Errorf("%s %s: Metadata configures cfn-lint: %v", tmpl.Stack, id, v)
			}
		}
	}
}

// refOf names the resource a Ref or Fn::GetAtt points at ("" otherwise).
func refOf(v any) string {
	m, _ := v.(map[string]any)
	if r, ok := m["Ref"].(string); ok {
		return r
	}
	if g, ok := m["Fn::GetAtt"].([]any); ok && len(g) > 0 {
		return str(g[0])
	}
	return ""
}

func pathOf(m cfnLintMatch) []string {
	out := make([]string, len(m.Location.Path))
	for i, p := range m.Location.Path {
		out[i] = strings.TrimSpace(strings.ReplaceAll(jsonString(p), `"`, ""))
	}
	return out
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
