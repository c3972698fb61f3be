// Package rush simulates a sale-open spike against the local stack and
// checks the invariants on what it stored.
//
// Run starts the whole system in-process (devstack: every function
// behind the same routes as API Gateway, the embedded DynamoDB, the Step
// Functions sidecar, the sandbox payment provider), creates an event and
// lets simulated fans loose on it over HTTP on 127.0.0.1: they join the
// waiting room in a burst around the opening (some before it, for the
// draw), re-join, poll their place at the page's pace through a stand-in
// for the CDN, abandon, pick seats or ask for the best available or
// general admission, cancel, pay (some late, some declined, some twice),
// while the provider drops, duplicates, delays and re-orders webhooks, the
// ticket issuer is down for a while and workflow functions crash between
// their steps. Then it lets the system settle, runs the reconciler until
// it finds nothing, reads every seat, shard, order, ticket and payment,
// and reports the invariants and the numbers (docs/adr/0012-rush-simulation.md).
package rush

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/localdynamo"
)

// Config is one simulation. Default is `make rush`; Small is the test's.
type Config struct {
	Seats   int     // places on sale, reserved seats and general admission together
	GAShare float64 // share of Seats that is general admission
	Fans    int
	Seed    uint64

	// TimeScale runs the money path's clocks faster: the order workflow's
	// hold timer and retries, the provider's webhook delays and retries,
	// and the fans' time to pick, pay or cancel (0.01: a 15-minute hold
	// lasts 9 s). The waiting room keeps real time: its rates are per real
	// minute and its plumbing (SQS batching) is what the burst meets.
	TimeScale      float64
	HoldSeconds    int
	AdmitPerMinute int
	MaxPerAccount  int
	// AdmissionTTL is how long an admission token may be used (and the
	// inlet's admission window); the default 10 minutes of production is
	// shortened like the holds it precedes.
	AdmissionTTL time.Duration
	// HealthHoldP99 is the hold latency over which the inlet admits more
	// slowly (HEALTH_HOLD_P99, 1 s as in production). Locally the purchase
	// path shares two cores with every fan's joins, so it is often over;
	// the inlet then backs off as it would in AWS.
	HealthHoldP99 time.Duration
	// ReconcileEvery is the stack's scheduled reconciler during the sale
	// (its own clock: real time).
	ReconcileEvery time.Duration

	// Arrivals: PresaleShare join within Lead before the opening (and are
	// ordered by the draw), TrickleShare uniformly within Trickle after
	// it, the rest in a burst (exponential, mean Burst).
	Lead, Burst, Trickle       time.Duration
	PresaleShare, TrickleShare float64
	JoinRetries                float64 // mean extra joins per fan (refreshes, second tabs)

	// Behaviour, as shares of fans.
	AbandonQueue, AbandonAdmitted float64 // leave while waiting; get an admission and never use it
	PickSeats, BestAvailable      float64 // the rest ask for general admission
	Cancel, NoPay, LatePay        float64 // of fans holding places
	Decline                       float64 // first card declined (70% try again)
	DuplicateCapture              float64 // pay a second time in another tab

	// Faults, as shares of payments: the provider's webhook is dropped,
	// duplicated, delayed past the hold's expiry or re-ordered.
	WebhookDrop, WebhookDuplicate, WebhookDelay, WebhookReorder float64
	// The ticket issuer goes down once IssuerOutageAfter of the places
	// have tickets, and fails every call for IssuerOutageFor (real time:
	// on the scaled clock the workflow's retries give up within it).
	IssuerOutageAfter float64
	IssuerOutageFor   time.Duration
	// CrashRate makes a workflow function crash between two steps (after
	// applying a payment, after writing tickets) at this rate.
	CrashRate float64

	// Concurrency is the fans' requests in flight at most (a twelfth for
	// the waiting room, the rest for the purchase path, so that fans
	// holding places are not stuck behind the flood of joins).
	Concurrency int
	// DynamoShards > 1 spreads the embedded DynamoDB's items over that many
	// minidyn servers (shards.go): one minidyn's insertions slow down with
	// every item it holds, which a 100,000-fan sale feels. 1 runs on the
	// local stack's own server, internal/localdynamo.
	DynamoShards int
	// MaxDuration bounds the whole run (without the cancellation).
	MaxDuration time.Duration

	// CancelEvent adds the cancellation run: once the sale is verified the
	// organizer cancels the event and the run waits, at most CancelWithin,
	// for the reconciler's saga to refund everything (ADR 20), then checks
	// the refunds, the gate's answers and the places (cancel.go).
	CancelEvent  bool
	CancelWithin time.Duration
	// CancelRefundsPerSecond is the saga's pace, CANCEL_REFUNDS_PER_SECOND
	// (0: the configuration's default, 20).
	CancelRefundsPerSecond float64
	// Progress receives a progress bar (nil: none).
	Progress io.Writer
}

// Default is the on-sale of `make rush`: 20,000 places, 100,000 fans.
func Default() Config {
	return Config{
		Seats: 20_000, GAShare: 0.1, Fans: 100_000, Seed: 1,
		TimeScale: 0.01, HoldSeconds: limits.DefaultHoldSeconds, AdmitPerMinute: limits.AdmitPerMinute, MaxPerAccount: limits.DefaultTicketsPerAccount,
		AdmissionTTL: 10 * time.Second, HealthHoldP99: time.Second, ReconcileEvery: time.Minute,
		Lead: 20 * time.Second, Burst: 4 * time.Second, Trickle: 60 * time.Second,
		PresaleShare: 0.3, TrickleShare: 0.1, JoinRetries: 2,
		AbandonQueue: 0.05, AbandonAdmitted: 0.03, PickSeats: 0.4, BestAvailable: 0.4,
		Cancel: 0.04, NoPay: 0.05, LatePay: 0.04, Decline: 0.05, DuplicateCapture: 0.01,
		WebhookDrop: 0.10, WebhookDuplicate: 0.10, WebhookDelay: 0.05, WebhookReorder: 0.02,
		IssuerOutageAfter: 0.2, IssuerOutageFor: 5 * time.Second, CrashRate: 0.02,
		Concurrency: 192, DynamoShards: 64, MaxDuration: 14 * time.Minute,
	}
}

// Small is Default at a tenth of the places and fans, with the same
// faults and fans arriving over a shorter window: what `make test` runs.
func Small() Config {
	c := Default()
	c.Seats, c.Fans = 2_000, 10_000
	c.Lead, c.Burst, c.Trickle = 4*time.Second, 2*time.Second, 15*time.Second
	// A faster money-path clock (a 15-minute hold lasts 4.5 s): the sale's
	// tail is its last holds expiring and late payments arriving.
	c.TimeScale = 0.005
	// Its admission window shrinks with it: the inlet lets in at most as
	// many fans per window as places are left, so the last few places
	// sell one window at a time.
	c.AdmissionTTL = 5 * time.Second
	c.IssuerOutageFor = 3 * time.Second
	c.ReconcileEvery = 20 * time.Second
	// A liveness bound, not a speed target: about 2.5 minutes on an idle
	// 2-core machine, and more than twice that when other builds share it.
	c.MaxDuration = 8 * time.Minute
	return c
}

// Cancellation is the cancellation run: a small sale with every fault of
// Small (5,000 fans, 1,000 places), then the organizer cancels the event
// and the saga refunds it. The reconciler runs every 10 s so that the
// saga's passes (and its 30 s settling time) do not wait long.
func Cancellation() Config {
	c := Small()
	c.Seats, c.Fans = 1_000, 5_000
	c.ReconcileEvery = 10 * time.Second
	c.CancelEvent, c.CancelWithin = true, 5*time.Minute
	return c
}

// Unsaturated is a sale whose waiting room admits fans slowly enough
// that this machine's purchase path is not saturated, to measure the hold
// latency the design budgets (p99 under 800 ms) rather than the latency
// of two cores running everything at once: 5,000 fans, 300 places, on
// Small's clocks, each fan joining once (refreshes and second tabs load
// the waiting room, which this mode is not about). The admission rate was
// found by measuring (docs/performance.md, "An unsaturated purchase
// path").
func Unsaturated() Config {
	c := Small()
	c.Fans, c.Seats = 5_000, 300
	c.JoinRetries = 0
	c.AdmitPerMinute = UnsaturatedAdmitPerMinute
	// The rate is the experiment's variable: the inlet's backoff (which
	// halves it while hold p99 is over HealthHoldP99) is moved out of the
	// way, so that the fans arrive at the purchase path at the rate chosen
	// whatever the latency turns out to be.
	c.HealthHoldP99 = time.Minute
	c.MaxDuration = 12 * time.Minute
	return c
}

// UnsaturatedAdmitPerMinute is Unsaturated's admission rate.
const UnsaturatedAdmitPerMinute = 60

// scaled is d on the money path's clock.
func (c *Config) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * c.TimeScale)
}

// Validate reports a configuration that cannot run.
func (c *Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, a ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, a...))
		}
	}
	check(c.Seats >= 10 && c.Seats <= 200_000, "seats %d: want 10..200000", c.Seats)
	check(c.Fans >= 1 && c.Fans <= 1_000_000, "fans %d: want 1..1000000", c.Fans)
	check(c.GAShare >= 0 && c.GAShare <= 1, "GA share %v: want 0..1", c.GAShare)
	check(c.TimeScale > 0 && c.TimeScale <= 1, "time scale %v: want (0, 1]", c.TimeScale)
	check(c.HoldSeconds >= limits.MinHoldSeconds && c.HoldSeconds <= limits.MaxHoldSeconds, "hold %d s: want %d..%d",
		c.HoldSeconds, limits.MinHoldSeconds, limits.MaxHoldSeconds)
	check(c.AdmitPerMinute >= 1 && c.AdmitPerMinute <= limits.AdmitPerMinute, "admit per minute %d: want 1..%d", c.AdmitPerMinute, limits.AdmitPerMinute)
	check(c.MaxPerAccount >= 1 && c.MaxPerAccount <= 10, "max per account %d: want 1..10", c.MaxPerAccount)
	check(c.AdmissionTTL >= time.Second, "admission TTL %v: want >= 1s", c.AdmissionTTL)
	check(c.HealthHoldP99 >= 10*time.Millisecond && c.HealthHoldP99 <= time.Minute, "health hold p99 %v: want 10ms..1m", c.HealthHoldP99)
	check(c.Concurrency >= 2, "concurrency %d: want >= 2", c.Concurrency)
	check(c.MaxDuration > 0, "max duration %v: want > 0", c.MaxDuration)
	check(!c.CancelEvent || c.CancelWithin > 0, "cancel within %v: want > 0", c.CancelWithin)
	check(c.CancelRefundsPerSecond == 0 || (c.CancelRefundsPerSecond >= 0.1 && c.CancelRefundsPerSecond <= 100),
		"cancel refunds per second %v: want 0.1..100 (or 0: the default)", c.CancelRefundsPerSecond)
	check(c.DynamoShards >= 1 && c.DynamoShards <= localdynamo.MaxShards, "dynamo shards %d: want 1..%d", c.DynamoShards, localdynamo.MaxShards)
	for name, v := range map[string]float64{"presale": c.PresaleShare, "trickle": c.TrickleShare, "abandon-queue": c.AbandonQueue,
		"abandon-admitted": c.AbandonAdmitted, "pick": c.PickSeats, "best": c.BestAvailable, "cancel": c.Cancel, "no-pay": c.NoPay,
		"late-pay": c.LatePay, "decline": c.Decline, "duplicate-capture": c.DuplicateCapture, "webhook-drop": c.WebhookDrop,
		"webhook-duplicate": c.WebhookDuplicate, "webhook-delay": c.WebhookDelay, "webhook-reorder": c.WebhookReorder, "crash": c.CrashRate,
		"issuer-outage-after": c.IssuerOutageAfter} {
		check(v >= 0 && v <= 1, "%s share %v: want 0..1", name, v)
	}
	check(c.PresaleShare+c.TrickleShare <= 1, "presale + trickle shares over 1")
	check(c.PickSeats+c.BestAvailable <= 1, "pick + best-available shares over 1")
	check(c.Cancel+c.NoPay+c.LatePay <= 1, "cancel + no-pay + late-pay shares over 1")
	check(c.WebhookDrop+c.WebhookDuplicate+c.WebhookDelay+c.WebhookReorder <= 1, "webhook fault shares over 1")
	check(c.JoinRetries >= 0 && c.JoinRetries <= 10, "join retries %v: want 0..10", c.JoinRetries)
	return errors.Join(errs...)
}
