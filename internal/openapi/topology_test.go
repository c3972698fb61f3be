package openapi_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi/datamodel/high/base"

	"github.com/stararena/stararena/internal/openapi"
	"github.com/stararena/stararena/internal/topology"
)

// schemesFor is the security the document must declare for each route auth.
var schemesFor = map[topology.Auth][]string{
	topology.AuthNone:      nil,
	topology.AuthFan:       {"fanJwt"},
	topology.AuthOrganizer: {"organizer"},
	topology.AuthSignature: nil, // the handler verifies the provider's signature
}

// TestSpecMatchesTopology keeps docs/openapi.yaml and the route table from
// drifting: every route — Lambda, API Gateway's SQS-SendMessage integration
// or local — is documented (with its security, local-only mark and, for an
// SQS route, the status it answers), and every documented operation is a
// route.
func TestSpecMatchesTopology(t *testing.T) {
	spec := loadSpec(t)
	ops := map[string]openapi.Operation{}
	for _, op := range spec.Operations() {
		ops[op.Key()] = op
	}
	routes := map[string]topology.Route{}
	for _, r := range topology.Default().Routes {
		routes[r.Key()] = r
	}

	for key, r := range routes {
		switch r.Integration {
		case topology.IntegrationLambda, topology.IntegrationSQS, topology.IntegrationLocal:
		default:
			t.Errorf("route %s: integration %q is not known to this test; decide how it is documented", key, r.Integration)
			continue
		}
		op, ok := ops[key]
		if !ok {
			t.Errorf("route %s (%s) is not in %s", key, r.Integration, openapi.SpecFile)
			continue
		}
		if local := r.Integration == topology.IntegrationLocal; op.LocalOnly != local {
			t.Errorf("%s: %s is %v in the spec, want %v", key, openapi.LocalOnlyExtension, op.LocalOnly, local)
		}
		want, known := schemesFor[r.Auth]
		if !known {
			t.Errorf("%s: no security mapping for auth %q; extend schemesFor", key, r.Auth)
		}
		got := slices.Clone(op.Security)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: spec security %v, want %v for auth %q", key, got, want, r.Auth)
		}
		if r.MaxBodyBytes > 0 && r.Integration != topology.IntegrationLocal && !slices.Contains(op.Statuses, "413") {
			t.Errorf("%s: the route limits its body but the spec documents no 413", key)
		}
		if r.Integration == topology.IntegrationSQS {
			// SQS answers 200 unless the route overrides the status.
			want := r.Status
			if want == 0 {
				want = 200
			}
			if !slices.Contains(op.Statuses, strconv.Itoa(want)) {
				t.Errorf("%s: the SQS route answers %d but the spec documents %v", key, want, op.Statuses)
			}
		}
	}
	for key, op := range ops {
		if _, ok := routes[key]; !ok {
			t.Errorf("%s (operationId %s) is in %s but is no route of topology.Default()", key, op.ID, openapi.SpecFile)
		}
		if op.ID == "" {
			t.Errorf("%s has no operationId", key)
		}
	}
}

// TestEveryErrorUsesTheErrorSchema checks the shape rules of the
// document itself: every operation documents its errors with the Error
// schema and no operation has a catch-all default response (which would let
// undocumented statuses through the conformance test).
func TestEveryErrorUsesTheErrorSchema(t *testing.T) {
	spec := loadSpec(t)
	for p := spec.Model.Paths.PathItems.First(); p != nil; p = p.Next() {
		for o := p.Value().GetOperations().First(); o != nil; o = o.Next() {
			key := strings.ToUpper(o.Key()) + " " + p.Key()
			resps := o.Value().Responses
			if resps == nil || resps.Codes == nil || resps.Codes.Len() == 0 {
				t.Errorf("%s documents no responses", key)
				continue
			}
			if resps.Default != nil {
				t.Errorf("%s has a default response; document each status instead", key)
			}
			for c := resps.Codes.First(); c != nil; c = c.Next() {
				if c.Key() < "400" {
					continue
				}
				mt, ok := c.Value().Content.Get("application/json")
				if !ok || mt.Schema == nil {
					t.Errorf("%s %s: no application/json schema", key, c.Key())
					continue
				}
				if !refersToError(mt.Schema) {
					t.Errorf("%s %s: the schema does not reference #/components/schemas/Error", key, c.Key())
				}
			}
		}
	}
}

const errorRef = "#/components/schemas/Error"

// refersToError reports whether a schema is the Error schema or an allOf
// that includes it.
func refersToError(p *base.SchemaProxy) bool {
	if p.GetReference() == errorRef {
		return true
	}
	s := p.Schema()
	if s == nil {
		return false
	}
	for _, part := range s.AllOf {
		if part.GetReference() == errorRef {
			return true
		}
	}
	return false
}

func loadSpec(t *testing.T) *openapi.Spec {
	t.Helper()
	spec, err := openapi.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	return spec
}
