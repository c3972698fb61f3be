package tickets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/retry"
)

// Outcome is a check-in's answer.
type Outcome string

// Check-in outcomes.
const (
	// Admitted: the first scan of a valid, unrevoked ticket.
	Admitted Outcome = "ADMITTED"
	// AlreadyUsed: the ticket was admitted by another scan nonce.
	AlreadyUsed Outcome = "ALREADY_USED"
	// Invalid: not a code this platform signed with a listed key, or a
	// code made before the ticket's last re-issue.
	Invalid Outcome = "INVALID"
	// Revoked: the ticket was revoked (refund, or transferred to another
	// account: Result.Reason says which).
	Revoked Outcome = "REVOKED"
	// WrongEvent: a valid code for another event than the gate's; the
	// ticket is not marked used.
	WrongEvent Outcome = "WRONG_EVENT"
	// Expired: a genuine rotating code made for a step outside the
	// window around now: a screenshot, a photo or an old code (ADR 28).
	// The ticket is not marked used.
	Expired Outcome = "EXPIRED"
	// StaticRefused: a genuine static (printable) code at an event whose
	// organizer accepts rotating codes only. The ticket is not marked used.
	StaticRefused Outcome = "STATIC_NOT_ACCEPTED"
)

// Result is what a gate shows. TicketID and Seat are empty for INVALID.
type Result struct {
	Result   Outcome `json:"result"`
	TicketID string  `json:"ticketId,omitempty"`
	Seat     string  `json:"seat,omitempty"`
	// EventID is the ticket's event, for WRONG_EVENT.
	EventID string `json:"eventId,omitempty"`
	// Reason is why a REVOKED ticket was revoked (ReasonTransferred when
	// its holder gave it to another account and a new code replaced it).
	Reason string `json:"reason,omitempty"`
	// FirstScanAt and FirstScanGate tell an ALREADY_USED gate when and
	// where the ticket was admitted (someone may be holding a copy).
	FirstScanAt   time.Time `json:"firstScanAt,omitzero"`
	FirstScanGate string    `json:"firstScanGate,omitempty"`
}

// Ticket states as a fan sees them (IssuedTicket.Status).
const (
	StatusValid   = "VALID"
	StatusUsed    = "USED"
	StatusRevoked = "REVOKED"
	// StatusTransferred: the ticket was given to another account, whose
	// new code replaced this one (internal/transfers).
	StatusTransferred = "TRANSFERRED"
)

// ReasonTransferred is the revocation reason of a ticket whose transfer
// was accepted: the gate shows it with REVOKED.
const ReasonTransferred = "transferred"

// IssuedTicket is a ticket with what its holder shows at the door.
type IssuedTicket struct {
	Ticket
	Status string `json:"status"`
	// Code is the signed ticket code; empty for a revoked ticket.
	Code string `json:"code,omitempty"`
	// QR is Code as a data:image/png;base64 URL; empty from Issue (which
	// runs in the order workflow, where nobody looks at images) and for a
	// revoked ticket.
	QR string `json:"qr,omitempty"`
	// Rotation lets the owner's page make the ticket's rotating codes; only
	// ForAccount fills it, and not for a revoked ticket.
	Rotation *Rotation `json:"rotation,omitempty"`
}

// Rotation is what a ticket's owner needs to show rotating codes (ADR 28).
type Rotation struct {
	// Secret is the ticket's rotation secret, base64url.
	Secret      string `json:"secret"`
	StepSeconds int    `json:"stepSeconds"`
	// Printable: the event's gates also accept the static code, so the
	// ticket may be printed.
	Printable bool `json:"printable"`
}

// Manifest lists an order's tickets under a key known from the order id
// alone, so reading an order's tickets never needs a Query.
type Manifest struct {
	OrderID   string
	EventID   string
	Account   string
	TicketIDs []string // in the order's seat order
	IssuedAt  time.Time
}

// StoredTicket is a ticket with its server-side state.
type StoredTicket struct {
	Ticket
	IssuedAt time.Time
	// Revoked while RevokedAt is set.
	RevokedAt    time.Time
	RevokeReason string
	// The first scan, once admitted.
	ScanNonce string
	ScannedAt time.Time
	Gate      string
	// TransferredTo is the ticket that replaced this one when its transfer
	// was accepted (the ticket is then revoked with ReasonTransferred).
	TransferredTo string
}

// Revoked reports whether the ticket is revoked.
func (t *StoredTicket) Revoked() bool { return !t.RevokedAt.IsZero() }

// Scan is one check-in attempt.
type Scan struct {
	Nonce string
	Gate  string
	At    time.Time
}

// AdmitOutcome is what Store.Admit found.
type AdmitOutcome struct {
	// Admitted: this call recorded the ticket's first scan.
	Admitted bool
	// Found and Current describe the stored ticket when not Admitted.
	Found   bool
	Current StoredTicket
}

// ScanRecord is the answer given to one scan nonce of one ticket.
type ScanRecord struct {
	TicketID string
	Nonce    string
	Result   Outcome
	Seat     string
	Gate     string
	// Reason is the revocation reason of a REVOKED answer.
	Reason string
	At     time.Time
	// Expires is when the record may be garbage-collected (DynamoDB TTL).
	Expires time.Time
}

// Revocation is one entry of an event's revocation list: codes of the
// ticket with a version up to UpToVersion must be refused. A gate that
// works offline syncs the list and checks (ticket id, code version) against
// it; a re-issue raises the ticket's version above UpToVersion, so its new
// codes pass and the old ones (screenshots) do not.
type Revocation struct {
	TicketID    string
	EventID     string
	OrderID     string
	Seat        string
	UpToVersion int
	Reason      string
	RevokedAt   time.Time
}

// Store is the persistence tickets need. Every read is strongly consistent.
type Store interface {
	// CreateTickets writes the manifest and every ticket in one
	// transaction, each conditional on not existing. It returns
	// fault.Exists when the manifest exists, fault.Contention on
	// contention.
	CreateTickets(ctx context.Context, m Manifest, ts []Ticket) error
	// OrderTickets reads an order's manifest and its tickets in manifest
	// order; found is false when none were issued.
	OrderTickets(ctx context.Context, orderID string) (m Manifest, ts []StoredTicket, found bool, err error)
	// RevokeTickets marks each ticket revoked and adds it to its event's
	// revocation list (UpToVersion = its version) in one transaction,
	// conditional on each ticket still being at its version and unrevoked
	// (else fault.Contention).
	RevokeTickets(ctx context.Context, ts []StoredTicket, reason string, now time.Time) error
	// ReissueTickets raises each ticket's version by one and clears its
	// revocation, and lists the previous version as revoked, in one
	// transaction conditional on each version (else fault.Contention). Scan state
	// is kept: a ticket admitted before stays used.
	ReissueTickets(ctx context.Context, ts []StoredTicket, reason string, now time.Time) error
	// Admit records scan as the ticket's first scan, atomically: only if
	// the ticket exists at exactly t.Version for t.EventID, is not revoked
	// and has no first scan yet. Otherwise it returns the stored ticket.
	Admit(ctx context.Context, t Ticket, scan Scan) (AdmitOutcome, error)
	// RecordScan stores r unless a record for (r.TicketID, r.Nonce) exists,
	// and returns the record that is stored: r, or the earlier one.
	RecordScan(ctx context.Context, r ScanRecord) (ScanRecord, error)
	// Revocations lists an event's revocation list.
	Revocations(ctx context.Context, eventID string) ([]Revocation, error)
	// Ticket reads one ticket; found is false when it does not exist.
	Ticket(ctx context.Context, id string) (t StoredTicket, found bool, err error)
	// IssueOrder writes the manifest and every ticket (each conditional on
	// not existing) and moves the order PAID or ISSUE_FAILED@o.Version to
	// ISSUED, in one transaction. fault.Exists when the manifest exists,
	// fault.ConditionFailed when the order moved, fault.Contention on
	// contention.
	IssueOrder(ctx context.Context, o orders.Order, m Manifest, ts []Ticket, now time.Time) error
	// TicketsByID reads tickets by id in the order asked, leaving out
	// those that do not exist.
	TicketsByID(ctx context.Context, ids []string) ([]StoredTicket, error)
}

// Options configures the service.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
	// Attempts bounds the tries of a write that lost a race or was
	// throttled (default 6).
	Attempts int
	// Retry paces those tries (default waits of up to 10 ms doubling to
	// 320 ms); its Attempts, when set, wins over Attempts.
	Retry retry.Policy
	// ScanRetention is how long a nonce's answer is kept (default 30 days):
	// a retry of the same nonce within it gets the same answer.
	ScanRetention time.Duration
	// CodeExpiry says when an event's ticket codes stop admitting (the
	// app: a day after the event starts). Without it codes expire
	// DefaultCodeLifetime after they are shown.
	CodeExpiry func(ctx context.Context, eventID string) (time.Time, error)
	// QR draws the images ForAccount shows (internal/ticketqr). Only the
	// functions that show a fan's tickets link the encoder; without it
	// ForAccount fails rather than answer tickets without their images.
	QR QRRenderer
	// StaticCodes says whether an event's gates accept static (printable)
	// codes besides rotating ones (default: they do).
	StaticCodes func(ctx context.Context, eventID string) (bool, error)
	// ShownStaticCodes is StaticCodes as a ticket's owner is shown it
	// (whether the page offers a printable code; default StaticCodes). It
	// decides nothing: the gate asks StaticCodes at the scan, so the app
	// answers it from the instance's event copy.
	ShownStaticCodes func(ctx context.Context, eventID string) (bool, error)
}

// CodeValidAfterStart is how long after its event starts a ticket code
// still admits: doors stay open through the show, never into the next day.
const CodeValidAfterStart = 24 * time.Hour

// DefaultCodeLifetime is how long a code lives when Options.CodeExpiry is
// not set (tools and tests).
const DefaultCodeLifetime = 400 * 24 * time.Hour

// QRRenderer draws a ticket code as a data:image/png;base64 URL.
type QRRenderer func(code string) (string, error)

// errNoQR answers ForAccount in a build without a QR renderer.
var errNoQR = errors.New("tickets: no QR renderer configured")

// Service issues, shows, revokes and checks in tickets.
type Service struct {
	store     Store
	codec     *Codec
	clock     clock.Clock
	log       *slog.Logger
	retry     retry.Policy
	retention time.Duration
	expiry    func(ctx context.Context, eventID string) (time.Time, error)
	qr        QRRenderer
	static    func(ctx context.Context, eventID string) (bool, error)
	shown     func(ctx context.Context, eventID string) (bool, error)
}

// NewService builds the tickets service.
func NewService(store Store, codec *Codec, o Options) *Service {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Attempts <= 0 {
		o.Attempts = 6
	}
	if o.ScanRetention <= 0 {
		o.ScanRetention = 30 * 24 * time.Hour
	}
	if o.Retry.Attempts <= 0 {
		o.Retry.Attempts = o.Attempts
	}
	if o.Retry.Base <= 0 {
		o.Retry.Base, o.Retry.Cap = 10*time.Millisecond, 320*time.Millisecond
	}
	if o.CodeExpiry == nil {
		c := o.Clock
		o.CodeExpiry = func(context.Context, string) (time.Time, error) { return c.Now().Add(DefaultCodeLifetime), nil }
	}
	if o.StaticCodes == nil {
		o.StaticCodes = func(context.Context, string) (bool, error) { return true, nil }
	}
	if o.ShownStaticCodes == nil {
		o.ShownStaticCodes = o.StaticCodes
	}
	return &Service{store: store, codec: codec, clock: o.Clock, log: o.Logger, retry: o.Retry, retention: o.ScanRetention,
		expiry: o.CodeExpiry, static: o.StaticCodes, shown: o.ShownStaticCodes, qr: o.QR}
}

// Codec returns the service's codec.
func (s *Service) Codec() *Codec { return s.codec }

// issuable: tickets exist only for a captured payment (I2). ISSUED and
// ISSUE_FAILED are accepted so that a retry after the order moved on, or
// the reconciler's repair, finds the same tickets.
func issuable(st orders.Status) bool {
	switch st {
	case orders.Paid, orders.Issued, orders.IssueFailed:
		return true
	}
	return false
}

// Issue creates the tickets of a paid order, idempotently: every call for
// the same order returns the same tickets (ids from TicketID, the first
// call's versions), however many calls race or crash half-way. Codes are
// included; QR images are not.
//
// Errors: INVALID_STATE (the order is not paid), UNAVAILABLE (contention
// did not clear), INTERNAL.
func (s *Service) Issue(ctx context.Context, o orders.Order) ([]IssuedTicket, error) {
	log := s.log.With("orderId", o.ID, "eventId", o.EventID)
	if !issuable(o.Status) {
		return nil, apperr.New(apperr.InvalidStateChange, "order %s is %s: tickets are issued only for paid orders", o.ID, o.Status)
	}
	want, err := For(o)
	if err != nil {
		return nil, fmt.Errorf("issue tickets: %w", err)
	}
	ids := make([]string, len(want))
	for i, t := range want {
		ids[i] = t.ID
	}
	m := Manifest{OrderID: o.ID, EventID: o.EventID, Account: o.Account, TicketIDs: ids, IssuedAt: s.clock.Now()}
	// Exists: another call issued them meanwhile; read again like after
	// contention.
	p := s.retry
	p.Retryable = func(err error) bool { return fault.Retryable(err) || fault.Is(err, fault.Exists) }
	for b := p.Start(); ; {
		out, err := s.issueOnce(ctx, log, m, want)
		if again, err := b.Again(ctx, err); !again {
			if err != nil {
				return nil, busy(fmt.Errorf("issue tickets for order %s: %w", o.ID, err), "tickets could not be issued now; retry")
			}
			return out, nil
		}
	}
}

// issueOnce answers the stored tickets of m's order, or creates want.
func (s *Service) issueOnce(ctx context.Context, log *slog.Logger, m Manifest, want []Ticket) ([]IssuedTicket, error) {
	_, stored, found, err := s.store.OrderTickets(ctx, m.OrderID)
	if err != nil {
		return nil, err
	}
	if found {
		if !sameIDs(stored, m.TicketIDs) {
			log.Warn("order's stored tickets differ from its seats", "stored", len(stored), "want", len(m.TicketIDs))
		}
		log.Debug("tickets already issued", "count", len(stored))
		return s.issued(ctx, stored, show{})
	}
	if err := s.store.CreateTickets(ctx, m, want); err != nil {
		return nil, err
	}
	log.Info("tickets issued", "count", len(want))
	created := make([]StoredTicket, len(want))
	for i, t := range want {
		created[i] = StoredTicket{Ticket: t, IssuedAt: m.IssuedAt}
	}
	return s.issued(ctx, created, show{})
}

// busy translates a retry that gave up into UNAVAILABLE; other errors
// pass as they are.
func busy(err error, msg string) error {
	if errors.Is(err, retry.ErrExhausted) {
		return apperr.Wrap(err, apperr.Unavailable, "%s", msg)
	}
	return err
}

func sameIDs(ts []StoredTicket, ids []string) bool {
	if len(ts) != len(ids) {
		return false
	}
	for i := range ts {
		if ts[i].ID != ids[i] {
			return false
		}
	}
	return true
}

// ForOrder returns an order's tickets with codes (none for a revoked
// ticket) but no QR images (the box office, the reconciler and the mailer
// need none, or draw their own), or an empty list when none were issued. It
// does not check who asks: see ForAccount.
func (s *Service) ForOrder(ctx context.Context, orderID string) ([]IssuedTicket, error) {
	_, ts, found, err := s.store.OrderTickets(ctx, orderID)
	if err != nil {
		return nil, fmt.Errorf("tickets of order %s: %w", orderID, err)
	}
	if !found {
		return []IssuedTicket{}, nil
	}
	return s.issued(ctx, ts, show{})
}

// ForAccount is ForOrder for a fan, with each code's QR image: NOT_FOUND when the tickets belong to
// another account (I6). An order without tickets yet gives an empty list,
// so callers check the order's ownership first (the orders service answers
// NOT_FOUND for an order that is not the caller's).
func (s *Service) ForAccount(ctx context.Context, account, orderID string) ([]IssuedTicket, error) {
	m, ts, found, err := s.store.OrderTickets(ctx, orderID)
	if err != nil {
		return nil, fmt.Errorf("tickets of order %s: %w", orderID, err)
	}
	if !found {
		return []IssuedTicket{}, nil
	}
	if m.Account != account {
		return nil, apperr.New(apperr.NotFound, "no order %s", orderID)
	}
	return s.issued(ctx, ts, show{qr: true, rotation: true})
}

// show says what issued adds to each ticket's code.
type show struct {
	qr bool
	// rotation: the rotation secret, for the ticket's owner only.
	rotation bool
}

func (s *Service) issued(ctx context.Context, ts []StoredTicket, with show) ([]IssuedTicket, error) {
	out := make([]IssuedTicket, len(ts))
	var exp time.Time
	printable := true
	if len(ts) > 0 {
		var err error
		// One order's tickets are all for one event.
		if exp, err = s.expiry(ctx, ts[0].EventID); err != nil {
			return nil, fmt.Errorf("ticket codes of event %s: %w", ts[0].EventID, err)
		}
		if with.rotation {
			if printable, err = s.shown(ctx, ts[0].EventID); err != nil {
				return nil, fmt.Errorf("ticket codes of event %s: %w", ts[0].EventID, err)
			}
		}
	}
	for i := range ts {
		t := &ts[i]
		t.ExpiresAt = exp
		it := IssuedTicket{Ticket: t.Ticket, Status: StatusValid}
		switch {
		case t.Revoked():
			it.Status = StatusRevoked
			if t.TransferredTo != "" {
				it.Status = StatusTransferred
			}
			out[i] = it
			continue
		case t.ScanNonce != "":
			it.Status = StatusUsed
		}
		code, secret, err := s.codec.EncodeWithSecret(t.Ticket)
		if err != nil {
			return nil, err
		}
		it.Code = code
		if with.rotation {
			it.Rotation = &Rotation{Secret: b64.EncodeToString(secret), StepSeconds: StepSeconds, Printable: printable}
		}
		if with.qr {
			if s.qr == nil {
				return nil, errNoQR
			}
			if it.QR, err = s.qr(code); err != nil {
				return nil, fmt.Errorf("ticket %s: %w", t.ID, err)
			}
		}
		out[i] = it
	}
	return out, nil
}

// maxReason bounds a revocation or re-issue reason.
const maxReason = 200

func validReason(r string) error {
	if r == "" || len(r) > maxReason || !printable(r, true) {
		return apperr.New(apperr.Invalid, "reason must be 1-%d printable ASCII characters", maxReason)
	}
	return nil
}

// Revoke adds every ticket of the order to its event's revocation list.
// Idempotent: tickets already revoked are left as they are (the first
// reason and time stay), and an order without tickets is a no-op.
//
// Errors: INVALID_REQUEST (reason), UNAVAILABLE (contention did not clear),
// INTERNAL.
func (s *Service) Revoke(ctx context.Context, orderID, reason string) error {
	if err := validReason(reason); err != nil {
		return err
	}
	log := s.log.With("orderId", orderID)
	for b := s.retry.Start(); ; {
		err := s.revokeOnce(ctx, log, orderID, reason)
		if again, err := b.Again(ctx, err); !again {
			if err != nil {
				return busy(fmt.Errorf("revoke tickets of order %s: %w", orderID, err), "tickets could not be revoked now; retry")
			}
			return nil
		}
	}
}

// revokeOnce reads the order's tickets and revokes those still valid.
func (s *Service) revokeOnce(ctx context.Context, log *slog.Logger, orderID, reason string) error {
	m, ts, found, err := s.store.OrderTickets(ctx, orderID)
	if err != nil {
		return err
	}
	if !found {
		log.Info("revoke: order has no tickets", "reason", reason)
		return nil
	}
	var todo []StoredTicket
	for _, t := range ts {
		if !t.Revoked() {
			todo = append(todo, t)
			continue
		}
		if t.TransferredTo == "" {
			continue
		}
		// The order's money goes back, so the ticket it paid for goes too,
		// in whichever account holds it now (received tickets are never
		// transferred again: one hop).
		r, found, err := s.store.Ticket(ctx, t.TransferredTo)
		if err != nil {
			return err
		}
		if found && !r.Revoked() {
			todo = append(todo, r)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if err := s.store.RevokeTickets(ctx, todo, reason, s.clock.Now()); err != nil {
		return err
	}
	log.Info("tickets revoked", "eventId", m.EventID, "count", len(todo), "reason", reason)
	return nil
}

// Reissue gives every ticket of a paid order a new version and clears its
// revocation, and returns the new codes. Every code made before is refused
// from then on (INVALID online; listed as revoked up to the old version for
// offline gates): after a revoke and a restore, or a leaked code, an old
// screenshot must not get anyone in. A ticket already admitted stays used.
//
// Not idempotent: each call invalidates the previous call's codes. A
// workflow step that may be retried should call it once per decision (for
// example only when some ticket is revoked).
//
// Errors: INVALID_STATE (the order is not paid), NOT_FOUND (no tickets),
// INVALID_REQUEST (reason), UNAVAILABLE, INTERNAL.
func (s *Service) Reissue(ctx context.Context, o orders.Order, reason string) ([]IssuedTicket, error) {
	if err := validReason(reason); err != nil {
		return nil, err
	}
	if !issuable(o.Status) {
		return nil, apperr.New(apperr.InvalidStateChange, "order %s is %s: tickets are issued only for paid orders", o.ID, o.Status)
	}
	log := s.log.With("orderId", o.ID, "eventId", o.EventID)
	for b := s.retry.Start(); ; {
		out, err := s.reissueOnce(ctx, log, o.ID, reason)
		if again, err := b.Again(ctx, err); !again {
			if err != nil && !apperr.Is(err, apperr.NotFound) {
				return nil, busy(fmt.Errorf("reissue tickets of order %s: %w", o.ID, err), "tickets could not be re-issued now; retry")
			}
			return out, err
		}
	}
}

// reissueOnce reads the order's tickets and gives each a new version.
func (s *Service) reissueOnce(ctx context.Context, log *slog.Logger, orderID, reason string) ([]IssuedTicket, error) {
	_, ts, found, err := s.store.OrderTickets(ctx, orderID)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, apperr.New(apperr.NotFound, "order %s has no tickets", orderID)
	}
	// A transferred ticket stays revoked: raising its version would lift
	// the revocation and make the old holder's code valid beside the new
	// holder's. The new holder's ticket is not the order's to re-issue.
	kept := ts[:0:0]
	for _, t := range ts {
		if t.TransferredTo == "" {
			kept = append(kept, t)
		}
	}
	ts = kept
	if len(ts) == 0 {
		return []IssuedTicket{}, nil
	}
	if err := s.store.ReissueTickets(ctx, ts, reason, s.clock.Now()); err != nil {
		return nil, err
	}
	for i := range ts {
		ts[i].Version++
		ts[i].RevokedAt, ts[i].RevokeReason = time.Time{}, ""
	}
	log.Info("tickets re-issued", "count", len(ts), "reason", reason)
	return s.issued(ctx, ts, show{})
}

// Render gives stored tickets their codes, as ForOrder does, for tickets
// that belong to no order's manifest (a transfer's). For their owner
// (forOwner) it adds what ForAccount does: the QR images and the rotation
// secret, without which a received ticket could not show a live code.
func (s *Service) Render(ctx context.Context, ts []StoredTicket, forOwner bool) ([]IssuedTicket, error) {
	return s.issued(ctx, ts, show{qr: forOwner, rotation: forOwner})
}

// Ticket reads one stored ticket (NOT_FOUND when it does not exist).
func (s *Service) Ticket(ctx context.Context, id string) (StoredTicket, error) {
	t, found, err := s.store.Ticket(ctx, id)
	if err != nil {
		return StoredTicket{}, fmt.Errorf("ticket %s: %w", id, err)
	}
	if !found {
		return StoredTicket{}, apperr.New(apperr.NotFound, "no ticket %s", id)
	}
	return t, nil
}

// PublicKeys lists the keys that verify ticket codes (for gate devices
// that check codes while offline).
func (s *Service) PublicKeys() ([]PublicKey, error) { return s.codec.PublicKeys() }

// Revocations returns an event's revocation list (for gate devices).
func (s *Service) Revocations(ctx context.Context, eventID string) ([]Revocation, error) {
	rs, err := s.store.Revocations(ctx, eventID)
	if err != nil {
		return nil, fmt.Errorf("revocations of event %s: %w", eventID, err)
	}
	return rs, nil
}

// Bounds of check-in inputs.
const (
	maxNonce = 128
	maxGate  = limits.GateBytes
)

// CheckIn verifies one scan of code.
//
// Order of checks: the signature (INVALID when malformed, forged, or
// signed with a key no longer listed; for a rotating code also its MAC),
// the event (WRONG_EVENT), the code's expiry (INVALID), how the code was
// shown (EXPIRED for a rotating code outside its window,
// STATIC_NOT_ACCEPTED for a static code where the organizer accepts
// rotating codes only; ADR 28), the version (INVALID when the ticket
// was re-issued since the code was made), revocation (REVOKED), then the
// first scan: one conditional write on the ticket lets exactly one nonce
// win (ADMITTED); any other nonce afterwards gets ALREADY_USED.
//
// Same nonce, same answer: the answer for (ticket, nonce) is stored with a
// conditional put, and whoever loses that put returns the stored answer,
// so concurrent or late retries of one scan agree even if the ticket
// changed in between. Consequence, by choice: a ticket revoked after it
// was admitted answers REVOKED to every new nonce (the gate should know
// the ticket was refunded; that beats ALREADY_USED), while the nonce that
// admitted it keeps its ADMITTED answer, which is what happened.
//
// A gate scans for one event: a code signed for another event answers
// WRONG_EVENT (with its event) before anything is written, so the ticket
// stays valid for its own gate.
//
// Errors (not outcomes): INVALID_REQUEST for a missing code or a nonce or
// gate out of bounds; UNAVAILABLE/INTERNAL when the store fails.
func (s *Service) CheckIn(ctx context.Context, eventID, code, nonce, gate string) (Result, error) {
	return s.CheckInScanned(ctx, eventID, code, nonce, gate, time.Time{})
}

// MaxOfflineScanAge bounds how long before it reaches the platform an
// offline gate's scan may have been made.
const MaxOfflineScanAge = 24 * time.Hour

// CheckInScanned is CheckIn for a scan a gate checked by itself while
// offline and sends later (ADR 21): a rotating code's window is checked
// against scannedAt, when the gate saw it, rather than against now (zero:
// now). The platform takes the gate's word for that time because a gate
// could make a fresh code of the ticket anyway (it holds the event's gate
// key, ADR 28); first scan wins is still decided by arrival.
//
// Errors as CheckIn's, and INVALID_REQUEST for a scannedAt in the future
// or more than MaxOfflineScanAge ago.
func (s *Service) CheckInScanned(ctx context.Context, eventID, code, nonce, gate string, scannedAt time.Time) (Result, error) {
	if !scannedAt.IsZero() {
		now := s.clock.Now()
		switch {
		case scannedAt.After(now.Add(StepSeconds * time.Second)):
			return Result{}, apperr.New(apperr.Invalid, "scannedAt is in the future")
		case scannedAt.Before(now.Add(-MaxOfflineScanAge)):
			return Result{}, apperr.New(apperr.Invalid, "scannedAt is more than %s ago", MaxOfflineScanAge)
		}
	}
	switch {
	case code == "":
		return Result{}, apperr.New(apperr.Invalid, "code is required")
	case nonce == "" || len(nonce) > maxNonce || !printable(nonce, false):
		return Result{}, apperr.New(apperr.Invalid, "nonce must be 1-%d printable ASCII characters without spaces", maxNonce)
	case len(gate) > maxGate || !printable(gate, true):
		return Result{}, apperr.New(apperr.Invalid, "gate must be at most %d printable ASCII characters", maxGate)
	}
	t, form, err := s.codec.DecodeScan(code)
	if err != nil && !errors.Is(err, ErrInvalidCode) {
		return Result{}, fmt.Errorf("check-in: %w", err)
	}
	if err != nil {
		s.log.InfoContext(ctx, "check-in", "result", Invalid, "gate", gate, "why", err.Error())
		return Result{Result: Invalid}, nil
	}
	log := s.log.With("ticketId", t.ID, "orderId", t.OrderID, "eventId", t.EventID, "gate", gate)
	if t.EventID != eventID {
		log.InfoContext(ctx, "check-in", "result", WrongEvent, "gateEvent", eventID)
		return Result{Result: WrongEvent, TicketID: t.ID, Seat: t.Seat, EventID: t.EventID}, nil
	}
	now := s.clock.Now()
	if now.After(t.ExpiresAt) {
		log.InfoContext(ctx, "check-in", "result", Invalid, "why", "code expired", "expiredAt", t.ExpiresAt)
		return Result{Result: Invalid}, nil
	}
	shownAt := now
	if !scannedAt.IsZero() {
		shownAt = scannedAt
	}
	if refused, err := s.shownRight(ctx, log, t, form, shownAt); err != nil || refused != "" {
		if err != nil {
			return Result{}, err
		}
		return Result{Result: refused, TicketID: t.ID, Seat: t.Seat}, nil
	}
	out, err := s.store.Admit(ctx, t, Scan{Nonce: nonce, Gate: gate, At: now})
	if err != nil {
		return Result{}, fmt.Errorf("check in ticket %s: %w", t.ID, err)
	}
	res := classify(t, nonce, out)
	rec, err := s.store.RecordScan(ctx, ScanRecord{
		TicketID: t.ID, Nonce: nonce, Result: res.Result, Seat: res.Seat, Gate: gate, Reason: res.Reason, At: now, Expires: now.Add(s.retention),
	})
	if err != nil {
		return Result{}, fmt.Errorf("record scan of ticket %s: %w", t.ID, err)
	}
	final := Result{Result: rec.Result, TicketID: rec.TicketID, Seat: rec.Seat, Reason: rec.Reason}
	if final.Result == Invalid {
		final.TicketID, final.Seat = "", ""
	}
	if final != res {
		log.Info("check-in repeated: answering as first time", "result", final.Result, "computed", res.Result)
	} else {
		log.Info("check-in", "result", final.Result)
	}
	if final.Result == AlreadyUsed && out.Current.ScanNonce != "" {
		final.FirstScanAt, final.FirstScanGate = out.Current.ScannedAt, out.Current.Gate
	}
	return final, nil
}

// shownRight refuses a genuine code shown the wrong way (ADR 28): a
// rotating code outside its window (EXPIRED), or a static code at an event
// that accepts rotating codes only (STATIC_NOT_ACCEPTED). Nothing is
// written: the ticket stays valid for its holder's live code.
func (s *Service) shownRight(ctx context.Context, log *slog.Logger, t Ticket, form Form, now time.Time) (Outcome, error) {
	if form.Rotating {
		if InWindow(form.Step, now) {
			return "", nil
		}
		log.InfoContext(ctx, "check-in", "result", Expired, "step", form.Step, "now", Step(now))
		return Expired, nil
	}
	ok, err := s.static(ctx, t.EventID)
	if err != nil {
		return "", fmt.Errorf("check-in: codes accepted at event %s: %w", t.EventID, err)
	}
	if ok {
		return "", nil
	}
	log.InfoContext(ctx, "check-in", "result", StaticRefused)
	return StaticRefused, nil
}

// classify turns Admit's outcome into the answer for this scan.
func classify(t Ticket, nonce string, out AdmitOutcome) Result {
	ok := Result{TicketID: t.ID, Seat: t.Seat}
	cur := &out.Current
	switch {
	case out.Admitted:
		ok.Result = Admitted
	case !out.Found, cur.Version != t.Version, cur.EventID != t.EventID:
		// A signed code for a ticket that does not exist (or not at this
		// version) cannot pass: superseded by a re-issue, or worse.
		return Result{Result: Invalid}
	case cur.Revoked():
		ok.Result, ok.Reason = Revoked, cur.RevokeReason
	case cur.ScanNonce == nonce:
		ok.Result = Admitted // this nonce won earlier; its retry
	default:
		ok.Result = AlreadyUsed
	}
	return ok
}

func printable(v string, spaces bool) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c > 0x7e || (c == ' ' && !spaces) {
			return false
		}
	}
	return true
}
