package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stararena/stararena/internal/fault"
)

// Every store method reports failures in the ports' vocabulary (package
// fault), so no service sees an SDK type:
//
//	ConditionalCheckFailedException                        → fault.ConditionFailed (or what the method says it means)
//	TransactionConflictException, TransactionInProgress    → fault.Contention
//	throttling, 5xx, no HTTP answer, deadline exceeded     → fault.Unavailable
//	anything else                                          → fault.Other
//
// The SDK has already retried throttling and 5xx answers with its own
// backoff by the time an error gets here.

// throttleCodes are the DynamoDB error codes that mean "slow down"
// (the SDK's own list, aws/retry.DefaultThrottleErrorCodes, less the
// transaction code, which is contention).
var throttleCodes = map[string]bool{
	"ThrottlingException": true, "ProvisionedThroughputExceededException": true,
	"RequestLimitExceeded": true, "LimitExceededException": true, "Throttling": true,
	"RequestThrottled": true, "TooManyRequestsException": true, "RequestTimeout": true,
	"RequestTimeoutException": true,
}

// kindOf classifies an SDK error.
func kindOf(err error) fault.Kind {
	var ccf *types.ConditionalCheckFailedException
	var tce *types.TransactionConflictException
	var tip *types.TransactionInProgressException
	var ise *types.InternalServerError
	var send *smithyhttp.RequestSendError
	var timeout *awshttp.ResponseTimeoutError
	var resp *awshttp.ResponseError
	var api smithy.APIError
	switch {
	case err == nil:
		return fault.Other
	case errors.As(err, &ccf):
		return fault.ConditionFailed
	case errors.As(err, &tce), errors.As(err, &tip):
		return fault.Contention
	case errors.As(err, &ise), errors.As(err, &send), errors.As(err, &timeout),
		errors.Is(err, context.DeadlineExceeded):
		return fault.Unavailable
	case errors.As(err, &api) && throttleCodes[api.ErrorCode()]:
		return fault.Unavailable
	case errors.As(err, &resp) && resp.HTTPStatusCode() >= 500:
		return fault.Unavailable
	}
	return fault.Other
}

// classify wraps an SDK error as a fault of its kind for op; nil stays nil
// and an error classified already keeps its kind.
func classify(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case fault.KindOf(err) != fault.Other:
		return fmt.Errorf("%s: %w", op, err)
	}
	return fault.E(op, kindOf(err), err)
}

// txReasons returns the cancellation reason codes of a cancelled
// transaction, one per item ("None" or "" for items that did not fail),
// and whether err was one.
func txReasons(err error) ([]string, bool) {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil, false
	}
	codes := make([]string, len(tce.CancellationReasons))
	for i, r := range tce.CancellationReasons {
		codes[i] = aws.ToString(r.Code)
	}
	return codes, true
}

// reasonKind classifies one cancellation reason; ok is false for an item
// that did not fail.
func reasonKind(code string) (k fault.Kind, ok bool) {
	switch code {
	case "", "None":
		return fault.Other, false
	case "ConditionalCheckFailed":
		return fault.ConditionFailed, true
	case "TransactionConflict":
		return fault.Contention, true
	case "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
		return fault.Unavailable, true
	}
	return fault.Other, true
}

// txKind is the kind of a cancelled transaction whose failed conditions
// the caller did not single out: contention when DynamoDB named no reason
// (some servers name none) or a conflicting transaction, unavailable when
// only throttling, else condition failed.
func txKind(codes []string) fault.Kind {
	kind, named := fault.Other, false
	for _, c := range codes {
		k, ok := reasonKind(c)
		if !ok {
			continue
		}
		named = true
		switch {
		case k == fault.Contention:
			return fault.Contention
		case kind == fault.Other || kind == fault.Unavailable:
			kind = k
		}
	}
	if !named {
		return fault.Contention
	}
	return kind
}
