package rush

import (
	"strconv"
	"time"

	"github.com/stararena/stararena/internal/pricing"
)

// layout is the simulated venue: four reserved sections of rows and a
// general-admission floor.
type layout struct {
	sections            []sectionLayout
	reserved, ga, total int
}

type sectionLayout struct {
	id, name string
	price    int64
	ga       bool
	capacity int
	rows     []int // seats per row
}

// makeLayout splits seats into a GA floor of gaShare and four reserved
// sections (fewer for tiny venues) of rows of 100 seats (50 when a
// section has under 2,000).
func makeLayout(seats int, gaShare float64) layout {
	ga := int(float64(seats)*gaShare + 0.5)
	reserved := seats - ga
	l := layout{reserved: reserved, ga: ga, total: seats}
	nsec := 4
	for nsec > 1 && reserved/nsec < 20 {
		nsec--
	}
	prices := []int64{14900, 11900, 9900, 7900}
	if reserved > 0 {
		for i := range nsec {
			n := reserved / nsec
			if i < reserved%nsec {
				n++
			}
			perRow := 100
			if n < 2000 {
				perRow = 50
			}
			var rows []int
			for left := n; left > 0; left -= perRow {
				rows = append(rows, min(perRow, left))
			}
			id := string(rune('A' + i))
			l.sections = append(l.sections, sectionLayout{id: id, name: "Section " + id, price: prices[i], capacity: n, rows: rows})
		}
	}
	if ga > 0 {
		l.sections = append(l.sections, sectionLayout{id: "GA", name: "Floor (standing)", price: 6900, ga: true, capacity: ga})
	}
	return l
}

// request is the organizer's POST /admin/v1/events body. The sale is
// scheduled far ahead and opened by hand at the simulated opening.
func (l layout) request(cfg *Config, now time.Time) map[string]any {
	var secs []any
	for _, s := range l.sections {
		sec := map[string]any{"id": s.id, "name": s.name, "priceCents": s.price, "currency": "EUR"}
		if s.ga {
			sec["capacity"] = s.capacity
		} else {
			rows := make([]any, len(s.rows))
			for i, n := range s.rows {
				rows[i] = map[string]any{"id": strconv.Itoa(i + 1), "seats": n}
			}
			sec["rows"] = rows
		}
		secs = append(secs, sec)
	}
	return map[string]any{
		"name": "StarArena Live: the rush", "venue": "Harbour Arena",
		"startsAt":    now.Add(30 * 24 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339),
		"saleOpensAt": now.Add(24 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339),
		"holdSeconds": cfg.HoldSeconds, "maxTicketsPerAccount": cfg.MaxPerAccount,
		"queue":    map[string]any{"mode": "on", "admitPerMinute": cfg.AdmitPerMinute},
		"sections": secs,
		"pricing": map[string]any{"feeCents": rushPricing().FeeCents, "taxBasisPoints": rushPricing().TaxBasisPoints,
			"taxMode": rushPricing().TaxMode},
	}
}

// rushPricing is the rush event's fee and tax (ADR 26): every order's
// total then differs from its face value, so the money invariant that a
// capture charges exactly the order's total is tested with fees and a
// rounded tax in it.
func rushPricing() *pricing.Pricing {
	return &pricing.Pricing{FeeCents: 275, TaxBasisPoints: 1900, TaxMode: pricing.Inclusive}
}

// seatIDs lists every reserved seat id.
func (l layout) seatIDs() []string {
	out := make([]string, 0, l.reserved)
	for _, s := range l.sections {
		for r, n := range s.rows {
			for i := 1; i <= n; i++ {
				out = append(out, s.id+"-"+strconv.Itoa(r+1)+"-"+strconv.Itoa(i))
			}
		}
	}
	return out
}
