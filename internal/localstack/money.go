package localstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/stararena/stararena/internal/orderflow"
	"github.com/stararena/stararena/internal/payments/sandbox"
	"github.com/stararena/stararena/internal/sfnlocal"
	"github.com/stararena/stararena/internal/topology"
	"github.com/stararena/stararena/internal/workflow"
)

// startMoney creates the sandbox payment provider, which delivers its
// webhooks to this stack's POST /webhooks/sandbox.
func (st *Stack) startMoney(o Options, url string) error {
	secret := o.SandboxSecret
	if secret == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		secret = "whsec_" + hex.EncodeToString(b)
	}
	box, err := sandbox.New(sandbox.Options{WebhookURL: url + "/webhooks/sandbox", Secret: secret, Clock: o.Clock,
		TimeScale: o.TimeScale, CheckoutBaseURL: url, Logger: o.Logger})
	if err != nil {
		return err
	}
	st.Sandbox = box
	return nil
}

// startWorkflow serves the workflow tasks on a Lambda-Invoke-shaped
// endpoint and starts the Step Functions sidecar running the order
// workflow against it.
func (st *Stack) startWorkflow(ctx context.Context, o Options) error {
	if o.Tasks != nil {
		o.Tasks(st.App.Tasks)
	}
	funcs := map[string]sfnlocal.LambdaFunc{}
	for name, h := range st.App.Tasks.Handlers() {
		funcs[name] = st.calls.task(name, sfnlocal.LambdaFunc(h))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for lambda endpoint: %w", err)
	}
	st.lambdaSrv = &http.Server{Handler: sfnlocal.LambdaEndpoint(funcs), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = st.lambdaSrv.Serve(ln) }()
	sd, err := sfnlocal.Start(ctx, sfnlocal.Options{LambdaURL: "http://" + ln.Addr().String(), TimeScale: o.TimeScale,
		Definitions: map[string]string{workflow.Name: workflow.DefinitionPath}, Logger: o.Logger})
	if err != nil {
		return fmt.Errorf("step functions sidecar: %w", err)
	}
	st.sidecar = sd
	st.App.Flow = orderflow.New(sd.Client(), sd.StateMachineArn(workflow.Name))
	return nil
}

// startSchedules runs the topology's schedules in-process (EventBridge in
// AWS): the reconciler and the waiting room's inlet over every event.
func (st *Stack) startSchedules(o Options) {
	ctx, cancel := context.WithCancel(context.Background())
	st.stopSchedules = cancel
	var wg sync.WaitGroup
	// Each tick is one invocation of the scheduled function fn.
	run := func(name, fn string, every time.Duration, tick func(context.Context) error) {
		if every < 0 {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					done := st.calls.timed(fn)
					err := tick(ctx)
					done()
					if err != nil && ctx.Err() == nil {
						st.log.Error("scheduled run failed", "schedule", name, "err", err)
					}
				}
			}
		}()
	}
	for _, s := range topology.Default().Schedules {
		switch s.Function {
		case "reconciler":
			run(s.Name, s.Function, pick(o.ReconcileEvery, s.Every), func(ctx context.Context) error {
				_, err := st.App.Reconciler.RunAll(ctx)
				return err
			})
		case "inlet":
			run(s.Name, s.Function, pick(o.InletEvery, s.Every), func(ctx context.Context) error {
				_, err := st.App.Waitroom.TickAll(ctx)
				return err
			})
		default:
			st.log.Warn("schedule not emulated", "schedule", s.Name, "function", s.Function)
		}
	}
	st.schedulesDone = make(chan struct{})
	go func() { wg.Wait(); close(st.schedulesDone) }()
}

// pick is an option's value, or the default when it is zero.
func pick(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}
