// Package waitlist is an event's waiting list after sell-out (ADR 25).
//
// A fan joins once per account when no place is left; places that come
// back (an expired hold, a refund, a cancelled order) are offered to the
// fans in the order they joined, first come, first served. An offer is an
// admission token bound to the fan and the event, valid for the window the
// organizer sets; an unused offer lapses and its places pass to the next
// fan. While anyone waits or holds an offer, admission answers only offers,
// so a returned place reaches the list before the public.
//
// Offers are made by Sweep, which the reconciler's schedule runs for every
// live event. Each offer is one transaction that raises the list's version
// on condition that it is still the version the sweep read, so two sweeps
// at once never offer the same returned place twice.
package waitlist

import (
	"context"
	"time"

	"github.com/stararena/stararena/internal/limits"
)

// Entry states.
const (
	// Waiting: in line.
	Waiting = "WAITING"
	// Offered: an offer is out; it lapses at Offer.ExpiresAt.
	Offered = "OFFERED"
	// Used: the fan held places with the offer.
	Used = "USED"
	// Expired: the offer lapsed unused; its places passed on.
	Expired = "EXPIRED"
	// Left: the fan left the list.
	Left = "LEFT"
)

// Open reports whether an entry in status st still takes part in the
// list (in line or holding an offer).
func Open(st string) bool { return st == Waiting || st == Offered }

// OfferIDPrefix starts the id of every offer, which is also its admission
// token's id: a hold tells the list its offer was used only for such ids,
// so ordinary holds cost the list nothing.
const OfferIDPrefix = "wl-"

// Offer is an admission offered to one fan.
type Offer struct {
	ID        string    `json:"offerId"`
	OfferedAt time.Time `json:"offeredAt"`
	ExpiresAt time.Time `json:"expiresAt"`
	UsedAt    time.Time `json:"usedAt,omitzero"`
}

// Entry is one fan on one event's list.
type Entry struct {
	EventID  string    `json:"eventId"`
	Account  string    `json:"-"`
	Email    string    `json:"-"`
	Seq      int64     `json:"seq"` // order of joining: lower goes first
	Quantity int       `json:"quantity"`
	Status   string    `json:"status"`
	JoinedAt time.Time `json:"joinedAt"`
	Offer    *Offer    `json:"offer,omitempty"`
	// UpdatedAt is when the status last changed.
	UpdatedAt time.Time `json:"updatedAt"`
}

// Meta is the list's own item: the join counter, the sweeps' version,
// the organizer's offer window and what the last sweep counted.
type Meta struct {
	EventID string
	// Next is the last sequence number handed out (joins raise it).
	Next int64
	// Version rises with every offer: a sweep offers only at the version
	// it read.
	Version int64
	// OfferMinutes is how long an offer lasts (0: DefaultOfferMinutes).
	OfferMinutes int
	// Open is how many entries were waiting or offered at the last sweep,
	// SeenThrough the highest sequence number that sweep had read: joins
	// since then count as open too.
	Open        int
	SeenThrough int64
}

// Active reports whether the list governs admission: someone is in line
// or holds an offer, or joined since the last sweep.
func (m Meta) Active() bool { return m.Open > 0 || m.Next > m.SeenThrough }

// Window is the offer window.
func (m Meta) Window() time.Duration {
	mins := m.OfferMinutes
	if mins <= 0 {
		mins = limits.WaitlistDefaultOfferMinutes
	}
	return time.Duration(mins) * time.Minute
}

// Store keeps the lists (internal/dynamo).
type Store interface {
	// WaitlistMeta reads an event's list item; found is false when nobody
	// ever joined and no window was set.
	WaitlistMeta(ctx context.Context, eventID string) (Meta, bool, error)
	// NextWaitlistSeq raises the join counter and answers its new value.
	NextWaitlistSeq(ctx context.Context, eventID string) (int64, error)
	// PutWaitlistEntry adds e unless the account has an open entry, which
	// it answers instead (created false).
	PutWaitlistEntry(ctx context.Context, e Entry) (Entry, bool, error)
	// WaitlistEntry reads one account's entry.
	WaitlistEntry(ctx context.Context, eventID, account string) (Entry, bool, error)
	// WaitlistEntries lists every entry of the event's list.
	WaitlistEntries(ctx context.Context, eventID string) ([]Entry, error)
	// LeaveWaitlist marks an open entry LEFT (fault.ConditionFailed when
	// it is not open).
	LeaveWaitlist(ctx context.Context, eventID, account string, at time.Time) error
	// SetWaitlistWindow sets the offer window.
	SetWaitlistWindow(ctx context.Context, eventID string, minutes int) error
	// OfferWaitlist gives a WAITING entry its offer and raises the list's
	// version from version, in one transaction (fault.ConditionFailed or
	// fault.Contention when either changed).
	OfferWaitlist(ctx context.Context, eventID, account string, version int64, o Offer) error
	// ExpireWaitlistOffer marks an OFFERED entry with offer id EXPIRED.
	ExpireWaitlistOffer(ctx context.Context, eventID, account, offerID string, at time.Time) error
	// UseWaitlistOffer marks an OFFERED entry with offer id USED.
	UseWaitlistOffer(ctx context.Context, eventID, account, offerID string, at time.Time) error
	// SaveWaitlistCount records what a sweep counted, unless the version
	// moved on (another sweep counts then).
	SaveWaitlistCount(ctx context.Context, eventID string, version int64, open int, seenThrough int64) error
}
