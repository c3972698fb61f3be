// Package limits is the one declaration of the limits the public API
// states: docs/openapi.yaml publishes each of these numbers (as a schema's
// maximum, maxItems or maxLength, a default, or a figure in a description)
// and the code enforces the same constant. A test in this package fails
// when the document and this file disagree, so a limit is changed here and
// in the document, nowhere else.
//
// These are domain facts. Where a number follows from an AWS quota, its
// comment says which.
package limits

import "time"

// An event and its venue map. They keep one event's item counts and
// transaction sizes inside DynamoDB's limits.
const (
	NameChars        = 200 // an event's name and venue, after trimming
	SectionNameChars = 100
	Sections         = 100 // sections per event
	RowsPerSection   = 1000
	SeatsPerRow      = 1000
	GACapacity       = 200_000 // places of one general-admission section
	EventCapacity    = 250_000 // places of all sections together
	PriceCents       = 100_000_00
	// ShapePoints and VenueExtent bound a section's shape on the venue
	// map (ADR 27): 100 sections of 32 points keep an event's document
	// far below DynamoDB's 400 KB item (ADR 17 stores large ones apart).
	ShapePoints = 32
	VenueExtent = 10_000 // venue units (about a metre) from the stage
	// OrderAmountCents is the most one order can cost: its places at the
	// highest price and fee, with the highest exclusive tax on top.
	OrderAmountCents = TicketsPerAccount * (PriceCents + FeeCents) * (10_000 + TaxBasisPoints) / 10_000
)

// Fees and taxes (internal/pricing, ADR 26).
const (
	FeeCents = 1_000_00 // an event's service fee per ticket
	// TaxBasisPoints bounds an event's tax rate: 5000 is 50 %, above any
	// sales tax or VAT rate in use.
	TaxBasisPoints = 5000
)

// Holds: how long, and how many places an account may hold and buy.
const (
	MinHoldSeconds     = 5
	MaxHoldSeconds     = 3600
	DefaultHoldSeconds = 900
	// TicketsPerAccount bounds an event's maxTicketsPerAccount and so the
	// places of one hold: a hold is one TransactWriteItems of at most 100
	// items (its seats, the account's limit item, the order, the token).
	TicketsPerAccount        = 20
	DefaultTicketsPerAccount = 4
	// TicketsPerOrder bounds an order's ticket list.
	TicketsPerOrder = 50
)

// The waiting room.
const (
	// AdmitPerMinute keeps admissions below what the order workflow can
	// start: Step Functions Standard StartExecution refills at 300/s in the
	// large Regions (18,000/min).
	AdmitPerMinute        = 18_000
	DefaultAdmitPerMinute = 1000
	// JoinsPerMinute and AdmissionsPerMinute are per account, in fixed
	// windows of RateWindow. Joins are limited in front of the application
	// (the WAF rule on the join route in AWS, the local stack's limiter).
	JoinsPerMinute      = 30
	AdmissionsPerMinute = 30
	// HoldsPerMinute (per account and event) and PaymentsPerMinute (per
	// account) keep one caller's junk from spending the purchase path's
	// shared throttles: a fan needs a handful of each to buy.
	HoldsPerMinute    = 30
	PaymentsPerMinute = 20
	RateWindow        = time.Minute
	// AdmissionTTL is how long a fan has to use an admission token, unless
	// the deployment sets ADMISSION_TTL.
	AdmissionTTL        = 10 * time.Minute
	AdmissionTokenBytes = 2048
)

// Presale codes (internal/presale).
const (
	PresaleCodes     = 1000   // codes one request makes
	PresaleUses      = 10_000 // uses of one code
	PresaleCodeChars = 64     // what a fan may type as a code
)

// The waiting list after sell-out (internal/waitlist): how long an offer
// lasts, as the organizer sets it.
const (
	WaitlistMinOfferMinutes     = 1
	WaitlistMaxOfferMinutes     = 1440
	WaitlistDefaultOfferMinutes = 15
)

// Request bodies, per route (API Gateway accepts 10 MB; no StarArena
// request needs more than a venue map).
const (
	BodyBytes        = 16 << 10 // every route that states no other limit
	VenueBodyBytes   = 1 << 20  // POST /admin/v1/events
	WebhookBodyBytes = 256 << 10
	// SandboxBodyBytes bounds the local sandbox provider's own routes
	// (completing a payment, a duplicate capture).
	SandboxBodyBytes = 4 << 10
)

// Identifiers and free text.
const (
	AccountIDBytes      = 128 // the sub of a dev token, an account in the waiting room
	IdempotencyKeyBytes = 128
	RefundReasonChars   = 200
	// CancelReasonChars bounds an event cancellation's reason, which
	// becomes the refund reason of every order it refunds.
	CancelReasonChars = RefundReasonChars
	// ProviderIDBytes bounds a payment provider's event and payment ids
	// and event types.
	ProviderIDBytes = 255
	// DeclineCodeChars and DeclineReasonChars bound what an order keeps of
	// a provider's decline (its code and its words for the fan): longer
	// ones are cut, never refused, since the provider wrote them.
	DeclineCodeChars   = 100
	DeclineReasonChars = 500
	// SignatureHeaderBytes bounds a webhook's signature header.
	SignatureHeaderBytes = 4096
	// GateBytes bounds the gate a check-in names (printable ASCII), and so
	// the gate an ALREADY_USED answer reports.
	GateBytes = 64
	// EmailBytes bounds an email address (RFC 5321's path limit).
	EmailBytes = 254
)

// Seat management (ADR 30).
const (
	// MarkedSeats bounds a section's wheelchair and companion seats
	// together: the marks live in the event document, which fans read.
	MarkedSeats = 500
	// SeatsPerAction bounds the seats of one kill, hold back, release or
	// mark: each is one write, and 500 seat ids fit a 16 KiB body.
	SeatsPerAction = 500
	// CompSeats bounds one comp: its seats and its order are one
	// transaction (at most 100 items).
	CompSeats = 50
)

// The published draw (ADR 9).
const (
	// DrawPartDigits bounds the entrant-id prefix that names a part of
	// the published draw: 16^4 parts of about 2,000 entrants each hold
	// 131 million entrants.
	DrawPartDigits = 4
)

// Lists.
const (
	EventsListed = 100 // GET /v1/events
	OrdersListed = 100 // GET /v1/me/orders, newest first
	AuditListed  = 200 // GET /admin/v1/audit, newest first
	// TransfersListed bounds each of GET /v1/me/transfers' lists.
	TransfersListed = 100
	// ScannerEvents bounds the events one scanner is assigned to.
	ScannerEvents = 50
)

// What the waiting page is told: poll about every ETA/20, within these
// bounds, so a long wait costs about 20 requests.
const (
	MinPollInterval = 2 * time.Second
	MaxPollInterval = time.Minute
)

// SandboxMaxDelay bounds the sandbox provider's delayed webhook.
const SandboxMaxDelay = 72 * time.Hour
