package devstack

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/localsfn"
	"github.com/stararena/stararena/internal/localsqs"
)

// Invocation is what Lambda would bill one function for: how many times it
// ran and for how long in total (wall time on this machine).
type Invocation struct {
	Count    int64         `json:"count"`
	Duration time.Duration `json:"durationNs"`
}

// invocations counts function runs by function name: the HTTP routes'
// functions (after the authorizer, as in API Gateway), the workflow's
// tasks, the queue consumers and the scheduled functions.
type invocations struct {
	mu sync.Mutex
	m  map[string]Invocation
}

func (c *invocations) record(fn string, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]Invocation{}
	}
	v := c.m[fn]
	v.Count++
	v.Duration += d
	c.m[fn] = v
}

func (c *invocations) snapshot() map[string]Invocation {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]Invocation, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}

func (c *invocations) http(fn string, h V2Handler) V2Handler {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		defer c.timed(fn)()
		return h(dynamo.WithCaller(ctx, fn), ev)
	}
}

func (c *invocations) task(fn string, h localsfn.LambdaFunc) localsfn.LambdaFunc {
	return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		defer c.timed(fn)()
		return h(dynamo.WithCaller(ctx, fn), payload)
	}
}

func (c *invocations) sqs(fn string, h localsqs.Handler) localsqs.Handler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		defer c.timed(fn)()
		return h(dynamo.WithCaller(ctx, fn), ev)
	}
}

// timed starts timing one run of fn; call the result when it ends.
func (c *invocations) timed(fn string) func() {
	start := time.Now()
	return func() { c.record(fn, time.Since(start)) }
}

// Invocations returns, by function name, how many times each function ran
// and for how long: what the rush simulation reports as Lambda invocations
// and estimates Lambda cost from.
func (st *Stack) Invocations() map[string]Invocation { return st.calls.snapshot() }
