// Package fault is the error vocabulary of StarArena's ports: what a store
// or a provider says went wrong, by kind, so that a service can decide
// whether to read again, back off, give up or answer the caller, without
// knowing which adapter (DynamoDB, Stripe, the sandbox) it talks to.
//
// Adapters return a *Error naming the operation and the kind, wrapping the
// dependency's own error. Services match kinds with Is (or errors.Is with a
// Kind as target) and translate them into apperr codes at their boundary;
// a kind never reaches a client as it is.
package fault

import (
	"errors"
	"fmt"
)

// Kind classifies a port's failure by what the caller can do about it.
type Kind uint8

// Kinds. The zero Kind is Other: an error nobody classified, which callers
// treat as internal and do not retry.
const (
	Other Kind = iota
	// Contention: a concurrent writer won (a transaction conflict, a lost
	// optimistic-lock race on a version). Reading again and retrying may
	// succeed.
	Contention
	// ConditionFailed: the state the write required is not there (a seat
	// taken, an order no longer pending). Retrying the same write will not
	// help; the caller decides what the new state means.
	ConditionFailed
	// Exists: the item a create-once write was for exists already.
	Exists
	// NotFound: the item read does not exist.
	NotFound
	// Unavailable: throttled, timed out or unreachable. Retrying the same
	// call with backoff may succeed; nothing was changed by this attempt
	// as far as the caller can tell. Never a conflict in the caller's data.
	Unavailable
	// Invalid: the port refused the request itself (a provider's 400).
	Invalid
)

var names = [...]string{
	Other: "other", Contention: "contention", ConditionFailed: "condition failed", Exists: "exists",
	NotFound: "not found", Unavailable: "unavailable", Invalid: "invalid",
}

// String names the kind.
func (k Kind) String() string {
	if int(k) < len(names) {
		return names[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Error makes a Kind usable as errors.Is's target:
// errors.Is(err, fault.Contention).
func (k Kind) Error() string { return k.String() }

// Error is a port's failure: the operation, its kind and the cause.
type Error struct {
	Op   string // what the port was doing, e.g. "create hold"; "" for a sentinel
	Kind Kind
	Err  error // the dependency's error or a domain detail; may be nil
}

func (e *Error) Error() string {
	msg := e.Op
	if e.Kind != Other && e.Op != "" {
		msg = join(msg, e.Kind.String())
	}
	if e.Err != nil {
		msg = join(msg, e.Err.Error())
	}
	return msg
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + ": " + b
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches a Kind target against this error's kind; other targets are
// left to the wrapped chain.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k != Other && e.Kind == k
}

// E returns an error of kind for op, wrapping err (which may be nil).
func E(op string, kind Kind, err error) error {
	return &Error{Op: op, Kind: kind, Err: err}
}

// New returns a sentinel of kind whose text is msg alone, for a port's
// own named errors (payments.ErrUnavailable): errors.Is matches both the
// sentinel and its kind.
func New(kind Kind, msg string) error {
	return &Error{Kind: kind, Err: errors.New(msg)}
}

// Errorf is E with a formatted detail as the cause; %w in format wraps.
func Errorf(op string, kind Kind, format string, args ...any) error {
	return &Error{Op: op, Kind: kind, Err: fmt.Errorf(format, args...)}
}

// KindOf returns the kind of the outermost classified *Error in err's
// chain, or Other.
func KindOf(err error) Kind {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return Other
		}
		if e.Kind != Other {
			return e.Kind
		}
		err = e.Err
	}
	return Other
}

// Is reports whether err is of kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// Retryable reports whether retrying may help: Contention (after reading
// again) and Unavailable (after a pause).
func Retryable(err error) bool {
	switch KindOf(err) {
	case Contention, Unavailable:
		return true
	}
	return false
}
