// Package workflow holds the order workflow: one Step Functions Standard
// execution per order, defined in order.asl.json (Amazon States Language,
// JSONPath only). That file is the single source for the CDK stack and the
// local Step Functions sidecar (internal/localsfn); this package embeds it
// and names what Go code refers to: the function names its tasks invoke,
// its state names, the error names its Retry/Catch match, and its input.
//
// Tasks name their functions as ${Function_<name>}; the CDK substitutes the
// ARNs (DefinitionSubstitutions) and the sidecar does the same locally.
package workflow

import (
	_ "embed"
	"encoding/json"
)

//go:embed order.asl.json
var definition []byte

// Definition returns the order workflow's ASL JSON, with ${Function_<name>}
// placeholders. The slice is a copy.
func Definition() []byte {
	return append([]byte(nil), definition...)
}

// Name is the order state machine's name; DefinitionPath is its file from
// the repository root.
const (
	Name           = "order"
	DefinitionPath = "internal/workflow/order.asl.json"
)

// Functions the workflow invokes (the <name> in ${Function_<name>}).
const (
	// FunctionAwaitPayment receives {"orderId","taskToken"} and stores the
	// token with the order; the payment webhook completes it.
	FunctionAwaitPayment = "await-payment"
	// FunctionConfirmPayment receives {"orderId"} and returns {"paid": bool}
	// from the provider (active query after a timeout or failed payment).
	FunctionConfirmPayment = "confirm-payment"
	// FunctionReleaseHold receives {"orderId","eventId"}: expire the order
	// and release its seats if it is still PENDING_PAYMENT. It may answer
	// {"paid": true} when a payment won that race; the workflow then issues
	// the tickets (state PaidDuringRelease).
	FunctionReleaseHold = "release-hold"
	// FunctionIssueTickets receives the execution's state: {"orderId",
	// "eventId", …}, with "payment": {"order"} when a payment resumed the
	// wait (OrderInput).
	FunctionIssueTickets = "issue-tickets"
	// FunctionMarkIssueFailed receives {"orderId","eventId","error"} with
	// error = {"Error","Cause"} of the last issuing attempt.
	FunctionMarkIssueFailed = "mark-issue-failed"
)

// Functions returns every function the workflow invokes.
func Functions() []string {
	return []string{FunctionAwaitPayment, FunctionConfirmPayment, FunctionReleaseHold, FunctionIssueTickets, FunctionMarkIssueFailed}
}

// State names.
const (
	StateAwaitPayment      = "AwaitPayment"
	StateConfirmPayment    = "ConfirmPayment"
	StateIsPaid            = "IsPaid"
	StateReleaseHold       = "ReleaseHold"
	StatePaidDuringRelease = "PaidDuringRelease"
	StateReleased          = "Released"
	StateIssueTickets      = "IssueTickets"
	StateIssued            = "Issued"
	StateMarkIssueFailed   = "MarkIssueFailed"
	StateIssueFailed       = "IssueFailed"
)

// Error names. A Lambda handler fails with one of these by returning an
// error whose ErrorType() is the name (the Lambda runtime reports it as the
// function error's errorType, which is what Retry and Catch match).
const (
	// ErrPaymentFailed is the error a webhook passes to SendTaskFailure for a
	// failed payment; the workflow then confirms with the provider.
	ErrPaymentFailed = "PaymentFailed"
	// ErrTicketIssuerUnavailable from issue-tickets is retried with backoff.
	ErrTicketIssuerUnavailable = "TicketIssuerUnavailable"
	// ErrTicketIssueFailed is the execution's error when issuing gave up.
	ErrTicketIssueFailed = "TicketIssueFailed"
)

// Outcome statuses, in the output's "outcome" of a SUCCEEDED execution.
const (
	OutcomeIssued   = "Issued"
	OutcomeReleased = "Released"
)

// Input starts an execution. HoldSeconds (a positive integer) is how long
// to wait for the payment callback: the hold's time to expiry.
type Input struct {
	OrderID     string `json:"orderId"`
	EventID     string `json:"eventId"`
	HoldSeconds int    `json:"holdSeconds"`
	// Paid starts the workflow at ticket issuing (a late payment that
	// re-held the places).
	Paid bool `json:"paid"`
}

// Output is the part of a SUCCEEDED execution's output callers read.
type Output struct {
	Input
	// Payment is the SendTaskSuccess output, when the callback came.
	Payment json.RawMessage `json:"payment,omitempty"`
	// Timeout is {"Error":"States.Timeout",...} when the hold expired first.
	Timeout json.RawMessage `json:"timeout,omitempty"`
	// PaymentError is the SendTaskFailure {"Error","Cause"} for PaymentFailed.
	PaymentError json.RawMessage `json:"paymentError,omitempty"`
	// Confirm is the provider's answer after a timeout or failure.
	Confirm *struct {
		Paid bool `json:"paid"`
	} `json:"confirm,omitempty"`
	Outcome struct {
		Status string          `json:"status"` // OutcomeIssued or OutcomeReleased
		Result json.RawMessage `json:"result"` // the last function's response
	} `json:"outcome"`
}
