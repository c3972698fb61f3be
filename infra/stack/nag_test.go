package stack

import (
	"strings"
	"testing"
)

func TestCDKNagAwsSolutionsHasNoUnsuppressedFindings(t *testing.T) {
	// GIVEN the AwsSolutions pack ran over both deployed stacks during
	// TestMain's synth (NewApp adds it when Settings.Nag is on)
	if !testSettings.Nag {
		t.Fatal("the test app was built without cdk-nag")
	}
	// THEN it left no error or warning: every finding is fixed or
	// suppressed with a written reason next to the resource
	canary := false
	for _, m := range nagMessages {
		if !strings.Contains(m.Text, "AwsSolutions-") && !strings.Contains(m.Text, "CdkNagValidationFailure") {
			continue
		}
		if m.Stack == "NagCanary" {
			canary = canary || (strings.Contains(m.Text, "AwsSolutions-DDB3") && m.Level == "WARNING")
			continue
		}
		if m.Level == "ERROR" || m.Level == "WARNING" {
			t.Errorf("%s %s %s: %s", m.Stack, m.Level, m.Path, m.Text)
		}
	}
	// AND the checks are live: the canary table without point-in-time
	// recovery was flagged (errors would have failed TestMain's synth)
	if !canary {
		t.Error("cdk-nag did not flag the canary table: its messages are not being read")
	}
}

func TestEverySuppressionCarriesAReason(t *testing.T) {
	// GIVEN the cdk_nag suppressions recorded in the templates' metadata
	count := 0
	for name, tmpl := range map[string]*map[string]any{"main": deployed.ToJSON(), "edge": edge.ToJSON()} {
		resources, _ := (*tmpl)["Resources"].(map[string]any)
		for id, r := range resources {
			meta, _ := r.(map[string]any)["Metadata"].(map[string]any)
			nagMeta, _ := meta["cdk_nag"].(map[string]any)
			for _, s := range list(nagMeta["rules_to_suppress"]) {
				count++
				// THEN each names its rule and says why in a sentence
				reason := str(s["reason"])
				if !strings.HasPrefix(str(s["id"]), "AwsSolutions-") || len(reason) < 40 || !strings.ContainsAny(reason, ".:;") {
					t.Errorf("%s %s: suppression %v has no real reason", name, id, s)
				}
			}
		}
	}
	if count == 0 {
		t.Fatal("no suppressions found: is the metadata still recorded?")
	}
}
