package stack

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/stararena/stararena/internal/topology"
)

// One synth shared by every test: starting jsii and synthesizing costs
// seconds to a minute, so TestMain synthesizes one app with two stacks and
// the tests only read the templates.
//   - deployed: topology.Default(), exactly what `cdk deploy` ships.
//   - fixture: a topology using every kind of declaration (fan, organizer,
//     signature, SQS and local routes, a queue, schedules, a state machine),
//     so the generic code paths are exercised before Default() grows into them.
var deployed, fixture assertions.Template

func TestMain(m *testing.M) {
	os.Exit(synthAndRun(m))
}

func synthAndRun(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "stararena-cdk-test-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(tmp)
	defer jsii.Close()

	// Dummy binaries: the tests check the template, not the code, so they
	// need no `make build`.
	assets := filepath.Join(tmp, "dist")
	for _, topo := range []topology.Topology{topology.Default(), fixtureTopology()} {
		for _, f := range topo.Functions {
			writeFile(filepath.Join(assets, f.Name, "bootstrap"), "#!/bin/sh\n")
		}
	}
	repo := filepath.Join(tmp, "repo")
	writeFile(filepath.Join(repo, "statemachines", "order.asl.json"), fixtureASL)

	app := awscdk.NewApp(&awscdk.AppProps{
		// NewApp ignores cdk.json: load its feature flags so the template is
		// the one `cdk synth` produces.
		Context: cdkJSONContext(filepath.Join(RepoRoot(), "cdk.json")),
		Outdir:  jsii.String(filepath.Join(tmp, "cdk.out")),
	})
	NewStarArenaStack(app, "StarArena", &Props{AssetDir: assets})
	NewStarArenaStack(app, "Fixture", &Props{Topology: fixtureTopology(), AssetDir: assets, RepoDir: repo})
	assembly := app.Synth(nil)
	deployed = templateOf(assembly.GetStackArtifact(jsii.String("StarArena")).Template())
	fixture = templateOf(assembly.GetStackArtifact(jsii.String("Fixture")).Template())
	return m.Run()
}

func TestMainTableIsOnDemandRetainedAndKeyedAsDeclared(t *testing.T) {
	// GIVEN the default topology's single table
	want := topology.Default().Tables

	// WHEN the stack is synthesized (TestMain)

	// THEN it is on demand, recoverable, deletion-protected and retained, keyed pk/sk
	deployed.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(float64(len(want))))
	deployed.HasResource(jsii.String("AWS::DynamoDB::Table"), map[string]any{
		"DeletionPolicy":      "Retain",
		"UpdateReplacePolicy": "Retain",
		"Properties": map[string]any{
			"KeySchema": []any{
				map[string]any{"AttributeName": "pk", "KeyType": "HASH"},
				map[string]any{"AttributeName": "sk", "KeyType": "RANGE"},
			},
			"BillingMode":                      "PAY_PER_REQUEST",
			"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
			"DeletionProtectionEnabled":        true,
			"TableName":                        assertions.Match_Absent(),
		},
	})
	// AND every declared GSI exists with its keys and projects all attributes
	for _, ix := range want[0].Indexes {
		deployed.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"GlobalSecondaryIndexes": assertions.Match_ArrayWith(&[]any{map[string]any{
				"IndexName": ix.Name,
				"KeySchema": []any{
					map[string]any{"AttributeName": ix.PartitionKey.Name, "KeyType": "HASH"},
					map[string]any{"AttributeName": ix.SortKey.Name, "KeyType": "RANGE"},
				},
				"Projection": map[string]any{"ProjectionType": "ALL"},
			}}),
		})
	}
	// AND read back as declarations, the tables equal the topology's
	if got := TableKeySchemas(deployed); !reflect.DeepEqual(got, want) {
		t.Fatalf("tables in template:\n%+v\nwant (topology):\n%+v", got, want)
	}
}

func TestEveryDeclaredFunctionIsAnArm64BootstrapOnAL2023(t *testing.T) {
	for name, c := range map[string]struct {
		tmpl assertions.Template
		topo topology.Topology
	}{"deployed": {deployed, topology.Default()}, "fixture": {fixture, fixtureTopology()}} {
		t.Run(name, func(t *testing.T) {
			// GIVEN the declared functions
			fns := c.topo.Functions

			// WHEN the stack is synthesized (TestMain)

			// THEN each is a provided.al2023 arm64 function with handler bootstrap
			c.tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Function"), map[string]any{
				"Runtime":       "provided.al2023",
				"Architectures": []any{"arm64"},
				"Handler":       "bootstrap",
			}, jsii.Number(float64(len(fns))))
			// AND carries its declared memory, timeout and environment
			for _, f := range fns {
				c.tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
					"Description": f.Description,
					"MemorySize":  f.MemoryMB,
					"Timeout":     math.Ceil(f.Timeout.Seconds()), // whole seconds, rounded up
					"Environment": map[string]any{"Variables": map[string]any{
						"TABLE_NAME": assertions.Match_AnyValue(),
						"LOG_LEVEL":  "info",
					}},
				})
			}
		})
	}
}

func TestDeployedRouteKeysAreExactlyTheTopologysDeployedRouteKeys(t *testing.T) {
	for name, c := range map[string]struct {
		tmpl assertions.Template
		topo topology.Topology
	}{"deployed": {deployed, topology.Default()}, "fixture": {fixture, fixtureTopology()}} {
		t.Run(name, func(t *testing.T) {
			// GIVEN the topology's deployed route keys (every route but local ones)
			want := c.topo.DeployedRouteKeys()

			// WHEN the routes are read from the synthesized template
			got := RouteKeys(c.tmpl)

			// THEN they are the same set
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("route keys in template:\n%q\nwant (topology):\n%q", got, want)
			}
		})
	}
}

func TestRouteAuthorizationFollowsTheDeclaredAuth(t *testing.T) {
	for name, c := range map[string]struct {
		tmpl assertions.Template
		topo topology.Topology
	}{"deployed": {deployed, topology.Default()}, "fixture": {fixture, fixtureTopology()}} {
		t.Run(name, func(t *testing.T) {
			// GIVEN each deployed route's declared auth
			wantType := map[topology.Auth]string{
				topology.AuthFan:       "JWT",
				topology.AuthOrganizer: "AWS_IAM",
				topology.AuthNone:      "NONE",
				topology.AuthSignature: "NONE", // the handler verifies the provider's signature
			}

			// WHEN the route authorization types are read from the template
			got := RouteAuthorizationTypes(c.tmpl)

			// THEN fan routes use JWT, organizer routes IAM, none/signature routes nothing
			for _, r := range c.topo.Routes {
				if r.Integration == topology.IntegrationLocal {
					continue
				}
				if got[r.Key()] != wantType[r.Auth] {
					t.Errorf("route %q (auth %s): AuthorizationType %q, want %q", r.Key(), r.Auth, got[r.Key()], wantType[r.Auth])
				}
				if r.Auth == topology.AuthFan {
					// AND the JWT authorizer is the Cognito user pool's
					c.tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), map[string]any{
						"RouteKey":     r.Key(),
						"AuthorizerId": map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^HttpApiFanAuthorizer"))},
					})
				}
			}
		})
	}
	// AND the fixture's fan authorizer is a JWT authorizer issued by the user pool
	fixture.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), map[string]any{
		"AuthorizerType": "JWT",
		"JwtConfiguration": map[string]any{
			"Audience": []any{map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^FanUserPoolFanWebClient"))}},
			"Issuer":   assertions.Match_AnyValue(),
		},
	})
}

func TestEachQueueHasADeadLetterQueueAndFeedsItsConsumerInBatches(t *testing.T) {
	// GIVEN the fixture's one queue
	q := fixtureTopology().Queues[0]

	// WHEN the stack is synthesized (TestMain)

	// THEN it and its DLQ exist, redriving after MaxReceiveCount deliveries
	fixture.ResourceCountIs(jsii.String("AWS::SQS::Queue"), jsii.Number(2))
	fixture.HasResourceProperties(jsii.String("AWS::SQS::Queue"), map[string]any{
		"VisibilityTimeout": int(q.VisibilityTimeout / time.Second),
		"RedrivePolicy":     map[string]any{"maxReceiveCount": q.MaxReceiveCount, "deadLetterTargetArn": assertions.Match_AnyValue()},
	})
	// AND the consumer reads it in batches, reporting partial failures
	fixture.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), map[string]any{
		"BatchSize":                      q.BatchSize,
		"MaximumBatchingWindowInSeconds": int(q.MaxBatchingWindow / time.Second),
		"FunctionResponseTypes":          []any{"ReportBatchItemFailures"},
	})
	// AND the SQS-integrated route sends straight to it, with no Lambda
	fixture.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Integration"), map[string]any{
		"IntegrationSubtype": "SQS-SendMessage",
	})
}

func TestSchedulesRunAtTheirRateRoundedUpToWholeMinutes(t *testing.T) {
	// GIVEN schedules of 30 s and 90 s (EventBridge's floor is 1 minute)

	// WHEN the stack is synthesized (TestMain)

	// THEN they run every 1 and every 2 minutes
	fixture.ResourceCountIs(jsii.String("AWS::Events::Rule"), jsii.Number(2))
	fixture.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{"ScheduleExpression": "rate(1 minute)"})
	fixture.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{"ScheduleExpression": "rate(2 minutes)"})
}

func TestStateMachineIsTheASLFileWithFunctionArnsSubstituted(t *testing.T) {
	// GIVEN an ASL file whose task names ${Function_order-timer}

	// WHEN the stack is synthesized (TestMain)

	// THEN the Standard state machine inlines the file and maps the placeholder to the function's ARN
	fixture.HasResourceProperties(jsii.String("AWS::StepFunctions::StateMachine"), map[string]any{
		"StateMachineType": "STANDARD",
		"DefinitionString": fixtureASL,
		"DefinitionSubstitutions": map[string]any{
			"Function_order-timer": map[string]any{"Fn::GetAtt": []any{
				assertions.Match_StringLikeRegexp(jsii.String("^OrderTimerFunction")), "Arn",
			}},
		},
	})
}

func TestStackOutputsTheApiUrlAndTableName(t *testing.T) {
	// GIVEN the deployed stack

	// WHEN its outputs are read

	// THEN the API URL and the table name are there for scripts and the site
	for _, id := range []string{"ApiUrl", "TableName", "UserPoolId", "UserPoolClientId"} {
		deployed.HasOutput(jsii.String(id), map[string]any{"Value": assertions.Match_AnyValue()})
	}
}

// fixtureTopology declares one of everything the stack knows how to deploy.
func fixtureTopology() topology.Topology {
	d := topology.Default()
	return topology.Topology{
		Functions: []topology.Function{
			{Name: "catalog", Description: "reads", MemoryMB: 512, Timeout: 10 * time.Second},
			{Name: "assigner", Description: "drains joins", MemoryMB: 256, Timeout: 30 * time.Second, ReservedConcurrency: 5},
			{Name: "order-timer", Description: "order workflow task", MemoryMB: 256, Timeout: 1500 * time.Millisecond},
			{Name: "reconciler", Description: "repairs", MemoryMB: 1024, Timeout: 5 * time.Minute},
		},
		Routes: []topology.Route{
			{Method: "GET", Path: "/healthz", Integration: topology.IntegrationLambda, Function: "catalog", Auth: topology.AuthNone},
			{Method: "POST", Path: "/dev/token", Integration: topology.IntegrationLocal, Auth: topology.AuthNone},
			{Method: "POST", Path: "/v1/events/{eventId}/queue", Integration: topology.IntegrationSQS, Queue: "joins", Auth: topology.AuthFan},
			{Method: "POST", Path: "/v1/events/{eventId}/holds", Integration: topology.IntegrationLambda, Function: "catalog", Auth: topology.AuthFan},
			{Method: "POST", Path: "/admin/v1/events", Integration: topology.IntegrationLambda, Function: "catalog", Auth: topology.AuthOrganizer},
			{Method: "POST", Path: "/v1/webhooks/{provider}", Integration: topology.IntegrationLambda, Function: "order-timer", Auth: topology.AuthSignature},
		},
		Queues: []topology.Queue{
			{Name: "joins", Consumer: "assigner", BatchSize: 100, MaxBatchingWindow: time.Second, VisibilityTimeout: 3 * time.Minute, MaxReceiveCount: 5},
		},
		Schedules: []topology.Schedule{
			{Name: "reconcile", Function: "reconciler", Every: 30 * time.Second},
			{Name: "inlet", Function: "assigner", Every: 90 * time.Second},
		},
		StateMachines: []topology.StateMachine{
			{Name: "order", Definition: "statemachines/order.asl.json", Functions: []string{"order-timer"}},
		},
		Tables: d.Tables,
	}
}

const fixtureASL = `{"StartAt":"Expire","States":{"Expire":{"Type":"Task","Resource":"${Function_order-timer}","End":true}}}`

func TestFixtureTopologyIsValid(t *testing.T) {
	// GIVEN the fixture WHEN validated THEN it is a deployable topology
	if err := fixtureTopology().Validate(); err != nil {
		t.Fatal(err)
	}
}

func templateOf(v any) assertions.Template {
	m, ok := v.(map[string]any)
	if !ok {
		panic(fmt.Sprintf("template is %T, not a JSON object", v))
	}
	return assertions.Template_FromJSON(&m, nil)
}

func cdkJSONContext(path string) *map[string]any {
	var cfg struct {
		Context map[string]any `json:"context"`
	}
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		panic(fmt.Sprintf("%s: %v", path, err))
	}
	return &cfg.Context
}

func writeFile(path, content string) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		panic(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		panic(err)
	}
}
