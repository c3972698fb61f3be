package stack

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// nag records why a cdk-nag AwsSolutions finding on c (and its children)
// is accepted. Every suppression in the app goes through here or through
// addStackSuppressions, with its reason next to the resource it excuses;
// appliesTo narrows it to named findings (e.g. "Resource::*").
func nag(c constructs.IConstruct, rule, reason string, appliesTo ...string) {
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{suppression(rule, reason, appliesTo...)}, jsii.Bool(true))
}

func suppression(rule, reason string, appliesTo ...string) *cdknag.NagPackSuppression {
	s := &cdknag.NagPackSuppression{Id: jsii.String(rule), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		a := make([]any, len(appliesTo))
		for i, v := range appliesTo {
			a[i] = v
		}
		s.AppliesTo = &a
	}
	return s
}

// addStackSuppressions covers resources CDK adds on its own, outside our
// constructs: the singleton function behind BucketDeployment (the site
// upload), matched by its construct id prefix so nothing else is excused.
// Its function also loses the DependsOn on its role that cfn-lint reports
// as redundant, as ours do (dropRoleDependsOn).
// (The web ACL's cross-region reference needs no function: with the
// recommended flag @aws-cdk/core:defaultCrossStackReferences=weak, CDK
// renders it as CloudFormation's Fn::GetStackOutput.)
func addStackSuppressions(stack awscdk.Stack) {
	for _, c := range *stack.Node().Children() {
		id := *c.Node().Id()
		switch {
		case strings.HasPrefix(id, "Custom::CDKBucketDeployment"):
			nag(c, "AwsSolutions-IAM4", "CDK's BucketDeployment function uses AWSLambdaBasicExecutionRole for its own logs; it runs only during deployments.",
				"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
			nag(c, "AwsSolutions-IAM5", "CDK's BucketDeployment reads the site's asset from the CDK asset bucket (s3:GetObject*, GetBucket*, List* on that bucket), replaces the site bucket's objects (object actions on <SiteBucket>/*) and invalidates the distribution (CloudFront invalidations have no resource-level permission, so Resource *). It runs only during deployments.")
			nag(c, "AwsSolutions-L1", "The runtime of CDK's BucketDeployment function is chosen by the CDK version, not by this app; it runs only during deployments.")
			dropRoleDependsOn(c, c.Node().FindChild(jsii.String("ServiceRole")))
		}
	}
}
