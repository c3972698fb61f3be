// Package stack is StarArena's CDK app. It has no list of resources of its
// own: every table, function, route, queue, schedule and state machine, and
// what each function may do, comes from the topology declaration
// (internal/topology), the same one the local stack serves, so a deployed
// API and a laptop API cannot drift apart. Deployment choices (region,
// domain, warm throughput, Stripe on or off, ...) are Settings.
package stack

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stararena/stararena/internal/payments"
	"github.com/stararena/stararena/internal/payments/providers"
	"github.com/stararena/stararena/internal/topology"
)

// Tags that map deployed resources back to their topology declaration. The
// physical names are CloudFormation's, so the tags are how an operator (and
// the template readers in inspect.go) tell which declared table or function
// a deployed one is.
const (
	TableTag    = "stararena:table"
	FunctionTag = "stararena:function"
	QueueTag    = "stararena:queue"
)

// TTLAttribute is the table's time-to-live attribute (epoch seconds),
// declared in the topology because the stores write it. Correctness never
// depends on it, so hold expiry is the order workflow's timer (ADR 5).
const TTLAttribute = topology.TTLAttribute

// Props configures NewStarArenaStack. The zero value deploys
// topology.Default() with the binaries from `make build` and
// DefaultSettings() without the edge (NewApp sets the real settings).
type Props struct {
	awscdk.StackProps
	// Topology to deploy; the zero value means topology.Default().
	Topology topology.Topology
	// Settings of this deployment; see NewApp.
	Settings Settings
	// AssetDir holds <function>/bootstrap for every function; default
	// <repo>/dist (what scripts/build.sh writes).
	AssetDir string
	// RepoDir resolves StateMachine.Definition paths; default the module root.
	RepoDir string
	// WebDir is the static site; default <repo>/web.
	WebDir string
	// WebACLArn is the edge stack's CloudFront web ACL (required when
	// Settings.Edge is on).
	WebACLArn *string
	// CaptchaEventsArn is the edge stack's pattern set of CAPTCHA events,
	// which the functions with BotLevel access update (a cross-region
	// reference, as WebACLArn is); nil without the edge.
	CaptchaEventsArn *string
}

// NewStarArenaStack builds the main stack from the topology. It panics on
// an invalid topology or a missing asset: synth is the place to fail
// loudly.
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
	s := props.Settings
	if s.Region == "" {
		s = DefaultSettings()
		s.Edge = false
	}
	if s.Edge && props.WebACLArn == nil {
		panic("stack: Settings.Edge needs the edge stack's WebACLArn (use NewApp)")
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

	streamed := map[string]bool{}
	for _, sm := range topo.Streams {
		streamed[sm.Table] = true
	}
	tables := map[string]awsdynamodb.Table{}
	for _, t := range topo.Tables {
		tables[t.LogicalName] = newTable(stack, t, s, streamed[t.LogicalName])
	}
	main, ok := tables[topology.MainTable]
	if !ok {
		panic(fmt.Sprintf("stack: topology declares no %q table", topology.MainTable))
	}
	secrets := newSecrets(stack)
	machines := map[string]*string{}
	for _, m := range topo.StateMachines {
		machines[m.Name] = stateMachineArn(stack, m)
	}

	originReaders := map[string]bool{}
	for _, name := range topo.OriginProofReaders() {
		originReaders[name] = true
	}
	fns := map[string]awslambda.Function{}
	for _, f := range topo.Functions {
		fns[f.Name] = newFunction(stack, f, functionDeps{
			assetDir: assets, settings: s, tables: tables, secrets: secrets, machines: machines, originReaders: originReaders,
			captchaEvents: props.CaptchaEventsArn,
		})
	}

	queues := map[string]*queuePair{}
	for _, q := range topo.Queues {
		queues[q.Name] = newQueue(stack, q, fns[q.Consumer])
	}
	streamDLQs := map[string]awssqs.Queue{}
	for _, sm := range topo.Streams {
		streamDLQs[sm.Consumer] = newStream(stack, sm, tables[sm.Table], fns[sm.Consumer])
	}
	var scheduleDLQ awssqs.Queue
	if len(topo.Schedules) > 0 {
		scheduleDLQ = newScheduleDLQ(stack)
	}
	for _, sc := range topo.Schedules {
		newSchedule(stack, sc, fns[sc.Function], scheduleDLQ)
	}
	sms := map[string]awsstepfunctions.StateMachine{}
	for _, m := range topo.StateMachines {
		sms[m.Name] = newStateMachine(stack, m, repo, fns, s)
	}

	users, client, staffClient := newUserPool(stack)
	domain := signInDomain(users, s)
	api := newHTTPAPI(stack, topo, fns, queues, newAuthorizers(users, client, staffClient), s)
	machine := newMachineAPI(stack, topo, fns, s)

	siteConfig := map[string]any{
		"signIn": "cognito",
		"cognito": map[string]any{
			"region": stack.Region(), "userPoolId": users.UserPoolId(), "clientId": client.UserPoolClientId(),
			"staffClientId": staffClient.UserPoolClientId(),
			"domain":        domain.BaseUrl(nil),
		},
		"payment": sitePayment(s),
	}
	if waf := wafSiteConfig(s); waf != nil {
		siteConfig["waf"] = waf
	}
	// A dynamic reference: CloudFormation resolves it when it deploys the
	// distribution, so the value is in no template.
	originProof := secrets.origin.SecretValueFromJson(jsii.String("current")).UnsafeUnwrap()
	st := newSite(stack, topo, s, webDir(props, repo), props.WebACLArn, api, originProof, siteConfig, domain.BaseUrl(nil))
	grantMail(topo, fns, queues, newMail(stack, s), siteURL(s, st))
	hostedSignIn(client, siteURL(s, st))
	hostedSignIn(staffClient, siteURL(s, st), topology.StaffSignInPages...)

	newObservability(stack, observed{
		topo: topo, settings: s, fns: fns, queues: queues, machines: sms, table: main, api: api,
		distribution: st.Distribution, scheduleDLQ: scheduleDLQ, streamDLQs: streamDLQs,
	})

	output(stack, "ApiUrl", api.Url())
	// Automation signs its requests for this one (scripts/organizer).
	output(stack, "MachineApiUrl", machine.Url())
	output(stack, "StaffClientId", staffClient.UserPoolClientId())
	output(stack, "TableName", main.TableName())
	// The fan site needs these to sign fans in against the pool.
	output(stack, "UserPoolId", users.UserPoolId())
	output(stack, "UserPoolClientId", client.UserPoolClientId())
	output(stack, "SiteBucketName", st.Bucket.BucketName())
	if st.Distribution != nil {
		output(stack, "SiteUrl", awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), st.Distribution.DistributionDomainName()}))
	}
	// Fans sign in here (the site sends them).
	output(stack, "SignInUrl", domain.BaseUrl(nil))
	for _, m := range topo.StateMachines {
		output(stack, pascal(m.Name)+"StateMachineArn", sms[m.Name].StateMachineArn())
	}
	output(stack, "AdmissionKeysSecretArn", secrets.byName[topology.SecretAdmissionKeys].SecretArn())
	output(stack, "TicketKeysSecretArn", secrets.byName[topology.SecretTicketKeys].SecretArn())
	for _, d := range providers.Deployable() {
		for _, st := range d.Settings {
			if sec, ok := secrets.providers[d.Name][st.Env]; ok {
				output(stack, providerSecretID(d, st)+"SecretArn", sec.SecretArn())
			}
		}
	}
	addStackSuppressions(stack)
	return stack
}

// newTable declares one on-demand table. It holds orders, seats and money, so
// it survives both a stack deletion and a mistaken `cdk destroy`.
// A streamed table (one a topology stream reads) records each item's image
// after every write (NEW_IMAGE): its consumer needs the new state only.
func newTable(scope constructs.Construct, t topology.Table, s Settings, streamed bool) awsdynamodb.Table {
	props := &awsdynamodb.TableProps{
		PartitionKey: attribute(t.PartitionKey),
		SortKey:      attribute(t.SortKey),
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection:  jsii.Bool(true),
		RemovalPolicy:       awscdk.RemovalPolicy_RETAIN,
		TimeToLiveAttribute: jsii.String(TTLAttribute),
		WarmThroughput:      warm(s),
	}
	if streamed {
		props.Stream = awsdynamodb.StreamViewType_NEW_IMAGE
	}
	table := awsdynamodb.NewTable(scope, jsii.String(pascal(t.LogicalName)+"Table"), props)
	for _, ix := range t.Indexes {
		table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(ix.Name),
			PartitionKey:   attribute(ix.PartitionKey),
			SortKey:        attribute(ix.SortKey),
			ProjectionType: awsdynamodb.ProjectionType_ALL,
			// An index's partitions throttle the base table's writes when
			// they fall behind (back-pressure): warm them alike.
			WarmThroughput: warm(s),
		})
	}
	awscdk.Tags_Of(table).Add(jsii.String(TableTag), jsii.String(t.LogicalName), nil)
	return table
}

// warm is the pre-warmed throughput for a big sale, nil for the defaults.
func warm(s Settings) *awsdynamodb.WarmThroughput {
	if s.WarmReads == 0 && s.WarmWrites == 0 {
		return nil
	}
	w := &awsdynamodb.WarmThroughput{}
	if s.WarmReads > 0 {
		w.ReadUnitsPerSecond = jsii.Number(float64(s.WarmReads))
	}
	if s.WarmWrites > 0 {
		w.WriteUnitsPerSecond = jsii.Number(float64(s.WarmWrites))
	}
	return w
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

// secretSet is the stack's Secrets Manager secrets.
type secretSet struct {
	byName map[topology.Secret]awssecretsmanager.Secret
	// providers holds the deployable payment providers' credentials, one
	// secret per secret setting, by provider name and then variable
	// (STRIPE_API_KEY): a function may read only the credentials its
	// payment access uses.
	providers map[string]map[string]awssecretsmanager.Secret
	// origin is the origin proof CloudFront adds to what it forwards to
	// the API (ADR 22): {"current":…,"previous":…}.
	origin awssecretsmanager.Secret
}

// newSecrets declares the signing keyrings and one secret per secret
// setting of each deployable payment provider (the credential as a plain
// string: StripeApiKey, StripeWebhookSecret). CloudFormation fills each with a random string; an operator
// puts the real value in before the first sale (`go run ./infra/keygen`
// prints a keyring; README, "Deploying"). Until then the functions refuse
// to start, naming the secret. The ticket keyring outlives the stack:
// tickets sold are verified with it at the door.
func newSecrets(scope constructs.Construct) secretSet {
	admission := awssecretsmanager.NewSecret(scope, jsii.String("AdmissionKeys"), &awssecretsmanager.SecretProps{
		Description:   jsii.String(`StarArena admission-token keyring: {"current":"k1","keys":[{"kid":"k1","seed":"<base64 32 bytes>"}]}`),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	ticket := awssecretsmanager.NewSecret(scope, jsii.String("TicketKeys"), &awssecretsmanager.SecretProps{
		Description:   jsii.String(`StarArena ticket-code keyring (same shape as the admission keys); keep every key that signed a ticket still to be scanned`),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	set := secretSet{
		byName: map[topology.Secret]awssecretsmanager.Secret{
			topology.SecretAdmissionKeys: admission,
			topology.SecretTicketKeys:    ticket,
		},
		providers: map[string]map[string]awssecretsmanager.Secret{},
		// Generated: nobody needs to know it. Header-safe characters only.
		origin: awssecretsmanager.NewSecret(scope, jsii.String("OriginProof"), &awssecretsmanager.SecretProps{
			Description: jsii.String(`StarArena origin proof: CloudFront sends "current" in ` + topology.OriginHeader + `; the API accepts "current" and "previous" (ADR 22)`),
			GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
				SecretStringTemplate: jsii.String(`{"previous":""}`), GenerateStringKey: jsii.String("current"),
				PasswordLength: jsii.Number(64), ExcludePunctuation: jsii.Bool(true),
			},
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		}),
	}
	all := []awssecretsmanager.Secret{admission, ticket, set.origin}
	var rotation []string
	for _, d := range providers.Deployable() {
		for _, st := range d.Settings {
			if !st.Secret || !st.Deployed() {
				continue
			}
			sec := awssecretsmanager.NewSecret(scope, jsii.String(providerSecretID(d, st)), &awssecretsmanager.SecretProps{
				Description: jsii.String(fmt.Sprintf("StarArena %s %s (%s): the value alone, e.g. %s; deploy with -c %s=on once set",
					d.Title, st.Field, st.Env, cmp.Or(st.Example, "..."), d.Name)),
				RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
			})
			if set.providers[d.Name] == nil {
				set.providers[d.Name] = map[string]awssecretsmanager.Secret{}
				rotation = append(rotation, fmt.Sprintf("%s keys rotate in %s's dashboard", d.Title, d.Title))
			}
			set.providers[d.Name][st.Env] = sec
			all = append(all, sec)
		}
	}
	reason := "Keyrings rotate by adding a key id and making it current while the old key still verifies (internal/keyring)"
	if len(rotation) > 0 {
		reason += "; " + strings.Join(rotation, "; ")
	}
	reason += ". Secrets Manager's single-value rotation fits neither; the origin proof rotates by moving current to previous and redeploying (ADR 22)."
	for _, sec := range all {
		nag(sec, "AwsSolutions-SMG4", reason)
	}
	return set
}

// sitePayment is the "payment" object of the site's config.json: the
// provider that is on (Validate allows one), else "none".
func sitePayment(s Settings) map[string]any {
	for _, d := range providers.Deployable() {
		if ps := s.Payments[d.Name]; ps.On {
			return d.SiteConfig(ps.Values)
		}
	}
	return map[string]any{"provider": "none"}
}

// stateMachineArn is the ARN a state machine will have. The stack names
// its state machines, so functions can carry the ARN without referring to
// the resource: the order workflow's own tasks both run in it and resume it,
// which would otherwise be a dependency cycle.
func stateMachineArn(stack awscdk.Stack, m topology.StateMachine) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("states"), Resource: jsii.String("stateMachine"),
		ResourceName: jsii.String(stateMachineName(stack, m)), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
}

func stateMachineName(stack awscdk.Stack, m topology.StateMachine) string {
	return *stack.StackName() + "-" + m.Name
}

type functionDeps struct {
	assetDir string
	settings Settings
	tables   map[string]awsdynamodb.Table
	secrets  secretSet
	machines map[string]*string
	// originReaders are the functions that check the origin proof.
	originReaders map[string]bool
	// captchaEvents is the edge's pattern set of CAPTCHA events; nil
	// without the edge.
	captchaEvents *string
}

// newFunction declares one Go Lambda from its prebuilt bootstrap binary
// (provided.al2023 on Graviton: cheapest per ms and fastest cold start for
// Go) with its own role, log group and exactly the access and environment
// the topology declares.
func newFunction(scope constructs.Construct, f topology.Function, d functionDeps) awslambda.Function {
	code := filepath.Join(d.assetDir, f.Name)
	if _, err := os.Stat(filepath.Join(code, "bootstrap")); err != nil {
		panic(fmt.Sprintf("stack: function %q has no %s/bootstrap; run `make build` (scripts/build.sh) first", f.Name, code))
	}
	base := pascal(f.Name)
	logs := awslogs.NewLogGroup(scope, jsii.String(base+"Logs"), &awslogs.LogGroupProps{
		Retention:     retention(d.settings),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	role := awsiam.NewRole(scope, jsii.String(base+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("StarArena " + f.Name + ": its topology access only"),
	})
	// Lambda creates the log streams; the log group's ARN attribute already
	// ends in :* (every stream of this group, nothing else).
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   &[]*string{jsii.String("logs:CreateLogStream"), jsii.String("logs:PutLogEvents")},
		Resources: &[]*string{logs.LogGroupArn()},
	}))
	env := map[string]*string{
		"LOG_LEVEL": jsii.String("info"),
	}
	if t, ok := d.tables[topology.MainTable]; ok {
		env["TABLE_NAME"] = t.TableName()
	}
	grantAccess(role, f, d, env)
	for _, name := range f.Env {
		v, ok := d.settings.envValue(name)
		if !ok {
			panic(fmt.Sprintf("stack: function %q reads %s, which no setting provides", f.Name, name))
		}
		env[name] = jsii.String(v)
	}
	if d.settings.EndpointURL != "" {
		env["AWS_ENDPOINT_URL"] = jsii.String(d.settings.EndpointURL)
	}
	props := &awslambda.FunctionProps{
		Description:  jsii.String(f.Description),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(code), nil),
		MemorySize:   jsii.Number(float64(f.MemoryMB)),
		Timeout:      seconds(f.Timeout),
		Role:         role,
		LogGroup:     logs,
		Environment:  &env,
	}
	if f.ReservedConcurrency > 0 {
		props.ReservedConcurrentExecutions = jsii.Number(float64(f.ReservedConcurrency))
	}
	fn := awslambda.NewFunction(scope, jsii.String(base+"Function"), props)
	dropRoleDependsOn(fn, role)
	awscdk.Tags_Of(fn).Add(jsii.String(FunctionTag), jsii.String(f.Name), nil)
	return fn
}

// DynamoDB actions by declared access. TransactWriteItems is not an IAM
// action: each item of a transaction is authorized as its own action.
var (
	readActions       = []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}
	writeActions      = []string{"dynamodb:PutItem", "dynamodb:UpdateItem"}
	batchWriteActions = []string{"dynamodb:BatchWriteItem"}
	transactActions   = []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"}
	// A transaction may delete only held-seat markers (dynamo.PrefixHeldSeat):
	// the release or sale of a seat removes its marker with it. No function
	// deletes anything else.
	transactDeletePrefix = "HELDSEAT#"
	startActions         = []string{"states:StartExecution"}
	callbackActions      = []string{"states:SendTaskSuccess", "states:SendTaskFailure"}
	secretActions        = []string{"secretsmanager:GetSecretValue"}
	botLevelActions      = []string{"wafv2:GetRegexPatternSet", "wafv2:UpdateRegexPatternSet"}
	// A stream consumer's poller reads the table's stream. Lambda checks
	// all four when the event source mapping is created (it refuses one
	// whose role lacks ListStreams), so ListStreams is granted too, on the
	// stream's ARN as DynamoDB's own policy example does.
	streamReadActions = []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}
)

// grantAccess turns a function's declared access into IAM statements on
// exact resources, and sets the variables that name those resources.
func grantAccess(role awsiam.Role, f topology.Function, d functionDeps, env map[string]*string) {
	allow := func(actions []string, resources []*string, cond map[string]any) {
		st := &awsiam.PolicyStatementProps{Actions: strs(actions), Resources: &resources}
		if cond != nil {
			st.Conditions = &cond
		}
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(st))
	}
	a := f.Access
	if ta := a.Table; ta.Table != "" {
		table := d.tables[ta.Table]
		arn := table.TableArn()
		var leading map[string]any
		if len(ta.WritePrefixes) > 0 {
			var keys []string
			for _, p := range ta.WritePrefixes {
				keys = append(keys, p+"*")
			}
			leading = map[string]any{"ForAllValues:StringLike": map[string]any{"dynamodb:LeadingKeys": keys}}
		}
		if ta.Read {
			allow(readActions, []*string{arn}, nil)
		}
		if ta.Write {
			allow(writeActions, []*string{arn}, leading)
		}
		if ta.BatchWrite {
			allow(batchWriteActions, []*string{arn}, leading)
		}
		if ta.Transact {
			inTransaction := map[string]any{"dynamodb:EnclosingOperation": []string{"TransactWriteItems"}}
			cond := map[string]any{"ForAnyValue:StringEquals": inTransaction}
			if leading != nil {
				// IAM checks the leading keys of each item of the
				// transaction: the prefixes scope it as they scope
				// single writes, and such a function deletes nothing.
				cond["ForAllValues:StringLike"] = leading["ForAllValues:StringLike"]
			}
			allow(transactActions, []*string{arn}, cond)
			if leading == nil {
				allow([]string{"dynamodb:DeleteItem"}, []*string{arn}, map[string]any{
					"ForAnyValue:StringEquals": inTransaction,
					"ForAllValues:StringLike":  map[string]any{"dynamodb:LeadingKeys": []string{transactDeletePrefix + "*"}},
				})
			}
		}
		if len(ta.Indexes) > 0 {
			var ixs []*string
			for _, ix := range ta.Indexes {
				ixs = append(ixs, awscdk.Fn_Join(jsii.String(""), &[]*string{arn, jsii.String("/index/" + ix)}))
			}
			allow([]string{"dynamodb:Query"}, ixs, nil)
		}
	}
	if w := a.Workflow; w.StateMachine != "" {
		arn := d.machines[w.StateMachine]
		if w.Start {
			allow(startActions, []*string{arn}, nil)
		}
		if w.Callback {
			allow(callbackActions, []*string{arn}, nil)
		}
		env["STATE_MACHINE_ARN"] = arn
	}
	var secretArns []*string
	for _, sec := range a.Secrets {
		switch sec {
		case topology.SecretAdmissionKeys:
			arn := d.secrets.byName[sec].SecretArn()
			env["ADMISSION_KEYS_SECRET_ARN"] = arn
			secretArns = append(secretArns, arn)
		case topology.SecretTicketKeys:
			arn := d.secrets.byName[sec].SecretArn()
			env["TICKET_KEYS_SECRET_ARN"] = arn
			secretArns = append(secretArns, arn)
		}
	}
	if d.originReaders[f.Name] {
		arn := d.secrets.origin.SecretArn()
		env["ORIGIN_PROOF_SECRET_ARN"] = arn
		secretArns = append(secretArns, arn)
	}
	secretArns = append(secretArns, providerEnv(a.Payments, d, env)...)
	if a.BotLevel && d.captchaEvents != nil {
		// The set is in us-east-1 with the web ACL; its ARN reaches this
		// region through the edge stack's cross-region reference.
		allow(botLevelActions, []*string{d.captchaEvents}, nil)
		env["CAPTCHA_EVENTS_ARN"] = d.captchaEvents
	}
	if len(secretArns) > 0 {
		allow(secretActions, secretArns, nil)
	}
}

// providerEnv sets the variables of every payment provider that is on for
// a function with payment access and returns the provider secrets it may
// read: those of the settings its access uses (the webhook secret only
// where webhooks are verified). Secret settings are never variables
// (anyone allowed lambda:GetFunctionConfiguration could read them): the
// function gets each secret's ARN (<VARIABLE>_SECRET_ARN) and reads it at
// start-up (config.ResolvePaymentSecrets).
func providerEnv(use topology.PaymentAccess, d functionDeps, env map[string]*string) []*string {
	if use == topology.PaymentsNone {
		return nil
	}
	var arns []*string
	for _, p := range providers.Deployable() {
		ps := d.settings.Payments[p.Name]
		if !ps.On {
			continue
		}
		for _, st := range p.Settings {
			if !st.Deployed() || (st.Use == payments.UseWebhooks && use != topology.PaymentsWebhooks) {
				continue
			}
			if !st.Secret {
				env[st.Env] = jsii.String(ps.Values[st.Field])
				continue
			}
			sec := d.secrets.providers[p.Name][st.Env]
			env[st.SecretEnv()] = sec.SecretArn()
			arns = append(arns, sec.SecretArn())
			if ps.SecretVersion != "" {
				env[strings.ToUpper(p.Name)+"_SECRET_VERSION"] = jsii.String(ps.SecretVersion)
			}
		}
	}
	return arns
}

// providerSecretID is the logical id of a provider credential's secret:
// the provider's and the setting's names (StripeApiKey).
func providerSecretID(d payments.Descriptor, st payments.Setting) string {
	return pascal(d.Name) + pascal(st.Field)
}

func strs(vs []string) *[]*string {
	out := make([]*string, len(vs))
	for i, v := range vs {
		out[i] = jsii.String(v)
	}
	return &out
}

// queuePair is a declared queue and its dead-letter queue.
type queuePair struct {
	Queue, DLQ awssqs.Queue
}

// newQueue declares a standard queue, its dead-letter queue and the event
// source mapping that feeds the consumer. Partial batch responses are on so
// one poison message does not redeliver its whole batch. SQS-managed
// encryption: API Gateway's SendMessage integration needs no KMS grant.
func newQueue(scope constructs.Construct, q topology.Queue, consumer awslambda.Function) *queuePair {
	base := pascal(q.Name)
	dlq := awssqs.NewQueue(scope, jsii.String(base+"DeadLetterQueue"), &awssqs.QueueProps{
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)), // the maximum: time to look and redrive
		EnforceSSL:      jsii.Bool(true),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
	})
	queue := awssqs.NewQueue(scope, jsii.String(base+"Queue"), &awssqs.QueueProps{
		VisibilityTimeout: seconds(q.VisibilityTimeout),
		EnforceSSL:        jsii.Bool(true),
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		DeadLetterQueue: &awssqs.DeadLetterQueue{
			Queue:           dlq,
			MaxReceiveCount: jsii.Number(float64(q.MaxReceiveCount)),
		},
	})
	awscdk.Tags_Of(queue).Add(jsii.String(QueueTag), jsii.String(q.Name), nil)
	awscdk.Tags_Of(dlq).Add(jsii.String(QueueTag), jsii.String(q.Name+"-dlq"), nil)
	source := &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(float64(q.BatchSize)),
		ReportBatchItemFailures: jsii.Bool(true),
	}
	if q.MaxBatchingWindow > 0 {
		source.MaxBatchingWindow = seconds(q.MaxBatchingWindow)
	}
	consumer.AddEventSource(awslambdaeventsources.NewSqsEventSource(queue, source))
	return &queuePair{Queue: queue, DLQ: dlq}
}

// newStream declares the event source mapping that feeds a topology
// stream's consumer the table's change records: only those of items whose
// partition key starts with a declared prefix (a filter, evaluated before
// the function is invoked and billed), from the latest position, in
// batches; a failing batch is split in two and retried from the first
// record the function reports failed, at most MaxRetries times, and what
// still fails is sent, as the records' stream positions, to a dead-letter
// queue of its own (the mapping grants the consumer's role SendMessage on
// it).
func newStream(scope constructs.Construct, sm topology.Stream, table awsdynamodb.Table, consumer awslambda.Function) awssqs.Queue {
	base := pascal(sm.Consumer)
	dlq := awssqs.NewQueue(scope, jsii.String(base+"StreamDeadLetterQueue"), &awssqs.QueueProps{
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		EnforceSSL:      jsii.Bool(true),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
	})
	awscdk.Tags_Of(dlq).Add(jsii.String(QueueTag), jsii.String(sm.Consumer+"-stream-dlq"), nil)
	nag(dlq, "AwsSolutions-SQS3", "This queue is itself a dead-letter queue: the stream's event source mapping sends the records it gave up on here (cdk-nag recognizes only queues named in another queue's redrive policy).")
	var prefixes []any
	for _, p := range sm.KeyPrefixes {
		prefixes = append(prefixes, map[string]any{"prefix": p})
	}
	filter := awslambda.FilterCriteria_Filter(&map[string]any{
		"dynamodb": map[string]any{"Keys": map[string]any{"pk": map[string]any{"S": prefixes}}},
	})
	props := &awslambda.EventSourceMappingProps{
		Target:                  consumer,
		EventSourceArn:          table.TableStreamArn(),
		StartingPosition:        awslambda.StartingPosition_LATEST,
		BatchSize:               jsii.Number(float64(sm.BatchSize)),
		BisectBatchOnError:      jsii.Bool(true),
		ReportBatchItemFailures: jsii.Bool(true),
		RetryAttempts:           jsii.Number(float64(sm.MaxRetries)),
		OnFailure:               awslambdaeventsources.NewSqsDlq(dlq),
		Filters:                 &[]*map[string]any{filter},
	}
	if sm.MaxBatchingWindow > 0 {
		props.MaxBatchingWindow = seconds(sm.MaxBatchingWindow)
	}
	awslambda.NewEventSourceMapping(scope, jsii.String(base+"StreamMapping"), props)
	// What Lambda's poller needs, on this table's stream only (CDK's
	// DynamoEventSource would grant dynamodb:ListStreams on every resource).
	consumer.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   strs(streamReadActions),
		Resources: &[]*string{table.TableStreamArn()},
	}))
	return dlq
}

// newSchedule declares an EventBridge rule invoking the function every
// s.Every. EventBridge rates are whole minutes (1 minute at least), so the
// rate is rounded up: a sub-minute schedule (fine locally) runs once a minute
// in AWS, never more often than declared.
//
// A sub-minute schedule (the waiting room's inlet) fires every minute with
// {"runFor":"55s"}: the function then ticks at its own interval for just
// under the minute, so the next invocation does not overlap it by much.
//
// A delivery EventBridge cannot make (the function throttled or missing)
// is retried, then parked in dlq, whose alarm says a tick was lost.
func newSchedule(scope constructs.Construct, s topology.Schedule, fn awslambda.Function, dlq awssqs.IQueue) {
	minutes := math.Max(1, math.Ceil(s.Every.Minutes()))
	props := &awseventstargets.LambdaFunctionProps{
		DeadLetterQueue: dlq,
		RetryAttempts:   jsii.Number(2),
		MaxEventAge:     awscdk.Duration_Minutes(jsii.Number(math.Max(1, minutes))),
	}
	if s.Every < time.Minute {
		props.Event = awsevents.RuleTargetInput_FromObject(map[string]any{"runFor": "55s"})
	}
	awsevents.NewRule(scope, jsii.String(pascal(s.Name)+"Schedule"), &awsevents.RuleProps{
		Schedule: awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(minutes))),
		Targets:  &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, props)},
	})
}

// newScheduleDLQ is the dead-letter queue of every schedule's target.
func newScheduleDLQ(scope constructs.Construct) awssqs.Queue {
	dlq := awssqs.NewQueue(scope, jsii.String("SchedulesDeadLetterQueue"), &awssqs.QueueProps{
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		EnforceSSL:      jsii.Bool(true),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
	})
	awscdk.Tags_Of(dlq).Add(jsii.String(QueueTag), jsii.String("schedules-dlq"), nil)
	nag(dlq, "AwsSolutions-SQS3", "This queue is itself a dead-letter queue: EventBridge parks schedule deliveries it could not make here (cdk-nag recognizes only queues named in another queue's redrive policy).")
	return dlq
}

// newStateMachine declares a Standard state machine from its ASL file, the
// same file the local Step Functions sidecar runs. Tasks name functions as
// ${Function_<name>}; CloudFormation substitutes their ARNs. Its role may
// invoke exactly those functions; it logs every event (without execution
// data: task tokens and payment ids stay out of the logs) and traces with
// X-Ray.
//
// The definition is inlined (DefinitionBody_FromString) rather than
// DefinitionBody_FromFile: FromFile uploads the file as an S3 asset, so the
// template would hold only a bucket/key, tests could not see the definition,
// and deploys would depend on the asset bucket for one small JSON file.
func newStateMachine(scope constructs.Construct, m topology.StateMachine, repo string, fns map[string]awslambda.Function, s Settings) awsstepfunctions.StateMachine {
	path := filepath.Join(repo, filepath.FromSlash(m.Definition))
	asl, err := os.ReadFile(path)
	if err != nil {
		panic(fmt.Sprintf("stack: state machine %q: %v", m.Name, err))
	}
	if !json.Valid(asl) {
		panic(fmt.Sprintf("stack: state machine %q: %s is not JSON", m.Name, path))
	}
	base := pascal(m.Name)
	subs := map[string]*string{}
	role := awsiam.NewRole(scope, jsii.String(base+"StateMachineRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("states.amazonaws.com"), nil),
		Description: jsii.String("StarArena " + m.Name + " workflow: invoke its task functions"),
	})
	var arns []*string
	for _, name := range m.Functions {
		subs["Function_"+name] = fns[name].FunctionArn()
		arns = append(arns, fns[name].FunctionArn())
	}
	if len(arns) > 0 {
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: &[]*string{jsii.String("lambda:InvokeFunction")}, Resources: &arns,
		}))
	}
	logs := awslogs.NewLogGroup(scope, jsii.String(base+"StateMachineLogs"), &awslogs.LogGroupProps{
		// Step Functions' log delivery keeps its resource policy small
		// under this prefix.
		LogGroupName: jsii.String("/aws/vendedlogs/states/" + stateMachineName(awscdk.Stack_Of(scope), m)),
		Retention:    retention(s),
		// Named, so a retained group would block the next stack of this name.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	sm := awsstepfunctions.NewStateMachine(scope, jsii.String(base+"StateMachine"), &awsstepfunctions.StateMachineProps{
		StateMachineName:        jsii.String(stateMachineName(awscdk.Stack_Of(scope), m)),
		StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(string(asl))),
		DefinitionSubstitutions: &subs,
		Role:                    role,
		TracingEnabled:          jsii.Bool(true),
		Logs: &awsstepfunctions.LogOptions{
			Destination:          logs,
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(false),
		},
	})
	dropRoleDependsOn(sm, role)
	nag(role, "AwsSolutions-IAM5", "Log delivery and X-Ray write actions do not support resource-level permissions; AWS documents Resource \"*\" for them.", "Resource::*")
	return sm
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

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
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

// siteURL is where fans open the site: the domain name when one is set,
// else the distribution's own name; nil without CloudFront.
func siteURL(s Settings, st site) *string {
	switch {
	case st.Distribution == nil:
		return nil
	case s.DomainName != "":
		return jsii.String("https://" + s.DomainName + "/")
	}
	return awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), st.Distribution.DistributionDomainName(), jsii.String("/")})
}
