package rush

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/topology"
	"github.com/stararena/stararena/internal/waitroom"
)

// Report is what a run found and measured. Times are seconds from the
// sale's opening unless named otherwise.
type Report struct {
	Passed        bool                `json:"passed"`
	WallSeconds   float64             `json:"wallSeconds"`
	Machine       Machine             `json:"machine"`
	Config        ConfigReport        `json:"config"`
	Invariants    Invariants          `json:"invariants"`
	Sale          SaleReport          `json:"sale"`
	Latency       Latency             `json:"latency"`
	Requests      Requests            `json:"requests"`
	Fans          map[string]int64    `json:"fans"`
	Queue         waitroom.Report     `json:"queue"`
	Faults        FaultReport         `json:"faults"`
	Reconciler    ReconcilerReport    `json:"reconciler"`
	DynamoDB      DynamoReport        `json:"dynamodb"`
	StepFunctions StepFunctionsReport `json:"stepFunctions"`
	Lambda        LambdaReport        `json:"lambda"`
	Logs          LogsReport          `json:"logs"`
	Cost          Cost                `json:"cost"`
	Phases        Phases              `json:"phases"`
	Timeline      []TimelinePoint     `json:"timeline"`
	Errors        ErrorReport         `json:"unexpectedAnswers"`
	// HoldBreakdown is where the holds' time went (breakdown.go).
	HoldBreakdown *HoldBreakdown `json:"holdBreakdown,omitempty"`
	// Cancellation is the cancellation run's findings (cancel.go).
	Cancellation *CancellationReport `json:"cancellation,omitempty"`
}

// Machine is where the run happened.
type Machine struct {
	GoVersion string `json:"goVersion"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
}

// ConfigReport is the run's configuration in plain units.
type ConfigReport struct {
	Seats, ReservedSeats, GAPlaces, Fans                                                                       int
	Seed                                                                                                       uint64
	TimeScale                                                                                                  float64
	HoldSeconds, AdmitPerMinute, MaxPerAccount                                                                 int
	AdmissionTTLSeconds, HealthHoldP99Seconds, LeadSeconds, BurstSeconds, TrickleSeconds                       float64
	PresaleShare, TrickleShare, JoinRetries                                                                    float64
	AbandonQueue, AbandonAdmitted, PickSeats, BestAvailable, Cancel, NoPay, LatePay, Decline, DuplicateCapture float64
	WebhookDrop, WebhookDuplicate, WebhookDelay, WebhookReorder, CrashRate                                     float64
	IssuerOutageAfter, IssuerOutageForSeconds                                                                  float64
	Concurrency                                                                                                int
}

// SaleReport is what was sold.
type SaleReport struct {
	EventID          string         `json:"eventId"`
	Capacity         int            `json:"capacity"`
	PlacesSold       int            `json:"placesSold"`
	ReservedSold     int            `json:"reservedSeatsSold"`
	GASold           int            `json:"gaPlacesSold"`
	TicketsIssued    int            `json:"ticketsIssued"`
	Orders           int            `json:"orders"`
	OrdersByStatus   map[string]int `json:"ordersByStatus"`
	LateOrdersIssued int            `json:"latePaymentsIssued"`
	// PaidShownReleased counts reads of an order that showed a fan who had
	// paid an EXPIRED or CANCELLED order: a payment not applied yet (late,
	// or its webhook lost after the workflow's last look), until the
	// webhook or the reconciler's sweep re-held the places or refunded.
	PaidShownReleased int64          `json:"paidOrderShownReleased"`
	PaymentsCaptured  int            `json:"paymentsCaptured"`
	Refunds           int            `json:"refunds"`
	RefundsByRole     map[string]int `json:"refundsByRole"`
	RevenueCents      int64          `json:"revenueCents"`
	// SoldOutSeconds: when the last place was paid for (all places sold);
	// nil when the sale did not sell out.
	SoldOutSeconds *float64 `json:"timeToSellOutSeconds"`
	// QueueSoldOutSeconds: when queue-status first said sold out.
	QueueSoldOutSeconds *float64 `json:"queueSaidSoldOutSeconds"`
}

// Latency of fans' requests as the client saw them (ms).
type Latency struct {
	Hold         percentiles `json:"hold"`
	Admission    percentiles `json:"admission"`
	Join         percentiles `json:"join"`
	QueueMe      percentiles `json:"queueMe"`
	OrderStatus  percentiles `json:"orderStatus"`
	Payment      percentiles `json:"createPayment"`
	ClientLagWR  percentiles `json:"clientLagWaitingRoom"` // steps started late because every client worker was busy
	ClientLagBuy percentiles `json:"clientLagPurchase"`
}

// RequestCount is one kind of fan request.
type RequestCount struct {
	Requests int64            `json:"requests"` // at the edge for CDN-cached reads, else at the API
	Origin   int64            `json:"originRequests"`
	ByStatus map[string]int64 `json:"byStatus"`
	Bytes    int64            `json:"bytes"`
}

// Requests counts the fans' requests.
type Requests struct {
	ByKind map[string]RequestCount `json:"byKind"`
	// WaitingRoom: joins, place reads, queue-status polls and draw parts
	// (at the edge);
	// PurchasePath: admissions and holds. After: payments, cancels, order
	// reads.
	WaitingRoom, PurchasePath, AfterPurchase int64
	// NeverReachedPurchasePath is the waiting room's share of the requests
	// that waiting room and purchase path received together.
	NeverReachedPurchasePath float64 `json:"neverReachedPurchasePathShare"`
	// OriginShareOfWaitingRoom: of the waiting room's requests, the share
	// that reached API Gateway (the rest the CDN answered).
	OriginShareOfWaitingRoom        float64 `json:"originShareOfWaitingRoom"`
	FansAdmitted, FansNeverAdmitted int64
	HoldConflicts                   int64 `json:"holdConflicts"`
}

// FaultReport is what was injected.
type FaultReport struct {
	Webhooks          map[string]int64 `json:"webhooksBySandboxMode"`
	LatePayments      int64            `json:"latePayments"`
	Declines          int64            `json:"declinedCards"`
	DuplicateCaptures int64            `json:"duplicateCaptures"`
	CrashesFired      map[string]int64 `json:"crashesFired"`
	CrashPointCalls   map[string]int64 `json:"crashPointCalls"`
	IssuerOutage      string           `json:"issuerOutage"`
	IssuerCalls       int64            `json:"issuerCalls"`
	IssuerFailures    int64            `json:"issuerFailedCalls"`
}

// ReconcilerReport is the scheduled runs during the sale and the final
// reconciliation.
type ReconcilerReport struct {
	ScheduledRuns int64            `json:"scheduledRuns"`
	Final         []ReconcileRound `json:"finalRounds"`
	Quiet         bool             `json:"quiet"`
}

// DynamoReport counts DynamoDB requests from the opening to the end of the
// final reconciliation.
type DynamoReport struct {
	Requests          int64            `json:"requests"`
	ByOperation       map[string]int64 `json:"byOperation"`
	RequestsPerTicket float64          `json:"requestsPerTicketSold"`
	WRU               float64          `json:"estimatedWriteUnits"`
	RRU               float64          `json:"estimatedReadUnits"`
	// Queries by index and key prefix, with the emulator's time: minidyn
	// scans a whole index per Query, so these dominate its cost.
	Queries map[string]queryStat `json:"queries"`
	// Per ticket sold, and where the requests go: by caller (the function
	// whose invocation made them; final-reconcile is the simulation's own
	// check), by caller, operation and kind of item, most requests first.
	RRUPerTicket float64       `json:"readUnitsPerTicketSold"`
	WRUPerTicket float64       `json:"writeUnitsPerTicketSold"`
	ByCaller     []DynamoUsage `json:"byCaller"`
	ByRequest    []DynamoUsage `json:"byCallerOperationItems"`
}

// DynamoUsage is what one caller, or one kind of request of a caller,
// cost over the sale. Items names the kinds of items the requests named
// (the leading parts of their keys, EVENT/META, ORDER/ORDER) or, for a
// Query, its index and key prefix.
type DynamoUsage struct {
	Caller            string  `json:"caller"`
	Operation         string  `json:"operation,omitempty"`
	Items             string  `json:"items,omitempty"`
	Requests          int64   `json:"requests"`
	RRU               float64 `json:"estimatedReadUnits"`
	WRU               float64 `json:"estimatedWriteUnits"`
	RequestsPerTicket float64 `json:"requestsPerTicketSold"`
	RRUPerTicket      float64 `json:"readUnitsPerTicketSold"`
}

// usageBetween is the requests and units of each kind between two
// snapshots, as a breakdown by caller and by caller, operation and items.
func usageBetween(before, after map[usageKey]ddbUsage, tickets float64) (byCaller, byRequest []DynamoUsage) {
	callers := map[string]*DynamoUsage{}
	per := func(v float64) float64 {
		if tickets == 0 {
			return 0
		}
		return round3(v / tickets)
	}
	for k, a := range after {
		b := before[k]
		d := DynamoUsage{Caller: k.caller, Operation: k.op, Items: k.items, Requests: a.requests - b.requests,
			RRU: a.rru - b.rru, WRU: a.wru - b.wru}
		if d.Requests <= 0 {
			continue
		}
		byRequest = append(byRequest, d)
		c := callers[k.caller]
		if c == nil {
			c = &DynamoUsage{Caller: k.caller}
			callers[k.caller] = c
		}
		c.Requests += d.Requests
		c.RRU += d.RRU
		c.WRU += d.WRU
	}
	for _, c := range callers {
		byCaller = append(byCaller, *c)
	}
	for _, list := range [][]DynamoUsage{byCaller, byRequest} {
		for i := range list {
			u := &list[i]
			u.RequestsPerTicket, u.RRUPerTicket = per(float64(u.Requests)), per(u.RRU)
			u.RRU, u.WRU = math.Round(u.RRU*10)/10, math.Round(u.WRU*10)/10
		}
		sort.Slice(list, func(i, j int) bool {
			if list[i].Requests != list[j].Requests {
				return list[i].Requests > list[j].Requests
			}
			return list[i].Caller+list[i].Operation+list[i].Items < list[j].Caller+list[j].Operation+list[j].Items
		})
	}
	return byCaller, byRequest
}

// StepFunctionsReport counts the order workflow's executions.
type StepFunctionsReport struct {
	Executions          int64   `json:"executions"`
	StateTransitions    int64   `json:"stateTransitions"`
	TransitionsPerOrder float64 `json:"transitionsPerOrder"`
}

// LambdaReport counts function invocations.
type LambdaReport struct {
	Invocations       int64                    `json:"invocations"`
	PerOrder          float64                  `json:"invocationsPerOrder"`
	MoneyPathPerOrder float64                  `json:"moneyPathInvocationsPerOrder"`
	ByFunction        map[string]FunctionUsage `json:"byFunction"`
	GBSeconds         float64                  `json:"gbSeconds"`
}

// FunctionUsage is one function's invocations and estimated billed time.
type FunctionUsage struct {
	Invocations int64   `json:"invocations"`
	AvgMs       float64 `json:"avgMs"`
	MemoryMB    int     `json:"memoryMb"`
	GBSeconds   float64 `json:"gbSeconds"`
}

// LogsReport is what the functions logged.
type LogsReport struct {
	LogBytes    int64            `json:"logBytes"`
	LogLines    int64            `json:"logLines"`
	MetricBytes int64            `json:"emfBytes"`
	Warnings    map[string]int64 `json:"warningsAndErrors"`
}

// Phases are wall times in seconds.
type Phases struct {
	Setup, Sale, Settle, Reconcile, Verify float64
}

// ErrorReport lists answers a fan did not expect.
type ErrorReport struct {
	Count   int64    `json:"count"`
	Samples []string `json:"samples"`
}

type reportInput struct {
	began, fansDone, settled, reconciled time.Time
	before, after                        snapshot
	verified                             *verified
	reconciles                           []ReconcileRound
	quiet                                bool
	crash                                *crasher
	issuer                               *outage
	logs                                 *logMeter
	emf                                  *byteCounter
	ddb                                  *dynamoServer
	unfinished                           int64 // fans still busy when the sale's time ran out
}

// topRequestKinds is how many kinds of request the text report lists (the
// JSON has them all).
const topRequestKinds = 40

// moneyPath are the functions an order itself invokes.
var moneyPath = map[string]bool{"holds": true, "orders": true, "webhooks": true, "await-payment": true,
	"confirm-payment": true, "release-hold": true, "issue-tickets": true, "mark-issue-failed": true}

func secondsSince(t0 time.Time, t time.Time) *float64 {
	v := math.Round(t.Sub(t0).Seconds()*10) / 10
	return &v
}

func (s *sim) report(ctx context.Context, in reportInput) *Report {
	cfg := s.cfg
	v := in.verified
	inv := v.inv
	inv.ReconcilerQuiet = in.quiet
	if !in.quiet {
		inv.Failures = append(inv.Failures, "the final reconciliation never came back empty")
	}
	inv.Passed = len(inv.Failures) == 0
	r := &Report{Passed: inv.Passed, Invariants: inv,
		Machine: Machine{GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU()}}
	r.Config = ConfigReport{Seats: cfg.Seats, ReservedSeats: s.layout.reserved, GAPlaces: s.layout.ga, Fans: cfg.Fans, Seed: cfg.Seed,
		TimeScale: cfg.TimeScale, HoldSeconds: cfg.HoldSeconds, AdmitPerMinute: cfg.AdmitPerMinute, MaxPerAccount: cfg.MaxPerAccount,
		AdmissionTTLSeconds: cfg.AdmissionTTL.Seconds(), HealthHoldP99Seconds: cfg.HealthHoldP99.Seconds(), LeadSeconds: cfg.Lead.Seconds(), BurstSeconds: cfg.Burst.Seconds(),
		TrickleSeconds: cfg.Trickle.Seconds(), PresaleShare: cfg.PresaleShare, TrickleShare: cfg.TrickleShare, JoinRetries: cfg.JoinRetries,
		AbandonQueue: cfg.AbandonQueue, AbandonAdmitted: cfg.AbandonAdmitted, PickSeats: cfg.PickSeats, BestAvailable: cfg.BestAvailable,
		Cancel: cfg.Cancel, NoPay: cfg.NoPay, LatePay: cfg.LatePay, Decline: cfg.Decline, DuplicateCapture: cfg.DuplicateCapture,
		WebhookDrop: cfg.WebhookDrop, WebhookDuplicate: cfg.WebhookDuplicate, WebhookDelay: cfg.WebhookDelay, WebhookReorder: cfg.WebhookReorder,
		CrashRate: cfg.CrashRate, IssuerOutageAfter: cfg.IssuerOutageAfter, IssuerOutageForSeconds: cfg.IssuerOutageFor.Seconds(),
		Concurrency: cfg.Concurrency}

	// The sale.
	t0 := s.t0
	if o := s.openedAt.Load(); o != 0 {
		t0 = time.Unix(0, o)
	}
	sale := SaleReport{EventID: s.eventID, Capacity: v.capacity, ReservedSold: v.seatsSold, GASold: v.gaSold,
		PlacesSold: v.seatsSold + v.gaSold, TicketsIssued: v.validTickets, Orders: len(v.orders), OrdersByStatus: map[string]int{},
		PaymentsCaptured: v.captured, Refunds: v.refunded, RefundsByRole: v.refundRoles, PaidShownReleased: s.sawReleasedAfterPaying.Load()}
	var lastPaid time.Time
	for _, o := range v.orders {
		sale.OrdersByStatus[string(o.Status)]++
		if o.Status == orders.Issued {
			sale.RevenueCents += o.AmountCents
			if o.Late {
				sale.LateOrdersIssued++
			}
			if o.PaidAt.After(lastPaid) {
				lastPaid = o.PaidAt
			}
		}
	}
	if sale.PlacesSold == v.capacity && !lastPaid.IsZero() {
		sale.SoldOutSeconds = secondsSince(t0, lastPaid)
	}
	if so := s.soldOutSeen.Load(); so != 0 {
		sale.QueueSoldOutSeconds = secondsSince(t0, time.Unix(0, so))
	}
	r.Sale = sale

	// Latency and requests.
	lat := func(k kind) percentiles {
		st := &s.c.stats[k]
		st.mu.Lock()
		defer st.mu.Unlock()
		return percentilesOf(st.latencies)
	}
	r.Latency = Latency{Hold: lat(kHold), Admission: lat(kAdmission), Join: lat(kJoin), QueueMe: lat(kQueueMe),
		OrderStatus: lat(kOrder), Payment: lat(kPayment), ClientLagWR: s.wr.lagPercentiles(), ClientLagBuy: s.buy.lagPercentiles()}
	r.HoldBreakdown = s.holdTimes.breakdown()
	req := Requests{ByKind: map[string]RequestCount{}, FansAdmitted: s.admitted.Load(), HoldConflicts: s.conflicts.Load()}
	req.FansNeverAdmitted = int64(cfg.Fans) - req.FansAdmitted
	var edgeRequests, edgeBytes, apiRequests, wrOrigin int64
	for k := range nKinds {
		st := &s.c.stats[k]
		st.mu.Lock()
		rc := RequestCount{ByStatus: map[string]int64{}, Bytes: st.bytes}
		for code, n := range st.byStatus {
			name := fmt.Sprint(code)
			if code == 0 {
				name = "noAnswer"
			}
			rc.ByStatus[name] = n
			rc.Origin += n
		}
		st.mu.Unlock()
		rc.Requests = rc.Origin
		if k == kQueueStatus || k == kAvailability || k == kDrawPart {
			rc.Requests, rc.Bytes = s.c.cdn.edge[k].Load(), s.c.cdn.bytes[k].Load()
		}
		req.ByKind[kindNames[k]] = rc
		switch {
		case k.provider():
		case k.waitingRoom():
			req.WaitingRoom += rc.Requests
			wrOrigin += rc.Origin
		case k == kAdmission || k == kHold:
			req.PurchasePath += rc.Requests
		default:
			req.AfterPurchase += rc.Requests
		}
		if !k.provider() {
			edgeRequests += rc.Requests
			apiRequests += rc.Origin
			edgeBytes += rc.Bytes
		}
	}
	if req.WaitingRoom+req.PurchasePath > 0 {
		req.NeverReachedPurchasePath = round3(float64(req.WaitingRoom) / float64(req.WaitingRoom+req.PurchasePath))
	}
	if req.WaitingRoom > 0 {
		req.OriginShareOfWaitingRoom = round3(float64(wrOrigin) / float64(req.WaitingRoom))
	}
	r.Requests = req

	r.Fans = map[string]int64{}
	for o := range nOutcomes {
		if n := s.outcomes[o].Load(); n > 0 {
			r.Fans[outcomeNames[o]] = n
		}
	}
	if q, err := s.st.App.Waitroom.Report(ctx, s.eventID); err == nil {
		r.Queue = q
	}

	// Faults.
	fired, calls := in.crash.counts()
	outageDesc := "never started"
	if from, to, ok := in.issuer.window(); ok {
		outageDesc = fmt.Sprintf("from %.1f s to %.1f s after opening (after %d tickets)", from.Sub(t0).Seconds(), to.Sub(t0).Seconds(), in.issuer.after)
	}
	s.faults.mu.Lock()
	webhooks := map[string]int64{}
	for k, n := range s.faults.webhooks {
		webhooks[k] = n
	}
	s.faults.mu.Unlock()
	r.Faults = FaultReport{Webhooks: webhooks, LatePayments: s.faults.latePays.Load(), Declines: s.faults.declines.Load(),
		DuplicateCaptures: s.faults.duplicates.Load(), CrashesFired: fired, CrashPointCalls: calls,
		IssuerOutage: outageDesc,
		IssuerCalls:  in.issuer.calls.Load(), IssuerFailures: in.issuer.failed.Load()}

	// Counters over the sale: from the first join to the end of the final
	// reconciliation.
	inv0, inv1 := in.before.invocations, in.after.invocations
	r.Reconciler = ReconcilerReport{ScheduledRuns: inv1["reconciler"].Count - inv0["reconciler"].Count, Final: in.reconciles, Quiet: in.quiet}
	tickets := float64(v.validTickets)
	orderCount := float64(max(len(v.orders), 1))
	dr := DynamoReport{ByOperation: map[string]int64{}, WRU: math.Round(in.after.wru - in.before.wru), RRU: math.Round(in.after.rru - in.before.rru)}
	for op, n := range in.after.ops {
		if d := n - in.before.ops[op]; d > 0 {
			dr.ByOperation[op] = d
			dr.Requests += d
		}
	}
	if tickets > 0 {
		dr.RequestsPerTicket = round3(float64(dr.Requests) / tickets)
		dr.RRUPerTicket, dr.WRUPerTicket = round3(dr.RRU/tickets), round3(dr.WRU/tickets)
	}
	dr.Queries = in.ddb.units.Queries()
	dr.ByCaller, dr.ByRequest = usageBetween(in.before.usage, in.after.usage, tickets)
	r.DynamoDB = dr
	sf := StepFunctionsReport{Executions: in.after.sfn.ExecutionsStarted - in.before.sfn.ExecutionsStarted,
		StateTransitions: in.after.sfn.StateTransitions - in.before.sfn.StateTransitions}
	sf.TransitionsPerOrder = round3(float64(sf.StateTransitions) / orderCount)
	r.StepFunctions = sf

	memory := map[string]int{}
	for _, f := range topology.Default().Functions {
		memory[f.Name] = f.MemoryMB
	}
	lr := LambdaReport{ByFunction: map[string]FunctionUsage{}}
	var moneyCalls int64
	addFn := func(name string, d devstack.Invocation) {
		if d.Count <= 0 {
			return
		}
		u := lr.ByFunction[name]
		u.Invocations += d.Count
		u.MemoryMB = memory[name]
		// Lambda bills each invocation's duration rounded up to 1 ms.
		billed := d.Duration.Seconds() + float64(d.Count)*0.0005
		u.GBSeconds += billed * float64(u.MemoryMB) / 1024
		u.AvgMs = round3(u.GBSeconds / float64(u.MemoryMB) * 1024 / float64(u.Invocations) * 1000)
		lr.ByFunction[name] = u
		lr.Invocations += d.Count
		if moneyPath[name] {
			moneyCalls += d.Count
		}
	}
	for name, c := range inv1 {
		addFn(name, devstack.Invocation{Count: c.Count - inv0[name].Count, Duration: c.Duration - inv0[name].Duration})
	}
	var finalDur time.Duration
	for _, rr := range in.reconciles {
		finalDur += time.Duration(rr.Seconds * float64(time.Second))
	}
	addFn("reconciler", devstack.Invocation{Count: int64(len(in.reconciles)), Duration: finalDur})
	for _, u := range lr.ByFunction {
		lr.GBSeconds += u.GBSeconds
	}
	lr.GBSeconds = round3(lr.GBSeconds)
	lr.PerOrder = round3(float64(lr.Invocations) / orderCount)
	lr.MoneyPathPerOrder = round3(float64(moneyCalls) / orderCount)
	r.Lambda = lr

	r.Logs = LogsReport{LogBytes: in.logs.bytes.n.Load(), LogLines: in.logs.bytes.lines.Load(), MetricBytes: in.emf.n.Load(), Warnings: in.logs.tally()}

	// Cost. In AWS the inlet runs as one invocation a minute that ticks for
	// 55 s; locally it ticks on its own timer, so its cost is the sale's
	// duration at its memory size rather than the local ticks.
	window := in.reconciled.Sub(t0.Add(-cfg.Lead)).Seconds()
	gbs := lr.GBSeconds
	lambdaReqs := float64(lr.Invocations)
	if u, ok := lr.ByFunction["inlet"]; ok {
		gbs -= u.GBSeconds
		lambdaReqs -= float64(u.Invocations)
		gbs += window * float64(memory["inlet"]) / 1024
		lambdaReqs += math.Ceil(window / 60)
	}
	webhookCalls := float64(lr.ByFunction["webhooks"].Invocations)
	q := s.st.Queue("joins").Stats()
	sqs := float64(q.Sent) + 2*math.Ceil(float64(q.Received)/10)
	// Lambda writes START, END and REPORT lines (about 300 bytes) per invocation.
	logBytes := float64(r.Logs.LogBytes+r.Logs.MetricBytes) + 300*lambdaReqs
	r.Cost = estimate(usage{
		edgeRequests: float64(edgeRequests) + webhookCalls, edgeBytes: float64(edgeBytes),
		apiRequests: float64(apiRequests) + webhookCalls, lambdaRequests: lambdaReqs, lambdaGBs: gbs,
		wru: dr.WRU, rru: dr.RRU, transitions: float64(sf.StateTransitions), sqsRequests: sqs, logBytes: logBytes, tickets: tickets})

	r.Timeline = s.timeline
	setup := in.began
	r.Phases = Phases{Setup: round1(t0.Add(-cfg.Lead).Sub(setup).Seconds()), Sale: round1(in.fansDone.Sub(t0.Add(-cfg.Lead)).Seconds()),
		Settle: round1(in.settled.Sub(in.fansDone).Seconds()), Reconcile: round1(in.reconciled.Sub(in.settled).Seconds()),
		Verify: round1(time.Since(in.reconciled).Seconds())}
	s.errMu.Lock()
	r.Errors = ErrorReport{Count: s.errCount, Samples: append([]string{}, s.errSamples...)}
	s.errMu.Unlock()
	if r.Errors.Count > 0 {
		r.Invariants.Failures = append(r.Invariants.Failures, fmt.Sprintf("%d answers no fan expected, first: %s", r.Errors.Count, r.Errors.Samples[0]))
	}
	if in.unfinished > 0 {
		r.Fans["stillActiveWhenTimeRanOut"] = in.unfinished
		r.Invariants.Failures = append(r.Invariants.Failures, fmt.Sprintf("the sale did not finish in time: %d fans still active", in.unfinished))
	}
	r.Passed = len(r.Invariants.Failures) == 0
	r.Invariants.Passed = r.Passed
	return r
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// Text renders the report for a terminal.
func (r *Report) Text() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	verdict := "PASSED"
	if !r.Passed {
		verdict = "FAILED"
	}
	c := r.Config
	p("StarArena rush simulation — %s", verdict)
	p("  %d places (%d reserved, %d GA), %d fans, seed %d, time scale %g (a %d s hold lasts %.1f s), admit %d/min",
		c.Seats, c.ReservedSeats, c.GAPlaces, c.Fans, c.Seed, c.TimeScale, c.HoldSeconds, float64(c.HoldSeconds)*c.TimeScale, c.AdmitPerMinute)
	p("  %s %s/%s, %d CPUs; wall time %.1f s (setup %.1f, sale %.1f, settle %.1f, reconcile %.1f, verify %.1f)",
		r.Machine.GoVersion, r.Machine.OS, r.Machine.Arch, r.Machine.CPUs, r.WallSeconds, r.Phases.Setup, r.Phases.Sale, r.Phases.Settle, r.Phases.Reconcile, r.Phases.Verify)
	p("")
	i := r.Invariants
	p("Invariants")
	p("  oversold                          %d", i.Oversold)
	p("  fans charged without a ticket     %d", i.ChargedWithoutTicket)
	p("  double charges not refunded       %d", i.DoubleChargesNotRefunded)
	p("  charges other than order total    %d", i.ChargedNotOrderTotal)
	p("  tickets without a payment         %d", i.TicketsWithoutPayment)
	p("  orders not terminal               %d", i.OrdersNotTerminal)
	p("  accounts over the limit           %d", i.AccountsOverLimit)
	p("  seat items vs issued orders       %d SOLD without order, %d issued not SOLD; %d places still held",
		i.SoldSeatsNotIssued, i.IssuedSeatsNotSold, i.HeldSeatsLeft)
	p("  reconciler quiet at the end       %v", i.ReconcilerQuiet)
	for _, f := range i.Failures {
		p("  FAILURE: %s", f)
	}
	p("")
	s := r.Sale
	p("Sale")
	p("  places sold        %d of %d (%d seats, %d GA); tickets issued %d", s.PlacesSold, s.Capacity, s.ReservedSold, s.GASold, s.TicketsIssued)
	p("  orders             %d %v", s.Orders, sortedCounts(s.OrdersByStatus))
	p("  payments captured  %d; refunds %d %v; late payments issued %d; paid fans shown a released order %d times",
		s.PaymentsCaptured, s.Refunds, sortedCounts(s.RefundsByRole), s.LateOrdersIssued, s.PaidShownReleased)
	if s.SoldOutSeconds != nil {
		p("  time to sell out   %.1f s after opening (last place paid)", *s.SoldOutSeconds)
	} else {
		p("  time to sell out   not sold out")
	}
	if s.QueueSoldOutSeconds != nil {
		p("  queue said sold out %.1f s after opening", *s.QueueSoldOutSeconds)
	}
	p("")
	l := r.Latency
	p("Latency (ms, client side)      p50      p99      max    count")
	for _, x := range []struct {
		name string
		v    percentiles
	}{{"hold", l.Hold}, {"admission", l.Admission}, {"join", l.Join}, {"queue/me", l.QueueMe}, {"create payment", l.Payment},
		{"order status", l.OrderStatus}, {"client lag, waiting room", l.ClientLagWR}, {"client lag, purchase", l.ClientLagBuy}} {
		p("  %-26s %8.1f %8.1f %8.1f %8d", x.name, x.v.P50, x.v.P99, x.v.Max, x.v.Count)
	}
	p("")
	q := r.Requests
	p("Requests")
	p("  waiting room %d (joins %d, queue/me %d, queue-status %d at the edge / %d at the origin, draw parts %d / %d)", q.WaitingRoom,
		q.ByKind["join"].Requests, q.ByKind["queueMe"].Requests, q.ByKind["queueStatus"].Requests, q.ByKind["queueStatus"].Origin,
		q.ByKind["queueDrawPart"].Requests, q.ByKind["queueDrawPart"].Origin)
	p("  purchase path %d (admissions %d, holds %d; %d hold conflicts); after purchase %d", q.PurchasePath,
		q.ByKind["admission"].Requests, q.ByKind["hold"].Requests, q.HoldConflicts, q.AfterPurchase)
	p("  never reached the purchase path: %.1f%% of requests; %d of %d fans never admitted", 100*q.NeverReachedPurchasePath, q.FansNeverAdmitted, c.Fans)
	p("  fans: %v", sortedCounts64(r.Fans))
	p("  queue: joined %d, served %d, admitted %d, used %d, abandoned %d, draw entrants %d",
		r.Queue.Joined, r.Queue.Served, r.Queue.Admitted, r.Queue.Used, r.Queue.Abandoned, r.Queue.Entrants)
	p("")
	f := r.Faults
	if len(r.Timeline) > 0 {
		p("Timeline (s from opening: join requests, admitted, orders, fans with tickets, fans done)")
		var line strings.Builder
		for i, tp := range r.Timeline {
			if i%2 == 1 && i != len(r.Timeline)-1 {
				continue
			}
			fmt.Fprintf(&line, "  %5.0f: %d/%d/%d/%d/%d", tp.T, tp.Joins, tp.Admitted, tp.Orders, tp.Issued, tp.FansDone)
			if line.Len() > 90 {
				p("%s", line.String())
				line.Reset()
			}
		}
		if line.Len() > 0 {
			p("%s", line.String())
		}
		p("")
	}
	p("Faults injected")
	p("  webhooks %v; late payments %d; declined cards %d; duplicate captures %d", sortedCounts64(f.Webhooks), f.LatePayments, f.Declines, f.DuplicateCaptures)
	p("  crashes %v of %v calls; ticket issuer down %s: %d of %d calls failed", sortedCounts64(f.CrashesFired), sortedCounts64(f.CrashPointCalls),
		f.IssuerOutage, f.IssuerFailures, f.IssuerCalls)
	p("  reconciler: %d scheduled runs during the sale; final rounds:", r.Reconciler.ScheduledRuns)
	for n, rr := range r.Reconciler.Final {
		p("    #%d found %d, repaired %d, for a human %d %v (%.1f s)", n+1, rr.Found, rr.Repaired, rr.NeedsHuman, sortedCounts(rr.Kinds), rr.Seconds)
	}
	p("")
	p("Cost drivers")
	p("  DynamoDB           %d requests, %.2f per ticket sold; ~%.0f WRU, ~%.0f RRU", r.DynamoDB.Requests, r.DynamoDB.RequestsPerTicket, r.DynamoDB.WRU, r.DynamoDB.RRU)
	p("                     %v", sortedCounts64(r.DynamoDB.ByOperation))
	qk := make([]string, 0, len(r.DynamoDB.Queries))
	for k := range r.DynamoDB.Queries {
		qk = append(qk, k)
	}
	sort.Strings(qk)
	for _, k := range qk {
		q := r.DynamoDB.Queries[k]
		p("                     query %-14s %7d × (emulator %.1f s)", k, q.Count, q.Seconds)
	}
	p("  DynamoDB per ticket sold: %.2f requests, %.2f RRU, %.2f WRU; by caller (requests, RRU per ticket):", r.DynamoDB.RequestsPerTicket, r.DynamoDB.RRUPerTicket, r.DynamoDB.WRUPerTicket)
	for _, u := range r.DynamoDB.ByCaller {
		p("    %-22s %9d requests %7.2f /ticket  RRU %9.0f %7.2f /ticket  WRU %9.0f", u.Caller, u.Requests, u.RequestsPerTicket, u.RRU, u.RRUPerTicket, u.WRU)
	}
	p("  DynamoDB requests by caller, operation and items (the %d largest):", min(len(r.DynamoDB.ByRequest), topRequestKinds))
	for _, u := range r.DynamoDB.ByRequest[:min(len(r.DynamoDB.ByRequest), topRequestKinds)] {
		p("    %7.2f req %7.2f RRU /ticket  %-18s %-22s %s", u.RequestsPerTicket, u.RRUPerTicket, u.Caller, u.Operation, u.Items)
	}
	byRRU := slices.Clone(r.DynamoDB.ByRequest)
	sort.SliceStable(byRRU, func(i, j int) bool { return byRRU[i].RRU > byRRU[j].RRU })
	p("  DynamoDB read units by caller, operation and items (the %d largest):", min(len(byRRU), topRequestKinds/4))
	for _, u := range byRRU[:min(len(byRRU), topRequestKinds/4)] {
		p("    %7.2f RRU %7.2f req /ticket  %-18s %-22s %s", u.RRUPerTicket, u.RequestsPerTicket, u.Caller, u.Operation, u.Items)
	}
	p("  Step Functions     %d executions, %d state transitions, %.2f per order", r.StepFunctions.Executions, r.StepFunctions.StateTransitions, r.StepFunctions.TransitionsPerOrder)
	p("  Lambda             %d invocations, %.2f per order (%.2f on the order's own path), %.0f GB-s", r.Lambda.Invocations, r.Lambda.PerOrder, r.Lambda.MoneyPathPerOrder, r.Lambda.GBSeconds)
	names := make([]string, 0, len(r.Lambda.ByFunction))
	for n := range r.Lambda.ByFunction {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		u := r.Lambda.ByFunction[n]
		p("    %-18s %9d × %7.2f ms at %4d MB", n, u.Invocations, u.AvgMs, u.MemoryMB)
	}
	p("  Logs               %.1f MB of logs, %.1f MB of EMF metrics", float64(r.Logs.LogBytes)/1e6, float64(r.Logs.MetricBytes)/1e6)
	p("")
	p("Estimated AWS cost of the on-sale (%s list prices): $%.2f, $%.5f per ticket", r.Cost.Region, r.Cost.TotalUSD, r.Cost.PerTicketUSD)
	for _, line := range r.Cost.Lines {
		p("  %-16s %-70s %16.0f  $%8.4f", line.Service, line.Item, line.Quantity, line.USD)
	}
	if r.Errors.Count > 0 {
		p("")
		p("Unexpected answers: %d", r.Errors.Count)
		for _, e := range r.Errors.Samples {
			p("  %s", e)
		}
	}
	if len(r.Logs.Warnings) > 0 {
		p("")
		p("Warnings and errors the functions logged: %v", sortedCounts64(r.Logs.Warnings))
	}
	b.WriteString(r.extraText())
	return b.String()
}

func sortedCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func sortedCounts64(m map[string]int64) string {
	n := make(map[string]int, len(m))
	for k, v := range m {
		n[k] = int(v)
	}
	return sortedCounts(n)
}
