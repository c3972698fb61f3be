// Package topology is the one declaration of StarArena's deployed shape:
// functions, HTTP routes, queues, schedules, state machines and DynamoDB
// tables. The CDK app (infra/) and the local stack (internal/devstack) both
// read Default(), so what runs on a laptop and what is deployed cannot drift.
package topology

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/stararena/stararena/internal/limits"
)

// Auth is how a route's caller is identified.
type Auth string

const (
	// AuthNone routes are public (health, catalog reads).
	AuthNone Auth = "none"
	// AuthFan routes need a fan JWT: Cognito through the HTTP API JWT
	// authorizer in AWS, the dev issuer locally.
	AuthFan Auth = "fan"
	// AuthOrganizer routes are for an organization's people: a staff JWT
	// (Cognito) or an IAM-signed machine in AWS, a dev JWT locally. Each
	// declares the least Staff role it needs and the Scope that names the
	// organization; the application checks both on every request
	// (internal/tenancy).
	AuthOrganizer Auth = "organizer"
	// AuthSignature routes (payment webhooks) have no authorizer: the handler
	// verifies the provider's signature.
	AuthSignature Auth = "signature"
)

// Staff is the least role a caller needs on an AuthOrganizer route, in the
// organization that owns what the route touches. Each role includes the
// ones below it as written in README's roles table: an owner may do
// everything, a manager everything but staff and the audit log, box office
// only order work, a scanner only check-in at the events assigned to it.
type Staff string

// Staff roles a route may require.
const (
	StaffOwner     Staff = "owner"
	StaffManager   Staff = "manager"
	StaffBoxOffice Staff = "box-office"
	StaffScanner   Staff = "scanner"
)

// Scope is where an AuthOrganizer route finds the organization it acts in.
type Scope string

// Scopes.
const (
	// ScopeOrg: the caller's own organization (listings, staff, audit).
	ScopeOrg Scope = "org"
	// ScopeEvent: the organization of the event in path parameter eventId.
	ScopeEvent Scope = "event"
	// ScopeOrder: the organization of the event of order orderId.
	ScopeOrder Scope = "order"
	// ScopeBodyEvent: the event named by the body's eventId (check-in,
	// reconcile); the caller's organization when the body names none.
	ScopeBodyEvent Scope = "body-event"
)

// Integration is what serves a route.
type Integration string

const (
	// IntegrationLambda routes invoke Function with an HTTP API payload v2 event.
	IntegrationLambda Integration = "lambda"
	// IntegrationSQS routes send the request to Queue (API Gateway's
	// SQS-SendMessage integration): no Lambda runs per request.
	IntegrationSQS Integration = "sqs-send-message"
	// IntegrationLocal routes exist only in the local stack (the dev token
	// issuer); infra/ never deploys them.
	IntegrationLocal Integration = "local"
)

// Route is one HTTP API route.
type Route struct {
	Method      string // GET, POST, DELETE
	Path        string // API Gateway syntax: /v1/events/{eventId}
	Integration Integration
	Function    string // for IntegrationLambda
	Queue       string // for IntegrationSQS
	// MessageBody is the SQS message an IntegrationSQS route sends, in API
	// Gateway's parameter-mapping syntax (${request.path.x},
	// ${context.authorizer.claims.sub}, ${context.requestTimeEpoch}).
	MessageBody string
	// MessageAttributes are the String message attributes an
	// IntegrationSQS route sends, by name, each a mapping as MessageBody.
	MessageAttributes map[string]string
	// Status overrides the integration's status code (SQS answers 200; the
	// join route promises 202).
	Status int
	Auth   Auth
	// CacheTTL is how long the CDN may serve the answer (0: never cached).
	CacheTTL time.Duration
	// MaxBodyBytes bounds the request body the handler accepts.
	MaxBodyBytes int64
	// Staff and Scope: for AuthOrganizer routes only, who may call it and
	// in which organization.
	Staff Staff
	Scope Scope
}

// Key is the API Gateway route key, "METHOD /path".
func (r Route) Key() string { return r.Method + " " + r.Path }

// MatchesPath reports whether a request path matches the route's path as
// API Gateway matches it: {name} is one non-empty segment, a trailing
// {name+} one or more.
func (r Route) MatchesPath(path string) bool {
	want := strings.Split(strings.Trim(r.Path, "/"), "/")
	got := strings.Split(strings.Trim(path, "/"), "/")
	for i, w := range want {
		if i >= len(got) || got[i] == "" {
			return false
		}
		if strings.HasPrefix(w, "{") && strings.HasSuffix(w, "+}") {
			return true
		}
		if !(strings.HasPrefix(w, "{") && strings.HasSuffix(w, "}")) && w != got[i] {
			return false
		}
	}
	return len(got) == len(want)
}

// AllowedMethods lists, sorted, the methods of the routes whose path
// matches path: the Allow header of a 405 answer (none: the path is
// unknown, 404).
func AllowedMethods(routes []Route, path string) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range routes {
		if r.MatchesPath(path) && !seen[r.Method] {
			seen[r.Method] = true
			out = append(out, r.Method)
		}
	}
	sort.Strings(out)
	return out
}

// Function is one Lambda function; its code lives in functions/<Name>.
type Function struct {
	Name        string
	Description string
	MemoryMB    int
	Timeout     time.Duration
	// ReservedConcurrency caps the function as a last safety net (0: none).
	ReservedConcurrency int
	// Access is everything the function may do in AWS beyond writing its
	// own logs. infra/ turns it into the function's IAM policy and
	// environment and grants nothing else, so it must name every call the
	// code makes (infra/stack's access test checks it against a call graph
	// of the function's handlers).
	Access Access
	// Env names configuration variables (internal/config) the function
	// reads whose values are deployment settings, e.g. INLET_EVERY.
	Env []string
}

// Access is what one function may touch.
type Access struct {
	Table    TableAccess
	Workflow WorkflowAccess
	// Secrets the function reads, at start-up or per request.
	Secrets []Secret
	// Payments is how the function uses the payment providers. infra/
	// gives it the settings and secrets every deployed provider declares
	// for that use (internal/payments/providers), so a new provider
	// changes no function here.
	Payments PaymentAccess
	// SendTo names the queues the function sends messages to
	// (sqs:SendMessage; infra/ also gives it the queue's URL).
	SendTo []string
	// Email: the function sends email through SES (ses:SendEmail on the
	// mail domain identity and configuration set only).
	Email bool
	// BotLevel: the function raises and lowers events' bot check at the
	// edge (wafv2 Get/UpdateRegexPatternSet on the edge stack's CAPTCHA
	// events set only; infra/ gives it the set's ARN, ADR 22).
	BotLevel bool
}

// PaymentAccess is how a function uses the payment providers.
type PaymentAccess string

// Payment accesses.
const (
	// PaymentsNone: the function never talks to a provider.
	PaymentsNone PaymentAccess = ""
	// PaymentsCall: it creates, fetches or refunds payments.
	PaymentsCall PaymentAccess = "call"
	// PaymentsWebhooks: it also verifies the providers' webhooks.
	PaymentsWebhooks PaymentAccess = "webhooks"
)

// TableAccess is what a function may do with one table. There is no
// delete: nothing in StarArena deletes an item (expired items go by TTL).
type TableAccess struct {
	Table string // logical name; empty: no table access at all
	// Read: GetItem, BatchGetItem and Query on the table itself.
	Read bool
	// Write: single-item PutItem and UpdateItem (conditional or not).
	Write bool
	// BatchWrite: BatchWriteItem (bulk puts: event inventory,
	// availability projections, place lists).
	BatchWrite bool
	// Transact: PutItem, UpdateItem and ConditionCheckItem inside
	// TransactWriteItems only (IAM's dynamodb:EnclosingOperation), so a
	// function that changes seats and orders only in transactions cannot
	// write them one by one.
	Transact bool
	// Indexes the function queries.
	Indexes []string
	// WritePrefixes, when set, limits Write, BatchWrite and the items of
	// its transactions to items whose partition key starts with one of
	// these (IAM dynamodb:LeadingKeys, which IAM checks per item of a
	// TransactWriteItems): a read-mostly function that keeps a cache item
	// or a counter cannot touch seats, orders or money.
	WritePrefixes []string
}

// Writes reports whether the access includes any write.
func (a TableAccess) Writes() bool { return a.Write || a.BatchWrite || a.Transact }

// WorkflowAccess is how a function may drive a state machine.
type WorkflowAccess struct {
	StateMachine string // logical name; empty: none
	// Start: StartExecution (a hold starts its order's execution).
	Start bool
	// Callback: SendTaskSuccess and SendTaskFailure (a payment resumes the
	// execution waiting for it).
	Callback bool
}

// Secret names one secret a function may read.
type Secret string

// Secrets: the signing keyrings, read through the SDK when a function
// first signs or verifies with one (and again after a TTL). Payment
// providers' secrets are not listed here: they follow Access.Payments.
const (
	SecretAdmissionKeys Secret = "admission-keys"
	SecretTicketKeys    Secret = "ticket-keys"
)

// KnownSecrets lists every Secret.
func KnownSecrets() []Secret {
	return []Secret{SecretAdmissionKeys, SecretTicketKeys}
}

// Schedule invokes Function on a fixed rate (EventBridge in AWS).
type Schedule struct {
	Name     string
	Function string
	Every    time.Duration
}

// Queue is an SQS standard queue with its dead-letter queue and consumer.
type Queue struct {
	Name              string
	Consumer          string // function fed by the event source mapping
	BatchSize         int
	MaxBatchingWindow time.Duration
	VisibilityTimeout time.Duration
	MaxReceiveCount   int // deliveries before a message goes to the DLQ
}

// Stream feeds Consumer the change records of a table (DynamoDB Streams,
// NEW_IMAGE, through an event source mapping; locally the embedded
// server's feed, internal/localdynamo): only records of items whose
// partition key starts with one of KeyPrefixes (the mapping's filter, so
// the function is not invoked for every write), at most BatchSize per
// invocation, after up to MaxBatchingWindow of gathering. A batch that
// fails is split in two (bisect) and retried from the first record the
// function reports failed (partial batch response), at most MaxRetries
// times; what still fails goes to the stream's dead-letter queue (the
// mapping's on-failure destination: the records' positions, not their
// data).
type Stream struct {
	Table             string
	Consumer          string
	KeyPrefixes       []string
	BatchSize         int
	MaxBatchingWindow time.Duration
	MaxRetries        int
}

// StateMachine is a Step Functions Standard state machine defined by an ASL
// JSON file; Functions are the tasks it may invoke.
type StateMachine struct {
	Name       string
	Definition string // path from the repository root
	Functions  []string
}

// KeyType is a DynamoDB scalar attribute type.
type KeyType string

// Attribute types used in keys.
const (
	String KeyType = "S"
	Number KeyType = "N"
)

// Key is one key attribute.
type Key struct {
	Name string
	Type KeyType
}

// Index is a global secondary index projecting all attributes.
type Index struct {
	Name         string
	PartitionKey Key
	SortKey      Key
}

// TTLAttribute is the time-to-live attribute of every table (epoch
// seconds): the infrastructure names it in the table's TTL setting and the
// stores write it on housekeeping items (rate-limit windows, health
// windows, markers). Correctness never depends on it: DynamoDB deletes
// expired items "within a few days".
const TTLAttribute = "ttl"

// Table is a DynamoDB table. LogicalName is the name code refers to; the
// physical name comes from the environment (TABLE_NAME) in AWS.
type Table struct {
	LogicalName  string
	PartitionKey Key
	SortKey      Key
	Indexes      []Index
}

// Topology is the whole declaration.
type Topology struct {
	Functions     []Function
	Routes        []Route
	Queues        []Queue
	Schedules     []Schedule
	StateMachines []StateMachine
	Tables        []Table
	Streams       []Stream
}

// AvailabilityRepair is how long a projection maintained by the projector
// serves before a reader rebuilds it from every seat, which bounds a drift
// the projector missed (ADR 18).
const AvailabilityRepair = 5 * time.Minute

// Body limits (internal/limits declares them with the API).
const (
	smallBody   = limits.BodyBytes
	venueBody   = limits.VenueBodyBytes
	webhookBody = limits.WebhookBodyBytes
)

// JoinMessage is the join route's SQS message (internal/waitroom parses
// it). A line of words rather than JSON: the authorizer's claims reach a
// parameter mapping as JSON text (with quotes), which a JSON template could
// not embed safely; the account comes last and may be quoted.
const JoinMessage = `join ${request.path.eventId} ${context.requestTimeEpoch} ${context.authorizer.claims.sub}`

// MailQueue is the logical name of the queue of mail causes.
const MailQueue = "mail"

// MainTable is the logical name of the single table.
const MainTable = "main"

// OrderWorkflow is the logical name of the order state machine.
const OrderWorkflow = "order"

// Who reads which keyring (infra/stack's access test checks it against
// what each function's code can reach): the admission keys sign and
// verify admission tokens, the ticket keys ticket codes.
var (
	admissionKeys = []Secret{SecretAdmissionKeys}
	ticketKeys    = []Secret{SecretTicketKeys}
)

// Default is StarArena's topology.
func Default() Topology {
	return Topology{
		Functions: []Function{
			// The availability read rebuilds a missing or due projection (a
			// lease and the projection items, all under EVENT#): the only
			// writes.
			{Name: "catalog", Description: "Public event catalog and availability reads", MemoryMB: 512, Timeout: 10 * time.Second,
				Access: Access{Table: TableAccess{Table: MainTable, Read: true, Indexes: []string{"gsi1"},
					Write: true, WritePrefixes: []string{"EVENT#"}}}},
			// A comp issues its tickets with the workflow's own task, which
			// queues the recipient's confirmation (ADR 30).
			{Name: "admin", Description: "Organizer API: events and venue maps", MemoryMB: 1024, Timeout: 29 * time.Second,
				Access: Access{Secrets: ticketKeys, Payments: PaymentsCall, BotLevel: true, SendTo: []string{MailQueue}, Table: TableAccess{Table: MainTable, Read: true, Write: true,
					BatchWrite: true, Transact: true, Indexes: []string{"gsi1", "gsi2"}}}},
			// A waiting-list join reads the availability, which may rebuild
			// its projection (a conditional put under EVENT#).
			{Name: "admission", Description: "Issues admission tokens to admitted fans; the waiting list after sell-out", MemoryMB: 512, Timeout: 10 * time.Second,
				Env: []string{"ADMISSION_TTL", "EVENT_CACHE_TTL"},
				Access: Access{Secrets: admissionKeys, Table: TableAccess{Table: MainTable, Read: true, Write: true,
					WritePrefixes: []string{"EVENT#", "QPLACE#", "QSTATS#", "RATE#", "PRESALE#", "WAITLIST#"}}}},
			// The purchase path: reserved concurrency is the last safety net
			// behind the waiting room's admission rate.
			{Name: "holds", Description: "Seat and GA holds (the purchase path)", MemoryMB: 1024, Timeout: 10 * time.Second, ReservedConcurrency: 200,
				Env: []string{"EVENT_CACHE_TTL"},
				Access: Access{Secrets: admissionKeys, Workflow: WorkflowAccess{StateMachine: OrderWorkflow, Start: true},
					Table: TableAccess{Table: MainTable, Read: true, Write: true, Transact: true}}},
			// A fan's cancel releases seats in one transaction; the only
			// single-item write is the payment rate limit's counter (IAM
			// cannot scope it to RATE# next to Transact: write prefixes and
			// transactions do not combine).
			// Ticket transfers (ADR 29) list a recipient's offers on gsi1 and
			// a sender's on gsi2; accepting is one transaction. Their offer
			// and acceptance go on the mail queue (ADR 24), never waited for.
			{Name: "orders", Description: "A fan's orders: read, list, cancel, pay, tickets, transfers", MemoryMB: 512, Timeout: 10 * time.Second,
				Access: Access{Secrets: ticketKeys, Payments: PaymentsCall, SendTo: []string{MailQueue},
					Table: TableAccess{Table: MainTable, Read: true, Write: true, Transact: true, Indexes: []string{"gsi1", "gsi2"}}}},
			{Name: "webhooks", Description: "Payment provider callbacks: verify, re-fetch, apply, record once", MemoryMB: 512, Timeout: 20 * time.Second,
				Access: Access{Payments: PaymentsWebhooks,
					Workflow: WorkflowAccess{StateMachine: OrderWorkflow, Start: true, Callback: true},
					Table:    TableAccess{Table: MainTable, Read: true, Write: true, Transact: true}}},
			{Name: "checkin", Description: "Gate check-in of ticket codes", MemoryMB: 512, Timeout: 10 * time.Second,
				Access: Access{Secrets: ticketKeys, Table: TableAccess{Table: MainTable, Read: true, Write: true,
					WritePrefixes: []string{"TICKET#", "SCAN#"}}}},
			// It issues stuck orders with the workflow's own task, which
			// queues their confirmations.
			// It also drives cancelled events' refunds (internal/cancellation,
			// ADR 20), paced by CANCEL_REFUNDS_PER_SECOND.
			{Name: "reconciler", Description: "Finds and repairs drift between orders, seats, payments and tickets", MemoryMB: 1024, Timeout: 5 * time.Minute,
				Env: []string{"CANCEL_REFUNDS_PER_SECOND"},
				Access: Access{Secrets: ticketKeys, Payments: PaymentsCall, SendTo: []string{MailQueue},
					Workflow: WorkflowAccess{StateMachine: OrderWorkflow, Start: true, Callback: true},
					Table:    TableAccess{Table: MainTable, Read: true, Write: true, Transact: true, Indexes: []string{"gsi1", "gsi2"}}}},
			// The order workflow's tasks (internal/workflow/order.asl.json).
			{Name: "await-payment", Description: "Order workflow: store the payment wait's task token", MemoryMB: 256, Timeout: 10 * time.Second,
				Access: Access{Workflow: WorkflowAccess{StateMachine: OrderWorkflow, Callback: true},
					Table: TableAccess{Table: MainTable, Read: true, Write: true, WritePrefixes: []string{"ORDER#"}}}},
			{Name: "confirm-payment", Description: "Order workflow: ask the provider after the wait", MemoryMB: 256, Timeout: 20 * time.Second,
				Access: Access{Payments: PaymentsCall,
					Workflow: WorkflowAccess{StateMachine: OrderWorkflow, Start: true, Callback: true},
					Table:    TableAccess{Table: MainTable, Read: true, Write: true, Transact: true}}},
			{Name: "release-hold", Description: "Order workflow: release an unpaid hold", MemoryMB: 256, Timeout: 10 * time.Second,
				Access: Access{Table: TableAccess{Table: MainTable, Read: true, Transact: true}}},
			// Issuing queues the order confirmation (never waits for it). It
			// writes tickets without signing a code, so it holds no ticket key.
			{Name: "issue-tickets", Description: "Order workflow: issue the tickets of a paid order", MemoryMB: 512, Timeout: 20 * time.Second,
				Access: Access{SendTo: []string{MailQueue},
					Table: TableAccess{Table: MainTable, Read: true, Write: true, Transact: true}}},
			// Its status change is the store's generic one, which marks the
			// event for the reconciler (DUE#) when a transition may reopen a
			// finished order; this one never does, but IAM follows the code.
			{Name: "mark-issue-failed", Description: "Order workflow: record that issuing gave up", MemoryMB: 256, Timeout: 10 * time.Second,
				Access: Access{Table: TableAccess{Table: MainTable, Read: true, Write: true, WritePrefixes: []string{"ORDER#", "DUE#"}}}},
			// The waiting room. The queue reads create the event's queue
			// state on first use (under EVENT#): the only write.
			{Name: "queue", Description: "Waiting room reads: a fan's place, queue status, the published draw", MemoryMB: 512, Timeout: 10 * time.Second,
				Access: Access{Table: TableAccess{Table: MainTable, Read: true, Indexes: []string{"gsi1"},
					Write: true, WritePrefixes: []string{"EVENT#"}}}},
			// New places go in transactions of up to 100 conditional puts,
			// still only under its prefixes.
			{Name: "assigner", Description: "Gives queue joins their places: one counter write per SQS batch", MemoryMB: 512, Timeout: 30 * time.Second,
				Access: Access{Table: TableAccess{Table: MainTable, Read: true, Write: true, Transact: true,
					WritePrefixes: []string{"EVENT#", "QCOUNT#", "QPLACE#"}}}},
			// EventBridge fires once a minute: one invocation ticks every
			// few seconds for just under the minute. Expired admissions are
			// flagged in transactions of up to 100, under its prefixes.
			{Name: "inlet", Description: "Advances the waiting room's serving position", MemoryMB: 512, Timeout: 70 * time.Second,
				Env: []string{"ADMISSION_TTL", "INLET_EVERY", "INLET_INVENTORY_FACTOR", "HEALTH_HOLD_P99", "HEALTH_ERROR_RATE", "HEALTH_THROTTLE_RATE"},
				Access: Access{Table: TableAccess{Table: MainTable, Read: true, Write: true, BatchWrite: true, Transact: true,
					Indexes: []string{"gsi1", "gsi2"}, WritePrefixes: []string{"EVENT#", "QCOUNT#", "QPLACE#", "QSTATS#"}}}},
			// Keeps the availability projections (EVENT# AVAIL# items, its
			// only writes) from the seat and GA shard change records (ADR 18).
			{Name: "projector", Description: "Applies seat and GA changes to the availability projections", MemoryMB: 512, Timeout: 30 * time.Second,
				Access: Access{Table: TableAccess{Table: MainTable, Read: true, Write: true, WritePrefixes: []string{"EVENT#"}}}},
			// Sends each queued cause's message once: the MAIL# marker is
			// its only write (a batch's sent marks in one BatchWriteItem).
			// It reads the ticket keys to render the codes.
			{Name: "mailer", Description: "Sends queued email (order confirmations) once each through SES", MemoryMB: 256, Timeout: 30 * time.Second,
				Access: Access{Secrets: ticketKeys, Email: true, Table: TableAccess{Table: MainTable, Read: true, Write: true, BatchWrite: true,
					WritePrefixes: []string{"MAIL#"}}}},
		},
		Routes: []Route{
			{Method: "GET", Path: "/healthz", Integration: IntegrationLambda, Function: "catalog", Auth: AuthNone},
			{Method: "POST", Path: "/dev/token", Integration: IntegrationLocal, Auth: AuthNone, MaxBodyBytes: smallBody},
			// The mail the local stack captured instead of sending.
			{Method: "GET", Path: "/dev/mail", Integration: IntegrationLocal, Auth: AuthNone},
			{Method: "GET", Path: "/v1/events", Integration: IntegrationLambda, Function: "catalog", Auth: AuthNone, CacheTTL: 5 * time.Second},
			{Method: "GET", Path: "/v1/events/{eventId}", Integration: IntegrationLambda, Function: "catalog", Auth: AuthNone, CacheTTL: 5 * time.Second},
			{Method: "GET", Path: "/v1/events/{eventId}/availability", Integration: IntegrationLambda, Function: "catalog", Auth: AuthNone, CacheTTL: 2 * time.Second},
			// The join goes straight to SQS: no Lambda, no DynamoDB write.
			{Method: "POST", Path: "/v1/events/{eventId}/queue", Integration: IntegrationSQS, Queue: "joins", Auth: AuthFan,
				MessageBody: JoinMessage, MessageAttributes: JoinAttributes(), Status: 202, MaxBodyBytes: smallBody},
			{Method: "GET", Path: "/v1/events/{eventId}/queue/me", Integration: IntegrationLambda, Function: "queue", Auth: AuthFan},
			// Every waiting fan polls this: the CDN answers within its TTL.
			{Method: "GET", Path: "/v1/events/{eventId}/queue-status", Integration: IntegrationLambda, Function: "queue", Auth: AuthNone, CacheTTL: 2 * time.Second},
			{Method: "GET", Path: "/v1/events/{eventId}/queue/draw", Integration: IntegrationLambda, Function: "queue", Auth: AuthNone, CacheTTL: time.Minute},
			// The draw in parts by entrant-id prefix: each pre-sale fan's page
			// finds its position there (final once drawn: one policy with
			// the whole draw).
			{Method: "GET", Path: "/v1/events/{eventId}/queue/draw/{part}", Integration: IntegrationLambda, Function: "queue", Auth: AuthNone, CacheTTL: time.Minute},
			{Method: "POST", Path: "/v1/events/{eventId}/admission", Integration: IntegrationLambda, Function: "admission", Auth: AuthFan, MaxBodyBytes: smallBody},
			{Method: "POST", Path: "/v1/events/{eventId}/holds", Integration: IntegrationLambda, Function: "holds", Auth: AuthFan, MaxBodyBytes: smallBody},
			{Method: "GET", Path: "/v1/orders/{orderId}", Integration: IntegrationLambda, Function: "orders", Auth: AuthFan},
			{Method: "DELETE", Path: "/v1/orders/{orderId}", Integration: IntegrationLambda, Function: "orders", Auth: AuthFan},
			{Method: "GET", Path: "/v1/me/orders", Integration: IntegrationLambda, Function: "orders", Auth: AuthFan},
			{Method: "POST", Path: "/v1/orders/{orderId}/payments", Integration: IntegrationLambda, Function: "orders", Auth: AuthFan, MaxBodyBytes: smallBody},
			{Method: "GET", Path: "/v1/orders/{orderId}/tickets", Integration: IntegrationLambda, Function: "orders", Auth: AuthFan},
			// Ticket transfers (ADR 29): the sender offers and cancels, the
			// recipient (named by email or account) lists and accepts.
			{Method: "POST", Path: "/v1/tickets/{ticketId}/transfers", Integration: IntegrationLambda, Function: "orders", Auth: AuthFan, MaxBodyBytes: smallBody},
			{Method: "GET", Path: "/v1/me/transfers", Integration: IntegrationLambda, Function: "orders", Auth: AuthFan},
			{Method: "POST", Path: "/v1/transfers/{transferId}/accept", Integration: IntegrationLambda, Function: "orders", Auth: AuthFan, MaxBodyBytes: smallBody},
			{Method: "POST", Path: "/v1/transfers/{transferId}/cancel", Integration: IntegrationLambda, Function: "orders", Auth: AuthFan, MaxBodyBytes: smallBody},
			{Method: "POST", Path: "/v1/checkin", Integration: IntegrationLambda, Function: "checkin", Auth: AuthOrganizer, MaxBodyBytes: smallBody,
				Staff: StaffScanner, Scope: ScopeBodyEvent},
			// Providers add fields to their events: a generous limit, no
			// strict decoding (the signature covers the raw body).
			{Method: "POST", Path: "/webhooks/{provider}", Integration: IntegrationLambda, Function: "webhooks", Auth: AuthSignature, MaxBodyBytes: webhookBody},
			{Method: "POST", Path: "/admin/v1/reconcile", Integration: IntegrationLambda, Function: "reconciler", Auth: AuthOrganizer, MaxBodyBytes: smallBody,
				Staff: StaffManager, Scope: ScopeBodyEvent},
			{Method: "GET", Path: "/admin/v1/events/{eventId}/report", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				Staff: StaffManager, Scope: ScopeEvent},
			{Method: "POST", Path: "/admin/v1/orders/{orderId}/refund", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer, MaxBodyBytes: smallBody,
				Staff: StaffBoxOffice, Scope: ScopeOrder},
			// Box office: find an order (by id, or an event's orders by seat
			// or the buyer's email), see its history, re-send its tickets.
			{Method: "GET", Path: "/admin/v1/orders/{orderId}", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				Staff: StaffBoxOffice, Scope: ScopeOrder},
			{Method: "POST", Path: "/admin/v1/orders/{orderId}/reissue", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer, MaxBodyBytes: smallBody,
				Staff: StaffBoxOffice, Scope: ScopeOrder},
			{Method: "GET", Path: "/admin/v1/events/{eventId}/orders", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				Staff: StaffBoxOffice, Scope: ScopeEvent},
			// Owners grant and revoke roles and read the audit log.
			{Method: "GET", Path: "/admin/v1/staff", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				Staff: StaffOwner, Scope: ScopeOrg},
			{Method: "POST", Path: "/admin/v1/staff", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer, MaxBodyBytes: smallBody,
				Staff: StaffOwner, Scope: ScopeOrg},
			{Method: "DELETE", Path: "/admin/v1/staff/{subject}", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				Staff: StaffOwner, Scope: ScopeOrg},
			{Method: "GET", Path: "/admin/v1/audit", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				Staff: StaffOwner, Scope: ScopeOrg},
			// The gate page: the events the caller may check in at (a
			// scanner's assignments; every event for managers and owners).
			{Method: "GET", Path: "/admin/v1/checkin/events", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				Staff: StaffScanner, Scope: ScopeOrg},
			// What a gate needs to check the event's codes while offline:
			// the public verification keys and the revocation list.
			{Method: "GET", Path: "/admin/v1/events/{eventId}/gate-kit", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				Staff: StaffScanner, Scope: ScopeEvent},
			// Presale codes (ADR 23): the answer to the POST holds the codes in
			// clear, the only time they are shown.
			{Method: "POST", Path: "/admin/v1/events/{eventId}/presale-codes", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				MaxBodyBytes: smallBody, Staff: StaffManager, Scope: ScopeEvent},
			{Method: "GET", Path: "/admin/v1/events/{eventId}/presale-codes", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				Staff: StaffManager, Scope: ScopeEvent},
			// The bot check an event's joins meet, raised during a sale
			// (ADR 22): the level lives at the edge.
			{Method: "PUT", Path: "/admin/v1/events/{eventId}/bot-level", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				MaxBodyBytes: smallBody, Staff: StaffManager, Scope: ScopeEvent},
			// Seat management (ADR 30): kill, hold back and release seats,
			// each a conditional write that never touches a held or sold
			// seat; wheelchair and companion marks in the venue map.
			{Method: "GET", Path: "/admin/v1/events/{eventId}/seats", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				Staff: StaffManager, Scope: ScopeEvent},
			{Method: "POST", Path: "/admin/v1/events/{eventId}/seats/kill", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				MaxBodyBytes: smallBody, Staff: StaffManager, Scope: ScopeEvent},
			{Method: "POST", Path: "/admin/v1/events/{eventId}/seats/hold-back", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				MaxBodyBytes: smallBody, Staff: StaffManager, Scope: ScopeEvent},
			{Method: "POST", Path: "/admin/v1/events/{eventId}/seats/release", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				MaxBodyBytes: smallBody, Staff: StaffManager, Scope: ScopeEvent},
			{Method: "POST", Path: "/admin/v1/events/{eventId}/seats/accessibility", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				MaxBodyBytes: smallBody, Staff: StaffManager, Scope: ScopeEvent},
			// Complimentary tickets: seats sold at price zero to a named
			// recipient in one transaction, then issued.
			{Method: "POST", Path: "/admin/v1/events/{eventId}/comps", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				MaxBodyBytes: smallBody, Staff: StaffManager, Scope: ScopeEvent},
			// Whether the event's gates accept printed (static) codes besides
			// rotating ones (ADR 28).
			{Method: "PUT", Path: "/admin/v1/events/{eventId}/ticket-codes", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				MaxBodyBytes: smallBody, Staff: StaffManager, Scope: ScopeEvent},
			// Fees and taxes (ADR 26): replaces the event's setting for holds
			// placed from then on.
			{Method: "POST", Path: "/admin/v1/events/{eventId}/pricing", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				MaxBodyBytes: smallBody, Staff: StaffManager, Scope: ScopeEvent},
			// The waiting list after sell-out (ADR 25): a fan joins, reads
			// their place and offer, leaves; the organizer sees its size and
			// sets how long an offer lasts.
			{Method: "POST", Path: "/v1/events/{eventId}/waitlist", Integration: IntegrationLambda, Function: "admission", Auth: AuthFan, MaxBodyBytes: smallBody},
			{Method: "GET", Path: "/v1/events/{eventId}/waitlist", Integration: IntegrationLambda, Function: "admission", Auth: AuthFan},
			{Method: "DELETE", Path: "/v1/events/{eventId}/waitlist", Integration: IntegrationLambda, Function: "admission", Auth: AuthFan},
			{Method: "GET", Path: "/admin/v1/events/{eventId}/waitlist", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				Staff: StaffManager, Scope: ScopeEvent},
			{Method: "POST", Path: "/admin/v1/events/{eventId}/waitlist", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				MaxBodyBytes: smallBody, Staff: StaffManager, Scope: ScopeEvent},
			// Cancelling and postponing an event (ADR 20): the cancel answers
			// at once; its refunds run on in the reconciler, whose progress
			// the console polls.
			{Method: "POST", Path: "/admin/v1/events/{eventId}/cancel", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				MaxBodyBytes: smallBody, Staff: StaffManager, Scope: ScopeEvent},
			{Method: "GET", Path: "/admin/v1/events/{eventId}/cancellation", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				Staff: StaffManager, Scope: ScopeEvent},
			{Method: "POST", Path: "/admin/v1/events/{eventId}/postpone", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				MaxBodyBytes: smallBody, Staff: StaffManager, Scope: ScopeEvent},
			// A buyer's own refund within a postponed event's window.
			{Method: "POST", Path: "/v1/orders/{orderId}/refund", Integration: IntegrationLambda, Function: "orders", Auth: AuthFan, MaxBodyBytes: smallBody},
			// The sandbox payment provider emulates an external system: it
			// exists only in the local stack.
			{Method: "GET", Path: "/sandbox/checkout/{paymentId}", Integration: IntegrationLocal, Auth: AuthNone},
			{Method: "POST", Path: "/sandbox/payments/{paymentId}/complete", Integration: IntegrationLocal, Auth: AuthNone, MaxBodyBytes: smallBody},
			{Method: "GET", Path: "/sandbox/payments/{paymentId}", Integration: IntegrationLocal, Auth: AuthNone},
			{Method: "POST", Path: "/sandbox/orders/{orderId}/duplicate-capture", Integration: IntegrationLocal, Auth: AuthNone, MaxBodyBytes: smallBody},
			{Method: "POST", Path: "/admin/v1/events", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer, MaxBodyBytes: venueBody,
				Staff: StaffManager, Scope: ScopeOrg},
			{Method: "GET", Path: "/admin/v1/events", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				Staff: StaffManager, Scope: ScopeOrg},
			{Method: "GET", Path: "/admin/v1/events/{eventId}", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer,
				Staff: StaffManager, Scope: ScopeEvent},
			{Method: "POST", Path: "/admin/v1/events/{eventId}/sale", Integration: IntegrationLambda, Function: "admin", Auth: AuthOrganizer, MaxBodyBytes: smallBody,
				Staff: StaffManager, Scope: ScopeEvent},
		},
		Queues: []Queue{{
			Name: "joins", Consumer: "assigner",
			// Large batches are what make one counter write per batch cheap;
			// the window lets a batch fill during a join storm.
			BatchSize: 100, MaxBatchingWindow: time.Second,
			VisibilityTimeout: 60 * time.Second, MaxReceiveCount: 5,
		}, {
			// Small batches: one slow send delays few others. The
			// visibility timeout outlasts the mailer's 30 s, so a claim's
			// lease (as long) has expired only when its holder is gone.
			Name: MailQueue, Consumer: "mailer",
			BatchSize: 10, MaxBatchingWindow: time.Second,
			VisibilityTimeout: 60 * time.Second, MaxReceiveCount: 5,
		}},
		Schedules: []Schedule{
			{Name: "reconcile", Function: "reconciler", Every: time.Minute},
			{Name: "inlet", Function: "inlet", Every: 2 * time.Second},
		},
		// Seat and GA shard items only: the projector is invoked for what
		// changes availability, not for every order, place or counter
		// write. A one-second window gathers a rush's changes into few
		// projection writes; freshness is the stream's lag plus the window.
		Streams: []Stream{{
			Table: MainTable, Consumer: "projector", KeyPrefixes: []string{"SEAT#", "GA#"},
			BatchSize: 500, MaxBatchingWindow: time.Second, MaxRetries: 10,
		}},
		StateMachines: []StateMachine{{
			Name:       OrderWorkflow,
			Definition: "internal/workflow/order.asl.json",
			Functions:  []string{"await-payment", "confirm-payment", "release-hold", "issue-tickets", "mark-issue-failed"},
		}},
		Tables: []Table{{
			LogicalName:  MainTable,
			PartitionKey: Key{Name: "pk", Type: String},
			SortKey:      Key{Name: "sk", Type: String},
			Indexes: []Index{
				// gsi1: listings (all events by start time; later a fan's orders).
				{Name: "gsi1", PartitionKey: Key{Name: "gsi1pk", Type: String}, SortKey: Key{Name: "gsi1sk", Type: String}},
				// gsi2: the reconciler's work list — non-terminal orders of an
				// event by deadline, over 8 partition shards so order writes
				// never concentrate on one index partition.
				{Name: "gsi2", PartitionKey: Key{Name: "gsi2pk", Type: String}, SortKey: Key{Name: "gsi2sk", Type: String}},
			},
		}},
	}
}

// Function returns the named function.
func (t Topology) Function(name string) (Function, bool) {
	for _, f := range t.Functions {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}

// RoutesOf returns the Lambda routes served by function name.
func (t Topology) RoutesOf(name string) []Route {
	var out []Route
	for _, r := range t.Routes {
		if r.Integration == IntegrationLambda && r.Function == name {
			out = append(out, r)
		}
	}
	return out
}

// DeployedRouteKeys returns the sorted route keys that exist in AWS (every
// route but the local-only ones).
func (t Topology) DeployedRouteKeys() []string {
	var keys []string
	for _, r := range t.Routes {
		if r.Integration != IntegrationLocal {
			keys = append(keys, r.Key())
		}
	}
	sort.Strings(keys)
	return keys
}

// Validate reports declarations that cannot be deployed: duplicate names or
// route keys, routes naming unknown functions or queues, and similar.
func (t Topology) Validate() error {
	var errs []string
	fns := map[string]bool{}
	for _, f := range t.Functions {
		if f.Name == "" || fns[f.Name] {
			errs = append(errs, fmt.Sprintf("function %q: empty or duplicate name", f.Name))
		}
		fns[f.Name] = true
		if f.MemoryMB < 128 || f.Timeout <= 0 || f.Timeout > 15*time.Minute {
			errs = append(errs, fmt.Sprintf("function %q: memory or timeout out of Lambda's range", f.Name))
		}
	}
	queues := map[string]bool{}
	for _, q := range t.Queues {
		if queues[q.Name] {
			errs = append(errs, fmt.Sprintf("queue %q: duplicate", q.Name))
		}
		queues[q.Name] = true
		if !fns[q.Consumer] {
			errs = append(errs, fmt.Sprintf("queue %q: unknown consumer %q", q.Name, q.Consumer))
		}
		if q.VisibilityTimeout <= 0 || q.MaxReceiveCount < 1 || q.BatchSize < 1 {
			errs = append(errs, fmt.Sprintf("queue %q: visibility, receive count and batch size must be set", q.Name))
		}
	}
	streamTables := map[string]bool{}
	for _, tb := range t.Tables {
		streamTables[tb.LogicalName] = true
	}
	for _, st := range t.Streams {
		if !fns[st.Consumer] || !streamTables[st.Table] {
			errs = append(errs, fmt.Sprintf("stream of %q: unknown table or consumer %q", st.Table, st.Consumer))
		}
		// A mapping takes 1-10,000 records a batch and a window of at most
		// 300 s in whole seconds; a filter keeps it to what it needs.
		if st.BatchSize < 1 || st.BatchSize > 10000 || st.MaxBatchingWindow > 300*time.Second ||
			st.MaxBatchingWindow%time.Second != 0 || len(st.KeyPrefixes) == 0 || st.MaxRetries < 0 || st.MaxRetries > 10000 {
			errs = append(errs, fmt.Sprintf("stream of %q to %q: batch, window, retries or filter out of range", st.Table, st.Consumer))
		}
	}
	keys := map[string]bool{}
	for _, r := range t.Routes {
		k := r.Key()
		if keys[k] {
			errs = append(errs, fmt.Sprintf("route %q: duplicate", k))
		}
		keys[k] = true
		if !strings.HasPrefix(r.Path, "/") {
			errs = append(errs, fmt.Sprintf("route %q: path must start with /", k))
		}
		switch r.Integration {
		case IntegrationLambda:
			if !fns[r.Function] {
				errs = append(errs, fmt.Sprintf("route %q: unknown function %q", k, r.Function))
			}
		case IntegrationSQS:
			if !queues[r.Queue] {
				errs = append(errs, fmt.Sprintf("route %q: unknown queue %q", k, r.Queue))
			}
		case IntegrationLocal:
		default:
			errs = append(errs, fmt.Sprintf("route %q: unknown integration %q", k, r.Integration))
		}
		switch r.Auth {
		case AuthNone, AuthFan, AuthOrganizer, AuthSignature:
		default:
			errs = append(errs, fmt.Sprintf("route %q: unknown auth %q", k, r.Auth))
		}
		errs = append(errs, r.staffProblems()...)
	}
	for _, s := range t.Schedules {
		if !fns[s.Function] || s.Every < time.Second {
			errs = append(errs, fmt.Sprintf("schedule %q: unknown function or rate under 1s", s.Name))
		}
	}
	for _, m := range t.StateMachines {
		for _, f := range m.Functions {
			if !fns[f] {
				errs = append(errs, fmt.Sprintf("state machine %q: unknown function %q", m.Name, f))
			}
		}
	}
	tables := map[string]map[string]bool{}
	for _, tb := range t.Tables {
		if tables[tb.LogicalName] != nil || tb.PartitionKey.Name == "" {
			errs = append(errs, fmt.Sprintf("table %q: duplicate or no partition key", tb.LogicalName))
		}
		indexes := map[string]bool{}
		for _, ix := range tb.Indexes {
			indexes[ix.Name] = true
		}
		tables[tb.LogicalName] = indexes
	}
	machines := map[string]bool{}
	for _, m := range t.StateMachines {
		machines[m.Name] = true
	}
	for _, f := range t.Functions {
		for _, q := range f.Access.SendTo {
			if !queues[q] {
				errs = append(errs, fmt.Sprintf("function %q: sends to unknown queue %q", f.Name, q))
			}
		}
		errs = append(errs, f.Access.problems(f.Name, tables, machines)...)
		env := map[string]bool{}
		for _, e := range f.Env {
			if e == "" || env[e] || strings.ToUpper(e) != e {
				errs = append(errs, fmt.Sprintf("function %q: env %q: empty, duplicate or not an upper-case variable", f.Name, e))
			}
			env[e] = true
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("topology: %s", strings.Join(errs, "; "))
	}
	return nil
}

// staffProblems: a staff route names a known role and a scope that can
// find its organization; other routes name neither.
func (r Route) staffProblems() []string {
	k := r.Key()
	if r.Auth != AuthOrganizer {
		if r.Staff != "" || r.Scope != "" {
			return []string{fmt.Sprintf("route %q: staff role or scope on a %s route", k, r.Auth)}
		}
		return nil
	}
	var errs []string
	switch r.Staff {
	case StaffOwner, StaffManager, StaffBoxOffice, StaffScanner:
	default:
		errs = append(errs, fmt.Sprintf("route %q: staff route without a known role (%q)", k, r.Staff))
	}
	switch r.Scope {
	case ScopeOrg, ScopeBodyEvent:
	case ScopeEvent:
		if !strings.Contains(r.Path, "{eventId}") {
			errs = append(errs, fmt.Sprintf("route %q: event scope without {eventId}", k))
		}
	case ScopeOrder:
		if !strings.Contains(r.Path, "{orderId}") {
			errs = append(errs, fmt.Sprintf("route %q: order scope without {orderId}", k))
		}
	default:
		errs = append(errs, fmt.Sprintf("route %q: staff route without a known scope (%q)", k, r.Scope))
	}
	return errs
}

// problems reports access declarations that name unknown tables, indexes,
// state machines or secrets, or that make no sense.
func (a Access) problems(fn string, tables map[string]map[string]bool, machines map[string]bool) []string {
	var errs []string
	ta := a.Table
	if ta.Table == "" {
		if ta.Read || ta.Writes() || len(ta.Indexes) > 0 || len(ta.WritePrefixes) > 0 {
			errs = append(errs, fmt.Sprintf("function %q: table access without a table", fn))
		}
	} else if indexes, ok := tables[ta.Table]; !ok {
		errs = append(errs, fmt.Sprintf("function %q: unknown table %q", fn, ta.Table))
	} else {
		for _, ix := range ta.Indexes {
			if !indexes[ix] {
				errs = append(errs, fmt.Sprintf("function %q: table %q has no index %q", fn, ta.Table, ix))
			}
		}
	}
	if len(ta.WritePrefixes) > 0 && !ta.Write && !ta.BatchWrite {
		errs = append(errs, fmt.Sprintf("function %q: write prefixes without Write or BatchWrite", fn))
	}
	for _, p := range ta.WritePrefixes {
		if p == "" || strings.ContainsAny(p, "*?") {
			errs = append(errs, fmt.Sprintf("function %q: write prefix %q must be a literal", fn, p))
		}
	}
	w := a.Workflow
	if w.StateMachine == "" && (w.Start || w.Callback) {
		errs = append(errs, fmt.Sprintf("function %q: workflow access without a state machine", fn))
	}
	if w.StateMachine != "" && !machines[w.StateMachine] {
		errs = append(errs, fmt.Sprintf("function %q: unknown state machine %q", fn, w.StateMachine))
	}
	switch a.Payments {
	case PaymentsNone, PaymentsCall, PaymentsWebhooks:
	default:
		errs = append(errs, fmt.Sprintf("function %q: unknown payment access %q", fn, a.Payments))
	}
	known := map[Secret]bool{}
	for _, s := range KnownSecrets() {
		known[s] = true
	}
	seen := map[Secret]bool{}
	for _, s := range a.Secrets {
		if !known[s] || seen[s] {
			errs = append(errs, fmt.Sprintf("function %q: unknown or duplicate secret %q", fn, s))
		}
		seen[s] = true
	}
	return errs
}
