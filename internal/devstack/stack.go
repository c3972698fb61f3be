// Package devstack runs the whole of StarArena in one process, as a stand-in
// for the AWS services it is deployed on (not to be confused with the
// LocalStack product, which `make localstack-deploy` targets): an
// embedded DynamoDB-compatible server (or any endpoint you name), the tables
// of the topology, every HTTP function behind the same routes API Gateway
// has, a JWT authorizer with a dev token issuer, and the static site.
package devstack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/checkout"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/config"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/jsonbody"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/localdynamo"
	"github.com/stararena/stararena/internal/localsfn"
	"github.com/stararena/stararena/internal/localsqs"
	"github.com/stararena/stararena/internal/mail"
	"github.com/stararena/stararena/internal/payments/sandbox"
	"github.com/stararena/stararena/internal/topology"
	"github.com/stararena/stararena/internal/workflow"
)

// Options configures Start; zero values take defaults.
type Options struct {
	// Addr to listen on; default 127.0.0.1:8080. Use 127.0.0.1:0 in tests.
	Addr string
	// Config is the application configuration. An empty DynamoEndpoint
	// starts an embedded minidyn server on loopback.
	Config config.Config
	// WebDir is the static site folder served at / (empty: no site).
	WebDir string
	// Demo seeds the demo event when it does not exist yet.
	Demo bool
	// TimeScale speeds up the order workflow's waits and the sandbox's
	// webhook delays and retries (1 or 0: real time; tests use 0.01).
	TimeScale float64
	// ReconcileEvery is the reconciler schedule (0: every minute;
	// negative: off, for tests that run it by hand).
	ReconcileEvery time.Duration
	// InletEvery is the waiting room's inlet schedule (0: the topology's
	// 2 s; negative: off, for tests that tick by hand).
	InletEvery time.Duration
	// SandboxSecret signs the sandbox's webhooks (default: random).
	SandboxSecret string
	// FanReadCache is the waiting room's read cache for fans (0: the
	// default 1 s; negative: off, for contract tests that read their
	// writes).
	FanReadCache time.Duration
	// MetricsOut receives the functions' EMF metric lines (default:
	// discarded).
	MetricsOut io.Writer
	Clock      clock.Clock
	Logger     *slog.Logger
	// DevTokenAlgorithm signs the dev issuer's tokens: auth.AlgRS256 (the
	// default, as a Cognito user pool) or auth.AlgES256, much faster to
	// sign, for load runs that sign in many fans.
	DevTokenAlgorithm string
	// QueueTimeScale scales the queues' batching window and visibility
	// timeout (0: TimeScale), so a run that speeds up the order workflow
	// can keep the join queue's plumbing in real time.
	QueueTimeScale float64
	// IntegrationTimeout is how long the local API Gateway waits for a
	// function before answering 503 (0: API Gateway's 30 s; negative:
	// forever). Tests of the limit shorten it.
	IntegrationTimeout time.Duration
	// DeadlineScale multiplies every function's topology timeout, its
	// context deadline after which its route answers 500 as when Lambda
	// stops a function, and the integration timeout (0: 1, as in AWS;
	// negative: no limits). A load run on a shared machine raises it, so
	// that a slow machine is not mistaken for a slow function.
	DeadlineScale float64
	// QueueFaults make the queues duplicate and reorder deliveries as a
	// standard queue may (default: none, so runs stay comparable).
	QueueFaults localsqs.Faults
	// SignIn is how the site signs fans in: SignInDev (the default) or
	// SignInHosted, the code flow the site runs against Cognito in AWS,
	// here against the stack's stand-in (the stack then serves the site a
	// config.json that says so).
	SignIn string
	// BotCheck makes the CDN stand-in's WAF challenge every join without a
	// solved bot check, as AWS WAF's Challenge does (ADR 22); the site
	// solves it with the stand-in's challenge script, other clients with
	// SolveBotCheck. Off by default, for clients that join without one.
	// With it, an event an organizer raised to CAPTCHA needs a solved
	// CAPTCHA (the stand-in's captcha.js); without it the level is kept
	// but nothing at the edge asks for it.
	BotCheck bool
	// Feed is the change feed of an embedded DynamoDB server the caller
	// started (the rush simulation's); the stack's own embedded server
	// always has one. With a feed, the projector keeps the availability
	// projections as DynamoDB Streams feed it in AWS (ADR 18); without one
	// (an external endpoint such as moto), readers rebuild them every
	// freshness window, and Config.AvailabilityRepair is ignored.
	Feed *localdynamo.Feed
	// Tasks, when set, is called with the order workflow's tasks before
	// they serve their first call: fault runs set crash points or wrap the
	// ticket issuer (the reconciler issues through the same tasks).
	Tasks func(*workflow.Tasks)
	// CancelSettle is how long after a cancellation its saga may end
	// (cancellation.Options.Settle; 0: the default 30 s). Tests that
	// drive passes by hand shorten it.
	CancelSettle time.Duration
	// HoldTimings, when set, receives each hold's time by part as the
	// holds service measured it (inventory.Timing): load runs break the
	// hold latency down with it.
	HoldTimings func(inventory.Timing)
}

// Stack is a running local stack.
type Stack struct {
	App            *app.App
	Issuer         *auth.DevIssuer
	DynamoEndpoint string
	url            string
	routes         []string
	// Sandbox is the local payment provider.
	Sandbox *sandbox.Sandbox
	// Mail holds the email the stack captured instead of sending.
	Mail *mail.Capture
	srv  *http.Server
	// originSrv serves the API without the CDN stand-in, as the HTTP
	// API's own execute-api address does in AWS.
	originSrv     *http.Server
	originURL     string
	dynSrv        *http.Server
	lambdaSrv     *http.Server
	sidecar       *localsfn.Sidecar
	queues        map[string]*localsqs.Queue
	stopSchedules context.CancelFunc
	schedulesDone chan struct{}
	dynamoOps     *OpCounter
	calls         invocations
	stream        *localStream
	stopStream    context.CancelFunc
	streamDone    chan struct{}
	log           *slog.Logger
}

// Start brings the stack up and returns when it serves requests.
func Start(ctx context.Context, o Options) (*Stack, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:8080"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: o.Config.LogLevel}))
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	st := &Stack{log: o.Logger}
	cfg := o.Config
	if cfg.TableName == "" {
		cfg.TableName = "stararena"
	}
	if cfg.Freshness == 0 {
		cfg.Freshness = 2 * time.Second
	}
	if len(cfg.OriginProofs) == 0 {
		// What CloudFront adds to every request it forwards (ADR 22): the
		// stack's CDN stand-in adds it, its origin address does not.
		cfg.OriginProofs = []string{randomProof()}
	}
	proof := cfg.OriginProofs[0]
	feed := o.Feed
	if cfg.DynamoEndpoint == "" {
		st.dynamoOps = &OpCounter{}
		feed = NewFeed(topology.Default())
		url, srv, err := startMinidyn(st.dynamoOps, feed)
		if err != nil {
			return nil, err
		}
		st.dynSrv, cfg.DynamoEndpoint = srv, url
	}
	st.DynamoEndpoint = cfg.DynamoEndpoint
	switch {
	case feed == nil:
		cfg.AvailabilityRepair = 0
	case cfg.AvailabilityRepair == 0:
		cfg.AvailabilityRepair = topology.AvailabilityRepair
	}
	fail := func(err error) (*Stack, error) {
		st.Close(context.Background())
		return nil, err
	}
	db, err := dynamo.NewClient(ctx, dynamo.ClientOptions{Region: cfg.Region, Endpoint: cfg.DynamoEndpoint, StaticCredentials: true})
	if err != nil {
		return fail(err)
	}
	tp := topology.Default()
	if err := tp.Validate(); err != nil {
		return fail(err)
	}
	if err := dynamo.CreateTables(ctx, db, tp.Tables, map[string]string{topology.MainTable: cfg.TableName}); err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fail(fmt.Errorf("listen %s: %w", o.Addr, err))
	}
	st.url = "http://" + ln.Addr().String()
	failLn := func(err error) (*Stack, error) {
		ln.Close()
		return fail(err)
	}
	if err := st.startMoney(o, st.url); err != nil {
		return failLn(err)
	}
	if cfg.SiteURL == "" {
		cfg.SiteURL = st.url
	}
	st.Mail = mail.NewCapture(o.Clock, func(ctx context.Context, orderID string) string {
		ord, err := st.App.Stores.Orders.GetOrder(ctx, orderID)
		if err != nil {
			return ""
		}
		return ord.Account
	})
	// The CDN stand-in's bot check is where events' bot levels take effect.
	bots := newBotCheck(tp, o.Clock)
	st.App, err = app.New(ctx, cfg, app.Options{HoldTimings: o.HoldTimings, Clock: o.Clock, Logger: o.Logger, DB: db, Topology: &tp, MetricsOut: o.MetricsOut, FanReadCache: o.FanReadCache,
		Providers: checkout.Providers{st.Sandbox.Name(): st.Sandbox}, MailSender: st.Mail, BotLevel: bots, CancelSettle: o.CancelSettle})
	if err != nil {
		return failLn(err)
	}
	if err := st.startWorkflow(ctx, o); err != nil {
		return failLn(err)
	}
	if feed != nil {
		st.startStream(tp, feed)
	}
	st.Issuer, err = auth.NewDevIssuerAlg(st.url+"/dev", Clients, 12*time.Hour, o.Clock, o.DevTokenAlgorithm)
	if err != nil {
		return failLn(err)
	}
	if err := st.startQueues(tp, o); err != nil {
		return failLn(err)
	}
	mux, err := st.mux(tp, o)
	if err != nil {
		return failLn(err)
	}
	newHostedSignIn(st.Issuer, o.Clock).register(mux)
	bots.register(mux)
	var waf *botCheck
	if o.BotCheck {
		waf = bots
	}
	switch o.SignIn {
	case "", SignInDev:
	case SignInHosted:
		mux.HandleFunc("GET /config.json", st.hostedSiteConfig)
	default:
		return failLn(fmt.Errorf("sign-in %q: want %q or %q", o.SignIn, SignInDev, SignInHosted))
	}
	if o.Demo {
		if err := SeedDemo(ctx, st.App.Catalog, o.Clock.Now()); err != nil {
			return failLn(err)
		}
	}
	st.startSchedules(o)
	originLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return failLn(fmt.Errorf("listen for the API origin: %w", err))
	}
	st.originURL = "http://" + originLn.Addr().String()
	st.srv = &http.Server{Handler: cdn(mux, proof, waf), ReadHeaderTimeout: 10 * time.Second}
	st.originSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	for srv, l := range map[*http.Server]net.Listener{st.srv: ln, st.originSrv: originLn} {
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				st.log.Error("local stack server stopped", "addr", l.Addr().String(), "err", err)
			}
		}()
	}
	return st, nil
}

// cdn is the stand-in for CloudFront and its WAF in front of the API: the
// WAF's bot check on joins (when waf is set), and the origin proof on
// every request it forwards, replacing any a client sent, as CloudFront's
// origin custom header does.
func cdn(next http.Handler, proof string, waf *botCheck) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if waf != nil {
			if action := waf.check(r); action != "" {
				wafChallenge(w, action)
				return
			}
		}
		r.Header.Set(topology.OriginHeader, proof)
		next.ServeHTTP(w, r)
	})
}

// randomProof is a fresh origin proof: 32 random bytes, base64url.
func randomProof() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func startMinidyn(counter *OpCounter, feed *localdynamo.Feed) (string, *http.Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen for minidyn: %w", err)
	}
	native := os.Getenv("LOCAL_DDB_TRANSACTIONS") == "native"
	faults, err := localdynamo.ParseFaults(os.Getenv(localdynamo.FaultsEnv))
	if err != nil {
		ln.Close()
		return "", nil, err
	}
	srv := &http.Server{Handler: counter.Wrap(localdynamo.New(localdynamo.Options{NativeTransactions: native, Faults: faults, Feed: feed})), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), srv, nil
}

func (st *Stack) mux(tp topology.Topology, o Options) (*http.ServeMux, error) {
	mux := http.NewServeMux()
	fns := map[string]*httpapi.Function{}
	notFound := unrouted(tp.Routes)
	handle := func(r topology.Route, h http.Handler) { mux.Handle(muxPattern(r), onlyMethod(r, h, notFound)) }
	for _, r := range tp.Routes {
		switch r.Integration {
		case topology.IntegrationLambda:
			fn, ok := fns[r.Function]
			if !ok {
				var err error
				if fn, err = st.App.HTTPFunction(r.Function); err != nil {
					return nil, err
				}
				fns[r.Function] = fn
			}
			spec, _ := tp.Function(r.Function)
			handle(r, lambdaRoute(r, st.authorizer(r.Auth), st.calls.http(r.Function, fn.Handle), routeClocks(spec, o)))
		case topology.IntegrationSQS:
			q := st.queues[r.Queue]
			if q == nil {
				return nil, fmt.Errorf("route %s: queue %s not started", r.Key(), r.Queue)
			}
			handle(r, st.sqsRoute(r, q, st.authorizer(r.Auth)))
		case topology.IntegrationLocal:
			switch {
			case r.Key() == "POST /dev/token":
				handle(r, st.devToken(r))
			case r.Key() == "GET /dev/mail":
				handle(r, http.HandlerFunc(st.capturedMail))
			case strings.HasPrefix(r.Path, "/sandbox/"):
				handle(r, st.Sandbox.Handler())
			default:
				return nil, fmt.Errorf("local route %s has no local implementation", r.Key())
			}
		default:
			return nil, fmt.Errorf("route %s: integration %s is not emulated", r.Key(), r.Integration)
		}
		st.routes = append(st.routes, r.Key())
	}
	sort.Strings(st.routes)
	mux.HandleFunc("GET /dev/.well-known/jwks.json", func(w http.ResponseWriter, _ *http.Request) {
		b, err := st.Issuer.JWKS()
		if err != nil {
			httpapi.WriteError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	})
	mux.HandleFunc("GET /dev/mail/", st.mailPageHandler)
	for _, prefix := range []string{"/v1/", "/admin/", "/webhooks/", "/dev/", "/sandbox/"} {
		mux.HandleFunc(prefix, notFound)
	}
	if o.WebDir != "" {
		files := http.FileServer(http.Dir(o.WebDir))
		// What CloudFront's response headers policy adds in AWS. The
		// sign-in is same-origin here: no other origin to connect to.
		security := topology.SiteSecurityHeaders().Header()
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				notFound(w, r)
				return
			}
			for k, v := range security {
				w.Header().Set(k, v)
			}
			files.ServeHTTP(w, r)
		})
	} else {
		mux.HandleFunc("/", notFound)
	}
	return mux, nil
}

// authorizer is the JWT authorizer of a route class, as the HTTP API's:
// fan routes accept tokens of the fans' app client, staff routes those of
// the staff client only, so a fan's token is refused there with 401 before
// any function runs.
func (st *Stack) authorizer(a topology.Auth) func(string) (map[string]string, error) {
	aud := Clients.Fan
	if a == topology.AuthOrganizer {
		aud = Clients.Staff
	}
	return func(tok string) (map[string]string, error) { return st.Issuer.Verify(tok, aud) }
}

// devToken is POST /dev/token {"sub","role","org","email"}: the local
// stand-in for a Cognito sign-in, with the same claims (an organizer's or
// staff member's token is the staff client's ID token). An organizer owns
// the organization org names, else the one its sub names; staff act for org
// with the roles its owners granted them; fans have none. email defaults to
// <sub>@example.test.
func (st *Stack) devToken(route topology.Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Sub   string `json:"sub"`
			Role  string `json:"role"`
			Org   string `json:"org"`
			Email string `json:"email"`
		}
		body, err := readLimited(w, r, route.MaxBodyBytes)
		// No Content-Type check: a developer's `curl -d` sends a form type.
		if err == nil {
			err = jsonbody.Decode(body, route.MaxBodyBytes, &req)
		}
		if err == nil && (req.Sub == "" || len(req.Sub) > limits.AccountIDBytes) {
			err = apperr.New(apperr.Invalid, "sub is required (1-%d characters)", limits.AccountIDBytes)
		}
		role := auth.Role(req.Role)
		if err == nil {
			switch role {
			case "":
				role = auth.RoleFan
			case auth.RoleFan, auth.RoleOrganizer, auth.RoleStaff:
			default:
				err = apperr.New(apperr.Invalid, `role must be "fan", "organizer" or "staff"`)
			}
		}
		switch {
		case err != nil:
		case len(req.Org) > limits.AccountIDBytes:
			err = apperr.New(apperr.Invalid, "org is at most %d characters", limits.AccountIDBytes)
		case role == auth.RoleStaff && req.Org == "":
			err = apperr.New(apperr.Invalid, "staff tokens name their organization (org)")
		case role == auth.RoleFan && req.Org != "":
			err = apperr.New(apperr.Invalid, "fans belong to no organization")
		case req.Email != "" && !validEmail(req.Email):
			err = apperr.New(apperr.Invalid, "email must be an address such as fan@example.test (at most %d characters)", maxEmailBytes)
		}
		if err != nil {
			httpapi.WriteError(w, err)
			return
		}
		tok, exp, err := st.Issuer.IssueWithEmail(req.Sub, role, req.Org, req.Email)
		if err != nil {
			httpapi.WriteError(w, apperr.Wrap(err, apperr.Internal, "issue token"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]any{"token": tok, "expiresAt": exp.UTC().Format(time.RFC3339)})
	})
}

// maxEmailBytes is the longest address SMTP carries.
const maxEmailBytes = limits.EmailBytes

// validEmail accepts one local part, one @ and a dotted domain, without
// spaces or control characters: enough to refuse what a mail header could
// not carry, not a full RFC 5322 parser.
func validEmail(v string) bool {
	local, domain, ok := strings.Cut(v, "@")
	if !ok || len(v) > maxEmailBytes || local == "" || strings.Contains(domain, "@") ||
		!strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return false
	}
	for _, r := range v {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' || r == ',' || r == ';' || r == '"' {
			return false
		}
	}
	return true
}

// hostedSiteConfig is the site's config.json for SignInHosted: the shape
// the CDK app writes for Cognito (both app clients), pointing at the
// stand-in, so the console and the gate page sign staff in as in AWS.
func (st *Stack) hostedSiteConfig(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"signIn":  "cognito",
		"cognito": map[string]any{"domain": st.url + "/dev", "clientId": HostedClientID, "staffClientId": StaffClientID},
		"payment": sandbox.Descriptor().SiteConfig(nil),
		"waf":     map[string]any{"script": ChallengeScript, "captchaScript": CaptchaScript, "captchaApiKey": CaptchaAPIKey},
	})
}

// URL is the stack's base URL, e.g. http://127.0.0.1:8080: the CDN
// stand-in, as fans reach the site and the API in AWS.
func (st *Stack) URL() string { return st.url }

// OriginProof is what the CDN stand-in adds to every request it forwards
// (topology.OriginHeader).
func (st *Stack) OriginProof() string { return st.App.Config.OriginProofs[0] }

// OriginURL is the API's own address behind the CDN stand-in, as the HTTP
// API's execute-api address in AWS: CDN routes refuse what arrives here
// without the origin proof.
func (st *Stack) OriginURL() string { return st.originURL }

// RouteKeys lists every route key the stack serves, local-only included.
func (st *Stack) RouteKeys() []string { return append([]string(nil), st.routes...) }

// DynamoOps counts the embedded DynamoDB's requests by operation (nil when
// the stack uses an external endpoint).
func (st *Stack) DynamoOps() *OpCounter { return st.dynamoOps }

// Sidecar is the Step Functions sidecar running the order workflow.
func (st *Stack) Sidecar() *localsfn.Sidecar { return st.sidecar }

// DB is the DynamoDB client the stack's functions use.
func (st *Stack) DB() *dynamodb.Client { return st.App.DB }

// Close stops serving and shuts the embedded DynamoDB down.
func (st *Stack) Close(ctx context.Context) error {
	var errs []error
	if st.stopSchedules != nil {
		st.stopSchedules()
		<-st.schedulesDone
	}
	if st.stopStream != nil {
		st.stopStream()
		<-st.streamDone
	}
	if st.srv != nil {
		errs = append(errs, st.srv.Shutdown(ctx))
	}
	if st.originSrv != nil {
		errs = append(errs, st.originSrv.Shutdown(ctx))
	}
	for _, q := range st.queues {
		q.Close()
	}
	if st.sidecar != nil {
		errs = append(errs, st.sidecar.Close())
	}
	if st.lambdaSrv != nil {
		errs = append(errs, st.lambdaSrv.Shutdown(ctx))
	}
	if st.Sandbox != nil {
		errs = append(errs, st.Sandbox.Close())
	}
	if st.dynSrv != nil {
		errs = append(errs, st.dynSrv.Shutdown(ctx))
	}
	return errors.Join(errs...)
}
