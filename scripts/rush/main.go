// Command rush runs the sale-open simulation (internal/rush) against an
// in-process local stack and prints its report; `make rush` runs it with
// the defaults. It exits 1 when an invariant fails, 2 when the run could
// not happen.
//
//	go run ./scripts/rush -fans 10000 -seats 2000 -out rush.json
//	go run ./scripts/rush -unsaturated   # hold latency by part, purchase path not saturated
//	go run ./scripts/rush -cancellation  # a sale, then the event cancelled and refunded
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/stararena/stararena/internal/rush"
)

func main() {
	cfg := rush.Default()
	fs := flag.NewFlagSet("rush", flag.ExitOnError)
	out := fs.String("out", "", "also write the report as JSON to this file")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (stack and fans) to this file")
	fs.Bool("small", false, "start from the test's smaller sale (2,000 places, 10,000 fans) instead of the default")
	fs.Bool("cancellation", false, "the cancellation run: a sale of 5,000 fans and 1,000 places, then the organizer cancels the event and the saga refunds it")
	fs.Bool("unsaturated", false, "a sale admitted slowly enough that the purchase path is not saturated (5,000 fans, 300 places, 60 a minute): hold latency by part")
	// Peek at -small and -unsaturated first so that the other flags
	// override their values.
	for _, a := range os.Args[1:] {
		switch strings.TrimLeft(a, "-") {
		case "small", "small=true":
			cfg = rush.Small()
		case "unsaturated", "unsaturated=true":
			cfg = rush.Unsaturated()
		case "cancellation", "cancellation=true":
			cfg = rush.Cancellation()
		}
	}
	fs.IntVar(&cfg.Seats, "seats", cfg.Seats, "places on sale (reserved seats + general admission)")
	fs.Float64Var(&cfg.GAShare, "ga-share", cfg.GAShare, "share of the places that is general admission")
	fs.IntVar(&cfg.Fans, "fans", cfg.Fans, "simulated fans")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed: the same seed draws the same fans")
	fs.Float64Var(&cfg.TimeScale, "time-scale", cfg.TimeScale, "speed of the money path's clocks (0.01: a 900 s hold lasts 9 s)")
	fs.IntVar(&cfg.HoldSeconds, "hold-seconds", cfg.HoldSeconds, "the event's hold time")
	fs.IntVar(&cfg.AdmitPerMinute, "admit-per-minute", cfg.AdmitPerMinute, "the waiting room's admission rate (at most 18000)")
	fs.IntVar(&cfg.MaxPerAccount, "max-per-account", cfg.MaxPerAccount, "tickets per account")
	fs.DurationVar(&cfg.AdmissionTTL, "admission-ttl", cfg.AdmissionTTL, "admission token lifetime")
	fs.DurationVar(&cfg.HealthHoldP99, "health-hold-p99", cfg.HealthHoldP99, "hold latency over which the inlet admits more slowly")
	fs.DurationVar(&cfg.ReconcileEvery, "reconcile-every", cfg.ReconcileEvery, "scheduled reconciler interval during the sale")
	fs.DurationVar(&cfg.Lead, "lead", cfg.Lead, "pre-sale window in which early fans join (the draw)")
	fs.DurationVar(&cfg.Burst, "burst", cfg.Burst, "mean delay of the burst of joins after opening")
	fs.DurationVar(&cfg.Trickle, "trickle", cfg.Trickle, "window after opening in which late fans trickle in")
	fs.Float64Var(&cfg.PresaleShare, "presale", cfg.PresaleShare, "share of fans joining before opening")
	fs.Float64Var(&cfg.TrickleShare, "trickle-share", cfg.TrickleShare, "share of fans trickling in after the burst")
	fs.Float64Var(&cfg.JoinRetries, "join-retries", cfg.JoinRetries, "mean extra joins per fan (refreshes, tabs)")
	fs.Float64Var(&cfg.AbandonQueue, "abandon-queue", cfg.AbandonQueue, "share of fans leaving the queue")
	fs.Float64Var(&cfg.AbandonAdmitted, "abandon-admitted", cfg.AbandonAdmitted, "share of admitted fans never holding")
	fs.Float64Var(&cfg.PickSeats, "pick", cfg.PickSeats, "share picking seats on the map")
	fs.Float64Var(&cfg.BestAvailable, "best", cfg.BestAvailable, "share asking for the best available (the rest: GA)")
	fs.Float64Var(&cfg.Cancel, "cancel", cfg.Cancel, "share of holders cancelling")
	fs.Float64Var(&cfg.NoPay, "no-pay", cfg.NoPay, "share of holders never paying")
	fs.Float64Var(&cfg.LatePay, "late-pay", cfg.LatePay, "share of holders paying after the hold expired")
	fs.Float64Var(&cfg.Decline, "decline", cfg.Decline, "share of payers whose first card is declined")
	fs.Float64Var(&cfg.DuplicateCapture, "duplicate-capture", cfg.DuplicateCapture, "share of payers paying twice")
	fs.Float64Var(&cfg.WebhookDrop, "webhook-drop", cfg.WebhookDrop, "share of payment webhooks dropped")
	fs.Float64Var(&cfg.WebhookDuplicate, "webhook-duplicate", cfg.WebhookDuplicate, "share of payment webhooks delivered twice")
	fs.Float64Var(&cfg.WebhookDelay, "webhook-delay", cfg.WebhookDelay, "share of payment webhooks delayed past the hold's expiry")
	fs.Float64Var(&cfg.WebhookReorder, "webhook-reorder", cfg.WebhookReorder, "share of payment webhooks followed by a stale one")
	fs.Float64Var(&cfg.IssuerOutageAfter, "issuer-outage-after", cfg.IssuerOutageAfter, "the ticket issuer goes down once this share of the places has tickets")
	fs.DurationVar(&cfg.IssuerOutageFor, "issuer-outage-for", cfg.IssuerOutageFor, "ticket issuer outage length")
	fs.Float64Var(&cfg.CrashRate, "crash-rate", cfg.CrashRate, "rate of workflow functions crashing between steps")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "fans' requests in flight at most")
	fs.IntVar(&cfg.DynamoShards, "dynamo-shards", cfg.DynamoShards, "minidyn servers behind the embedded DynamoDB (1: the local stack's own)")
	fs.DurationVar(&cfg.MaxDuration, "max-duration", cfg.MaxDuration, "give up after this long")
	fs.BoolVar(&cfg.CancelEvent, "cancel-event", cfg.CancelEvent, "after the sale, cancel the event and check the saga's refunds (any size of sale)")
	fs.DurationVar(&cfg.CancelWithin, "cancel-within", max(cfg.CancelWithin, 5*time.Minute), "give the cancellation saga this long (on top of -max-duration)")
	fs.Float64Var(&cfg.CancelRefundsPerSecond, "cancel-refunds-per-second", cfg.CancelRefundsPerSecond, "the saga's pace, CANCEL_REFUNDS_PER_SECOND (0: the default, 20)")
	_ = fs.Parse(os.Args[1:])
	cfg.Progress = os.Stderr
	// The whole system runs in this process, and the embedded DynamoDB
	// allocates a copy of every item it reads: collect garbage less often,
	// but keep the heap under 4 GiB on a shared machine.
	debug.SetGCPercent(400)
	debug.SetMemoryLimit(4 << 30)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "rush:", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := rush.Run(ctx, cfg)
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "rush:", err)
		os.Exit(2)
	}
	fmt.Print(rep.Text())
	if *out != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "rush:", err)
			os.Exit(2)
		}
	}
	if !rep.Passed {
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}
