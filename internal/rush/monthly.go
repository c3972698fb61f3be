package rush

import "math"

// Platform is a month of the platform the monthly estimate prices: how many
// events go on sale, how big they are, and how long each is listed (and
// idle) before its sale.
type Platform struct {
	EventsPerMonth  int
	SeatsPerEvent   int
	TicketsPerEvent int
	// ListedMonths is how long an event is listed, not on sale, before its
	// sale; its schedules' idle reads are billed for that long.
	ListedMonths float64
	// OnSalePerTicketUSD is the on-sale's cost per ticket sold, from a rush
	// report (Cost.PerTicketUSD).
	OnSalePerTicketUSD float64
}

// MonthlyCost is a month's estimated AWS bill: fees that do not depend on
// the events, and the cost each event on sale adds.
type MonthlyCost struct {
	Platform    Platform   `json:"platform"`
	Fixed       []CostLine `json:"fixed"`
	PerEvent    []CostLine `json:"perEvent"`
	FixedUSD    float64    `json:"fixedUsd"`
	PerEventUSD float64    `json:"perEventUsd"`
	TotalUSD    float64    `json:"totalUsd"`
}

// Monthly fees and rates the estimate uses besides Prices (us-east-1 list
// prices; see the README's cost section).
const (
	wafACLMonthly       = 5.00 // per web ACL
	wafRuleMonthly      = 1.00 // per rule
	wafRules            = 6
	dashboardMonthly    = 3.00
	alarmMonthly        = 0.10
	alarms              = 26 // infra/stack observability: the alarms it declares
	customMetricMonthly = 0.30
	customMetrics       = 25
	secretMonthly       = 0.40
	secrets             = 4 // admission keys, ticket keys, origin proof, one payment provider
	minutesPerMonth     = 30 * 24 * 60

	// The inlet runs once a minute for 55 s at 512 MB, the reconciler's
	// scheduled run about a second at 1,024 MB (ADR 14), whatever the
	// number of events.
	inletGBsPerMinute      = 55 * 0.5
	reconcilerGBsPerMinute = 1 * 1.0

	// What one listed event that is not on sale costs the schedules each
	// minute, measured by scripts/idlecost (ADR 14): item reads (0.5 RRU
	// each, eventually consistent), nearly all of them the shared listings
	// of upcoming events. The reconciler visits only events with work, so
	// an idle one costs it no query and no report.
	idleItemReadsPerMinute = 34

	// Creating an event writes one item per seat (1 WRU each), and its
	// sale ends with the full sweep, which reads every seat (0.5 RRU).
	createWRUPerSeat = 1
	sweepRRUPerSeat  = 0.5
)

// Monthly estimates a month of p: the fixed fees, then per event its
// creation, its listed months of idle schedules, its on-sale (per ticket)
// and its final sweep.
func Monthly(p Platform) MonthlyCost {
	c := MonthlyCost{Platform: p}
	price := func(i int, qty float64) float64 { return qty / Prices[i].per * Prices[i].USD }
	line := func(lines *[]CostLine, total *float64, service, item string, qty, usd float64) {
		*lines = append(*lines, CostLine{Service: service, Item: item, Quantity: math.Round(qty*1000) / 1000, USD: usd})
		*total += usd
	}
	fixed := func(service, item string, qty, usd float64) { line(&c.Fixed, &c.FixedUSD, service, item, qty, usd) }
	perEvent := func(service, item string, qty, usd float64) {
		line(&c.PerEvent, &c.PerEventUSD, service, item, qty, usd)
	}

	fixed("WAF", "web ACL and rules", 1+wafRules, wafACLMonthly+wafRules*wafRuleMonthly)
	fixed("CloudWatch", "dashboard, alarms, custom metrics", 1+alarms+customMetrics,
		dashboardMonthly+alarms*alarmMonthly+customMetrics*customMetricMonthly)
	fixed("Secrets Manager", "secrets", secrets, secrets*secretMonthly)
	gbs := (inletGBsPerMinute + reconcilerGBsPerMinute) * minutesPerMonth
	fixed("Lambda", "schedules' duration (inlet, reconciler)", gbs, price(5, gbs))
	fixed("Lambda", "schedules' requests", 2*minutesPerMonth, price(4, 2*minutesPerMonth))

	idleMinutes := p.ListedMonths * minutesPerMonth
	idleRRU := idleItemReadsPerMinute * 0.5 * idleMinutes
	perEvent("DynamoDB", "create: one write per seat", float64(p.SeatsPerEvent)*createWRUPerSeat, price(6, float64(p.SeatsPerEvent)*createWRUPerSeat))
	perEvent("DynamoDB", "listed, not on sale: the schedules' reads", idleRRU, price(7, idleRRU))
	perEvent("all", "the on-sale, per ticket sold", float64(p.TicketsPerEvent), float64(p.TicketsPerEvent)*p.OnSalePerTicketUSD)
	perEvent("DynamoDB", "the final sweep: every seat read", float64(p.SeatsPerEvent)*sweepRRUPerSeat, price(7, float64(p.SeatsPerEvent)*sweepRRUPerSeat))

	c.TotalUSD = c.FixedUSD + float64(p.EventsPerMonth)*c.PerEventUSD
	return c
}
