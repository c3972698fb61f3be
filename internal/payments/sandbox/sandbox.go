// Package sandbox is a built-in payment provider with Stripe's semantics,
// for local runs and tests: payments are PaymentIntent-like, created
// idempotently per order; a fan "pays" on a small checkout page (or a test
// calls Complete); the provider then POSTs Stripe-shaped events, signed in
// Stripe's scheme, to a webhook URL, retrying a delivery that does not get
// a 2xx with backoff. Faults are injectable: a webhook dropped, duplicated,
// delayed or delivered out of order, a duplicate capture for an order, and
// provider calls that fail N times.
//
// State lives in memory behind one mutex, as if in an external system; no
// lock is held while a webhook is delivered, so a receiver may call back
// into the provider (the active query). Close stops pending deliveries.
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/payments"
)

// Name is the provider's name ("sandbox").
const Name = "sandbox"

// Webhook behaviours of Complete and DuplicateCapture.
const (
	WebhookDeliver   = "deliver"   // deliver once (retried until 2xx)
	WebhookDrop      = "drop"      // never deliver: the lost callback
	WebhookDuplicate = "duplicate" // deliver the same event (same id) twice, concurrently
	WebhookDelay     = "delay"     // deliver after Completion.Delay (scaled)
	// WebhookReorder delivers the outcome's event and then, once that
	// delivery has ended, a stale payment_intent.processing event for the
	// same payment (created before it, object status "processing"): the
	// out-of-order callback.
	WebhookReorder = "reorder"
)

// Outcomes of Complete.
const (
	OutcomeSucceeded = "succeeded" // the fan paid: status succeeded, payment_intent.succeeded
	OutcomeDeclined  = "declined"  // the card was declined: status failed, payment_intent.payment_failed
)

// DefaultDelay is the delay of WebhookDelay when none is given.
const DefaultDelay = 30 * time.Second

// MaxDelay bounds Completion.Delay (three days, Stripe's retry horizon).
const MaxDelay = limits.SandboxMaxDelay

// Waiter is implemented by a clock that can also wait (a test clock that
// fires timers when it is advanced). When Options.Clock implements it, the
// sandbox waits on it; otherwise it waits on real timers.
type Waiter interface {
	After(d time.Duration) <-chan time.Time
}

// Options configure a Sandbox.
type Options struct {
	// WebhookURL receives the events (POST, JSON, Stripe-Signature). Empty:
	// events are recorded but not sent.
	WebhookURL string
	// Secret signs the webhooks (SANDBOX_WEBHOOK_SECRET). Required.
	Secret string
	// Clock stamps payments, events and signatures. Default: clock.System.
	Clock clock.Clock
	// TimeScale multiplies every wait (retry backoff, WebhookDelay): 1 is
	// real time, 0.001 turns a 5 s backoff into 5 ms. Default 1.
	TimeScale float64
	// HTTPClient sends the webhooks. Default: a client with a 10 s timeout.
	HTTPClient *http.Client
	// CheckoutBaseURL prefixes Payment.CheckoutURL, e.g.
	// "http://127.0.0.1:8080" gives "http://127.0.0.1:8080/sandbox/checkout/pi_...".
	// Empty gives a root-relative URL.
	CheckoutBaseURL string
	// Logger logs deliveries. Default: slog.Default().
	Logger *slog.Logger
	// MaxAttempts is how many times one delivery is tried. Default 8.
	MaxAttempts int
	// Backoff is the wait before retry n (n >= 1), before scaling. Default:
	// 5 s, 15 s, 45 s, ... tripling up to 1 h (Stripe retries with
	// exponential backoff for up to three days in live mode).
	Backoff func(retry int) time.Duration
}

// Op names a provider call for fault injection.
type Op string

// Provider calls that SetFailures can make fail.
const (
	OpCreatePayment    Op = "CreatePayment"
	OpGetPayment       Op = "GetPayment"
	OpPaymentsForOrder Op = "PaymentsForOrder"
	OpRefund           Op = "Refund"
)

// Fault makes the next Times calls of one Op fail.
type Fault struct {
	Times int
	// Err is returned; nil means payments.ErrUnavailable.
	Err error
	// AfterEffect makes the call take effect and then fail: the lost
	// response. A retry with the same idempotency key must find the effect
	// and not repeat it.
	AfterEffect bool
}

// Completion is what happens at the checkout.
type Completion struct {
	Outcome string        // OutcomeSucceeded or OutcomeDeclined
	Webhook string        // a Webhook* behaviour; empty means WebhookDeliver
	Delay   time.Duration // WebhookDelay only; 0 means DefaultDelay
}

// Sandbox is the in-memory provider. Create it with New; it is safe for
// concurrent use.
type Sandbox struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	payments map[string]*payment
	byOrder  map[string][]*payment // creation order
	primary  map[string]*payment   // the payment CreatePayment made for an order
	refunds  map[string]*refund    // by idempotency key
	faults   map[Op]*Fault
	seq      int64
	closed   bool
	active   int           // running delivery goroutines
	idle     chan struct{} // closed when active drops to 0

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type payment struct {
	p        payments.Payment
	seq      int64
	chargeID string
	refunds  []*refund
	events   []*event
}

type refund struct {
	r   payments.Refund
	key string
	at  time.Time
	seq int64
}

// RefundRecord is one refund the sandbox made: an idempotent replay of a
// refund is not a new one.
type RefundRecord struct {
	ID             string
	PaymentID      string
	IdempotencyKey string
	AmountCents    int64
	At             time.Time
}

// Refunds lists every refund made, in the order they were made: the
// provider's own record, for checks that must not trust the orders.
func (s *Sandbox) Refunds() []RefundRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []*refund
	for _, p := range s.payments {
		all = append(all, p.refunds...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	out := make([]RefundRecord, len(all))
	for i, r := range all {
		out[i] = RefundRecord{ID: r.r.ID, PaymentID: r.r.PaymentID, IdempotencyKey: r.key, AmountCents: r.r.AmountCents, At: r.at}
	}
	return out
}

// event is one webhook event and the state of its deliveries.
type event struct {
	ID      string
	Type    string
	Created time.Time
	Mode    string
	body    []byte

	// guarded by Sandbox.mu
	Attempts  int
	Delivered int
	LastError string
}

// New returns a sandbox provider.
func New(o Options) (*Sandbox, error) {
	if o.Secret == "" {
		return nil, errors.New("sandbox: a webhook secret is required")
	}
	if o.TimeScale < 0 {
		return nil, fmt.Errorf("sandbox: TimeScale %v is negative", o.TimeScale)
	}
	if o.TimeScale == 0 {
		o.TimeScale = 1
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.Backoff == nil {
		o.Backoff = DefaultBackoff
	}
	o.CheckoutBaseURL = strings.TrimRight(o.CheckoutBaseURL, "/")
	ctx, cancel := context.WithCancel(context.Background())
	return &Sandbox{
		opts: o, log: o.Logger.With("provider", Name),
		payments: map[string]*payment{}, byOrder: map[string][]*payment{}, primary: map[string]*payment{},
		refunds: map[string]*refund{}, faults: map[Op]*Fault{},
		idle: make(chan struct{}), ctx: ctx, cancel: cancel,
	}, nil
}

// DefaultBackoff is 5 s before the first retry, tripling, at most 1 h.
func DefaultBackoff(retry int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < retry && d < time.Hour; i++ {
		d *= 3
	}
	return min(d, time.Hour)
}

// Close stops every pending and in-flight delivery and waits for their
// goroutines to end. The provider still answers calls afterwards but sends
// no more webhooks.
func (s *Sandbox) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// Name returns "sandbox".
func (s *Sandbox) Name() string { return Name }

// SetFailures makes the next f.Times calls of op fail (replacing an
// earlier setting for op; Times 0 clears it).
func (s *Sandbox) SetFailures(op Op, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		delete(s.faults, op)
		return
	}
	if f.Err == nil {
		f.Err = fmt.Errorf("%w: injected failure of %s", payments.ErrUnavailable, op)
	}
	s.faults[op] = &f
}

// takeFault consumes one injected failure of op. Callers hold s.mu.
func (s *Sandbox) takeFault(op Op) (err error, afterEffect bool) {
	f := s.faults[op]
	if f == nil {
		return nil, false
	}
	f.Times--
	if f.Times <= 0 {
		delete(s.faults, op)
	}
	return f.Err, f.AfterEffect
}

// CreatePayment returns the order's payment, creating it on the first call.
func (s *Sandbox) CreatePayment(ctx context.Context, orderID string, amountCents int64, currency string) (payments.Payment, error) {
	if err := ctx.Err(); err != nil {
		return payments.Payment{}, err
	}
	cur, err := payments.CheckCreate(orderID, amountCents, currency)
	if err != nil {
		return payments.Payment{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ferr, after := s.takeFault(OpCreatePayment)
	if ferr != nil && !after {
		return payments.Payment{}, ferr
	}
	if p := s.primary[orderID]; p != nil {
		if p.p.AmountCents != amountCents || p.p.Currency != cur {
			return payments.Payment{}, fmt.Errorf("%w: order %s was created with %d %s, not %d %s (idempotency key reused with other parameters)",
				payments.ErrConflict, orderID, p.p.AmountCents, p.p.Currency, amountCents, cur)
		}
		return p.p, ferr
	}
	p := s.newPayment(orderID, amountCents, cur)
	s.primary[orderID] = p
	return p.p, ferr
}

// newPayment stores a new payment awaiting payment. Callers hold s.mu.
func (s *Sandbox) newPayment(orderID string, amountCents int64, currency string) *payment {
	id := newID("pi_")
	s.seq++
	p := &payment{seq: s.seq, p: payments.Payment{
		ID: id, OrderID: orderID, Status: payments.StatusRequiresPayment,
		AmountCents: amountCents, Currency: currency,
		CheckoutURL:  s.opts.CheckoutBaseURL + "/sandbox/checkout/" + id,
		ClientSecret: id + "_secret_" + randHex(12),
		Created:      s.opts.Clock.Now().UTC(),
	}}
	s.payments[id] = p
	s.byOrder[orderID] = append(s.byOrder[orderID], p)
	return p
}

// GetPayment re-fetches a payment.
func (s *Sandbox) GetPayment(ctx context.Context, paymentID string) (payments.Payment, error) {
	if err := ctx.Err(); err != nil {
		return payments.Payment{}, err
	}
	if err := payments.CheckID("payment id", paymentID); err != nil {
		return payments.Payment{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ferr, after := s.takeFault(OpGetPayment)
	if ferr != nil && !after {
		return payments.Payment{}, ferr
	}
	p := s.payments[paymentID]
	if p == nil {
		return payments.Payment{}, fmt.Errorf("%w: %s", payments.ErrNotFound, paymentID)
	}
	return p.p, ferr
}

// PaymentsForOrder returns every payment of an order, oldest first.
func (s *Sandbox) PaymentsForOrder(ctx context.Context, orderID string) ([]payments.Payment, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := payments.CheckID("order id", orderID); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ferr, after := s.takeFault(OpPaymentsForOrder)
	if ferr != nil && !after {
		return nil, ferr
	}
	list := s.byOrder[orderID]
	out := make([]payments.Payment, 0, len(list))
	for _, p := range list {
		out = append(out, p.p)
	}
	return out, ferr
}

// PaymentsSince lists payments created at or after since, oldest first.
func (s *Sandbox) PaymentsSince(ctx context.Context, since time.Time) ([]payments.Payment, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*payment
	for _, p := range s.payments {
		if !p.p.Created.Before(since) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	res := make([]payments.Payment, len(out))
	for i, p := range out {
		res[i] = p.p
	}
	return res, nil
}

// Refund refunds a succeeded payment in full, idempotently by key, and
// sends charge.refunded.
func (s *Sandbox) Refund(ctx context.Context, paymentID, idempotencyKey string) (payments.Refund, error) {
	if err := ctx.Err(); err != nil {
		return payments.Refund{}, err
	}
	if err := payments.CheckID("payment id", paymentID); err != nil {
		return payments.Refund{}, err
	}
	if err := payments.CheckID("idempotency key", idempotencyKey); err != nil {
		return payments.Refund{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ferr, after := s.takeFault(OpRefund)
	if ferr != nil && !after {
		return payments.Refund{}, ferr
	}
	if r := s.refunds[idempotencyKey]; r != nil {
		if r.r.PaymentID != paymentID {
			return payments.Refund{}, fmt.Errorf("%w: idempotency key %q was used to refund %s", payments.ErrConflict, idempotencyKey, r.r.PaymentID)
		}
		return r.r, ferr
	}
	p := s.payments[paymentID]
	switch {
	case p == nil:
		return payments.Refund{}, fmt.Errorf("%w: %s", payments.ErrNotFound, paymentID)
	case p.p.Status != payments.StatusSucceeded:
		return payments.Refund{}, fmt.Errorf("%w: payment %s is %s; only a succeeded payment can be refunded", payments.ErrConflict, paymentID, p.p.Status)
	case p.p.AmountRefundedCents >= p.p.AmountCents:
		return payments.Refund{}, fmt.Errorf("%w: payment %s is already refunded", payments.ErrConflict, paymentID)
	}
	s.seq++
	r := &refund{key: idempotencyKey, at: s.opts.Clock.Now(), seq: s.seq, r: payments.Refund{
		ID: newID("re_"), PaymentID: paymentID, AmountCents: p.p.AmountCents - p.p.AmountRefundedCents, Status: "succeeded",
	}}
	p.p.AmountRefundedCents = p.p.AmountCents
	p.refunds = append(p.refunds, r)
	s.refunds[idempotencyKey] = r
	s.emit(p, payments.EventChargeRefunded, s.chargeObject(p), WebhookDeliver, 0)
	return r.r, ferr
}

// ParseWebhook verifies a sandbox webhook (Stripe's scheme under the
// sandbox secret, DefaultTolerance) and reads the event.
func (s *Sandbox) ParseWebhook(payload []byte, signatureHeader string, now time.Time) (payments.WebhookEvent, error) {
	return ParseWebhook(s.opts.Secret, payload, signatureHeader, now)
}

// ParseWebhook is the sandbox's webhook parser, usable without a Sandbox
// (the webhook handler of a process that does not host the provider).
// See payments.Provider.ParseWebhook for the errors.
func ParseWebhook(secret string, payload []byte, signatureHeader string, now time.Time) (payments.WebhookEvent, error) {
	if err := payments.Verify(secret, payload, signatureHeader, now, payments.DefaultTolerance); err != nil {
		return payments.WebhookEvent{}, err
	}
	return payments.DecodeEvent(payload)
}

// Complete simulates the fan at the checkout: the payment succeeds or is
// declined, and the matching event is sent as c.Webhook says. A payment
// that is succeeded or canceled cannot be completed again (ErrConflict); a
// failed one can (the fan retries with another card, as with Stripe).
// Errors wrap payments.ErrInvalid, ErrNotFound or ErrConflict.
func (s *Sandbox) Complete(paymentID string, c Completion) (payments.Payment, error) {
	if c.Webhook == "" {
		c.Webhook = WebhookDeliver
	}
	if err := checkWebhook(c.Webhook, c.Delay); err != nil {
		return payments.Payment{}, err
	}
	var status payments.Status
	var typ string
	switch c.Outcome {
	case OutcomeSucceeded:
		status, typ = payments.StatusSucceeded, payments.EventPaymentSucceeded
	case OutcomeDeclined:
		status, typ = payments.StatusFailed, payments.EventPaymentFailed
	default:
		return payments.Payment{}, fmt.Errorf("%w: outcome must be %q or %q", payments.ErrInvalid, OutcomeSucceeded, OutcomeDeclined)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[paymentID]
	if p == nil {
		return payments.Payment{}, fmt.Errorf("%w: %s", payments.ErrNotFound, paymentID)
	}
	if p.p.Status == payments.StatusSucceeded || p.p.Status == payments.StatusCanceled {
		return payments.Payment{}, fmt.Errorf("%w: payment %s is already %s", payments.ErrConflict, paymentID, p.p.Status)
	}
	s.settle(p, status)
	s.emitOutcome(p, typ, c)
	return p.p, nil
}

// DuplicateCapture simulates a second, successful payment for an order that
// already has one (a fan paying twice in two tabs, a provider-side retry):
// a new succeeded payment with the same amount, announced as webhook says
// (delay as in Completion). Errors wrap payments.ErrInvalid or ErrNotFound
// (the order has no payment).
func (s *Sandbox) DuplicateCapture(orderID, webhook string, delay time.Duration) (payments.Payment, error) {
	if webhook == "" {
		webhook = WebhookDeliver
	}
	if err := checkWebhook(webhook, delay); err != nil {
		return payments.Payment{}, err
	}
	if err := payments.CheckID("order id", orderID); err != nil {
		return payments.Payment{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	first := s.primary[orderID]
	if first == nil {
		return payments.Payment{}, fmt.Errorf("%w: order %s has no payment", payments.ErrNotFound, orderID)
	}
	p := s.newPayment(orderID, first.p.AmountCents, first.p.Currency)
	s.settle(p, payments.StatusSucceeded)
	s.emitOutcome(p, payments.EventPaymentSucceeded, Completion{Webhook: webhook, Delay: delay})
	return p.p, nil
}

// settle moves p to status. Callers hold s.mu.
func (s *Sandbox) settle(p *payment, status payments.Status) {
	p.p.Status = status
	if status == payments.StatusSucceeded && p.chargeID == "" {
		p.chargeID = newID("ch_")
	}
}

// emitOutcome sends the outcome's event, plus the stale processing event of
// WebhookReorder. Callers hold s.mu.
func (s *Sandbox) emitOutcome(p *payment, typ string, c Completion) {
	now := s.opts.Clock.Now()
	if c.Webhook != WebhookReorder {
		s.emit(p, typ, s.intentObject(p, p.p.Status), c.Webhook, c.Delay)
		return
	}
	outcome := s.record(p, typ, s.intentObject(p, p.p.Status), WebhookReorder, now)
	staleAt := now.Add(-time.Second)
	stale := s.record(p, payments.EventPaymentProcessing, s.intentObject(p, payments.StatusProcessing), WebhookReorder, staleAt)
	s.spawn(func(ctx context.Context) {
		s.deliver(ctx, outcome)
		s.deliver(ctx, stale)
	})
}

// emit records an event and schedules its delivery. Callers hold s.mu.
func (s *Sandbox) emit(p *payment, typ string, object any, mode string, delay time.Duration) {
	ev := s.record(p, typ, object, mode, s.opts.Clock.Now())
	switch mode {
	case WebhookDrop:
		s.log.Info("webhook dropped", "event", ev.ID, "type", typ, "payment", p.p.ID)
	case WebhookDuplicate:
		s.spawn(func(ctx context.Context) { s.deliver(ctx, ev) })
		s.spawn(func(ctx context.Context) { s.deliver(ctx, ev) })
	case WebhookDelay:
		if delay <= 0 {
			delay = DefaultDelay
		}
		s.spawn(func(ctx context.Context) {
			if s.wait(ctx, delay) {
				s.deliver(ctx, ev)
			}
		})
	default:
		s.spawn(func(ctx context.Context) { s.deliver(ctx, ev) })
	}
}

// record builds and stores an event. Callers hold s.mu.
func (s *Sandbox) record(p *payment, typ string, object any, mode string, created time.Time) *event {
	ev := &event{ID: newID("evt_"), Type: typ, Created: created.UTC(), Mode: mode}
	ev.body, _ = json.Marshal(eventBody{
		ID: ev.ID, Object: "event", Type: typ, Created: created.Unix(), PendingWebhooks: 1,
		Data: eventData{Object: object},
	})
	p.events = append(p.events, ev)
	return ev
}

// spawn runs fn in a delivery goroutine unless the sandbox is closed.
// Callers hold s.mu (so Close cannot miss the goroutine).
func (s *Sandbox) spawn(fn func(ctx context.Context)) {
	if s.closed {
		return
	}
	s.wg.Add(1)
	s.active++
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			if s.active--; s.active == 0 {
				close(s.idle)
				s.idle = make(chan struct{})
			}
			s.mu.Unlock()
		}()
		fn(s.ctx)
	}()
}

// WaitIdle waits until no delivery is pending or in flight (every webhook
// made so far was delivered, dropped or given up on), or ctx ends. A
// delayed or retrying delivery keeps it waiting.
func (s *Sandbox) WaitIdle(ctx context.Context) error {
	s.mu.Lock()
	if s.active == 0 {
		s.mu.Unlock()
		return nil
	}
	ch := s.idle
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func checkWebhook(mode string, delay time.Duration) error {
	switch mode {
	case WebhookDeliver, WebhookDrop, WebhookDuplicate, WebhookReorder:
		if delay != 0 {
			return fmt.Errorf("%w: a delay applies to webhook %q only", payments.ErrInvalid, WebhookDelay)
		}
	case WebhookDelay:
		if delay < 0 || delay > MaxDelay {
			return fmt.Errorf("%w: delay must be within 0..%s", payments.ErrInvalid, MaxDelay)
		}
	default:
		return fmt.Errorf("%w: webhook must be one of %s", payments.ErrInvalid, strings.Join(webhookModes, ", "))
	}
	return nil
}

var webhookModes = []string{WebhookDeliver, WebhookDrop, WebhookDuplicate, WebhookDelay, WebhookReorder}

// EventInfo describes one event the sandbox made and its deliveries.
type EventInfo struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Created   time.Time `json:"created"`
	Webhook   string    `json:"webhook"`
	Attempts  int       `json:"attempts"`
	Delivered int       `json:"delivered"`
	LastError string    `json:"lastError,omitempty"`
}

// Events lists the events made for a payment, oldest first.
func (s *Sandbox) Events(paymentID string) []EventInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[paymentID]
	if p == nil {
		return nil
	}
	return eventInfos(p)
}

func eventInfos(p *payment) []EventInfo {
	out := make([]EventInfo, 0, len(p.events))
	for _, e := range p.events {
		out = append(out, EventInfo{ID: e.ID, Type: e.Type, Created: e.Created, Webhook: e.Mode,
			Attempts: e.Attempts, Delivered: e.Delivered, LastError: e.LastError})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

func newID(prefix string) string { return prefix + randHex(12) }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
