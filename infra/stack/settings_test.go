package stack

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
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
		if s.Region != "us-east-1" || !s.Edge || s.Stripe || !s.Nag || s.WarmWrites != 0 ||
			s.AdmissionTTL != 10*time.Minute || s.WafJoinsPerMinute != 30 || s.APIJoinRate != 10000 {
			t.Fatalf("defaults %+v", s)
		}
	})
	t.Run("Overrides", func(t *testing.T) {
		s, err := settingsFrom(t, map[string]any{"region": "eu-central-1", "edge": "off", "warmWrites": "40_000",
			"admissionTtl": "5m", "holdP99": "750ms", "stripe": true, "apiJoinRate": 30000, "apiJoinBurst": "15000"})
		if err != nil {
			t.Fatal(err)
		}
		if s.Region != "eu-central-1" || s.Edge || s.WarmWrites != 40000 || s.AdmissionTTL != 5*time.Minute ||
			s.HoldP99 != 750*time.Millisecond || !s.Stripe || s.APIJoinRate != 30000 || s.APIJoinBurst != 15000 {
			t.Fatalf("overrides %+v", s)
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
		"OddRetention":         {map[string]any{"logRetentionDays": "31"}, "logRetentionDays"},
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
