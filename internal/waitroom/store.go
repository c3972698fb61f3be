package waitroom

import (
	"context"
	"time"
)

// Store is the waiting room's persistence. Methods that decide something
// (a new place, a claim, a state change) are conditional writes.
type Store interface {
	// GetState returns the event's queue state; ok false when none exists.
	GetState(ctx context.Context, eventID string) (State, bool, error)
	// CreateState writes st when the event has none; false if one exists.
	CreateState(ctx context.Context, st State) (bool, error)
	// SaveState writes st if the stored version is still st.Version-1
	// (CONFLICT otherwise).
	SaveState(ctx context.Context, st State) error

	// Places reads the places of accounts (missing ones are left out).
	Places(ctx context.Context, eventID string, accounts []string) (map[string]Place, error)
	// Place reads one place with a strongly consistent read.
	Place(ctx context.Context, eventID, account string) (Place, bool, error)
	// PlaceView reads one place with an eventually consistent read, at
	// half the read units: what a fan's poll of their place shows, which
	// decides nothing (admission reads the place with Place).
	PlaceView(ctx context.Context, eventID, account string) (Place, bool, error)
	// PutNewPlace writes p unless the account has a place; false if it has.
	PutNewPlace(ctx context.Context, p Place) (bool, error)
	// PutNewPlaces is PutNewPlace for many places in few requests:
	// created[i] and errs[i] are ps[i]'s answer.
	PutNewPlaces(ctx context.Context, ps []Place) (created []bool, errs []error)
	// WritePlaces overwrites places (the draw and the straggler sweep,
	// which are the only writers of a pending place's position).
	WritePlaces(ctx context.Context, ps []Place) error
	// PendingPlaces lists places without a position: the draw's entrants
	// (lottery true) or joins that arrived before the draw finished.
	PendingPlaces(ctx context.Context, eventID string, lottery bool) ([]Place, error)
	// DrawEntrants lists the draw's entrants with their positions.
	DrawEntrants(ctx context.Context, eventID string) ([]Place, error)

	// AddPositions reserves n positions with one counter write and returns
	// the last one (the range is last-n+1 .. last).
	AddPositions(ctx context.Context, eventID string, n int64) (int64, error)
	// SetPositions sets the counter (the draw: positions 1..n are taken).
	SetPositions(ctx context.Context, eventID string, n int64) error
	// Positions is the last position given out.
	Positions(ctx context.Context, eventID string) (int64, error)

	// ClaimServed records an admission token on the account's place when
	// its position is at most serving and it has none, in one conditional
	// write, and returns the place: as written (claimed) or as it stands
	// (found false: the account has no place).
	ClaimServed(ctx context.Context, eventID, account string, serving int64, tokenID string, expires, now time.Time) (p Place, found, claimed bool, err error)
	// MarkUsed records that the place's admission token made a hold; false
	// when it was marked before or the token is not the place's.
	MarkUsed(ctx context.Context, eventID, account, tokenID string, now time.Time) (bool, error)
	// ExpiredAdmissions lists admitted places whose token expired unused.
	ExpiredAdmissions(ctx context.Context, eventID string, now time.Time, limit int) ([]Place, error)
	// MarkAbandoned flags an expired, unused admission once; false if it
	// was used or flagged meanwhile.
	MarkAbandoned(ctx context.Context, p Place) (bool, error)
	// MarkAbandonedAll is MarkAbandoned for many places in few requests;
	// marked[i] is ps[i]'s answer.
	MarkAbandonedAll(ctx context.Context, ps []Place) (marked []bool, err error)
	// AddStats adds to the event's admission counters.
	AddStats(ctx context.Context, eventID string, d Stats) error
	// Stats reads the event's admission counters.
	Stats(ctx context.Context, eventID string) (Stats, error)
}
