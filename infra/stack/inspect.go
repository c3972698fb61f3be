package stack

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/stararena/stararena/internal/topology"
)

// Readers of a synthesized template, shared by this package's tests and by
// tests elsewhere that compare the deployed shape with the local stack
// (e.g. "the CDK app and the local stack serve the same routes").

// RouteKeys returns the sorted RouteKey ("GET /v1/events") of every
// AWS::ApiGatewayV2::Route in the template.
func RouteKeys(t assertions.Template) []string {
	var keys []string
	for _, props := range apiRoutes(t, false) {
		keys = append(keys, str(props["RouteKey"]))
	}
	sort.Strings(keys)
	return keys
}

// RouteAuthorizationTypes maps each route key of the main HTTP API to its
// AuthorizationType (NONE, JWT, AWS_IAM, CUSTOM).
func RouteAuthorizationTypes(t assertions.Template) map[string]string {
	return authorizationTypes(apiRoutes(t, false))
}

// MachineRouteAuthorizationTypes is RouteAuthorizationTypes for the
// machine API (IAM-signed automation).
func MachineRouteAuthorizationTypes(t assertions.Template) map[string]string {
	return authorizationTypes(apiRoutes(t, true))
}

func authorizationTypes(routes map[string]map[string]any) map[string]string {
	out := map[string]string{}
	for _, props := range routes {
		out[str(props["RouteKey"])] = str(props["AuthorizationType"])
	}
	return out
}

// apiRoutes are the routes of the machine API (machine) or of every other
// API.
func apiRoutes(t assertions.Template, machine bool) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, props := range properties(t, "AWS::ApiGatewayV2::Route") {
		ref, _ := props["ApiId"].(map[string]any)
		if strings.HasPrefix(str(ref["Ref"]), "MachineApi") == machine {
			out[id] = props
		}
	}
	return out
}

// TableKeySchemas returns every DynamoDB table in the template as a
// topology.Table (LogicalName from the TableTag tag, key names and types,
// GSIs in template order), sorted by LogicalName, so a test can compare it
// with topology.Default().Tables.
func TableKeySchemas(t assertions.Template) []topology.Table {
	var tables []topology.Table
	for id, props := range properties(t, "AWS::DynamoDB::Table") {
		types := map[string]topology.KeyType{}
		for _, a := range list(props["AttributeDefinitions"]) {
			types[str(a["AttributeName"])] = topology.KeyType(str(a["AttributeType"]))
		}
		table := topology.Table{LogicalName: tag(props, TableTag)}
		if table.LogicalName == "" {
			table.LogicalName = id // not ours: keep the CloudFormation id
		}
		table.PartitionKey, table.SortKey = keySchema(props["KeySchema"], types)
		for _, ix := range list(props["GlobalSecondaryIndexes"]) {
			index := topology.Index{Name: str(ix["IndexName"])}
			index.PartitionKey, index.SortKey = keySchema(ix["KeySchema"], types)
			table.Indexes = append(table.Indexes, index)
		}
		tables = append(tables, table)
	}
	sort.Slice(tables, func(i, j int) bool { return tables[i].LogicalName < tables[j].LogicalName })
	return tables
}

func keySchema(v any, types map[string]topology.KeyType) (hash, rng topology.Key) {
	for _, k := range list(v) {
		name := str(k["AttributeName"])
		switch str(k["KeyType"]) {
		case "HASH":
			hash = topology.Key{Name: name, Type: types[name]}
		case "RANGE":
			rng = topology.Key{Name: name, Type: types[name]}
		}
	}
	return hash, rng
}

// properties returns logical id → Properties of every resource of type typ.
func properties(t assertions.Template, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	found := t.FindResources(jsii.String(typ), nil)
	if found == nil {
		return out
	}
	for id, res := range *found {
		props, _ := (*res)["Properties"].(map[string]any)
		out[id] = props
	}
	return out
}

func tag(props map[string]any, key string) string {
	for _, t := range list(props["Tags"]) {
		if str(t["Key"]) == key {
			return str(t["Value"])
		}
	}
	return ""
}

// list reads a template array of objects, skipping anything else.
func list(v any) []map[string]any {
	items, _ := v.([]any)
	var out []map[string]any
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// str renders a template scalar; an intrinsic ({"Ref": ...}) renders as its
// JSON-ish Go form, which never equals a plain name.
func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// Statement is one IAM policy statement read from a template.
type Statement struct {
	Effect    string
	Actions   []string
	Resources []any // strings or intrinsics ({"Fn::GetAtt": ...})
	Condition map[string]any
}

// FunctionNames maps each Lambda function's logical id to its topology
// name (the FunctionTag); functions without the tag (CDK's own) are left
// out.
func FunctionNames(t assertions.Template) map[string]string {
	out := map[string]string{}
	for id, props := range properties(t, "AWS::Lambda::Function") {
		if name := tag(props, FunctionTag); name != "" {
			out[id] = name
		}
	}
	return out
}

// FunctionStatements returns, per topology function name, every statement
// of every policy attached to its execution role (inline policies and
// AWS::IAM::Policy resources naming the role), plus one pseudo-statement
// per managed policy ARN (Action "managed-policy").
func FunctionStatements(t assertions.Template) map[string][]Statement {
	roleOf := map[string]string{} // role logical id -> function name
	for id, props := range properties(t, "AWS::Lambda::Function") {
		name := tag(props, FunctionTag)
		if name == "" {
			continue
		}
		if r := getAtt(props["Role"]); r != "" {
			roleOf[r] = name
		} else {
			panic(fmt.Sprintf("function %s: role is not a GetAtt: %v", id, props["Role"]))
		}
	}
	out := map[string][]Statement{}
	for id, props := range properties(t, "AWS::IAM::Role") {
		name, ok := roleOf[id]
		if !ok {
			continue
		}
		for _, p := range list(props["Policies"]) {
			doc, _ := p["PolicyDocument"].(map[string]any)
			out[name] = append(out[name], statements(doc)...)
		}
		if managed, ok := props["ManagedPolicyArns"].([]any); ok {
			for _, m := range managed {
				out[name] = append(out[name], Statement{Effect: "Allow", Actions: []string{"managed-policy"}, Resources: []any{m}})
			}
		}
	}
	for _, props := range properties(t, "AWS::IAM::Policy") {
		roles, _ := props["Roles"].([]any)
		for _, r := range roles {
			ref, _ := r.(map[string]any)
			name, ok := roleOf[str(ref["Ref"])]
			if !ok {
				continue
			}
			doc, _ := props["PolicyDocument"].(map[string]any)
			out[name] = append(out[name], statements(doc)...)
		}
	}
	return out
}

func statements(doc map[string]any) []Statement {
	var out []Statement
	for _, s := range list(doc["Statement"]) {
		st := Statement{Effect: str(s["Effect"]), Actions: stringList(s["Action"]), Resources: anyList(s["Resource"])}
		st.Condition, _ = s["Condition"].(map[string]any)
		out = append(out, st)
	}
	return out
}

// getAtt returns the logical id of {"Fn::GetAtt": [id, attr]}, else "".
func getAtt(v any) string {
	m, _ := v.(map[string]any)
	parts, _ := m["Fn::GetAtt"].([]any)
	if len(parts) == 0 {
		return ""
	}
	return str(parts[0])
}

// stringList reads a template value that is a string or a list of strings.
func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, str(e))
		}
		return out
	}
	return nil
}

func anyList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// ConstructID is the construct id this package gives a topology resource:
// its name in PascalCase followed by the kind ("Function", "Queue",
// "DeadLetterQueue", "StateMachine", "Table"; none for secrets), e.g.
// "AwaitPaymentFunction". The stack's resources are found by it under
// "StarArena/<id>/Resource" in a deployed template's aws:cdk:path.
func ConstructID(name, kind string) string { return pascal(name) + kind }
