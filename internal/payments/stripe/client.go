package stripe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// APIVersion is the Stripe API version every request names
// (Stripe-Version) and the release train webhook events must be of. It
// is the version stripe-go v84.4.1 pinned, which this client replaced:
// the account's default version and the webhook endpoint's stay as they
// were.
const APIVersion = "2026-02-25.clover"

// userAgent names this client to Stripe.
const userAgent = "StarArena/1 (+net/http; Stripe API " + APIVersion + ")"

// maxIdempotencyKey is Stripe's limit on an Idempotency-Key.
const maxIdempotencyKey = 255

// maxAnswer bounds the bytes read from one answer: a page of 100
// PaymentIntents with their charges expanded is well under 1 MB.
const maxAnswer = 16 << 20

// Backoff between attempts: 0.5 s × (1 + n²) after the n-th retry (0.5 s,
// 1 s, 2.5 s, 5 s, ...), at most 5 s, less up to a quarter at random so that
// callers that failed together do not retry together, never under 0.5 s.
const (
	minRetryDelay = 500 * time.Millisecond
	maxRetryDelay = 5 * time.Second
)

// client makes Stripe API calls over net/http: form-encoded parameters,
// JSON answers, the account's key as a bearer token, and the retries
// Stripe's documentation describes for a client of its API. It is safe for
// concurrent use.
type client struct {
	base    string // without a trailing slash
	key     string
	http    *http.Client
	retries int // retries after the first attempt
	log     *slog.Logger
	// sleep waits d or until ctx is done (tests make it instant).
	sleep func(ctx context.Context, d time.Duration) error
}

// apiError is an error answer from Stripe: its HTTP status and the error
// object of its body.
type apiError struct {
	Status      int
	Type        string // api_error, card_error, idempotency_error, invalid_request_error
	Code        string // resource_missing, lock_timeout, charge_already_refunded, ...
	DeclineCode string
	Message     string
	Param       string
	RequestID   string // the Request-Id header
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s %s: %s (request %s)", e.Status, e.Type, e.Code, e.Message, e.RequestID)
}

// get calls GET path with p as its query and decodes the answer into out.
func (c *client) get(ctx context.Context, path string, p params, out any) error {
	return c.call(ctx, http.MethodGet, path, p, "", out)
}

// post calls POST path with p as its body and the idempotency key, which
// every write of this client has, so that a retry (here, or the caller's
// after an unknown outcome) is applied once.
func (c *client) post(ctx context.Context, path string, p params, idempotencyKey string, out any) error {
	if idempotencyKey == "" || len(idempotencyKey) > maxIdempotencyKey || strings.TrimSpace(idempotencyKey) != idempotencyKey {
		return fmt.Errorf("stripe: POST %s: idempotency key must be 1..%d characters without surrounding space", path, maxIdempotencyKey)
	}
	return c.call(ctx, http.MethodPost, path, p, idempotencyKey, out)
}

// call makes the request, retrying as retryable decides at most c.retries
// times with the same parameters and idempotency key. It returns an
// *apiError for an error answer, the transport's error when no answer
// came, or the context's error when ctx ended while waiting to retry.
func (c *client) call(ctx context.Context, method, path string, p params, idempotencyKey string, out any) error {
	encoded := p.encode()
	for attempt := 0; ; attempt++ {
		start := time.Now()
		status, header, body, err := c.attempt(ctx, method, path, encoded, idempotencyKey)
		c.log.Debug("stripe request", "method", method, "path", path, "attempt", attempt+1, "status", status,
			"duration", time.Since(start), "error", err)
		if err == nil && status >= 400 {
			err = decodeError(status, header, body)
			c.logError(method, path, status, err)
		} else if err != nil {
			c.log.Warn("stripe request failed", "method", method, "path", path, "error", err)
		}
		if err == nil {
			if err := json.Unmarshal(body, out); err != nil {
				return fmt.Errorf("stripe: %s %s: reading the answer: %w", method, path, err)
			}
			return nil
		}
		if attempt >= c.retries || ctx.Err() != nil || !retryable(err, status, header) {
			return err
		}
		d := retryDelay(attempt)
		c.log.Warn("stripe request retried", "method", method, "path", path, "retry", attempt+1, "after", d)
		if serr := c.sleep(ctx, d); serr != nil {
			return serr
		}
	}
}

// attempt sends one request and reads its answer. A status of 0 means no
// answer (err says why).
func (c *client) attempt(ctx context.Context, method, path, encoded, idempotencyKey string) (int, http.Header, []byte, error) {
	url := c.base + path
	var body io.Reader
	if method == http.MethodGet {
		if encoded != "" {
			url += "?" + encoded
		}
	} else {
		body = strings.NewReader(encoded)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Stripe-Version", APIVersion)
	req.Header.Set("User-Agent", userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err == nil && len(b) > maxAnswer {
		err = fmt.Errorf("answer longer than %d bytes", maxAnswer)
	}
	if err != nil {
		// The status came but not the whole answer: as good as no answer.
		return 0, nil, nil, fmt.Errorf("reading the answer to %s %s: %w", method, path, err)
	}
	return resp.StatusCode, resp.Header, b, nil
}

// decodeError reads an error answer. An answer without Stripe's error
// object (a proxy's page, a truncated body) is a plain error, which the
// provider reports as ErrUnavailable whatever its status.
func decodeError(status int, header http.Header, body []byte) error {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil || eb.Error == nil {
		return fmt.Errorf("stripe answered %d without an error object: %.200q", status, body)
	}
	e := eb.Error
	return &apiError{Status: status, Type: e.Type, Code: e.Code, DeclineCode: e.DeclineCode, Message: e.Message,
		Param: e.Param, RequestID: header.Get("Request-Id")}
}

// logError logs an error answer: at debug level for a 402 (a declined
// card: the fan's doing, not the system's), else as a warning (the caller
// decides what is an error).
func (c *client) logError(method, path string, status int, err error) {
	level := slog.LevelWarn
	if status == http.StatusPaymentRequired {
		level = slog.LevelDebug
	}
	c.log.Log(context.Background(), level, "stripe error answer", "method", method, "path", path, "status", status, "error", err)
}

// retryable decides whether an attempt that failed may be made again with
// the same parameters and idempotency key (the caller's context is checked
// before). Stripe's rules for a client of its API:
//
//	no answer (connection refused or dropped, timeout)  → yes, unless the TLS certificate was refused
//	Stripe-Should-Retry: true / false                   → what the header says, whatever the status
//	409 (a concurrent request with the same key)        → yes
//	429 (rate limited, or a lock timeout)               → yes
//	5xx                                                 → yes
//	any other status                                    → no
//
// Retrying a write is safe because every write carries an idempotency key:
// Stripe answers a key it has seen with the first answer it gave.
func retryable(err error, status int, header http.Header) bool {
	if status == 0 {
		return err != nil && !certificateRefused(err)
	}
	switch header.Get("Stripe-Should-Retry") {
	case "true":
		return true
	case "false":
		return false
	}
	return status == http.StatusConflict || status == http.StatusTooManyRequests || status >= 500
}

// certificateRefused reports whether err is a TLS certificate that did not
// verify, which no retry changes.
func certificateRefused(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci)
}

// retryDelay is the wait before retry n+1 (see minRetryDelay).
func retryDelay(n int) time.Duration {
	d := minRetryDelay * time.Duration(1+n*n)
	if d > maxRetryDelay || d <= 0 {
		d = maxRetryDelay
	}
	d -= time.Duration(rand.Int64N(int64(d/4) + 1))
	return max(d, minRetryDelay)
}

// sleepContext waits d, or until ctx is done (its error).
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
