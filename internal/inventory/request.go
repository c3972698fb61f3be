// Package inventory holds and releases places: reserved seats by
// conditional writes on each seat, general admission by sharded counters,
// always in one transaction with the account's limit, the consumed
// admission token and the new order.
package inventory

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/jsonbody"
	"github.com/stararena/stararena/internal/limits"
)

// HoldRequest is the body of POST /v1/events/{eventId}/holds: specific
// seats, or a quantity in a section (best available when reserved).
type HoldRequest struct {
	AdmissionToken string   `json:"admissionToken"`
	Seats          []string `json:"seats,omitempty"`
	Section        string   `json:"section,omitempty"`
	Quantity       int      `json:"quantity,omitempty"`
	// Email is the buyer's address from the caller's token, never from
	// the body; the order records it. Not part of the fingerprint: the
	// same hold retried is the same hold.
	Email string `json:"-"`
}

var seatPattern = regexp.MustCompile(`^([A-Za-z0-9]{1,16})-([A-Za-z0-9]{1,16})-([1-9][0-9]{0,3})$`)

// ParseHoldRequest decodes and checks the shape of a hold body; whether the
// seats exist is checked against the event by Service.Hold.
func ParseHoldRequest(body []byte, limit int64) (HoldRequest, error) {
	var r HoldRequest
	if err := jsonbody.Decode(body, limit, &r); err != nil {
		return HoldRequest{}, err
	}
	if r.AdmissionToken == "" {
		return HoldRequest{}, apperr.New(apperr.Invalid, "admissionToken is required")
	}
	switch {
	case len(r.Seats) > 0 && (r.Section != "" || r.Quantity != 0):
		return HoldRequest{}, apperr.New(apperr.Invalid, "give seats, or section and quantity, not both")
	case len(r.Seats) > 0:
		if len(r.Seats) > limits.TicketsPerAccount {
			return HoldRequest{}, apperr.New(apperr.LimitExceeded, "at most %d seats in one hold", limits.TicketsPerAccount)
		}
		seen := map[string]bool{}
		for _, s := range r.Seats {
			if !seatPattern.MatchString(s) {
				return HoldRequest{}, apperr.New(apperr.Invalid, "seat %q is not a seat id such as A-1-7", truncate(s))
			}
			if seen[s] {
				return HoldRequest{}, apperr.New(apperr.Invalid, "seat %s is listed twice", s)
			}
			seen[s] = true
		}
	case r.Section != "":
		if r.Quantity < 1 {
			return HoldRequest{}, apperr.New(apperr.Invalid, "quantity must be at least 1")
		}
		if r.Quantity > limits.TicketsPerAccount {
			return HoldRequest{}, apperr.New(apperr.LimitExceeded, "at most %d places in one hold", limits.TicketsPerAccount)
		}
	default:
		return HoldRequest{}, apperr.New(apperr.Invalid, "give seats, or section and quantity")
	}
	return r, nil
}

// Fingerprint identifies what the request asks for (not the token), so an
// Idempotency-Key retry with the same body is recognised and one with a
// different body refused.
func (r HoldRequest) Fingerprint(eventID string) string {
	seats := append([]string(nil), r.Seats...)
	sort.Strings(seats)
	h := sha256.Sum256([]byte(eventID + "\x00" + r.AdmissionToken + "\x00" + strings.Join(seats, ",") + "\x00" + r.Section + "\x00" + strconv.Itoa(r.Quantity)))
	return hex.EncodeToString(h[:])
}

// seatRef is a parsed seat id.
type seatRef struct {
	section, row string
	number       int
}

func parseSeat(id string) (seatRef, bool) {
	m := seatPattern.FindStringSubmatch(id)
	if m == nil {
		return seatRef{}, false
	}
	n, _ := strconv.Atoi(m[3])
	return seatRef{m[1], m[2], n}, true
}

// seatExists reports whether id is a seat of ev and returns its section.
func seatExists(ev *catalog.Event, id string) (*catalog.Section, bool) {
	ref, ok := parseSeat(id)
	if !ok {
		return nil, false
	}
	sec, ok := ev.Section(ref.section)
	if !ok || sec.Kind != catalog.Reserved {
		return nil, false
	}
	for _, r := range sec.Rows {
		if r.ID == ref.row {
			return sec, ref.number <= r.Seats
		}
	}
	return nil, false
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
