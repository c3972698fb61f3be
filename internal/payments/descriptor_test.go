package payments_test

import (
	"strings"
	"testing"

	"github.com/stararena/stararena/internal/payments"
)

// acme is a well-formed descriptor the cases below break one way each.
func acme() payments.Descriptor {
	return payments.Descriptor{
		Name: "acme", Title: "Acme",
		Settings: []payments.Setting{
			{Env: "ACME_KEY", Required: true, Secret: true, Field: "key"},
			{Env: "ACME_ACCOUNT", Required: true, Field: "account"},
			{Env: "ACME_HOOK_SECRET", Secret: true, Use: payments.UseWebhooks, Field: "hookSecret"},
			{Env: "ACME_URL", Use: payments.UseLocal},
		},
		New:  func(payments.Values) (payments.Provider, error) { return nil, nil },
		Site: payments.Site{Script: "pay-acme.js", Public: []string{"siteKey"}},
	}
}

func TestDescriptorValidate(t *testing.T) {
	if err := acme().Validate(); err != nil {
		t.Fatalf("well-formed descriptor: %v", err)
	}
	cases := map[string]func(d *payments.Descriptor){
		"NameNotLowerCase":      func(d *payments.Descriptor) { d.Name = "Acme" },
		"NoTitle":               func(d *payments.Descriptor) { d.Title = "" },
		"NoNew":                 func(d *payments.Descriptor) { d.New = nil },
		"LocalWithNew":          func(d *payments.Descriptor) { d.Local = true; d.Settings = nil },
		"EnvWithoutPrefix":      func(d *payments.Descriptor) { d.Settings[0].Env = "KEY" },
		"DuplicateEnv":          func(d *payments.Descriptor) { d.Settings[1].Env = "ACME_KEY" },
		"DuplicateField":        func(d *payments.Descriptor) { d.Settings[1].Field = "key" },
		"ReservedField":         func(d *payments.Descriptor) { d.Settings[1].Field = "secretVersion" },
		"DeployedWithoutField":  func(d *payments.Descriptor) { d.Settings[1].Field = "" },
		"LocalSecret":           func(d *payments.Descriptor) { d.Settings[3].Secret = true },
		"RequiredOnlyInWebhook": func(d *payments.Descriptor) { d.Settings[2].Required = true },
		"UnknownUse":            func(d *payments.Descriptor) { d.Settings[0].Use = "sometimes" },
		"NothingRequired": func(d *payments.Descriptor) {
			d.Settings[0].Required, d.Settings[1].Required = false, false
		},
		"ScriptOutsidePayModules": func(d *payments.Descriptor) { d.Site.Script = "../app.js" },
		"PublicShadowsProvider":   func(d *payments.Descriptor) { d.Site.Public = []string{"provider"} },
		"PublicShadowsField":      func(d *payments.Descriptor) { d.Site.Public = []string{"account"} },
	}
	for name, breakIt := range cases {
		t.Run(name, func(t *testing.T) {
			d := acme()
			breakIt(&d)
			if err := d.Validate(); err == nil || !strings.Contains(err.Error(), `"`+d.Name+`"`) {
				t.Fatalf("Validate() = %v, want an error naming the provider", err)
			}
		})
	}
}

func TestDescriptorConfigured(t *testing.T) {
	d := acme()
	t.Run("OffWithoutRequiredSettings", func(t *testing.T) {
		if on, err := d.Configured(payments.Values{"ACME_HOOK_SECRET": "h", "ACME_URL": "http://x"}); on || err != nil {
			t.Fatalf("Configured = %v, %v; want off", on, err)
		}
	})
	t.Run("OnWithEveryRequiredSetting", func(t *testing.T) {
		if on, err := d.Configured(payments.Values{"ACME_KEY": "k", "ACME_ACCOUNT": "a"}); !on || err != nil {
			t.Fatalf("Configured = %v, %v; want on", on, err)
		}
	})
	t.Run("PartialIsRefusedNamingWhatIsMissing", func(t *testing.T) {
		on, err := d.Configured(payments.Values{"ACME_KEY": "k"})
		if on || err == nil || !strings.Contains(err.Error(), "ACME_ACCOUNT missing") {
			t.Fatalf("Configured = %v, %v; want an error naming ACME_ACCOUNT", on, err)
		}
	})
}

func TestDescriptorSiteConfig(t *testing.T) {
	got := acme().SiteConfig(map[string]string{"siteKey": "pk_1", "other": "ignored"})
	if len(got) != 3 || got["provider"] != "acme" || got["script"] != "pay-acme.js" || got["siteKey"] != "pk_1" {
		t.Fatalf("SiteConfig = %v", got)
	}
	hosted := payments.Descriptor{Name: "box", Title: "Box", Local: true}
	if got := hosted.SiteConfig(nil); len(got) != 1 || got["provider"] != "box" {
		t.Fatalf("a provider with a hosted page: SiteConfig = %v, want only its name", got)
	}
}
