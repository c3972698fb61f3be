package stack

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/stararena/stararena/internal/topology"
)

// One synth shared by every test: starting jsii and synthesizing costs
// seconds to a minute, so TestMain synthesizes one app and the tests only
// read the templates.
//   - deployed, edge: NewApp with deployment context (a main Region other
//     than us-east-1, warm throughput, Stripe on): exactly what `cdk synth`
//     writes for that context, cdk-nag included.
//   - fixture: a topology using every kind of declaration (fan, organizer,
//     signature, SQS and local routes, a queue, schedules, a state machine),
//     so the generic code paths are exercised before Default() grows into them.
var (
	deployed, edge, fixture assertions.Template
	// nagMessages are the AwsSolutions annotations cdk-nag left on the
	// deployed stacks (unsuppressed findings).
	nagMessages []synthMessage
	// testSettings are the settings the deployed stacks were built with.
	testSettings Settings
	// synthesized lists every stack template the synth wrote (the cloud
	// assembly lives until the tests end), for tools that read files.
	synthesized []synthTemplate
)

type synthTemplate struct{ Stack, Path, Region string }

type synthMessage struct{ Stack, Level, Path, Text string }

// testContext is the deployment context TestMain synthesizes with.
var testContext = map[string]any{
	"region":               "eu-west-1",
	"warmWrites":           "20000",
	"warmReads":            40000,
	"stripe":               "on",
	"stripePublishableKey": "pk_test_123",
	"alarmEmail":           "oncall@example.com",
}

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// Every template test needs the synth, which takes about a minute
		// of Node (jsii) time.
		fmt.Println("infra/stack: CDK synth and the template tests skipped in -short mode; run go test ./infra/...")
		os.Exit(0)
	}
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
	web := filepath.Join(tmp, "web")
	writeFile(filepath.Join(web, "index.html"), "<!doctype html><title>StarArena</title>\n")
	writeFile(filepath.Join(web, "config.json"), `{"signIn":"dev"}`)

	// NewApp ignores cdk.json: load its feature flags so the template is
	// the one `cdk synth` produces, then the deployment's context.
	ctx := *cdkJSONContext(filepath.Join(RepoRoot(), "cdk.json"))
	for k, v := range testContext {
		ctx[k] = v
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(filepath.Join(tmp, "cdk.out"))})
	testSettings, err = SettingsFromContext(app)
	if err != nil {
		panic(err)
	}
	NewApp(app, testSettings, &Props{AssetDir: assets, WebDir: web})
	NewStarArenaStack(app, "Fixture", &Props{Topology: fixtureTopology(), AssetDir: assets, RepoDir: repo, WebDir: web})
	// A canary: a table without point-in-time recovery, which cdk-nag
	// reports as a warning, proving the messages are read from where the
	// checks write them. (An error-level finding fails the synth itself:
	// cdk.json's @aws-cdk/core:annotationsInValidationReport turns error
	// annotations into a failed validation.)
	canary := awscdk.NewStack(app, jsii.String("NagCanary"), nil)
	awsdynamodb.NewCfnTable(canary, jsii.String("Plain"), &awsdynamodb.CfnTableProps{
		KeySchema:            &[]any{&awsdynamodb.CfnTable_KeySchemaProperty{AttributeName: jsii.String("pk"), KeyType: jsii.String("HASH")}},
		AttributeDefinitions: &[]any{&awsdynamodb.CfnTable_AttributeDefinitionProperty{AttributeName: jsii.String("pk"), AttributeType: jsii.String("S")}},
		BillingMode:          jsii.String("PAY_PER_REQUEST"),
	})
	awscdk.Aspects_Of(canary).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	assembly, err := synth(app)
	if err != nil {
		fmt.Fprintln(os.Stderr, "synth failed (an unsuppressed cdk-nag error fails it too):", err)
		if report, rerr := os.ReadFile(filepath.Join(tmp, "cdk.out", "validation-report.json")); rerr == nil {
			fmt.Fprintln(os.Stderr, string(report))
		}
		return 1
	}
	deployed = templateOf(assembly.GetStackArtifact(jsii.String(MainStackID)).Template())
	edge = templateOf(assembly.GetStackArtifact(jsii.String(EdgeStackID)).Template())
	fixture = templateOf(assembly.GetStackArtifact(jsii.String("Fixture")).Template())
	for _, st := range *assembly.StacksRecursively() {
		synthesized = append(synthesized, synthTemplate{Stack: *st.StackName(), Path: *st.TemplateFullPath(), Region: *st.Environment().Region})
	}
	for _, id := range []string{MainStackID, EdgeStackID, "NagCanary"} {
		msgs, err := stackMessages(*assembly.Directory(), id)
		if err != nil {
			panic(err)
		}
		nagMessages = append(nagMessages, msgs...)
	}
	return m.Run()
}

func TestMainTableIsOnDemandRetainedAndKeyedAsDeclared(t *testing.T) {
	// GIVEN the default topology's single table and warm-throughput context
	want := topology.Default().Tables

	// WHEN the stack is synthesized (TestMain)

	// THEN it is on demand, recoverable, deletion-protected and retained, keyed pk/sk,
	// with the ttl attribute and the warm throughput the context asked for
	expect(t, func() {
		deployed.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(float64(len(want))))
		expect(t, func() {
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
					"TimeToLiveSpecification":          map[string]any{"AttributeName": topology.TTLAttribute, "Enabled": true},
					"WarmThroughput":                   map[string]any{"ReadUnitsPerSecond": 40000, "WriteUnitsPerSecond": 20000},
					"TableName":                        assertions.Match_Absent(),
				},
			})
		})
	})
	// AND every declared GSI exists with its keys, projects all attributes and is warmed alike
	for _, ix := range want[0].Indexes {
		expect(t, func() {
			deployed.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
				"GlobalSecondaryIndexes": assertions.Match_ArrayWith(&[]any{map[string]any{
					"IndexName": ix.Name,
					"KeySchema": []any{
						map[string]any{"AttributeName": ix.PartitionKey.Name, "KeyType": "HASH"},
						map[string]any{"AttributeName": ix.SortKey.Name, "KeyType": "RANGE"},
					},
					"Projection":     map[string]any{"ProjectionType": "ALL"},
					"WarmThroughput": map[string]any{"ReadUnitsPerSecond": 40000, "WriteUnitsPerSecond": 20000},
				}}),
			})
		})
	}
	// AND read back as declarations, the tables equal the topology's
	if got := TableKeySchemas(deployed); !reflect.DeepEqual(got, want) {
		t.Fatalf("tables in template:\n%+v\nwant (topology):\n%+v", got, want)
	}
	// AND without warm-throughput context (the fixture) nothing is pre-warmed
	expect(t, func() {
		fixture.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{"WarmThroughput": assertions.Match_Absent()})
	})
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
			expect(t, func() {
				c.tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Function"), map[string]any{
					"Runtime":       "provided.al2023",
					"Architectures": []any{"arm64"},
					"Handler":       "bootstrap",
				}, jsii.Number(float64(len(fns))))
			})
			// AND every function tagged as ours is one of them (CDK's own
			// site-upload function is the only other Lambda)
			for _, props := range properties(c.tmpl, "AWS::Lambda::Function") {
				if tag(props, FunctionTag) == "" {
					if !strings.HasPrefix(str(props["Runtime"]), "python") {
						t.Errorf("untagged function %v", props["Description"])
					}
					continue
				}
				if props["Runtime"] != "provided.al2023" || !equalJSON(props["Architectures"], []any{"arm64"}) {
					t.Errorf("%s: %v %v", tag(props, FunctionTag), props["Runtime"], props["Architectures"])
				}
			}
			// AND carries its declared memory, timeout and environment
			for _, f := range fns {
				expect(t, func() {
					c.tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
						"Description": f.Description,
						"MemorySize":  f.MemoryMB,
						"Timeout":     math.Ceil(f.Timeout.Seconds()), // whole seconds, rounded up
						"Environment": map[string]any{"Variables": map[string]any{
							"TABLE_NAME": assertions.Match_AnyValue(),
							"LOG_LEVEL":  "info",
						}},
					})
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
				topology.AuthOrganizer: "JWT", // staff tokens; machines use the machine API
				topology.AuthNone:      "NONE",
				topology.AuthSignature: "NONE", // the handler verifies the provider's signature
			}

			// WHEN the route authorization types are read from the template
			got := RouteAuthorizationTypes(c.tmpl)

			// THEN fan and staff routes use JWT, none/signature routes nothing
			for _, r := range c.topo.Routes {
				if r.Integration == topology.IntegrationLocal {
					continue
				}
				if got[r.Key()] != wantType[r.Auth] {
					t.Errorf("route %q (auth %s): AuthorizationType %q, want %q", r.Key(), r.Auth, got[r.Key()], wantType[r.Auth])
				}
				if r.Auth == topology.AuthFan {
					// AND the JWT authorizer is the Cognito user pool's
					expect(t, func() {
						c.tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), map[string]any{
							"RouteKey":     r.Key(),
							"AuthorizerId": map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^HttpApiFanAuthorizer"))},
						})
					})
				}
			}
		})
	}
	// AND the fixture's fan authorizer is a JWT authorizer issued by the user pool
	expect(t, func() {
		fixture.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), map[string]any{
			"AuthorizerType": "JWT",
			"JwtConfiguration": map[string]any{
				"Audience": []any{map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^FanUserPoolFanWebClient"))}},
				"Issuer":   assertions.Match_AnyValue(),
			},
		})
	})
}

func TestEachQueueHasADeadLetterQueueAndFeedsItsConsumerInBatches(t *testing.T) {
	// GIVEN the fixture's one queue
	q := fixtureTopology().Queues[0]

	// WHEN the stack is synthesized (TestMain)

	// THEN it and its DLQ exist (besides the schedules' DLQ), redriving after MaxReceiveCount deliveries
	expect(t, func() {
		fixture.ResourceCountIs(jsii.String("AWS::SQS::Queue"), jsii.Number(3))
	})
	expect(t, func() {
		fixture.HasResourceProperties(jsii.String("AWS::SQS::Queue"), map[string]any{
			"VisibilityTimeout": int(q.VisibilityTimeout / time.Second),
			"RedrivePolicy":     map[string]any{"maxReceiveCount": q.MaxReceiveCount, "deadLetterTargetArn": assertions.Match_AnyValue()},
		})
	})
	// AND the consumer reads it in batches, reporting partial failures
	expect(t, func() {
		fixture.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), map[string]any{
			"BatchSize":                      q.BatchSize,
			"MaximumBatchingWindowInSeconds": int(q.MaxBatchingWindow / time.Second),
			"FunctionResponseTypes":          []any{"ReportBatchItemFailures"},
		})
	})
	// AND the SQS-integrated route sends straight to it, with no Lambda
	expect(t, func() {
		fixture.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Integration"), map[string]any{
			"IntegrationSubtype": "SQS-SendMessage",
		})
	})
}

func TestSchedulesRunAtTheirRateRoundedUpToWholeMinutes(t *testing.T) {
	// GIVEN schedules of 30 s and 90 s (EventBridge's floor is 1 minute)

	// WHEN the stack is synthesized (TestMain)

	// THEN they run every 1 and every 2 minutes
	expect(t, func() {
		fixture.ResourceCountIs(jsii.String("AWS::Events::Rule"), jsii.Number(2))
	})
	expect(t, func() {
		fixture.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{"ScheduleExpression": "rate(1 minute)"})
	})
	expect(t, func() {
		fixture.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{"ScheduleExpression": "rate(2 minutes)"})
	})
}

func TestInletTicksForJustUnderAMinuteEachMinute(t *testing.T) {
	// GIVEN the default topology's 2 s inlet and 1 min reconciler schedules
	// THEN EventBridge fires the inlet every minute with {"runFor":"55s"}
	// and the reconciler every minute with no input
	expect(t, func() {
		deployed.ResourceCountIs(jsii.String("AWS::Events::Rule"), jsii.Number(2))
		deployed.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
			"ScheduleExpression": "rate(1 minute)",
			"Targets": []any{assertions.Match_ObjectLike(&map[string]any{
				"Arn":              map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^InletFunction")), "Arn"}},
				"Input":            `{"runFor":"55s"}`,
				"DeadLetterConfig": assertions.Match_AnyValue(),
				"RetryPolicy":      map[string]any{"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 60},
			})},
		})
		deployed.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
			"ScheduleExpression": "rate(1 minute)",
			"Targets": []any{assertions.Match_ObjectLike(&map[string]any{
				"Arn":   map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^ReconcilerFunction")), "Arn"}},
				"Input": assertions.Match_Absent(),
			})},
		})
	})
}

func TestStateMachineIsTheASLFileWithFunctionArnsSubstituted(t *testing.T) {
	// GIVEN an ASL file whose task names ${Function_order-timer}

	// WHEN the stack is synthesized (TestMain)

	// THEN the Standard state machine inlines the file and maps the placeholder to the function's ARN
	expect(t, func() {
		fixture.HasResourceProperties(jsii.String("AWS::StepFunctions::StateMachine"), map[string]any{
			"StateMachineType": "STANDARD",
			"DefinitionString": fixtureASL,
			"DefinitionSubstitutions": map[string]any{
				"Function_order-timer": map[string]any{"Fn::GetAtt": []any{
					assertions.Match_StringLikeRegexp(jsii.String("^OrderTimerFunction")), "Arn",
				}},
			},
		})
	})
}

func TestStackOutputsWhatScriptsAndOperatorsNeed(t *testing.T) {
	// GIVEN the deployed stack WHEN its outputs are read
	// THEN the URLs, names and ARNs an operator needs after a deploy are there
	for _, id := range []string{"ApiUrl", "SiteUrl", "TableName", "UserPoolId", "UserPoolClientId", "SiteBucketName",
		"OrderStateMachineArn", "AdmissionKeysSecretArn", "TicketKeysSecretArn", "StripeApiKeySecretArn", "StripeWebhookSecretSecretArn", "AlarmTopicArn", "DashboardName",
		"MailDkim1Name", "MailDkim1Value", "MailDkim2Name", "MailDkim2Value", "MailDkim3Name", "MailDkim3Value"} {
		expect(t, func() { deployed.HasOutput(jsii.String(id), map[string]any{"Value": assertions.Match_AnyValue()}) })
	}
	expect(t, func() { edge.HasOutput(jsii.String("WebAclArn"), map[string]any{"Value": assertions.Match_AnyValue()}) })
}

// fixtureTopology declares one of everything the stack knows how to deploy.
func fixtureTopology() topology.Topology {
	d := topology.Default()
	return topology.Topology{
		Functions: []topology.Function{
			{Name: "catalog", Description: "reads", MemoryMB: 512, Timeout: 10 * time.Second,
				Access: topology.Access{Table: topology.TableAccess{Table: topology.MainTable, Read: true}}},
			{Name: "assigner", Description: "drains joins", MemoryMB: 256, Timeout: 30 * time.Second, ReservedConcurrency: 5,
				Access: topology.Access{Table: topology.TableAccess{Table: topology.MainTable, Read: true, Write: true, WritePrefixes: []string{"QPLACE#"}}}},
			{Name: "order-timer", Description: "order workflow task", MemoryMB: 256, Timeout: 1500 * time.Millisecond,
				Access: topology.Access{Workflow: topology.WorkflowAccess{StateMachine: "order", Callback: true},
					Table: topology.TableAccess{Table: topology.MainTable, Read: true, Transact: true}}},
			{Name: "reconciler", Description: "repairs", MemoryMB: 1024, Timeout: 5 * time.Minute,
				Access: topology.Access{Secrets: []topology.Secret{topology.SecretTicketKeys},
					Workflow: topology.WorkflowAccess{StateMachine: "order", Start: true},
					Table:    topology.TableAccess{Table: topology.MainTable, Read: true, Write: true, Indexes: []string{"gsi2"}}}},
		},
		Routes: []topology.Route{
			{Method: "GET", Path: "/healthz", Integration: topology.IntegrationLambda, Function: "catalog", Auth: topology.AuthNone},
			{Method: "POST", Path: "/dev/token", Integration: topology.IntegrationLocal, Auth: topology.AuthNone},
			{Method: "POST", Path: "/v1/events/{eventId}/queue", Integration: topology.IntegrationSQS, Queue: "joins", Auth: topology.AuthFan},
			{Method: "POST", Path: "/v1/events/{eventId}/holds", Integration: topology.IntegrationLambda, Function: "catalog", Auth: topology.AuthFan},
			{Method: "POST", Path: "/admin/v1/events", Integration: topology.IntegrationLambda, Function: "catalog", Auth: topology.AuthOrganizer,
				Staff: topology.StaffManager, Scope: topology.ScopeOrg},
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

// stackMessages reads the warning and error annotations of stack id from
// the cloud assembly in dir (its manifest's metadata, or the metadata file
// the manifest names).
func stackMessages(dir, id string) ([]synthMessage, error) {
	var manifest struct {
		Artifacts map[string]struct {
			Metadata               map[string][]metadataEntry `json:"metadata"`
			AdditionalMetadataFile string                     `json:"additionalMetadataFile"`
		} `json:"artifacts"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &manifest); err != nil {
		return nil, err
	}
	art, ok := manifest.Artifacts[id]
	if !ok {
		return nil, fmt.Errorf("no artifact %s in %s", id, dir)
	}
	metadata := art.Metadata
	if art.AdditionalMetadataFile != "" {
		b, err := os.ReadFile(filepath.Join(dir, art.AdditionalMetadataFile))
		if err != nil {
			return nil, err
		}
		more := map[string][]metadataEntry{}
		if err := json.Unmarshal(b, &more); err != nil {
			return nil, err
		}
		if metadata == nil {
			metadata = map[string][]metadataEntry{}
		}
		for path, entries := range more {
			metadata[path] = append(metadata[path], entries...)
		}
	}
	var out []synthMessage
	for path, entries := range metadata {
		for _, e := range entries {
			level := map[string]string{"aws:cdk:warning": "WARNING", "aws:cdk:error": "ERROR", "aws:cdk:info": "INFO"}[e.Type]
			if level != "" {
				out = append(out, synthMessage{Stack: id, Level: level, Path: path, Text: fmt.Sprint(e.Data)})
			}
		}
	}
	return out, nil
}

type metadataEntry struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

// synth synthesizes app, turning a thrown validation failure into an error.
func synth(app awscdk.App) (assembly cxapi.CloudAssembly, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return app.Synth(nil), nil
}

// expect runs a template assertion and reports its failure on t: the
// assertions library throws (a panic through jsii), which would otherwise
// end the whole test binary at the first failure.
func expect(t *testing.T, check func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Helper()
			t.Errorf("%v", r)
		}
	}()
	check()
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
