package config

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) Getenv { return func(k string) string { return m[k] } }

func TestFromEnvDefaults(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.TableName != "stararena" || c.Region != "us-east-1" || c.Freshness != 2*time.Second || c.DynamoEndpoint != "" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestFromEnvEndpointPrecedence(t *testing.T) {
	c, err := FromEnv(env(map[string]string{"AWS_ENDPOINT_URL": "http://a", "AWS_ENDPOINT_URL_DYNAMODB": "http://d"}))
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
			if _, err := FromEnv(env(m)); err == nil {
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
		c, err := FromEnv(env(map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_1"}))
		if err != nil || len(c.Payments) != 0 {
			t.Fatalf("Payments = %v, %v; want none without an API key", c.Payments, err)
		}
	})
	t.Run("StripeWithItsVariables", func(t *testing.T) {
		c, err := FromEnv(env(map[string]string{"STRIPE_API_KEY": "sk_test_1", "STRIPE_API_BASE": "http://127.0.0.1:12111", "TABLE_NAME": "t"}))
		if err != nil {
			t.Fatal(err)
		}
		got := c.Payments["stripe"]
		if len(c.Payments) != 1 || len(got) != 2 || got["STRIPE_API_KEY"] != "sk_test_1" || got["STRIPE_API_BASE"] != "http://127.0.0.1:12111" {
			t.Fatalf("Payments = %v; want stripe with its two variables only", c.Payments)
		}
	})
}

// With STRIPE_SECRET_ARN (how the CDK app deploys Stripe) the API key and
// webhook secret come from the secret at start-up, not from variables.
func TestPaymentSecretsAreReadFromTheirSecret(t *testing.T) {
	ctx := context.Background()
	const arn = "arn:aws:secretsmanager:eu-west-1:1:secret:StripeKeys-x"
	c, err := FromEnv(env(map[string]string{"STRIPE_SECRET_ARN": arn}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Payments) != 0 || c.PaymentSecrets["stripe"] != arn {
		t.Fatalf("before the secret is read: Payments %v, PaymentSecrets %v", c.Payments, c.PaymentSecrets)
	}
	secrets := map[string]string{arn: `{"apiKey":"sk_live_1","webhookSecret":"whsec_1"}`}
	get := func(_ context.Context, id string) (string, error) {
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
	for name, doc := range map[string]string{"NotJSON": "sk_live_1", "NoAPIKey": `{"webhookSecret":"whsec_1"}`} {
		t.Run(name, func(t *testing.T) {
			c, _ := FromEnv(env(map[string]string{"STRIPE_SECRET_ARN": arn}))
			secrets[arn] = doc
			if err := c.ResolvePaymentSecrets(ctx, get); err == nil {
				t.Fatalf("secret %q accepted: %v", doc, c.Payments)
			}
		})
	}
	t.Run("Unreadable", func(t *testing.T) {
		c, _ := FromEnv(env(map[string]string{"STRIPE_SECRET_ARN": arn + "-gone"}))
		if err := c.ResolvePaymentSecrets(ctx, get); err == nil || !strings.Contains(err.Error(), "-gone") {
			t.Fatalf("err = %v, want one naming the secret", err)
		}
	})
}
