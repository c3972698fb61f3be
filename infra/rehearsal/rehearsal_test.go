package rehearsal

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/stararena/stararena/infra/stack"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/topology"
)

const stackName = "StarArena"

// template is the part of the synthesized template the rehearsal reads.
type template struct {
	Resources map[string]struct {
		Type       string
		Metadata   map[string]any
		Properties map[string]any
	}
}

// deployed is the stack as moto's CloudFormation reports it, beside the
// template that was deployed.
type deployed struct {
	template template
	// byLogicalID is every resource moto lists in the stack.
	byLogicalID map[string]cfntypes.StackResourceSummary
}

// TestMainStackDeploysToMotoAsTheTopologyDeclares is the deploy rehearsal:
// the main stack goes through cdklocal bootstrap and deploy (one synth)
// into moto_server, and what CloudFormation created is read back through
// the services' own APIs and compared with the topology.
func TestMainStackDeploysToMotoAsTheTopologyDeclares(t *testing.T) {
	if testing.Short() {
		t.Skip("the deploy rehearsal synthesizes the CDK app (about a minute, 1 GB): not under -short")
	}
	root := testenv.RepoRoot(t)
	testenv.Tool(t, "node", "install Node.js 20 or later")
	testenv.Tool(t, filepath.Join(root, "node_modules", ".bin", "cdklocal"), "the pinned cdklocal: run npm ci or make deps")
	endpoint := testenv.Moto(t)
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()

	out := t.TempDir()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "moto-deploy.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "MOTO_ENDPOINT="+endpoint, "CDKLOCAL_OUT="+out)
	start := time.Now()
	if log, err := cmd.CombinedOutput(); err != nil {
		hint := ""
		if strings.Contains(string(log), MotoRefusesLoneUncreatedRef) {
			hint = "\n(a Ref of a resource moto does not create, resolved to nothing: give its type a Placeholder)"
		}
		t.Fatalf("scripts/moto-deploy.sh: %v\n%s%s", err, tail(string(log), 60), hint)
	}
	t.Logf("synth, bootstrap and deploy to moto: %s", time.Since(start).Round(time.Second))

	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	d := readStack(ctx, t, cloudformation.NewFromConfig(cfg), filepath.Join(out, stackName+".template.json"))
	topo := topology.Default()

	t.Run("EveryResourceMotoCanCreateIsCreated", func(t *testing.T) {
		inTemplate := map[string]bool{}
		for id, r := range d.template.Resources {
			inTemplate[r.Type] = true
			got, ok := d.byLogicalID[id]
			if reason, skipped := NotCreatedByMoto[r.Type]; skipped {
				if ok {
					t.Errorf("%s (%s) was created, but NotCreatedByMoto says %q: remove the entry", id, r.Type, reason)
				}
				continue
			}
			switch {
			case !ok:
				t.Errorf("%s (%s) is in the template but not in the stack moto created", id, r.Type)
			case got.ResourceStatus != cfntypes.ResourceStatusCreateComplete:
				t.Errorf("%s (%s): status %s", id, r.Type, got.ResourceStatus)
			}
		}
		for typ := range NotCreatedByMoto {
			if !inTemplate[typ] {
				t.Errorf("NotCreatedByMoto lists %s, which the template no longer declares", typ)
			}
		}
	})

	t.Run("Table", func(t *testing.T) {
		client := dynamodb.NewFromConfig(cfg)
		for _, want := range topo.Tables {
			name := d.physical(t, stack.ConstructID(want.LogicalName, "Table"))
			out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			if err != nil {
				t.Fatal(err)
			}
			tbl := out.Table
			if tbl.TableStatus != ddbtypes.TableStatusActive {
				t.Errorf("%s: status %s", name, tbl.TableStatus)
			}
			if tbl.BillingModeSummary == nil || tbl.BillingModeSummary.BillingMode != ddbtypes.BillingModePayPerRequest {
				t.Errorf("%s: billing %+v, want on demand", name, tbl.BillingModeSummary)
			}
			types := map[string]string{}
			for _, a := range tbl.AttributeDefinitions {
				types[aws.ToString(a.AttributeName)] = string(a.AttributeType)
			}
			checkKeys(t, name, tbl.KeySchema, types, want.PartitionKey, want.SortKey)
			var names []string
			for _, idx := range tbl.GlobalSecondaryIndexes {
				names = append(names, aws.ToString(idx.IndexName))
				i := slices.IndexFunc(want.Indexes, func(w topology.Index) bool { return w.Name == aws.ToString(idx.IndexName) })
				if i < 0 {
					continue
				}
				checkKeys(t, name+" "+want.Indexes[i].Name, idx.KeySchema, types, want.Indexes[i].PartitionKey, want.Indexes[i].SortKey)
				if idx.Projection == nil || idx.Projection.ProjectionType != ddbtypes.ProjectionTypeAll {
					t.Errorf("%s %s: projection %+v, want ALL", name, want.Indexes[i].Name, idx.Projection)
				}
			}
			var wantNames []string
			for _, w := range want.Indexes {
				wantNames = append(wantNames, w.Name)
			}
			slices.Sort(names)
			slices.Sort(wantNames)
			if !slices.Equal(names, wantNames) {
				t.Errorf("%s: indexes %v, topology %v", name, names, wantNames)
			}
		}
	})

	t.Run("Queues", func(t *testing.T) {
		client := sqs.NewFromConfig(cfg)
		fns := lambda.NewFromConfig(cfg)
		for _, want := range topo.Queues {
			attrs := func(construct string) map[string]string {
				url := d.physical(t, construct)
				out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
					AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
				if err != nil {
					t.Fatalf("%s: %v", construct, err)
				}
				return out.Attributes
			}
			queue, dlq := attrs(stack.ConstructID(want.Name, "Queue")), attrs(stack.ConstructID(want.Name, "DeadLetterQueue"))
			if got := queue["VisibilityTimeout"]; got != strconv.Itoa(int(want.VisibilityTimeout.Seconds())) {
				t.Errorf("%s: visibility timeout %s s, topology %s", want.Name, got, want.VisibilityTimeout)
			}
			var redrive struct {
				DeadLetterTargetArn string
				MaxReceiveCount     json.Number
			}
			if err := json.Unmarshal([]byte(queue["RedrivePolicy"]), &redrive); err != nil {
				t.Fatalf("%s: redrive policy %q: %v", want.Name, queue["RedrivePolicy"], err)
			}
			if redrive.DeadLetterTargetArn != dlq["QueueArn"] || redrive.MaxReceiveCount.String() != strconv.Itoa(want.MaxReceiveCount) {
				t.Errorf("%s: redrive %+v, want %s after %d receives", want.Name, redrive, dlq["QueueArn"], want.MaxReceiveCount)
			}

			maps, err := fns.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{EventSourceArn: aws.String(queue["QueueArn"])})
			if err != nil {
				t.Fatal(err)
			}
			if len(maps.EventSourceMappings) != 1 {
				t.Fatalf("%s: %d event source mappings, want 1", want.Name, len(maps.EventSourceMappings))
			}
			m := maps.EventSourceMappings[0]
			consumer, err := fns.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(d.physical(t, stack.ConstructID(want.Consumer, "Function")))})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(m.FunctionArn) != aws.ToString(consumer.Configuration.FunctionArn) {
				t.Errorf("%s: consumed by %s, topology %s", want.Name, aws.ToString(m.FunctionArn), want.Consumer)
			}
			if aws.ToInt32(m.BatchSize) != int32(want.BatchSize) ||
				aws.ToInt32(m.MaximumBatchingWindowInSeconds) != int32(want.MaxBatchingWindow.Seconds()) {
				t.Errorf("%s: batch %d within %d s, topology %d within %s", want.Name,
					aws.ToInt32(m.BatchSize), aws.ToInt32(m.MaximumBatchingWindowInSeconds), want.BatchSize, want.MaxBatchingWindow)
			}
			if len(m.FunctionResponseTypes) != 1 || m.FunctionResponseTypes[0] != "ReportBatchItemFailures" {
				t.Errorf("%s: response types %v, want partial batch failures", want.Name, m.FunctionResponseTypes)
			}
		}
	})

	t.Run("StateMachine", func(t *testing.T) {
		client := sfn.NewFromConfig(cfg)
		fns := lambda.NewFromConfig(cfg)
		for _, want := range topo.StateMachines {
			construct := stack.ConstructID(want.Name, "StateMachine")
			arn := d.physical(t, construct)
			out, err := client.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
			if err != nil {
				t.Fatal(err)
			}
			props := d.properties(t, construct)
			if out.Type != "STANDARD" {
				t.Errorf("%s: type %s, want STANDARD", want.Name, out.Type)
			}
			// In AWS the definition is the ASL file with each task's
			// function replaced by the ARN of the function deployed for it.
			asl := string(testenv.RepoFile(t, want.Definition))
			withARNs := asl
			substitutions := object(props, "DefinitionSubstitutions")
			for _, fn := range want.Functions {
				construct := stack.ConstructID(fn, "Function")
				got, err := fns.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(d.physical(t, construct))})
				if err != nil {
					t.Fatal(err)
				}
				withARNs = strings.ReplaceAll(withARNs, "${Function_"+fn+"}", aws.ToString(got.Configuration.FunctionArn))
				id, _ := d.logicalID(construct)
				wantSub := map[string]any{"Fn::GetAtt": []any{id, "Arn"}}
				if got := substitutions["Function_"+fn]; !jsonEqual(got, wantSub) {
					t.Errorf("%s: substitution Function_%s is %v, want %v", want.Name, fn, got, wantSub)
				}
			}
			if strings.Contains(withARNs, "${") {
				t.Errorf("%s: %s has a substitution variable the topology's functions do not fill", want.Name, want.Definition)
			}
			expect, other := withARNs, asl
			if _, ignored := IgnoredByMoto["AWS::StepFunctions::StateMachine.DefinitionSubstitutions"]; ignored {
				expect, other = asl, withARNs
			}
			switch got := aws.ToString(out.Definition); {
			case jsonEqual(got, other) && !jsonEqual(got, expect):
				t.Errorf("%s: moto's handling of DefinitionSubstitutions changed: update IgnoredByMoto", want.Name)
			case !jsonEqual(got, expect):
				t.Errorf("%s: deployed definition differs from %s:\n got %s", want.Name, want.Definition, got)
			}

			level := "OFF"
			if out.LoggingConfiguration != nil {
				level = string(out.LoggingConfiguration.Level)
			}
			wantLevel, _ := object(props, "LoggingConfiguration")["Level"].(string)
			tracing := out.TracingConfiguration != nil && out.TracingConfiguration.Enabled
			wantTracing, _ := object(props, "TracingConfiguration")["Enabled"].(bool)
			_, loggingIgnored := IgnoredByMoto["AWS::StepFunctions::StateMachine.LoggingConfiguration"]
			_, tracingIgnored := IgnoredByMoto["AWS::StepFunctions::StateMachine.TracingConfiguration"]
			if (level == wantLevel) == loggingIgnored {
				t.Errorf("%s: logging level %s, template %s (IgnoredByMoto lists it: %v)", want.Name, level, wantLevel, loggingIgnored)
			}
			if (tracing == wantTracing) == tracingIgnored {
				t.Errorf("%s: tracing %v, template %v (IgnoredByMoto lists it: %v)", want.Name, tracing, wantTracing, tracingIgnored)
			}
		}
	})

	// moto creates no secret from a template (NotCreatedByMoto); the
	// rehearsal shows that the template declares each one and that
	// Secrets Manager indeed holds none of them, rather than passing
	// silently.
	t.Run("SecretsAreDeclaredButNotCreatedByMoto", func(t *testing.T) {
		for _, s := range topology.KnownSecrets() {
			if _, ok := d.logicalID(stack.ConstructID(string(s), "")); !ok {
				t.Errorf("the template declares no secret for %s", s)
			}
		}
		out, err := secretsmanager.NewFromConfig(cfg).ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range out.SecretList {
			t.Errorf("moto created secret %s: NotCreatedByMoto's entry for AWS::SecretsManager::Secret is stale", aws.ToString(s.Name))
		}
	})
}

// readStack lists the stack's resources and reads the template that was
// deployed, from the cloud assembly of the same synth.
func readStack(ctx context.Context, t *testing.T, client *cloudformation.Client, path string) deployed {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := deployed{byLogicalID: map[string]cfntypes.StackResourceSummary{}}
	if err := json.Unmarshal(b, &d.template); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	p := cloudformation.NewListStackResourcesPaginator(client, &cloudformation.ListStackResourcesInput{StackName: aws.String(stackName)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.StackResourceSummaries {
			// moto lists a resource it skipped as an entry without id or type.
			if id := aws.ToString(r.LogicalResourceId); id != "" {
				d.byLogicalID[id] = r
			}
		}
	}
	return d
}

// logicalID finds the template resource of a top-level construct
// ("MainTable" for StarArena/MainTable/Resource).
func (d deployed) logicalID(construct string) (string, bool) {
	for id, r := range d.template.Resources {
		if r.Metadata["aws:cdk:path"] == stackName+"/"+construct+"/Resource" {
			return id, true
		}
	}
	return "", false
}

// properties is the template's properties of a construct's resource.
func (d deployed) properties(t *testing.T, construct string) map[string]any {
	t.Helper()
	id, ok := d.logicalID(construct)
	if !ok {
		t.Fatalf("the template has no resource for construct %s", construct)
	}
	return d.template.Resources[id].Properties
}

// object is a template property that is a JSON object (nil when absent).
func object(props map[string]any, key string) map[string]any {
	m, _ := props[key].(map[string]any)
	return m
}

// jsonEqual compares two JSON values, either decoded or as JSON text.
func jsonEqual(a, b any) bool {
	norm := func(v any) string {
		if s, ok := v.(string); ok {
			var decoded any
			if json.Unmarshal([]byte(s), &decoded) == nil {
				v = decoded
			}
		}
		out, _ := json.Marshal(v)
		return string(out)
	}
	return norm(a) == norm(b)
}

// physical is the physical id (name, URL or ARN) of the resource moto
// created for a construct.
func (d deployed) physical(t *testing.T, construct string) string {
	t.Helper()
	id, ok := d.logicalID(construct)
	if !ok {
		t.Fatalf("the template has no resource for construct %s", construct)
	}
	r, ok := d.byLogicalID[id]
	if !ok || aws.ToString(r.PhysicalResourceId) == "" {
		t.Fatalf("moto created no %s (%s)", construct, id)
	}
	return aws.ToString(r.PhysicalResourceId)
}

func checkKeys(t *testing.T, what string, schema []ddbtypes.KeySchemaElement, types map[string]string, pk, sk topology.Key) {
	t.Helper()
	want := []topology.Key{pk}
	if sk.Name != "" {
		want = append(want, sk)
	}
	if len(schema) != len(want) {
		t.Errorf("%s: key schema %+v, topology %+v", what, schema, want)
		return
	}
	for i, k := range want {
		role := ddbtypes.KeyTypeHash
		if i == 1 {
			role = ddbtypes.KeyTypeRange
		}
		got := schema[i]
		if aws.ToString(got.AttributeName) != k.Name || got.KeyType != role || types[k.Name] != string(k.Type) {
			t.Errorf("%s: key %s %s of type %s, topology %s %s of type %s", what,
				role, aws.ToString(got.AttributeName), types[aws.ToString(got.AttributeName)], role, k.Name, k.Type)
		}
	}
}

func tail(s string, lines int) string {
	all := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}
