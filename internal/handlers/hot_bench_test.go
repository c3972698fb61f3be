package handlers_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/payments"
	"github.com/stararena/stararena/internal/payments/sandbox"
	"github.com/stararena/stararena/internal/testenv/fixture"
)

// The hot handlers, called as Lambda would call them (an API Gateway
// payload v2 event in, a response out; no HTTP in between), against the
// embedded DynamoDB in the same process. ns/op and allocs/op therefore
// include the DynamoDB client and the embedded server's own work: they are
// the handler's cost on this machine, not a Lambda duration.
//
//	go test -run '^$' -bench Hot -benchtime 2000x -benchmem ./internal/handlers

const benchSecret = "whsec_bench"

// hotStack is a local stack with an event of 20,000 seats and a large GA
// floor, sale open, no waiting room (admission at once).
func hotStack(b *testing.B) (*devstack.Stack, catalog.Event) {
	b.Helper()
	st := fixture.Stack(b, devstack.Options{ReconcileEvery: -1, InletEvery: -1, SandboxSecret: benchSecret, Logger: slog.New(slog.DiscardHandler)})
	ev := fixture.OpenEvent(b, st.App, fixture.Event{Rows: 200, SeatsPerRow: 100, GACapacity: 200_000})
	return st, ev
}

func hotFunction(b *testing.B, st *devstack.Stack, name string) *httpapi.Function {
	b.Helper()
	fn, err := st.App.HTTPFunction(name)
	if err != nil {
		b.Fatal(err)
	}
	return fn
}

// v2 is the event API Gateway hands the function for a fan's request.
func v2(routeKey, method, path string, params map[string]string, account, body string, headers map[string]string) events.APIGatewayV2HTTPRequest {
	h := map[string]string{"content-type": "application/json"}
	for k, v := range headers {
		h[k] = v
	}
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: routeKey, RawPath: path, Headers: h, PathParameters: params, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{RouteKey: routeKey, RequestID: "bench",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path}}}
	if account != "" {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": account}}}
	}
	return ev
}

// run calls fn on the prepared events, one per op, and reports DynamoDB
// requests per op next to ns/op and allocs/op.
func run(b *testing.B, st *devstack.Stack, fn *httpapi.Function, evs []events.APIGatewayV2HTTPRequest, want int) {
	b.Helper()
	ctx := context.Background()
	before := st.DynamoOps().Total()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		resp, err := fn.Handle(ctx, evs[i])
		if err != nil || resp.StatusCode != want {
			b.Fatalf("op %d: %d %s, %v", i, resp.StatusCode, resp.Body, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(st.DynamoOps().Total()-before)/float64(b.N), "ddb-req/op")
}

// BenchmarkHotAdmission is POST /v1/events/{id}/admission: the per-account
// rate limit (one conditional update), the event, an Ed25519 token.
func BenchmarkHotAdmission(b *testing.B) {
	st, ev := hotStack(b)
	fn := hotFunction(b, st, "admission")
	evs := make([]events.APIGatewayV2HTTPRequest, b.N)
	path := "/v1/events/" + ev.ID + "/admission"
	for i := range evs {
		evs[i] = v2("POST /v1/events/{eventId}/admission", "POST", path, map[string]string{"eventId": ev.ID},
			fmt.Sprintf("fan-%d", i), "{}", nil)
	}
	run(b, st, fn, evs, 200)
}

// BenchmarkHotHold is POST /v1/events/{id}/holds: one transaction with the
// admission, the account limit, the order and the places, then the order
// workflow's start. Every fan asks for a different place (uncontended).
func BenchmarkHotHold(b *testing.B) {
	for _, kind := range []string{"Seat", "GA"} {
		b.Run(kind, func(b *testing.B) {
			if b.N > 20000 {
				b.Fatalf("at most 20,000 holds (one seat each); got %d", b.N)
			}
			st, ev := hotStack(b)
			fn := hotFunction(b, st, "holds")
			ctx := context.Background()
			evs := make([]events.APIGatewayV2HTTPRequest, b.N)
			path := "/v1/events/" + ev.ID + "/holds"
			for i := range evs {
				acct := fmt.Sprintf("fan-%d", i)
				adm, _, err := st.App.Gate.Admit(ctx, acct, ev.ID)
				if err != nil {
					b.Fatal(err)
				}
				body := fmt.Sprintf(`{"admissionToken":%q,"seats":[%q]}`, adm, catalog.SeatID("A", strconv.Itoa(1+i/100), 1+i%100))
				if kind == "GA" {
					body = fmt.Sprintf(`{"admissionToken":%q,"section":"GA","quantity":1}`, adm)
				}
				evs[i] = v2("POST /v1/events/{eventId}/holds", "POST", path, map[string]string{"eventId": ev.ID}, acct, body, nil)
			}
			run(b, st, fn, evs, 201)
		})
	}
}

// BenchmarkHotWebhook is POST /webhooks/sandbox: verify the signature,
// record the provider's event once, re-fetch the payment, apply it (the
// order PENDING_PAYMENT → PAID with its seat SOLD, in one transaction) and
// resume the order's workflow. Replay is the same event delivered again:
// recognised by its id and acknowledged.
func BenchmarkHotWebhook(b *testing.B) {
	for _, kind := range []string{"Payment", "Replay"} {
		b.Run(kind, func(b *testing.B) {
			if b.N > 20000 {
				b.Fatalf("at most 20,000 orders; got %d", b.N)
			}
			st, ev := hotStack(b)
			fn := hotFunction(b, st, "webhooks")
			ctx := context.Background()
			n := b.N
			if kind == "Replay" {
				n = 1
			}
			bodies := make([][]byte, n)
			for i := range bodies {
				acct := fmt.Sprintf("fan-%d", i)
				adm, _, err := st.App.Gate.Admit(ctx, acct, ev.ID)
				if err != nil {
					b.Fatal(err)
				}
				o, err := st.App.Inventory.Hold(ctx, acct, ev.ID, inventory.HoldRequest{AdmissionToken: adm,
					Seats: []string{catalog.SeatID("A", strconv.Itoa(1+i/100), 1+i%100)}}, "")
				if err != nil {
					b.Fatal(err)
				}
				pay, err := st.Sandbox.CreatePayment(ctx, o.ID, o.AmountCents, o.Currency)
				if err != nil {
					b.Fatal(err)
				}
				// The fan pays; the provider's own delivery is dropped so that
				// the benchmark delivers the event itself.
				if _, err := st.Sandbox.Complete(pay.ID, sandbox.Completion{Outcome: sandbox.OutcomeSucceeded, Webhook: sandbox.WebhookDrop}); err != nil {
					b.Fatal(err)
				}
				bodies[i] = fmt.Appendf(nil, `{"id":"evt_bench_%d","object":"event","type":"payment_intent.succeeded","created":%d,"livemode":false,"pending_webhooks":1,`+
					`"data":{"object":{"id":%q,"object":"payment_intent","amount":%d,"amount_received":%d,"currency":"eur","status":"succeeded","metadata":{"order_id":%q}}}}`,
					i, time.Now().Unix(), pay.ID, o.AmountCents, o.AmountCents, o.ID)
			}
			hook := func(body []byte) events.APIGatewayV2HTTPRequest {
				return v2("POST /webhooks/{provider}", "POST", "/webhooks/sandbox", map[string]string{"provider": "sandbox"}, "", string(body),
					map[string]string{"stripe-signature": payments.Sign(benchSecret, body, time.Now())})
			}
			evs := make([]events.APIGatewayV2HTTPRequest, b.N)
			for i := range evs {
				evs[i] = hook(bodies[min(i, n-1)])
			}
			if kind == "Replay" {
				if resp, err := fn.Handle(ctx, evs[0]); err != nil || resp.StatusCode != 200 {
					b.Fatalf("first delivery: %d %s %v", resp.StatusCode, resp.Body, err)
				}
			}
			run(b, st, fn, evs, 200)
		})
	}
}
