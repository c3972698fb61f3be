// Package transfers lets a fan give an issued ticket to another account
// (ADR 29). The sender offers one ticket of an ISSUED order they own to a
// recipient named by email address or account id; until the recipient
// accepts, the sender may cancel. Accepting is one DynamoDB transaction:
// the offer becomes ACCEPTED, the old ticket is revoked with the reason
// "transferred" (and listed on its event's revocation list for offline
// gates), a new ticket with its own id and code is issued to the recipient,
// and the recipient's per-event ticket count grows by one under the
// event's limit. Either all of it happens or none: the old and the new code
// are never both valid, and never neither.
//
// A received ticket is not transferred again (one hop): a refund of the
// buyer's order then revokes exactly the tickets it paid for, wherever they
// are (tickets.Service.Revoke follows the old ticket to the new one).
package transfers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/retry"
	"github.com/stararena/stararena/internal/tickets"
)

// Status is where a transfer stands.
type Status string

// Transfer states: PENDING until the recipient accepts (ACCEPTED) or the
// sender cancels (CANCELLED); both ends are final.
const (
	Pending   Status = "PENDING"
	Accepted  Status = "ACCEPTED"
	Cancelled Status = "CANCELLED"
)

// Transfer is one offer of one ticket.
type Transfer struct {
	ID       string
	TicketID string
	EventID  string
	// OrderID is the buyer's order the ticket belongs to.
	OrderID string
	Seat    string
	// From is the sender's account, FromEmail their address as the token
	// gave it (for the recipient to see who offers).
	From      string
	FromEmail string
	// To names the recipient: an account id or a lowercase email address
	// (ToEmail says which).
	To        string
	ToEmail   bool
	Status    Status
	CreatedAt time.Time
	// DecidedAt is when it was accepted or cancelled.
	DecidedAt time.Time
	// AcceptedBy is the account that accepted, NewTicketID the ticket it
	// received.
	AcceptedBy  string
	NewTicketID string
}

// Recipient keys name who a transfer is addressed to in the store's
// listing: an account id or an email address.
func recipientKey(to string, email bool) string {
	if email {
		return "email:" + to
	}
	return "account:" + to
}

// RecipientKey is the listing key of t's recipient.
func (t Transfer) RecipientKey() string { return recipientKey(t.To, t.ToEmail) }

// Acceptance is what Store.Accept writes in one transaction.
type Acceptance struct {
	// Transfer is the transfer as accepted (Status, DecidedAt, AcceptedBy
	// and NewTicketID set).
	Transfer Transfer
	// Old is the offered ticket as read: the write is conditional on its
	// version, on it being unrevoked and unscanned, and on it still
	// carrying this transfer's offer.
	Old tickets.StoredTicket
	// New is the recipient's ticket (version 1).
	New tickets.Ticket
	// LimitMax is the event's tickets per account: the recipient's count
	// plus one must stay within it.
	LimitMax int
}

// Why a conditional write of Store was refused.
var (
	// ErrNotPending: the transfer is no longer PENDING (accepted or
	// cancelled by the other side first).
	ErrNotPending = errors.New("transfer is not pending")
	// ErrTicketChanged: the ticket was revoked, re-issued, scanned or
	// offered in another transfer since it was read.
	ErrTicketChanged = errors.New("ticket changed")
	// ErrOrderChanged: the buyer's order is no longer ISSUED (refunded).
	ErrOrderChanged = errors.New("order is no longer issued")
	// ErrLimit: the recipient's per-event count is at the event's limit.
	ErrLimit = errors.New("recipient at the per-account limit")
)

// Store is the persistence transfers need. Reads are strongly consistent
// except the listings (an index).
type Store interface {
	// Offer writes t (PENDING) and marks its ticket as offered in it, in
	// one transaction conditional on t not existing and the ticket being
	// at version, unrevoked, unscanned and not offered elsewhere
	// (ErrTicketChanged).
	Offer(ctx context.Context, t Transfer, version int) error
	// Cancel marks t CANCELLED at now and frees its ticket for another
	// offer, conditional on t being PENDING (ErrNotPending).
	Cancel(ctx context.Context, t Transfer, now time.Time) error
	// Accept writes a in one transaction: ErrNotPending, ErrTicketChanged,
	// ErrOrderChanged or ErrLimit name the first condition that failed.
	Accept(ctx context.Context, a Acceptance) error
	// Transfer reads one transfer; found is false when there is none.
	Transfer(ctx context.Context, id string) (t Transfer, found bool, err error)
	// To lists the transfers addressed to any of the recipient keys,
	// newest first.
	To(ctx context.Context, keys []string) ([]Transfer, error)
	// From lists the transfers an account offered, newest first.
	From(ctx context.Context, account string) ([]Transfer, error)
}

// Orders reads a fan's own order (NOT_FOUND when it is another's).
type Orders interface {
	Order(ctx context.Context, account, orderID string) (orders.Order, error)
}

// Events reads an event's tickets-per-account limit.
type Events interface {
	MaxTicketsPerAccount(ctx context.Context, eventID string) (int, error)
}

// Notifier tells the recipient of an offer and the sender of an
// acceptance (the mail queue, once per cause). Optional.
type Notifier interface {
	Offered(ctx context.Context, t Transfer) error
	Accepted(ctx context.Context, t Transfer) error
}

// Party is a fan as a request names them.
type Party struct {
	Account string
	// Email is the token's address claim (Cognito's verified address).
	Email string
}

// Options configures the service.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
	// Retry paces the tries of a write that lost a race or was throttled.
	Retry    retry.Policy
	Notifier Notifier
}

// Service offers, cancels, accepts and lists transfers.
type Service struct {
	store   Store
	tickets *tickets.Service
	orders  Orders
	events  Events
	clock   clock.Clock
	log     *slog.Logger
	retry   retry.Policy
	notify  Notifier
}

// NewService builds the service.
func NewService(store Store, tk *tickets.Service, os Orders, evs Events, o Options) *Service {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Retry.Attempts <= 0 {
		o.Retry.Attempts = 5
	}
	if o.Retry.Base <= 0 {
		o.Retry.Base, o.Retry.Cap = 10*time.Millisecond, 200*time.Millisecond
	}
	return &Service{store: store, tickets: tk, orders: os, events: evs, clock: o.Clock, log: o.Logger, retry: o.Retry, notify: o.Notifier}
}

// ParseRecipient reads what a sender typed: an email address (it has an
// '@'; compared lowercase) or an account id.
func ParseRecipient(to string) (name string, email bool, err error) {
	to = strings.TrimSpace(to)
	if strings.Contains(to, "@") {
		a, perr := mail.ParseAddress(to)
		if perr != nil || a.Address != to || len(to) > limits.EmailBytes {
			return "", false, apperr.New(apperr.Invalid, "to must be an email address (at most %d bytes) or an account id", limits.EmailBytes)
		}
		return strings.ToLower(to), true, nil
	}
	if to == "" || len(to) > limits.AccountIDBytes || !printable(to) {
		return "", false, apperr.New(apperr.Invalid, "to must be an email address or an account id (1-%d printable characters, no spaces)", limits.AccountIDBytes)
	}
	return to, false, nil
}

func printable(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] <= 0x20 || v[i] > 0x7e {
			return false
		}
	}
	return true
}

// addressedTo: the transfer names p, by account or by address.
func addressedTo(t Transfer, p Party) bool {
	if t.ToEmail {
		return p.Email != "" && strings.EqualFold(p.Email, t.To)
	}
	return t.To == p.Account
}

// Offer offers ticket ticketID of one of sender's ISSUED orders to to.
//
// Errors: INVALID_REQUEST (to, or to is the sender), NOT_FOUND (no such
// ticket of the sender's), INVALID_STATE (the order is not ISSUED; the
// ticket was revoked, used, transferred, received, or is offered
// already), UNAVAILABLE.
func (s *Service) Offer(ctx context.Context, sender Party, ticketID, to string) (Transfer, error) {
	name, email, err := ParseRecipient(to)
	if err != nil {
		return Transfer{}, err
	}
	if (email && strings.EqualFold(name, sender.Email)) || (!email && name == sender.Account) {
		return Transfer{}, apperr.New(apperr.Invalid, "a ticket cannot be transferred to its own holder")
	}
	tk, err := s.tickets.Ticket(ctx, ticketID)
	if err != nil {
		return Transfer{}, err
	}
	o, err := s.orders.Order(ctx, sender.Account, tk.OrderID)
	if apperr.Is(err, apperr.NotFound) {
		if got, found, rerr := s.store.Transfer(ctx, tk.OrderID); rerr == nil && found && got.AcceptedBy == sender.Account {
			return Transfer{}, apperr.New(apperr.InvalidStateChange, "ticket %s was transferred to you: a received ticket cannot be transferred again", ticketID)
		}
		return Transfer{}, apperr.New(apperr.NotFound, "no ticket %s", ticketID)
	}
	if err != nil {
		return Transfer{}, err
	}
	if o.Status != orders.Issued {
		return Transfer{}, apperr.New(apperr.InvalidStateChange, "order %s is %s: only tickets of an issued order can be transferred", o.ID, o.Status)
	}
	if err := transferable(tk); err != nil {
		return Transfer{}, err
	}
	t := Transfer{
		ID: uuid.NewString(), TicketID: tk.ID, EventID: tk.EventID, OrderID: tk.OrderID, Seat: tk.Seat,
		From: sender.Account, FromEmail: sender.Email, To: name, ToEmail: email, Status: Pending, CreatedAt: s.clock.Now(),
	}
	err = s.store.Offer(ctx, t, tk.Version)
	if errors.Is(err, ErrTicketChanged) {
		return Transfer{}, apperr.Wrap(err, apperr.InvalidStateChange, "ticket %s is already offered in another transfer, or changed: cancel that transfer first", ticketID)
	}
	if err != nil {
		return Transfer{}, busy(fmt.Errorf("offer ticket %s: %w", ticketID, err), "the transfer could not be offered now; retry")
	}
	s.log.InfoContext(ctx, "transfer offered", "transferId", t.ID, "ticketId", t.TicketID, "orderId", t.OrderID, "from", t.From, "toEmail", t.ToEmail)
	if s.notify != nil {
		if err := s.notify.Offered(ctx, t); err != nil {
			// The offer stands; the recipient also sees it in their list.
			s.log.WarnContext(ctx, "transfer offer not queued for mail", "transferId", t.ID, "err", err)
		}
	}
	return t, nil
}

// transferable: the ticket as read can be offered.
func transferable(tk tickets.StoredTicket) error {
	switch {
	case tk.TransferredTo != "":
		return apperr.New(apperr.InvalidStateChange, "ticket %s was transferred already", tk.ID)
	case tk.Revoked():
		return apperr.New(apperr.InvalidStateChange, "ticket %s is revoked (%s)", tk.ID, tk.RevokeReason)
	case tk.ScanNonce != "":
		return apperr.New(apperr.InvalidStateChange, "ticket %s was used at the gate", tk.ID)
	}
	return nil
}

// Cancel withdraws a pending offer; only its sender may.
//
// Errors: NOT_FOUND (no such transfer of the sender's), INVALID_STATE
// (accepted, or cancelled already), UNAVAILABLE.
func (s *Service) Cancel(ctx context.Context, sender Party, id string) (Transfer, error) {
	for b := s.retry.Start(); ; {
		t, err := s.cancelOnce(ctx, sender, id)
		if again, err := b.Again(ctx, err); !again {
			if err != nil {
				return Transfer{}, busy(err, "the transfer could not be cancelled now; retry")
			}
			return t, nil
		}
	}
}

func (s *Service) cancelOnce(ctx context.Context, sender Party, id string) (Transfer, error) {
	t, found, err := s.store.Transfer(ctx, id)
	if err != nil {
		return Transfer{}, fmt.Errorf("read transfer %s: %w", id, err)
	}
	if !found || t.From != sender.Account {
		return Transfer{}, apperr.New(apperr.NotFound, "no transfer %s", id)
	}
	if t.Status != Pending {
		return Transfer{}, apperr.New(apperr.InvalidStateChange, "transfer %s is %s", id, t.Status)
	}
	now := s.clock.Now()
	switch err := s.store.Cancel(ctx, t, now); {
	case errors.Is(err, ErrNotPending):
		return Transfer{}, fault.E("cancel transfer", fault.Contention, err) // read again: say what won
	case err != nil:
		return Transfer{}, fmt.Errorf("cancel transfer %s: %w", id, err)
	}
	t.Status, t.DecidedAt = Cancelled, now
	s.log.InfoContext(ctx, "transfer cancelled", "transferId", t.ID, "ticketId", t.TicketID, "from", t.From)
	return t, nil
}

// Accept takes a pending offer addressed to who. Accepting again answers
// the accepted transfer.
//
// Errors: NOT_FOUND (no such transfer addressed to who), INVALID_STATE
// (cancelled; the ticket was refunded, used or changed), CONFLICT (who
// already has the event's tickets-per-account limit), UNAVAILABLE.
func (s *Service) Accept(ctx context.Context, who Party, id string) (Transfer, error) {
	for b := s.retry.Start(); ; {
		t, err := s.acceptOnce(ctx, who, id)
		if again, err := b.Again(ctx, err); !again {
			if err != nil {
				return Transfer{}, busy(err, "the transfer could not be accepted now; retry")
			}
			return t, nil
		}
	}
}

func (s *Service) acceptOnce(ctx context.Context, who Party, id string) (Transfer, error) {
	t, found, err := s.store.Transfer(ctx, id)
	if err != nil {
		return Transfer{}, fmt.Errorf("read transfer %s: %w", id, err)
	}
	if !found || !addressedTo(t, who) {
		return Transfer{}, apperr.New(apperr.NotFound, "no transfer %s", id)
	}
	switch {
	case t.Status == Accepted && t.AcceptedBy == who.Account:
		return t, nil
	case t.Status != Pending:
		return Transfer{}, apperr.New(apperr.InvalidStateChange, "transfer %s is %s", id, t.Status)
	}
	old, err := s.tickets.Ticket(ctx, t.TicketID)
	if err != nil {
		return Transfer{}, err
	}
	if err := transferable(old); err != nil {
		return Transfer{}, err
	}
	max, err := s.events.MaxTicketsPerAccount(ctx, t.EventID)
	if err != nil {
		return Transfer{}, fmt.Errorf("limit of event %s: %w", t.EventID, err)
	}
	now := s.clock.Now()
	a := t
	a.Status, a.DecidedAt, a.AcceptedBy = Accepted, now, who.Account
	a.NewTicketID = tickets.TicketID(t.ID, t.Seat)
	nt := tickets.Ticket{ID: a.NewTicketID, EventID: t.EventID, Seat: t.Seat, OrderID: t.ID, Version: 1}
	switch err := s.store.Accept(ctx, Acceptance{Transfer: a, Old: old, New: nt, LimitMax: max}); {
	case errors.Is(err, ErrLimit):
		return Transfer{}, apperr.Wrap(err, apperr.Conflict, "this account already has %d tickets for this event, the most one account may have: it cannot receive another", max)
	case errors.Is(err, ErrOrderChanged):
		return Transfer{}, apperr.Wrap(err, apperr.InvalidStateChange, "the ticket's order was refunded: the transfer cannot be accepted")
	case errors.Is(err, ErrNotPending), errors.Is(err, ErrTicketChanged):
		return Transfer{}, fault.E("accept transfer", fault.Contention, err) // read again: say what changed
	case err != nil:
		return Transfer{}, fmt.Errorf("accept transfer %s: %w", id, err)
	}
	s.log.InfoContext(ctx, "transfer accepted", "transferId", a.ID, "ticketId", a.TicketID, "newTicketId", a.NewTicketID,
		"orderId", a.OrderID, "from", a.From, "to", a.AcceptedBy)
	if s.notify != nil {
		if err := s.notify.Accepted(ctx, a); err != nil {
			s.log.WarnContext(ctx, "transfer acceptance not queued for mail", "transferId", a.ID, "err", err)
		}
	}
	return a, nil
}

// Listing is what a fan sees of transfers: offers to them and by them.
type Listing struct {
	Incoming []Transfer
	Outgoing []Transfer
}

// For lists p's transfers: addressed to their account or address, and
// offered by them.
func (s *Service) For(ctx context.Context, p Party) (Listing, error) {
	keys := []string{recipientKey(p.Account, false)}
	if p.Email != "" {
		keys = append(keys, recipientKey(strings.ToLower(p.Email), true))
	}
	in, err := s.store.To(ctx, keys)
	if err != nil {
		return Listing{}, fmt.Errorf("transfers to %s: %w", p.Account, err)
	}
	out, err := s.store.From(ctx, p.Account)
	if err != nil {
		return Listing{}, fmt.Errorf("transfers from %s: %w", p.Account, err)
	}
	// An accepted transfer named by address is another account's once
	// someone else with that address took it: show it only to the taker.
	kept := in[:0]
	for _, t := range in {
		if t.Status != Accepted || t.AcceptedBy == p.Account {
			kept = append(kept, t)
		}
	}
	return Listing{Incoming: kept, Outgoing: out}, nil
}

// ForOrder lists the transfers of an order's tickets (the box office's
// order history), newest first. account is the order's buyer.
func (s *Service) ForOrder(ctx context.Context, account, orderID string) ([]Transfer, error) {
	all, err := s.store.From(ctx, account)
	if err != nil {
		return nil, fmt.Errorf("transfers of order %s: %w", orderID, err)
	}
	var out []Transfer
	for _, t := range all {
		if t.OrderID == orderID {
			out = append(out, t)
		}
	}
	return out, nil
}

// Tickets renders the ticket an accepted transfer gave its recipient, with
// its code and QR image.
func (s *Service) Tickets(ctx context.Context, t Transfer) ([]tickets.IssuedTicket, error) {
	if t.Status != Accepted || t.NewTicketID == "" {
		return []tickets.IssuedTicket{}, nil
	}
	nt, err := s.tickets.Ticket(ctx, t.NewTicketID)
	if err != nil {
		return nil, err
	}
	return s.tickets.Render(ctx, []tickets.StoredTicket{nt}, true)
}

// busy turns a retry that gave up into UNAVAILABLE.
func busy(err error, msg string) error {
	if errors.Is(err, retry.ErrExhausted) {
		return apperr.Wrap(err, apperr.Unavailable, "%s", msg)
	}
	return err
}
