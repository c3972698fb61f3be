package devstack

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/stararena/stararena/internal/localsfn"
	"github.com/stararena/stararena/internal/stepfunctions"
	"github.com/stararena/stararena/internal/workflow"
)

// startWorkflow serves the workflow tasks on a Lambda-Invoke-shaped
// endpoint and starts the Step Functions sidecar running the order
// workflow against it.
func (st *Stack) startWorkflow(ctx context.Context, o Options) error {
	if o.Tasks != nil {
		o.Tasks(st.App.Tasks)
	}
	funcs := map[string]localsfn.LambdaFunc{}
	for name, h := range st.App.Tasks.Handlers() {
		funcs[name] = st.calls.task(name, localsfn.LambdaFunc(h))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for lambda endpoint: %w", err)
	}
	st.lambdaSrv = &http.Server{Handler: localsfn.LambdaEndpoint(funcs), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = st.lambdaSrv.Serve(ln) }()
	sd, err := localsfn.Start(ctx, localsfn.Options{LambdaURL: "http://" + ln.Addr().String(), TimeScale: o.TimeScale,
		Definitions: map[string]string{workflow.Name: workflow.DefinitionPath}, Logger: o.Logger})
	if err != nil {
		return fmt.Errorf("step functions sidecar: %w", err)
	}
	st.sidecar = sd
	st.App.Flow = stepfunctions.New(sd.Client(), sd.StateMachineArn(workflow.Name))
	return nil
}
