// Package stack is StarArena's CDK stack. It has no list of resources of its
// own: every table, function, route, queue, schedule and state machine comes
// from the topology declaration (internal/topology), the same one the local
// stack serves, so a deployed API and a laptop API cannot drift apart.
package stack

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stararena/stararena/internal/topology"
)

// TableTag is the tag every table carries with its topology LogicalName. The
// physical name is CloudFormation's, so the tag is how an operator (and
// TableKeySchemas) tells which declared table a deployed one is.
const TableTag = "stararena:table"

// Props configures NewStarArenaStack. The zero value deploys
// topology.Default() with the binaries from `make build`.
type Props struct {
	awscdk.StackProps
	// Topology to deploy; the zero value means topology.Default().
	Topology topology.Topology
	// AssetDir holds <function>/bootstrap for every function; default
	// <repo>/dist (what scripts/build.sh writes).
	AssetDir string
	// RepoDir resolves StateMachine.Definition paths; default the module root.
	RepoDir string
}

// NewStarArenaStack builds the stack from the topology. It panics on an
// invalid topology or a missing asset: synth is the place to fail loudly.
func NewStarArenaStack(scope constructs.Construct, id string, props *Props) awscdk.Stack {
	if props == nil {
		props = &Props{}
	}
	topo := props.Topology
	if isZero(topo) {
		topo = topology.Default()
	}
	if err := topo.Validate(); err != nil {
		panic(err)
	}
	repo := props.RepoDir
	if repo == "" {
		repo = RepoRoot()
	}
	assets := props.AssetDir
	if assets == "" {
		assets = filepath.Join(repo, "dist")
	}

	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)

	tables := map[string]awsdynamodb.Table{}
	for _, t := range topo.Tables {
		tables[t.LogicalName] = newTable(stack, t)
	}
	main, ok := tables[topology.MainTable]
	if !ok {
		panic(fmt.Sprintf("stack: topology declares no %q table", topology.MainTable))
	}

	fns := map[string]awslambda.Function{}
	for _, f := range topo.Functions {
		fns[f.Name] = newFunction(stack, f, assets, main)
	}

	queues := map[string]awssqs.Queue{}
	for _, q := range topo.Queues {
		queues[q.Name] = newQueue(stack, q, fns[q.Consumer])
	}
	for _, s := range topo.Schedules {
		newSchedule(stack, s, fns[s.Function])
	}
	for _, m := range topo.StateMachines {
		newStateMachine(stack, m, repo, fns)
	}

	users, client := newUserPool(stack)
	api := newHTTPAPI(stack, topo.Routes, fns, queues, newAuthorizers(users, client))

	output(stack, "ApiUrl", api.Url())
	output(stack, "TableName", main.TableName())
	// The fan site needs these to sign fans in against the pool.
	output(stack, "UserPoolId", users.UserPoolId())
	output(stack, "UserPoolClientId", client.UserPoolClientId())
	return stack
}

// newTable declares one on-demand table. It holds orders, seats and money, so
// it survives both a stack deletion and a mistaken `cdk destroy`.
func newTable(scope constructs.Construct, t topology.Table) awsdynamodb.Table {
	table := awsdynamodb.NewTable(scope, jsii.String(pascal(t.LogicalName)+"Table"), &awsdynamodb.TableProps{
		PartitionKey: attribute(t.PartitionKey),
		SortKey:      attribute(t.SortKey),
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection: jsii.Bool(true),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN,
	})
	for _, ix := range t.Indexes {
		table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(ix.Name),
			PartitionKey:   attribute(ix.PartitionKey),
			SortKey:        attribute(ix.SortKey),
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
	}
	awscdk.Tags_Of(table).Add(jsii.String(TableTag), jsii.String(t.LogicalName), nil)
	return table
}

// attribute maps a declared key; an unnamed key (no sort key) maps to nil.
func attribute(k topology.Key) *awsdynamodb.Attribute {
	if k.Name == "" {
		return nil
	}
	typ := awsdynamodb.AttributeType_STRING
	if k.Type == topology.Number {
		typ = awsdynamodb.AttributeType_NUMBER
	}
	return &awsdynamodb.Attribute{Name: jsii.String(k.Name), Type: typ}
}

// newFunction declares one Go Lambda from its prebuilt bootstrap binary
// (provided.al2023 on Graviton: cheapest per ms and fastest cold start for Go).
func newFunction(scope constructs.Construct, f topology.Function, assetDir string, table awsdynamodb.Table) awslambda.Function {
	code := filepath.Join(assetDir, f.Name)
	if _, err := os.Stat(filepath.Join(code, "bootstrap")); err != nil {
		panic(fmt.Sprintf("stack: function %q has no %s/bootstrap; run `make build` (scripts/build.sh) first", f.Name, code))
	}
	props := &awslambda.FunctionProps{
		Description:  jsii.String(f.Description),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(code), nil),
		MemorySize:   jsii.Number(float64(f.MemoryMB)),
		Timeout:      seconds(f.Timeout),
		Environment: &map[string]*string{
			"TABLE_NAME": table.TableName(),
			"LOG_LEVEL":  jsii.String("info"),
		},
	}
	if f.ReservedConcurrency > 0 {
		props.ReservedConcurrentExecutions = jsii.Number(float64(f.ReservedConcurrency))
	}
	fn := awslambda.NewFunction(scope, jsii.String(pascal(f.Name)+"Function"), props)
	// For now every function may read and write the whole table; least
	// privilege per function (declared in the topology) is a later issue.
	table.GrantReadWriteData(fn)
	return fn
}

// newQueue declares a standard queue, its dead-letter queue and the event
// source mapping that feeds the consumer. Partial batch responses are on so
// one poison message does not redeliver its whole batch.
func newQueue(scope constructs.Construct, q topology.Queue, consumer awslambda.Function) awssqs.Queue {
	base := pascal(q.Name)
	dlq := awssqs.NewQueue(scope, jsii.String(base+"DeadLetterQueue"), &awssqs.QueueProps{
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)), // the maximum: time to look and redrive
		EnforceSSL:      jsii.Bool(true),
	})
	queue := awssqs.NewQueue(scope, jsii.String(base+"Queue"), &awssqs.QueueProps{
		VisibilityTimeout: seconds(q.VisibilityTimeout),
		EnforceSSL:        jsii.Bool(true),
		DeadLetterQueue: &awssqs.DeadLetterQueue{
			Queue:           dlq,
			MaxReceiveCount: jsii.Number(float64(q.MaxReceiveCount)),
		},
	})
	source := &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(float64(q.BatchSize)),
		ReportBatchItemFailures: jsii.Bool(true),
	}
	if q.MaxBatchingWindow > 0 {
		source.MaxBatchingWindow = seconds(q.MaxBatchingWindow)
	}
	consumer.AddEventSource(awslambdaeventsources.NewSqsEventSource(queue, source))
	return queue
}

// newSchedule declares an EventBridge rule invoking the function every
// s.Every. EventBridge rates are whole minutes (1 minute at least), so the
// rate is rounded up: a sub-minute schedule (fine locally) runs once a minute
// in AWS, never more often than declared.
//
// A sub-minute schedule (the waiting room's inlet) fires every minute with
// {"runFor":"55s"}: the function then ticks at its own interval for just
// under the minute, so the next invocation does not overlap it by much.
func newSchedule(scope constructs.Construct, s topology.Schedule, fn awslambda.Function) {
	minutes := math.Max(1, math.Ceil(s.Every.Minutes()))
	var props *awseventstargets.LambdaFunctionProps
	if s.Every < time.Minute {
		props = &awseventstargets.LambdaFunctionProps{
			Event: awsevents.RuleTargetInput_FromObject(map[string]any{"runFor": "55s"}),
		}
	}
	awsevents.NewRule(scope, jsii.String(pascal(s.Name)+"Schedule"), &awsevents.RuleProps{
		Schedule: awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(minutes))),
		Targets:  &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, props)},
	})
}

// newStateMachine declares a Standard state machine from its ASL file, the
// same file the local Step Functions sidecar runs. Tasks name functions as
// ${Function_<name>}; CloudFormation substitutes their ARNs.
//
// The definition is inlined (DefinitionBody_FromString) rather than
// DefinitionBody_FromFile: FromFile uploads the file as an S3 asset, so the
// template would hold only a bucket/key, tests could not see the definition,
// and deploys would depend on the asset bucket for one small JSON file.
func newStateMachine(scope constructs.Construct, m topology.StateMachine, repo string, fns map[string]awslambda.Function) {
	path := filepath.Join(repo, filepath.FromSlash(m.Definition))
	asl, err := os.ReadFile(path)
	if err != nil {
		panic(fmt.Sprintf("stack: state machine %q: %v", m.Name, err))
	}
	if !json.Valid(asl) {
		panic(fmt.Sprintf("stack: state machine %q: %s is not JSON", m.Name, path))
	}
	subs := map[string]*string{}
	for _, name := range m.Functions {
		subs["Function_"+name] = fns[name].FunctionArn()
	}
	sm := awsstepfunctions.NewStateMachine(scope, jsii.String(pascal(m.Name)+"StateMachine"), &awsstepfunctions.StateMachineProps{
		StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(string(asl))),
		DefinitionSubstitutions: &subs,
	})
	for _, name := range m.Functions {
		fns[name].GrantInvoke(sm.Role())
	}
}

// newUserPool declares the fans' identity: a Cognito user pool and a public
// (secretless) app client for the browser.
func newUserPool(scope constructs.Construct) (awscognito.UserPool, awscognito.UserPoolClient) {
	pool := awscognito.NewUserPool(scope, jsii.String("FanUserPool"), &awscognito.UserPoolProps{
		SelfSignUpEnabled: jsii.Bool(true),
		SignInAliases:     &awscognito.SignInAliases{Email: jsii.Bool(true)},
		AutoVerify:        &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		AccountRecovery:   awscognito.AccountRecovery_EMAIL_ONLY,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN, // fans' accounts outlive a stack
	})
	client := pool.AddClient(jsii.String("FanWebClient"), &awscognito.UserPoolClientOptions{
		GenerateSecret:             jsii.Bool(false),
		AuthFlows:                  &awscognito.AuthFlow{UserSrp: jsii.Bool(true)},
		PreventUserExistenceErrors: jsii.Bool(true),
	})
	return pool, client
}

// newAuthorizers maps each route Auth to its HTTP API authorizer. `none` and
// `signature` map to nil: signature routes (payment webhooks) are verified
// by the handler against the provider's signature.
func newAuthorizers(pool awscognito.UserPool, client awscognito.UserPoolClient) map[topology.Auth]awsapigatewayv2.IHttpRouteAuthorizer {
	return map[topology.Auth]awsapigatewayv2.IHttpRouteAuthorizer{
		topology.AuthFan: awsapigatewayv2authorizers.NewHttpUserPoolAuthorizer(jsii.String("FanAuthorizer"), pool,
			&awsapigatewayv2authorizers.HttpUserPoolAuthorizerProps{
				UserPoolClients: &[]awscognito.IUserPoolClient{client},
			}),
		topology.AuthOrganizer: awsapigatewayv2authorizers.NewHttpIamAuthorizer(),
	}
}

// newHTTPAPI declares the HTTP API and one route per deployed topology route.
// Local-only routes (the dev token issuer) are skipped. Integrations are
// shared: one per function and one per queue.
func newHTTPAPI(scope constructs.Construct, routes []topology.Route, fns map[string]awslambda.Function,
	queues map[string]awssqs.Queue, authorizers map[topology.Auth]awsapigatewayv2.IHttpRouteAuthorizer) awsapigatewayv2.HttpApi {
	api := awsapigatewayv2.NewHttpApi(scope, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		Description: jsii.String("StarArena public, fan and organizer API"),
	})
	integrations := map[string]awsapigatewayv2.HttpRouteIntegration{}
	integration := func(r topology.Route) awsapigatewayv2.HttpRouteIntegration {
		key := string(r.Integration) + ":" + r.Function + r.Queue
		if in, ok := integrations[key]; ok {
			return in
		}
		var in awsapigatewayv2.HttpRouteIntegration
		switch r.Integration {
		case topology.IntegrationLambda:
			in = awsapigatewayv2integrations.NewHttpLambdaIntegration(
				jsii.String(pascal(r.Function)+"Integration"), fns[r.Function], nil)
		case topology.IntegrationSQS:
			// The message is the route's MessageBody mapping (the same
			// template the local stack renders), never the request body: a
			// fan cannot write their own join.
			q := queues[r.Queue]
			in = awsapigatewayv2integrations.NewHttpSqsIntegration(
				jsii.String(pascal(r.Queue)+"QueueIntegration"),
				&awsapigatewayv2integrations.HttpSqsIntegrationProps{Queue: q,
					ParameterMapping: awsapigatewayv2.NewParameterMapping().
						Custom(jsii.String("QueueUrl"), q.QueueUrl()).
						Custom(jsii.String("MessageBody"), jsii.String(r.MessageBody))})
		}
		integrations[key] = in
		return in
	}
	for _, r := range routes {
		if r.Integration == topology.IntegrationLocal {
			continue
		}
		// CacheTTL and MaxBodyBytes are enforced by the CDN and the handler,
		// not by API Gateway.
		api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
			Integration: integration(r),
			Authorizer:  authorizers[r.Auth],
		})
	}
	return api
}

func output(scope constructs.Construct, id string, value *string) {
	awscdk.NewCfnOutput(scope, jsii.String(id), &awscdk.CfnOutputProps{Value: value})
}

// seconds converts to a CDK Duration in whole seconds, rounding up so a
// timeout is never shorter than declared.
func seconds(d time.Duration) awscdk.Duration {
	return awscdk.Duration_Seconds(jsii.Number(math.Ceil(d.Seconds())))
}

// pascal turns a topology name ("order-timer") into a construct id part
// ("OrderTimer"). Construct ids become CloudFormation logical ids, so they
// must stay stable: renaming one replaces the resource.
func pascal(name string) string {
	var b strings.Builder
	upper := true
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			upper = true
			continue
		}
		if upper {
			r = unicode.ToUpper(r)
			upper = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isZero(t topology.Topology) bool {
	return len(t.Functions) == 0 && len(t.Routes) == 0 && len(t.Queues) == 0 &&
		len(t.Schedules) == 0 && len(t.StateMachines) == 0 && len(t.Tables) == 0
}

// RepoRoot returns the module root: the directory of this source file's
// module when it is known (go run, go test), else the nearest directory at or
// above the working directory that holds go.mod (binaries built -trimpath).
func RepoRoot() string {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		root := filepath.Dir(filepath.Dir(filepath.Dir(file))) // infra/stack/stack.go
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			return root
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}
