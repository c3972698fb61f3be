package stack

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stararena/stararena/internal/payments"
	"github.com/stararena/stararena/internal/payments/providers"
)

// EdgeRegion is where the CloudFront web ACL lives: AWS only accepts a WAF
// web ACL of scope CLOUDFRONT created in us-east-1.
const EdgeRegion = "us-east-1"

// Settings are the choices an engineer makes per deployment, as CDK
// context (`cdk deploy -c warmWrites=20000`, or cdk.json). Everything else
// comes from the topology. SettingsFromContext documents each key.
type Settings struct {
	// Region of the main stack (context "region"; else CDK_DEFAULT_REGION,
	// which the CLI sets from the profile; else us-east-1).
	Region string
	// Account pins both stacks to one account (context "account"; else
	// CDK_DEFAULT_ACCOUNT; empty: account-agnostic templates).
	Account string
	// Edge deploys CloudFront, its cache policies and the us-east-1 WAF
	// stack (context "edge": on|off, default on). Off is for emulators
	// without CloudFront or WAF.
	Edge bool
	// DomainName and CertificateArn give the distribution its own name and
	// a TLS 1.2+ policy (contexts "domainName", "certificateArn"; the
	// certificate must be an ACM certificate in us-east-1). Both or neither.
	DomainName, CertificateArn string
	// SignInDomainPrefix names the fans' hosted sign-in domain,
	// https://<prefix>.auth.<region>.amazoncognito.com (context
	// "signInDomainPrefix"; default "stararena-<account id>"). Prefixes are
	// unique per region across AWS: a second deployment in the same account
	// and region needs its own.
	SignInDomainPrefix string
	// WarmReads and WarmWrites pre-warm the table and its indexes for a big
	// sale (contexts "warmReads", "warmWrites", units per second; 0 keeps
	// the on-demand defaults of 12,000 and 4,000). Warm throughput can only
	// go up and each increase is billed once.
	WarmReads, WarmWrites int
	// AdmissionTTL: how long an admission token may be used
	// (context "admissionTtl", default 10m; ADMISSION_TTL).
	AdmissionTTL time.Duration
	// EventCacheTTL: how long a holds instance keeps an event document
	// (context "eventCacheTtl", default 2s; EVENT_CACHE_TTL).
	EventCacheTTL time.Duration
	// The waiting room's inlet: "inletEvery" (default 2s, INLET_EVERY),
	// "inletInventoryFactor" (default 1, INLET_INVENTORY_FACTOR).
	InletEvery           time.Duration
	InletInventoryFactor float64
	// HoldP99 is the purchase path's latency limit: the inlet backs off
	// above it (HEALTH_HOLD_P99) and the hold-latency alarm fires above it
	// (context "holdP99", default 1s). "healthErrorRate" (0.02) and
	// "healthThrottleRate" (0.01) are the inlet's other thresholds.
	HoldP99                             time.Duration
	HealthErrorRate, HealthThrottleRate float64
	// Payments turns deployable payment providers on, with context keys
	// named after each provider in the registry (internal/payments/
	// providers); for Stripe:
	//   - "stripe": on|off (default off). The functions that take or
	//     refund payments get STRIPE_API_KEY_SECRET_ARN, the webhook
	//     receiver also STRIPE_WEBHOOK_SECRET_SECRET_ARN, and read each
	//     credential from its own secret (StripeApiKey, StripeWebhookSecret)
	//     at start-up. Put the real values in before turning it on.
	//   - "stripeSecretVersion": any new value (the rotated version's id)
	//     becomes STRIPE_SECRET_VERSION, which replaces every instance, so
	//     a rotated key is in use on the next deploy instead of as
	//     instances are recycled.
	//   - "stripePublishableKey" goes to the site's config.json.
	// In general "<name>SecretVersion", and "<name><Field>" for each
	// non-secret deployed setting and each value the site needs.
	Payments map[string]ProviderSettings
	// AlarmEmail subscribes an address to the alarm topic (context
	// "alarmEmail").
	AlarmEmail string
	// MailDomain is the SES domain identity fans' email comes from
	// (context "mailDomain"; default domainName, else stararena.example).
	// SES sends only once the identity's DKIM records are published in
	// the domain's DNS; until then causes wait in the mail queue and then
	// its dead-letter queue, whose alarm says so.
	MailDomain string
	// EndpointURL is set as AWS_ENDPOINT_URL in every function (context
	// "endpointUrl"): the LocalStack deployment points the functions'
	// SDK clients at the emulator with it.
	EndpointURL string
	// LogRetentionDays for function, workflow and API logs (context
	// "logRetentionDays", default 30; one of CloudWatch's allowed values).
	LogRetentionDays int
	// WAF: joins per minute per Authorization header (context
	// "wafJoinsPerMinute", default 30, ADR 9) and requests per five
	// minutes per client IP (context "wafRequestsPerIp", default 20000:
	// high, because a carrier NAT puts thousands of fans behind one
	// address).
	WafJoinsPerMinute, WafRequestsPerIP int
	// WafJoinCheck is the bot check the WAF runs on every join (context
	// "wafJoinCheck"): "challenge" (default: AWS WAF's silent browser
	// challenge) or "captcha" (a puzzle, for a sale bots are winning;
	// an edge-stack deploy raises it within minutes, ADR 22).
	WafJoinCheck string
	// WafIntegrationURL is the web ACL's application integration URL
	// (context "wafIntegrationUrl", from `aws wafv2 get-web-acl` after the
	// edge stack's first deploy): the site loads the challenge script from
	// it and gets a token before joining.
	WafIntegrationURL string
	// WafCaptchaScript and WafCaptchaAPIKey are AWS WAF's CAPTCHA
	// JavaScript API (contexts "wafCaptchaScript", the jsapi.js URL, and
	// "wafCaptchaApiKey", from `aws wafv2 create-api-key --scope
	// CLOUDFRONT --token-domains <site domain>`; a public value): with
	// them the site shows the CAPTCHA of an event an organizer raised in
	// the page (ADR 22). Without them a CAPTCHA reloads the event page.
	WafCaptchaScript string
	WafCaptchaAPIKey string
	// APIJoinRate and APIJoinBurst throttle the join route on the API's
	// stage (contexts "apiJoinRate", default 10000 requests/s, and
	// "apiJoinBurst", default 5000): API Gateway's default account quota.
	// Raise them only after the account's quota is raised.
	APIJoinRate, APIJoinBurst int
	// Nag runs the cdk-nag AwsSolutions checks during synth (context
	// "nag": on|off, default on).
	Nag bool
}

// ProviderSettings are one payment provider's deployment choices.
type ProviderSettings struct {
	On bool
	// SecretVersion, when set, is the functions' <NAME>_SECRET_VERSION: a
	// new value makes every instance read the secret again.
	SecretVersion string
	// Values are the provider's non-secret deployed settings and site
	// values, by Field (payments.Setting.Field, payments.Site.Public).
	Values map[string]string
}

// mailDomainPattern is a lowercase DNS name of two labels or more, which
// SES takes as a domain identity.
var mailDomainPattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

// defaultMailDomain is a reserved name (RFC 2606): a deployment that sends
// mail names its own.
const defaultMailDomain = "stararena.example"

// DefaultSettings are the settings with no context at all.
func DefaultSettings() Settings {
	return Settings{
		Region:               "us-east-1",
		Edge:                 true,
		AdmissionTTL:         10 * time.Minute,
		EventCacheTTL:        2 * time.Second,
		InletEvery:           2 * time.Second,
		InletInventoryFactor: 1,
		HoldP99:              time.Second,
		HealthErrorRate:      0.02,
		HealthThrottleRate:   0.01,
		LogRetentionDays:     30,
		WafJoinsPerMinute:    30,
		WafRequestsPerIP:     20000,
		WafJoinCheck:         WafJoinChallenge,
		APIJoinRate:          10000,
		APIJoinBurst:         5000,
		Nag:                  true,
		MailDomain:           defaultMailDomain,
	}
}

// Bot checks of the join route (Settings.WafJoinCheck).
const (
	WafJoinChallenge = "challenge"
	WafJoinCaptcha   = "captcha"
)

// SettingsFromContext reads the settings from the construct tree's context
// (cdk.json and -c flags) and the CDK_DEFAULT_* environment the CLI sets.
// It returns an error naming the first value that cannot work.
func SettingsFromContext(scope constructs.Construct) (Settings, error) {
	get := func(key string) string {
		v := scope.Node().TryGetContext(jsii.String(key))
		if v == nil {
			return ""
		}
		return strings.TrimSpace(fmt.Sprint(v))
	}
	s := DefaultSettings()
	s.Region = first(get("region"), os.Getenv("CDK_DEFAULT_REGION"), s.Region)
	s.Account = first(get("account"), os.Getenv("CDK_DEFAULT_ACCOUNT"))
	s.DomainName, s.CertificateArn = get("domainName"), get("certificateArn")
	s.MailDomain = first(get("mailDomain"), s.DomainName, defaultMailDomain)
	s.AlarmEmail, s.EndpointURL = get("alarmEmail"), get("endpointUrl")
	s.SignInDomainPrefix = get("signInDomainPrefix")
	var err error
	set := func(e error) {
		if err == nil {
			err = e
		}
	}
	set(onOff(get("edge"), "edge", &s.Edge))
	s.Payments = map[string]ProviderSettings{}
	for _, d := range providers.Deployable() {
		ps := ProviderSettings{SecretVersion: get(providerContextKey(d, "secretVersion")), Values: map[string]string{}}
		set(onOff(get(d.Name), d.Name, &ps.On))
		for _, f := range providerValueFields(d) {
			if v := get(providerContextKey(d, f)); v != "" {
				ps.Values[f] = v
			}
		}
		s.Payments[d.Name] = ps
	}
	set(onOff(get("nag"), "nag", &s.Nag))
	set(integer(get("warmReads"), "warmReads", &s.WarmReads))
	set(integer(get("warmWrites"), "warmWrites", &s.WarmWrites))
	set(integer(get("logRetentionDays"), "logRetentionDays", &s.LogRetentionDays))
	set(integer(get("wafJoinsPerMinute"), "wafJoinsPerMinute", &s.WafJoinsPerMinute))
	set(integer(get("wafRequestsPerIp"), "wafRequestsPerIp", &s.WafRequestsPerIP))
	if v := get("wafJoinCheck"); v != "" {
		s.WafJoinCheck = v
	}
	if v := get("wafIntegrationUrl"); v != "" {
		s.WafIntegrationURL = v
	}
	s.WafCaptchaScript, s.WafCaptchaAPIKey = get("wafCaptchaScript"), get("wafCaptchaApiKey")
	set(integer(get("apiJoinRate"), "apiJoinRate", &s.APIJoinRate))
	set(integer(get("apiJoinBurst"), "apiJoinBurst", &s.APIJoinBurst))
	set(dur(get("admissionTtl"), "admissionTtl", &s.AdmissionTTL))
	set(dur(get("eventCacheTtl"), "eventCacheTtl", &s.EventCacheTTL))
	set(dur(get("inletEvery"), "inletEvery", &s.InletEvery))
	set(dur(get("holdP99"), "holdP99", &s.HoldP99))
	set(float(get("inletInventoryFactor"), "inletInventoryFactor", &s.InletInventoryFactor))
	set(float(get("healthErrorRate"), "healthErrorRate", &s.HealthErrorRate))
	set(float(get("healthThrottleRate"), "healthThrottleRate", &s.HealthThrottleRate))
	if err != nil {
		return Settings{}, err
	}
	return s, s.Validate()
}

// Validate reports the first setting that cannot deploy. The bounds are
// internal/config's where a value becomes a function's variable, and AWS's
// elsewhere.
func (s Settings) Validate() error {
	switch {
	case s.Region == "":
		return fmt.Errorf("settings: no region")
	case (s.DomainName == "") != (s.CertificateArn == ""):
		return fmt.Errorf("settings: domainName and certificateArn go together")
	case s.CertificateArn != "" && !strings.Contains(s.CertificateArn, ":acm:"+EdgeRegion+":"):
		return fmt.Errorf("settings: certificateArn %q: CloudFront needs an ACM certificate in %s", s.CertificateArn, EdgeRegion)
	case !mailDomainPattern.MatchString(s.MailDomain) || len(s.MailDomain) > 253:
		return fmt.Errorf("settings: mailDomain %q: a lowercase domain name such as example.com", s.MailDomain)
	case s.SignInDomainPrefix != "" && !validDomainPrefix(s.SignInDomainPrefix):
		return fmt.Errorf("settings: signInDomainPrefix %q: 1-63 lowercase letters, digits and inner hyphens, without \"aws\", \"amazon\" or \"cognito\"", s.SignInDomainPrefix)
	case s.WarmReads != 0 && (s.WarmReads < 12000 || s.WarmReads > 1_000_000):
		return fmt.Errorf("settings: warmReads %d: 0 (default 12,000) or 12,000 to 1,000,000", s.WarmReads)
	case s.WarmWrites != 0 && (s.WarmWrites < 4000 || s.WarmWrites > 1_000_000):
		return fmt.Errorf("settings: warmWrites %d: 0 (default 4,000) or 4,000 to 1,000,000", s.WarmWrites)
	case s.AdmissionTTL < 10*time.Second || s.AdmissionTTL > time.Hour:
		return fmt.Errorf("settings: admissionTtl %s: between 10s and 1h", s.AdmissionTTL)
	case s.EventCacheTTL < time.Millisecond || s.EventCacheTTL > 30*time.Second:
		return fmt.Errorf("settings: eventCacheTtl %s: between 1ms and 30s", s.EventCacheTTL)
	case s.InletEvery < 500*time.Millisecond || s.InletEvery > time.Minute:
		return fmt.Errorf("settings: inletEvery %s: between 500ms and 1m", s.InletEvery)
	case s.HoldP99 < 10*time.Millisecond || s.HoldP99 > time.Minute:
		return fmt.Errorf("settings: holdP99 %s: between 10ms and 1m", s.HoldP99)
	case s.InletInventoryFactor < 0.1 || s.InletInventoryFactor > 10:
		return fmt.Errorf("settings: inletInventoryFactor %g: between 0.1 and 10", s.InletInventoryFactor)
	case s.HealthErrorRate < 0.0001 || s.HealthErrorRate > 1, s.HealthThrottleRate < 0.0001 || s.HealthThrottleRate > 1:
		return fmt.Errorf("settings: health rates between 0.0001 and 1")
	case validRetention[s.LogRetentionDays] == "":
		return fmt.Errorf("settings: logRetentionDays %d is not a CloudWatch Logs retention", s.LogRetentionDays)
	case s.WafJoinsPerMinute < 10: // a rate-based rule's floor
		return fmt.Errorf("settings: wafJoinsPerMinute %d: at least 10", s.WafJoinsPerMinute)
	case s.WafRequestsPerIP < 10:
		return fmt.Errorf("settings: wafRequestsPerIp %d: at least 10", s.WafRequestsPerIP)
	case s.WafJoinCheck != WafJoinChallenge && s.WafJoinCheck != WafJoinCaptcha:
		return fmt.Errorf("settings: wafJoinCheck %q: %q or %q", s.WafJoinCheck, WafJoinChallenge, WafJoinCaptcha)
	case s.WafIntegrationURL != "" && !strings.HasPrefix(s.WafIntegrationURL, "https://"):
		return fmt.Errorf("settings: wafIntegrationUrl %q: an https URL", s.WafIntegrationURL)
	case s.WafCaptchaScript != "" && !strings.HasPrefix(s.WafCaptchaScript, "https://") || (s.WafCaptchaScript == "") != (s.WafCaptchaAPIKey == ""):
		return fmt.Errorf("settings: wafCaptchaScript %q with wafCaptchaApiKey: both or neither, the script an https URL", s.WafCaptchaScript)
	case s.APIJoinRate < 1 || s.APIJoinBurst < 1 || s.APIJoinBurst > 2*s.APIJoinRate+5000:
		return fmt.Errorf("settings: apiJoinRate %d, apiJoinBurst %d: positive, burst not far above the rate", s.APIJoinRate, s.APIJoinBurst)
	}
	return s.validatePayments(providers.Deployable())
}

// validatePayments refuses two providers on (the site offers one) and a
// provider on without a required non-secret value, which its functions
// would refuse at start-up.
func (s Settings) validatePayments(deployable []payments.Descriptor) error {
	var on []string
	for _, d := range deployable {
		ps := s.Payments[d.Name]
		if !ps.On {
			continue
		}
		on = append(on, d.Name)
		for _, st := range d.Settings {
			if st.Required && !st.Secret && st.Deployed() && ps.Values[st.Field] == "" {
				return fmt.Errorf("settings: %s=on needs %s", d.Name, providerContextKey(d, st.Field))
			}
		}
	}
	if len(on) > 1 {
		return fmt.Errorf("settings: payment providers %s are all on; the site offers one", strings.Join(on, ", "))
	}
	return nil
}

// providerValueFields are the fields of a provider's values that come from
// CDK context: its non-secret deployed settings and its site values.
func providerValueFields(d payments.Descriptor) []string {
	var fs []string
	for _, st := range d.Settings {
		if st.Deployed() && !st.Secret {
			fs = append(fs, st.Field)
		}
	}
	return append(fs, d.Site.Public...)
}

// providerContextKey is the CDK context key of a provider value:
// "stripe" and "publishableKey" make "stripePublishableKey".
func providerContextKey(d payments.Descriptor, field string) string {
	if field == "" {
		return d.Name
	}
	return d.Name + strings.ToUpper(field[:1]) + field[1:]
}

var validRetention = map[int]awslogs.RetentionDays{1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS,
	5: awslogs.RetentionDays_FIVE_DAYS, 7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS,
	30: awslogs.RetentionDays_ONE_MONTH, 60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS,
	120: awslogs.RetentionDays_FOUR_MONTHS, 150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS,
	365: awslogs.RetentionDays_ONE_YEAR, 400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS,
	731: awslogs.RetentionDays_TWO_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 3653: awslogs.RetentionDays_TEN_YEARS}

func retention(s Settings) awslogs.RetentionDays { return validRetention[s.LogRetentionDays] }

// envValue is the value of a configuration variable a topology function
// lists in Env: every such variable must have a setting.
func (s Settings) envValue(name string) (string, bool) {
	switch name {
	case "ADMISSION_TTL":
		return s.AdmissionTTL.String(), true
	case "EVENT_CACHE_TTL":
		return s.EventCacheTTL.String(), true
	case "INLET_EVERY":
		return s.InletEvery.String(), true
	case "INLET_INVENTORY_FACTOR":
		return strconv.FormatFloat(s.InletInventoryFactor, 'g', -1, 64), true
	case "HEALTH_HOLD_P99":
		return s.HoldP99.String(), true
	case "HEALTH_ERROR_RATE":
		return strconv.FormatFloat(s.HealthErrorRate, 'g', -1, 64), true
	case "HEALTH_THROTTLE_RATE":
		return strconv.FormatFloat(s.HealthThrottleRate, 'g', -1, 64), true
	}
	return "", false
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func onOff(v, key string, dst *bool) error {
	switch strings.ToLower(v) {
	case "":
	case "on", "true", "yes", "1":
		*dst = true
	case "off", "false", "no", "0":
		*dst = false
	default:
		return fmt.Errorf("settings: %s=%q: on or off", key, v)
	}
	return nil
}

func integer(v, key string, dst *int) error {
	if v == "" {
		return nil
	}
	n, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
	if err != nil {
		return fmt.Errorf("settings: %s=%q: an integer", key, v)
	}
	*dst = n
	return nil
}

func float(v, key string, dst *float64) error {
	if v == "" {
		return nil
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return fmt.Errorf("settings: %s=%q: a number", key, v)
	}
	*dst = x
	return nil
}

func dur(v, key string, dst *time.Duration) error {
	if v == "" {
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("settings: %s=%q: a Go duration such as 90s or 10m", key, v)
	}
	*dst = d
	return nil
}

// validDomainPrefix is Cognito's rule for a prefix domain.
func validDomainPrefix(p string) bool {
	if len(p) == 0 || len(p) > 63 || p[0] == '-' || p[len(p)-1] == '-' {
		return false
	}
	for _, r := range p {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	for _, reserved := range []string{"aws", "amazon", "cognito"} {
		if strings.Contains(p, reserved) {
			return false
		}
	}
	return true
}
