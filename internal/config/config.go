// Package config reads StarArena's environment in one place and fails fast
// on values that cannot work.
package config

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/payments"
)

// Config is the runtime configuration of a function or the local stack.
type Config struct {
	Region string // AWS_REGION
	// TableName is the physical name of the main table (TABLE_NAME).
	TableName string
	// DynamoEndpoint is AWS_ENDPOINT_URL_DYNAMODB, else AWS_ENDPOINT_URL:
	// a local or emulated DynamoDB. Empty in AWS.
	DynamoEndpoint string
	LogLevel       slog.Level    // LOG_LEVEL: debug, info, warn, error
	Freshness      time.Duration // AVAILABILITY_FRESHNESS: max age of the availability projection
	// AvailabilityRepair (AVAILABILITY_REPAIR, default 5m; 0 turns it off):
	// a projector maintains the availability projections from the table's
	// change records, and readers rebuild one only when it was last rebuilt
	// this long ago (ADR 18). Off, readers rebuild every Freshness, for a
	// table without a change feed.
	AvailabilityRepair time.Duration
	// EventCacheTTL is how long the purchase path keeps an event document
	// per instance (EVENT_CACHE_TTL, default 2s; see catalog.CachedEvents).
	EventCacheTTL time.Duration
	// CancelRefundsPerSecond paces an event cancellation's refunds
	// (CANCEL_REFUNDS_PER_SECOND, default 20; ADR 20).
	CancelRefundsPerSecond float64
	// AdmissionKeys is the admission signing keyring document
	// (ADMISSION_KEYS); AdmissionKeysSecret names a Secrets Manager secret
	// holding it (ADMISSION_KEYS_SECRET_ARN). With neither, a key is
	// generated at start-up (local stack only: tokens then do not survive a
	// restart and are not shared between processes).
	AdmissionKeys       string
	AdmissionKeysSecret string
	AdmissionTTL        time.Duration // ADMISSION_TTL, default 10m
	// Ticket signing keys: TICKET_KEYS (inline) or TICKET_KEYS_SECRET_ARN;
	// generated locally when neither is set.
	TicketKeys       string
	TicketKeysSecret string
	// OriginProofSecret names the Secrets Manager secret holding the
	// origin proof CloudFront adds to what it forwards
	// (ORIGIN_PROOF_SECRET_ARN; ADR 22); OriginProofs are the accepted
	// values, read from it at start-up or set by the local stack. None: the
	// API takes requests from anywhere.
	OriginProofSecret string
	OriginProofs      []string
	// CaptchaEventsArn is the edge stack's regex pattern set of events
	// whose joins meet a CAPTCHA (CAPTCHA_EVENTS_ARN, only in the admin
	// function; ADR 22). None: no edge to raise the bot check at.
	CaptchaEventsArn string
	// Payments holds the settings of every configured payment provider,
	// by provider name: the variables its registry entry declares
	// (the registry FromEnv was given, internal/payments/providers; e.g. STRIPE_API_KEY turns Stripe on).
	// A provider whose required variables are not set is absent.
	Payments map[string]payments.Values
	// PaymentSecrets names, by provider, the Secrets Manager secret of each
	// secret setting the function uses (the setting's variable → the ARN in
	// <VARIABLE>_SECRET_ARN, set by the CDK app: one secret per credential,
	// so the functions that create payments cannot read the webhook
	// secret); ResolvePaymentSecrets reads them into Payments at start-up.
	PaymentSecrets map[string]payments.Values
	// paymentEnv holds the variables of the providers in PaymentSecrets
	// until their secrets are read.
	paymentEnv map[string]payments.Values
	// registry is the providers FromEnv was given.
	registry []payments.Descriptor
	// StateMachineArn is the order workflow (STATE_MACHINE_ARN); in the
	// local stack the sidecar provides it.
	StateMachineArn string
	// The waiting room's inlet: INLET_EVERY (default 2s) between ticks, and
	// INLET_INVENTORY_FACTOR (default 1): fans admitted within one
	// admission window ≤ factor × places left.
	InletEvery           time.Duration
	InletInventoryFactor float64
	// Purchase-path health thresholds the inlet backs off on:
	// HEALTH_HOLD_P99 (default 1s), HEALTH_ERROR_RATE (0.02),
	// HEALTH_THROTTLE_RATE (0.01).
	HealthHoldP99      time.Duration
	HealthErrorRate    float64
	HealthThrottleRate float64
	// Mail: MAIL_QUEUE_URL is the mail queue the order workflow puts
	// causes on; MAIL_FROM the sender address and MAIL_CONFIGURATION_SET
	// the SES configuration set the mailer sends with; SITE_URL the fan
	// site a message links to. The CDK app sets them; locally the stack
	// captures mail and needs none.
	MailQueueURL         string
	MailFrom             string
	MailConfigurationSet string
	SiteURL              string
	// Function is the logical name of the function this process serves
	// (set by its main; "local" in the local stack). Metrics carry it.
	Function string
	// InLambda is true inside AWS Lambda (AWS_LAMBDA_FUNCTION_NAME is set):
	// settings that only make sense locally are refused there.
	InLambda bool
}

// Getenv is os.Getenv's shape, so tests can pass a map.
type Getenv func(string) string

// FromEnv reads the configuration, with the settings of the payment
// providers in registry (internal/payments/providers' All; none: no
// provider). The registry is a parameter, not an import, so a function that
// never pays does not link the providers' clients.
func FromEnv(getenv Getenv, registry ...payments.Descriptor) (Config, error) {
	c := Config{
		Region:         first(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), "us-east-1"),
		TableName:      first(getenv("TABLE_NAME"), "stararena"),
		DynamoEndpoint: first(getenv("AWS_ENDPOINT_URL_DYNAMODB"), getenv("AWS_ENDPOINT_URL")),
		Freshness:      2 * time.Second,
	}
	c.InLambda = getenv("AWS_LAMBDA_FUNCTION_NAME") != ""
	c.TicketKeys, c.TicketKeysSecret = getenv("TICKET_KEYS"), getenv("TICKET_KEYS_SECRET_ARN")
	c.registry = registry
	pay, err := c.paymentSettings(getenv)
	if err != nil {
		return Config{}, err
	}
	c.Payments = pay
	c.StateMachineArn = getenv("STATE_MACHINE_ARN")
	c.MailQueueURL, c.MailFrom = getenv("MAIL_QUEUE_URL"), getenv("MAIL_FROM")
	c.MailConfigurationSet, c.SiteURL = getenv("MAIL_CONFIGURATION_SET"), getenv("SITE_URL")
	c.AdmissionKeys = getenv("ADMISSION_KEYS")
	c.AdmissionKeysSecret = getenv("ADMISSION_KEYS_SECRET_ARN")
	c.OriginProofSecret = getenv("ORIGIN_PROOF_SECRET_ARN")
	c.CaptchaEventsArn = getenv("CAPTCHA_EVENTS_ARN")
	c.AdmissionTTL = limits.AdmissionTTL
	if v := getenv("ADMISSION_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 10*time.Second || d > time.Hour {
			return Config{}, fmt.Errorf("ADMISSION_TTL=%q: want a duration between 10s and 1h", v)
		}
		c.AdmissionTTL = d
	}
	c.InletEvery, c.InletInventoryFactor, c.CancelRefundsPerSecond = 2*time.Second, 1, 20
	c.EventCacheTTL = 2 * time.Second
	if err := duration(getenv, "EVENT_CACHE_TTL", &c.EventCacheTTL, time.Millisecond, 30*time.Second); err != nil {
		return Config{}, err
	}
	c.HealthHoldP99, c.HealthErrorRate, c.HealthThrottleRate = time.Second, 0.02, 0.01
	if err := duration(getenv, "INLET_EVERY", &c.InletEvery, 500*time.Millisecond, time.Minute); err != nil {
		return Config{}, err
	}
	if err := duration(getenv, "HEALTH_HOLD_P99", &c.HealthHoldP99, 10*time.Millisecond, time.Minute); err != nil {
		return Config{}, err
	}
	for _, f := range []struct {
		name   string
		dst    *float64
		lo, hi float64
	}{
		{"INLET_INVENTORY_FACTOR", &c.InletInventoryFactor, 0.1, 10},
		{"HEALTH_ERROR_RATE", &c.HealthErrorRate, 0.0001, 1},
		{"HEALTH_THROTTLE_RATE", &c.HealthThrottleRate, 0.0001, 1},
		{"CANCEL_REFUNDS_PER_SECOND", &c.CancelRefundsPerSecond, 0.1, 100},
	} {
		if v := strings.TrimSpace(getenv(f.name)); v != "" {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || x < f.lo || x > f.hi {
				return Config{}, fmt.Errorf("%s=%q: want a number between %g and %g", f.name, v, f.lo, f.hi)
			}
			*f.dst = x
		}
	}
	if err := c.LogLevel.UnmarshalText([]byte(first(getenv("LOG_LEVEL"), "info"))); err != nil {
		return Config{}, fmt.Errorf("LOG_LEVEL: %w", err)
	}
	c.AvailabilityRepair = 5 * time.Minute
	if v := strings.TrimSpace(getenv("AVAILABILITY_REPAIR")); v == "0" {
		c.AvailabilityRepair = 0
	} else if err := duration(getenv, "AVAILABILITY_REPAIR", &c.AvailabilityRepair, time.Second, time.Hour); err != nil {
		return Config{}, err
	}
	if v := getenv("AVAILABILITY_FRESHNESS"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > time.Minute {
			return Config{}, fmt.Errorf("AVAILABILITY_FRESHNESS=%q: want a duration between 1ms and 1m", v)
		}
		c.Freshness = d
	}
	return c, nil
}

// paymentSettings reads the variables of every provider in the registry and
// keeps those of the configured ones.
func (c *Config) paymentSettings(getenv Getenv) (map[string]payments.Values, error) {
	out := map[string]payments.Values{}
	for _, d := range c.registry {
		v := payments.Values{}
		for _, s := range d.Settings {
			if x := getenv(s.Env); x != "" {
				v[s.Env] = x
			}
		}
		arns := payments.Values{}
		for _, s := range d.Settings {
			if arn := getenv(s.SecretEnv()); s.Secret && arn != "" {
				if v[s.Env] != "" {
					return nil, fmt.Errorf("payment provider %s: both %s and %s are set", d.Name, s.Env, s.SecretEnv())
				}
				arns[s.Env] = arn
			}
		}
		if len(arns) > 0 {
			if c.PaymentSecrets == nil {
				c.PaymentSecrets, c.paymentEnv = map[string]payments.Values{}, map[string]payments.Values{}
			}
			c.PaymentSecrets[d.Name], c.paymentEnv[d.Name] = arns, v
			continue
		}
		on, err := d.Configured(v)
		if err != nil {
			return nil, err
		}
		if on {
			out[d.Name] = v
		}
	}
	return out, nil
}

// duration reads a duration variable into dst when set, within [lo, hi].
func duration(getenv Getenv, name string, dst *time.Duration, lo, hi time.Duration) error {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		return fmt.Errorf("%s=%q: want a duration between %s and %s", name, v, lo, hi)
	}
	*dst = d
	return nil
}

// Int reads an integer variable with a default and bounds.
func Int(getenv Getenv, name string, def, lo, hi int) (int, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s=%q: want an integer between %d and %d", name, v, lo, hi)
	}
	return n, nil
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// ResolvePaymentSecrets reads each secret named in PaymentSecrets (the
// credential as a plain string) through get and turns the provider on with
// those values and its variables. Secrets that do not turn their provider
// on are an error: a deployment that names them means to take payments.
func (c *Config) ResolvePaymentSecrets(ctx context.Context, get func(ctx context.Context, arn string) (string, error)) error {
	for _, d := range c.registry {
		arns := c.PaymentSecrets[d.Name]
		if len(arns) == 0 {
			continue
		}
		v := payments.Values{}
		maps.Copy(v, c.paymentEnv[d.Name])
		var names []string
		for _, s := range d.Settings {
			arn := arns[s.Env]
			if arn == "" {
				continue
			}
			val, err := get(ctx, arn)
			if err != nil {
				return fmt.Errorf("payment provider %s: read secret %s: %w", d.Name, arn, err)
			}
			if v[s.Env] = strings.TrimSpace(val); v[s.Env] == "" {
				return fmt.Errorf("payment provider %s: secret %s (%s) is empty", d.Name, arn, s.Env)
			}
			names = append(names, arn)
		}
		arn := strings.Join(names, ", ")
		on, err := d.Configured(v)
		if err != nil {
			return fmt.Errorf("%w (secret %s)", err, arn)
		}
		if !on {
			return fmt.Errorf("payment provider %s: secrets %s hold none of its required settings", d.Name, arn)
		}
		if c.Payments == nil {
			c.Payments = map[string]payments.Values{}
		}
		c.Payments[d.Name] = v
	}
	return nil
}
