//go:build lambdabuild

package awsconf

import (
	"cmp"
	"context"
	"errors"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Load returns the configuration Lambda's environment describes. Lambda
// sets the execution role's credentials as environment variables that stay
// valid for the life of the execution environment.
func Load(_ context.Context, o Options) (aws.Config, error) {
	cfg := aws.Config{
		Region:      cmp.Or(o.Region, os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION")),
		HTTPClient:  o.HTTPClient,
		Credentials: o.Credentials,
	}
	if cfg.Credentials == nil {
		id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
		if id == "" || secret == "" {
			return aws.Config{}, errors.New("load aws config: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them)")
		}
		cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN")))
	}
	e := os.Getenv("AWS_ENDPOINT_URL")
	if o.Service != "" {
		e = cmp.Or(os.Getenv("AWS_ENDPOINT_URL_"+o.Service), e)
	}
	if e != "" {
		cfg.BaseEndpoint = aws.String(e)
	}
	return cfg, nil
}
