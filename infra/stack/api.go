package stack

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/topology"
)

// RouteClass groups routes that share a throttle on the API's default
// stage (docs/capacity.md derives the numbers).
type RouteClass string

// Route classes.
const (
	// ClassJoin: SQS-integrated routes (the waiting-room join). The only
	// fan route that must take the whole rush; one SQS message each.
	ClassJoin RouteClass = "join"
	// ClassPublic: unauthenticated reads. CloudFront answers almost all of
	// them within their CacheTTL; the origin sees a few per second per path.
	ClassPublic RouteClass = "public"
	// ClassFan: a fan's own reads and writes (queue/me, admission, orders).
	ClassFan RouteClass = "fan"
	// ClassPurchase: fan routes served by a function with reserved
	// concurrency (holds): paced by the waiting room's admission rate.
	ClassPurchase RouteClass = "purchase"
	// ClassOrganizer: IAM-signed organizer and gate routes.
	ClassOrganizer RouteClass = "organizer"
	// ClassWebhook: payment-provider callbacks.
	ClassWebhook RouteClass = "webhook"
)

// Throttle is a steady rate (requests per second) and a burst.
type Throttle struct{ Rate, Burst int }

// Throttles per route class (docs/capacity.md derives them). ClassJoin's
// comes from the settings (apiJoinRate, apiJoinBurst): API Gateway's
// account default is 10,000 rps with a 5,000 burst per Region and route
// limits never raise it, so a big sale raises the account quota first and
// then the join throttle with it.
var Throttles = map[RouteClass]Throttle{
	// Origin requests only: a few per second per path behind the CDN.
	ClassPublic: {Rate: 2000, Burst: 1000},
	// queue/me reads the event and its queue state, two items under one
	// partition key (3,000 RCU/s per partition): keep fans' own reads
	// below what that partition serves; a 429 is retried by the page.
	ClassFan: {Rate: 1500, Burst: 750},
	// Paced by the admission rate (≤ 300/s) and reserved concurrency.
	ClassPurchase:  {Rate: 1000, Burst: 500},
	ClassOrganizer: {Rate: 50, Burst: 100},
	ClassWebhook:   {Rate: 500, Burst: 1000},
}

// ThrottleOf is the throttle of a route class under settings s.
func ThrottleOf(class RouteClass, s Settings) Throttle {
	if class == ClassJoin {
		return Throttle{Rate: s.APIJoinRate, Burst: s.APIJoinBurst}
	}
	return Throttles[class]
}

// ClassOf returns a route's throttle class.
func ClassOf(topo topology.Topology, r topology.Route) RouteClass {
	switch {
	case r.Integration == topology.IntegrationSQS:
		return ClassJoin
	case r.Auth == topology.AuthOrganizer:
		return ClassOrganizer
	case r.Auth == topology.AuthSignature:
		return ClassWebhook
	case r.Auth == topology.AuthNone:
		return ClassPublic
	}
	if f, ok := topo.Function(r.Function); ok && f.ReservedConcurrency > 0 {
		return ClassPurchase
	}
	return ClassFan
}

// newUserPool declares the fans' identity: a Cognito user pool and a public
// (secretless) app client for the browser. The Lite feature plan: fans only
// sign up and sign in, and a million monthly active users on a higher plan
// would cost several times as much.
func newUserPool(scope constructs.Construct) (awscognito.UserPool, awscognito.UserPoolClient, awscognito.UserPoolClient) {
	pool := awscognito.NewUserPool(scope, jsii.String("FanUserPool"), &awscognito.UserPoolProps{
		SelfSignUpEnabled: jsii.Bool(true),
		SignInAliases:     &awscognito.SignInAliases{Email: jsii.Bool(true)},
		AutoVerify:        &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		AccountRecovery:   awscognito.AccountRecovery_EMAIL_ONLY,
		FeaturePlan:       awscognito.FeaturePlan_LITE,
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength: jsii.Number(10), RequireDigits: jsii.Bool(true), RequireLowercase: jsii.Bool(true),
			RequireUppercase: jsii.Bool(true), RequireSymbols: jsii.Bool(true),
		},
		Mfa:                awscognito.Mfa_OPTIONAL,
		MfaSecondFactor:    &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		DeletionProtection: jsii.Bool(true),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN, // fans' accounts outlive a stack
		// The organization a member of the organizers or staff group acts
		// for (ADR 16). Only an administrator sets it: no app client may
		// write it (writableAttributes), so nobody signs up into one.
		CustomAttributes: &map[string]awscognito.ICustomAttribute{
			"org": awscognito.NewStringAttribute(&awscognito.StringAttributeProps{MinLen: jsii.Number(1), MaxLen: jsii.Number(128), Mutable: jsii.Bool(true)}),
		},
	})
	for _, g := range []struct{ name, what string }{
		{auth.OrganizerGroup, "Owners of the organization their org attribute names"},
		{auth.StaffGroup, "People of the organization their org attribute names, with the roles its owners grant"},
	} {
		awscognito.NewCfnUserPoolGroup(scope, jsii.String(pascal(g.name)+"Group"), &awscognito.CfnUserPoolGroupProps{
			UserPoolId: pool.UserPoolId(), GroupName: jsii.String(g.name), Description: jsii.String(g.what),
		})
	}
	nag(pool, "AwsSolutions-COG2", "MFA is optional (TOTP) for fans: requiring it at sign-up would turn a ticket rush into an authenticator-app rush. Admission tokens, per-account limits and the waiting room protect the sale.")
	nag(pool, "AwsSolutions-COG8", "Threat protection needs Cognito's Plus plan, billed per monthly active user: for a million fans it would cost more than the sale's whole infrastructure (README, Deploying). The WAF's rate rules and IP reputation list sit in front instead.")
	// The site signs fans in with the authorization code flow and PKCE on
	// the pool's hosted pages (no implicit flow: tokens never travel in a
	// URL). The callback is the site itself, known only once the
	// distribution exists: hostedSignIn sets it.
	client := browserClient(pool, "FanWebClient", awscognito.OAuthScope_OPENID(), awscognito.OAuthScope_EMAIL())
	// Organizers and staff sign in through their own client, on the same
	// hosted pages; only its tokens reach the staff routes.
	staff := browserClient(pool, "StaffWebClient", awscognito.OAuthScope_OPENID(), awscognito.OAuthScope_EMAIL(), awscognito.OAuthScope_PROFILE())
	return pool, client, staff
}

// browserClient is a public (secretless) app client for a page: the
// authorization code flow with PKCE on the pool's hosted pages.
func browserClient(pool awscognito.UserPool, id string, scopes ...awscognito.OAuthScope) awscognito.UserPoolClient {
	return pool.AddClient(jsii.String(id), &awscognito.UserPoolClientOptions{
		GenerateSecret:             jsii.Bool(false),
		AuthFlows:                  &awscognito.AuthFlow{UserSrp: jsii.Bool(true)},
		PreventUserExistenceErrors: jsii.Bool(true),
		OAuth: &awscognito.OAuthSettings{
			Flows:  &awscognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true)},
			Scopes: &scopes,
		},
		SupportedIdentityProviders: &[]awscognito.UserPoolClientIdentityProvider{awscognito.UserPoolClientIdentityProvider_COGNITO()},
		WriteAttributes:            writableAttributes(),
	})
}

// writableAttributes are what a signed-in person may change about
// themselves: never the organization.
func writableAttributes() awscognito.ClientAttributes {
	return awscognito.NewClientAttributes().WithStandardAttributes(&awscognito.StandardAttributesMask{Email: jsii.Bool(true)})
}

// signInDomain is the pool's hosted sign-in domain (a Cognito prefix
// domain; Settings.SignInDomainPrefix).
func signInDomain(pool awscognito.UserPool, s Settings) awscognito.UserPoolDomain {
	prefix := jsii.String(s.SignInDomainPrefix)
	if s.SignInDomainPrefix == "" {
		prefix = awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("stararena-"), awscdk.Aws_ACCOUNT_ID()})
	}
	return pool.AddDomain(jsii.String("FanSignIn"), &awscognito.UserPoolDomainOptions{
		CognitoDomain: &awscognito.CognitoDomainOptions{DomainPrefix: prefix},
	})
}

// hostedSignIn lets the hosted pages send fans back to the site (and to it
// after signing out), and staff to the console and the gate page. Without a
// site URL (edge off, no domain name) the client keeps no callback and the
// hosted sign-in cannot complete.
func hostedSignIn(client awscognito.UserPoolClient, siteURL *string, paths ...string) {
	cfn := client.Node().DefaultChild().(awscognito.CfnUserPoolClient)
	if siteURL == nil {
		cfn.SetAllowedOAuthFlowsUserPoolClient(jsii.Bool(false))
		cfn.SetAllowedOAuthFlows(nil)
		cfn.SetAllowedOAuthScopes(nil)
		cfn.SetCallbackUrLs(nil)
		return
	}
	urls := []*string{siteURL}
	if len(paths) > 0 {
		urls = nil
		for _, p := range paths {
			urls = append(urls, awscdk.Fn_Join(jsii.String(""), &[]*string{siteURL, jsii.String(p)}))
		}
	}
	cfn.SetCallbackUrLs(&urls)
	cfn.SetLogoutUrLs(&urls)
}

// newAuthorizers maps each route Auth to its HTTP API authorizer. `none` and
// `signature` map to nil: signature routes (payment webhooks) are verified
// by the handler against the provider's signature. Staff routes take the
// staff client's tokens only; machines reach them on the machine API
// (newMachineAPI).
func newAuthorizers(pool awscognito.UserPool, client, staff awscognito.UserPoolClient) map[topology.Auth]awsapigatewayv2.IHttpRouteAuthorizer {
	return map[topology.Auth]awsapigatewayv2.IHttpRouteAuthorizer{
		topology.AuthFan: awsapigatewayv2authorizers.NewHttpUserPoolAuthorizer(jsii.String("FanAuthorizer"), pool,
			&awsapigatewayv2authorizers.HttpUserPoolAuthorizerProps{
				UserPoolClients: &[]awscognito.IUserPoolClient{client},
			}),
		topology.AuthOrganizer: awsapigatewayv2authorizers.NewHttpUserPoolAuthorizer(jsii.String("StaffAuthorizer"), pool,
			&awsapigatewayv2authorizers.HttpUserPoolAuthorizerProps{
				UserPoolClients: &[]awscognito.IUserPoolClient{staff},
			}),
	}
}

// newMachineAPI deploys the staff routes a second time, IAM-authorized, for
// automation (scripts/organizer): an HTTP API route has one authorizer, and
// the main API's staff routes take staff JWTs. A machine is nothing by
// itself: the application checks its principal's grants in the
// organization it names (ADR 16).
func newMachineAPI(scope constructs.Construct, topo topology.Topology, fns map[string]awslambda.Function, s Settings) awsapigatewayv2.HttpApi {
	api := awsapigatewayv2.NewHttpApi(scope, jsii.String("MachineApi"), &awsapigatewayv2.HttpApiProps{
		Description: jsii.String("StarArena staff routes for IAM-signed automation"),
	})
	iam := awsapigatewayv2authorizers.NewHttpIamAuthorizer()
	lambdas := map[string]awsapigatewayv2.HttpRouteIntegration{}
	for _, r := range topo.Routes {
		if r.Auth != topology.AuthOrganizer || r.Integration != topology.IntegrationLambda {
			continue
		}
		in := lambdas[r.Function]
		if in == nil {
			in = awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("Machine"+pascal(r.Function)+"Integration"), fns[r.Function], nil)
			lambdas[r.Function] = in
		}
		api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
			Integration: in,
			Authorizer:  iam,
		})
	}
	stage := api.DefaultStage().Node().DefaultChild().(awsapigatewayv2.CfnStage)
	t := ThrottleOf(ClassOrganizer, s)
	stage.SetDefaultRouteSettings(&awsapigatewayv2.CfnStage_RouteSettingsProperty{
		ThrottlingRateLimit: jsii.Number(float64(t.Rate)), ThrottlingBurstLimit: jsii.Number(float64(t.Burst)),
	})
	logs := awslogs.NewLogGroup(scope, jsii.String("MachineApiAccessLogs"), &awslogs.LogGroupProps{
		Retention: retention(s), RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	stage.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: logs.LogGroupArn(),
		Format: jsii.String(`{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","caller":"$context.identity.userArn",` +
			`"time":"$context.requestTimeEpoch","routeKey":"$context.routeKey","status":"$context.status"}`),
	})
	return api
}

// newHTTPAPI declares the HTTP API and one route per deployed topology route.
// Local-only routes (the dev token issuer, the sandbox provider) are
// skipped. Lambda integrations are shared per function; each SQS route has
// its own integration (its own message template and status).
func newHTTPAPI(scope constructs.Construct, topo topology.Topology, fns map[string]awslambda.Function,
	queues map[string]*queuePair, authorizers map[topology.Auth]awsapigatewayv2.IHttpRouteAuthorizer, s Settings) awsapigatewayv2.HttpApi {
	api := awsapigatewayv2.NewHttpApi(scope, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		Description: jsii.String("StarArena public, fan and organizer API"),
	})
	lambdas := map[string]awsapigatewayv2.HttpRouteIntegration{}
	stage := api.DefaultStage().Node().DefaultChild().(awsapigatewayv2.CfnStage)
	routeSettings := map[string]any{}
	for _, r := range topo.Routes {
		if r.Integration == topology.IntegrationLocal {
			continue
		}
		var in awsapigatewayv2.HttpRouteIntegration
		integrationID := ""
		switch r.Integration {
		case topology.IntegrationLambda:
			in = lambdas[r.Function]
			if in == nil {
				in = awsapigatewayv2integrations.NewHttpLambdaIntegration(
					jsii.String(pascal(r.Function)+"Integration"), fns[r.Function], nil)
				lambdas[r.Function] = in
			}
		case topology.IntegrationSQS:
			// The message is the route's MessageBody mapping (the same
			// template the local stack renders), never the request body: a
			// fan cannot write their own join.
			q := queues[r.Queue].Queue
			integrationID = pascal(r.Queue) + "QueueIntegration" + pascal(r.Method+" "+r.Path)
			mapping := awsapigatewayv2.NewParameterMapping().
				Custom(jsii.String("QueueUrl"), q.QueueUrl()).
				Custom(jsii.String("MessageBody"), jsii.String(r.MessageBody))
			if len(r.MessageAttributes) > 0 {
				mapping.Custom(jsii.String("MessageAttributes"), jsii.String(MessageAttributesMapping(r)))
			}
			in = awsapigatewayv2integrations.NewHttpSqsIntegration(jsii.String(integrationID),
				&awsapigatewayv2integrations.HttpSqsIntegrationProps{Queue: q, ParameterMapping: mapping})
		}
		// CacheTTL is the CDN's and MaxBodyBytes the handler's to enforce,
		// not API Gateway's.
		routes := api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
			Integration: in,
			Authorizer:  authorizers[r.Auth],
		})
		for _, route := range *routes {
			// Route settings name routes that must exist first.
			stage.Node().AddDependency(route)
			if r.Integration == topology.IntegrationSQS && r.Status != 0 {
				overrideStatus(route, integrationID, r)
			}
			switch r.Auth {
			case topology.AuthNone:
				nag(route, "AwsSolutions-APIG4", "Public route by design (health, catalog, availability, queue status, the published draw): read-only, cached by the CDN, throttled per route.")
			case topology.AuthSignature:
				nag(route, "AwsSolutions-APIG4", "Payment webhook: the provider cannot sign in, so the handler verifies the provider's signature over the raw body before doing anything.")
			}
		}
		t := ThrottleOf(ClassOf(topo, r), s)
		// RouteSettings is a JSON property: CloudFormation's own key names.
		routeSettings[r.Key()] = map[string]any{"ThrottlingRateLimit": t.Rate, "ThrottlingBurstLimit": t.Burst}
	}
	stage.SetRouteSettings(routeSettings)
	// Anything without its own setting (none today) gets the organizer's.
	stage.SetDefaultRouteSettings(&awsapigatewayv2.CfnStage_RouteSettingsProperty{
		ThrottlingRateLimit:  jsii.Number(float64(Throttles[ClassOrganizer].Rate)),
		ThrottlingBurstLimit: jsii.Number(float64(Throttles[ClassOrganizer].Burst)),
	})
	logs := awslogs.NewLogGroup(scope, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention: retention(s), RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	stage.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: logs.LogGroupArn(),
		Format: jsii.String(`{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","time":"$context.requestTimeEpoch",` +
			`"routeKey":"$context.routeKey","status":"$context.status","length":"$context.responseLength",` +
			`"latency":"$context.responseLatency","integrationLatency":"$context.integration.latency",` +
			`"integrationError":"$context.integrationErrorMessage","authorizerError":"$context.authorizer.error"}`),
	})
	return api
}

// overrideStatus makes API Gateway answer the route's Status instead of the
// integration's 200 (SQS's SendMessage reply). The L2 integration has no
// response mapping, so this sets the property on its CfnIntegration (an
// escape hatch to the L1 resource).
func overrideStatus(route awsapigatewayv2.HttpRoute, integrationID string, r topology.Route) {
	child := route.Node().TryFindChild(jsii.String(integrationID))
	if child == nil {
		// Bound on an earlier route: integrations are per SQS route, so
		// this cannot happen unless the code above changes.
		panic(fmt.Sprintf("stack: route %s: integration %s not found under its route", r.Key(), integrationID))
	}
	cfn := child.Node().DefaultChild().(awsapigatewayv2.CfnIntegration)
	// A map keyed by status code: CDK passes it through as is, so it is
	// written with CloudFormation's key names (typed property structs here
	// would come out camel-cased).
	cfn.SetResponseParameters(map[string]any{
		"200": map[string]any{"ResponseParameters": []any{
			map[string]any{"Destination": "overwrite:statuscode", "Source": strconv.Itoa(r.Status)},
		}},
	})
}

// MessageAttributesMapping is an SQS route's MessageAttributes parameter:
// SendMessage's JSON shape, each a String attribute whose value is the
// route's mapping.
func MessageAttributesMapping(r topology.Route) string {
	attrs := map[string]any{}
	for name, tmpl := range r.MessageAttributes {
		attrs[name] = map[string]string{"DataType": "String", "StringValue": tmpl}
	}
	b, err := json.Marshal(attrs)
	if err != nil {
		panic(fmt.Sprintf("stack: route %s: message attributes: %v", r.Key(), err))
	}
	return string(b)
}
