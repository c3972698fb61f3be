package stack

import (
	_ "embed"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stararena/stararena/internal/botlevel"
	"github.com/stararena/stararena/internal/topology"
)

// EdgeProps configures NewEdgeStack.
type EdgeProps struct {
	awscdk.StackProps
	Settings Settings
	// Topology; the zero value means topology.Default(). The join route's
	// path comes from it.
	Topology topology.Topology
}

// Edge is the us-east-1 stack and what the main stack reads from it.
type Edge struct {
	Stack     awscdk.Stack
	WebACLArn *string
	// CaptchaEventsArn is the regex pattern set of the join paths of
	// events an organizer raised to CAPTCHA (ADR 22): the admin function
	// updates it at run time.
	CaptchaEventsArn *string
}

// Names of the web ACL's rules (CloudWatch metrics and WAF logs use them).
const (
	RuleJoinCheck       = "JoinBotCheck"
	RuleJoinCaptcha     = "JoinCaptchaByEvent"
	RuleJoinsPerAccount = "JoinsPerAccount"
	RuleJoinsPerClient  = "JoinsPerClient"
	RuleRequestsPerIP   = "RequestsPerIP"
	RuleSiteCaptcha     = "SiteCaptcha"
)

// JoinsPerClientFactor: one client (address and TLS fingerprint) may join
// this many times the per-account limit: a carrier NAT puts many fans on
// one address, and the same browser build shares one fingerprint.
const JoinsPerClientFactor = 100

// ChallengeImmunity is how long a solved challenge or CAPTCHA is good for.
const ChallengeImmunity = 5 * time.Minute

// rateLimitedBody is the WAF's 429 body, in the API's error shape.
const rateLimitedBody = `{"error":{"code":"RATE_LIMITED","message":"Too many requests: wait a minute and try again."}}`

// NewEdgeStack declares the CloudFront web ACL. It must be in us-east-1;
// the distribution (in the main stack) attaches it by ARN.
//
// Rules, in order:
//  1. JoinBotCheck: AWS WAF's Challenge (or CAPTCHA, Settings.WafJoinCheck)
//     on the join route (POST of every SQS-integrated route): a join
//     without a solved, unexpired check never reaches the API (ADR 22).
//  2. JoinsPerAccount: a rate-based rule on the join route keyed by the
//     Authorization header: at most WafJoinsPerMinute per minute per
//     token, then 429 (ADR 9). Joins never reach a function, so this is
//     the only per-account join limit.
//  3. JoinsPerClient: the join route keyed by client IP and JA4 TLS
//     fingerprint, which a caller cannot vary freely, at
//     JoinsPerClientFactor times the per-account limit (ADR 22).
//  4. RequestsPerIP: a high per-IP ceiling over five minutes for floods
//     from one address; high because a carrier NAT puts thousands of
//     fans behind one address, and the application never limits per IP.
//  5. AWS managed IP reputation and known-bad-inputs rule groups.
func NewEdgeStack(scope constructs.Construct, id string, p *EdgeProps) Edge {
	topo := p.Topology
	if isZero(topo) {
		topo = topology.Default()
	}
	s := p.Settings
	stack := awscdk.NewStack(scope, jsii.String(id), &p.StackProps)
	visibility := func(name string) *awswafv2.CfnWebACL_VisibilityConfigProperty {
		return &awswafv2.CfnWebACL_VisibilityConfigProperty{
			CloudWatchMetricsEnabled: jsii.Bool(true),
			MetricName:               jsii.String("StarArena" + name),
			SampledRequestsEnabled:   jsii.Bool(true),
		}
	}
	none := &[]any{&awswafv2.CfnWebACL_TextTransformationProperty{Priority: jsii.Number(0), Type: jsii.String("NONE")}}
	method := func(m string) *awswafv2.CfnWebACL_StatementProperty {
		return &awswafv2.CfnWebACL_StatementProperty{ByteMatchStatement: &awswafv2.CfnWebACL_ByteMatchStatementProperty{
			FieldToMatch: &awswafv2.CfnWebACL_FieldToMatchProperty{Method: map[string]any{}}, PositionalConstraint: jsii.String("EXACTLY"),
			SearchString: jsii.String(m), TextTransformations: none,
		}}
	}
	block429 := &awswafv2.CfnWebACL_RuleActionProperty{Block: &awswafv2.CfnWebACL_BlockActionProperty{
		CustomResponse: &awswafv2.CfnWebACL_CustomResponseProperty{
			ResponseCode:          jsii.Number(429),
			CustomResponseBodyKey: jsii.String("rate-limited"),
			ResponseHeaders: &[]any{&awswafv2.CfnWebACL_CustomHTTPHeaderProperty{
				Name: jsii.String("retry-after"), Value: jsii.String("60"),
			}},
		},
	}}
	joins := &awswafv2.CfnWebACL_StatementProperty{AndStatement: &awswafv2.CfnWebACL_AndStatementProperty{
		Statements: &[]any{
			&awswafv2.CfnWebACL_StatementProperty{ByteMatchStatement: &awswafv2.CfnWebACL_ByteMatchStatementProperty{
				FieldToMatch:         &awswafv2.CfnWebACL_FieldToMatchProperty{Method: map[string]any{}},
				PositionalConstraint: jsii.String("EXACTLY"),
				SearchString:         jsii.String("POST"),
				TextTransformations:  none,
			}},
			&awswafv2.CfnWebACL_StatementProperty{RegexMatchStatement: &awswafv2.CfnWebACL_RegexMatchStatementProperty{
				FieldToMatch:        &awswafv2.CfnWebACL_FieldToMatchProperty{UriPath: map[string]any{}},
				RegexString:         jsii.String(JoinPathRegex(topo)),
				TextTransformations: none,
			}},
		},
	}}
	// The join paths of events an organizer raised to CAPTCHA during a sale
	// (PUT /admin/v1/events/{eventId}/bot-level). The set starts with a
	// pattern that matches no path: it is never empty. CloudFormation
	// leaves the admin function's changes alone until this declaration
	// itself changes.
	captchaEvents := awswafv2.NewCfnRegexPatternSet(stack, jsii.String("CaptchaEvents"), &awswafv2.CfnRegexPatternSetProps{
		Scope:                 jsii.String("CLOUDFRONT"),
		Description:           jsii.String("StarArena: join paths of events whose joins meet a CAPTCHA, kept by the admin function, ADR 22"),
		RegularExpressionList: jsii.Strings(botlevel.NoEvents),
	})
	check := &awswafv2.CfnWebACL_RuleActionProperty{Challenge: &awswafv2.CfnWebACL_ChallengeActionProperty{}}
	if s.WafJoinCheck == WafJoinCaptcha {
		check = &awswafv2.CfnWebACL_RuleActionProperty{Captcha: &awswafv2.CfnWebACL_CaptchaActionProperty{}}
	}
	rules := []any{
		// A join without a valid token is answered with the challenge (202,
		// x-amzn-waf-action) and never reaches the API; the site solves it
		// with the challenge script and joins again (ADR 22).
		&awswafv2.CfnWebACL_RuleProperty{
			Name:             jsii.String(RuleJoinCheck),
			Priority:         jsii.Number(0),
			Action:           check,
			Statement:        joins,
			VisibilityConfig: visibility(RuleJoinCheck),
		},
		// A join of an event at CAPTCHA without a solved CAPTCHA is
		// answered 405 with x-amzn-waf-action: captcha; the site shows the
		// CAPTCHA in the page (the CAPTCHA JavaScript API) and joins again.
		&awswafv2.CfnWebACL_RuleProperty{
			Name:     jsii.String(RuleJoinCaptcha),
			Priority: jsii.Number(7),
			Action:   &awswafv2.CfnWebACL_RuleActionProperty{Captcha: &awswafv2.CfnWebACL_CaptchaActionProperty{}},
			Statement: &awswafv2.CfnWebACL_StatementProperty{AndStatement: &awswafv2.CfnWebACL_AndStatementProperty{
				Statements: &[]any{
					method("POST"),
					&awswafv2.CfnWebACL_StatementProperty{RegexPatternSetReferenceStatement: &awswafv2.CfnWebACL_RegexPatternSetReferenceStatementProperty{
						Arn:                 captchaEvents.AttrArn(),
						FieldToMatch:        &awswafv2.CfnWebACL_FieldToMatchProperty{UriPath: map[string]any{}},
						TextTransformations: none,
					}},
				},
			}},
			VisibilityConfig: visibility(RuleJoinCaptcha),
		},
		// Per token: a token is one account's, and a fresh one costs a
		// sign-in; a made-up one passes this rule but not the authorizer.
		&awswafv2.CfnWebACL_RuleProperty{
			Name:     jsii.String(RuleJoinsPerAccount),
			Priority: jsii.Number(1),
			Action:   block429,
			Statement: &awswafv2.CfnWebACL_StatementProperty{RateBasedStatement: &awswafv2.CfnWebACL_RateBasedStatementProperty{
				Limit:               jsii.Number(float64(s.WafJoinsPerMinute)),
				EvaluationWindowSec: jsii.Number(60),
				AggregateKeyType:    jsii.String("CUSTOM_KEYS"),
				CustomKeys: &[]any{&awswafv2.CfnWebACL_RateBasedStatementCustomKeyProperty{
					Header: &awswafv2.CfnWebACL_RateLimitHeaderProperty{Name: jsii.String("authorization"), TextTransformations: none},
				}},
				ScopeDownStatement: joins,
			}},
			VisibilityConfig: visibility(RuleJoinsPerAccount),
		},
		// Per client: what a caller cannot vary freely, its address and its
		// TLS stack's JA4 fingerprint, however many tokens it holds.
		&awswafv2.CfnWebACL_RuleProperty{
			Name:     jsii.String(RuleJoinsPerClient),
			Priority: jsii.Number(2),
			Action:   block429,
			Statement: &awswafv2.CfnWebACL_StatementProperty{RateBasedStatement: &awswafv2.CfnWebACL_RateBasedStatementProperty{
				Limit:               jsii.Number(float64(s.WafJoinsPerMinute * JoinsPerClientFactor)),
				EvaluationWindowSec: jsii.Number(60),
				AggregateKeyType:    jsii.String("CUSTOM_KEYS"),
				CustomKeys: &[]any{
					&awswafv2.CfnWebACL_RateBasedStatementCustomKeyProperty{Ip: map[string]any{}},
					&awswafv2.CfnWebACL_RateBasedStatementCustomKeyProperty{
						Ja4Fingerprint: &awswafv2.CfnWebACL_RateLimitJA4FingerprintProperty{FallbackBehavior: jsii.String("MATCH")},
					},
				},
				ScopeDownStatement: joins,
			}},
			VisibilityConfig: visibility(RuleJoinsPerClient),
		},
		&awswafv2.CfnWebACL_RuleProperty{
			Name:     jsii.String(RuleRequestsPerIP),
			Priority: jsii.Number(3),
			Action:   block429,
			Statement: &awswafv2.CfnWebACL_StatementProperty{RateBasedStatement: &awswafv2.CfnWebACL_RateBasedStatementProperty{
				Limit:               jsii.Number(float64(s.WafRequestsPerIP)),
				EvaluationWindowSec: jsii.Number(300),
				AggregateKeyType:    jsii.String("IP"),
			}},
			VisibilityConfig: visibility(RuleRequestsPerIP),
		},
	}
	if s.WafJoinCheck == WafJoinCaptcha {
		// The site cannot show AWS's CAPTCHA in the page without its
		// CAPTCHA API key: a join answered with a CAPTCHA reloads the
		// event page, which this rule puzzles before serving it.
		rules = append(rules, &awswafv2.CfnWebACL_RuleProperty{
			Name:     jsii.String(RuleSiteCaptcha),
			Priority: jsii.Number(6),
			Action:   check,
			Statement: &awswafv2.CfnWebACL_StatementProperty{AndStatement: &awswafv2.CfnWebACL_AndStatementProperty{
				Statements: &[]any{
					method("GET"),
					&awswafv2.CfnWebACL_StatementProperty{ByteMatchStatement: &awswafv2.CfnWebACL_ByteMatchStatementProperty{
						FieldToMatch: &awswafv2.CfnWebACL_FieldToMatchProperty{UriPath: map[string]any{}}, PositionalConstraint: jsii.String("EXACTLY"),
						SearchString: jsii.String("/"), TextTransformations: none,
					}},
				},
			}},
			VisibilityConfig: visibility(RuleSiteCaptcha),
		})
	}
	for i, group := range []string{"AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesKnownBadInputsRuleSet"} {
		rules = append(rules, &awswafv2.CfnWebACL_RuleProperty{
			Name:           jsii.String(group),
			Priority:       jsii.Number(float64(4 + i)),
			OverrideAction: &awswafv2.CfnWebACL_OverrideActionProperty{None: map[string]any{}},
			Statement: &awswafv2.CfnWebACL_StatementProperty{ManagedRuleGroupStatement: &awswafv2.CfnWebACL_ManagedRuleGroupStatementProperty{
				VendorName: jsii.String("AWS"), Name: jsii.String(group),
			}},
			VisibilityConfig: visibility(group),
		})
	}
	acl := awswafv2.NewCfnWebACL(stack, jsii.String("WebAcl"), &awswafv2.CfnWebACLProps{
		Scope:            jsii.String("CLOUDFRONT"),
		DefaultAction:    &awswafv2.CfnWebACL_DefaultActionProperty{Allow: map[string]any{}},
		Description:      jsii.String("StarArena CloudFront: join bot check, per-account and per-client join limits, per-IP ceiling, AWS managed rules"),
		VisibilityConfig: visibility("WebAcl"),
		ChallengeConfig: &awswafv2.CfnWebACL_ChallengeConfigProperty{ImmunityTimeProperty: &awswafv2.CfnWebACL_ImmunityTimePropertyProperty{
			ImmunityTime: jsii.Number(ChallengeImmunity.Seconds())}},
		CaptchaConfig: &awswafv2.CfnWebACL_CaptchaConfigProperty{ImmunityTimeProperty: &awswafv2.CfnWebACL_ImmunityTimePropertyProperty{
			ImmunityTime: jsii.Number(ChallengeImmunity.Seconds())}},
		CustomResponseBodies: map[string]any{"rate-limited": &awswafv2.CfnWebACL_CustomResponseBodyProperty{
			ContentType: jsii.String("APPLICATION_JSON"), Content: jsii.String(rateLimitedBody),
		}},
		Rules: &rules,
	})
	output(stack, "WebAclArn", acl.AttrArn())
	output(stack, "CaptchaEventsArn", captchaEvents.AttrArn())
	return Edge{Stack: stack, WebACLArn: acl.AttrArn(), CaptchaEventsArn: captchaEvents.AttrArn()}
}

// JoinPathRegex is the WAF regular expression matching the path of every
// SQS-integrated (join) route: path parameters match one segment.
func JoinPathRegex(topo topology.Topology) string {
	var alts []string
	for _, r := range topo.Routes {
		if r.Integration == topology.IntegrationSQS {
			alts = append(alts, pathRegex(r.Path))
		}
	}
	sort.Strings(alts)
	if len(alts) == 0 {
		// No join route: a pattern that matches no path.
		return "^$"
	}
	if len(alts) == 1 {
		return "^" + alts[0] + "$"
	}
	return "^(?:" + strings.Join(alts, "|") + ")$"
}

var pathParam = regexp.MustCompile(`\{[^/}]+\}`)

func pathRegex(path string) string {
	parts := pathParam.Split(path, -1)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return strings.Join(parts, "[^/]+")
}

// CDNPathPattern is the CloudFront path pattern of a route path: each path
// parameter becomes *.
func CDNPathPattern(path string) string { return pathParam.ReplaceAllString(path, "*") }

// cdnBehavior is one API cache behavior: the routes sharing a path
// pattern, which must agree on their cache TTL.
type cdnBehavior struct {
	Pattern string
	TTL     time.Duration
	Methods map[string]bool
}

// CDNRoutes returns the deployed routes CloudFront forwards to the API:
// all but the organizer routes, whose callers sign requests for the API's
// own host name (SigV4 covers the Host header) and call it directly.
func CDNRoutes(topo topology.Topology) []topology.Route {
	var out []topology.Route
	for _, r := range topo.Routes {
		if r.Integration != topology.IntegrationLocal && r.Auth != topology.AuthOrganizer {
			out = append(out, r)
		}
	}
	return out
}

// cdnBehaviors groups the CDN routes by path pattern, most specific
// first: CloudFront uses the first behavior whose pattern matches, and *
// matches across slashes, so /v1/events/*/holds must come before
// /v1/events/*.
func cdnBehaviors(topo topology.Topology) []cdnBehavior {
	by := map[string]*cdnBehavior{}
	var order []string
	for _, r := range CDNRoutes(topo) {
		pat := CDNPathPattern(r.Path)
		b, ok := by[pat]
		if !ok {
			b = &cdnBehavior{Pattern: pat, TTL: r.CacheTTL, Methods: map[string]bool{}}
			by[pat] = b
			order = append(order, pat)
		}
		if b.TTL != r.CacheTTL {
			panic(fmt.Sprintf("stack: routes on CloudFront path %s disagree on CacheTTL (%s, %s)", pat, b.TTL, r.CacheTTL))
		}
		if r.CacheTTL > 0 && r.Method != "GET" {
			panic(fmt.Sprintf("stack: route %s has a CacheTTL but CloudFront caches only GET", r.Key()))
		}
		b.Methods[r.Method] = true
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if sa, sb := strings.Count(a, "/"), strings.Count(b, "/"); sa != sb {
			return sa > sb
		}
		if la, lb := len(strings.ReplaceAll(a, "*", "")), len(strings.ReplaceAll(b, "*", "")); la != lb {
			return la > lb
		}
		return a < b
	})
	out := make([]cdnBehavior, len(order))
	for i, p := range order {
		out[i] = *by[p]
	}
	return out
}

// site declares the static site's bucket, the access-log bucket, the
// distribution (with WAF and the API behind it) when edge is on, and the
// deployment of web/ with a config.json for this stack.
type site struct {
	Bucket       awss3.Bucket
	Logs         awss3.Bucket
	Distribution awscloudfront.Distribution // nil when edge is off
}

func newSite(scope constructs.Construct, topo topology.Topology, s Settings, webDir string, webACLArn *string,
	api awsapigatewayv2.HttpApi, originProof *string, siteConfig map[string]any, signInOrigin *string) site {
	logs := awss3.NewBucket(scope, jsii.String("AccessLogBucket"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		// CloudFront's standard logs are delivered with an ACL.
		ObjectOwnership: awss3.ObjectOwnership_BUCKET_OWNER_PREFERRED,
		LifecycleRules:  &[]*awss3.LifecycleRule{{Expiration: awscdk.Duration_Days(jsii.Number(90))}},
	})
	nag(logs, "AwsSolutions-S1", "This bucket receives the site bucket's and CloudFront's access logs; logging it to itself would loop.")
	bucket := awss3.NewBucket(scope, jsii.String("SiteBucket"), &awss3.BucketProps{
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:             jsii.Bool(true),
		ServerAccessLogsBucket: logs,
		ServerAccessLogsPrefix: jsii.String("site-bucket/"),
	})
	out := site{Bucket: bucket, Logs: logs}
	if s.Edge {
		out.Distribution = newDistribution(scope, topo, s, bucket, logs, webACLArn, api, originProof,
			siteHeadersPolicy(scope, "SiteHeaders", nil, signInOrigin, wafOrigins(s)...),
			siteHeadersPolicy(scope, "ServiceWorkerHeaders", map[string]string{"Cache-Control": topology.ServiceWorkerCacheControl}, signInOrigin, wafOrigins(s)...))
	}
	sources := []awss3deployment.ISource{
		awss3deployment.Source_Asset(jsii.String(webDir), &awss3assets.AssetOptions{
			Exclude: &[]*string{jsii.String("config.json")},
		}),
		awss3deployment.Source_JsonData(jsii.String("config.json"), siteConfig, nil),
	}
	deploy := &awss3deployment.BucketDeploymentProps{
		Sources:           &sources,
		DestinationBucket: bucket,
		MemoryLimit:       jsii.Number(256),
	}
	if out.Distribution != nil {
		deploy.Distribution = out.Distribution
		deploy.DistributionPaths = &[]*string{jsii.String("/*")}
	}
	awss3deployment.NewBucketDeployment(scope, jsii.String("SiteDeployment"), deploy)
	return out
}

// newDistribution puts CloudFront in front of the site (S3 with origin
// access control, the default behavior) and of the API (one behavior per
// route path pattern). A route's CacheTTL becomes a cache policy with that
// TTL and nothing in the cache key but the path (these routes are public
// and take no query string); every other route is not cached and forwards
// everything the viewer sent but Host, including Authorization.
func newDistribution(scope constructs.Construct, topo topology.Topology, s Settings, bucket, logs awss3.IBucket,
	webACLArn *string, api awsapigatewayv2.HttpApi, originProof *string, siteHeaders, workerHeaders awscloudfront.IResponseHeadersPolicy) awscloudfront.Distribution {
	stack := awscdk.Stack_Of(scope)
	apiDomain := awscdk.Fn_Join(jsii.String(""), &[]*string{api.ApiId(), jsii.String(".execute-api."), stack.Region(), jsii.String("."), stack.UrlSuffix()})
	apiOrigin := awscloudfrontorigins.NewHttpOrigin(apiDomain, &awscloudfrontorigins.HttpOriginProps{
		ProtocolPolicy:     awscloudfront.OriginProtocolPolicy_HTTPS_ONLY,
		OriginSslProtocols: &[]awscloudfront.OriginSslPolicy{awscloudfront.OriginSslPolicy_TLS_V1_2},
		// The API refuses CDN routes without it (ADR 22): nobody skips
		// the WAF by calling the execute-api address.
		CustomHeaders: &map[string]*string{topology.OriginHeader: originProof},
	})
	policies := map[time.Duration]awscloudfront.ICachePolicy{}
	cachePolicy := func(ttl time.Duration) awscloudfront.ICachePolicy {
		if p, ok := policies[ttl]; ok {
			return p
		}
		secs := awscdk.Duration_Seconds(jsii.Number(math.Ceil(ttl.Seconds())))
		p := awscloudfront.NewCachePolicy(scope, jsii.String(fmt.Sprintf("ApiCache%ds", int(math.Ceil(ttl.Seconds())))), &awscloudfront.CachePolicyProps{
			Comment:                    jsii.String(fmt.Sprintf("StarArena API responses cached %s (route CacheTTL)", ttl)),
			MinTtl:                     awscdk.Duration_Seconds(jsii.Number(0)),
			DefaultTtl:                 secs,
			MaxTtl:                     secs,
			HeaderBehavior:             awscloudfront.CacheHeaderBehavior_None(),
			QueryStringBehavior:        awscloudfront.CacheQueryStringBehavior_None(),
			CookieBehavior:             awscloudfront.CacheCookieBehavior_None(),
			EnableAcceptEncodingGzip:   jsii.Bool(true),
			EnableAcceptEncodingBrotli: jsii.Bool(true),
		})
		policies[ttl] = p
		return p
	}
	type behavior struct {
		pattern string
		opts    *awscloudfront.BehaviorOptions
	}
	var behaviors []behavior
	for _, b := range cdnBehaviors(topo) {
		opts := &awscloudfront.BehaviorOptions{
			Origin:               apiOrigin,
			ViewerProtocolPolicy: awscloudfront.ViewerProtocolPolicy_HTTPS_ONLY,
			Compress:             jsii.Bool(true),
		}
		if b.TTL > 0 {
			opts.CachePolicy = cachePolicy(b.TTL)
			opts.AllowedMethods = awscloudfront.AllowedMethods_ALLOW_GET_HEAD()
		} else {
			opts.CachePolicy = awscloudfront.CachePolicy_CACHING_DISABLED()
			opts.OriginRequestPolicy = awscloudfront.OriginRequestPolicy_ALL_VIEWER_EXCEPT_HOST_HEADER()
			opts.AllowedMethods = awscloudfront.AllowedMethods_ALLOW_GET_HEAD_OPTIONS()
			for m := range b.Methods {
				if m != "GET" {
					opts.AllowedMethods = awscloudfront.AllowedMethods_ALLOW_ALL()
				}
			}
		}
		behaviors = append(behaviors, behavior{b.Pattern, opts})
	}
	// An S3 origin has no directory indexes: a viewer-request function
	// maps /console/ and /gate/ to their index.html (cffn/index.js).
	indexes := awscloudfront.NewFunction(scope, jsii.String("DirectoryIndex"), &awscloudfront.FunctionProps{
		Comment: jsii.String("Serve index.html for site folders"),
		Code:    awscloudfront.FunctionCode_FromInline(jsii.String(DirectoryIndexFunction)),
		Runtime: awscloudfront.FunctionRuntime_JS_2_0(),
	})
	siteOrigin := awscloudfrontorigins.S3BucketOrigin_WithOriginAccessControl(bucket, nil)
	props := &awscloudfront.DistributionProps{
		Comment:           jsii.String("StarArena: fan site and API"),
		DefaultRootObject: jsii.String("index.html"),
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin:                siteOrigin,
			ViewerProtocolPolicy:  awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
			CachePolicy:           awscloudfront.CachePolicy_CACHING_OPTIMIZED(),
			ResponseHeadersPolicy: siteHeaders,
			Compress:              jsii.Bool(true),
			FunctionAssociations: &[]*awscloudfront.FunctionAssociation{{
				Function: indexes, EventType: awscloudfront.FunctionEventType_VIEWER_REQUEST,
			}},
		},
		WebAclId:      webACLArn,
		EnableLogging: jsii.Bool(true),
		LogBucket:     logs,
		LogFilePrefix: jsii.String("cloudfront/"),
		HttpVersion:   awscloudfront.HttpVersion_HTTP2_AND_3,
		PriceClass:    awscloudfront.PriceClass_PRICE_CLASS_ALL,
	}
	if s.DomainName != "" {
		props.DomainNames = &[]*string{jsii.String(s.DomainName)}
		props.Certificate = awscertificatemanager.Certificate_FromCertificateArn(scope, jsii.String("SiteCertificate"), jsii.String(s.CertificateArn))
		props.MinimumProtocolVersion = awscloudfront.SecurityPolicyProtocol_TLS_V1_2_2021
	}
	dist := awscloudfront.NewDistribution(scope, jsii.String("Distribution"), props)
	// The service worker is never cached, at the edge or in the browser
	// (topology.ServiceWorker): a cached one would keep an old app shell
	// on fans' phones after a deploy. S3 serves it as JavaScript (the
	// deployment sets each object's type from its extension).
	dist.AddBehavior(jsii.String(topology.ServiceWorkerPath), siteOrigin, &awscloudfront.AddBehaviorOptions{
		ViewerProtocolPolicy: awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS, Compress: jsii.Bool(true),
		CachePolicy: awscloudfront.CachePolicy_CACHING_DISABLED(), ResponseHeadersPolicy: workerHeaders,
		AllowedMethods: awscloudfront.AllowedMethods_ALLOW_GET_HEAD(),
	})
	// One by one, in order: CloudFront takes the first matching pattern,
	// and a map of behaviors would reach the template sorted by pattern.
	for _, b := range behaviors {
		dist.AddBehavior(jsii.String(b.pattern), b.opts.Origin, &awscloudfront.AddBehaviorOptions{
			ViewerProtocolPolicy: b.opts.ViewerProtocolPolicy, Compress: b.opts.Compress,
			CachePolicy: b.opts.CachePolicy, OriginRequestPolicy: b.opts.OriginRequestPolicy, AllowedMethods: b.opts.AllowedMethods,
		})
	}
	nag(dist, "AwsSolutions-CFR1", "Ticket sales are open to fans in every country; geographic restriction is a per-event business decision, not a platform default.")
	if s.DomainName == "" {
		nag(dist, "AwsSolutions-CFR4", "Without a domainName/certificateArn the distribution uses the default *.cloudfront.net certificate, whose TLS policy CloudFront fixes; set both to get TLSv1.2_2021.")
	}
	return dist
}

// DirectoryIndexFunction is the site's directory-index CloudFront Function.
//
//go:embed cffn/index.js
var DirectoryIndexFunction string

// siteHeadersPolicy is the site's security headers (topology.
// SiteSecurityHeaders, which the local stack's file server sends too) as a
// CloudFront response headers policy; the pages fetch from the Cognito
// domain (signInOrigin) to exchange a sign-in code for tokens.
// extra are headers the policy adds besides the security headers (the
// service worker's Cache-Control).
func siteHeadersPolicy(scope constructs.Construct, id string, extra map[string]string, signInOrigin *string, scripts ...string) awscloudfront.IResponseHeadersPolicy {
	h := topology.SiteSecurityHeaders(*signInOrigin).WithScripts(scripts...)
	comment := "StarArena fan site and console: CSP without inline script, nosniff, no framing, referrer policy, HSTS"
	var custom *awscloudfront.ResponseCustomHeadersBehavior
	if len(extra) > 0 {
		comment = "StarArena service worker: the site's security headers, never cached"
		names := make([]string, 0, len(extra))
		for k := range extra {
			names = append(names, k)
		}
		sort.Strings(names)
		list := make([]*awscloudfront.ResponseCustomHeader, 0, len(names))
		for _, k := range names {
			list = append(list, &awscloudfront.ResponseCustomHeader{Header: jsii.String(k), Value: jsii.String(extra[k]), Override: jsii.Bool(true)})
		}
		custom = &awscloudfront.ResponseCustomHeadersBehavior{CustomHeaders: &list}
	}
	return awscloudfront.NewResponseHeadersPolicy(scope, jsii.String(id), &awscloudfront.ResponseHeadersPolicyProps{
		Comment:               jsii.String(comment),
		CustomHeadersBehavior: custom,
		SecurityHeadersBehavior: &awscloudfront.ResponseSecurityHeadersBehavior{
			ContentSecurityPolicy: &awscloudfront.ResponseHeadersContentSecurityPolicy{
				ContentSecurityPolicy: jsii.String(h.ContentSecurityPolicy), Override: jsii.Bool(true)},
			ContentTypeOptions: &awscloudfront.ResponseHeadersContentTypeOptions{Override: jsii.Bool(true)},
			FrameOptions: &awscloudfront.ResponseHeadersFrameOptions{
				FrameOption: awscloudfront.HeadersFrameOption(jsiiEnum(h.FrameOptions)), Override: jsii.Bool(true)},
			ReferrerPolicy: &awscloudfront.ResponseHeadersReferrerPolicy{
				ReferrerPolicy: awscloudfront.HeadersReferrerPolicy(jsiiEnum(h.ReferrerPolicy)), Override: jsii.Bool(true)},
			StrictTransportSecurity: &awscloudfront.ResponseHeadersStrictTransportSecurity{
				AccessControlMaxAge: awscdk.Duration_Seconds(jsii.Number(h.StrictTransportSecurity.Seconds())),
				IncludeSubdomains:   jsii.Bool(true), Override: jsii.Bool(true)},
		},
	})
}

// wafOrigins are the origins of the web ACL's challenge script and of the
// CAPTCHA JavaScript API, when known: the pages load them and they call
// their own endpoints.
func wafOrigins(s Settings) []string {
	var out []string
	for _, v := range []string{s.WafIntegrationURL, s.WafCaptchaScript} {
		if u, err := url.Parse(v); v != "" && err == nil {
			out = append(out, u.Scheme+"://"+u.Host)
		}
	}
	return out
}

// wafSiteConfig is the "waf" object of the site's config.json: where the
// challenge script is (ADR 22); nil until the integration URL is known.
func wafSiteConfig(s Settings) map[string]any {
	if s.WafIntegrationURL == "" {
		return nil
	}
	c := map[string]any{"script": strings.TrimSuffix(s.WafIntegrationURL, "/") + "/challenge.js"}
	if s.WafCaptchaScript != "" {
		c["captchaScript"], c["captchaApiKey"] = s.WafCaptchaScript, s.WafCaptchaAPIKey
	}
	return c
}

// jsiiEnum is the member name of a CDK enum whose CloudFormation value is
// v ("strict-origin-when-cross-origin" → STRICT_ORIGIN_WHEN_CROSS_ORIGIN).
func jsiiEnum(v string) string { return strings.ToUpper(strings.ReplaceAll(v, "-", "_")) }

// webDir is the site folder: <repo>/web unless Props.WebDir says otherwise.
func webDir(p *Props, repo string) string {
	if p.WebDir != "" {
		return p.WebDir
	}
	return filepath.Join(repo, "web")
}
