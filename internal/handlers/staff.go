package handlers

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/botlevel"
	"github.com/stararena/stararena/internal/cancellation"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/presale"
	"github.com/stararena/stararena/internal/seatmgmt"
	"github.com/stararena/stararena/internal/tenancy"
	"github.com/stararena/stararena/internal/tickets"
	"github.com/stararena/stararena/internal/transfers"
	"github.com/stararena/stararena/internal/waitlist"
)

// Staff is what the organizer routes beyond events need: the
// organization's roles and audit log, and orders and tickets for the box
// office.
type Staff struct {
	Tenancy *tenancy.Service
	Orders  OrderReader
	Tickets *tickets.Service
	Presale *presale.Service
	// BotLevel raises an event's bot check at the edge.
	BotLevel *botlevel.Service
	// Waitlist is the events' waiting lists after sell-out.
	Waitlist *waitlist.Service
	// Cancellation cancels events and reports the refunds' progress.
	Cancellation *cancellation.Service
	// Transfers shows an order's ticket transfers in its history.
	Transfers *transfers.Service
	// Seats kills, holds back and releases seats and marks accessible ones.
	Seats *seatmgmt.Service
}

// OrderReader reads any order (orders.Service).
type OrderReader interface {
	Get(ctx context.Context, id string) (orders.Order, error)
}

// audit records a staff action after it succeeded. A lost audit line fails
// the request, so the caller retries (every audited action is idempotent
// or refused the second time) rather than acting unrecorded.
func audit(ctx context.Context, st Staff, r *httpapi.Request, e tenancy.Entry) error {
	return st.Tenancy.Record(ctx, r.Access, e)
}

// StaffOrderView is an order as the box office sees it: the order, its
// tickets' states and what happened to it.
type StaffOrderView struct {
	OrderView
	Account string `json:"account"`
	// Email is the buyer's address as the hold recorded it (empty for
	// orders held before accounts carried one).
	Email   string         `json:"email,omitempty"`
	History []HistoryEntry `json:"history"`
}

// HistoryEntry is one step of an order's life.
type HistoryEntry struct {
	At     time.Time `json:"at"`
	What   string    `json:"what"`
	Actor  string    `json:"actor,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

func orderHistory(o orders.Order, entries []tenancy.Entry) []HistoryEntry {
	h := []HistoryEntry{{At: o.CreatedAt, What: "held", Actor: o.Account}}
	if !o.PaidAt.IsZero() {
		h = append(h, HistoryEntry{At: o.PaidAt, What: "paid", Detail: o.Provider})
	}
	if !o.IssuedAt.IsZero() {
		h = append(h, HistoryEntry{At: o.IssuedAt, What: "tickets issued"})
	}
	if !o.RefundRequestedAt.IsZero() {
		h = append(h, HistoryEntry{At: o.RefundRequestedAt, What: "refund requested", Actor: o.RefundRequestedBy, Detail: o.RefundReason})
	}
	for _, e := range entries {
		if e.OrderID == o.ID && e.Action != tenancy.ActionRefund { // the order itself records its refund
			h = append(h, HistoryEntry{At: e.At, What: string(e.Action), Actor: e.Actor, Detail: e.Detail})
		}
	}
	h = append(h, HistoryEntry{At: o.UpdatedAt, What: "now " + string(o.Status)})
	slices.SortStableFunc(h, func(a, b HistoryEntry) int { return a.At.Compare(b.At) })
	return h
}

func staffOrder(ctx context.Context, st Staff, org string, o orders.Order) (StaffOrderView, error) {
	v := StaffOrderView{OrderView: orderView(o), Account: o.Account, Email: o.Email}
	ts, err := st.Tickets.ForOrder(ctx, o.ID)
	if err != nil {
		return v, err
	}
	for _, t := range ticketViews(ts) {
		t.QR = "" // the box office reads states and codes; images are the fan's
		v.Tickets = append(v.Tickets, t)
	}
	entries, err := st.Tenancy.Audit(ctx, org)
	if err != nil {
		return v, err
	}
	v.History = orderHistory(o, entries)
	if st.Transfers != nil {
		trs, err := st.Transfers.ForOrder(ctx, o.Account, o.ID)
		if err != nil {
			return v, err
		}
		v.History = append(v.History, transferHistory(trs)...)
		slices.SortStableFunc(v.History, func(a, b HistoryEntry) int { return a.At.Compare(b.At) })
	}
	return v, nil
}

// transferHistory tells an order's ticket transfers: who offered which
// seat to whom, and who accepted or cancelled.
func transferHistory(trs []transfers.Transfer) []HistoryEntry {
	var h []HistoryEntry
	for _, t := range trs {
		to := t.To
		if !t.ToEmail {
			to = "account " + t.To
		}
		h = append(h, HistoryEntry{At: t.CreatedAt, What: "transfer offered", Actor: t.From,
			Detail: fmt.Sprintf("seat %s (ticket %s) to %s; transfer %s", t.Seat, t.TicketID, to, t.ID)})
		switch t.Status {
		case transfers.Accepted:
			h = append(h, HistoryEntry{At: t.DecidedAt, What: "transfer accepted", Actor: t.AcceptedBy,
				Detail: fmt.Sprintf("seat %s: ticket %s revoked (transferred), ticket %s issued to %s", t.Seat, t.TicketID, t.NewTicketID, t.AcceptedBy)})
		case transfers.Cancelled:
			h = append(h, HistoryEntry{At: t.DecidedAt, What: "transfer cancelled", Actor: t.From, Detail: "seat " + t.Seat})
		}
	}
	return h
}

// staffHandlers are the routes of the admin function that work on orders,
// roles and the audit log.
func staffHandlers(svc *catalog.Service, rs ReportStore, st Staff, c clock.Clock) map[string]httpapi.Handler {
	return map[string]httpapi.Handler{
		"POST /admin/v1/events/{eventId}/presale-codes": createPresaleCodes(st),
		"PUT /admin/v1/events/{eventId}/bot-level":      setBotLevel(st),
		"GET /admin/v1/events/{eventId}/presale-codes": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			sum, err := st.Presale.List(ctx, r.Path("eventId"))
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, sum), nil
		},
		"GET /admin/v1/events": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			evs, err := svc.ListOrg(ctx, r.Access.Org)
			return listing(evs, err, c, view)
		},
		"GET /admin/v1/checkin/events": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			if r.Access.Role != tenancy.Scanner {
				evs, err := svc.ListOrg(ctx, r.Access.Org)
				return listing(evs, err, c, view)
			}
			evs := make([]catalog.Event, 0, len(r.Access.Events))
			for _, id := range r.Access.Events {
				ev, err := svc.Get(ctx, id)
				if err != nil {
					return httpapi.Response{}, err
				}
				evs = append(evs, ev)
			}
			return listing(evs, nil, c, view)
		},
		"GET /admin/v1/events/{eventId}/gate-kit": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			rs, err := st.Tickets.Revocations(ctx, r.Path("eventId"))
			if err != nil {
				return httpapi.Response{}, err
			}
			keys, err := st.Tickets.PublicKeys()
			if err != nil {
				return httpapi.Response{}, err
			}
			kit := gateKit(r.Path("eventId"), keys, rs, c.Now())
			if err := rotatingKit(ctx, svc, st.Tickets, &kit); err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, kit), nil
		},
		"GET /admin/v1/orders/{orderId}": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			o, err := st.Orders.Get(ctx, r.Path("orderId"))
			if err != nil {
				return httpapi.Response{}, err
			}
			v, err := staffOrder(ctx, st, r.Access.Org, o)
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, v), nil
		},
		"POST /admin/v1/orders/{orderId}/reissue": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			var body struct {
				Reason string `json:"reason"`
			}
			if err := r.Decode(&body); err != nil {
				return httpapi.Response{}, err
			}
			o, err := st.Orders.Get(ctx, r.Path("orderId"))
			if err != nil {
				return httpapi.Response{}, err
			}
			if _, err := st.Tickets.Reissue(ctx, o, body.Reason); err != nil {
				return httpapi.Response{}, err
			}
			if err := audit(ctx, st, r, tenancy.Entry{Action: tenancy.ActionReissue, OrderID: o.ID, Detail: body.Reason}); err != nil {
				return httpapi.Response{}, err
			}
			v, err := staffOrder(ctx, st, r.Access.Org, o)
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, v), nil
		},
		"GET /admin/v1/events/{eventId}/orders": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			seat, account, email := r.Query("seat"), r.Query("account"), r.Query("email")
			if len(seat) > limits.AccountIDBytes || len(account) > limits.AccountIDBytes {
				return httpapi.Response{}, apperr.New(apperr.Invalid, "seat and account are at most %d characters", limits.AccountIDBytes)
			}
			if len(email) > limits.EmailBytes {
				return httpapi.Response{}, apperr.New(apperr.Invalid, "email is at most %d characters", limits.EmailBytes)
			}
			os, err := rs.EventOrders(ctx, r.Path("eventId"))
			if err != nil {
				return httpapi.Response{}, err
			}
			out := []StaffOrderView{}
			for _, o := range os {
				// Addresses compare without case: a fan at the counter
				// spells theirs as they remember it.
				if (seat != "" && !slices.Contains(o.Seats, seat)) || (account != "" && o.Account != account) ||
					(email != "" && !strings.EqualFold(o.Email, email)) {
					continue
				}
				out = append(out, StaffOrderView{OrderView: orderView(o), Account: o.Account, Email: o.Email, History: []HistoryEntry{}})
			}
			slices.SortFunc(out, func(a, b StaffOrderView) int { return b.CreatedAt.Compare(a.CreatedAt) })
			if len(out) > limits.OrdersListed {
				out = out[:limits.OrdersListed]
			}
			return httpapi.JSON(http.StatusOK, map[string]any{"orders": out}), nil
		},
		"GET /admin/v1/staff": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			gs, err := st.Tenancy.Staff(ctx, r.Access.Org)
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, map[string]any{"org": r.Access.Org, "staff": gs}), nil
		},
		"POST /admin/v1/staff": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			var req tenancy.GrantRequest
			if err := r.Decode(&req); err != nil {
				return httpapi.Response{}, err
			}
			g, err := st.Tenancy.Grant(ctx, r.Access, req)
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, g), nil
		},
		"DELETE /admin/v1/staff/{subject}": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			g, err := st.Tenancy.Revoke(ctx, r.Access, r.Path("subject"))
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, g), nil
		},
		"GET /admin/v1/audit": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			es, err := st.Tenancy.Audit(ctx, r.Access.Org)
			if err != nil {
				return httpapi.Response{}, err
			}
			if ev := r.Query("eventId"); ev != "" {
				es = slices.DeleteFunc(es, func(e tenancy.Entry) bool { return e.EventID != ev })
			}
			return httpapi.JSON(http.StatusOK, map[string]any{"org": r.Access.Org, "entries": es}), nil
		},
	}
}

// GateKit is what a gate device keeps to check an event's codes offline
// (ADR 21): every key that may have signed them, and the tickets revoked.
type GateKit struct {
	EventID     string        `json:"eventId"`
	Keys        []GateKey     `json:"keys"`
	Revocations []GateRevoked `json:"revocations"`
	At          time.Time     `json:"at"`
	// RotationKeys check the event's rotating codes and TicketCodes says
	// whether static codes are accepted (ADR 28, ticketcodes.go).
	RotationKeys []GateRotationKey `json:"rotationKeys"`
	TicketCodes  string            `json:"ticketCodes"`
	StepSeconds  int               `json:"stepSeconds"`
}

// GateKey is an Ed25519 public key: X is its 32 bytes, base64url.
type GateKey struct {
	KID string `json:"kid"`
	Alg string `json:"alg"`
	X   string `json:"x"`
}

// GateRevoked refuses the codes of one ticket up to a version.
type GateRevoked struct {
	OrderID     string `json:"orderId"`
	Seat        string `json:"seat"`
	UpToVersion int    `json:"upToVersion"`
	// Reason is why (ReasonTransferred: the gate says so, as online).
	Reason string `json:"reason,omitempty"`
}

func gateKit(event string, keys []tickets.PublicKey, rs []tickets.Revocation, at time.Time) GateKit {
	k := GateKit{EventID: event, Keys: []GateKey{}, Revocations: []GateRevoked{}, At: at}
	for _, pk := range keys {
		k.Keys = append(k.Keys, GateKey{KID: pk.ID, Alg: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pk.Key)})
	}
	for _, r := range rs {
		k.Revocations = append(k.Revocations, GateRevoked{OrderID: r.OrderID, Seat: r.Seat, UpToVersion: r.UpToVersion, Reason: r.Reason})
	}
	return k
}

// saleDetail describes a sale change for the audit log.
func saleDetail(req catalog.SaleRequest) string {
	var parts []string
	if req.Action != "" {
		parts = append(parts, req.Action)
	}
	if req.AdmitPerMinute != nil {
		parts = append(parts, fmt.Sprintf("admitPerMinute=%d", *req.AdmitPerMinute))
	}
	return strings.Join(parts, " ")
}
