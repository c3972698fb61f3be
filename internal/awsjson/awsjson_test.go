package awsjson

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/stararena/stararena/internal/testenv"
)

func testConfig(endpoint string) aws.Config {
	return aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
}

// SendMessage against moto's SQS: the message the SDK's client receives is
// the body sent, byte for byte, under the id SendMessage returned (and
// moto's MD5 of it matched, or SendMessage would have failed).
func TestSendMessageReachesMotoSQS(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(testenv.Moto(t))
	sdk := sqs.NewFromConfig(cfg)
	q, err := sdk.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("mail")})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"kind":"confirmation","orderId":"o-1","note":"<b>Élodie & \"Zoë\"</b> 🎫"}`
	id, err := NewSQS(cfg).SendMessage(ctx, aws.ToString(q.QueueUrl), body)
	if err != nil || id == "" {
		t.Fatalf("SendMessage: %q, %v", id, err)
	}
	got, err := sdk.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 1 || aws.ToString(got.Messages[0].Body) != body || aws.ToString(got.Messages[0].MessageId) != id {
		t.Fatalf("received %+v, want one message %s with the body sent", got.Messages, id)
	}
	// AND a queue that does not exist is the service's error, with its code
	_, err = NewSQS(cfg).SendMessage(ctx, strings.Replace(aws.ToString(q.QueueUrl), "/mail", "/nope", 1), body)
	if err == nil || ErrorCode(err) == "" {
		t.Fatalf("a missing queue: %v", err)
	}
}

// GetSecretValue against moto's Secrets Manager: the current string by
// ARN or name; a missing secret is ResourceNotFoundException.
func TestGetSecretValueFromMoto(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(testenv.Moto(t))
	s, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("OriginProof"), SecretString: aws.String(`{"current":"abc"}`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{aws.ToString(s.ARN), "OriginProof"} {
		if got, err := NewSecretsManager(cfg).GetSecretValue(ctx, id); err != nil || got != `{"current":"abc"}` {
			t.Errorf("GetSecretValue(%s): %q, %v", id, got, err)
		}
	}
	if _, err := NewSecretsManager(cfg).GetSecretValue(ctx, "Missing"); ErrorCode(err) != "ResourceNotFoundException" {
		t.Errorf("a missing secret: %v (code %q)", err, ErrorCode(err))
	}
}

// recorder is a service that fails the first fails requests with status
// and code, then answers answer.
type recorder struct {
	fails       int32
	status      int
	code        string
	answer      string
	n           atomic.Int32
	target, sig string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	n := r.n.Add(1)
	r.target, r.sig = req.Header.Get("X-Amz-Target"), req.Header.Get("Authorization")
	if n <= r.fails {
		w.Header().Set("X-Amzn-RequestId", "req-1")
		w.WriteHeader(r.status)
		_, _ = w.Write([]byte(`{"__type":"com.amazonaws.test#` + r.code + `","message":"no"}`))
		return
	}
	_, _ = w.Write([]byte(r.answer))
}

// noWait is the standard retryer without its backoff, so the test does not
// sleep up to seconds between attempts; which errors it retries, how many
// times, and its quota are the SDK's.
func noWait(c *client) *client {
	c.retryer = retry.NewStandard(func(o *retry.StandardOptions) {
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
	return c
}

// Throttling and server errors are retried as the SDK's standard retryer
// retries them (three attempts); a client error is not. Requests are
// signed for the service with the operation's target.
func TestCallsRetryAsTheSDKsStandardRetryer(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		fails        int32
		status       int
		code         string
		wantRequests int32
		wantCode     string
	}{
		{"throttled once", 1, 400, "ThrottlingException", 2, ""},
		{"unavailable twice", 2, 503, "ServiceUnavailable", 3, ""},
		{"unavailable three times", 3, 503, "ServiceUnavailable", 3, "ServiceUnavailable"},
		{"refused", 1, 400, "ResourceNotFoundException", 1, "ResourceNotFoundException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{fails: tc.fails, status: tc.status, code: tc.code, answer: `{"SecretString":"s3cret"}`}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			sm := &SecretsManager{noWait(newClient(testConfig(srv.URL), secretsService))}
			got, err := sm.GetSecretValue(ctx, "k")
			if n := rec.n.Load(); n != tc.wantRequests {
				t.Errorf("%d requests, want %d", n, tc.wantRequests)
			}
			if ErrorCode(err) != tc.wantCode || (tc.wantCode == "" && (err != nil || got != "s3cret")) {
				t.Errorf("%q, %v (code %q), want code %q", got, err, ErrorCode(err), tc.wantCode)
			}
			if rec.target != "secretsmanager.GetSecretValue" || !strings.Contains(rec.sig, "/eu-west-1/secretsmanager/aws4_request") {
				t.Errorf("target %q, authorization %q", rec.target, rec.sig)
			}
		})
	}
}

// SendMessage refuses an answer whose MD5 is not the body's, as the SDK's
// SQS client does.
func TestSendMessageChecksTheBodysMD5(t *testing.T) {
	srv := httptest.NewServer(&recorder{answer: `{"MessageId":"m1","MD5OfMessageBody":"00000000000000000000000000000000"}`})
	defer srv.Close()
	if _, err := NewSQS(testConfig(srv.URL)).SendMessage(context.Background(), srv.URL+"/q", "hello"); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("a wrong MD5: %v", err)
	}
	ok := httptest.NewServer(&recorder{answer: `{"MessageId":"m1","MD5OfMessageBody":"5d41402abc4b2a76b9719d911017c592"}`})
	defer ok.Close()
	if id, err := NewSQS(testConfig(ok.URL)).SendMessage(context.Background(), ok.URL+"/q", "hello"); err != nil || id != "m1" {
		t.Fatalf("the body's MD5: %q, %v", id, err)
	}
}

// Without an endpoint override a client calls the service's regional
// endpoint, as the SDK's clients do.
func TestEndpoints(t *testing.T) {
	for _, v := range []string{"AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_WAFV2", "AWS_ENDPOINT_URL_SECRETS_MANAGER"} {
		t.Setenv(v, "")
	}
	for _, tc := range []struct {
		svc    service
		region string
		want   string
	}{
		{sqsService, "eu-west-1", "https://sqs.eu-west-1.amazonaws.com"},
		{secretsService, "us-east-2", "https://secretsmanager.us-east-2.amazonaws.com"},
		{wafService, "us-east-1", "https://wafv2.us-east-1.amazonaws.com"},
		{sqsService, "cn-north-1", "https://sqs.cn-north-1.amazonaws.com.cn"},
	} {
		if got := newClient(aws.Config{Region: tc.region}, tc.svc).endpoint; got != tc.want {
			t.Errorf("%s in %s: %s, want %s", tc.svc.name, tc.region, got, tc.want)
		}
	}
	t.Setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:4566")
	if got := newClient(aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String("http://other")}, sqsService).endpoint; got != "http://127.0.0.1:4566" {
		t.Errorf("AWS_ENDPOINT_URL_SQS: %s", got)
	}
}
