// Package stepfunctions drives the order workflow (Step Functions, see
// internal/workflow/order.asl.json) through the real aws-sdk-go-v2 sfn
// client: one Standard execution per order, started when the hold is made
// and resumed by the payment webhook.
package stepfunctions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stararena/stararena/internal/awsconf"
	"github.com/stararena/stararena/internal/config"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/workflow"
)

// Flow starts and resumes order executions.
type Flow struct {
	client *sfn.Client
	arn    string
}

// New returns a Flow on the state machine arn.
func New(client *sfn.Client, stateMachineArn string) *Flow {
	return &Flow{client: client, arn: stateMachineArn}
}

// Connect is the order workflow on the configuration's state machine
// (STATE_MACHINE_ARN): the wiring's Flow connector.
func Connect(ctx context.Context, cfg config.Config) (orders.Workflow, error) {
	awsCfg, err := awsconf.Load(ctx, awsconf.Options{Region: cfg.Region, Service: "SFN"})
	if err != nil {
		return nil, fmt.Errorf("sfn client: %w", err)
	}
	return New(sfn.NewFromConfig(awsCfg), cfg.StateMachineArn), nil
}

// Start starts the order's execution, named after the order so a retry
// cannot start a second one (StartExecution is idempotent for the same
// name and input).
func (f *Flow) Start(ctx context.Context, o orders.Order) error {
	in := workflow.Input{OrderID: o.ID, EventID: o.EventID, HoldSeconds: holdSeconds(o)}
	return f.start(ctx, o.ID, in)
}

func holdSeconds(o orders.Order) int {
	s := int(o.ExpiresAt.Sub(o.CreatedAt).Seconds())
	return max(s, 1)
}

func (f *Flow) start(ctx context.Context, name string, in workflow.Input) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	_, err = f.client.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(f.arn), Name: aws.String(name), Input: aws.String(string(b)),
	})
	var exists *types.ExecutionAlreadyExists
	if errors.As(err, &exists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("start execution %s: %w", name, err)
	}
	return nil
}

// PaymentArrived implements orders.Resumer: the waiting execution goes on
// to ticket issuing. A token that already timed out is not an error: the
// execution's timeout path asks the provider and finds the order paid.
func (f *Flow) PaymentArrived(ctx context.Context, token string, o orders.Order) error {
	// The order as the payment left it rides on to the issue step, which
	// then reads nothing before its transaction (workflow.Tasks.Issue).
	o.TaskToken = ""
	out, err := json.Marshal(workflow.Resumed{Paid: true, PaymentID: o.PaymentID, Order: &o})
	if err != nil {
		return fmt.Errorf("resume %s: %w", o.ID, err)
	}
	_, err = f.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(string(out))})
	var timedOut *types.TaskTimedOut
	var gone *types.TaskDoesNotExist
	if errors.As(err, &timedOut) || errors.As(err, &gone) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("resume %s: %w", o.ID, err)
	}
	return nil
}

// LatePaymentAccepted implements orders.Resumer: a re-held order gets its
// own issuing execution.
func (f *Flow) LatePaymentAccepted(ctx context.Context, o orders.Order) error {
	return f.start(ctx, "late-"+o.ID, workflow.Input{OrderID: o.ID, EventID: o.EventID, HoldSeconds: 1, Paid: true})
}
