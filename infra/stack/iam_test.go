package stack

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/payments"
	"github.com/stararena/stararena/internal/payments/providers"
	"github.com/stararena/stararena/internal/topology"
)

// dataPrefixes are the services whose actions touch StarArena's data or
// workflow; none of their statements may use a wildcard.
var dataPrefixes = []string{"dynamodb:", "states:", "secretsmanager:", "sqs:", "s3:", "kms:"}

func isDataAction(a string) bool {
	for _, p := range dataPrefixes {
		if strings.HasPrefix(a, p) {
			return true
		}
	}
	return false
}

// allowed is every action a function may take on a resource class, with the
// statements' conditions, keyed "action" -> statements that grant it.
func allowed(sts []Statement) map[string][]Statement {
	out := map[string][]Statement{}
	for _, st := range sts {
		if st.Effect != "Allow" {
			continue
		}
		for _, a := range st.Actions {
			out[a] = append(out[a], st)
		}
	}
	return out
}

// resourceString renders a resource (a string or an intrinsic) for matching.
func resourceString(r any) string {
	if s, ok := r.(string); ok {
		return s
	}
	b, _ := json.Marshal(r)
	return string(b)
}

func TestEveryFunctionHasItsOwnRoleWithNoWildcardOnData(t *testing.T) {
	// GIVEN every deployed function's policies
	policies := FunctionStatements(deployed)
	for _, f := range topology.Default().Functions {
		sts, ok := policies[f.Name]
		if !ok {
			t.Errorf("%s: no role or policy found", f.Name)
			continue
		}
		for _, st := range sts {
			for _, a := range st.Actions {
				// THEN no managed policy, no wildcard action on a data service
				if a == "managed-policy" {
					t.Errorf("%s: managed policy %v (own inline statements only)", f.Name, st.Resources)
				}
				if isDataAction(a) && strings.Contains(a, "*") {
					t.Errorf("%s: wildcard data action %q", f.Name, a)
				}
				if a == "*" {
					t.Errorf("%s: action *", f.Name)
				}
			}
			// AND no data statement on a wildcard resource
			if slices.ContainsFunc(st.Actions, isDataAction) {
				for _, r := range st.Resources {
					if rs := resourceString(r); rs == "*" || strings.HasSuffix(rs, "/*") || strings.Contains(rs, ":*") {
						t.Errorf("%s: %v on wildcard resource %s", f.Name, st.Actions, rs)
					}
				}
			}
		}
	}
	// AND the roles are distinct: no function borrows another's permissions
	roles := map[string]string{}
	for id, props := range properties(deployed, "AWS::Lambda::Function") {
		name := tag(props, FunctionTag)
		if name == "" {
			continue
		}
		role := getAtt(props["Role"])
		if other, dup := roles[role]; dup {
			t.Errorf("%s and %s share role %s", name, other, role)
		}
		roles[role] = name
		_ = id
	}
}

func TestDynamoDBActionsAreExactlyTheDeclaredAccess(t *testing.T) {
	policies := FunctionStatements(deployed)
	for _, f := range topology.Default().Functions {
		t.Run(f.Name, func(t *testing.T) {
			// GIVEN the function's declared table access
			a := f.Access.Table
			got := allowed(policies[f.Name])

			// THEN reads, single writes, batch writes and transactions match it
			has := func(action string, pred func(Statement) bool) bool {
				for _, st := range got[action] {
					if pred(st) {
						return true
					}
				}
				return false
			}
			onTable := func(st Statement) bool {
				for _, r := range st.Resources {
					if strings.Contains(resourceString(r), `"MainTable`) && !strings.Contains(resourceString(r), "/index/") {
						return true
					}
				}
				return false
			}
			unconditional := func(st Statement) bool { return onTable(st) && st.Condition == nil }
			transactional := func(st Statement) bool {
				return onTable(st) && strings.Contains(fmt.Sprint(st.Condition), "dynamodb:EnclosingOperation:[TransactWriteItems]")
			}
			leading := func(st Statement) bool {
				return onTable(st) && strings.Contains(fmt.Sprint(st.Condition), "dynamodb:LeadingKeys")
			}
			for _, action := range readActions {
				if has(action, unconditional) != a.Read {
					t.Errorf("%s: declared Read=%v", action, a.Read)
				}
			}
			for _, action := range writeActions {
				wantFree := a.Write && len(a.WritePrefixes) == 0
				if has(action, unconditional) != wantFree {
					t.Errorf("%s anywhere: want %v", action, wantFree)
				}
				wantLeading := a.Write && len(a.WritePrefixes) > 0
				if has(action, leading) != wantLeading {
					t.Errorf("%s limited by leading keys: want %v", action, wantLeading)
				}
				if has(action, transactional) != a.Transact {
					t.Errorf("%s inside transactions: want %v", action, a.Transact)
				}
			}
			// AND a function whose writes are scoped by prefixes has them
			// on the items of its transactions too
			if a.Transact && len(a.WritePrefixes) > 0 {
				for _, action := range transactActions {
					for _, st := range got[action] {
						if transactional(st) && !leading(st) {
							t.Errorf("%s inside transactions without the write prefixes", action)
						}
					}
				}
			}
			if has("dynamodb:ConditionCheckItem", transactional) != a.Transact {
				t.Errorf("ConditionCheckItem: want %v", a.Transact)
			}
			// AND a transaction may delete held-seat markers, nothing else
			for _, st := range got["dynamodb:DeleteItem"] {
				keys := fmt.Sprint(st.Condition)
				if !transactional(st) || !strings.Contains(keys, "dynamodb:LeadingKeys:["+dynamo.PrefixHeldSeat+"*]") {
					t.Errorf("DeleteItem with condition %v, want only %s* inside transactions", st.Condition, dynamo.PrefixHeldSeat)
				}
			}
			// (a function whose writes are scoped by prefixes deletes nothing)
			if wantDelete := a.Transact && len(a.WritePrefixes) == 0; len(got["dynamodb:DeleteItem"]) > 0 != wantDelete {
				t.Errorf("DeleteItem (held-seat markers in transactions): want %v", wantDelete)
			}
			if len(got["dynamodb:BatchWriteItem"]) > 0 != a.BatchWrite {
				t.Errorf("BatchWriteItem: want %v", a.BatchWrite)
			}
			// AND no function may scan or manage the table
			for action := range got {
				switch action {
				case "dynamodb:Scan", "dynamodb:DeleteTable", "dynamodb:UpdateTable", "dynamodb:PartiQLUpdate",
					"dynamodb:PartiQLDelete", "dynamodb:PartiQLInsert", "dynamodb:TransactGetItems":
					t.Errorf("unexpected %s", action)
				}
			}
			// AND the write prefixes are the declared ones, as IAM patterns
			if len(a.WritePrefixes) > 0 {
				var want []string
				for _, p := range a.WritePrefixes {
					want = append(want, p+"*")
				}
				for _, st := range got["dynamodb:PutItem"] {
					if !leading(st) {
						continue
					}
					cond := st.Condition["ForAllValues:StringLike"].(map[string]any)["dynamodb:LeadingKeys"]
					if gotKeys := stringList(cond); !slices.Equal(gotKeys, want) {
						t.Errorf("leading keys %v, want %v", gotKeys, want)
					}
				}
			}
			// AND index queries name exactly the declared indexes
			var indexes []string
			for _, st := range got["dynamodb:Query"] {
				for _, r := range st.Resources {
					rs := resourceString(r)
					if i := strings.Index(rs, "/index/"); i >= 0 {
						indexes = append(indexes, strings.TrimRight(rs[i+len("/index/"):], `"]}`))
					}
				}
			}
			sort.Strings(indexes)
			want := slices.Clone(a.Indexes)
			sort.Strings(want)
			if !slices.Equal(indexes, want) {
				t.Errorf("queries indexes %v, want %v", indexes, want)
			}
		})
	}
}

func TestPublicReadFunctionsCannotWriteSeatsOrdersOrMoney(t *testing.T) {
	// GIVEN the catalog and queue functions' statements
	policies := FunctionStatements(deployed)
	for _, name := range []string{"catalog", "queue"} {
		for _, st := range policies[name] {
			for _, a := range st.Actions {
				switch a {
				case "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem":
					// THEN every write they have is limited to EVENT# partitions
					keys := fmt.Sprint(st.Condition)
					if !strings.Contains(keys, "dynamodb:LeadingKeys:[EVENT#*]") {
						t.Errorf("%s: %s with condition %v, want only EVENT#*", name, a, st.Condition)
					}
				case "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "states:StartExecution", "states:SendTaskSuccess":
					t.Errorf("%s: %s", name, a)
				}
			}
		}
	}
}

func TestOnlyTheWorkflowDriversCanStartOrResumeExecutions(t *testing.T) {
	// GIVEN each function's statements and declared workflow access
	policies := FunctionStatements(deployed)
	smArn := fmt.Sprintf("stateMachine:%s-%s", MainStackID, topology.OrderWorkflow)
	for _, f := range topology.Default().Functions {
		got := allowed(policies[f.Name])
		w := f.Access.Workflow
		check := func(action string, want bool) {
			sts := got[action]
			if (len(sts) > 0) != want {
				t.Errorf("%s: %s granted=%v, declared %v", f.Name, action, len(sts) > 0, want)
			}
			// THEN the grant names the order state machine and nothing else
			for _, st := range sts {
				for _, r := range st.Resources {
					if !strings.Contains(resourceString(r), smArn) {
						t.Errorf("%s: %s on %s", f.Name, action, resourceString(r))
					}
				}
			}
		}
		check("states:StartExecution", w.Start)
		check("states:SendTaskSuccess", w.Callback)
		check("states:SendTaskFailure", w.Callback)
		// AND the functions that drive it know its ARN, the others do not
		hasEnv := functionEnv(t, f.Name)["STATE_MACHINE_ARN"] != nil
		if hasEnv != (w.Start || w.Callback) {
			t.Errorf("%s: STATE_MACHINE_ARN set=%v", f.Name, hasEnv)
		}
	}
}

// keyringReaders are, per keyring, the functions whose role may read it:
// those that sign or verify with it (the access test proves each declared
// keyring is one the function's code can reach).
var keyringReaders = map[topology.Secret][]string{
	topology.SecretAdmissionKeys: {"admission", "holds"},
	topology.SecretTicketKeys:    {"admin", "orders", "checkin", "reconciler", "mailer"},
}

func TestSecretsAreReadOnlyByTheirDeclaredFunctions(t *testing.T) {
	policies := FunctionStatements(deployed)
	keyrings := []struct {
		secret   topology.Secret
		idPrefix string // the secret's logical id
		variable string
	}{
		{topology.SecretAdmissionKeys, "AdmissionKeys", "ADMISSION_KEYS_SECRET_ARN"},
		{topology.SecretTicketKeys, "TicketKeys", "TICKET_KEYS_SECRET_ARN"},
	}
	for _, f := range topology.Default().Functions {
		env := functionEnv(t, f.Name)
		for _, k := range keyrings {
			// THEN exactly the functions that use a keyring declare it
			if want := slices.Contains(keyringReaders[k.secret], f.Name); slices.Contains(f.Access.Secrets, k.secret) != want {
				t.Errorf("%s: declares %s %v, want %v", f.Name, k.secret, !want, want)
			}
		}
		var read []string
		for _, st := range allowed(policies[f.Name])["secretsmanager:GetSecretValue"] {
			for _, r := range st.Resources {
				read = append(read, resourceString(r))
			}
		}
		for _, k := range keyrings {
			declared := slices.Contains(f.Access.Secrets, k.secret)
			granted := slices.ContainsFunc(read, func(r string) bool { return strings.Contains(r, `"`+k.idPrefix) })
			// THEN a keyring is readable and named exactly where declared
			if granted != declared || (env[k.variable] != nil) != declared {
				t.Errorf("%s: %s granted=%v %s set=%v, declared=%v", f.Name, k.secret, granted, k.variable, env[k.variable] != nil, declared)
			}
		}
		// AND the origin proof is read, and named, exactly by the functions
		// behind CDN routes and the consumers of the queues they feed
		checks := slices.Contains(topology.Default().OriginProofReaders(), f.Name)
		reads := slices.ContainsFunc(read, func(r string) bool { return strings.Contains(r, `"OriginProof`) })
		if reads != checks || (env["ORIGIN_PROOF_SECRET_ARN"] != nil) != checks {
			t.Errorf("%s: may read the origin proof %v, ORIGIN_PROOF_SECRET_ARN set %v; checks it %v", f.Name, reads, env["ORIGIN_PROOF_SECRET_ARN"] != nil, checks)
		}
		// AND each payment credential is a secret of its own, read at run
		// time by exactly the functions whose payment access uses it (the
		// webhook secret only where webhooks are verified), named by
		// <VARIABLE>_SECRET_ARN
		for _, d := range providers.Deployable() {
			on := testSettings.Payments[d.Name].On
			for _, st := range d.Settings {
				if !st.Secret || !st.Deployed() {
					continue
				}
				uses := on && (f.Access.Payments == topology.PaymentsWebhooks ||
					f.Access.Payments == topology.PaymentsCall && st.Use == payments.UseCalls)
				reads := slices.ContainsFunc(read, func(r string) bool { return strings.Contains(r, `"`+providerSecretID(d, st)) })
				if reads != uses || (env[st.SecretEnv()] != nil) != uses {
					t.Errorf("%s: may read the %s secret %v, %s set %v; payment access %q", f.Name, st.Env, reads, st.SecretEnv(), env[st.SecretEnv()] != nil, f.Access.Payments)
				}
			}
			for _, st := range d.Settings {
				// THEN no secret setting is a variable, and a non-secret
				// one is set exactly where the provider is used for it
				want := on && !st.Secret && st.Deployed() && (f.Access.Payments == topology.PaymentsWebhooks ||
					f.Access.Payments == topology.PaymentsCall && st.Use == payments.UseCalls)
				if got := env[st.Env] != nil; got != want {
					t.Errorf("%s: %s set=%v, payment access %q", f.Name, st.Env, got, f.Access.Payments)
				}
			}
		}
	}
	// AND the checkers include the webhook, the purchase path and the
	// join queue's consumer, and no staff-only function
	readers := topology.Default().OriginProofReaders()
	for _, fn := range []string{"catalog", "holds", "webhooks", "assigner"} {
		if !slices.Contains(readers, fn) {
			t.Errorf("origin proof readers %v lack %s", readers, fn)
		}
	}
	if slices.Contains(readers, "reconciler") {
		t.Errorf("origin proof readers %v include the staff-only reconciler", readers)
	}
	// AND no variable of any function is a Secrets Manager reference
	for _, f := range topology.Default().Functions {
		for k, v := range functionEnv(t, f.Name) {
			if strings.Contains(resourceString(v), "resolve:secretsmanager") {
				t.Errorf("%s: %s resolves a secret into the environment", f.Name, k)
			}
		}
	}
}

func TestStripeVariablesKeepTheirDeployedShape(t *testing.T) {
	// GIVEN Stripe on (the test context)
	callers := []string{"admin", "orders", "webhooks", "reconciler", "confirm-payment"}
	for _, f := range topology.Default().Functions {
		env := functionEnv(t, f.Name)
		// THEN the functions that call Stripe get the API key's secret, the
		// webhook receiver alone the webhook secret's, and none the API
		// key, the webhook secret or the stripe-mock URL themselves
		key, hook := env["STRIPE_API_KEY_SECRET_ARN"], env["STRIPE_WEBHOOK_SECRET_SECRET_ARN"]
		if (key != nil) != slices.Contains(callers, f.Name) || (hook != nil) != (f.Name == "webhooks") {
			t.Errorf("%s: STRIPE_API_KEY_SECRET_ARN %v, STRIPE_WEBHOOK_SECRET_SECRET_ARN %v", f.Name, key != nil, hook != nil)
		}
		if env["STRIPE_SECRET_ARN"] != nil || env["STRIPE_API_KEY"] != nil || env["STRIPE_WEBHOOK_SECRET"] != nil || env["STRIPE_API_BASE"] != nil {
			t.Errorf("%s: STRIPE_SECRET_ARN %v, STRIPE_API_KEY %v, STRIPE_WEBHOOK_SECRET %v, STRIPE_API_BASE %v", f.Name,
				env["STRIPE_SECRET_ARN"] != nil, env["STRIPE_API_KEY"] != nil, env["STRIPE_WEBHOOK_SECRET"] != nil, env["STRIPE_API_BASE"] != nil)
		}
		// AND each names its own secret
		if key != nil && !strings.Contains(resourceString(key), `"StripeApiKey`) {
			t.Errorf("%s: STRIPE_API_KEY_SECRET_ARN = %s", f.Name, resourceString(key))
		}
		if hook != nil && !strings.Contains(resourceString(hook), `"StripeWebhookSecret`) {
			t.Errorf("%s: STRIPE_WEBHOOK_SECRET_SECRET_ARN = %s", f.Name, resourceString(hook))
		}
	}
	// AND the two credentials are two secrets
	if n := len(*deployed.FindResources(jsii.String("AWS::SecretsManager::Secret"), nil)); n < 2 {
		t.Fatalf("%d secrets", n)
	}
	for _, id := range []string{"StripeApiKey", "StripeWebhookSecret"} {
		if len(secretIDs(id)) != 1 {
			t.Errorf("secrets named %s: %v", id, secretIDs(id))
		}
	}
}

// secretIDs are the logical ids of the deployed secrets starting with prefix.
func secretIDs(prefix string) []string {
	var out []string
	for id := range *deployed.FindResources(jsii.String("AWS::SecretsManager::Secret"), nil) {
		if strings.HasPrefix(id, prefix) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func TestEveryFunctionReadsOnlyItsOwnSecrets(t *testing.T) {
	// GIVEN each function's secrets: its declared keyrings, the origin
	// proof where it checks it, and the payment credentials its access uses
	policies := FunctionStatements(deployed)
	for _, f := range topology.Default().Functions {
		want := map[string]bool{}
		for _, k := range f.Access.Secrets {
			want[map[topology.Secret]string{topology.SecretAdmissionKeys: "AdmissionKeys", topology.SecretTicketKeys: "TicketKeys"}[k]] = true
		}
		if slices.Contains(topology.Default().OriginProofReaders(), f.Name) {
			want["OriginProof"] = true
		}
		if f.Access.Payments != topology.PaymentsNone {
			want["StripeApiKey"] = true
		}
		if f.Access.Payments == topology.PaymentsWebhooks {
			want["StripeWebhookSecret"] = true
		}
		// WHEN the resources its role may call GetSecretValue on are read
		got := map[string]bool{}
		for _, st := range allowed(policies[f.Name])["secretsmanager:GetSecretValue"] {
			for _, r := range st.Resources {
				ref, _ := r.(map[string]any)["Ref"].(string)
				var secret string
				for _, id := range []string{"AdmissionKeys", "TicketKeys", "OriginProof", "StripeApiKey", "StripeWebhookSecret"} {
					if slices.Contains(secretIDs(id), ref) {
						secret = id
					}
				}
				// THEN each is one of its own secrets, by reference: no
				// wildcard, no other secret
				if secret == "" || !want[secret] {
					t.Errorf("%s may read %s", f.Name, resourceString(r))
				}
				got[secret] = true
			}
		}
		// AND it may read every one of them
		for id := range want {
			if !got[id] {
				t.Errorf("%s may not read %s", f.Name, id)
			}
		}
	}
}

func TestThePurchasePathHasReservedConcurrency(t *testing.T) {
	// GIVEN the functions with reserved concurrency in the topology
	for _, f := range topology.Default().Functions {
		props := functionProps(t, f.Name)
		got := props["ReservedConcurrentExecutions"]
		// THEN the template reserves exactly that (holds: 200), and no other
		if f.ReservedConcurrency > 0 {
			if n, _ := got.(float64); int(n) != f.ReservedConcurrency {
				t.Errorf("%s: ReservedConcurrentExecutions %v, want %d", f.Name, got, f.ReservedConcurrency)
			}
		} else if got != nil {
			t.Errorf("%s: unexpected ReservedConcurrentExecutions %v", f.Name, got)
		}
	}
	if h, _ := topology.Default().Function("holds"); h.ReservedConcurrency == 0 {
		t.Error("holds has no reserved concurrency")
	}
}

func TestFunctionsCarryTheirConfiguration(t *testing.T) {
	// GIVEN the deployment settings and the topology's Env declarations
	for _, f := range topology.Default().Functions {
		env := functionEnv(t, f.Name)
		// THEN every function knows its table and log level
		for _, k := range []string{"TABLE_NAME", "LOG_LEVEL"} {
			if env[k] == nil {
				t.Errorf("%s: no %s", f.Name, k)
			}
		}
		// AND each declared setting is there with the deployed value
		for _, name := range f.Env {
			want, _ := testSettings.envValue(name)
			if got, _ := env[name].(string); got != want {
				t.Errorf("%s: %s=%q, want %q", f.Name, name, got, want)
			}
		}
		// AND no endpoint override leaks into an AWS deployment
		if env["AWS_ENDPOINT_URL"] != nil {
			t.Errorf("%s: AWS_ENDPOINT_URL set without endpointUrl context", f.Name)
		}
	}
	inlet := functionEnv(t, "inlet")
	for k, want := range map[string]string{"INLET_EVERY": "2s", "ADMISSION_TTL": "10m0s", "HEALTH_HOLD_P99": "1s"} {
		if inlet[k] != want {
			t.Errorf("inlet: %s=%v, want %s", k, inlet[k], want)
		}
	}
}

func TestStateMachineRoleInvokesOnlyItsTasks(t *testing.T) {
	// GIVEN the order workflow's role
	var sts []Statement
	for id, props := range properties(deployed, "AWS::IAM::Policy") {
		if strings.HasPrefix(id, "OrderStateMachineRole") {
			doc, _ := props["PolicyDocument"].(map[string]any)
			sts = append(sts, statements(doc)...)
		}
	}
	tasks := map[string]bool{}
	for _, name := range topology.Default().StateMachines[0].Functions {
		tasks[pascal(name)+"Function"] = true
	}
	invoked := map[string]bool{}
	for _, st := range sts {
		if !slices.Contains(st.Actions, "lambda:InvokeFunction") {
			continue
		}
		for _, r := range st.Resources {
			id := getAtt(r)
			// THEN it invokes exactly the unqualified task functions
			if id == "" {
				t.Errorf("invoke on %s (want exact function ARNs)", resourceString(r))
				continue
			}
			for task := range tasks {
				if strings.HasPrefix(id, task) {
					invoked[task] = true
				}
			}
		}
	}
	if len(invoked) != len(tasks) {
		t.Errorf("invokes %v, want %v", invoked, tasks)
	}
	// AND it logs every event and traces, under a named log group
	expect(t, func() {
		deployed.HasResourceProperties(jsii.String("AWS::StepFunctions::StateMachine"), map[string]any{
			"StateMachineName":     MainStackID + "-" + topology.OrderWorkflow,
			"TracingConfiguration": map[string]any{"Enabled": true},
			"LoggingConfiguration": assertions.Match_ObjectLike(&map[string]any{"Level": "ALL", "IncludeExecutionData": false}),
		})
	})
}

// functionProps returns the Properties of the function tagged name.
func functionProps(t *testing.T, name string) map[string]any {
	t.Helper()
	for _, props := range properties(deployed, "AWS::Lambda::Function") {
		if tag(props, FunctionTag) == name {
			return props
		}
	}
	t.Fatalf("no function tagged %s", name)
	return nil
}

// functionEnv returns the function's environment variables.
func functionEnv(t *testing.T, name string) map[string]any {
	t.Helper()
	env, _ := functionProps(t, name)["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	return vars
}

// equalJSON compares two template values by their JSON form.
func equalJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}
