package rush

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/stararena/stararena/internal/cancellation"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/orders"
)

// CancellationReport is what the cancellation run found: the organizer
// cancelled the event after the sale, the reconciler's saga (ADR 20)
// refunded and revoked, and the run checked the outcome from the
// provider's records, the gate's answers and the stored places.
type CancellationReport struct {
	Passed   bool     `json:"passed"`
	Failures []string `json:"failures"`
	// SagaSeconds is from the cancel request to the saga's DONE.
	SagaSeconds float64               `json:"sagaSeconds"`
	Progress    cancellation.Progress `json:"progress"`
	// From the provider's records: every captured payment of the sale
	// and the refunds it made for each.
	PaymentsCaptured      int `json:"paymentsCaptured"`
	PaymentsRefundedOnce  int `json:"paymentsRefundedOnce"`
	PaymentsNotRefunded   int `json:"paymentsNotRefunded"`
	PaymentsRefundedTwice int `json:"paymentsRefundedMoreThanOnce"`
	// RefundsBySaga is the refunds made after the cancel request: the
	// ones the saga paced.
	RefundsBySaga int `json:"refundsBySaga"`
	// RefundsPerSecondLimit is CANCEL_REFUNDS_PER_SECOND; PeakRefunds is
	// the most refunds the provider made in any one second (a sliding
	// window over its records), MeanRefundsPerSecond from the first
	// saga refund to the last.
	RefundsPerSecondLimit float64 `json:"refundsPerSecondLimit"`
	PeakRefunds           int     `json:"peakRefundsInOneSecond"`
	MeanRefundsPerSecond  float64 `json:"meanRefundsPerSecond"`
	// Tickets valid when the event was cancelled, each scanned at the gate
	// afterwards (POST /v1/checkin) and counted by answer.
	TicketsScanned int            `json:"ticketsScanned"`
	CheckIn        map[string]int `json:"checkInAnswers"`
	ValidTickets   int            `json:"validTicketsLeft"`
	// The stored places after the saga: none held, none sold.
	PlacesHeld     int            `json:"placesHeld"`
	PlacesSold     int            `json:"placesSold"`
	OrdersByStatus map[string]int `json:"ordersByStatus"`
}

// cancelRun cancels the event as its organizer and waits for the saga to
// finish, then checks its outcome. The scheduled reconciler of the stack
// drives the saga (every Config.ReconcileEvery).
func (s *sim) cancelRun(ctx context.Context, org string, prog *progress) (*CancellationReport, error) {
	a := s.st.App
	rep := &CancellationReport{CheckIn: map[string]int{}, OrdersByStatus: map[string]int{}, RefundsPerSecondLimit: a.Config.CancelRefundsPerSecond}
	fail := func(format string, args ...any) { rep.Failures = append(rep.Failures, fmt.Sprintf(format, args...)) }

	// What fans hold before the cancellation: every issued order's valid
	// tickets, with the codes they would show at the gate.
	idx, err := a.Stores.Reports.EventOrders(ctx, s.eventID)
	if err != nil {
		return nil, err
	}
	var codes []string
	for _, o := range idx {
		ts, err := a.Tickets.ForOrder(ctx, o.ID)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			if t.Code != "" {
				codes = append(codes, t.Code)
			}
		}
	}

	asked := time.Now()
	var p cancellation.Progress
	if err := s.admin(ctx, org, http.MethodPost, "/admin/v1/events/"+s.eventID+"/cancel",
		map[string]any{"reason": "the show is cancelled (rush simulation)"}, http.StatusAccepted, &p); err != nil {
		return nil, fmt.Errorf("cancel the event: %w", err)
	}
	// The progress bar reads the last progress from its own goroutine.
	var mu sync.Mutex
	shown := p
	prog.setPhase("cancellation saga", func() (int64, int64, string) {
		mu.Lock()
		defer mu.Unlock()
		return int64(shown.Refunded), int64(max(shown.Orders, 1)),
			fmt.Sprintf("%s: refunded %d of %d, %d passes", shown.State, shown.Refunded, shown.Orders, shown.Passes)
	})
	for p.State != cancellation.Done {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the cancellation saga did not finish: %s, refunded %d of %d after %d passes: %w", p.State, p.Refunded, p.Orders, p.Passes, ctx.Err())
		case <-time.After(time.Second):
		}
		var cur cancellation.Progress
		if err := s.admin(ctx, org, http.MethodGet, "/admin/v1/events/"+s.eventID+"/cancellation", nil, http.StatusOK, &cur); err != nil {
			return nil, err
		}
		p = cur
		mu.Lock()
		shown = p
		mu.Unlock()
	}
	rep.SagaSeconds = round1(time.Since(asked).Seconds())
	rep.Progress = p
	// Refunds start webhooks (charge.refunded) and revocations: let them land.
	if err := s.settle(ctx); err != nil {
		return nil, err
	}

	// The provider's records: each captured payment refunded exactly once.
	prog.setPhase("verifying the cancellation", nil)
	ps, err := s.st.Sandbox.PaymentsSince(ctx, time.Time{})
	if err != nil {
		return nil, err
	}
	refunds := s.st.Sandbox.Refunds()
	perPayment := map[string]int{}
	var sagaTimes []time.Time
	for _, r := range refunds {
		perPayment[r.PaymentID]++
		if !r.At.Before(asked) {
			sagaTimes = append(sagaTimes, r.At)
		}
	}
	for _, pay := range ps {
		if !pay.Paid() {
			continue
		}
		rep.PaymentsCaptured++
		switch n := perPayment[pay.ID]; {
		case n == 0:
			rep.PaymentsNotRefunded++
		case n == 1:
			rep.PaymentsRefundedOnce++
		default:
			rep.PaymentsRefundedTwice++
		}
	}
	if rep.PaymentsNotRefunded > 0 || rep.PaymentsRefundedTwice > 0 {
		fail("of %d captured payments, %d not refunded and %d refunded more than once (the provider's records)",
			rep.PaymentsCaptured, rep.PaymentsNotRefunded, rep.PaymentsRefundedTwice)
	}
	if rep.PaymentsCaptured == 0 {
		fail("no payment was captured: the cancellation refunded nothing")
	}
	rep.RefundsBySaga = len(sagaTimes)
	rep.PeakRefunds, rep.MeanRefundsPerSecond = refundRate(sagaTimes)
	// The saga starts refunds at most RefundsPerSecond apart by 1/rate, so
	// a one-second window holds at most rate of them, plus the one at its
	// closing edge.
	if limit := int(rep.RefundsPerSecondLimit) + 1; rep.PeakRefunds > limit {
		fail("%d refunds within one second, over CANCEL_REFUNDS_PER_SECOND %.0f", rep.PeakRefunds, rep.RefundsPerSecondLimit)
	}

	// The gate: every ticket that was valid answers REVOKED.
	rep.TicketsScanned = len(codes)
	if err := s.scanAll(ctx, org, codes, rep.CheckIn); err != nil {
		return nil, err
	}
	rep.ValidTickets = len(codes) - rep.CheckIn["REVOKED"]
	if rep.ValidTickets != 0 {
		fail("%d of %d tickets did not check in as REVOKED: %v", rep.ValidTickets, len(codes), sortedCounts(rep.CheckIn))
	}

	// The places: none held, none sold; every order ended.
	ev, err := a.Catalog.Get(ctx, s.eventID)
	if err != nil {
		return nil, err
	}
	holders, err := a.Stores.Inventory.SeatHolders(ctx, s.eventID, s.layout.seatIDs())
	if err != nil {
		return nil, err
	}
	for _, h := range holders {
		switch h.State {
		case catalog.SeatHeld:
			rep.PlacesHeld++
		case catalog.SeatSold:
			rep.PlacesSold++
		}
	}
	for i := range ev.Sections {
		sec := &ev.Sections[i]
		if sec.Kind != catalog.GA {
			continue
		}
		_, held, sold, err := a.Stores.Catalog.GACounts(ctx, s.eventID, sec.ID, len(catalog.GAShardCapacities(sec.Capacity)))
		if err != nil {
			return nil, err
		}
		rep.PlacesHeld += held
		rep.PlacesSold += sold
	}
	if rep.PlacesHeld != 0 || rep.PlacesSold != 0 {
		fail("after the cancellation %d places are held and %d sold", rep.PlacesHeld, rep.PlacesSold)
	}
	ids := make([]string, 0, len(idx))
	for _, o := range idx {
		ids = append(ids, o.ID)
	}
	for start := 0; start < len(ids); start += 1000 {
		got, err := a.Stores.Reconcile.OrdersByID(ctx, ids[start:min(start+1000, len(ids))])
		if err != nil {
			return nil, err
		}
		for _, o := range got {
			rep.OrdersByStatus[string(o.Status)]++
			if o.Status == orders.Issued || o.Status == orders.Paid || o.Status == orders.PendingPayment ||
				o.Status == orders.IssueFailed || o.Status == orders.RefundPending {
				fail("order %s is %s after the cancellation", o.ID, o.Status)
			}
		}
	}
	rep.Passed = len(rep.Failures) == 0
	return rep, nil
}

// refundRate is the most refunds in any one-second window and the mean
// rate from the first to the last.
func refundRate(at []time.Time) (peak int, mean float64) {
	if len(at) == 0 {
		return 0, 0
	}
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	j := 0
	for i := range at {
		for at[i].Sub(at[j]) > time.Second {
			j++
		}
		peak = max(peak, i-j+1)
	}
	if span := at[len(at)-1].Sub(at[0]).Seconds(); span > 0 {
		mean = float64(len(at)-1) / span
	}
	return peak, mean
}

// scanAll scans every code at the gate as the event's organizer, a few at
// a time, and counts the answers.
func (s *sim) scanAll(ctx context.Context, org string, codes []string, answers map[string]int) error {
	var mu sync.Mutex
	var wg sync.WaitGroup
	work := make(chan int)
	errs := make(chan error, 1)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				var res struct {
					Result string `json:"result"`
				}
				err := s.admin(ctx, org, http.MethodPost, "/v1/checkin", map[string]any{"eventId": s.eventID, "code": codes[i],
					"nonce": fmt.Sprintf("rush-cancel-%d", i), "gate": "rush"}, http.StatusOK, &res)
				if err != nil {
					select {
					case errs <- fmt.Errorf("check-in: %w", err):
					default:
					}
					continue
				}
				mu.Lock()
				answers[res.Result]++
				mu.Unlock()
			}
		}()
	}
	for i := range codes {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	return <-errs
}

func (c *CancellationReport) text() string {
	if c == nil {
		return ""
	}
	var b []byte
	p := func(format string, args ...any) { b = fmt.Appendf(b, format+"\n", args...) }
	p("")
	p("Cancellation after the sale (POST /admin/v1/events/{id}/cancel, the reconciler's saga)")
	p("  saga               %s after %.1f s, %d passes: refunded %d of %d paid orders, %d holds released, %d notices, %d retries",
		c.Progress.State, c.SagaSeconds, c.Progress.Passes, c.Progress.Refunded, c.Progress.Orders, c.Progress.HoldsReleased, c.Progress.Notified, c.Progress.Retries)
	p("  provider's records %d captured payments: %d refunded once, %d not refunded, %d more than once",
		c.PaymentsCaptured, c.PaymentsRefundedOnce, c.PaymentsNotRefunded, c.PaymentsRefundedTwice)
	p("  refund rate        %d refunds by the saga; peak %d in one second, mean %.1f/s (limit %.0f/s)",
		c.RefundsBySaga, c.PeakRefunds, c.MeanRefundsPerSecond, c.RefundsPerSecondLimit)
	p("  gate               %d tickets scanned: %v; valid left %d", c.TicketsScanned, sortedCounts(c.CheckIn), c.ValidTickets)
	p("  places             %d held, %d sold; orders %v", c.PlacesHeld, c.PlacesSold, sortedCounts(c.OrdersByStatus))
	for _, f := range c.Failures {
		p("  FAILURE: %s", f)
	}
	return string(b)
}
