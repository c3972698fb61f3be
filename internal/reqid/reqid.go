// Package reqid carries a request id in a context, so that a report an
// organizer reads and the log lines behind it name the same request: the
// report says what kind of failure happened and under which id, the log
// holds the error text under that id.
package reqid

import (
	"context"

	"github.com/google/uuid"
)

type key struct{}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// From returns the request id in ctx, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

// Ensure returns ctx and its request id, giving ctx a new one when it has
// none (a scheduled run has no HTTP request to name it).
func Ensure(ctx context.Context) (context.Context, string) {
	if id := From(ctx); id != "" {
		return ctx, id
	}
	id := uuid.NewString()
	return With(ctx, id), id
}
