package app

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/health"
	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/ratelimit"
	"github.com/stararena/stararena/internal/topology"
	"github.com/stararena/stararena/internal/waitlist"
	"github.com/stararena/stararena/internal/waitroom"
)

// Per-account limits. Joins are limited in front of the application (the
// WAF rule on the join route, keyed by the Authorization header; the local
// stack applies the same numbers), admissions, holds and payments here,
// all with ratelimit.Limiter.
const (
	AdmissionLimit       = limits.AdmissionsPerMinute
	AdmissionLimitWindow = limits.RateWindow
)

// limiter is a per-account limiter counting in the table. Holds fail
// closed (ratelimit.Limiter.FailClosed says why).
func (a *App) limiter(name string, limit int, failClosed bool) *ratelimit.Limiter {
	return &ratelimit.Limiter{Name: name, Limit: limit, Window: limits.RateWindow, Store: a.Stores.RateLimit, Clock: a.Clock,
		FailClosed: failClosed, Log: a.Log, Metrics: a.Metrics}
}

// newWaitroom builds the waiting room (waitroomSvc) with the purchase
// path's health check.
func (a *App) newWaitroom() *waitroom.Service {
	monitor := health.NewMonitor(a.Stores.Health, health.Thresholds{HoldP99: a.Config.HealthHoldP99,
		ErrorRate: a.Config.HealthErrorRate, ThrottleRate: a.Config.HealthThrottleRate}, health.MonitorOptions{Clock: a.Clock})
	return waitroom.NewService(a.Stores.Waitroom, a.catalogSvc(), a.tokensSvc(), waitroom.Options{
		Clock: a.Clock, Logger: a.Log,
		InventoryFactor: a.Config.InletInventoryFactor,
		TickEvery:       a.Config.InletEvery,
		Remaining:       remaining(a.catalogSvc()),
		Metrics:         a.Metrics,
		ReadCacheTTL:    a.opts.FanReadCache,
		Health: func(ctx context.Context, eventID string) (bool, string, error) {
			st, err := monitor.Check(ctx, eventID)
			return st.Healthy, st.Reason, err
		},
	})
}

// remaining sums an event's availability: what the inlet may still admit
// fans for.
func remaining(cat *catalog.Service) waitroom.Remaining {
	return func(ctx context.Context, eventID string) (int, int, error) {
		av, err := cat.Availability(ctx, eventID)
		if err != nil {
			return 0, 0, err
		}
		available, held := 0, 0
		for _, s := range av.Sections {
			available += s.Available
			held += s.Held
		}
		return available, held, nil
	}
}

// markAdmissionUsed tells the waiting list, when the admission was an
// offer, that a hold used its admission. A waiting-room place's
// admission is marked by the hold's own transaction (holdPlaces).
func (a *App) markAdmissionUsed(ctx context.Context, o orders.Order) error {
	if o.AdmissionID == "" || !strings.HasPrefix(o.AdmissionID, waitlist.OfferIDPrefix) {
		return nil
	}
	return a.waitlistSvc().MarkUsed(ctx, o.EventID, o.Account, o.AdmissionID)
}

// holdPlaces is the waiting room's part in holds (inventory.Places): in
// an event whose sale goes through the waiting room, an admission that is
// not a waiting list's offer was claimed on the fan's place (the gate's
// other tokens there are a presale's, which the place's condition
// refuses, and the hold goes on without it).
type holdPlaces struct{ a *App }

func (p holdPlaces) FromPlace(ev *catalog.Event, admissionID string) bool {
	return ev.Queue.Mode == catalog.QueueOn && !strings.HasPrefix(admissionID, waitlist.OfferIDPrefix) && p.a.waitroomSvc() != nil
}

func (p holdPlaces) Used(ctx context.Context, eventID string) {
	if wr := p.a.waitroomSvc(); wr != nil {
		wr.CountUsed(ctx, eventID)
	}
}

// Assigner is the "assigner" function: an SQS batch of joins in, the ids
// of the joins to deliver again out (ReportBatchItemFailures).
func (a *App) Assigner() func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	wr := a.waitroomSvc()
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		recs := make([]waitroom.Record, 0, len(ev.Records))
		skipped := 0
		for _, r := range ev.Records {
			if !a.joinViaCDN(r) {
				// Sent to the API's own address, around the WAF's join
				// limit: never placed, never retried.
				skipped++
				a.Log.WarnContext(ctx, "join dropped: it skipped the CDN", "messageId", r.MessageId)
				continue
			}
			recs = append(recs, waitroom.Record{ID: r.MessageId, Body: r.Body})
		}
		res := wr.Assign(ctx, recs)
		res.Dropped += skipped
		a.Log.InfoContext(ctx, "joins assigned", "messages", len(ev.Records), "placed", res.Placed, "repeats", res.Repeats,
			"dropped", res.Dropped, "failed", len(res.Failed), "holes", res.Holes, "counterWrites", res.Counters)
		var out events.SQSEventResponse
		for _, id := range res.Failed {
			out.BatchItemFailures = append(out.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
		}
		return out, nil
	}
}

// InletInput is the inlet's invocation. EventBridge fires at most once a
// minute, so in AWS one invocation ticks every InletEvery for RunFor (just
// under the minute); the local stack ticks once per call.
type InletInput struct {
	RunFor string `json:"runFor,omitempty"` // Go duration, e.g. "55s"
}

// Inlet is the "inlet" function.
func (a *App) Inlet() func(ctx context.Context, raw json.RawMessage) (any, error) {
	wr := a.waitroomSvc()
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var in InletInput
		_ = json.Unmarshal(raw, &in) // an EventBridge event or {}: tick once
		runFor, _ := time.ParseDuration(in.RunFor)
		end := time.Now().Add(runFor)
		every := a.Config.InletEvery
		if every <= 0 {
			every = 2 * time.Second
		}
		ticks := 0
		for {
			if _, err := wr.TickAll(ctx); err != nil {
				a.Log.ErrorContext(ctx, "inlet tick failed", "err", err)
			}
			ticks++
			if time.Now().Add(every).After(end) {
				return map[string]any{"ticks": ticks}, nil
			}
			select {
			case <-ctx.Done():
				return map[string]any{"ticks": ticks}, nil
			case <-time.After(every):
			}
		}
	}
}

// joinViaCDN reports whether a join message carries the origin proof its
// request arrived with (topology.JoinAttributes); always true without
// configured proofs.
func (a *App) joinViaCDN(r events.SQSMessage) bool {
	if len(a.Config.OriginProofs) == 0 {
		return true
	}
	attr := r.MessageAttributes[topology.JoinOriginAttribute]
	return attr.StringValue != nil && httpapi.OriginProven(*attr.StringValue, a.Config.OriginProofs)
}
