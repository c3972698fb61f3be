// Package awsjson calls the few AWS operations the functions make outside
// DynamoDB and Step Functions — SQS SendMessage, Secrets Manager
// GetSecretValue, and WAF's regex pattern set reads and updates — over
// their JSON protocols (awsJson1_0, awsJson1_1), without the SDK's service
// clients. Each of those clients brings its whole service model (every
// shape's schema registered at start-up, its endpoint rules, its types):
// Secrets Manager about 260 KB of every binary, SQS 330 KB, WAF 260 KB,
// for one or two calls each (ADR 19).
//
// It keeps what the SDK's clients did for these calls: the configuration
// comes from internal/awsconf (credentials, region, endpoint override),
// requests are signed by the SDK's SigV4 signer, sent by the SDK's default
// HTTP client and retried by the SDK's standard retryer (its attempts,
// backoff, retry quota and retryable errors), errors carry the service's
// error code (ErrorCode), and SendMessage checks the body's MD5 as the SQS
// client does.
package awsjson

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// service is one AWS service's JSON protocol.
type service struct {
	name    string // in errors: "SQS"
	envID   string // its endpoint override: AWS_ENDPOINT_URL_<envID>
	signing string // SigV4 signing name and endpoint prefix
	target  string // X-Amz-Target's prefix
	version string // awsJson version: "1.0" or "1.1"
}

var (
	sqsService     = service{name: "SQS", envID: "SQS", signing: "sqs", target: "AmazonSQS", version: "1.0"}
	secretsService = service{name: "Secrets Manager", envID: "SECRETS_MANAGER", signing: "secretsmanager", target: "secretsmanager", version: "1.1"}
	wafService     = service{name: "WAFV2", envID: "WAFV2", signing: "wafv2", target: "AWSWAF_20190729", version: "1.1"}
)

// client calls one service's operations.
type client struct {
	svc      service
	endpoint string
	region   string
	creds    aws.CredentialsProvider
	http     aws.HTTPClient
	signer   *v4.Signer
	retryer  *retry.Standard
}

func newClient(cfg aws.Config, svc service) *client {
	c := &client{svc: svc, region: cfg.Region, creds: cfg.Credentials, http: cfg.HTTPClient, signer: v4.NewSigner(), retryer: retry.NewStandard()}
	if c.http == nil {
		c.http = awshttp.NewBuildableClient()
	}
	// As the SDK's clients resolve it: the service's own override, the
	// configuration's (Lambda builds put AWS_ENDPOINT_URL_<SERVICE> there
	// already), then the service's regional endpoint.
	c.endpoint = cmp.Or(os.Getenv("AWS_ENDPOINT_URL_"+svc.envID), aws.ToString(cfg.BaseEndpoint))
	if c.endpoint == "" {
		domain := "amazonaws.com"
		if strings.HasPrefix(c.region, "cn-") {
			domain = "amazonaws.com.cn"
		}
		c.endpoint = "https://" + svc.signing + "." + c.region + "." + domain
	}
	return c
}

// Error is a service's answer to a failed call.
type Error struct {
	Service, Operation string
	Status             int
	Code, Message      string
	RequestID          string
}

func (e *Error) Error() string {
	return fmt.Sprintf("operation error %s: %s, https response error StatusCode: %d, RequestID: %s, api error %s: %s",
		e.Service, e.Operation, e.Status, e.RequestID, e.Code, e.Message)
}

// ErrorCode is the service's error code ("WAFOptimisticLockException"),
// as the SDK's API errors give it (smithy.APIError): the standard retryer
// reads it to tell throttling and timeouts.
func (e *Error) ErrorCode() string { return e.Code }

// ErrorMessage is the service's message.
func (e *Error) ErrorMessage() string { return e.Message }

// HTTPStatusCode is the answer's status: the standard retryer retries 500,
// 502, 503 and 504.
func (e *Error) HTTPStatusCode() int { return e.Status }

// ErrorCode is err's service error code, or "" if err is not a service's
// answer.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// call runs operation op with input in, decoding the answer into out,
// with the standard retryer's attempts.
func (c *client) call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("operation error %s: %s: %w", c.svc.name, op, err)
	}
	release, err := c.retryer.GetAttemptToken(ctx)
	if err != nil {
		return fmt.Errorf("operation error %s: %s: %w", c.svc.name, op, err)
	}
	for attempt := 1; ; attempt++ {
		err = c.attempt(ctx, op, body, out)
		_ = release(err)
		if err == nil || attempt >= c.retryer.MaxAttempts() || !c.retryer.IsErrorRetryable(err) {
			break
		}
		// The retry quota bounds retries when the service keeps failing.
		next, qerr := c.retryer.GetRetryToken(ctx, err)
		if qerr != nil {
			break
		}
		release = next
		delay, derr := c.retryer.RetryDelay(attempt, err)
		if derr != nil {
			break
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("operation error %s: %s: %w", c.svc.name, op, ctx.Err())
		case <-t.C:
		}
	}
	var apiErr *Error
	if err != nil && !errors.As(err, &apiErr) {
		return fmt.Errorf("operation error %s: %s: %w", c.svc.name, op, err)
	}
	return err
}

// attempt sends one signed request.
func (c *client) attempt(ctx context.Context, op string, body []byte, out any) error {
	if c.creds == nil {
		return fmt.Errorf("no credentials in the AWS configuration")
	}
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("retrieve credentials: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-"+c.svc.version)
	req.Header.Set("X-Amz-Target", c.svc.target+"."+op)
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), c.svc.signing, c.region, time.Now().UTC()); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.apiError(op, resp, data)
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode %s answer: %w", op, err)
	}
	return nil
}

// apiError reads a failed answer: the code from X-Amzn-ErrorType or the
// body's __type (code, or namespace#code, or code:uri), the message from
// the body's message or Message.
func (c *client) apiError(op string, resp *http.Response, data []byte) error {
	var doc struct {
		Type     string `json:"__type"`
		Code     string `json:"code"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
	}
	_ = json.Unmarshal(data, &doc)
	code := cmp.Or(resp.Header.Get("X-Amzn-ErrorType"), doc.Type, doc.Code)
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	return &Error{Service: c.svc.name, Operation: op, Status: resp.StatusCode, Code: cmp.Or(code, "UnknownError"),
		Message: cmp.Or(doc.Message, doc.MessageU, http.StatusText(resp.StatusCode)), RequestID: resp.Header.Get("X-Amzn-RequestId")}
}
