package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/stararena/stararena/internal/payments"
)

// The wire shapes of Stripe's events, reduced to the fields a handler could
// look at. Objects are snapshots taken when the event is made, as Stripe's
// are: a late event shows an old status.
type eventBody struct {
	ID              string    `json:"id"`
	Object          string    `json:"object"`
	Type            string    `json:"type"`
	Created         int64     `json:"created"`
	Livemode        bool      `json:"livemode"`
	PendingWebhooks int       `json:"pending_webhooks"`
	Data            eventData `json:"data"`
}

type eventData struct {
	Object any `json:"object"`
}

type intentObject struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	Amount           int64             `json:"amount"`
	AmountReceived   int64             `json:"amount_received"`
	Currency         string            `json:"currency"`
	Status           string            `json:"status"`
	Created          int64             `json:"created"`
	LatestCharge     *string           `json:"latest_charge"`
	LastPaymentError *paymentError     `json:"last_payment_error"`
	Metadata         map[string]string `json:"metadata"`
	Livemode         bool              `json:"livemode"`
}

type paymentError struct {
	Type        string `json:"type"`
	Code        string `json:"code"`
	DeclineCode string `json:"decline_code"`
	Message     string `json:"message"`
}

type chargeObject struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	Amount         int64             `json:"amount"`
	AmountRefunded int64             `json:"amount_refunded"`
	Currency       string            `json:"currency"`
	PaymentIntent  string            `json:"payment_intent"`
	Refunded       bool              `json:"refunded"`
	Status         string            `json:"status"`
	Created        int64             `json:"created"`
	Metadata       map[string]string `json:"metadata"`
	Livemode       bool              `json:"livemode"`
}

// stripeStatus is the PaymentIntent status Stripe would show for status:
// a declined payment goes back to requires_payment_method with a
// last_payment_error.
func stripeStatus(s payments.Status) string {
	switch s {
	case payments.StatusRequiresPayment, payments.StatusFailed:
		return "requires_payment_method"
	default:
		return string(s)
	}
}

// intentObject snapshots p as a payment_intent showing status. Callers
// hold s.mu.
func (s *Sandbox) intentObject(p *payment, status payments.Status) intentObject {
	o := intentObject{
		ID: p.p.ID, Object: "payment_intent", Amount: p.p.AmountCents, Currency: strings.ToLower(p.p.Currency),
		Status: stripeStatus(status), Created: p.p.Created.Unix(),
		Metadata: map[string]string{payments.MetadataOrderID: p.p.OrderID},
	}
	switch status {
	case payments.StatusSucceeded:
		o.AmountReceived = p.p.AmountCents
		ch := p.chargeID
		o.LatestCharge = &ch
	case payments.StatusFailed:
		o.LastPaymentError = &paymentError{Type: "card_error", Code: "card_declined", DeclineCode: p.p.DeclineCode, Message: p.p.DeclineMessage}
	}
	return o
}

// chargeObject snapshots p's charge. Callers hold s.mu.
func (s *Sandbox) chargeObject(p *payment) chargeObject {
	return chargeObject{
		ID: p.chargeID, Object: "charge", Amount: p.p.AmountCents, AmountRefunded: p.p.AmountRefundedCents,
		Currency: strings.ToLower(p.p.Currency), PaymentIntent: p.p.ID,
		Refunded: p.p.AmountRefundedCents >= p.p.AmountCents, Status: "succeeded", Created: p.p.Created.Unix(),
		Metadata: map[string]string{payments.MetadataOrderID: p.p.OrderID},
	}
}

// deliver POSTs ev until a receiver answers 2xx, MaxAttempts are spent or
// ctx ends. It reports whether the event got through.
func (s *Sandbox) deliver(ctx context.Context, ev *event) bool {
	if s.opts.WebhookURL == "" {
		s.mu.Lock()
		ev.LastError = "no webhook URL configured"
		s.mu.Unlock()
		return false
	}
	for attempt := 1; ; attempt++ {
		err := s.post(ctx, ev)
		s.mu.Lock()
		ev.Attempts++
		if err == nil {
			ev.Delivered++
			ev.LastError = ""
		} else {
			ev.LastError = err.Error()
		}
		s.mu.Unlock()
		if err == nil {
			s.log.Debug("webhook delivered", "event", ev.ID, "type", ev.Type, "attempt", attempt)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if attempt >= s.opts.MaxAttempts {
			s.log.Warn("webhook not delivered; giving up", "event", ev.ID, "type", ev.Type, "attempts", attempt, "error", err)
			return false
		}
		s.log.Info("webhook delivery failed; will retry", "event", ev.ID, "type", ev.Type, "attempt", attempt, "error", err)
		if !s.wait(ctx, s.opts.Backoff(attempt)) {
			return false
		}
	}
}

// post makes one delivery attempt, signed now.
func (s *Sandbox) post(ctx context.Context, ev *event) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.opts.WebhookURL, bytes.NewReader(ev.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "StarArena-Sandbox/1.0 (+webhooks)")
	req.Header.Set(payments.SignatureHeader, payments.Sign(s.opts.Secret, ev.body, s.opts.Clock.Now()))
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("receiver answered %d", resp.StatusCode)
	}
	return nil
}

// wait waits d scaled by TimeScale, on the clock if it is a Waiter. It
// returns false if ctx ended first.
func (s *Sandbox) wait(ctx context.Context, d time.Duration) bool {
	d = time.Duration(float64(d) * s.opts.TimeScale)
	var ch <-chan time.Time
	if w, ok := s.opts.Clock.(Waiter); ok {
		ch = w.After(d)
	} else {
		t := time.NewTimer(d)
		defer t.Stop()
		ch = t.C
	}
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}
