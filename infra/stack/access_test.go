package stack

import (
	"fmt"
	"go/constant"
	"go/types"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"golang.org/x/tools/go/callgraph/cha"
	"golang.org/x/tools/go/callgraph/vta"
	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/go/ssa"
	"golang.org/x/tools/go/ssa/ssautil"

	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/topology"
)

// entryPoints are, per function, the code a Lambda of that name runs: its
// HTTP handlers (the constructor's handler closures), its task, its batch
// or schedule handler. A new function in the topology needs a line here.
var entryPoints = map[string][]string{
	"catalog":           {"handlers.Catalog"},
	"admin":             {"handlers.Admin"},
	"admission":         {"handlers.Admission"},
	"holds":             {"handlers.Holds"},
	"orders":            {"handlers.Orders"},
	"checkin":           {"handlers.CheckIn"},
	"webhooks":          {"handlers.Webhooks"},
	"queue":             {"handlers.Queue"},
	"reconciler":        {"handlers.Reconcile", "(*reconcile.Service).RunAll"},
	"await-payment":     {"(*workflow.Tasks).Await"},
	"confirm-payment":   {"(*workflow.Tasks).Confirm"},
	"release-hold":      {"(*workflow.Tasks).Release"},
	"issue-tickets":     {"(*workflow.Tasks).Issue"},
	"mark-issue-failed": {"(*workflow.Tasks).IssueFailed"},
	"assigner":          {"(*waitroom.Service).Assign"},
	"inlet":             {"(*waitroom.Service).TickAll"},
	"mailer":            {"(*mail.Mailer).HandleBatch"},
	"projector":         {"(*projector.Projector).HandleStream"},
}

// startups are what a function runs before serving: a Lambda's
// app.FromEnv, and app.New, which the local stack runs and which builds
// every service besides.
var startups = []string{"app.FromEnv", "app.New"}

// keyringUses are the methods through which the code reads a signing
// keyring (on first use, then after a TTL): a function whose code can
// reach one needs that keyring's secret, and no other function may read it.
var keyringUses = map[string]topology.Secret{
	"(*admission.Tokens).current": topology.SecretAdmissionKeys,
	"(*tickets.Codec).current":    topology.SecretTicketKeys,
}

// TestDeclaredAccessMatchesWhatTheCodeCalls checks the topology's access
// declarations against the code: it builds a call graph of the module
// (SSA, variable type analysis; dependencies without bodies), walks it from
// each function's entry points, and collects the AWS SDK operations it can
// reach (DynamoDB, Step Functions, Secrets Manager) and the index names it
// uses. Every reachable call must be declared (or the function fails in
// AWS with AccessDenied) and every declared capability must be reachable
// (or the role is broader than the code). Closures are followed where they
// are created, so callbacks run inside libraries count too.
//
// A function whose writes are scoped by WritePrefixes may reach only store
// methods whose single-item writes (dynamo.SingleItemWrites) stay within
// them, and every store method that can write outside a transaction must
// be listed there (keys_test.go in internal/dynamo holds the list to what
// the methods send). The keyrings a function declares are those whose use
// (keyringUses) its code can reach.
func TestDeclaredAccessMatchesWhatTheCodeCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("call-graph analysis skipped in -short mode")
	}
	const mod = "github.com/stararena/stararena/internal/"
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes |
			packages.NeedTypesInfo | packages.NeedImports | packages.NeedTypesSizes,
		Dir: RepoRoot(),
	}
	pkgs, err := packages.Load(cfg, "./internal/...", "./functions/...")
	if err != nil {
		t.Fatal(err)
	}
	if n := packages.PrintErrors(pkgs); n > 0 {
		t.Fatalf("%d package errors", n)
	}
	prog, _ := ssautil.Packages(pkgs, ssa.InstantiateGenerics)
	prog.Build()
	all := ssautil.AllFunctions(prog)
	graph := vta.CallGraph(all, cha.CallGraph(prog))
	byName := map[string]*ssa.Function{}
	for f := range all {
		byName[strings.ReplaceAll(f.String(), mod, "")] = f
	}
	indexes := map[string]bool{}
	for _, tb := range topology.Default().Tables {
		for _, ix := range tb.Indexes {
			indexes[ix.Name] = true
		}
	}
	reachFuncs := func(roots []string) (map[string]bool, map[*ssa.Function]bool) {
		ops := map[string]bool{}
		seen := map[*ssa.Function]bool{}
		var stack []*ssa.Function
		for _, r := range roots {
			f := byName[r]
			if f == nil {
				t.Fatalf("entry point %s not found", r)
			}
			stack = append(stack, f)
		}
		for len(stack) > 0 {
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[f] {
				continue
			}
			seen[f] = true
			if op := sdkOperation(f); op != "" {
				ops[op] = true
			}
			if f.Blocks == nil {
				continue // no body: a dependency
			}
			if node := graph.Nodes[f]; node != nil {
				for _, e := range node.Out {
					stack = append(stack, e.Callee.Func)
				}
			}
			for _, b := range f.Blocks {
				for _, ins := range b.Instrs {
					if mc, ok := ins.(*ssa.MakeClosure); ok {
						stack = append(stack, mc.Fn.(*ssa.Function))
					}
					for _, v := range ins.Operands(nil) {
						if c, ok := (*v).(*ssa.Const); ok && c.Value != nil && c.Value.Kind() == constant.String &&
							indexes[constant.StringVal(c.Value)] {
							ops["index:"+constant.StringVal(c.Value)] = true
						}
					}
				}
			}
			stack = append(stack, f.AnonFuncs...)
		}
		return ops, seen
	}
	reach := func(roots []string) map[string]bool {
		ops, _ := reachFuncs(roots)
		return ops
	}

	// GIVEN every store method of the DynamoDB adapter
	singleWrites := dynamo.SingleItemWrites()
	storeMethod := regexp.MustCompile(`^\(\*dynamo\.([A-Za-z]+Store)\)\.([A-Z][A-Za-z]*)$`)
	for name := range byName {
		m := storeMethod.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		// WHEN one can write outside a transaction
		ops := reach([]string{name})
		writes := ops["dynamodb:PutItem"] || ops["dynamodb:UpdateItem"] || ops["dynamodb:BatchWriteItem"]
		// THEN SingleItemWrites lists its partitions
		if key := "(*" + m[1] + ")." + m[2]; writes && singleWrites[key] == nil {
			t.Errorf("%s writes outside transactions but dynamo.SingleItemWrites does not list it", key)
		}
	}

	// GIVEN the start-up path every function runs, which reads no keyring:
	// the keyrings are read where the code first signs or verifies
	for use := range keyringUses {
		if byName[use] == nil {
			t.Fatalf("keyring use %s not found: keyringUses is stale", use)
		}
	}
	for _, startup := range startups {
		_, boot := reachFuncs([]string{startup})
		for fn := range boot {
			if use := strings.ReplaceAll(fn.String(), mod, ""); keyringUses[use] != "" {
				t.Errorf("%s reaches %s: start-up reads a keyring every function would need", startup, use)
			}
		}
	}
	for _, f := range topology.Default().Functions {
		t.Run(f.Name, func(t *testing.T) {
			roots, ok := entryPoints[f.Name]
			if !ok {
				t.Fatalf("no entry points for %s: add them to entryPoints", f.Name)
			}
			// WHEN its handlers' reachable AWS calls are collected
			ops, fns := reachFuncs(roots)
			got, unknown := capabilities(ops)
			want, _ := capabilities(declaredOps(f))
			// THEN they need exactly the declared capabilities
			var missing, extra []string
			for c := range got {
				if !want[c] {
					missing = append(missing, c)
				}
			}
			for c := range want {
				if !got[c] {
					extra = append(extra, c)
				}
			}
			sort.Strings(missing)
			sort.Strings(extra)
			if len(unknown) > 0 {
				t.Errorf("the code calls %v, which no access declaration can grant", unknown)
			}
			if len(missing) > 0 {
				t.Errorf("the code needs %v, which the topology does not declare (AccessDenied in AWS)", missing)
			}
			if len(extra) > 0 {
				t.Errorf("the topology declares %v, which the code never uses (a broader role than needed)", extra)
			}
			// AND the store methods it reaches write only where its
			// WritePrefixes (IAM dynamodb:LeadingKeys) allow
			if allowed := f.Access.Table.WritePrefixes; len(allowed) > 0 {
				for fn := range fns {
					m := storeMethod.FindStringSubmatch(strings.ReplaceAll(fn.String(), mod, ""))
					if m == nil {
						continue
					}
					key := "(*" + m[1] + ")." + m[2]
					for _, p := range singleWrites[key] {
						if !slices.Contains(allowed, p) {
							t.Errorf("%s writes %s items, which WritePrefixes %v do not allow", key, p, allowed)
						}
					}
				}
			}
			// AND it declares exactly the keyrings its code can reach a use of
			uses := map[topology.Secret]bool{}
			for fn := range fns {
				if sec, ok := keyringUses[strings.ReplaceAll(fn.String(), mod, "")]; ok {
					uses[sec] = true
				}
			}
			for _, sec := range topology.KnownSecrets() {
				if declared := slices.Contains(f.Access.Secrets, sec); declared != uses[sec] {
					t.Errorf("%s: its code reaches a use of %s: %v; declares it: %v", f.Name, sec, uses[sec], declared)
				}
			}
		})
	}
}

// awsjsonClients are the clients of internal/awsjson, which calls a few
// operations without the SDK's service clients, by the SDK's service
// package they stand in for (WAF's are not checked here: BotLevel is).
var awsjsonClients = map[string]string{"SQS": "sqs", "SecretsManager": "secretsmanager"}

// sdkOperation names the AWS operation a function is, if it is one:
// "dynamodb:GetItem" for (*dynamodb.Client).GetItem, "dynamodb:Query" for
// dynamodb.NewQueryPaginator, "sqs:SendMessage" for
// (*awsjson.SQS).SendMessage.
func sdkOperation(f *ssa.Function) string {
	pkg := f.Pkg
	var path string
	if recv := f.Signature.Recv(); recv != nil {
		named, ok := types.Unalias(derefType(recv.Type())).(*types.Named)
		if !ok || named.Obj().Pkg() == nil {
			return ""
		}
		path = named.Obj().Pkg().Path()
		if svc, ok := awsjsonClients[named.Obj().Name()]; ok && path == "github.com/stararena/stararena/internal/awsjson" {
			path = "github.com/aws/aws-sdk-go-v2/service/" + svc
		} else if named.Obj().Name() != "Client" {
			return ""
		}
	} else if pkg != nil && pkg.Pkg != nil {
		path = pkg.Pkg.Path()
	} else if f.Object() != nil && f.Object().Pkg() != nil {
		path = f.Object().Pkg().Path()
	}
	service, ok := strings.CutPrefix(path, "github.com/aws/aws-sdk-go-v2/service/")
	if !ok || !slices.Contains([]string{"dynamodb", "sfn", "secretsmanager", "sqs", "sesv2"}, service) {
		return ""
	}
	name := f.Name()
	if f.Signature.Recv() == nil {
		op, ok := strings.CutPrefix(name, "New")
		if !ok || !strings.HasSuffix(op, "Paginator") {
			return ""
		}
		name = strings.TrimSuffix(op, "Paginator")
	}
	if name == "" || !isUpper(name[0]) || name == "Options" {
		return ""
	}
	switch service {
	case "sfn":
		service = "states"
	case "sesv2":
		service = "ses" // IAM's prefix for both SES APIs
	}
	return service + ":" + name
}

func derefType(t types.Type) types.Type {
	if p, ok := t.(*types.Pointer); ok {
		return p.Elem()
	}
	return t
}

func isUpper(b byte) bool { return b >= 'A' && b <= 'Z' }

// declaredOps is the set of operations a function's access declares, in
// sdkOperation's terms.
func declaredOps(f topology.Function) map[string]bool {
	ops := map[string]bool{}
	a := f.Access.Table
	if a.Read {
		ops["dynamodb:GetItem"], ops["dynamodb:BatchGetItem"] = true, true
	}
	if a.Read || len(a.Indexes) > 0 {
		ops["dynamodb:Query"] = true
	}
	if a.Write {
		ops["dynamodb:PutItem"], ops["dynamodb:UpdateItem"] = true, true
	}
	if a.BatchWrite {
		ops["dynamodb:BatchWriteItem"] = true
	}
	if a.Transact {
		ops["dynamodb:TransactWriteItems"] = true
	}
	for _, ix := range a.Indexes {
		ops["index:"+ix] = true
	}
	if f.Access.Workflow.Start {
		ops["states:StartExecution"] = true
	}
	if f.Access.Workflow.Callback {
		ops["states:SendTaskSuccess"] = true
	}
	if len(f.Access.SendTo) > 0 {
		ops["sqs:SendMessage"] = true
	}
	if f.Access.Email {
		ops["ses:SendEmail"] = true
	}
	return ops
}

// capabilities maps operations to the topology's access capabilities
// (Read, Write, BatchWrite, Transact, each index, Start, Callback); unknown
// lists operations no declaration grants.
func capabilities(ops map[string]bool) (caps map[string]bool, unknown []string) {
	caps = map[string]bool{}
	for op := range ops {
		switch {
		case op == "dynamodb:GetItem", op == "dynamodb:BatchGetItem", op == "dynamodb:Query":
			caps["Read"] = true
		case op == "dynamodb:PutItem", op == "dynamodb:UpdateItem":
			caps["Write"] = true
		case op == "dynamodb:BatchWriteItem":
			caps["BatchWrite"] = true
		case op == "dynamodb:TransactWriteItems":
			caps["Transact"] = true
		case strings.HasPrefix(op, "index:"):
			caps[op] = true
		case op == "states:StartExecution":
			caps["Start"] = true
		case op == "states:SendTaskSuccess", op == "states:SendTaskFailure":
			caps["Callback"] = true
		case op == "sqs:SendMessage":
			caps["SendTo"] = true
		case op == "ses:SendEmail":
			caps["Email"] = true
		case strings.HasPrefix(op, "secretsmanager:"):
			// Secrets are read at start-up; checked separately.
		default:
			unknown = append(unknown, op)
		}
	}
	sort.Strings(unknown)
	return caps, unknown
}

// String helps when a comparison fails.
func (s Statement) String() string {
	return fmt.Sprintf("%s %v on %v if %v", s.Effect, s.Actions, s.Resources, s.Condition)
}
