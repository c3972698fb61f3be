package catalog

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/limits"
)

func validBody() map[string]any {
	return map[string]any{
		"name": "Show", "venue": "Hall",
		"startsAt": "2027-06-01T20:00:00Z", "saleOpensAt": "2027-05-01T10:00:00Z",
		"sections": []any{
			map[string]any{"id": "A", "name": "Stalls", "priceCents": 5000, "currency": "EUR",
				"rows": []any{map[string]any{"id": "1", "seats": 10}, map[string]any{"id": "2", "seats": 12}}},
			map[string]any{"id": "GA", "priceCents": 3000, "currency": "EUR", "capacity": 300},
		},
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseCreateEventValid(t *testing.T) {
	ev, err := ParseCreateEvent(mustJSON(t, validBody()), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Capacity != 322 || ev.Currency != "EUR" || ev.HoldSeconds != limits.DefaultHoldSeconds ||
		ev.MaxTicketsPerAccount != limits.DefaultTicketsPerAccount || ev.Queue.Mode != QueueOn {
		t.Fatalf("event = %+v", ev)
	}
	a, _ := ev.Section("A")
	if a.Kind != Reserved || a.Capacity != 22 || len(a.SeatIDs()) != 22 || a.SeatIDs()[10] != "A-2-1" {
		t.Fatalf("section A = %+v ids %v", a, a.SeatIDs())
	}
	if ga, _ := ev.Section("GA"); ga.Kind != GA || ga.Capacity != 300 || ga.Name != "GA" {
		t.Fatalf("section GA = %+v", ga)
	}
}

func TestParseCreateEventRejects(t *testing.T) {
	section := func(b map[string]any, i int) map[string]any { return b["sections"].([]any)[i].(map[string]any) }
	cases := []struct {
		name   string
		mutate func(b map[string]any)
		want   apperr.Code
	}{
		{"MissingName", func(b map[string]any) { delete(b, "name") }, apperr.Invalid},
		{"BadStartsAt", func(b map[string]any) { b["startsAt"] = "tomorrow" }, apperr.Invalid},
		{"SaleAfterStart", func(b map[string]any) { b["saleOpensAt"] = "2027-07-01T10:00:00Z" }, apperr.Unprocessable},
		{"HoldTooShort", func(b map[string]any) { b["holdSeconds"] = 1 }, apperr.Invalid},
		{"HoldTooLong", func(b map[string]any) { b["holdSeconds"] = 3601 }, apperr.Invalid},
		{"ZeroTicketLimit", func(b map[string]any) { b["maxTicketsPerAccount"] = 0 }, apperr.Invalid},
		{"BadQueueMode", func(b map[string]any) { b["queue"] = map[string]any{"mode": "maybe"} }, apperr.Invalid},
		{"AdmitRateOverWorkflowLimit", func(b map[string]any) { b["queue"] = map[string]any{"mode": "on", "admitPerMinute": 18001} }, apperr.Invalid},
		{"NoSections", func(b map[string]any) { b["sections"] = []any{} }, apperr.InvalidVenue},
		{"ZeroSeatsRow", func(b map[string]any) { section(b, 0)["rows"] = []any{map[string]any{"id": "1", "seats": 0}} }, apperr.InvalidVenue},
		{"NoRows", func(b map[string]any) { section(b, 0)["rows"] = []any{} }, apperr.InvalidVenue},
		{"ZeroCapacity", func(b map[string]any) { section(b, 1)["capacity"] = 0 }, apperr.InvalidVenue},
		{"DuplicateSection", func(b map[string]any) { section(b, 1)["id"] = "a" }, apperr.InvalidVenue},
		{"DuplicateRow", func(b map[string]any) {
			section(b, 0)["rows"] = []any{map[string]any{"id": "1", "seats": 2}, map[string]any{"id": "1", "seats": 3}}
		}, apperr.InvalidVenue},
		{"NegativePrice", func(b map[string]any) { section(b, 0)["priceCents"] = -1 }, apperr.InvalidVenue},
		{"MissingPrice", func(b map[string]any) { delete(section(b, 0), "priceCents") }, apperr.Invalid},
		{"MixedCurrency", func(b map[string]any) { section(b, 1)["currency"] = "USD" }, apperr.InvalidVenue},
		{"LowercaseCurrency", func(b map[string]any) { section(b, 1)["currency"] = "eur" }, apperr.Invalid},
		{"RowsAndCapacity", func(b map[string]any) { section(b, 0)["capacity"] = 5 }, apperr.InvalidVenue},
		{"NeitherRowsNorCapacity", func(b map[string]any) { delete(section(b, 1), "capacity") }, apperr.InvalidVenue},
		{"SectionIDWithDash", func(b map[string]any) { section(b, 0)["id"] = "A-1" }, apperr.Invalid},
		{"UnknownField", func(b map[string]any) { b["colour"] = "red" }, apperr.UnknownField},
		{"UnknownSectionField", func(b map[string]any) { section(b, 0)["vip"] = true }, apperr.UnknownField},
		{"PriceAsString", func(b map[string]any) { section(b, 0)["priceCents"] = "50" }, apperr.Invalid},
		{"TooManySeats", func(b map[string]any) { section(b, 1)["capacity"] = limits.GACapacity + 1 }, apperr.InvalidVenue},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := validBody()
			tc.mutate(b)
			_, err := ParseCreateEvent(mustJSON(t, b), 1<<20)
			if got := apperr.CodeOf(err); got != tc.want {
				t.Fatalf("code = %q, want %q (%v)", got, tc.want, err)
			}
		})
	}
	t.Run("Oversized", func(t *testing.T) {
		b := validBody()
		b["name"] = strings.Repeat("x", 2000)
		if _, err := ParseCreateEvent(mustJSON(t, b), 1000); apperr.CodeOf(err) != apperr.TooLarge {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Malformed", func(t *testing.T) {
		if _, err := ParseCreateEvent([]byte(`{"name":`), 1000); apperr.CodeOf(err) != apperr.InvalidJSON {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestGAShardCapacitiesSumToCapacity(t *testing.T) {
	for _, c := range []int{1, 7, 249, 250, 251, 2000, 9999, limits.GACapacity} {
		caps := GAShardCapacities(c)
		sum := 0
		for _, x := range caps {
			if x < 0 {
				t.Fatalf("capacity %d: negative shard", c)
			}
			sum += x
		}
		if sum != c || len(caps) < 1 || len(caps) > 32 {
			t.Fatalf("capacity %d: shards %v", c, caps)
		}
	}
}

// FuzzParseCreateEvent: any body either fails with a client error code or
// yields an event whose venue map is consistent.
func FuzzParseCreateEvent(f *testing.F) {
	f.Add(mustJSONf(validBody()))
	f.Add([]byte(`{"name":"x","venue":"y","startsAt":"2027-01-01T00:00:00Z","saleOpensAt":"2026-01-01T00:00:00Z","sections":[{"id":"G","priceCents":1,"currency":"EUR","capacity":1}]}`))
	f.Add([]byte(`{"sections":[{"rows":[{"id":"1","seats":-1}]}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseCreateEvent(body, 1<<20)
		if err != nil {
			if apperr.Status(apperr.CodeOf(err)) >= 500 {
				t.Fatalf("server error for client input: %v", err)
			}
			return
		}
		total, ids := 0, map[string]bool{}
		for _, s := range ev.Sections {
			if ids[s.ID] || s.PriceCents <= 0 || s.Capacity < 1 || s.Currency != ev.Currency {
				t.Fatalf("inconsistent section %+v", s)
			}
			ids[s.ID] = true
			if s.Kind == Reserved && len(s.SeatIDs()) != s.Capacity {
				t.Fatalf("section %s: %d seat ids for capacity %d", s.ID, len(s.SeatIDs()), s.Capacity)
			}
			total += s.Capacity
		}
		if total != ev.Capacity || total < 1 || total > limits.EventCapacity || !ev.SaleOpensAt.Before(ev.StartsAt) {
			t.Fatalf("inconsistent event %+v", ev)
		}
	})
}

func mustJSONf(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
