// Command organizer sends one request to StarArena's organizer API and
// prints the answer: a signed curl for the routes under /admin.
//
//	go run ./scripts/organizer POST /admin/v1/events event.json
//	go run ./scripts/organizer POST /admin/v1/events/EVENT/sale '{"action":"open"}'
//	go run ./scripts/organizer GET /admin/v1/events/EVENT/report
//	go run ./scripts/organizer -api "$MachineApiUrl" -org ORG GET /admin/v1/events/EVENT/report   # in AWS
//
// Against the local stack (a loopback -api) it signs in through the dev
// issuer as an owner of -org. Against AWS it signs with Signature Version 4
// using the environment's AWS credentials (profile, SSO, role…), which need
// execute-api:Invoke on the machine API, and names -org in X-Stararena-Org:
// an owner of that organization must have granted the principal's ARN a
// role (POST /admin/v1/staff).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/stararena/stararena/internal/adminclient"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command; it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("organizer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	api := fs.String("api", envOr("STARARENA_API", "http://127.0.0.1:8080"), "API base URL: the local stack, or the deployed stack's ApiUrl output ($STARARENA_API)")
	token := fs.String("token", os.Getenv("STARARENA_TOKEN"), "bearer token; empty: a dev organizer token from a local stack, else SigV4 ($STARARENA_TOKEN)")
	region := fs.String("region", "", "signing region (default: the one in the execute-api host name, else the AWS configuration's)")
	as := fs.String("as", "organizer-cli", "account name of the dev organizer token (local stack only)")
	org := fs.String("org", os.Getenv("STARARENA_ORG"), "organization to act for: locally the dev organizer owns it (default: the one -as names); in AWS sent as X-Stararena-Org, and the signing principal must hold a role there ($STARARENA_ORG)")
	timeout := fs.Duration("timeout", time.Minute, "time limit for the request")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./scripts/organizer [flags] METHOD PATH [BODY]")
		fmt.Fprintln(stderr, "BODY is a JSON file, - for standard input, or inline JSON starting with { or [.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() < 2 || fs.NArg() > 3 {
		fs.Usage()
		return 2
	}
	method, path := strings.ToUpper(fs.Arg(0)), fs.Arg(1)
	var body []byte
	if fs.NArg() == 3 {
		var err error
		if body, err = readBody(fs.Arg(2), stdin); err != nil {
			fmt.Fprintln(stderr, "organizer:", err)
			return 2
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	c := &adminclient.Client{Base: *api, Token: *token}
	switch {
	case c.Token != "":
	case loopback(*api):
		tok, err := devToken(ctx, *api, *as, *org)
		if err != nil {
			fmt.Fprintln(stderr, "organizer: sign in to the local stack:", err)
			return 1
		}
		c.Token = tok
	default:
		cfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "organizer: AWS configuration:", err)
			return 1
		}
		c.Credentials, c.Region = cfg.Credentials, first(*region, adminclient.RegionOf(*api), cfg.Region)
		c.Org = *org
	}
	resp, err := c.Do(ctx, method, path, body)
	if err != nil {
		fmt.Fprintln(stderr, "organizer:", err)
		return 1
	}
	var out bytes.Buffer
	if json.Indent(&out, resp.Body, "", "  ") != nil {
		out.Reset()
		out.Write(resp.Body)
	}
	if out.Len() > 0 {
		out.WriteByte('\n')
	}
	_, _ = stdout.Write(out.Bytes())
	if !resp.OK() {
		fmt.Fprintf(stderr, "organizer: %s %s answered %d\n", method, path, resp.Status)
		return 1
	}
	return 0
}

func readBody(arg string, stdin io.Reader) ([]byte, error) {
	var b []byte
	var err error
	switch {
	case arg == "-":
		b, err = io.ReadAll(io.LimitReader(stdin, 16<<20))
	case strings.HasPrefix(strings.TrimSpace(arg), "{") || strings.HasPrefix(strings.TrimSpace(arg), "["):
		b = []byte(arg)
	default:
		b, err = os.ReadFile(arg)
	}
	if err != nil {
		return nil, fmt.Errorf("read the body: %w", err)
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("the body is not JSON")
	}
	return b, nil
}

// devToken signs in through the local stack's dev issuer as an owner of
// org (empty: the organization sub names).
func devToken(ctx context.Context, api, sub, org string) (string, error) {
	claims := map[string]string{"sub": sub, "role": "organizer"}
	if org != "" {
		claims["org"] = org
	}
	b, _ := json.Marshal(claims)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(api, "/")+"/dev/token", bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var t struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil || resp.StatusCode != http.StatusOK || t.Token == "" {
		return "", fmt.Errorf("POST /dev/token answered %d", resp.StatusCode)
	}
	return t.Token, nil
}

func loopback(api string) bool {
	u, err := url.Parse(api)
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
