package rush

import (
	"math"
	"sort"
)

// Price is one list price, AWS us-east-1, on-demand, without free tiers
// or savings plans, as published by AWS in 2025.
type Price struct {
	Service string  `json:"service"`
	Item    string  `json:"item"`
	Unit    string  `json:"unit"`
	USD     float64 `json:"usd"`
	per     float64 // quantity one USD price covers
}

// Prices are the list prices the cost estimate uses (docs/performance.md
// lists them too).
var Prices = []Price{
	{Service: "CloudFront", Item: "HTTPS requests (United States, Europe)", Unit: "per 10,000", USD: 0.0100, per: 1e4},
	{Service: "CloudFront", Item: "data transfer out to the internet (first 10 TB, United States, Europe)", Unit: "per GB", USD: 0.085, per: 1 << 30},
	{Service: "WAF", Item: "requests inspected", Unit: "per million", USD: 0.60, per: 1e6},
	{Service: "API Gateway", Item: "HTTP API requests (first 300 million)", Unit: "per million", USD: 1.00, per: 1e6},
	{Service: "Lambda", Item: "requests", Unit: "per million", USD: 0.20, per: 1e6},
	{Service: "Lambda", Item: "duration, arm64", Unit: "per GB-second", USD: 0.0000133334, per: 1},
	{Service: "DynamoDB", Item: "on-demand write request units", Unit: "per million", USD: 0.625, per: 1e6},
	{Service: "DynamoDB", Item: "on-demand read request units", Unit: "per million", USD: 0.125, per: 1e6},
	{Service: "Step Functions", Item: "Standard workflow state transitions", Unit: "per 1,000", USD: 0.025, per: 1e3},
	{Service: "SQS", Item: "standard queue requests (64 KB chunks)", Unit: "per million", USD: 0.40, per: 1e6},
	{Service: "CloudWatch Logs", Item: "ingestion (standard)", Unit: "per GB", USD: 0.50, per: 1 << 30},
}

// CostLine is one priced quantity.
type CostLine struct {
	Service  string  `json:"service"`
	Item     string  `json:"item"`
	Quantity float64 `json:"quantity"`
	USD      float64 `json:"usd"`
}

// Cost is the on-sale's estimated AWS bill.
type Cost struct {
	Region       string     `json:"region"`
	Lines        []CostLine `json:"lines"`
	TotalUSD     float64    `json:"totalUsd"`
	PerTicketUSD float64    `json:"perTicketUsd"`
	Prices       []Price    `json:"prices"`
	Excluded     []string   `json:"excluded"`
}

// usage is what the estimate prices.
type usage struct {
	edgeRequests, edgeBytes   float64
	apiRequests               float64
	lambdaRequests, lambdaGBs float64
	wru, rru                  float64
	transitions               float64
	sqsRequests               float64
	logBytes                  float64
	tickets                   float64
}

func estimate(u usage) Cost {
	c := Cost{Region: "us-east-1", Prices: Prices, Excluded: []string{
		"free tiers and monthly fixed fees (WAF web ACL and rules, CloudWatch dashboards and alarms, custom metrics)",
		"Cognito: fans signed in before the sale (monthly active users are not an on-sale cost)",
		"DynamoDB writes to global secondary indexes and storage",
		"the payment provider's fees",
	}}
	add := func(i int, qty float64) {
		p := Prices[i]
		usd := qty / p.per * p.USD
		c.Lines = append(c.Lines, CostLine{Service: p.Service, Item: p.Item, Quantity: math.Round(qty*1000) / 1000, USD: usd})
		c.TotalUSD += usd
	}
	add(0, u.edgeRequests)
	add(1, u.edgeBytes)
	add(2, u.edgeRequests)
	add(3, u.apiRequests)
	add(4, u.lambdaRequests)
	add(5, u.lambdaGBs)
	add(6, u.wru)
	add(7, u.rru)
	add(8, u.transitions)
	add(9, u.sqsRequests)
	add(10, u.logBytes)
	sort.SliceStable(c.Lines, func(i, j int) bool { return c.Lines[i].USD > c.Lines[j].USD })
	if u.tickets > 0 {
		c.PerTicketUSD = c.TotalUSD / u.tickets
	}
	return c
}
