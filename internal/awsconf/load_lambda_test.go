//go:build lambdabuild

package awsconf

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Run with: go test -tags lambdabuild ./internal/awsconf (the functions'
// binaries exercise it under the Lambda emulator in scripts/invoke).
func TestLoadReadsLambdasEnvironment(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKID")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "token")
	t.Setenv("AWS_ENDPOINT_URL", "http://all:1")
	t.Setenv("AWS_ENDPOINT_URL_SFN", "http://sfn:2")
	ctx := context.Background()

	cfg, err := Load(ctx, Options{Service: "SFN"})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil || creds.AccessKeyID != "AKID" || creds.SecretAccessKey != "secret" || creds.SessionToken != "token" {
		t.Fatalf("credentials %+v, %v", creds, err)
	}
	if cfg.Region != "eu-west-1" || aws.ToString(cfg.BaseEndpoint) != "http://sfn:2" {
		t.Fatalf("region %q, endpoint %q", cfg.Region, aws.ToString(cfg.BaseEndpoint))
	}
	if cfg, _ := Load(ctx, Options{Service: "DYNAMODB", Region: "us-east-2"}); cfg.Region != "us-east-2" || aws.ToString(cfg.BaseEndpoint) != "http://all:1" {
		t.Fatalf("region %q, endpoint %q: want the option's region and AWS_ENDPOINT_URL", cfg.Region, aws.ToString(cfg.BaseEndpoint))
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	if _, err := Load(ctx, Options{Service: "SFN"}); err == nil {
		t.Fatal("loaded without credentials")
	}
}
