package handlers_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/payments/sandbox"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/testenv/fixture"
)

// call runs one request through function name of a as API Gateway would
// hand it over, signed in as sub.
func call(t *testing.T, a *app.App, name, routeKey, path, sub, body string, params map[string]string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	fn, err := a.HTTPFunction(name)
	if err != nil {
		t.Fatal(err)
	}
	ev := events.APIGatewayV2HTTPRequest{RouteKey: routeKey, RawPath: path, Body: body, PathParameters: params,
		Headers: map[string]string{"content-type": "application/json"}}
	ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = strings.Fields(routeKey)[0], path
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": sub}}}
	resp, _ := fn.Handle(context.Background(), ev)
	return resp
}

// One account's hold and payment requests are limited per minute (429
// with Retry-After at the window's end); another account is not.
func TestHoldAndPaymentRequestsAreLimitedPerAccount(t *testing.T) {
	clk := clock.NewManual(time.Now().Truncate(time.Minute).Add(15 * time.Second))
	a := fixture.NewApp(t, fixture.AppOptions{Clock: clk})
	ev := fixture.OpenEvent(t, a, fixture.Event{})
	holdPath := "/v1/events/" + ev.ID + "/holds"
	hold := func(sub string) events.APIGatewayV2HTTPResponse {
		return call(t, a, "holds", "POST /v1/events/{eventId}/holds", holdPath, sub,
			`{"admissionToken":"junk","seats":["A-1-1"]}`, map[string]string{"eventId": ev.ID})
	}
	for i := range limits.HoldsPerMinute {
		if r := hold("fan-1"); r.StatusCode != http.StatusForbidden {
			t.Fatalf("junk hold %d: %d %s, want 403 ADMISSION_INVALID", i+1, r.StatusCode, r.Body)
		}
	}
	r := hold("fan-1")
	if r.StatusCode != http.StatusTooManyRequests || !strings.Contains(r.Body, `"RATE_LIMITED"`) || r.Headers["Retry-After"] != "46" {
		t.Fatalf("hold over the limit: %d Retry-After %q %s, want 429 RATE_LIMITED, Retry-After 46 (the window ends in 45 s)", r.StatusCode, r.Headers["Retry-After"], r.Body)
	}
	if r := hold("fan-2"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("another account's hold: %d %s", r.StatusCode, r.Body)
	}

	pay := func(sub string) events.APIGatewayV2HTTPResponse {
		return call(t, a, "orders", "POST /v1/orders/{orderId}/payments", "/v1/orders/o-1/payments", sub,
			`{"provider":"sandbox"}`, map[string]string{"orderId": "o-1"})
	}
	for i := range limits.PaymentsPerMinute {
		if r := pay("fan-1"); r.StatusCode != http.StatusNotFound {
			t.Fatalf("payment %d for an unknown order: %d %s, want 404", i+1, r.StatusCode, r.Body)
		}
	}
	if r := pay("fan-1"); r.StatusCode != http.StatusTooManyRequests || r.Headers["Retry-After"] != "46" {
		t.Fatalf("payment over the limit: %d Retry-After %q %s", r.StatusCode, r.Headers["Retry-After"], r.Body)
	}
	clk.Advance(time.Minute)
	if r := hold("fan-1"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("next window: %d %s", r.StatusCode, r.Body)
	}
}

// With the hold limiter's counter throttled (the hold's transaction,
// which counts the request, and the refusal's count), holds fail closed: 503
// UNAVAILABLE with Retry-After, logged and counted; the rest of the table
// answers as usual.
func TestHoldLimiterFailsClosed(t *testing.T) {
	db, table := testenv.ThrottledDynamoDB(t, func(op string, body []byte) bool {
		// The hold rate limit counts on the account's limit item: in the
		// hold's transaction, or alone for a request that makes no order.
		return (op == "UpdateItem" || op == "TransactWriteItems") && bytes.Contains(body, []byte(`"rate#`))
	})
	var logs testenv.Buffer
	a := fixture.NewApp(t, fixture.AppOptions{DB: db, Table: table, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	ev := fixture.OpenEvent(t, a, fixture.Event{})
	adm := fixture.Admit(t, a, "fan-1", ev.ID)
	r := call(t, a, "holds", "POST /v1/events/{eventId}/holds", "/v1/events/"+ev.ID+"/holds", "fan-1",
		`{"admissionToken":"`+adm+`","seats":["A-1-1"]}`, map[string]string{"eventId": ev.ID})
	if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(r.Body, `"UNAVAILABLE"`) || r.Headers["Retry-After"] != "1" {
		t.Fatalf("hold with the limiter throttled: %d Retry-After %q %s, want 503 UNAVAILABLE", r.StatusCode, r.Headers["Retry-After"], r.Body)
	}
	if !strings.Contains(logs.String(), `"msg":"rate limit counter unreachable: refusing the call","limiter":"holds"`) {
		t.Fatalf("the refusal is not logged: %s", logs.String())
	}
}

// The request that starts an order's first payment is not counted in the
// account's payment limit (the provider keys the payment by order, and
// holds bound the orders): an account pays more orders in a minute than
// the limit, and repeats for one order are still limited at
// PaymentsPerMinute, with 429 RATE_LIMITED and Retry-After at the window's
// end.
func TestFirstPaymentOfEachOrderIsNotCounted(t *testing.T) {
	clk := clock.NewManual(time.Now().Truncate(time.Minute).Add(15 * time.Second))
	a := fixture.NewApp(t, fixture.AppOptions{Clock: clk})
	box, err := sandbox.New(sandbox.Options{Secret: "whsec_limits", Clock: clk, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer box.Close()
	a.Providers[sandbox.Name] = box
	var ids []string
	for range 2 {
		ev := fixture.OpenEvent(t, a, fixture.Event{Rows: 2, MaxTicketsPerAccount: 12})
		for i := range 12 {
			seat := fmt.Sprintf("A-%d-%d", i/10+1, i%10+1)
			ids = append(ids, fixture.Hold(t, a, "fan-1", ev.ID, inventory.HoldRequest{Seats: []string{seat}}).ID)
		}
	}
	if len(ids) <= limits.PaymentsPerMinute {
		t.Fatalf("%d orders: the test needs more than the limit", len(ids))
	}
	pay := func(id string) events.APIGatewayV2HTTPResponse {
		return call(t, a, "orders", "POST /v1/orders/{orderId}/payments", "/v1/orders/"+id+"/payments", "fan-1",
			`{"provider":"sandbox"}`, map[string]string{"orderId": id})
	}
	for i, id := range ids {
		if r := pay(id); r.StatusCode != http.StatusCreated {
			t.Fatalf("first payment of order %d: %d %s, want 201", i+1, r.StatusCode, r.Body)
		}
	}
	for i := range limits.PaymentsPerMinute {
		if r := pay(ids[0]); r.StatusCode != http.StatusCreated {
			t.Fatalf("repeat %d for one order: %d %s, want 201", i+1, r.StatusCode, r.Body)
		}
	}
	r := pay(ids[0])
	if r.StatusCode != http.StatusTooManyRequests || !strings.Contains(r.Body, `"RATE_LIMITED"`) || r.Headers["Retry-After"] != "46" {
		t.Fatalf("repeat over the limit: %d Retry-After %q %s, want 429 RATE_LIMITED, Retry-After 46", r.StatusCode, r.Headers["Retry-After"], r.Body)
	}
	// Over the limit, another order's repeat is refused too: the limit is
	// the account's.
	if r := pay(ids[1]); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("another order's repeat over the limit: %d %s, want 429", r.StatusCode, r.Body)
	}
	clk.Advance(time.Minute)
	if r := pay(ids[0]); r.StatusCode != http.StatusCreated {
		t.Fatalf("next window: %d %s, want 201", r.StatusCode, r.Body)
	}
}
