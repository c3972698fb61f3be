package devstack_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/auth/devissuer"
	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/workflow"
)

// TestInvocationsAndRunHooks: the stack counts function invocations the
// way Lambda bills them (after the authorizer, per queue batch, per
// scheduled tick), signs dev tokens with the algorithm asked for, hands
// the workflow's tasks to the Tasks hook before they serve, and exposes
// the Step Functions sidecar's totals.
func TestInvocationsAndRunHooks(t *testing.T) {
	var hooked *workflow.Tasks
	st := startStack(t, devstack.Options{TimeScale: 0.01, QueueTimeScale: 1, ReconcileEvery: -1, InletEvery: 50 * time.Millisecond,
		DevTokenAlgorithm: devissuer.AlgES256, Tasks: func(ts *workflow.Tasks) { hooked = ts }})
	if hooked == nil || hooked != st.App.Tasks {
		t.Fatal("the Tasks hook did not get the stack's workflow tasks")
	}
	c := &stackClient{t: t, st: st, http: &http.Client{Timeout: 10 * time.Second}}
	fan, _, err := st.Issuer.Issue("fan-1", auth.RoleFan)
	if err != nil {
		t.Fatal(err)
	}
	header, _ := base64.RawURLEncoding.DecodeString(strings.Split(fan, ".")[0])
	if !strings.Contains(string(header), `"alg":"ES256"`) {
		t.Fatalf("dev token header %s, want ES256", header)
	}

	c.json("GET", "/v1/events", "", nil, http.StatusOK)
	c.json("GET", "/v1/events", "", nil, http.StatusOK)
	c.json("GET", "/v1/me/orders", fan, nil, http.StatusOK)
	// Refused by the authorizer: no function runs, as in API Gateway.
	c.json("GET", "/v1/me/orders", "not-a-token", nil, http.StatusUnauthorized)
	// A join is an SQS integration: the assigner runs once per batch.
	if s, b := c.do("POST", "/v1/events/ev-1/queue", fan, nil); s != http.StatusAccepted {
		t.Fatalf("join: %d %s", s, b)
	}
	waitIdle(t, st)

	deadline := time.Now().Add(10 * time.Second)
	for {
		got := st.Invocations()
		ok := got["catalog"].Count == 2 && got["orders"].Count == 1 && got["assigner"].Count == 1 && got["inlet"].Count > 0
		if ok {
			if got["catalog"].Duration <= 0 || got["holds"].Count != 0 {
				t.Fatalf("invocations %+v", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("invocations %+v: want catalog 2, orders 1 (the refused request not counted), assigner 1, inlet ticks", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stats, err := st.Sidecar().Stats(context.Background())
	if err != nil || stats.ExecutionsStarted != 0 || stats.Running != 0 {
		t.Fatalf("sidecar stats %+v, %v: no order, no execution", stats, err)
	}
}
