package tenancy

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/stararena/stararena/internal/limits"
)

// Action is what a staff member did.
type Action string

// Audited actions.
const (
	ActionCreateEvent Action = "event.create"
	ActionSale        Action = "event.sale" // open, pause, close, rate change
	ActionPresale     Action = "event.presale-codes"
	ActionBotLevel    Action = "event.bot-level"
	ActionPricing     Action = "event.pricing" // fee and tax setting
	ActionWaitlist    Action = "event.waitlist"
	ActionCancel      Action = "event.cancel"
	ActionPostpone    Action = "event.postpone"
	ActionSeats       Action = "event.seats"         // kill, hold back, release
	ActionMarkSeats   Action = "event.accessibility" // wheelchair and companion marks
	ActionComp        Action = "event.comps"         // complimentary tickets issued
	ActionTicketCodes Action = "event.ticket-codes"  // rotating only, or printable too
	ActionRefund      Action = "order.refund"
	ActionReissue     Action = "order.reissue"
	ActionReconcile   Action = "reconcile"
	ActionGrant       Action = "staff.grant"
	ActionRevoke      Action = "staff.revoke"
)

// Entry is one line of an organization's audit log.
type Entry struct {
	ID      string    `json:"id"`
	Org     string    `json:"org"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Role    Role      `json:"role"`
	Action  Action    `json:"action"`
	EventID string    `json:"eventId,omitempty"`
	OrderID string    `json:"orderId,omitempty"`
	Detail  string    `json:"detail,omitempty"`
}

// maxDetail bounds an entry's detail.
const maxDetail = 500

// Record appends e, done by acc, to acc's organization's log. The
// event defaults to the one acc touched.
func (s *Service) Record(ctx context.Context, acc Access, e Entry) error {
	e.ID, e.Org, e.At, e.Actor, e.Role = uuid.NewString(), acc.Org, s.clock.Now(), acc.Subject, acc.Role
	if e.EventID == "" {
		e.EventID = acc.EventID
	}
	if len(e.Detail) > maxDetail {
		e.Detail = e.Detail[:maxDetail]
	}
	if err := s.store.AppendAudit(ctx, e); err != nil {
		return fmt.Errorf("audit %s by %s: %w", e.Action, e.Actor, err)
	}
	return nil
}

// Audit returns org's newest entries first.
func (s *Service) Audit(ctx context.Context, org string) ([]Entry, error) {
	es, err := s.store.ListAudit(ctx, org, limits.AuditListed)
	if err != nil {
		return nil, fmt.Errorf("audit of %s: %w", org, err)
	}
	if es == nil {
		es = []Entry{}
	}
	return es, nil
}
