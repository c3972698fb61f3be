// Package tickets issues, shows, revokes and checks in tickets.
//
// A ticket is one admission to an event for one place of a paid order. Its
// code is compact and verifiable offline: a payload (event, order, seat,
// version; the ticket id is derived from order and seat) signed with Ed25519
// (see Codec), rendered as a QR code. Refunds revoke tickets (a per-event
// revocation list a gate can sync); a check-in admits a ticket once, and the
// same scan nonce always gets the same answer.
//
// Ticket ids are deterministic: TicketID(orderId, seat). Issuing again after
// a retry or a crash therefore writes (or finds) the same items, and anyone
// holding an order knows its ticket ids without a query.
package tickets

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/orders"
)

// Ticket is one admission. Version starts at 1 and grows with every
// re-issue; a code whose version is below the stored one is no longer valid.
type Ticket struct {
	ID      string `json:"ticketId"`
	EventID string `json:"eventId"`
	// Seat is a reserved seat id (<section>-<row>-<number>, e.g. A-1-7) or a
	// general-admission place <section>-<n> (GA-1..GA-q for a GA section
	// with id GA): a GA order of quantity q gets q tickets numbered 1..q.
	Seat    string `json:"seat"`
	OrderID string `json:"orderId"`
	Version int    `json:"version"`
	// ExpiresAt is when the ticket's code stops admitting (the code's
	// exp): after the show. It is not stored with the ticket; the code
	// carries it, rendered from the event's start.
	ExpiresAt time.Time `json:"-"`
}

// MaxTicketsPerOrder bounds one order's tickets so that issuing them is one
// TransactWriteItems (100 items: the manifest and the tickets) and revoking
// or re-issuing them is one too (two items per ticket). The catalog allows
// at most 20 tickets per account and event.
const MaxTicketsPerOrder = limits.TicketsPerOrder

// idBytes is how much of the SHA-256 a ticket id keeps: 80 bits, 16 base32
// characters. The issuing transaction is conditional on each ticket item
// not existing, so even a collision could not overwrite another ticket.
const idBytes = 10

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// TicketID is the id of the ticket for seat in order orderID.
func TicketID(orderID, seat string) string {
	h := sha256.Sum256([]byte("stararena/ticket/v1\x00" + orderID + "\x00" + seat))
	return strings.ToLower(idEncoding.EncodeToString(h[:idBytes]))
}

// GAPlace is the seat label of the n-th (from 1) general-admission place of
// an order in section.
func GAPlace(section string, n int) string {
	if section == "" {
		section = "GA"
	}
	return section + "-" + strconv.Itoa(n)
}

// For lists the tickets an order entitles to, version 1, in the order's seat
// order (GA places 1..quantity). It does not look at the order's status.
func For(o orders.Order) ([]Ticket, error) {
	seats := o.Seats
	if len(seats) == 0 {
		seats = make([]string, 0, o.Quantity)
		for i := 1; i <= o.Quantity; i++ {
			seats = append(seats, GAPlace(o.Section, i))
		}
	}
	if len(seats) == 0 {
		return nil, fmt.Errorf("order %s has no seats and no quantity", o.ID)
	}
	if len(seats) > MaxTicketsPerOrder {
		return nil, fmt.Errorf("order %s has %d places, more than %d", o.ID, len(seats), MaxTicketsPerOrder)
	}
	if !validField(o.ID) || !validField(o.EventID) {
		return nil, fmt.Errorf("order %q of event %q: ids must be 1-%d of [A-Za-z0-9_-]", o.ID, o.EventID, maxField)
	}
	seen := make(map[string]bool, len(seats))
	out := make([]Ticket, 0, len(seats))
	for _, seat := range seats {
		if !validField(seat) {
			return nil, fmt.Errorf("order %s: seat %q must be 1-%d of [A-Za-z0-9_-]", o.ID, seat, maxField)
		}
		if seen[seat] {
			return nil, fmt.Errorf("order %s lists seat %s twice", o.ID, seat)
		}
		seen[seat] = true
		out = append(out, Ticket{ID: TicketID(o.ID, seat), EventID: o.EventID, Seat: seat, OrderID: o.ID, Version: 1})
	}
	return out, nil
}

// maxField bounds the event id, order id and seat of a ticket.
const maxField = 64

// validField: 1-64 of [A-Za-z0-9_-], the alphabet of event ids, order ids
// (UUIDs) and seat ids.
func validField(v string) bool {
	if len(v) == 0 || len(v) > maxField {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !idByte(v[i]) {
			return false
		}
	}
	return true
}

// idByte: [A-Za-z0-9_-], which is also the base64url alphabet.
func idByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}
