package stack

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/stararena/stararena/internal/payments"
	"github.com/stararena/stararena/internal/payments/stripe"
)

func settingsFrom(t *testing.T, ctx map[string]any) (Settings, error) {
	t.Helper()
	t.Setenv("CDK_DEFAULT_REGION", "")
	t.Setenv("CDK_DEFAULT_ACCOUNT", "")
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
	return SettingsFromContext(app)
}

func TestSettingsComeFromContextWithSafeDefaults(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		s, err := settingsFrom(t, map[string]any{})
		if err != nil {
			t.Fatal(err)
		}
		if s.Region != "us-east-1" || !s.Edge || s.Payments["stripe"].On || !s.Nag || s.WarmWrites != 0 ||
			s.AdmissionTTL != 10*time.Minute || s.WafJoinsPerMinute != 30 || s.APIJoinRate != 10000 || s.MailDomain != "stararena.example" || s.WafJoinCheck != WafJoinChallenge {
			t.Fatalf("defaults %+v", s)
		}
	})
	t.Run("MailDomainFollowsTheSiteDomain", func(t *testing.T) {
		s, err := settingsFrom(t, map[string]any{"domainName": "tickets.example.com",
			"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/x"})
		if err != nil || s.MailDomain != "tickets.example.com" {
			t.Fatalf("mailDomain %q (%v), want the site's domain", s.MailDomain, err)
		}
		if s, err = settingsFrom(t, map[string]any{"mailDomain": "mail.example.org"}); err != nil || s.MailDomain != "mail.example.org" {
			t.Fatalf("mailDomain %q (%v), want the context's", s.MailDomain, err)
		}
	})
	t.Run("Overrides", func(t *testing.T) {
		s, err := settingsFrom(t, map[string]any{"region": "eu-central-1", "edge": "off", "warmWrites": "40_000",
			"admissionTtl": "5m", "holdP99": "750ms", "stripe": true,
			"stripeSecretVersion": "v2", "stripePublishableKey": "pk_test_9", "apiJoinRate": 30000, "apiJoinBurst": "15000"})
		if err != nil {
			t.Fatal(err)
		}
		if s.Region != "eu-central-1" || s.Edge || s.WarmWrites != 40000 || s.AdmissionTTL != 5*time.Minute ||
			s.HoldP99 != 750*time.Millisecond || s.APIJoinRate != 30000 || s.APIJoinBurst != 15000 {
			t.Fatalf("overrides %+v", s)
		}
		if st := s.Payments["stripe"]; !st.On || st.SecretVersion != "v2" || len(st.Values) != 1 || st.Values["publishableKey"] != "pk_test_9" {
			t.Fatalf("stripe settings %+v", st)
		}
	})
	for name, c := range map[string]struct {
		ctx  map[string]any
		want string
	}{
		"DomainWithoutCertificate": {map[string]any{"domainName": "tickets.example.com"}, "go together"},
		"CertificateOutsideUSEast1": {map[string]any{"domainName": "t.example.com",
			"certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/x"}, "us-east-1"},
		"WarmBelowDefault":     {map[string]any{"warmWrites": "1000"}, "warmWrites"},
		"AdmissionTTLTooShort": {map[string]any{"admissionTtl": "5s"}, "admissionTtl"},
		"NotADuration":         {map[string]any{"inletEvery": "often"}, "inletEvery"},
		"NotOnOff":             {map[string]any{"stripe": "maybe"}, "on or off"},
		"WAFBelowFloor":        {map[string]any{"wafJoinsPerMinute": "5"}, "wafJoinsPerMinute"},
		"UnknownJoinCheck":     {map[string]any{"wafJoinCheck": "none"}, "wafJoinCheck"},
		"PlainIntegrationURL":  {map[string]any{"wafIntegrationUrl": "http://x.sdk.awswaf.com/a/b/"}, "wafIntegrationUrl"},
		"OddRetention":         {map[string]any{"logRetentionDays": "31"}, "logRetentionDays"},
		"MailDomainNotADomain": {map[string]any{"mailDomain": "Mail Server"}, "mailDomain"},
		"SignInPrefixUpper":    {map[string]any{"signInDomainPrefix": "StarArena"}, "signInDomainPrefix"},
		"SignInPrefixReserved": {map[string]any{"signInDomainPrefix": "tickets-cognito"}, "signInDomainPrefix"},
		"SignInPrefixHyphen":   {map[string]any{"signInDomainPrefix": "-tickets"}, "signInDomainPrefix"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := settingsFrom(t, c.ctx)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

func TestPaymentSettingsAllowOneCompleteProvider(t *testing.T) {
	// GIVEN Stripe and a provider that needs a plain account id
	acme := payments.Descriptor{Name: "acme", Title: "Acme", New: func(payments.Values) (payments.Provider, error) { return nil, nil },
		Settings: []payments.Setting{{Env: "ACME_KEY", Required: true, Secret: true, Field: "key"}, {Env: "ACME_ACCOUNT", Required: true, Field: "account"}}}
	deployable := []payments.Descriptor{stripe.Descriptor(), acme}
	for name, c := range map[string]struct {
		payments map[string]ProviderSettings
		want     string // "" accepts
	}{
		"NoneOn":                {map[string]ProviderSettings{}, ""},
		"StripeOn":              {map[string]ProviderSettings{"stripe": {On: true}}, ""},
		"AcmeOnWithItsAccount":  {map[string]ProviderSettings{"acme": {On: true, Values: map[string]string{"account": "a1"}}}, ""},
		"AcmeOnWithoutAccount":  {map[string]ProviderSettings{"acme": {On: true}}, "acme=on needs acmeAccount"},
		"TwoOnForOneSite":       {map[string]ProviderSettings{"stripe": {On: true}, "acme": {On: true, Values: map[string]string{"account": "a1"}}}, "stripe, acme are all on"},
		"OffNeedsNothingOfAcme": {map[string]ProviderSettings{"acme": {}}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			err := Settings{Payments: c.payments}.validatePayments(deployable)
			if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("validatePayments = %v, want %q", err, c.want)
			}
		})
	}
}
