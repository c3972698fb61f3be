package rush

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/auth/devissuer"
	"github.com/stararena/stararena/internal/config"
	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/localsfn"
	"github.com/stararena/stararena/internal/topology"
	"github.com/stararena/stararena/internal/workflow"
)

// sim is one running simulation.
type sim struct {
	cfg     Config
	st      *devstack.Stack
	c       *client
	wr, buy *pool
	poller  *pool // queue-status polls: answered by the CDN stand-in, in memory
	// lookups: pre-sale fans reading their part of the draw (the CDN
	// stand-in): its first fills wait for the origin's one read of the
	// draw, which must not hold up the polls.
	lookups   *pool
	layout    layout
	eventID   string
	gaSection string
	reserved  []string
	statusTTL time.Duration
	availTTL  time.Duration
	drawTTL   time.Duration
	t0        time.Time // the sale opens
	openedAt  atomic.Int64

	fans      []*fan
	left      atomic.Int64
	allDone   chan struct{}
	outcomes  [nOutcomes]atomic.Int64
	admitted  atomic.Int64
	conflicts atomic.Int64
	// sawReleasedAfterPaying counts order reads that showed a paid fan
	// an EXPIRED or CANCELLED order (before a late payment was applied).
	sawReleasedAfterPaying atomic.Int64

	ordersMu sync.Mutex
	orders   []string

	faults      faultCounts
	soldOutSeen atomic.Int64

	errMu      sync.Mutex
	errCount   int64
	errSamples []string

	timeline []TimelinePoint

	holdTimes *holdTimes // the holds service's timing of each hold
}

// TimelinePoint is the sale's progress at one moment, as the fans saw it.
type TimelinePoint struct {
	T        float64 `json:"t"` // seconds from opening
	Joins    int64   `json:"joins"`
	Admitted int64   `json:"admitted"`
	Orders   int64   `json:"orders"`
	Issued   int64   `json:"fansWithTickets"`
	FansDone int64   `json:"fansDone"`
	// The event's availability (the projection, up to 2 s old).
	Available int   `json:"available"`
	Held      int   `json:"held"`
	Sold      int   `json:"sold"`
	Serving   int64 `json:"servingPosition"`
}

// record samples the progress every 5 s until ctx ends.
func (s *sim) record(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	// The timeline's reads are the simulation's, not the sale's: named
	// apart in the report's DynamoDB breakdown.
	ctx = dynamo.WithCaller(ctx, "rush-timeline")
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		p := TimelinePoint{T: round1(time.Since(s.t0).Seconds()),
			Joins: s.c.stats[kJoin].count(), Admitted: s.admitted.Load(), Orders: int64(s.orderCount()),
			Issued: s.outcomes[oIssued].Load(), FansDone: int64(len(s.fans)) - s.left.Load()}
		if av, err := s.st.App.Catalog.Availability(ctx, s.eventID); err == nil {
			for _, sec := range av.Sections {
				p.Available, p.Held, p.Sold = p.Available+sec.Available, p.Held+sec.Held, p.Sold+sec.Sold
			}
		}
		if q, err := s.st.App.Waitroom.Report(ctx, s.eventID); err == nil {
			p.Serving = q.ServingPosition
		}
		s.timeline = append(s.timeline, p)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// snapshot is the counters at one moment, to report a phase's share.
type snapshot struct {
	at          time.Time
	ops         map[string]int64
	wru, rru    float64
	invocations map[string]devstack.Invocation
	sfn         localsfn.Stats
	usage       map[usageKey]ddbUsage
}

func (s *sim) snap(ctx context.Context, ddb *dynamoServer) snapshot {
	w, r := ddb.units.Units()
	sf, _ := s.st.Sidecar().Stats(ctx)
	return snapshot{at: time.Now(), ops: ddb.ops.Snapshot(), wru: w, rru: r, invocations: s.st.Invocations(), sfn: sf, usage: ddb.units.Usage()}
}

// rushDeadlineScale stretches the functions' deadlines and API Gateway's
// timeout past the fans' own 60 s client timeout: a saturated machine must
// not turn slow answers into 500s that a deployment would not give.
const rushDeadlineScale = 10

// Run runs one simulation and returns its report. An error means the run
// could not happen; a run whose invariants fail returns a report with
// Invariants.Passed false.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	began := time.Now()
	total := cfg.MaxDuration
	if cfg.CancelEvent {
		total += cfg.CancelWithin // the cancellation's own time, on top of the sale's
	}
	ctx, cancel := context.WithTimeout(ctx, total)
	defer cancel()
	prog := newProgress(cfg.Progress)
	progCtx, stopProg := context.WithCancel(ctx)
	defer stopProg()
	go prog.run(progCtx)
	defer prog.end()

	prog.setPhase("starting the stack", nil)
	ddb, err := startDynamo(cfg.DynamoShards)
	if err != nil {
		return nil, err
	}
	defer ddb.close()
	logs := &logMeter{}
	emf := &byteCounter{}
	crash := newCrasher(cfg.CrashRate, cfg.Seed)
	issuer := &outage{}
	holdTimes := newHoldTimes()
	appCfg, err := config.FromEnv(func(string) string { return "" })
	if err != nil {
		return nil, err
	}
	appCfg.DynamoEndpoint, appCfg.LogLevel, appCfg.AdmissionTTL = ddb.url, slog.LevelInfo, cfg.AdmissionTTL
	appCfg.HealthHoldP99 = cfg.HealthHoldP99
	if cfg.CancelRefundsPerSecond > 0 {
		appCfg.CancelRefundsPerSecond = cfg.CancelRefundsPerSecond
	}
	st, err := devstack.Start(ctx, devstack.Options{Addr: "127.0.0.1:0", Config: appCfg, Feed: ddb.feed,
		HoldTimings: holdTimes.record, TimeScale: cfg.TimeScale, QueueTimeScale: 1, ReconcileEvery: cfg.ReconcileEvery, DeadlineScale: rushDeadlineScale,
		MetricsOut: emf, Logger: logs.logger(), DevTokenAlgorithm: devissuer.AlgES256,
		Tasks: func(ts *workflow.Tasks) {
			ts.Crash = crash.at
			issuer.inner, ts.Tickets = ts.Tickets, issuer
		}})
	if err != nil {
		return nil, fmt.Errorf("local stack: %w", err)
	}
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = st.Close(c)
	}()

	s := &sim{cfg: cfg, st: st, layout: makeLayout(cfg.Seats, cfg.GAShare), allDone: make(chan struct{}), holdTimes: holdTimes}
	s.c = newClient(st.URL(), cfg.Concurrency)
	for _, r := range topology.Default().Routes {
		switch r.Path {
		case "/v1/events/{eventId}/queue-status":
			s.statusTTL = r.CacheTTL
		case "/v1/events/{eventId}/availability":
			s.availTTL = r.CacheTTL
		case "/v1/events/{eventId}/queue/draw/{part}":
			s.drawTTL = r.CacheTTL
		}
	}
	for _, sec := range s.layout.sections {
		if sec.ga {
			s.gaSection = sec.id
		} else {
			s.reserved = append(s.reserved, sec.id)
		}
	}
	org, _, err := st.Issuer.Issue("organizer-rush", auth.RoleOrganizer)
	if err != nil {
		return nil, err
	}
	prog.setPhase("creating the event", nil)
	var ev struct {
		EventID  string `json:"eventId"`
		Capacity int    `json:"capacity"`
	}
	if err := s.admin(ctx, org, http.MethodPost, "/admin/v1/events", s.layout.request(&cfg, time.Now()), http.StatusCreated, &ev); err != nil {
		return nil, fmt.Errorf("create event: %w", err)
	}
	if ev.Capacity != cfg.Seats {
		return nil, fmt.Errorf("event capacity %d, want %d", ev.Capacity, cfg.Seats)
	}
	s.eventID = ev.EventID

	if err := s.signIn(ctx, prog); err != nil {
		return nil, err
	}

	// The sale: pre-sale joins start now, the organizer opens at t0.
	s.t0 = time.Now().Add(cfg.Lead)
	issuer.after, issuer.length = int64(float64(cfg.Seats)*cfg.IssuerOutageAfter), cfg.IssuerOutageFor
	before := s.snap(ctx, ddb)
	// The waiting room's HTTP requests (joins, place reads) get a small
	// share of the client: joins are asynchronous (SQS) and only decide a
	// fan's place, while the purchase path has deadlines (admission
	// tokens, holds). On two shared cores this keeps the join flood from
	// starving the purchase path; the join backlog shows as client lag.
	wrN := max(cfg.Concurrency/12, 2)
	s.wr, s.buy, s.poller, s.lookups = newPool(wrN), newPool(max(cfg.Concurrency-wrN, 1)), newPool(4), newPool(4)
	s.left.Store(int64(len(s.fans)))
	for _, f := range s.fans {
		s.poller.at(s.t0.Add(f.plan.joinAt), func() { s.arrive(f) })
	}
	openErr := make(chan error, 1)
	go func() {
		select {
		case <-time.After(time.Until(s.t0)):
		case <-ctx.Done():
			openErr <- ctx.Err()
			return
		}
		err := s.admin(ctx, org, http.MethodPost, "/admin/v1/events/"+s.eventID+"/sale",
			map[string]any{"action": "open", "admitPerMinute": cfg.AdmitPerMinute}, http.StatusOK, nil)
		s.openedAt.Store(time.Now().UnixNano())
		openErr <- err
	}()
	recCtx, stopRec := context.WithCancel(ctx)
	defer stopRec()
	recDone := make(chan struct{})
	go s.record(recCtx, recDone)
	prog.setPhase("on sale", func() (int64, int64, string) {
		done := int64(len(s.fans)) - s.left.Load()
		return done, int64(len(s.fans)), fmt.Sprintf("fans done %d/%d, admitted %d, orders %d, issued %d",
			done, len(s.fans), s.admitted.Load(), s.orderCount(), s.outcomes[oIssued].Load())
	})
	// The sale gets what MaxDuration leaves after a reserve for settling,
	// reconciling and verifying; fans still busy then are stopped and the
	// run fails, but everything they did is still checked.
	reserve := max(time.Minute, cfg.MaxDuration/5)
	saleEnd := time.NewTimer(time.Until(began.Add(cfg.MaxDuration - reserve)))
	defer saleEnd.Stop()
	unfinished := int64(0)
	select {
	case <-s.allDone:
	case <-saleEnd.C:
		unfinished = s.left.Load()
	case <-ctx.Done():
	}
	fansDone := time.Now()
	stopRec()
	<-recDone
	s.wr.stop()
	s.poller.stop()
	s.lookups.stop()
	s.buy.stop()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := <-openErr; err != nil {
		return nil, fmt.Errorf("open the sale: %w", err)
	}

	prog.setPhase("settling", nil)
	if err := s.settle(ctx); err != nil {
		return nil, err
	}
	settled := time.Now()
	prog.setPhase("reconciling", nil)
	recs, quiet, err := s.reconcileUntilQuiet(ctx)
	if err != nil {
		return nil, err
	}
	after := s.snap(ctx, ddb)
	reconciled := time.Now()

	prog.setPhase("verifying", nil)
	v, err := s.verify(ctx)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	rep := s.report(ctx, reportInput{began: began, fansDone: fansDone, settled: settled, reconciled: reconciled,
		before: before, after: after, verified: v, reconciles: recs, quiet: quiet, crash: crash, issuer: issuer, logs: logs, emf: emf,
		ddb: ddb, unfinished: unfinished})
	if cfg.CancelEvent {
		cr, err := s.cancelRun(ctx, org, prog)
		if err != nil {
			return nil, fmt.Errorf("cancellation run: %w", err)
		}
		rep.Cancellation = cr
		rep.Passed = rep.Passed && cr.Passed
	}
	rep.WallSeconds = time.Since(began).Seconds()
	return rep, nil
}

// admin sends an organizer request (not counted as fan traffic).
func (s *sim) admin(ctx context.Context, token, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.st.URL()+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %.300s", method, path, resp.StatusCode, rb)
	}
	if out != nil {
		return json.Unmarshal(rb, out)
	}
	return nil
}

// signIn makes the fans, draws their plans and signs their tokens (the
// dev issuer stands in for Cognito).
func (s *sim) signIn(ctx context.Context, prog *progress) error {
	n := s.cfg.Fans
	s.fans = make([]*fan, n)
	for i := range s.fans {
		r := rand.New(rand.NewPCG(s.cfg.Seed, uint64(i)))
		s.fans[i] = &fan{id: i, sub: fmt.Sprintf("fan-%06d", i), rng: r, plan: makePlan(&s.cfg, r)}
	}
	var signed atomic.Int64
	prog.setPhase("signing in fans", func() (int64, int64, string) {
		return signed.Load(), int64(n), fmt.Sprintf("%d/%d", signed.Load(), n)
	})
	var wg sync.WaitGroup
	errs := make(chan error, runtime.NumCPU())
	for w := range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += runtime.NumCPU() {
				if ctx.Err() != nil {
					errs <- ctx.Err()
					return
				}
				tok, _, err := s.st.Issuer.Issue(s.fans[i].sub, auth.RoleFan)
				if err != nil {
					errs <- err
					return
				}
				s.fans[i].token = tok
				signed.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	return errors.Join(<-errs)
}

func (s *sim) orderCount() int {
	s.ordersMu.Lock()
	defer s.ordersMu.Unlock()
	return len(s.orders)
}

// settle waits until nothing is moving: no webhook pending or in flight at
// the provider, no order workflow running, the join queue drained — seen
// twice in a row, so that a webhook that starts an execution is not missed.
func (s *sim) settle(ctx context.Context) error {
	quiet := 0
	for {
		idle, detail, err := s.idle(ctx)
		if err != nil {
			return err
		}
		if idle {
			quiet++
			if quiet == 2 {
				return nil
			}
		} else {
			quiet = 0
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not settled: %s", detail)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (s *sim) idle(ctx context.Context) (bool, string, error) {
	now, cancel := context.WithCancel(ctx)
	cancel() // WaitIdle on a done context: nil only when idle now
	box := s.st.Sandbox.WaitIdle(now) == nil
	sf, err := s.st.Sidecar().Stats(ctx)
	if err != nil {
		return false, "", err
	}
	q := s.st.Queue("joins").Stats()
	detail := fmt.Sprintf("provider idle %v, %d executions running, %d joins queued", box, sf.Running, q.Visible+q.InFlight)
	return box && sf.Running == 0 && q.Visible+q.InFlight == 0, detail, nil
}
