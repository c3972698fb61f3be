package payments

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Descriptor is what the rest of StarArena knows about one provider beyond
// the Provider interface: the settings it reads, which of them are secrets,
// how to build it, and what the fan site needs to take a payment with it.
// Each provider package returns its own (e.g. stripe.Descriptor); package
// providers lists them, and internal/config, internal/app, the CDK app and
// the site config are driven by that list, so a new provider is added in
// its own package and one line there.
type Descriptor struct {
	// Name is Provider.Name(): the {provider} of POST /webhooks/{provider},
	// the name a fan pays with, and the prefix of the provider's CDK
	// context keys ("<name>", "<name>SecretVersion", ...). Lower-case
	// letters and digits, starting with a letter.
	Name string
	// Title is the provider's name for people ("Stripe"), in descriptions
	// of deployed resources.
	Title string
	// Local providers exist only in the local stack, which builds them
	// itself (the sandbox delivers its webhooks to the stack's own URL):
	// they read no settings, have no New and are never deployed.
	Local bool
	// Settings are the environment variables the provider reads.
	Settings []Setting
	// New builds the provider from its settings' values, keyed by
	// Setting.Env. internal/app calls it once at start-up for every
	// provider whose required settings are all set.
	New func(Values) (Provider, error)
	// Site is what the fan site needs to take a payment.
	Site Site
}

// Values are a provider's setting values, by environment variable.
type Values map[string]string

// Use says which functions need a setting.
type Use string

// Uses of a setting.
const (
	// UseCalls: every function that calls the provider (create, fetch,
	// refund) gets it. The zero value.
	UseCalls Use = ""
	// UseWebhooks: only the function that verifies the provider's webhooks.
	UseWebhooks Use = "webhooks"
	// UseLocal: a development setting (e.g. an emulator's URL), read when
	// set but never deployed.
	UseLocal Use = "local"
)

// Setting is one environment variable a provider reads.
type Setting struct {
	// Env is the variable, prefixed with the provider's name in upper
	// case (STRIPE_API_KEY).
	Env string
	// Required settings turn the provider on: it is configured when all
	// are set, off when none is, and a configuration with only some of
	// them is refused at start-up.
	Required bool
	// Secret marks a credential. A deployed secret setting is a Secrets
	// Manager secret of its own holding the value as a plain string, named
	// to the functions that use it by SecretEnv, never CDK context or a
	// variable: a function may read only the credentials its Use gives it.
	Secret bool
	// Use says which functions get the setting when deployed.
	Use Use
	// Field names the deployed value: the suffix of its secret's name
	// (StripeApiKey) when Secret, else of its CDK context key
	// ("<name><Field>" with Field's first letter upper-cased). Empty for
	// UseLocal settings.
	Field string
	// Example is an illustrative value for documentation ("sk_...").
	Example string
}

// SecretEnv is the variable naming a secret setting's Secrets Manager
// secret (STRIPE_API_KEY_SECRET_ARN, as ADMISSION_KEYS_SECRET_ARN names
// the admission keyring's): a deployed function reads the credential from
// it at start-up, never from its environment.
func (s Setting) SecretEnv() string { return s.Env + "_SECRET_ARN" }

// Deployed reports whether the CDK app sets the variable in AWS.
func (s Setting) Deployed() bool { return s.Use != UseLocal }

// Site is what the fan site's config.json says about the provider.
type Site struct {
	// Script is the site module that takes the payment inside the order
	// page (web/<Script>, exporting payForm), e.g. "pay-stripe.js". Empty:
	// the site opens the payment's checkoutUrl, the provider's own page.
	Script string
	// Public names deployment values the page needs besides the provider's
	// name (Stripe's "publishableKey"): never secrets. Each comes from the
	// CDK context key "<name><Public>" with its first letter upper-cased.
	Public []string
}

// SiteConfig is the "payment" object of the site's config.json for this
// provider, given the Public values.
func (d Descriptor) SiteConfig(public map[string]string) map[string]any {
	c := map[string]any{"provider": d.Name}
	if d.Site.Script != "" {
		c["script"] = d.Site.Script
	}
	for _, k := range d.Site.Public {
		c[k] = public[k]
	}
	return c
}

// Configured reports whether values turn the provider on: every required
// setting set. Some but not all is an error naming the missing variables,
// so a half-configured provider stops the start-up instead of being
// silently off.
func (d Descriptor) Configured(v Values) (bool, error) {
	var set, missing []string
	for _, s := range d.Settings {
		if !s.Required {
			continue
		}
		if v[s.Env] != "" {
			set = append(set, s.Env)
		} else {
			missing = append(missing, s.Env)
		}
	}
	switch {
	case len(set) == 0:
		return false, nil
	case len(missing) > 0:
		return false, fmt.Errorf("payment provider %s: %s set but %s missing", d.Name, strings.Join(set, ", "), strings.Join(missing, ", "))
	}
	return true, nil
}

var (
	providerName = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	fieldName    = regexp.MustCompile(`^[a-z][A-Za-z0-9]*$`)
	scriptName   = regexp.MustCompile(`^pay-[a-z0-9-]+\.js$`)
)

// Validate reports a descriptor that the configuration, the CDK app or the
// site could not use.
func (d Descriptor) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !providerName.MatchString(d.Name) {
		bad("name %q: lower-case letters and digits, starting with a letter", d.Name)
	}
	if d.Title == "" {
		bad("no title")
	}
	if d.Local != (d.New == nil) {
		bad("a local provider has no New, any other needs one")
	}
	if d.Local && len(d.Settings) > 0 {
		bad("a local provider reads no settings")
	}
	required, envs, fields := false, map[string]bool{}, map[string]bool{}
	prefix := strings.ToUpper(d.Name) + "_"
	for _, s := range d.Settings {
		if !strings.HasPrefix(s.Env, prefix) || strings.ToUpper(s.Env) != s.Env || envs[s.Env] {
			bad("setting %q: empty, duplicate, or not an upper-case variable starting with %s", s.Env, prefix)
		}
		envs[s.Env] = true
		if s.Secret {
			envs[s.SecretEnv()] = true
		}
		required = required || s.Required
		switch s.Use {
		case UseCalls, UseWebhooks:
			if !fieldName.MatchString(s.Field) || fields[s.Field] || s.Field == "secretVersion" {
				bad("setting %s: deployed as field %q: want a unique lowerCamel name other than secretVersion", s.Env, s.Field)
			}
			fields[s.Field] = true
		case UseLocal:
			if s.Field != "" || s.Secret || s.Required {
				bad("setting %s: a local setting has no field and is neither secret nor required", s.Env)
			}
		default:
			bad("setting %s: unknown use %q", s.Env, s.Use)
		}
		if s.Required && s.Use == UseWebhooks {
			bad("setting %s: a required setting reaches every function that calls the provider", s.Env)
		}
	}
	if !d.Local && !required {
		bad("no required setting: nothing would turn the provider on")
	}
	if d.Site.Script != "" && !scriptName.MatchString(d.Site.Script) {
		bad("site script %q: want pay-<name>.js", d.Site.Script)
	}
	for _, k := range d.Site.Public {
		if !fieldName.MatchString(k) || fields[k] || k == "provider" || k == "script" || k == "secretVersion" {
			bad("site value %q: want a unique lowerCamel name other than provider, script and secretVersion", k)
		}
		fields[k] = true
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("payment provider %q: %w", d.Name, err)
	}
	return nil
}
