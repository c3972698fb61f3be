package openapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/localdynamo"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/payments"
	"github.com/stararena/stararena/internal/testenv/fixture"
)

// faultyWorld starts the local stack on an embedded DynamoDB of the test's
// own, built without faults (the test turns them on and off), and creates
// an open event (openEventBody) as organizer-1.
type faultyWorld struct {
	st         *devstack.Stack
	db         *localdynamo.Server
	c          *conformance
	org, event string
}

func newFaultyWorld(t *testing.T) faultyWorld {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the local stack")
	}
	db := localdynamo.New(localdynamo.Options{})
	srv := httptest.NewServer(db)
	t.Cleanup(srv.Close)
	o := stackOptions(t)
	o.Config = fixture.Config(t)
	o.Config.DynamoEndpoint, o.Config.TableName = srv.URL, "faults"
	st := fixture.Stack(t, o)
	c := &conformance{t: t, spec: loadSpec(t), base: st.URL(), seen: map[string]map[int]bool{}}
	org := c.token("organizer-1", "organizer")
	return faultyWorld{st: st, db: db, c: c, org: org, event: c.createEvent("open event", org, openEventBody())}
}

// openEventBody is an event on sale since a minute ago without a waiting
// room: ten reserved seats in A and six GA places.
func openEventBody() []byte {
	return createBody(func(m map[string]any) {
		m["saleOpensAt"] = time.Now().Add(-time.Minute).UTC().Truncate(time.Second).Format(time.RFC3339)
		m["holdSeconds"] = 3600 // 36 s at the stack's time scale
		m["queue"] = map[string]any{"mode": "off"}
		m["maxTicketsPerAccount"] = 4
		m["sections"] = []any{
			map[string]any{"id": "A", "priceCents": 4500, "currency": "EUR", "rows": []any{map[string]any{"id": "1", "seats": 10}}},
			map[string]any{"id": "GA", "priceCents": 3000, "currency": "EUR", "capacity": 6},
		}
	})
}

// fanCall is one request of a fan outside the contract checks: the status
// and body, whatever they are.
func fanCall(base, method, path, token string, body []byte, hdr map[string]string) (int, []byte, error) {
	req, err := buildRequest(base, call{method: method, path: path, token: token, body: body, headers: hdr})
	if err != nil {
		return 0, nil, err
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// TestMoneyPathUnderInjectedDynamoDBFaults runs fans through hold, payment
// (sandbox, signed webhook) and ticket issue while the embedded DynamoDB
// cancels transactions for conflicts, throttles and loses answers after
// committed writes, as AWS does. A fan retries a 503 as the site does.
// Then, with the faults off and the reconciler run, the money-path
// invariants hold: no place sold twice or beyond capacity, every captured
// payment pays exactly one issued order with its tickets or is refunded,
// and no fan saw a 500.
func TestMoneyPathUnderInjectedDynamoDBFaults(t *testing.T) {
	w := newFaultyWorld(t)
	st, db, c, org, event := w.st, w.db, w.c, w.org, w.event
	const fans = 14
	tokens := make([]string, fans)
	for i := range tokens {
		tokens[i] = c.token(fmt.Sprintf("fan-fault-%d", i), "fan")
	}

	faults := localdynamo.Faults{Conflict: 0.2, Throttle: 0.25, LostAnswer: 0.1, Seed: 1}
	db.SetFaults(faults)
	var mu sync.Mutex
	seen := map[string]map[int]int{} // step → status → count
	paid := map[string]bool{}        // orders whose payment the sandbox captured
	note := func(step string, status int) {
		mu.Lock()
		defer mu.Unlock()
		if seen[step] == nil {
			seen[step] = map[int]int{}
		}
		seen[step][status]++
	}
	// call retries 503 answers with a growing pause, as the site does.
	call := func(step, method, path, token string, body []byte, hdr map[string]string) (int, []byte) {
		for attempt := 1; ; attempt++ {
			status, b, err := fanCall(st.URL(), method, path, token, body, hdr)
			if err != nil {
				t.Errorf("%s: %v", step, err)
				return 0, nil
			}
			note(step, status)
			if status != http.StatusServiceUnavailable || attempt == 30 {
				return status, b
			}
			time.Sleep(time.Duration(attempt) * 20 * time.Millisecond)
		}
	}
	var wg sync.WaitGroup
	for i := range fans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := tokens[i]
			status, b := call("admission", "POST", "/v1/events/"+event+"/admission", tok, nil, nil)
			if status != http.StatusOK {
				t.Errorf("fan %d admission: %d %s", i, status, truncate(b))
				return
			}
			var adm struct{ AdmissionToken string }
			_ = json.Unmarshal(b, &adm)
			hold := sectionBody(adm.AdmissionToken, "A", 2)
			if i%2 == 1 {
				hold = sectionBody(adm.AdmissionToken, "GA", 1)
			}
			status, b = call("hold", "POST", "/v1/events/"+event+"/holds", tok, hold, map[string]string{"Idempotency-Key": fmt.Sprintf("hold-%d", i)})
			if status == http.StatusConflict {
				return // sold out: a fair outcome
			}
			var o orderView
			if status != http.StatusCreated || json.Unmarshal(b, &o) != nil || o.OrderID == "" {
				t.Errorf("fan %d hold: %d %s", i, status, truncate(b))
				return
			}
			status, b = call("payment", "POST", "/v1/orders/"+o.OrderID+"/payments", tok, []byte(`{"provider":"sandbox"}`), nil)
			var p struct{ PaymentID string }
			if status != http.StatusCreated || json.Unmarshal(b, &p) != nil || p.PaymentID == "" {
				t.Errorf("fan %d payment: %d %s", i, status, truncate(b))
				return
			}
			status, b = call("pay", "POST", "/sandbox/payments/"+p.PaymentID+"/complete", "", []byte(`{"outcome":"succeeded","webhook":"deliver"}`), nil)
			if status != http.StatusOK {
				t.Errorf("fan %d pay: %d %s", i, status, truncate(b))
				return
			}
			mu.Lock()
			paid[o.OrderID] = true
			mu.Unlock()
			// The fan watches the order while the webhook and the
			// workflow run under the faults.
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				status, b = call("order", "GET", "/v1/orders/"+o.OrderID, tok, nil, nil)
				if status == http.StatusOK && orderOfBody(b).Status == string(orders.Issued) {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	injected := db.Injected()
	db.SetFaults(localdynamo.Faults{})
	t.Logf("faults %s injected %v; fan answers by step %v", faults, injected, seen)

	// THEN every fault kind fired and no fan saw a 500 (nor anything but
	// the documented answers)
	for _, kind := range []string{localdynamo.FaultConflict, localdynamo.FaultThrottle, localdynamo.FaultLostAnswer} {
		if injected[kind] == 0 {
			t.Errorf("no %s was injected: the run did not exercise it", kind)
		}
	}
	allowed := map[string][]int{"admission": {200, 503}, "hold": {201, 409, 503}, "payment": {201, 503}, "pay": {200}, "order": {200, 503}}
	for step, statuses := range seen {
		for status, n := range statuses {
			ok := false
			for _, a := range allowed[step] {
				ok = ok || a == status
			}
			if !ok {
				t.Errorf("%s answered %d %d times", step, status, n)
			}
		}
	}

	// WHEN the reconciler runs with the faults off until every order has
	// settled (expired holds released, lost webhooks applied)
	ctx := context.Background()
	var all []orders.Order
	deadline := time.Now().Add(90 * time.Second)
	for {
		status, b, err := fanCall(st.URL(), "POST", "/admin/v1/reconcile", org, []byte(fmt.Sprintf(`{"eventId":%q}`, event)), nil)
		if err != nil || status != http.StatusOK {
			t.Fatalf("reconcile: %d %v %s", status, err, truncate(b))
		}
		all, err = st.App.Stores.Reports.EventOrders(ctx, event)
		if err != nil {
			t.Fatal(err)
		}
		settled := true
		for _, o := range all {
			settled = settled && o.Status.Terminal()
		}
		if settled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("orders not settled 90 s after the fans: %v", statuses(all))
		}
		time.Sleep(time.Second)
	}

	// THEN no place is sold twice or beyond capacity
	seatOwner := map[string]string{}
	gaSold := 0
	byID := map[string]orders.Order{}
	for _, o := range all {
		byID[o.ID] = o
		_, ts, _, err := st.App.Stores.Tickets.OrderTickets(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		valid := 0
		for _, tk := range ts {
			if !tk.RevokedAt.IsZero() {
				continue
			}
			valid++
			if o.Section == "GA" {
				continue
			}
			if other, dup := seatOwner[tk.Seat]; dup {
				t.Errorf("seat %s has valid tickets of orders %s and %s", tk.Seat, other, o.ID)
			}
			seatOwner[tk.Seat] = o.ID
		}
		if o.Status == orders.Issued {
			if valid != o.Places() {
				t.Errorf("issued order %s has %d valid tickets for %d places", o.ID, valid, o.Places())
			}
			if o.Section == "GA" {
				gaSold += o.Places()
			}
		} else if valid != 0 {
			t.Errorf("order %s is %s with %d valid tickets", o.ID, o.Status, valid)
		}
	}
	if len(seatOwner) > 10 || gaSold > 6 {
		t.Errorf("sold %d seats of 10 and %d GA places of 6", len(seatOwner), gaSold)
	}
	// AND every captured payment pays one issued order or went back
	ps, err := st.Sandbox.PaymentsSince(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	kept := map[string]int{}
	for _, p := range ps {
		if !p.Paid() || p.AmountRefundedCents >= p.AmountCents {
			continue
		}
		kept[p.OrderID]++
		if o, ok := byID[p.OrderID]; !ok || o.Status != orders.Issued || o.PaymentID != p.ID {
			t.Errorf("payment %s of order %s (%s, paid by %q) kept without tickets", p.ID, p.OrderID, o.Status, o.PaymentID)
		}
	}
	for id, n := range kept {
		if n > 1 {
			t.Errorf("order %s keeps %d captured payments", id, n)
		}
	}
	// AND every fan who paid has tickets or the money back
	for id := range paid {
		o := byID[id]
		if o.Status != orders.Issued && !refundedAll(ps, id) {
			t.Errorf("order %s was paid and is %s without a refund", id, o.Status)
		}
	}
	if len(paid) == 0 {
		t.Error("no fan got as far as paying")
	}
}

// TestThrottledDynamoDBAnswersFans503 checks that a DynamoDB that throttles
// every request, or cancels every transaction for a conflict, reaches a
// fan as 503 UNAVAILABLE (retry later), never as 409 (seats taken) or 500,
// and that nothing was applied: the same admission then holds.
func TestThrottledDynamoDBAnswersFans503(t *testing.T) {
	w := newFaultyWorld(t)
	db, c, event := w.db, w.c, w.event
	fan := c.token("fan-throttled", "fan")
	holds := "/v1/events/" + event + "/holds"
	var orderID string
	c.step("hold to pay later", call{method: "POST", path: holds, token: fan, body: seatsBody(c.admit(event, fan), "A-1-1"), status: 201, valid: true,
		check: func(t *testing.T, b []byte) { orderID = orderOf(t, b).OrderID }})
	adm := c.admit(event, fan)

	db.SetFaults(localdynamo.Faults{Throttle: 1})
	// The hold's retries (the SDK's and its own) share one budget inside
	// the holds function's deadline: under throttling that never lets up
	// the fan is told 503 in time, not the deadline's 500.
	holdStarted := time.Now()
	c.step("hold while throttled", call{method: "POST", path: holds, token: fan, body: seatsBody(adm, "A-1-2"), status: 503, code: "UNAVAILABLE", valid: true,
		checkHeader: func(t *testing.T, h http.Header) {
			if h.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		}})
	if fn, _ := w.st.App.Topology.Function("holds"); time.Since(holdStarted) >= fn.Timeout {
		t.Errorf("the throttled hold took %s, the holds function's deadline is %s", time.Since(holdStarted), fn.Timeout)
	}
	for _, cs := range []call{
		{name: "admission while throttled", method: "POST", path: "/v1/events/" + event + "/admission", token: fan, status: 503, code: "UNAVAILABLE", valid: true},
		{name: "payment while throttled", method: "POST", path: "/v1/orders/" + orderID + "/payments", token: fan, body: []byte(`{"provider":"sandbox"}`), status: 503, code: "UNAVAILABLE", valid: true},
	} {
		t.Run(cs.name, func(t *testing.T) { c.do(t, cs) })
	}
	db.SetFaults(localdynamo.Faults{Conflict: 1})
	c.step("hold while every transaction conflicts", call{method: "POST", path: holds, token: fan, body: seatsBody(adm, "A-1-2"), status: 503, code: "UNAVAILABLE", valid: true})
	db.SetFaults(localdynamo.Faults{})
	c.step("the same hold once DynamoDB answers", call{method: "POST", path: holds, token: fan, body: seatsBody(adm, "A-1-2"), status: 201, valid: true})
	if n := db.Injected()[localdynamo.FaultConflict]; n < 2 {
		t.Errorf("%d conflicts injected: the hold did not retry its transaction", n)
	}
}

func orderOfBody(b []byte) orderView {
	var o orderView
	_ = json.Unmarshal(b, &o)
	return o
}

func statuses(os []orders.Order) map[orders.Status]int {
	m := map[orders.Status]int{}
	for _, o := range os {
		m[o.Status]++
	}
	return m
}

func refundedAll(ps []payments.Payment, orderID string) bool {
	any := false
	for _, p := range ps {
		if p.OrderID == orderID && p.Paid() {
			if p.AmountRefundedCents < p.AmountCents {
				return false
			}
			any = true
		}
	}
	return any
}
