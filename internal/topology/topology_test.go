package topology

import (
	"strings"
	"testing"
)

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateRejectsBrokenDeclarations(t *testing.T) {
	cases := map[string]func(*Topology){
		"UnknownFunction": func(tp *Topology) { tp.Routes[0].Function = "nope" },
		"DuplicateRoute":  func(tp *Topology) { tp.Routes = append(tp.Routes, tp.Routes[0]) },
		"UnknownAuth":     func(tp *Topology) { tp.Routes[0].Auth = "maybe" },
		"UnknownQueue": func(tp *Topology) {
			tp.Routes = append(tp.Routes, Route{Method: "POST", Path: "/q", Integration: IntegrationSQS, Queue: "missing", Auth: AuthFan})
		},
		"DuplicateFunction": func(tp *Topology) { tp.Functions = append(tp.Functions, tp.Functions[0]) },
		"UnknownIndex":      func(tp *Topology) { tp.Functions[0].Access.Table.Indexes = []string{"gsi9"} },
		"UnknownTable":      func(tp *Topology) { tp.Functions[0].Access.Table.Table = "other" },
		"TableAccessWithoutTable": func(tp *Topology) {
			tp.Functions[0].Access.Table = TableAccess{Read: true}
		},
		"PrefixesWithoutWrite": func(tp *Topology) {
			tp.Functions[0].Access.Table = TableAccess{Table: MainTable, Read: true, WritePrefixes: []string{"EVENT#"}}
		},
		"WildcardPrefix": func(tp *Topology) {
			tp.Functions[0].Access.Table = TableAccess{Table: MainTable, Write: true, WritePrefixes: []string{"*"}}
		},
		"UnknownStateMachine": func(tp *Topology) {
			tp.Functions[0].Access.Workflow = WorkflowAccess{StateMachine: "refunds", Start: true}
		},
		"WorkflowWithoutStateMachine": func(tp *Topology) { tp.Functions[0].Access.Workflow = WorkflowAccess{Start: true} },
		"UnknownSecret":               func(tp *Topology) { tp.Functions[0].Access.Secrets = []Secret{"root-password"} },
		"LowerCaseEnv":                func(tp *Topology) { tp.Functions[0].Env = []string{"inlet_every"} },
		"UnknownPaymentAccess":        func(tp *Topology) { tp.Functions[0].Access.Payments = "refund-everything" },
		"StaffRouteWithoutRole":       func(tp *Topology) { tp.Routes[staffRoute(tp)].Staff = "" },
		"StaffRouteUnknownRole":       func(tp *Topology) { tp.Routes[staffRoute(tp)].Staff = "janitor" },
		"StaffRouteWithoutScope":      func(tp *Topology) { tp.Routes[staffRoute(tp)].Scope = "" },
		"EventScopeWithoutEventId": func(tp *Topology) {
			tp.Routes = append(tp.Routes, Route{Method: "GET", Path: "/admin/v1/x", Integration: IntegrationLambda, Function: "admin",
				Auth: AuthOrganizer, Staff: StaffManager, Scope: ScopeEvent})
		},
		"RoleOnAFanRoute": func(tp *Topology) { tp.Routes[0].Staff = StaffOwner },
	}
	for name, breakIt := range cases {
		t.Run(name, func(t *testing.T) {
			tp := Default()
			breakIt(&tp)
			if err := tp.Validate(); err == nil {
				t.Fatal("Validate accepted a broken topology")
			}
		})
	}
}

func TestEveryFunctionServesSomething(t *testing.T) {
	tp := Default()
	for _, f := range tp.Functions {
		used := len(tp.RoutesOf(f.Name)) > 0
		for _, q := range tp.Queues {
			used = used || q.Consumer == f.Name
		}
		for _, s := range tp.Schedules {
			used = used || s.Function == f.Name
		}
		for _, s := range tp.Streams {
			used = used || s.Consumer == f.Name
		}
		for _, m := range tp.StateMachines {
			for _, n := range m.Functions {
				used = used || n == f.Name
			}
		}
		if !used {
			t.Errorf("function %s has no route, queue, schedule, stream or state machine", f.Name)
		}
	}
}

func TestDeployedRouteKeysExcludeLocalOnly(t *testing.T) {
	for _, k := range Default().DeployedRouteKeys() {
		if strings.HasPrefix(k, "POST /dev/") {
			t.Fatalf("local-only route %s would be deployed", k)
		}
	}
}

func TestPublicReadFunctionsWriteOnlyTheirCacheItems(t *testing.T) {
	// GIVEN the functions that serve public, CDN-cached reads
	tp := Default()
	for _, name := range []string{"catalog", "queue"} {
		f, ok := tp.Function(name)
		if !ok {
			t.Fatalf("no function %s", name)
		}
		// THEN they write nothing in transactions and nothing outside
		// EVENT# partitions (the availability projection, the queue state)
		a := f.Access.Table
		if a.Transact || len(a.WritePrefixes) != 1 || a.WritePrefixes[0] != "EVENT#" {
			t.Errorf("%s: table access %+v, want writes limited to EVENT#", name, a)
		}
		// AND they never drive the order workflow
		if f.Access.Workflow.Start || f.Access.Workflow.Callback {
			t.Errorf("%s drives the workflow", name)
		}
	}
}

func TestOnlyThePurchaseAndMoneyPathsDriveTheWorkflow(t *testing.T) {
	// GIVEN the default topology
	starters := map[string]bool{}
	for _, f := range Default().Functions {
		if f.Access.Workflow.Start {
			starters[f.Name] = true
		}
	}
	// THEN executions start from a hold, a (late) payment or the reconciler only
	want := map[string]bool{"holds": true, "webhooks": true, "confirm-payment": true, "reconciler": true}
	if len(starters) != len(want) {
		t.Fatalf("StartExecution granted to %v, want %v", starters, want)
	}
	for n := range want {
		if !starters[n] {
			t.Errorf("%s cannot start executions", n)
		}
	}
}

func TestThePurchasePathHasReservedConcurrency(t *testing.T) {
	f, _ := Default().Function("holds")
	if f.ReservedConcurrency <= 0 {
		t.Fatal("holds has no reserved concurrency")
	}
}

func staffRoute(tp *Topology) int {
	for i, r := range tp.Routes {
		if r.Auth == AuthOrganizer {
			return i
		}
	}
	panic("no staff route")
}

// The WAF's challenge script may load and call home; nothing else widens.
func TestSiteScriptsWiden(t *testing.T) {
	base := SiteSecurityHeaders()
	if got := base.WithScripts(); got != base {
		t.Errorf("no origins changed the policy: %s", got.ContentSecurityPolicy)
	}
	csp := base.WithScripts("https://x.sdk.awswaf.com").ContentSecurityPolicy
	for _, d := range strings.Split(csp, "; ") {
		widened := strings.HasSuffix(d, " https://x.sdk.awswaf.com")
		if want := strings.HasPrefix(d, "script-src ") || strings.HasPrefix(d, "connect-src "); widened != want {
			t.Errorf("directive %q widened=%v, want %v", d, widened, want)
		}
	}
}
