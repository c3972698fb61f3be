package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Stack ids: the CloudFormation stack names `cdk deploy` creates.
const (
	MainStackID = "StarArena"
	EdgeStackID = "StarArenaEdge"
)

// Stacks is what NewApp adds to an app.
type Stacks struct {
	Main awscdk.Stack
	// Edge is the us-east-1 stack holding the CloudFront web ACL; nil when
	// Settings.Edge is off.
	Edge awscdk.Stack
}

// NewApp adds StarArena to app: the us-east-1 edge stack (WAF for
// CloudFront) when s.Edge is on, and the main stack in s.Region, which
// reads the web ACL's ARN across regions (CDK's crossRegionReferences: a
// writer in the edge stack puts it into an SSM parameter in the main
// region, a reader in the main stack reads it; ADR 10). With s.Nag the
// AwsSolutions checks run over both stacks during synth and report every
// unsuppressed finding as an error or warning annotation.
//
// main.go and the tests call it the same way, so the tests check exactly
// the template `cdk synth` writes.
func NewApp(app awscdk.App, s Settings, p *Props) Stacks {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	if p == nil {
		p = &Props{}
	}
	props := *p
	props.Settings = s
	var out Stacks
	env := func(region string) *awscdk.Environment {
		e := &awscdk.Environment{Region: jsii.String(region)}
		if s.Account != "" {
			e.Account = jsii.String(s.Account)
		}
		return e
	}
	if s.Edge {
		edge := NewEdgeStack(app, EdgeStackID, &EdgeProps{
			StackProps: awscdk.StackProps{Env: env(EdgeRegion), CrossRegionReferences: jsii.Bool(true),
				Description: jsii.String("StarArena edge: the CloudFront web ACL (WAF), which AWS requires in us-east-1")},
			Settings: s,
			Topology: props.Topology,
		})
		out.Edge = edge.Stack
		props.WebACLArn = edge.WebACLArn
		props.CaptchaEventsArn = edge.CaptchaEventsArn
	}
	props.StackProps.Env = env(s.Region)
	props.StackProps.CrossRegionReferences = jsii.Bool(s.Edge)
	if props.StackProps.Description == nil {
		props.StackProps.Description = jsii.String("StarArena: concert ticket rush (API, waiting room, purchase and money paths, site)")
	}
	out.Main = NewStarArenaStack(app, MainStackID, &props)
	if out.Edge != nil {
		out.Main.AddStackDependency(out.Edge, jsii.String("the distribution uses the edge stack's web ACL"))
	}
	if s.Nag {
		for _, st := range []awscdk.Stack{out.Main, out.Edge} {
			if st != nil {
				awscdk.Aspects_Of(st).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
			}
		}
	}
	return out
}
