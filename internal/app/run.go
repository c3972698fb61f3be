package app

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

// RunHTTP is the whole main of an HTTP Lambda function: wire from the
// environment with the connectors c its access declares, fail fast on bad
// configuration, serve. The other Run functions are the same for the
// other kinds of function.
func RunHTTP(name string, c Connectors, build HTTPBuilder) {
	fn, err := HTTPFunctionFromEnv(context.Background(), name, c, build)
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
	lambda.Start(fn.Handle)
}

// RunTask is the whole main of an order-workflow task function.
func RunTask(name string, c Connectors) {
	a, err := FromEnv(context.Background(), name, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
	task, err := a.Task(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
	// json.RawMessage, not []byte: the runtime decodes the event into the
	// handler's argument as JSON, and a []byte takes a base64 string, not the
	// object Step Functions sends.
	lambda.Start(task)
}

// RunAssigner is the whole main of the "assigner" function (SQS batches).
func RunAssigner(c Connectors) {
	a, err := FromEnv(context.Background(), "assigner", c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "assigner:", err)
		os.Exit(1)
	}
	lambda.Start(a.Assigner())
}

// RunInlet is the whole main of the "inlet" function (EventBridge).
func RunInlet(c Connectors) {
	a, err := FromEnv(context.Background(), "inlet", c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "inlet:", err)
		os.Exit(1)
	}
	lambda.Start(a.Inlet())
}

// RunReconciler is the whole main of the "reconciler" function (the
// schedule and POST /admin/v1/reconcile).
func RunReconciler(c Connectors) {
	a, err := FromEnv(context.Background(), "reconciler", c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reconciler:", err)
		os.Exit(1)
	}
	fn, err := a.ReconcilerFunction()
	if err != nil {
		fmt.Fprintln(os.Stderr, "reconciler:", err)
		os.Exit(1)
	}
	lambda.Start(fn)
}

// RunMailer is the whole main of the "mailer" function (SQS batches).
func RunMailer(c Connectors) {
	a, err := FromEnv(context.Background(), "mailer", c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mailer:", err)
		os.Exit(1)
	}
	lambda.Start(a.MailerHandler())
}

// RunProjector is the whole main of the "projector" function (DynamoDB
// stream batches).
func RunProjector(c Connectors) {
	a, err := FromEnv(context.Background(), "projector", c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "projector:", err)
		os.Exit(1)
	}
	lambda.Start(a.projectorSvc().HandleStream)
}
