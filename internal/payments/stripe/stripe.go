// Package stripe is the payments.Provider for Stripe, through a small
// client of Stripe's HTTP API on net/http (client.go; API version
// APIVersion) that makes the five calls the provider needs: create,
// retrieve, list and search PaymentIntents, and create a refund.
//
// One PaymentIntent per order: created with automatic payment methods,
// the order id in metadata ("order_id") and PaymentIntentKey(orderID) as
// idempotency key, so a retried create returns the same PaymentIntent
// (Stripe keeps idempotency keys for 24 hours). The site confirms
// Payment.ClientSecret with Stripe.js; there is no CheckoutURL.
//
// Status mapping (PaymentIntent → payments.Status):
//
//	requires_payment_method          → requires_payment, or failed when last_payment_error is set
//	requires_confirmation, requires_action → requires_payment
//	processing, requires_capture     → processing (not final, not paid)
//	succeeded                        → succeeded
//	canceled                         → canceled
//	anything newer                   → processing (keep asking)
//
// AmountRefundedCents is the latest charge's amount_refunded (GetPayment and
// PaymentsForOrder expand latest_charge).
//
// PaymentsForOrder uses the Search API by default
// (query metadata['order_id']:'<id>'). In Stripe, search is eventually
// consistent: a PaymentIntent is usually searchable within a minute of a
// write, longer during incidents, and search is not offered for accounts in
// India. The reconciler, which runs well after holds expire, tolerates the
// lag; nothing else should depend on it. Options.Lookup "list" scans
// PaymentIntents created in the last ListWindow instead (strongly
// consistent, but one request per 100 PaymentIntents). Either way the
// results are filtered again on metadata here, so a query mistake can never
// hand back another order's payment (which the caller might refund).
//
// ParseWebhook (webhook.go): the header is read by
// payments.ParseSignatureHeader (so every provider reports malformed
// headers alike); one of its v1 signatures must be the HMAC-SHA256 of
// "<t>.<body>" under the endpoint's secret; the body must be an event of
// APIVersion's release train ("clover"), as stripe-go required, so the
// Stripe webhook endpoint must be created with such a version
// (Options.IgnoreAPIVersionMismatch lifts the check, harmless here since
// only ids are read from the body and the payment is re-fetched, for an
// endpoint mid-upgrade); and the signed time must be within 300 s of the
// caller's now, in both directions (stripe-go's own check read the wall
// clock and refused only old timestamps, so it was switched off).
package stripe

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/payments"
)

// Name is the provider's name ("stripe").
const Name = "stripe"

// DefaultAPIBase is Stripe's API.
const DefaultAPIBase = "https://api.stripe.com"

// Lookup is how PaymentsForOrder finds an order's PaymentIntents.
type Lookup string

// Lookups.
const (
	LookupSearch Lookup = "search" // the Search API (default)
	LookupList   Lookup = "list"   // list by created time, filter on metadata
)

// Options configure the provider.
type Options struct {
	// APIKey is the secret or restricted key (STRIPE_API_KEY). Required.
	APIKey string
	// WebhookSecret is the endpoint's signing secret, "whsec_..."
	// (STRIPE_WEBHOOK_SECRET). Without it every webhook is refused.
	WebhookSecret string
	// APIBase is the API's base URL, http or https (STRIPE_API_BASE);
	// default DefaultAPIBase. A stripe-mock is e.g. http://127.0.0.1:12111.
	APIBase string
	// HTTPClient makes the API calls. Default: a client with a 20 s
	// timeout per attempt.
	HTTPClient *http.Client
	// MaxNetworkRetries is how often a call is made again, with the same
	// parameters and idempotency key, after no answer (network failure,
	// timeout), a 409, a 429 or a 5xx, unless Stripe's answer says
	// Stripe-Should-Retry: false (see retryable in client.go); other
	// errors are retried by the caller's workflow, not here. nil: 2.
	MaxNetworkRetries *int64
	// Lookup selects PaymentsForOrder's method; default LookupSearch.
	Lookup Lookup
	// ListWindow is how far back LookupList scans; default 7 days.
	ListWindow time.Duration
	// MaxScan bounds the PaymentIntents one PaymentsForOrder reads; beyond
	// it the call fails with ErrUnavailable. Default 10,000.
	MaxScan int
	// IgnoreAPIVersionMismatch accepts events of another API version.
	IgnoreAPIVersionMismatch bool
	// Clock gives LookupList its window. Default clock.System.
	Clock clock.Clock
	// Logger receives the client's log lines: every request at debug
	// level, error answers (but a declined card's 402), failed requests
	// and retries as warnings. Default slog.Default().
	Logger *slog.Logger
}

// Provider is the Stripe provider. It is safe for concurrent use.
type Provider struct {
	c    *client
	opts Options
}

// New returns a Stripe provider.
func New(o Options) (*Provider, error) {
	if o.APIKey == "" {
		return nil, errors.New("stripe: an API key is required")
	}
	if o.APIBase == "" {
		o.APIBase = DefaultAPIBase
	}
	o.APIBase = strings.TrimRight(o.APIBase, "/")
	if u, err := url.Parse(o.APIBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("stripe: API base %q is not an http or https URL", o.APIBase)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 20 * time.Second}
	}
	if o.MaxNetworkRetries == nil {
		two := int64(2)
		o.MaxNetworkRetries = &two
	}
	if *o.MaxNetworkRetries < 0 {
		return nil, fmt.Errorf("stripe: MaxNetworkRetries %d is negative", *o.MaxNetworkRetries)
	}
	switch o.Lookup {
	case "":
		o.Lookup = LookupSearch
	case LookupSearch, LookupList:
	default:
		return nil, fmt.Errorf("stripe: lookup %q is not %q or %q", o.Lookup, LookupSearch, LookupList)
	}
	if o.ListWindow <= 0 {
		o.ListWindow = 7 * 24 * time.Hour
	}
	if o.MaxScan <= 0 {
		o.MaxScan = 10_000
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	c := &client{base: o.APIBase, key: o.APIKey, http: o.HTTPClient, retries: int(*o.MaxNetworkRetries),
		log: o.Logger.With("provider", Name), sleep: sleepContext}
	return &Provider{c: c, opts: o}, nil
}

// Name returns "stripe".
func (p *Provider) Name() string { return Name }

// PaymentIntentKey is the idempotency key of an order's PaymentIntent: the
// order id, namespaced so that no other request of the account (a refund
// keyed by order, say) can collide with it.
func PaymentIntentKey(orderID string) string { return "payment-intent:" + orderID }

// CreatePayment creates the order's PaymentIntent, or returns it again.
func (p *Provider) CreatePayment(ctx context.Context, orderID string, amountCents int64, currency string) (payments.Payment, error) {
	cur, err := payments.CheckCreate(orderID, amountCents, currency)
	if err != nil {
		return payments.Payment{}, err
	}
	var pi paymentIntent
	err = p.c.post(ctx, "/v1/payment_intents", params{
		"amount":                    amountCents,
		"currency":                  strings.ToLower(cur),
		"automatic_payment_methods": params{"enabled": true},
		"metadata":                  map[string]string{payments.MetadataOrderID: orderID},
	}, PaymentIntentKey(orderID), &pi)
	if err != nil {
		return payments.Payment{}, p.mapErr(ctx, "create payment intent", err)
	}
	pay := fromIntent(&pi)
	switch pay.OrderID {
	case orderID:
	case "":
		// Stripe echoes metadata; stripe-mock does not. The key is the
		// order's, so this is the order's PaymentIntent.
		pay.OrderID = orderID
	default:
		return payments.Payment{}, fmt.Errorf("%w: payment intent %s belongs to order %s, not %s",
			payments.ErrConflict, pi.ID, pay.OrderID, orderID)
	}
	return pay, nil
}

// GetPayment re-fetches a PaymentIntent, with its latest charge.
func (p *Provider) GetPayment(ctx context.Context, paymentID string) (payments.Payment, error) {
	if err := payments.CheckID("payment id", paymentID); err != nil {
		return payments.Payment{}, err
	}
	// CheckID keeps '/' out of paymentID; escaping keeps '?', '#' and '%'
	// from changing the request.
	var pi paymentIntent
	if err := p.c.get(ctx, "/v1/payment_intents/"+url.PathEscape(paymentID), params{"expand": []string{"latest_charge"}}, &pi); err != nil {
		return payments.Payment{}, p.mapErr(ctx, "retrieve payment intent", err)
	}
	return fromIntent(&pi), nil
}

// PaymentsForOrder finds the order's PaymentIntents (see the package
// comment for search's lag).
func (p *Provider) PaymentsForOrder(ctx context.Context, orderID string) ([]payments.Payment, error) {
	if err := payments.CheckID("order id", orderID); err != nil {
		return nil, err
	}
	out := []payments.Payment{}
	seen := 0
	keep := func(pi *paymentIntent) error {
		if seen++; seen > p.opts.MaxScan {
			return fmt.Errorf("%w: more than %d payment intents scanned for order %s", payments.ErrUnavailable, p.opts.MaxScan, orderID)
		}
		if pi != nil && pi.Metadata[payments.MetadataOrderID] == orderID {
			out = append(out, fromIntent(pi))
		}
		return nil
	}
	if p.opts.Lookup == LookupList {
		since := p.opts.Clock.Now().Add(-p.opts.ListWindow)
		if err := p.c.listIntents(ctx, since, keep); err != nil {
			return nil, p.mapErr(ctx, "list payment intents", err)
		}
	} else {
		// CheckID keeps quotes and backslashes out of orderID.
		query := fmt.Sprintf("metadata['%s']:'%s'", payments.MetadataOrderID, orderID)
		if err := p.c.searchIntents(ctx, query, keep); err != nil {
			return nil, p.mapErr(ctx, "search payment intents", err)
		}
	}
	slices.SortStableFunc(out, func(a, b payments.Payment) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// PaymentsSince lists PaymentIntents created at or after since (Stripe's
// list is newest first; the result is oldest first).
func (p *Provider) PaymentsSince(ctx context.Context, since time.Time) ([]payments.Payment, error) {
	out := []payments.Payment{}
	err := p.c.listIntents(ctx, since, func(pi *paymentIntent) error {
		if len(out) >= p.opts.MaxScan {
			return fmt.Errorf("%w: more than %d payment intents since %s", payments.ErrUnavailable, p.opts.MaxScan, since)
		}
		out = append(out, fromIntent(pi))
		return nil
	})
	if err != nil {
		return nil, p.mapErr(ctx, "list payment intents", err)
	}
	slices.SortStableFunc(out, func(a, b payments.Payment) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Refund refunds a PaymentIntent in full with the caller's idempotency key.
func (p *Provider) Refund(ctx context.Context, paymentID, idempotencyKey string) (payments.Refund, error) {
	if err := payments.CheckID("payment id", paymentID); err != nil {
		return payments.Refund{}, err
	}
	if err := payments.CheckID("idempotency key", idempotencyKey); err != nil {
		return payments.Refund{}, err
	}
	var r refund
	if err := p.c.post(ctx, "/v1/refunds", params{"payment_intent": paymentID}, idempotencyKey, &r); err != nil {
		err = p.mapErr(ctx, "create refund", err)
		if errors.Is(err, payments.ErrInvalid) && p.unrefundable(ctx, paymentID) {
			// Stripe answers 400 for a payment without a successful
			// charge; the port calls that a conflict with its state.
			err = fmt.Errorf("%w: payment %s cannot be refunded in its state (%v)", payments.ErrConflict, paymentID, err)
		}
		return payments.Refund{}, err
	}
	out := payments.Refund{ID: r.ID, PaymentID: paymentID, AmountCents: r.Amount, Status: r.Status}
	if r.PaymentIntent != nil && r.PaymentIntent.ID != "" {
		out.PaymentID = r.PaymentIntent.ID
	}
	return out, nil
}

// unrefundable reports whether the PaymentIntent exists and is not paid or
// already fully refunded.
func (p *Provider) unrefundable(ctx context.Context, paymentID string) bool {
	pay, err := p.GetPayment(ctx, paymentID)
	return err == nil && (!pay.Paid() || pay.AmountRefundedCents >= pay.AmountCents)
}

// fromIntent maps a PaymentIntent.
func fromIntent(pi *paymentIntent) payments.Payment {
	pay := payments.Payment{
		ID: pi.ID, OrderID: pi.Metadata[payments.MetadataOrderID], Status: Status(pi.Status, pi.LastPaymentError != nil),
		AmountCents: pi.Amount, Currency: strings.ToUpper(pi.Currency),
		ClientSecret: pi.ClientSecret, Created: time.Unix(pi.Created, 0).UTC(),
	}
	if pi.LatestCharge != nil {
		pay.AmountRefundedCents = pi.LatestCharge.AmountRefunded
	}
	if e := pi.LastPaymentError; e != nil && pay.Status == payments.StatusFailed {
		pay.DeclineCode, pay.DeclineMessage = e.DeclineCode, e.Message
		if pay.DeclineCode == "" {
			pay.DeclineCode = e.Code
		}
	}
	return pay
}

// Status maps a PaymentIntent's status, and whether it has a
// last_payment_error, to the port's (see the package comment).
func Status(status string, lastPaymentError bool) payments.Status {
	switch status {
	case "requires_payment_method":
		if lastPaymentError {
			return payments.StatusFailed
		}
		return payments.StatusRequiresPayment
	case "requires_confirmation", "requires_action":
		return payments.StatusRequiresPayment
	case "succeeded":
		return payments.StatusSucceeded
	case "canceled":
		return payments.StatusCanceled
	default: // processing, requires_capture, a status newer than this code
		return payments.StatusProcessing
	}
}
