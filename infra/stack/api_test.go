package stack

import (
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/stararena/stararena/internal/topology"
)

func joinRoute(t *testing.T) topology.Route {
	t.Helper()
	for _, r := range topology.Default().Routes {
		if r.Integration == topology.IntegrationSQS {
			return r
		}
	}
	t.Fatal("the topology has no SQS route")
	return topology.Route{}
}

func TestJoinRouteSendsTheTemplatedMessageToSQSAndAnswers202(t *testing.T) {
	// GIVEN the join route: SQS-SendMessage, MessageBody template, Status 202
	r := joinRoute(t)
	if r.Status != 202 || r.MessageBody != topology.JoinMessage {
		t.Fatalf("join route %+v", r)
	}

	// WHEN its integration is read from the template
	var found int
	for _, props := range properties(deployed, "AWS::ApiGatewayV2::Integration") {
		if props["IntegrationSubtype"] != "SQS-SendMessage" {
			continue
		}
		found++
		// THEN it sends to the joins queue with the route's template (never the request body)
		params, _ := props["RequestParameters"].(map[string]any)
		if params["MessageBody"] != r.MessageBody {
			t.Errorf("MessageBody %v, want %q", params["MessageBody"], r.MessageBody)
		}
		// AND the origin proof it arrived with, which the assigner checks
		// (ADR 22): the join runs no function of its own
		if got := params["MessageAttributes"]; got != MessageAttributesMapping(r) ||
			!strings.Contains(MessageAttributesMapping(r), `"StringValue":"${request.header.x-origin-proof}"`) {
			t.Errorf("MessageAttributes %v, want the origin proof header as attribute %s", got, topology.JoinOriginAttribute)
		}
		if _, ok := params["QueueUrl"].(map[string]any)["Ref"]; !ok {
			t.Errorf("QueueUrl %v, want a Ref to the queue", params["QueueUrl"])
		}
		// AND SQS's 200 becomes the route's 202
		want := map[string]any{"200": map[string]any{"ResponseParameters": []any{
			map[string]any{"Destination": "overwrite:statuscode", "Source": strconv.Itoa(r.Status)},
		}}}
		if got := props["ResponseParameters"]; !equalJSON(got, want) {
			t.Errorf("ResponseParameters %v, want %v", got, want)
		}
		// AND API Gateway assumes a role to send (no function in between)
		if _, ok := props["CredentialsArn"]; !ok {
			t.Error("no CredentialsArn: API Gateway cannot send to SQS")
		}
	}
	if found != 1 {
		t.Fatalf("%d SQS-SendMessage integrations, want 1", found)
	}
	// AND the route is JWT-authorized (the message carries the token's subject)
	if got := RouteAuthorizationTypes(deployed)[r.Key()]; got != "JWT" {
		t.Errorf("%s: AuthorizationType %s, want JWT", r.Key(), got)
	}
}

func TestDefaultStageThrottlesEveryRouteByClass(t *testing.T) {
	// GIVEN the main API's default stage's route settings (the machine
	// API's stage throttles as the organizer class as a whole)
	stages := properties(deployed, "AWS::ApiGatewayV2::Stage")
	for id, p := range stages {
		if ref, _ := p["ApiId"].(map[string]any); strings.HasPrefix(str(ref["Ref"]), "MachineApi") {
			delete(stages, id)
		}
	}
	if len(stages) != 1 {
		t.Fatalf("%d stages, want the default one", len(stages))
	}
	var settings map[string]any
	var stage map[string]any
	for _, p := range stages {
		stage = p
		settings, _ = p["RouteSettings"].(map[string]any)
	}
	topo := topology.Default()
	for _, r := range topo.Routes {
		if r.Integration == topology.IntegrationLocal {
			continue
		}
		// THEN every deployed route has its class's rate and burst
		want := ThrottleOf(ClassOf(topo, r), testSettings)
		got, _ := settings[r.Key()].(map[string]any)
		if got["ThrottlingRateLimit"] != float64(want.Rate) || got["ThrottlingBurstLimit"] != float64(want.Burst) {
			t.Errorf("%s (%s): %v, want %+v", r.Key(), ClassOf(topo, r), got, want)
		}
	}
	// AND the classes are the intended ones for the routes that matter
	for key, want := range map[string]RouteClass{
		"POST /v1/events/{eventId}/queue":        ClassJoin,
		"POST /v1/events/{eventId}/holds":        ClassPurchase,
		"GET /v1/events/{eventId}/queue-status":  ClassPublic,
		"POST /v1/events/{eventId}/admission":    ClassFan,
		"POST /webhooks/{provider}":              ClassWebhook,
		"POST /admin/v1/events/{eventId}/sale":   ClassOrganizer,
		"GET /v1/events/{eventId}/availability":  ClassPublic,
		"GET /v1/events/{eventId}/queue/me":      ClassFan,
		"POST /admin/v1/orders/{orderId}/refund": ClassOrganizer,
	} {
		for _, r := range topo.Routes {
			if r.Key() == key && ClassOf(topo, r) != want {
				t.Errorf("%s: class %s, want %s", key, ClassOf(topo, r), want)
			}
		}
	}
	// AND by default the join class fits API Gateway's default account
	// quota, and no other class exceeds it
	if j := ThrottleOf(ClassJoin, DefaultSettings()); j.Rate > 10000 || j.Burst > 5000 {
		t.Errorf("default join throttle %+v exceeds the default account quota (10,000 rps, 5,000 burst)", j)
	}
	for c, th := range Throttles {
		if th.Rate > 10000 || th.Burst > 5000 {
			t.Errorf("%s throttle %+v exceeds the default account quota", c, th)
		}
	}
	// AND the stage writes JSON access logs
	logs, _ := stage["AccessLogSettings"].(map[string]any)
	if logs["DestinationArn"] == nil || logs["Format"] == nil {
		t.Errorf("AccessLogSettings %v", logs)
	}
}

// TestStaffRoutesTakeStaffTokensAndMachinesSignWithIAM: GIVEN the
// synthesized stack THEN on the main API staff routes take JWTs of the
// staff app client only, fan routes the fan client's, webhooks and public
// routes nothing; AND every staff route, and only those, is also on the
// machine API with IAM authorization.
func TestStaffRoutesTakeStaffTokensAndMachinesSignWithIAM(t *testing.T) {
	got, machine := RouteAuthorizationTypes(deployed), MachineRouteAuthorizationTypes(deployed)
	staff := 0
	for _, r := range topology.Default().Routes {
		var want string
		switch r.Auth {
		case topology.AuthOrganizer, topology.AuthFan:
			want = "JWT"
		case topology.AuthSignature, topology.AuthNone:
			want = "NONE"
		}
		if r.Integration == topology.IntegrationLocal {
			if _, deployedToo := got[r.Key()]; deployedToo {
				t.Errorf("local-only route %s is deployed", r.Key())
			}
			continue
		}
		if got[r.Key()] != want {
			t.Errorf("%s (%s): %s, want %s", r.Key(), r.Auth, got[r.Key()], want)
		}
		if r.Auth == topology.AuthOrganizer {
			staff++
			if machine[r.Key()] != "AWS_IAM" {
				t.Errorf("%s: machine API %q, want AWS_IAM", r.Key(), machine[r.Key()])
			}
			expect(t, func() {
				deployed.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), map[string]any{
					"RouteKey":     r.Key(),
					"AuthorizerId": map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^HttpApiStaffAuthorizer"))},
				})
			})
		}
	}
	if len(machine) != staff {
		t.Errorf("machine API has %d routes, want the %d staff routes: %v", len(machine), staff, machine)
	}
	// AND the two JWT authorizers trust one client each: fans', staff's
	expect(t, func() {
		deployed.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Authorizer"), jsii.Number(2))
		for _, client := range []string{"^FanUserPoolFanWebClient", "^FanUserPoolStaffWebClient"} {
			deployed.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), map[string]any{
				"AuthorizerType": "JWT",
				"IdentitySource": []any{"$request.header.Authorization"},
				"JwtConfiguration": map[string]any{
					"Audience": []any{map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String(client))}},
					"Issuer":   assertions.Match_AnyValue(),
				},
			})
		}
	})
	// AND the groups exist, and no app client may write the organization
	expect(t, func() {
		deployed.ResourceCountIs(jsii.String("AWS::Cognito::UserPoolGroup"), jsii.Number(2))
		deployed.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolGroup"), map[string]any{"GroupName": "organizers"})
		deployed.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolGroup"), map[string]any{"GroupName": "staff"})
	})
	for id, props := range properties(deployed, "AWS::Cognito::UserPoolClient") {
		w, _ := props["WriteAttributes"].([]any)
		if len(w) == 0 {
			t.Errorf("%s: no WriteAttributes: every writable attribute, custom:org included", id)
		}
		for _, a := range w {
			if a == "custom:org" {
				t.Errorf("%s may write custom:org", id)
			}
		}
	}
	// AND the pool is on the Lite plan with a strong password policy and cannot be deleted by accident
	expect(t, func() {
		deployed.HasResource(jsii.String("AWS::Cognito::UserPool"), map[string]any{
			"DeletionPolicy": "Retain",
			"Properties": assertions.Match_ObjectLike(&map[string]any{
				"UserPoolTier":       "LITE",
				"DeletionProtection": "ACTIVE",
				"Policies": map[string]any{"PasswordPolicy": assertions.Match_ObjectLike(&map[string]any{
					"MinimumLength": 10, "RequireSymbols": true, "RequireNumbers": true,
				})},
			}),
		})
	})
}
