// Package stripe is the payments.Provider for Stripe, through stripe-go
// (v84, API version stripego.APIVersion).
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
// ParseWebhook: the header is read by payments.ParseSignatureHeader (so
// every provider reports malformed headers alike), the signature and the
// body by stripe-go's webhook.ConstructEventWithOptions, and the 300 s
// tolerance is checked against the caller's now, in both directions.
// stripe-go's own tolerance check is switched off (IgnoreTolerance)
// because it reads the wall clock and only refuses old timestamps, not
// future ones. stripe-go refuses an event whose API version is not of
// its release train (for v84: "clover"); the Stripe webhook endpoint must
// be created with that version. Options.IgnoreAPIVersionMismatch lifts the
// check (harmless here: only ids are read from the body, the payment is
// re-fetched), for an endpoint mid-upgrade.
package stripe

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v84"
	"github.com/stripe/stripe-go/v84/webhook"

	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/payments"
)

// Name is the provider's name ("stripe").
const Name = "stripe"

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
	// APIBase is the API's base URL (STRIPE_API_BASE); default
	// https://api.stripe.com. A stripe-mock is e.g. http://127.0.0.1:12111.
	APIBase string
	// HTTPClient makes the API calls. Default: a client with a 20 s timeout.
	HTTPClient *http.Client
	// MaxNetworkRetries is how often stripe-go retries a call that got no
	// answer (network failure, timeout) or a lock timeout (409, 429
	// lock_timeout), with the same idempotency key; other API errors are
	// not retried here but by the caller's workflow. nil: 2.
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
	// Logger receives stripe-go's log lines. Default slog.Default().
	Logger *slog.Logger
}

// Provider is the Stripe provider. It is safe for concurrent use.
type Provider struct {
	c    *stripego.Client
	opts Options
}

// New returns a Stripe provider.
func New(o Options) (*Provider, error) {
	if o.APIKey == "" {
		return nil, errors.New("stripe: an API key is required")
	}
	if o.APIBase == "" {
		o.APIBase = stripego.APIURL
	}
	o.APIBase = strings.TrimRight(o.APIBase, "/")
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 20 * time.Second}
	}
	if o.MaxNetworkRetries == nil {
		o.MaxNetworkRetries = stripego.Int64(2)
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
	backends := stripego.NewBackendsWithConfig(&stripego.BackendConfig{
		HTTPClient:        o.HTTPClient,
		URL:               stripego.String(o.APIBase),
		MaxNetworkRetries: o.MaxNetworkRetries,
		LeveledLogger:     slogLogger{o.Logger.With("provider", Name)},
	})
	return &Provider{c: stripego.NewClient(o.APIKey, stripego.WithBackends(backends)), opts: o}, nil
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
	params := &stripego.PaymentIntentCreateParams{
		Amount:                  stripego.Int64(amountCents),
		Currency:                stripego.String(strings.ToLower(cur)),
		AutomaticPaymentMethods: &stripego.PaymentIntentCreateAutomaticPaymentMethodsParams{Enabled: stripego.Bool(true)},
	}
	params.AddMetadata(payments.MetadataOrderID, orderID)
	params.SetIdempotencyKey(PaymentIntentKey(orderID))
	pi, err := p.c.V1PaymentIntents.Create(ctx, params)
	if err != nil {
		return payments.Payment{}, p.mapErr(ctx, "create payment intent", err)
	}
	pay := fromIntent(pi)
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
	params := &stripego.PaymentIntentRetrieveParams{}
	params.AddExpand("latest_charge")
	pi, err := p.c.V1PaymentIntents.Retrieve(ctx, paymentID, params)
	if err != nil {
		return payments.Payment{}, p.mapErr(ctx, "retrieve payment intent", err)
	}
	return fromIntent(pi), nil
}

// PaymentsForOrder finds the order's PaymentIntents (see the package
// comment for search's lag).
func (p *Provider) PaymentsForOrder(ctx context.Context, orderID string) ([]payments.Payment, error) {
	if err := payments.CheckID("order id", orderID); err != nil {
		return nil, err
	}
	out := []payments.Payment{}
	seen := 0
	keep := func(pi *stripego.PaymentIntent) error {
		if seen++; seen > p.opts.MaxScan {
			return fmt.Errorf("%w: more than %d payment intents scanned for order %s", payments.ErrUnavailable, p.opts.MaxScan, orderID)
		}
		if pi != nil && pi.Metadata[payments.MetadataOrderID] == orderID {
			out = append(out, fromIntent(pi))
		}
		return nil
	}
	if p.opts.Lookup == LookupList {
		params := &stripego.PaymentIntentListParams{
			CreatedRange: &stripego.RangeQueryParams{GreaterThanOrEqual: p.opts.Clock.Now().Add(-p.opts.ListWindow).Unix()},
		}
		params.Limit = stripego.Int64(100)
		params.AddExpand("data.latest_charge")
		for pi, err := range p.c.V1PaymentIntents.List(ctx, params) {
			if err != nil {
				return nil, p.mapErr(ctx, "list payment intents", err)
			}
			if err := keep(pi); err != nil {
				return nil, err
			}
		}
	} else {
		// CheckID keeps quotes and backslashes out of orderID.
		params := &stripego.PaymentIntentSearchParams{}
		params.Query = fmt.Sprintf("metadata['%s']:'%s'", payments.MetadataOrderID, orderID)
		params.Limit = stripego.Int64(100)
		params.AddExpand("data.latest_charge")
		for pi, err := range p.c.V1PaymentIntents.Search(ctx, params) {
			if err != nil {
				return nil, p.mapErr(ctx, "search payment intents", err)
			}
			if err := keep(pi); err != nil {
				return nil, err
			}
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
	params := &stripego.PaymentIntentListParams{
		CreatedRange: &stripego.RangeQueryParams{GreaterThanOrEqual: since.Unix()},
	}
	params.Limit = stripego.Int64(100)
	params.AddExpand("data.latest_charge")
	out := []payments.Payment{}
	for pi, err := range p.c.V1PaymentIntents.List(ctx, params) {
		if err != nil {
			return nil, p.mapErr(ctx, "list payment intents", err)
		}
		if len(out) >= p.opts.MaxScan {
			return nil, fmt.Errorf("%w: more than %d payment intents since %s", payments.ErrUnavailable, p.opts.MaxScan, since)
		}
		out = append(out, fromIntent(pi))
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
	params := &stripego.RefundCreateParams{PaymentIntent: stripego.String(paymentID)}
	params.SetIdempotencyKey(idempotencyKey)
	r, err := p.c.V1Refunds.Create(ctx, params)
	if err != nil {
		err = p.mapErr(ctx, "create refund", err)
		if errors.Is(err, payments.ErrInvalid) && p.unrefundable(ctx, paymentID) {
			// Stripe answers 400 for a payment without a successful
			// charge; the port calls that a conflict with its state.
			err = fmt.Errorf("%w: payment %s cannot be refunded in its state (%v)", payments.ErrConflict, paymentID, err)
		}
		return payments.Refund{}, err
	}
	out := payments.Refund{ID: r.ID, PaymentID: paymentID, AmountCents: r.Amount, Status: string(r.Status)}
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

// ParseWebhook verifies a Stripe webhook and maps it (see the package
// comment).
func (p *Provider) ParseWebhook(payload []byte, signatureHeader string, now time.Time) (payments.WebhookEvent, error) {
	sig, err := payments.ParseSignatureHeader(signatureHeader)
	if err != nil {
		return payments.WebhookEvent{}, err
	}
	if p.opts.WebhookSecret == "" {
		return payments.WebhookEvent{}, fmt.Errorf("%w: no webhook secret configured", payments.ErrBadSignature)
	}
	ev, err := webhook.ConstructEventWithOptions(payload, signatureHeader, p.opts.WebhookSecret, webhook.ConstructEventOptions{
		IgnoreTolerance:          true, // checked below against now
		IgnoreAPIVersionMismatch: p.opts.IgnoreAPIVersionMismatch,
	})
	switch {
	case err == nil:
	case errors.Is(err, webhook.ErrNoValidSignature):
		return payments.WebhookEvent{}, fmt.Errorf("%w: %v", payments.ErrBadSignature, err)
	case errors.Is(err, webhook.ErrInvalidHeader), errors.Is(err, webhook.ErrNotSigned):
		return payments.WebhookEvent{}, fmt.Errorf("%w: %v", payments.ErrMalformed, err)
	case errors.Is(err, webhook.ErrTooOld):
		return payments.WebhookEvent{}, fmt.Errorf("%w: %v", payments.ErrStale, err)
	default: // bad JSON, not an event, API version mismatch
		return payments.WebhookEvent{}, fmt.Errorf("%w: %v", payments.ErrBadPayload, err)
	}
	if !sig.Within(now, payments.DefaultTolerance) {
		return payments.WebhookEvent{}, fmt.Errorf("%w: signed at %s, now %s", payments.ErrStale,
			sig.Timestamp.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	var object map[string]any
	if ev.Data != nil {
		object = ev.Data.Object
	}
	if object == nil {
		return payments.WebhookEvent{}, fmt.Errorf("%w: event %s has no data.object", payments.ErrBadPayload, ev.ID)
	}
	return payments.EventFromObject(ev.ID, string(ev.Type), ev.Created, object)
}

// fromIntent maps a PaymentIntent.
func fromIntent(pi *stripego.PaymentIntent) payments.Payment {
	pay := payments.Payment{
		ID: pi.ID, OrderID: pi.Metadata[payments.MetadataOrderID], Status: Status(pi),
		AmountCents: pi.Amount, Currency: strings.ToUpper(string(pi.Currency)),
		ClientSecret: pi.ClientSecret, Created: time.Unix(pi.Created, 0).UTC(),
	}
	if pi.LatestCharge != nil {
		pay.AmountRefundedCents = pi.LatestCharge.AmountRefunded
	}
	if e := pi.LastPaymentError; e != nil && pay.Status == payments.StatusFailed {
		pay.DeclineCode, pay.DeclineMessage = string(e.DeclineCode), e.Msg
		if pay.DeclineCode == "" {
			pay.DeclineCode = string(e.Code)
		}
	}
	return pay
}

// Status maps a PaymentIntent's status (see the package comment).
func Status(pi *stripego.PaymentIntent) payments.Status {
	switch pi.Status {
	case stripego.PaymentIntentStatusRequiresPaymentMethod:
		if pi.LastPaymentError != nil {
			return payments.StatusFailed
		}
		return payments.StatusRequiresPayment
	case stripego.PaymentIntentStatusRequiresConfirmation, stripego.PaymentIntentStatusRequiresAction:
		return payments.StatusRequiresPayment
	case stripego.PaymentIntentStatusSucceeded:
		return payments.StatusSucceeded
	case stripego.PaymentIntentStatusCanceled:
		return payments.StatusCanceled
	default: // processing, requires_capture, a status newer than this code
		return payments.StatusProcessing
	}
}
