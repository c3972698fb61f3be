package sandbox

import (
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/jsonbody"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/payments"
)

// maxBody bounds the sandbox routes' request bodies.
const maxBody = limits.SandboxBodyBytes

// Handler serves the sandbox routes of API.md, to be mounted at the
// server's root (it matches paths under /sandbox/ only):
//
//	GET  /sandbox/checkout/{paymentId}           the pay page (HTML, no script, no external assets)
//	POST /sandbox/payments/{paymentId}/complete  {"outcome":"succeeded"|"declined",
//	                                              "webhook":"deliver"|"drop"|"duplicate"|"delay"|"reorder",
//	                                              "delaySeconds":n}  (webhook defaults to deliver;
//	                                              delaySeconds only with delay, default 30)
//	                                             → 200 the payment; the pay page's form posts the same
//	                                             fields form-encoded and is answered 303 to the page
//	GET  /sandbox/payments/{paymentId}           what the provider knows, with its events
//	POST /sandbox/orders/{orderId}/duplicate-capture  optional {"webhook":...,"delaySeconds":n}
//	                                             → 201 a second succeeded payment for the order
//
// Errors are the API's JSON errors {"error":{"code","message"}}: 400
// INVALID_REQUEST / INVALID_JSON / UNKNOWN_FIELD, 404 NOT_FOUND, 409
// CONFLICT (already paid), 413, 415.
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sandbox/checkout/{paymentId}", s.serveCheckout)
	mux.HandleFunc("POST /sandbox/payments/{paymentId}/complete", s.serveComplete)
	mux.HandleFunc("GET /sandbox/payments/{paymentId}", s.servePayment)
	mux.HandleFunc("POST /sandbox/orders/{orderId}/duplicate-capture", s.serveDuplicate)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteError(w, apperr.New(apperr.NotFound, "no route %s %s", r.Method, r.URL.Path))
	})
	return mux
}

// PaymentView is the JSON of a sandbox payment.
type PaymentView struct {
	ID                  string      `json:"id"`
	OrderID             string      `json:"orderId"`
	Status              string      `json:"status"`
	AmountCents         int64       `json:"amountCents"`
	Currency            string      `json:"currency"`
	AmountRefundedCents int64       `json:"amountRefundedCents"`
	CheckoutURL         string      `json:"checkoutUrl"`
	Created             time.Time   `json:"created"`
	Refunds             []RefundRef `json:"refunds"`
	Events              []EventInfo `json:"events"`
}

// RefundRef is a refund in PaymentView.
type RefundRef struct {
	ID          string `json:"id"`
	AmountCents int64  `json:"amountCents"`
	Status      string `json:"status"`
}

// view returns the JSON view of a payment (not a provider call: no fault
// injection).
func (s *Sandbox) view(paymentID string) (PaymentView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[paymentID]
	if p == nil {
		return PaymentView{}, apperr.New(apperr.NotFound, "no sandbox payment %s", paymentID)
	}
	v := PaymentView{
		ID: p.p.ID, OrderID: p.p.OrderID, Status: string(p.p.Status), AmountCents: p.p.AmountCents,
		Currency: p.p.Currency, AmountRefundedCents: p.p.AmountRefundedCents, CheckoutURL: p.p.CheckoutURL,
		Created: p.p.Created, Refunds: []RefundRef{}, Events: eventInfos(p),
	}
	for _, r := range p.refunds {
		v.Refunds = append(v.Refunds, RefundRef{ID: r.r.ID, AmountCents: r.r.AmountCents, Status: r.r.Status})
	}
	return v, nil
}

func (s *Sandbox) servePayment(w http.ResponseWriter, r *http.Request) {
	v, err := s.view(r.PathValue("paymentId"))
	if err != nil {
		httpapi.WriteError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// completeRequest is the body of POST .../complete.
type completeRequest struct {
	Outcome      string   `json:"outcome"`
	Webhook      string   `json:"webhook"`
	DelaySeconds *float64 `json:"delaySeconds"`
	DeclineCode  string   `json:"declineCode"`
}

func (s *Sandbox) serveComplete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("paymentId")
	var req completeRequest
	form, err := readRequest(w, r, true, &req)
	if err == nil {
		var c Completion
		if c, err = req.completion(); err == nil {
			_, err = s.Complete(id, c)
		}
	}
	if form {
		// The pay page's form: show the page again, with the result.
		loc := "../../checkout/" + url.PathEscape(id)
		if err != nil {
			code, _, _ := apperr.Public(toAppErr(err))
			loc += "?error=" + url.QueryEscape(string(code))
		}
		http.Redirect(w, r, loc, http.StatusSeeOther)
		return
	}
	if err != nil {
		httpapi.WriteError(w, toAppErr(err))
		return
	}
	s.servePayment(w, r)
}

func (c completeRequest) completion() (Completion, error) {
	out := Completion{Outcome: c.Outcome, Webhook: c.Webhook}
	if c.Outcome == "" {
		return out, apperr.New(apperr.Invalid, `outcome is required: "succeeded" or "declined"`)
	}
	if c.DeclineCode != "" && c.Outcome == OutcomeDeclined {
		if _, ok := DeclineMessages[c.DeclineCode]; !ok {
			return out, apperr.New(apperr.Invalid, "declineCode %q is not one the sandbox knows", c.DeclineCode)
		}
		out.DeclineCode = c.DeclineCode
	}
	if c.DelaySeconds != nil {
		d := *c.DelaySeconds
		if c.Webhook != WebhookDelay {
			return out, apperr.New(apperr.Invalid, `delaySeconds applies to "webhook":"delay" only`)
		}
		if math.IsNaN(d) || d <= 0 || d > MaxDelay.Seconds() {
			return out, apperr.New(apperr.Invalid, "delaySeconds must be > 0 and at most %d", int(MaxDelay.Seconds()))
		}
		out.Delay = time.Duration(d * float64(time.Second))
	}
	return out, nil
}

type duplicateRequest struct {
	Webhook      string   `json:"webhook"`
	DelaySeconds *float64 `json:"delaySeconds"`
}

func (s *Sandbox) serveDuplicate(w http.ResponseWriter, r *http.Request) {
	var req duplicateRequest
	_, err := readRequest(w, r, false, &req)
	var c Completion
	if err == nil {
		c, err = completeRequest{Outcome: OutcomeSucceeded, Webhook: req.Webhook, DelaySeconds: req.DelaySeconds}.completion()
	}
	if err == nil {
		var p payments.Payment
		if p, err = s.DuplicateCapture(r.PathValue("orderId"), c.Webhook, c.Delay); err == nil {
			v, verr := s.view(p.ID)
			if verr != nil {
				httpapi.WriteError(w, verr)
				return
			}
			writeJSON(w, http.StatusCreated, v)
			return
		}
	}
	httpapi.WriteError(w, toAppErr(err))
}

// readRequest decodes a JSON body strictly into dst (an empty body leaves
// dst zero unless the route needs a body). With allowForm, a
// form-encoded body (the pay page) is read into a completeRequest instead
// and form is true.
func readRequest(w http.ResponseWriter, r *http.Request, allowForm bool, dst any) (form bool, err error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return false, apperr.New(apperr.TooLarge, "request body is over %d bytes", maxBody)
		}
		return false, apperr.Wrap(err, apperr.Invalid, "cannot read the request body")
	}
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	switch {
	case allowForm && mt == "application/x-www-form-urlencoded":
		return true, decodeForm(body, dst.(*completeRequest))
	case len(body) == 0 && !allowForm:
		return false, nil
	case ct != "" && mt != "application/json":
		return false, apperr.New(apperr.UnsupportedMedia, "send application/json")
	}
	return false, jsonbody.Decode(body, maxBody, dst)
}

func decodeForm(body []byte, dst *completeRequest) error {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return apperr.New(apperr.Invalid, "form body is not URL-encoded")
	}
	for k, v := range vals {
		if len(v) != 1 {
			return apperr.New(apperr.Invalid, "form field %q is repeated", k)
		}
		switch k {
		case "outcome":
			dst.Outcome = v[0]
		case "webhook":
			dst.Webhook = v[0]
		case "declineCode":
			dst.DeclineCode = v[0]
		case "delaySeconds":
			if strings.TrimSpace(v[0]) == "" {
				continue
			}
			d, err := strconv.ParseFloat(strings.TrimSpace(v[0]), 64)
			if err != nil {
				return apperr.New(apperr.Invalid, "delaySeconds must be a number")
			}
			dst.DelaySeconds = &d
		default:
			return apperr.New(apperr.UnknownField, "unknown form field %q", k)
		}
	}
	return nil
}

// toAppErr maps the port's errors to the API's codes.
func toAppErr(err error) error {
	var ae *apperr.Error
	switch {
	case errors.As(err, &ae):
		return err
	case errors.Is(err, payments.ErrInvalid):
		return apperr.Wrap(err, apperr.Invalid, "%s", strings.TrimPrefix(err.Error(), payments.ErrInvalid.Error()+": "))
	case errors.Is(err, payments.ErrNotFound):
		return apperr.Wrap(err, apperr.NotFound, "%s", strings.TrimPrefix(err.Error(), "payments: "))
	case errors.Is(err, payments.ErrConflict):
		return apperr.Wrap(err, apperr.Conflict, "%s", strings.TrimPrefix(err.Error(), payments.ErrConflict.Error()+": "))
	}
	return apperr.Wrap(err, apperr.Internal, "internal error")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		httpapi.WriteError(w, apperr.Wrap(err, apperr.Internal, "encode"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// The pay page. No script and no external assets; the form works without
// JavaScript and posts form-encoded to the complete route. Parsed on
// first use: a function binary links this package for its descriptor and
// must not carry the template engine for a page only the local stack
// serves.
func checkoutPage() *template.Template {
	checkoutOnce.Do(func() { checkoutTemplate = parseCheckout() })
	return checkoutTemplate
}

var (
	checkoutOnce     sync.Once
	checkoutTemplate *template.Template
)

func parseCheckout() *template.Template {
	return template.Must(template.New("checkout").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox checkout · StarArena</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f4f6;color:#1a1a1a}
main{max-width:28rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:.5rem;box-shadow:0 1px 3px #0003}
h1{font-size:1.4rem;margin:0 0 1rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem}dt{font-weight:600}dd{margin:0;word-break:break-all}
fieldset{border:1px solid #bbb;border-radius:.35rem;margin:1rem 0;padding:.75rem}
label{display:block;margin:.5rem 0 .2rem}select,input{font:inherit;padding:.3rem;width:100%;box-sizing:border-box}
.buttons{display:flex;gap:.75rem;margin-top:1rem}
button{font:inherit;font-weight:600;padding:.6rem 1.2rem;border-radius:.35rem;border:2px solid #1a1a1a;cursor:pointer}
button:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px}
.pay{background:#146c2e;color:#fff;border-color:#146c2e}.decline{background:#fff;color:#8b1a1a;border-color:#8b1a1a}
.note{color:#444;font-size:.9rem}.error{color:#8b1a1a;font-weight:600}
</style>
</head>
<body>
<main>
<h1>Sandbox checkout</h1>
<p class="note">Test payments only. No money moves.</p>
<dl>
<dt>Order</dt><dd>{{.OrderID}}</dd>
<dt>Amount</dt><dd>{{.Amount}}</dd>
<dt>Payment</dt><dd>{{.ID}}</dd>
<dt>Status</dt><dd><span role="status">{{.Status}}</span></dd>
</dl>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if .Payable}}
<form method="post" action="../payments/{{.ID}}/complete">
<fieldset>
<legend>Provider callback (for testing)</legend>
<label for="webhook">Webhook</label>
<select id="webhook" name="webhook">
<option value="deliver" selected>deliver once</option>
<option value="drop">drop (never delivered)</option>
<option value="duplicate">duplicate (delivered twice)</option>
<option value="delay">delay</option>
<option value="reorder">reorder (stale event afterwards)</option>
</select>
<label for="delaySeconds">Delay in seconds (delay only)</label>
<input id="delaySeconds" name="delaySeconds" type="number" min="1" max="259200" step="1" inputmode="numeric" placeholder="30">
<label for="declineCode">Decline reason (Decline only)</label>
<select id="declineCode" name="declineCode">
<option value="generic_decline" selected>generic decline</option>
<option value="insufficient_funds">insufficient funds</option>
<option value="expired_card">expired card</option>
<option value="incorrect_cvc">incorrect security code</option>
</select>
</fieldset>
<div class="buttons">
<button class="pay" type="submit" name="outcome" value="succeeded">Pay {{.Amount}}</button>
<button class="decline" type="submit" name="outcome" value="declined">Decline</button>
</div>
</form>
{{else}}
<p class="done">{{.Done}}</p>
{{end}}
{{if .OrderID}}<p><a href="/?order={{.OrderID}}">Back to your order</a></p>{{end}}
</main>
</body>
</html>
`))
}

// formErrors are the pay page's messages for a failed form post (by code,
// so the page never shows text taken from its URL).
var formErrors = map[apperr.Code]string{
	apperr.Invalid:      "The request was not valid: a delay needs the delay webhook and 1 to 259200 seconds.",
	apperr.UnknownField: "The form sent a field the sandbox does not know.",
	apperr.Conflict:     "This payment cannot be completed again.",
	apperr.NotFound:     "This payment does not exist.",
	apperr.TooLarge:     "The form was too large.",
}

type checkoutData struct {
	ID, OrderID, Amount, Status, Error string
	Payable                            bool
	// Done says, in words, why a payment that cannot be paid is over.
	Done string
}

// doneWords are the pay page's sentences for a payment that takes no more
// attempts, by status.
var doneWords = map[payments.Status]string{
	payments.StatusSucceeded:  "This payment has succeeded: there is nothing more to pay.",
	payments.StatusProcessing: "This payment is being processed: there is nothing to pay now.",
	payments.StatusCanceled:   "This payment was cancelled: it can no longer be paid.",
}

func (s *Sandbox) serveCheckout(w http.ResponseWriter, r *http.Request) {
	v, err := s.view(r.PathValue("paymentId"))
	if err != nil {
		httpapi.WriteError(w, err)
		return
	}
	st := payments.Status(v.Status)
	d := checkoutData{
		ID: v.ID, OrderID: v.OrderID, Amount: FormatAmount(v.AmountCents, v.Currency), Status: v.Status,
		Error:   formErrors[apperr.Code(r.URL.Query().Get("error"))],
		Payable: st == payments.StatusRequiresPayment || st == payments.StatusFailed,
		Done:    doneWords[st],
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if err := checkoutPage().Execute(w, d); err != nil {
		s.log.Error("render checkout page", "error", err)
	}
}

// zeroDecimal are Stripe's zero-decimal currencies.
var zeroDecimal = map[string]bool{
	"BIF": true, "CLP": true, "DJF": true, "GNF": true, "JPY": true, "KMF": true, "KRW": true, "MGA": true,
	"PYG": true, "RWF": true, "UGX": true, "VND": true, "VUV": true, "XAF": true, "XOF": true, "XPF": true,
}

// FormatAmount renders minor units for people: 1500 EUR → "15.00 EUR".
func FormatAmount(cents int64, currency string) string {
	if zeroDecimal[currency] {
		return strconv.FormatInt(cents, 10) + " " + currency
	}
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return sign + strconv.FormatInt(cents/100, 10) + "." + leftPad(strconv.FormatInt(cents%100, 10)) + " " + currency
}

func leftPad(s string) string {
	if len(s) < 2 {
		return "0" + s
	}
	return s
}
