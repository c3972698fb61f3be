package config

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/payments/providers"
)

func env(m map[string]string) Getenv { return func(k string) string { return m[k] } }

func TestFromEnvDefaults(t *testing.T) {
	c, err := FromEnv(env(nil), providers.All()...)
	if err != nil {
		t.Fatal(err)
	}
	if c.TableName != "stararena" || c.Region != "us-east-1" || c.Freshness != 2*time.Second || c.DynamoEndpoint != "" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestFromEnvEndpointPrecedence(t *testing.T) {
	c, err := FromEnv(env(map[string]string{"AWS_ENDPOINT_URL": "http://a", "AWS_ENDPOINT_URL_DYNAMODB": "http://d"}), providers.All()...)
	if err != nil || c.DynamoEndpoint != "http://d" {
		t.Fatalf("endpoint = %q, %v", c.DynamoEndpoint, err)
	}
}

func TestFromEnvRejectsNonsense(t *testing.T) {
	for name, m := range map[string]map[string]string{
		"LogLevel":  {"LOG_LEVEL": "loud"},
		"Freshness": {"AVAILABILITY_FRESHNESS": "forever"},
		"Negative":  {"AVAILABILITY_FRESHNESS": "-1s"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := FromEnv(env(m), providers.All()...); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestInt(t *testing.T) {
	if n, err := Int(env(map[string]string{"P": "8081"}), "P", 8080, 0, 65535); err != nil || n != 8081 {
		t.Fatal(n, err)
	}
	if _, err := Int(env(map[string]string{"P": "99999"}), "P", 8080, 0, 65535); err == nil {
		t.Fatal("out of range accepted")
	}
}

func TestFromEnvReadsPaymentProvidersFromTheRegistry(t *testing.T) {
	t.Run("NoneConfigured", func(t *testing.T) {
		c, err := FromEnv(env(map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_1"}), providers.All()...)
		if err != nil || len(c.Payments) != 0 {
			t.Fatalf("Payments = %v, %v; want none without an API key", c.Payments, err)
		}
	})
	t.Run("StripeWithItsVariables", func(t *testing.T) {
		c, err := FromEnv(env(map[string]string{"STRIPE_API_KEY": "sk_test_1", "STRIPE_API_BASE": "http://127.0.0.1:12111", "TABLE_NAME": "t"}), providers.All()...)
		if err != nil {
			t.Fatal(err)
		}
		got := c.Payments["stripe"]
		if len(c.Payments) != 1 || len(got) != 2 || got["STRIPE_API_KEY"] != "sk_test_1" || got["STRIPE_API_BASE"] != "http://127.0.0.1:12111" {
			t.Fatalf("Payments = %v; want stripe with its two variables only", c.Payments)
		}
	})
}

// With STRIPE_API_KEY_SECRET_ARN and STRIPE_WEBHOOK_SECRET_SECRET_ARN (how
// the CDK app deploys Stripe: one secret per credential) the API key and
// the webhook secret come from their own secrets at start-up, not from
// variables, and a function named only the API key's secret has no
// webhook secret.
func TestPaymentSecretsAreReadFromTheirSecret(t *testing.T) {
	ctx := context.Background()
	const keyArn = "arn:aws:secretsmanager:eu-west-1:1:secret:StripeApiKey-x"
	const hookArn = "arn:aws:secretsmanager:eu-west-1:1:secret:StripeWebhookSecret-y"
	both := map[string]string{"STRIPE_API_KEY_SECRET_ARN": keyArn, "STRIPE_WEBHOOK_SECRET_SECRET_ARN": hookArn}
	c, err := FromEnv(env(both), providers.All()...)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Payments) != 0 || c.PaymentSecrets["stripe"]["STRIPE_API_KEY"] != keyArn || c.PaymentSecrets["stripe"]["STRIPE_WEBHOOK_SECRET"] != hookArn {
		t.Fatalf("before the secrets are read: Payments %v, PaymentSecrets %v", c.Payments, c.PaymentSecrets)
	}
	secrets := map[string]string{keyArn: "sk_live_1", hookArn: "whsec_1\n"}
	var read []string
	get := func(_ context.Context, id string) (string, error) {
		read = append(read, id)
		if s, ok := secrets[id]; ok {
			return s, nil
		}
		return "", errors.New("no such secret")
	}
	if err := c.ResolvePaymentSecrets(ctx, get); err != nil {
		t.Fatal(err)
	}
	if got := c.Payments["stripe"]; got["STRIPE_API_KEY"] != "sk_live_1" || got["STRIPE_WEBHOOK_SECRET"] != "whsec_1" {
		t.Fatalf("Payments = %v", c.Payments)
	}
	t.Run("APIKeyOnly", func(t *testing.T) {
		read = nil
		c, _ := FromEnv(env(map[string]string{"STRIPE_API_KEY_SECRET_ARN": keyArn}), providers.All()...)
		if err := c.ResolvePaymentSecrets(ctx, get); err != nil {
			t.Fatal(err)
		}
		if got := c.Payments["stripe"]; got["STRIPE_API_KEY"] != "sk_live_1" || got["STRIPE_WEBHOOK_SECRET"] != "" || !slices.Equal(read, []string{keyArn}) {
			t.Fatalf("Payments = %v after reading %v; want the API key alone", c.Payments, read)
		}
	})
	t.Run("WebhookSecretWithoutAPIKey", func(t *testing.T) {
		c, _ := FromEnv(env(map[string]string{"STRIPE_WEBHOOK_SECRET_SECRET_ARN": hookArn}), providers.All()...)
		if err := c.ResolvePaymentSecrets(ctx, get); err == nil {
			t.Fatalf("accepted: %v", c.Payments)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		secrets[keyArn] = " "
		defer func() { secrets[keyArn] = "sk_live_1" }()
		c, _ := FromEnv(env(both), providers.All()...)
		if err := c.ResolvePaymentSecrets(ctx, get); err == nil {
			t.Fatalf("an empty API key accepted: %v", c.Payments)
		}
	})
	t.Run("VariableAndSecret", func(t *testing.T) {
		if _, err := FromEnv(env(map[string]string{"STRIPE_API_KEY_SECRET_ARN": keyArn, "STRIPE_API_KEY": "sk_test_2"}), providers.All()...); err == nil {
			t.Fatal("both the key and its secret accepted")
		}
	})
	t.Run("Unreadable", func(t *testing.T) {
		c, _ := FromEnv(env(map[string]string{"STRIPE_API_KEY_SECRET_ARN": keyArn + "-gone"}), providers.All()...)
		if err := c.ResolvePaymentSecrets(ctx, get); err == nil || !strings.Contains(err.Error(), "-gone") {
			t.Fatalf("err = %v, want one naming the secret", err)
		}
	})
}

// A main without payment access passes no registry: no provider's
// variables are read, so none is turned on (and none is linked).
func TestFromEnvWithoutARegistryTurnsOnNoProvider(t *testing.T) {
	c, err := FromEnv(env(map[string]string{"STRIPE_API_KEY": "sk_test_1", "STRIPE_WEBHOOK_SECRET_SECRET_ARN": "arn:secret"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Payments) != 0 || len(c.PaymentSecrets) != 0 {
		t.Fatalf("payments %v, secrets %v without a registry", c.Payments, c.PaymentSecrets)
	}
}
