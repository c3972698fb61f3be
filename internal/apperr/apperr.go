// Package apperr is StarArena's one application error type.
//
// Every error that can reach a fan or an organizer carries a Code. The HTTP
// layer maps the Code to a status with Status and renders only Message; the
// wrapped Err (internal detail) is logged, never returned to a client.
//
// Services translate their ports' faults (package fault) into codes at
// their boundary. One translation is made here for every caller: a fault
// that says the dependency was busy (fault.Unavailable, or
// fault.Contention that outlasted the retries) and reached the edge
// without a code is UNAVAILABLE, never CONFLICT or INTERNAL.
package apperr

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/stararena/stararena/internal/fault"
)

// Code is a stable, machine-readable error kind. Clients switch on it.
type Code string

// Generic codes.
const (
	Invalid          Code = "INVALID_REQUEST"   // well-formed JSON with wrong or missing fields
	InvalidJSON      Code = "INVALID_JSON"      // body is not one JSON object
	UnknownField     Code = "UNKNOWN_FIELD"     // body names a field the contract does not know
	TooLarge         Code = "PAYLOAD_TOO_LARGE" // body over the route's limit
	UnsupportedMedia Code = "UNSUPPORTED_MEDIA_TYPE"
	Unauthorized     Code = "UNAUTHORIZED"       // no or invalid identity
	Forbidden        Code = "FORBIDDEN"          // identity known, not allowed
	NotFound         Code = "NOT_FOUND"          // unknown, or not the caller's
	MethodNotAllowed Code = "METHOD_NOT_ALLOWED" // a known path, another method (the Allow header lists them)
	Conflict         Code = "CONFLICT"           // current state forbids the change
	Unprocessable    Code = "UNPROCESSABLE"
	RateLimited      Code = "RATE_LIMITED"
	Unavailable      Code = "UNAVAILABLE" // dependency throttled or down; retry later
	Internal         Code = "INTERNAL"
)

// Domain codes named by the public contract (docs/openapi.yaml).
const (
	InvalidVenue       Code = "INVALID_VENUE"     // venue map cannot exist (0 seats, duplicate ids, ...)
	SeatsUnavailable   Code = "SEATS_UNAVAILABLE" // some requested seats are held or sold
	SoldOut            Code = "SOLD_OUT"
	LimitExceeded      Code = "LIMIT_EXCEEDED"    // per-account ticket limit
	AdmissionInvalid   Code = "ADMISSION_INVALID" // admission token forged, reused, expired or not yours
	IdempotencyReused  Code = "IDEMPOTENCY_KEY_REUSED"
	QueueRequired      Code = "QUEUE_REQUIRED" // admission needs a served queue position
	SaleNotOpen        Code = "SALE_NOT_OPEN"
	InvalidStateChange Code = "INVALID_STATE"
	// EventCancelled: the organizer cancelled the event; nothing of it is
	// sold any more (internal/cancellation).
	EventCancelled Code = "EVENT_CANCELLED"
	// RefundWindowClosed: a fan asked for a postponed event's refund after
	// the window the organizer set.
	RefundWindowClosed Code = "REFUND_WINDOW_CLOSED"
	// Presale codes (ADR 23): the presale window admits only fans with a
	// code; unknown covers malformed too, so a guess learns nothing.
	PresaleCodeRequired  Code = "PRESALE_CODE_REQUIRED"
	PresaleCodeUnknown   Code = "PRESALE_CODE_UNKNOWN"
	PresaleCodeExhausted Code = "PRESALE_CODE_EXHAUSTED"
	// The waiting list after sell-out (internal/waitlist): joining while
	// places are still for sale, and admission while the list has the
	// first claim on places that come back.
	NotSoldOut    Code = "NOT_SOLD_OUT"
	WaitlistFirst Code = "WAITLIST_FIRST"
	// WebhookSignatureInvalid: a provider callback whose signature is bad,
	// stale (> 300 s) or malformed.
	WebhookSignatureInvalid Code = "WEBHOOK_SIGNATURE_INVALID"
)

var statuses = map[Code]int{
	Invalid:                 http.StatusBadRequest,
	InvalidJSON:             http.StatusBadRequest,
	UnknownField:            http.StatusBadRequest,
	TooLarge:                http.StatusRequestEntityTooLarge,
	UnsupportedMedia:        http.StatusUnsupportedMediaType,
	Unauthorized:            http.StatusUnauthorized,
	Forbidden:               http.StatusForbidden,
	NotFound:                http.StatusNotFound,
	MethodNotAllowed:        http.StatusMethodNotAllowed,
	Conflict:                http.StatusConflict,
	Unprocessable:           http.StatusUnprocessableEntity,
	RateLimited:             http.StatusTooManyRequests,
	Unavailable:             http.StatusServiceUnavailable,
	Internal:                http.StatusInternalServerError,
	InvalidVenue:            http.StatusUnprocessableEntity,
	SeatsUnavailable:        http.StatusConflict,
	SoldOut:                 http.StatusConflict,
	LimitExceeded:           http.StatusForbidden,
	AdmissionInvalid:        http.StatusForbidden,
	IdempotencyReused:       http.StatusUnprocessableEntity,
	QueueRequired:           http.StatusConflict,
	SaleNotOpen:             http.StatusConflict,
	InvalidStateChange:      http.StatusConflict,
	EventCancelled:          http.StatusConflict,
	RefundWindowClosed:      http.StatusConflict,
	PresaleCodeRequired:     http.StatusForbidden,
	PresaleCodeUnknown:      http.StatusForbidden,
	PresaleCodeExhausted:    http.StatusConflict,
	WebhookSignatureInvalid: http.StatusBadRequest,
	NotSoldOut:              http.StatusConflict,
	WaitlistFirst:           http.StatusConflict,
}

// Status is the HTTP status for a code; unknown codes are 500.
func Status(c Code) int {
	if s, ok := statuses[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is an application error. Message is safe to show to a client;
// Err is the internal cause and is only logged.
type Error struct {
	Code    Code
	Message string
	// Details is optional structured data for the client (for example the
	// seats that were lost in a SEATS_UNAVAILABLE conflict).
	Details map[string]any
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with a client-safe message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a code and a client-safe message to an internal cause.
func Wrap(err error, code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// With returns a copy of e carrying details for the client.
func (e *Error) With(key string, value any) *Error {
	c := *e
	c.Details = make(map[string]any, len(e.Details)+1)
	for k, v := range e.Details {
		c.Details[k] = v
	}
	c.Details[key] = value
	return &c
}

// CodeOf returns the code of the first *Error in err's chain; else
// Unavailable for a busy dependency (see the package comment), or
// Internal.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if fault.Retryable(err) {
		return Unavailable
	}
	return Internal
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }

// Public returns the client-facing code, message and details of err.
// Errors without a code become a generic INTERNAL message, so internal text
// never reaches a client.
func Public(err error) (Code, string, map[string]any) {
	var e *Error
	if errors.As(err, &e) {
		if e.Code == Internal {
			return Internal, "internal error; it has been logged", nil
		}
		return e.Code, e.Message, e.Details
	}
	if fault.Retryable(err) {
		return Unavailable, "the service is busy; retry after a short pause", nil
	}
	return Internal, "internal error; it has been logged", nil
}
