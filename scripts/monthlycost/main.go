// Command monthlycost prints the estimated AWS bill of a month of the
// platform with N events on sale (internal/rush.Monthly) as the README's
// table: the fixed fees, the cost each event adds, and totals for several
// N. The on-sale's cost per ticket comes from a rush report (-rush) or
// -per-ticket.
//
//	go run ./scripts/monthlycost -events 1,10,100,1000 -rush .cache/rush.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/stararena/stararena/internal/rush"
)

func main() {
	events := flag.String("events", "1,10,100,1000", "events on sale per month, comma-separated")
	seats := flag.Int("seats", 20000, "seats (places) per event")
	tickets := flag.Int("tickets", 20000, "tickets sold per event")
	listed := flag.Float64("listed-months", 1, "months an event is listed before its sale")
	perTicket := flag.Float64("per-ticket", 0.00047, "the on-sale's cost per ticket in USD (docs/performance.md's rush run)")
	report := flag.String("rush", "", "take the per-ticket cost from this rush report (go run ./scripts/rush -out ...)")
	flag.Parse()
	if *report != "" {
		b, err := os.ReadFile(*report)
		if err != nil {
			fail(err)
		}
		var r struct{ Cost rush.Cost }
		if err := json.Unmarshal(b, &r); err != nil {
			fail(fmt.Errorf("%s: %w", *report, err))
		}
		*perTicket = r.Cost.PerTicketUSD
	}
	p := rush.Platform{SeatsPerEvent: *seats, TicketsPerEvent: *tickets, ListedMonths: *listed, OnSalePerTicketUSD: *perTicket}
	c := rush.Monthly(p)
	fmt.Printf("Events of %d seats, %d tickets sold each, listed %g month(s) before the sale; on-sale $%.5f per ticket.\n\n",
		*seats, *tickets, *listed, *perTicket)
	fmt.Println("| fixed per month | quantity | cost |\n|---|---:|---:|")
	for _, l := range c.Fixed {
		fmt.Printf("| %s: %s | %s | $%.2f |\n", l.Service, l.Item, num(l.Quantity), l.USD)
	}
	fmt.Printf("| **fixed** | | **$%.2f** |\n\n", c.FixedUSD)
	fmt.Println("| per event on sale | quantity | cost |\n|---|---:|---:|")
	for _, l := range c.PerEvent {
		fmt.Printf("| %s: %s | %s | $%.4f |\n", l.Service, l.Item, num(l.Quantity), l.USD)
	}
	fmt.Printf("| **per event** | | **$%.2f** |\n\n", c.PerEventUSD)
	fmt.Println("| events on sale per month | month's total | per event, fixed fees shared | per ticket |\n|---:|---:|---:|---:|")
	for _, f := range strings.Split(*events, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fail(fmt.Errorf("-events: %q is not a positive count", f))
		}
		p.EventsPerMonth = n
		m := rush.Monthly(p)
		fmt.Printf("| %s | $%.2f | $%.2f | $%.5f |\n", num(float64(n)), m.TotalUSD, m.TotalUSD/float64(n), m.TotalUSD/float64(n*max(*tickets, 1)))
	}
}

func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 0, 64)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "monthlycost:", err)
	os.Exit(1)
}
