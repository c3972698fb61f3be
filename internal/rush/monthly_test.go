package rush

import (
	"math"
	"testing"
)

// A month costs its fixed fees plus, per event on sale, the same per-event
// cost; with no event it costs the fees alone, and the per-event cost is
// its creation, listing, on-sale and sweep at list prices.
func TestMonthlyIsFixedFeesPlusAPerEventCost(t *testing.T) {
	base := Platform{SeatsPerEvent: 20000, TicketsPerEvent: 20000, ListedMonths: 1, OnSalePerTicketUSD: 0.0003}
	none := Monthly(base)
	if none.TotalUSD != none.FixedUSD || none.FixedUSD <= 0 {
		t.Fatalf("no events: total %v, fixed %v; want the fixed fees alone", none.TotalUSD, none.FixedUSD)
	}
	for _, n := range []int{1, 10, 1000} {
		p := base
		p.EventsPerMonth = n
		c := Monthly(p)
		if want := c.FixedUSD + float64(n)*c.PerEventUSD; math.Abs(c.TotalUSD-want) > 1e-9 || c.FixedUSD != none.FixedUSD {
			t.Errorf("%d events: total %v, want fixed %v + %d × %v", n, c.TotalUSD, c.FixedUSD, n, c.PerEventUSD)
		}
	}
	// The per-event cost by hand: 20,000 WRU to create, a month of idle
	// schedules (34 half-unit reads a minute), 20,000 tickets at $0.0003,
	// 10,000 RRU to sweep.
	month := 30 * 24 * 60.0
	want := 20000*0.625e-6 + 34*0.5*month*0.125e-6 + 20000*0.0003 + 10000*0.125e-6
	if math.Abs(none.PerEventUSD-want) > 1e-9 {
		t.Errorf("per event %v, want %v", none.PerEventUSD, want)
	}
	// The schedules' fixed Lambda cost: 28.5 GB-s a minute for a month.
	var lambda float64
	for _, l := range none.Fixed {
		if l.Item == "schedules' duration (inlet, reconciler)" {
			lambda = l.USD
		}
	}
	if want := 28.5 * month * 0.0000133334; math.Abs(lambda-want) > 1e-9 {
		t.Errorf("schedules' duration %v, want %v", lambda, want)
	}
}
