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
		for _, m := range tp.StateMachines {
			for _, n := range m.Functions {
				used = used || n == f.Name
			}
		}
		if !used {
			t.Errorf("function %s has no route, queue, schedule or state machine", f.Name)
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
