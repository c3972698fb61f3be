// Package awsconf loads the AWS SDK configuration of one service's client.
//
// Lambda builds (the lambdabuild tag scripts/build.sh sets) read it from the
// environment Lambda gives every function: the region, the execution role's
// credentials and any endpoint override (AWS_ENDPOINT_URL_<SERVICE>, then
// AWS_ENDPOINT_URL). They leave out the SDK's config package, whose
// credential chain (shared files, SSO, STS, web identity, instance metadata)
// a function never uses and which adds about 3.4 MB to every binary.
// Every other build (tests, the local stack, tools) uses the SDK's whole
// default chain.
package awsconf

import (
	"github.com/aws/aws-sdk-go-v2/aws"
)

// Options says what to load.
type Options struct {
	// Region overrides the environment's (AWS_REGION).
	Region string
	// Service is the service's environment name (DYNAMODB, SFN,
	// SECRETS_MANAGER), for its endpoint override.
	Service string
	// HTTPClient, when set, is the clients' HTTP client.
	HTTPClient aws.HTTPClient
	// Credentials, when set, replace the environment's.
	Credentials aws.CredentialsProvider
}
