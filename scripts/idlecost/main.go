// Command idlecost measures what events that are not on sale cost the
// schedules: it starts the local stack with its schedules stopped, creates
// events whose sale opens in a month, ticks every schedule as EventBridge
// would over one minute (the reconciler once, the inlet every 2 s) and
// reports the DynamoDB items read and requests made per idle event:
//
//	go run ./scripts/idlecost -events 100 -seats 1000
//
// With -sizes it measures several numbers of events one after the other,
// each on a fresh stack, and prints them side by side in one table:
//
//	go run ./scripts/idlecost -sizes 10,100,1000 -seats 10 -shards 64
//
// -shards spreads the embedded DynamoDB over that many minidyn servers
// (localdynamo.Sharded, as the rush simulation does): minidyn answers a
// table Query by walking every key it holds, so on one server the
// reconciler's time grows with the table rather than with what DynamoDB
// would read.
//
// The figures come from the local DynamoDB front's counters
// (devstack.OpCounter), never from timing. The first minute is a warm-up
// (the reconciler has no previous run to start from); the second is
// measured.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/config"
	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/localdynamo"
	"github.com/stararena/stararena/internal/topology"
)

// Result is one measurement.
type Result struct {
	Events int `json:"events"`
	Seats  int `json:"seatsPerEvent"`
	// Per idle event per minute of schedules.
	ItemReads float64 `json:"itemReadsPerEventMinute"`
	Requests  float64 `json:"requestsPerEventMinute"`
	// ReconcileSeconds is how long the measured minute's reconciler run took.
	ReconcileSeconds float64 `json:"reconcileSeconds"`
}

func main() {
	events := flag.Int("events", 10, "idle events to create")
	seats := flag.Int("seats", 1000, "reserved seats per event (rows of 100)")
	sizes := flag.String("sizes", "", "comma-separated numbers of events to measure side by side (overrides -events), e.g. 10,100,1000")
	shards := flag.Int("shards", 1, "minidyn servers behind the embedded DynamoDB (1: the local stack's own)")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if *sizes != "" {
		var rs []Result
		for _, f := range strings.Split(*sizes, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				fmt.Fprintf(os.Stderr, "idlecost: -sizes: %q is not a number of events\n", f)
				os.Exit(2)
			}
			began := time.Now()
			r, err := measureOn(ctx, n, *seats, *shards)
			if err != nil {
				fmt.Fprintln(os.Stderr, "idlecost:", err)
				os.Exit(1)
			}
			fmt.Fprintf(os.Stderr, "%d events measured in %.0f s\n", n, time.Since(began).Seconds())
			rs = append(rs, r)
		}
		fmt.Print(table(rs, *shards))
		return
	}
	r, err := measureOn(ctx, *events, *seats, *shards)
	if err != nil {
		fmt.Fprintln(os.Stderr, "idlecost:", err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(r)
}

// table prints results side by side.
func table(rs []Result, shards int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-16s %-8s %-26s %-26s %s\n", "upcoming events", "seats", "item reads/event/minute", "requests/event/minute", "reconciler run")
	for _, r := range rs {
		fmt.Fprintf(&b, "%-16d %-8d %-26.1f %-26.1f %.2f s (%.1f ms per event)\n", r.Events, r.Seats, r.ItemReads, r.Requests,
			r.ReconcileSeconds, 1000*r.ReconcileSeconds/float64(r.Events))
	}
	fmt.Fprintf(&b, "(embedded DynamoDB: %d minidyn server(s); reads counted at its front, the second minute of schedules measured)\n", shards)
	return b.String()
}

// measure starts a stack on its own embedded DynamoDB, creates events
// idle events of seats seats and counts one minute of schedules.
func measure(ctx context.Context, events, seats int) (Result, error) {
	return measureOn(ctx, events, seats, 1)
}

// measureOn is measure with the embedded DynamoDB spread over shards
// minidyn servers when shards > 1.
func measureOn(ctx context.Context, events, seats, shards int) (Result, error) {
	cfg, err := config.FromEnv(func(string) string { return "" })
	if err != nil {
		return Result{}, err
	}
	cfg.LogLevel = slog.LevelError
	opts := devstack.Options{Addr: "127.0.0.1:0", Config: cfg,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), ReconcileEvery: -1, InletEvery: -1}
	var ops *devstack.OpCounter
	if shards > 1 {
		ops = &devstack.OpCounter{}
		url, feed, stop, err := startSharded(shards, ops)
		if err != nil {
			return Result{}, err
		}
		defer stop()
		opts.Config.DynamoEndpoint, opts.Feed = url, feed
	}
	st, err := devstack.Start(ctx, opts)
	if err != nil {
		return Result{}, fmt.Errorf("start the local stack: %w", err)
	}
	defer func() { _ = st.Close(context.Background()) }()
	if ops == nil {
		ops = st.DynamoOps()
	}
	if ops == nil {
		return Result{}, fmt.Errorf("the DynamoDB front's counters exist only on the embedded DynamoDB (unset AWS_ENDPOINT_URL_DYNAMODB)")
	}
	for i := range events {
		if err := createIdle(ctx, st, i, seats); err != nil {
			return Result{}, err
		}
	}
	// The seats' creation fed the projector; its work is the sale's, not
	// the idle minute's.
	if err := st.FlushStream(ctx); err != nil {
		return Result{}, err
	}
	if _, err := minute(ctx, st); err != nil { // warm-up
		return Result{}, err
	}
	reads, reqs := ops.ItemReads(), ops.Total()
	took, err := minute(ctx, st)
	if err != nil {
		return Result{}, err
	}
	n := float64(events)
	return Result{Events: events, Seats: seats, ItemReads: float64(ops.ItemReads()-reads) / n,
		Requests: float64(ops.Total()-reqs) / n, ReconcileSeconds: took.Seconds()}, nil
}

// minute ticks every schedule of the topology as often as it runs in a
// minute, and returns how long the reconciler's runs took.
func minute(ctx context.Context, st *devstack.Stack) (time.Duration, error) {
	var reconcile time.Duration
	for _, s := range topology.Default().Schedules {
		tick := st.ScheduledTick(s.Function)
		if tick == nil {
			return 0, fmt.Errorf("schedule %s: function %s has no local tick", s.Name, s.Function)
		}
		for range int(time.Minute / s.Every) {
			start := time.Now()
			if err := tick(ctx); err != nil {
				return 0, fmt.Errorf("schedule %s: %w", s.Name, err)
			}
			if s.Function == "reconciler" {
				reconcile += time.Since(start)
			}
		}
	}
	return reconcile, nil
}

// createIdle creates an event whose sale opens in a month: rows of 100
// seats in one section and a general-admission floor.
func createIdle(ctx context.Context, st *devstack.Stack, i, seats int) error {
	now := time.Now().UTC()
	rows := make([]catalog.Row, 0, seats/100+1)
	for left := seats; left > 0; left -= 100 {
		rows = append(rows, catalog.Row{ID: strconv.Itoa(len(rows) + 1), Seats: min(left, 100)})
	}
	price, ga, rate := int64(5000), 100, 600
	req := catalog.CreateEventRequest{
		Name: fmt.Sprintf("Idle %d", i), Venue: "Hall",
		StartsAt:    now.Add(60 * 24 * time.Hour).Format(time.RFC3339),
		SaleOpensAt: now.Add(30 * 24 * time.Hour).Format(time.RFC3339),
		Queue:       &catalog.QueueRequest{Mode: catalog.QueueOn, AdmitPerMinute: &rate},
		Sections: []catalog.SectionRequest{
			{ID: "A", PriceCents: &price, Currency: "EUR", Rows: rows},
			{ID: "GA", PriceCents: &price, Currency: "EUR", Capacity: &ga},
		},
	}
	ev, err := req.Event()
	if err != nil {
		return err
	}
	if _, err := st.App.Catalog.Create(ctx, ev, "idlecost", "organizer-1"); err != nil {
		return fmt.Errorf("create event %d: %w", i, err)
	}
	return nil
}

// startSharded serves the sharded embedded DynamoDB on loopback, counted
// by ops, with the change feed the stack's projector reads.
func startSharded(shards int, ops *devstack.OpCounter) (url string, feed *localdynamo.Feed, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, err
	}
	feed = devstack.NewFeed(topology.Default())
	sh := localdynamo.NewSharded(shards)
	sh.SetFeed(feed)
	srv := &http.Server{Handler: ops.Wrap(sh), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), feed, func() { _ = srv.Close() }, nil
}
