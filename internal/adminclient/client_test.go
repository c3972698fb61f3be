package adminclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// captured is what the server received.
type captured struct {
	method, path, body string
	header             http.Header
}

func recorder(t *testing.T) (*httptest.Server, *captured) {
	t.Helper()
	var got captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = captured{method: r.Method, path: r.URL.Path, body: string(b), header: r.Header.Clone()}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"eventId":"e1"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func TestSignsForExecuteAPIWithSigV4(t *testing.T) {
	srv, got := recorder(t)
	at := time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)
	creds := credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "session-token")
	c := &Client{Base: srv.URL + "/", Credentials: creds, Region: "eu-west-1", Org: "org-a", Now: func() time.Time { return at }}
	body := []byte(`{"name":"Show"}`)
	resp, err := c.Do(context.Background(), http.MethodPost, "/admin/v1/events", body)
	if err != nil || resp.Status != 201 || !resp.OK() || string(resp.Body) != `{"eventId":"e1"}` {
		t.Fatalf("Do = %+v, %v", resp, err)
	}
	if got.method != "POST" || got.path != "/admin/v1/events" || got.body != string(body) {
		t.Fatalf("server got %s %s %q", got.method, got.path, got.body)
	}
	auth := got.header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/eu-west-1/execute-api/aws4_request, SignedHeaders=") {
		t.Fatalf("Authorization %q: want a SigV4 signature for execute-api in eu-west-1", auth)
	}
	if got.header.Get("X-Stararena-Org") != "org-a" || !strings.Contains(auth, "x-stararena-org") {
		t.Fatalf("organization header %q in %q: want org-a, signed", got.header.Get("X-Stararena-Org"), auth)
	}
	if got.header.Get("X-Amz-Security-Token") != "session-token" || got.header.Get("X-Amz-Date") != "20261127T180000Z" {
		t.Fatalf("session token %q, date %q", got.header.Get("X-Amz-Security-Token"), got.header.Get("X-Amz-Date"))
	}

	// The signature is the one AWS computes for this request: signing what
	// the server received again, at the same time, gives the same header;
	// a changed body does not.
	resign := func(payload string) string {
		req := httptest.NewRequest(got.method, srv.URL+got.path, strings.NewReader(payload))
		req.Header = http.Header{}
		// Only what the client signed: the transport adds headers after.
		signed := auth[strings.Index(auth, "SignedHeaders=")+len("SignedHeaders=") : strings.Index(auth, ", Signature=")]
		for _, k := range strings.Split(signed, ";") {
			switch k {
			case "host", "x-amz-date", "x-amz-security-token":
			case "content-length":
				req.ContentLength = int64(len(payload))
			default:
				req.Header[http.CanonicalHeaderKey(k)] = got.header.Values(k)
			}
		}
		cr, _ := creds.Retrieve(context.Background())
		h := v4hash(payload)
		if err := v4.NewSigner().SignHTTP(context.Background(), cr, req, h, "execute-api", "eu-west-1", at); err != nil {
			t.Fatal(err)
		}
		return req.Header.Get("Authorization")
	}
	if want := resign(got.body); auth != want {
		t.Errorf("signature %q\nwant      %q", auth, want)
	}
	if other := resign(`{"name":"Other"}`); auth == other {
		t.Error("the signature does not cover the body")
	}
}

func TestBearerTokenIsSentAndNothingSigned(t *testing.T) {
	srv, got := recorder(t)
	c := &Client{Base: srv.URL, Token: "tok", Credentials: credentials.NewStaticCredentialsProvider("A", "B", ""), Region: "eu-west-1"}
	if _, err := c.Do(context.Background(), http.MethodGet, "/admin/v1/events/e1/report", nil); err != nil {
		t.Fatal(err)
	}
	if got.header.Get("Authorization") != "Bearer tok" || got.header.Get("X-Amz-Date") != "" || got.header.Get("Content-Type") != "" {
		t.Fatalf("headers %v: want only the bearer token", got.header)
	}
}

func TestRefusesWhatCannotBeSent(t *testing.T) {
	ctx := context.Background()
	for name, c := range map[string]struct {
		client *Client
		path   string
	}{
		"NoAuth":       {&Client{Base: "https://abc.execute-api.eu-west-1.amazonaws.com"}, "/admin/v1/reconcile"},
		"NoRegion":     {&Client{Base: "https://x.example", Credentials: aws.AnonymousCredentials{}}, "/admin/v1/reconcile"},
		"RelativePath": {&Client{Base: "http://127.0.0.1:1", Token: "t"}, "admin/v1/reconcile"},
		"NotHTTP":      {&Client{Base: "ftp://x", Token: "t"}, "/admin/v1/reconcile"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := c.client.Do(ctx, http.MethodPost, c.path, nil); err == nil {
				t.Fatal("sent, want an error before sending")
			}
		})
	}
}

func TestRegionOfExecuteAPIHost(t *testing.T) {
	for base, want := range map[string]string{
		"https://a1b2c3.execute-api.eu-central-1.amazonaws.com":       "eu-central-1",
		"https://a1b2c3.execute-api.us-east-1.amazonaws.com/prod/":    "us-east-1",
		"https://a1b2c3.execute-api.cn-north-1.amazonaws.com.cn":      "cn-north-1",
		"https://tickets.example.com":                                 "",
		"http://127.0.0.1:8080":                                       "",
		"https://x.execute-api.localhost.localstack.cloud:4566/_aws/": "localhost",
	} {
		if got := RegionOf(base); got != want {
			t.Errorf("RegionOf(%q) = %q, want %q", base, got, want)
		}
	}
}

func v4hash(payload string) string {
	sum := sha256.Sum256([]byte(payload))
	return hex.EncodeToString(sum[:])
}
