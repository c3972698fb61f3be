package providers_test

import (
	"testing"

	"github.com/stararena/stararena/internal/payments/providers"
)

func TestRegistryIsWellFormed(t *testing.T) {
	names, envs := map[string]bool{}, map[string]string{}
	for _, d := range providers.All() {
		// THEN every entry is usable by config, app, infra and the site
		if err := d.Validate(); err != nil {
			t.Error(err)
		}
		// AND names and variables are unique across providers
		if names[d.Name] {
			t.Errorf("provider %q listed twice", d.Name)
		}
		names[d.Name] = true
		for _, s := range d.Settings {
			if other, ok := envs[s.Env]; ok {
				t.Errorf("%s is read by both %s and %s", s.Env, other, d.Name)
			}
			envs[s.Env] = d.Name
		}
	}
	// AND the providers the rest of the code base relies on are there
	for _, want := range []string{"sandbox", "stripe"} {
		if !names[want] {
			t.Errorf("no %q in the registry", want)
		}
	}
}

func TestDeployableLeavesOutLocalProviders(t *testing.T) {
	deployable := map[string]bool{}
	for _, d := range providers.Deployable() {
		deployable[d.Name] = true
	}
	for _, d := range providers.All() {
		if deployable[d.Name] == d.Local {
			t.Errorf("%s: local=%v, deployable=%v", d.Name, d.Local, deployable[d.Name])
		}
	}
	if deployable["sandbox"] || !deployable["stripe"] {
		t.Fatalf("Deployable() = %v: want stripe, not the sandbox", deployable)
	}
}

func TestAllReturnsACopy(t *testing.T) {
	providers.All()[0].Name = "changed"
	if providers.All()[0].Name == "changed" {
		t.Fatal("a caller changed the registry")
	}
}
