package dynamo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/inventory"
)

// TestClassify pins how the SDK's errors become the ports' kinds; the
// store tests cover the paths a local server can produce (conditions,
// cancelled transactions), this covers those it cannot (throttling, 5xx,
// no answer).
func TestClassify(t *testing.T) {
	cancelled := func(codes ...string) error {
		var rs []types.CancellationReason
		for _, c := range codes {
			rs = append(rs, types.CancellationReason{Code: aws.String(c)})
		}
		return &types.TransactionCanceledException{CancellationReasons: rs}
	}
	status := func(code int) error {
		return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}}, Err: errors.New("answer"),
		}}
	}
	for _, c := range []struct {
		name string
		err  error
		want fault.Kind
	}{
		{"ConditionFailed", &types.ConditionalCheckFailedException{}, fault.ConditionFailed},
		{"TransactionConflict", &types.TransactionConflictException{}, fault.Contention},
		{"TransactionInProgress", &types.TransactionInProgressException{}, fault.Contention},
		{"ProvisionedThroughputExceeded", &types.ProvisionedThroughputExceededException{}, fault.Unavailable},
		{"RequestLimitExceeded", &types.RequestLimitExceeded{}, fault.Unavailable},
		{"ThrottlingException", &smithy.GenericAPIError{Code: "ThrottlingException"}, fault.Unavailable},
		{"InternalServerError", &types.InternalServerError{}, fault.Unavailable},
		{"HTTP503", status(http.StatusServiceUnavailable), fault.Unavailable},
		{"HTTP400", status(http.StatusBadRequest), fault.Other},
		{"NoAnswer", &smithyhttp.RequestSendError{Err: errors.New("connection refused")}, fault.Unavailable},
		{"Deadline", fmt.Errorf("get: %w", context.DeadlineExceeded), fault.Unavailable},
		{"Validation", &smithy.GenericAPIError{Code: "ValidationException"}, fault.Other},
		{"CancelledOnThrottling", cancelled("None", "ThrottlingError"), fault.Unavailable},
		{"CancelledOnConflict", cancelled("ConditionalCheckFailed", "TransactionConflict"), fault.Contention},
		{"CancelledOnCondition", cancelled("None", "ConditionalCheckFailed"), fault.ConditionFailed},
		{"CancelledWithoutReason", cancelled(), fault.Contention},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := classify("op", c.err)
			if codes, ok := txReasons(c.err); ok {
				err = fault.E("op", txKind(codes), c.err)
			}
			if got := fault.KindOf(err); got != c.want {
				t.Fatalf("kind %v, want %v", got, c.want)
			}
			if !errors.Is(err, c.err) {
				t.Fatal("the SDK error is not kept in the chain")
			}
		})
	}
	t.Run("ClassifiedStaysClassified", func(t *testing.T) {
		inner := fault.E("batch get", fault.Unavailable, nil)
		if got := fault.KindOf(classify("read seats", inner)); got != fault.Unavailable {
			t.Fatalf("kind %v", got)
		}
	})
}

// TestHoldConflict: a hold's failed conditions name the parts (so the
// planner routes around them) under ConditionFailed; throttling is never
// reported as a conflict.
func TestHoldConflict(t *testing.T) {
	parts := []part{{kind: "admission"}, {kind: "limit"}, {kind: "order"}, {kind: "seat", seat: "A-1-1"}, {kind: "seat", seat: "A-1-2"}}
	cancel := func(codes ...string) error {
		rs := make([]types.CancellationReason, len(codes))
		for i, c := range codes {
			rs[i] = types.CancellationReason{Code: aws.String(c)}
		}
		return &types.TransactionCanceledException{CancellationReasons: rs}
	}
	t.Run("SeatTaken", func(t *testing.T) {
		err := holdConflict(cancel("None", "None", "None", "None", "ConditionalCheckFailed"), parts, nil)
		var c *inventory.Conflict
		if !fault.Is(err, fault.ConditionFailed) || !errors.As(err, &c) {
			t.Fatalf("err = %v, want ConditionFailed with the conflict", err)
		}
		if len(c.Seats) != 1 || c.Seats[0] != "A-1-2" || c.Limit || c.Admission {
			t.Fatalf("conflict %+v, want seat A-1-2 only", *c)
		}
	})
	t.Run("Throttled", func(t *testing.T) {
		err := holdConflict(cancel("None", "None", "None", "ThrottlingError", "None"), parts, nil)
		if !fault.Is(err, fault.Unavailable) {
			t.Fatalf("err = %v, want Unavailable", err)
		}
	})
	t.Run("DuplicateOrderIsContention", func(t *testing.T) {
		if err := holdConflict(cancel("None", "None", "ConditionalCheckFailed", "None", "None"), parts, nil); !fault.Is(err, fault.Contention) {
			t.Fatalf("err = %v, want Contention", err)
		}
	})
	t.Run("SeatsCompleteOnlyWhenNoneCanBeUnnamed", func(t *testing.T) {
		complete := func(err error) bool {
			var c *inventory.Conflict
			if !errors.As(err, &c) {
				t.Fatalf("err = %v, want a conflict", err)
			}
			return c.SeatsComplete
		}
		naming := &reasonNaming{}
		// The first seat refused and one follows: a server that names
		// the first failure only would not have looked at A-1-2.
		if complete(holdConflict(cancel("None", "None", "None", "ConditionalCheckFailed", "None"), parts, naming)) {
			t.Fatal("a failure before another seat counted as naming every seat")
		}
		// The last seat refused: everything before it held.
		if !complete(holdConflict(cancel("None", "None", "None", "None", "ConditionalCheckFailed"), parts, naming)) {
			t.Fatal("a failure on the last seat not counted as naming every seat")
		}
		// Two failures named: the server names each, from now on.
		if !complete(holdConflict(cancel("None", "None", "None", "ConditionalCheckFailed", "ConditionalCheckFailed"), parts, naming)) {
			t.Fatal("two failures named not counted as naming every seat")
		}
		if !complete(holdConflict(cancel("None", "None", "None", "ConditionalCheckFailed", "None"), parts, naming)) {
			t.Fatal("the store forgot that the server names every failure")
		}
	})
	t.Run("ThrottledOutsideATransaction", func(t *testing.T) {
		if err := holdConflict(&types.ProvisionedThroughputExceededException{}, parts, nil); !fault.Is(err, fault.Unavailable) {
			t.Fatalf("err = %v, want Unavailable", err)
		}
	})
}
