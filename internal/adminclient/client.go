// Package adminclient calls StarArena's organizer API the way each
// deployment authenticates organizers: with a bearer token (the local
// stack's dev issuer) or with AWS Signature Version 4 for the execute-api
// service (the deployed HTTP API's organizer routes are IAM-authorized).
package adminclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/stararena/stararena/internal/auth"
)

// Client sends organizer requests to one API.
type Client struct {
	// Base is the API's base URL: the local stack's, or the deployed
	// stack's ApiUrl output (not CloudFront, which does not pass SigV4
	// through to the API).
	Base string
	// Token, when set, is sent as a bearer token and nothing is signed.
	Token string
	// Credentials and Region sign every request for execute-api when Token
	// is empty.
	Credentials aws.CredentialsProvider
	Region      string
	// Org, when set, names the organization a signed (machine) request
	// acts for (auth.OrgHeader); its principal's grants there decide what
	// it may do.
	Org  string
	HTTP *http.Client
	// Now is the signing clock (time.Now when nil).
	Now func() time.Time
}

// Response is the API's answer.
type Response struct {
	Status int
	Body   []byte
}

// OK reports a 2xx answer.
func (r Response) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Do sends method path with body (nil: none) and returns the answer. A
// non-2xx answer is a Response, not an error: the API's JSON error says
// what went wrong.
func (c *Client) Do(ctx context.Context, method, path string, body []byte) (Response, error) {
	if !strings.HasPrefix(path, "/") {
		return Response{}, fmt.Errorf("path %q: must start with /", path)
	}
	u, err := url.Parse(strings.TrimSuffix(c.Base, "/") + path)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Response{}, fmt.Errorf("API URL %q: want http(s)://host[/stage]", c.Base)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return Response{}, fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Org != "" {
		req.Header.Set(auth.OrgHeader, c.Org) // before signing: the signature covers it
	}
	if err := c.authorize(ctx, req, body); err != nil {
		return Response{}, err
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	return Response{Status: resp.StatusCode, Body: b}, nil
}

func (c *Client) authorize(ctx context.Context, req *http.Request, body []byte) error {
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
		return nil
	}
	if c.Credentials == nil || c.Region == "" {
		return fmt.Errorf("no token and no AWS credentials and region to sign with")
	}
	creds, err := c.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("AWS credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "execute-api", c.Region, now().UTC()); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	return nil
}

// RegionOf returns the region in an execute-api host name
// (<id>.execute-api.<region>.amazonaws.com), or "".
func RegionOf(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	parts := strings.Split(u.Hostname(), ".")
	for i := 0; i+2 < len(parts); i++ {
		if parts[i] == "execute-api" {
			return parts[i+1]
		}
	}
	return ""
}
