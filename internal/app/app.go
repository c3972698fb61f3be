// Package app wires StarArena together: from a configuration to the domain
// services and the handler of each function. Lambda mains and the local
// stack use the same wiring, so they cannot differ in how they build things.
package app

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stararena/stararena/internal/admission"
	"github.com/stararena/stararena/internal/awsconf"
	"github.com/stararena/stararena/internal/awsjson"
	"github.com/stararena/stararena/internal/botlevel"

	"github.com/stararena/stararena/internal/cancellation"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/checkout"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/config"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/handlers"
	"github.com/stararena/stararena/internal/health"
	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/keyring"
	"github.com/stararena/stararena/internal/mail"
	"github.com/stararena/stararena/internal/metrics"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/presale"
	"github.com/stararena/stararena/internal/projector"
	"github.com/stararena/stararena/internal/reconcile"
	"github.com/stararena/stararena/internal/seatmgmt"
	"github.com/stararena/stararena/internal/tenancy"
	"github.com/stararena/stararena/internal/tickets"
	"github.com/stararena/stararena/internal/topology"
	"github.com/stararena/stararena/internal/transfers"
	"github.com/stararena/stararena/internal/waitlist"
	"github.com/stararena/stararena/internal/waitroom"
	"github.com/stararena/stararena/internal/workflow"
)

// Options overrides parts of the wiring; nil fields take defaults.
type Options struct {
	Clock    clock.Clock
	Logger   *slog.Logger
	DB       *dynamodb.Client
	Topology *topology.Topology
	// Keyring overrides the admission keys from the configuration.
	Keyring *admission.Keyring
	// TicketKeyring overrides the ticket keys from the configuration.
	TicketKeyring *tickets.Keyring
	// Providers adds payment providers (the local stack's sandbox).
	Providers checkout.Providers
	// MetricsOut receives the EMF metric lines (default: stdout in
	// Lambda, discarded elsewhere).
	MetricsOut io.Writer
	// FanReadCache is the waiting room's read cache TTL (0: default;
	// negative: off).
	FanReadCache time.Duration
	// MailSender replaces the configuration's sender (the local stack's
	// capture).
	MailSender mail.Sender
	// BotLevel is where events' bot levels take effect (the local stack's
	// CDN stand-in); else the configuration's WAF pattern set, if any.
	BotLevel botlevel.Edge
	// CancelBudget bounds one pass of a cancellation's saga (0: default).
	CancelBudget time.Duration
	// Connect brings the parts with clients of their own; a Lambda main
	// passes only those its function uses.
	Connect Connectors
	// CancelSettle is how long after a cancellation its saga may end (0:
	// default).
	CancelSettle time.Duration
	// HoldTimings receives each hold's timing by part (load runs).
	HoldTimings func(inventory.Timing)
}

// App holds the built services.
type App struct {
	Config    config.Config
	Topology  topology.Topology
	Clock     clock.Clock
	Log       *slog.Logger
	DB        *dynamodb.Client
	Stores    dynamo.Stores
	Catalog   *catalog.Service
	Tokens    *admission.Tokens
	Gate      *admission.Gate
	Inventory *inventory.Service

	Providers checkout.Providers
	Tickets   *tickets.Service
	Orders    *orders.Service
	// Transfers gives issued tickets to other accounts (ADR 29).
	Transfers  *transfers.Service
	Webhooks   *checkout.Webhooks
	payLimit   *checkout.PaymentLimit
	Tasks      *workflow.Tasks
	Reconciler *reconcile.Service
	// Cancellation cancels events and drives their refunds (run by the
	// reconciler function's schedule).
	Cancellation *cancellation.Service
	// Tenancy checks every staff route against the organization's roles
	// and keeps its audit log.
	Tenancy  *tenancy.Service
	Waitroom *waitroom.Service
	// Presale creates presale codes and redeems them at admission.
	Presale *presale.Service
	// BotLevel raises and lowers events' bot check at the edge.
	BotLevel *botlevel.Service
	// Seats kills, holds back and releases seats and marks accessible ones.
	Seats *seatmgmt.Service
	// Waitlist is the events' waiting lists after sell-out (ADR 25).
	Waitlist *waitlist.Service
	// HoldHealth records the purchase path's latency and errors; the
	// inlet's health check reads what every instance recorded.
	HoldHealth *health.Recorder
	// Metrics emits CloudWatch metrics as EMF log lines.
	Metrics *metrics.Emitter
	// Flow drives the order workflow; nil until configured (the local
	// stack sets it once its Step Functions sidecar runs).
	Flow orders.Workflow
	// MailQueue takes mail causes; nil until configured (MAIL_QUEUE_URL,
	// or the local stack once its queues run).
	MailQueue mail.Queue
	// Mailer sends the queued causes' messages (the mailer function).
	Mailer *mail.Mailer
	// Projector applies seat and GA changes to the availability
	// projections (the projector function).
	Projector *projector.Projector
	// HotEvents is the per-instance copy of event documents (EVENT_CACHE_TTL)
	// that the sale's hot paths read: admissions, holds, ticket codes and
	// mail. What they take from it is checked again by a conditional write
	// or tolerates the TTL (catalog.CachedEvents); the organizer's reads,
	// the schedules and the money path's event checks read the item.
	HotEvents *catalog.CachedEvents

	opts  Options
	built builds
	// The signing keyrings' sources, read at start-up.
	admissionKeys, ticketKeys *keyring.Source
	// edge is where bot levels take effect (BotLevel); sender sends the
	// mailer's messages.
	edge   botlevel.Edge
	sender mail.Sender
	// holdHook is what runs after a hold commits (afterHold: the
	// workflow's start). Only the holds route holds, so it is set where
	// that route is served — HoldsHTTP, and New for the local stack —
	// before the inventory service is built. Not made in the inventory's
	// accessor: other functions build that service to release or to read
	// (a comp's tickets, the workflow's release), and a hook made there
	// would count, for the access check that follows closures from where
	// they are made (infra/stack), as their starting workflows.
	holdHook func(ctx context.Context, o orders.Order) error
}

// New builds the application: every service, as the local stack, the
// fixtures and the tools use it.
func New(ctx context.Context, cfg config.Config, o Options) (*App, error) {
	a, err := connect(ctx, cfg, o)
	if err != nil {
		return nil, err
	}
	a.buildAll()
	return a, nil
}

// connect reads what the application needs at start-up (the clients, the
// secrets, the keyrings' sources, the providers and the connectors'
// parts) and builds no service: each is built by its accessor on first
// use (build.go). A part the configuration turns on without its connector
// stops start-up here.
func connect(ctx context.Context, cfg config.Config, o Options) (*App, error) {
	a := &App{Config: cfg, Clock: o.Clock, Log: o.Logger, DB: o.DB, Topology: topology.Default(), opts: o}
	if o.Topology != nil {
		a.Topology = *o.Topology
	}
	if a.Clock == nil {
		a.Clock = clock.System{}
	}
	if a.Log == nil {
		a.Log = NewLogger(os.Stderr, cfg.LogLevel)
	}
	if a.DB == nil {
		db, err := dynamo.NewClient(ctx, dynamo.ClientOptions{
			Region:            cfg.Region,
			Endpoint:          cfg.DynamoEndpoint,
			StaticCredentials: cfg.DynamoEndpoint != "",
		})
		if err != nil {
			return nil, fmt.Errorf("dynamodb client: %w", err)
		}
		a.DB = db
	}
	if len(cfg.PaymentSecrets) > 0 {
		// Provider credentials are read at start-up, never from the
		// environment (anyone who may read a function's configuration
		// could read them there); an instance keeps them for its life.
		if err := cfg.ResolvePaymentSecrets(ctx, func(ctx context.Context, arn string) (string, error) {
			return secretString(ctx, cfg.Region, arn)
		}); err != nil {
			return nil, err
		}
		a.Config = cfg
	}
	a.edge = o.BotLevel
	if a.edge == nil && cfg.CaptchaEventsArn != "" {
		if o.Connect.BotLevel == nil {
			return nil, errNotLinked("CAPTCHA_EVENTS_ARN", "the WAF edge")
		}
		var err error
		if a.edge, err = o.Connect.BotLevel(ctx, cfg, a.Topology); err != nil {
			return nil, err
		}
	}
	if cfg.OriginProofSecret != "" {
		// Read once per instance: a rotation keeps the previous proof
		// valid until every instance has been replaced (ADR 22).
		doc, err := secretString(ctx, cfg.Region, cfg.OriginProofSecret)
		if err != nil {
			return nil, fmt.Errorf("origin proof: %w", err)
		}
		if a.Config.OriginProofs, err = ParseOriginProof(doc); err != nil {
			return nil, fmt.Errorf("origin proof: secret %s: %w", cfg.OriginProofSecret, err)
		}
	}
	out := o.MetricsOut
	if out == nil {
		out = io.Discard
		if cfg.InLambda {
			out = os.Stdout
		}
	}
	a.Metrics = metrics.NewEmitter(out, cmp.Or(cfg.Function, "local"), a.Clock)
	a.Stores = dynamo.NewStores(a.DB, cfg.TableName, a.Clock)
	var err error
	if a.admissionKeys, err = keySource(cfg, a.Clock, keySpec{what: "admission", prefix: "adm-", override: o.Keyring,
		inline: cfg.AdmissionKeys, secret: cfg.AdmissionKeysSecret, secretVar: "ADMISSION_KEYS_SECRET_ARN"}); err != nil {
		return nil, err
	}
	if err := a.connectProviders(o); err != nil {
		return nil, err
	}
	if a.ticketKeys, err = keySource(cfg, a.Clock, keySpec{what: "ticket", prefix: "t", override: o.TicketKeyring,
		inline: cfg.TicketKeys, secret: cfg.TicketKeysSecret, secretVar: "TICKET_KEYS_SECRET_ARN"}); err != nil {
		return nil, err
	}
	if cfg.StateMachineArn != "" {
		if o.Connect.Flow == nil {
			return nil, errNotLinked("STATE_MACHINE_ARN", "the order workflow")
		}
		if a.Flow, err = o.Connect.Flow(ctx, cfg); err != nil {
			return nil, err
		}
	}
	if err := a.connectMail(ctx, o.MailSender, o.Connect); err != nil {
		return nil, err
	}
	return a, nil
}

// keySpec says where one signing keyring comes from.
type keySpec struct {
	what, prefix string // names it in errors; its generated key ids' prefix
	override     *keyring.Ring
	inline       string // the keyring JSON itself (local)
	secret       string // the ARN of the secret holding it
	secretVar    string // the variable naming that ARN
}

// keySource is a signing keyring's source: the override, the inline keys,
// the secret, or keys generated for this process (local only). The secret
// is read when the keys are first used, not at start-up, and again after
// keyring.DefaultTTL: a function that never signs nor verifies with a
// keyring never reads it (its role may not), and a rotation reaches
// running instances without a redeploy.
func keySource(cfg config.Config, c clock.Clock, k keySpec) (*keyring.Source, error) {
	switch {
	case k.override != nil:
		return keyring.Static(*k.override), nil
	case k.inline != "":
		kr, err := keyring.Parse([]byte(k.inline), k.what)
		return keyring.Static(kr), err
	case k.secret != "":
		return keyring.NewSource(k.what, func(ctx context.Context) ([]byte, error) {
			doc, err := secretString(ctx, cfg.Region, k.secret)
			return []byte(doc), err
		}, keyring.DefaultTTL, c), nil
	case cfg.InLambda:
		// Each instance would sign with its own key and no other function
		// could verify what it signed. The error comes on first use: a
		// function without the keyring must never need it.
		return keyring.NewSource(k.what, func(context.Context) ([]byte, error) {
			return nil, fmt.Errorf("set %s in Lambda", k.secretVar)
		}, keyring.DefaultTTL, c), nil
	default:
		kr, err := keyring.Generate(k.prefix)
		return keyring.Static(kr), err
	}
}

// secretString reads a Secrets Manager secret's current string value.
func secretString(ctx context.Context, region, arn string) (string, error) {
	awsCfg, err := awsconf.Load(ctx, awsconf.Options{Region: region, Service: "SECRETS_MANAGER"})
	if err != nil {
		return "", err
	}
	// internal/awsjson's client, not the SDK's: every function reads
	// secrets, and the SDK's brings the whole Secrets Manager model.
	doc, err := awsjson.NewSecretsManager(awsCfg).GetSecretValue(ctx, arn)
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", arn, err)
	}
	return doc, nil
}

// NewLogger is the JSON logger every function uses.
func NewLogger(w *os.File, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// OriginProofDoc is the origin proof secret: CloudFront sends current;
// the API also accepts previous while a rotation is under way.
type OriginProofDoc struct {
	Current  string `json:"current"`
	Previous string `json:"previous,omitempty"`
}

// ParseOriginProof reads the origin proof secret's accepted values.
func ParseOriginProof(doc string) ([]string, error) {
	var p OriginProofDoc
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return nil, fmt.Errorf(`want {"current":"…","previous":"…"}: %w`, err)
	}
	if len(p.Current) < 32 {
		return nil, fmt.Errorf("the current proof is %d characters; want at least 32", len(p.Current))
	}
	return []string{p.Current, p.Previous}, nil
}

// HTTPBuilder builds one HTTP function's handler from the application,
// calling the accessors of only the services it serves. A Lambda main
// names its function's (RunHTTP), so its binary links no other handler.
type HTTPBuilder func(a *App) (*httpapi.Function, error)

// httpBuilders are the HTTP functions' builders by name: the local stack
// and the tools serve them all (HTTPFunction).
func httpBuilders() map[string]HTTPBuilder {
	return map[string]HTTPBuilder{
		"catalog":    CatalogHTTP,
		"admin":      AdminHTTP,
		"admission":  AdmissionHTTP,
		"holds":      HoldsHTTP,
		"orders":     OrdersHTTP,
		"queue":      QueueHTTP,
		"checkin":    CheckInHTTP,
		"webhooks":   WebhooksHTTP,
		"reconciler": ReconcilerHTTP,
	}
}

// HTTPFunction returns the HTTP handler of function name.
func (a *App) HTTPFunction(name string) (*httpapi.Function, error) {
	build, ok := httpBuilders()[name]
	if !ok {
		return nil, fmt.Errorf("no HTTP function %q", name)
	}
	return a.serve(build)
}

// serve builds an HTTP handler with build. With origin proofs configured
// it refuses requests that skipped the CDN.
func (a *App) serve(build HTTPBuilder) (*httpapi.Function, error) {
	fn, err := build(a)
	if err != nil {
		return nil, err
	}
	return fn.RequireOrigin(a.Config.OriginProofs...), nil
}

// CatalogHTTP is the "catalog" function's handler.
func CatalogHTTP(a *App) (*httpapi.Function, error) {
	return handlers.Catalog(a.Topology, a.catalogSvc(), a.Clock, a.Log)
}

// AdminHTTP is the "admin" function's handler: the organizers' and staff's
// routes, which reach nearly every service.
func AdminHTTP(a *App) (*httpapi.Function, error) {
	return handlers.Admin(a.Topology, a.catalogSvc(), a.Stores.Reports, a.ordersSvc(), a.waitroomSvc(),
		handlers.Staff{Tenancy: a.tenancySvc(), Orders: a.ordersSvc(), Tickets: a.ticketsSvc(), Presale: a.presaleSvc(), BotLevel: a.botLevelSvc(),
			Waitlist: a.waitlistSvc(), Cancellation: a.cancellationSvc(), Transfers: a.transfersSvc(), Seats: a.seatsSvc()}, a.Clock, a.Log)
}

// AdmissionHTTP is the "admission" function's handler.
func AdmissionHTTP(a *App) (*httpapi.Function, error) {
	return handlers.Admission(a.Topology, a.gateSvc(), a.waitlistSvc(), a.Metrics, a.Log)
}

// HoldsHTTP is the "holds" function's handler. A hold starts the order
// workflow (holdHook).
func HoldsHTTP(a *App) (*httpapi.Function, error) {
	a.holdHook = a.afterHold
	return handlers.Holds(a.Topology, a.inventorySvc(), a.holdHealthSvc(), a.Metrics, a.Log)
}

// OrdersHTTP is the "orders" function's handler.
func OrdersHTTP(a *App) (*httpapi.Function, error) {
	return handlers.Orders(a.Topology, a.inventorySvc(), a.Providers, a.paymentLimit(), a.ticketsSvc(),
		&cancellation.OnRequest{Orders: a.inventorySvc(), Events: a.catalogSvc(), Refunds: a.ordersSvc(), Clock: a.Clock}, a.transfersSvc(), a.Log)
}

// QueueHTTP is the "queue" function's handler.
func QueueHTTP(a *App) (*httpapi.Function, error) {
	return handlers.Queue(a.Topology, a.waitroomSvc(), a.Log)
}

// CheckInHTTP is the "checkin" function's handler.
func CheckInHTTP(a *App) (*httpapi.Function, error) {
	return handlers.CheckIn(a.Topology, a.ticketsSvc(), a.tenancySvc(), a.Log)
}

// WebhooksHTTP is the "webhooks" function's handler.
func WebhooksHTTP(a *App) (*httpapi.Function, error) {
	return handlers.Webhooks(a.Topology, a.webhooksSvc(), a.Metrics, a.Log)
}

// ReconcilerHTTP is the "reconciler" function's HTTP route (it also runs
// on a schedule: ReconcilerFunction).
func ReconcilerHTTP(a *App) (*httpapi.Function, error) {
	return handlers.Reconcile(a.Topology, a.reconcilerSvc(), a.catalogSvc(), a.tenancySvc(), a.Clock, a.Log)
}

// HTTPFunctionFromEnv is the whole wiring of an HTTP Lambda main: the
// application from the environment and the handler build makes.
func HTTPFunctionFromEnv(ctx context.Context, name string, c Connectors, build HTTPBuilder) (*httpapi.Function, error) {
	a, err := FromEnv(ctx, name, c)
	if err != nil {
		return nil, err
	}
	return a.serve(build)
}

// FromEnv reads the application from the environment for the function
// name (a Lambda main's wiring) with the connectors its access declares.
// It builds no service: the function's handler builds those it uses.
func FromEnv(ctx context.Context, name string, c Connectors) (*App, error) {
	cfg, err := config.FromEnv(os.Getenv, c.Payments...)
	if err != nil {
		return nil, err
	}
	cfg.Function = name
	return connect(ctx, cfg, Options{Connect: c})
}

// afterHold runs once a hold commits: the order workflow starts, and the
// waiting room learns the admission was used. Both are repaired if lost
// (the reconciler; the place's admission then counts as abandoned).
func (a *App) afterHold(ctx context.Context, o orders.Order) error {
	start := time.Now()
	err := flowRef{a}.start(ctx, o)
	inventory.RecordWorkflowStart(ctx, time.Since(start))
	if uerr := a.markAdmissionUsed(ctx, o); uerr != nil {
		a.Log.WarnContext(ctx, "admission use not recorded", "orderId", o.ID, "eventId", o.EventID, "err", uerr)
	}
	return err
}

// orgLookup finds the organization behind an event or an order for the
// tenancy checks.
type orgLookup struct{ a *App }

func (l orgLookup) EventOrg(ctx context.Context, eventID string) (string, error) {
	ev, err := l.a.catalogSvc().Get(ctx, eventID)
	if err != nil {
		return "", err
	}
	return ev.Owner(), nil
}

func (l orgLookup) OrderEvent(ctx context.Context, orderID string) (string, error) {
	o, err := l.a.ordersSvc().Get(ctx, orderID)
	if err != nil {
		return "", err
	}
	return o.EventID, nil
}
