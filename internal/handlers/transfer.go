package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/transfers"
)

// TransferView is a ticket transfer as the fans on either side see it.
type TransferView struct {
	TransferID string `json:"transferId"`
	TicketID   string `json:"ticketId"`
	EventID    string `json:"eventId"`
	OrderID    string `json:"orderId,omitempty"`
	Seat       string `json:"seat"`
	// From is the sender's address (or account when the token had none).
	From string `json:"from"`
	// To is the recipient as the sender named them; ToKind says how.
	To        string    `json:"to"`
	ToKind    string    `json:"toKind"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
	DecidedAt time.Time `json:"decidedAt,omitzero"`
	// Tickets is the recipient's ticket once accepted (to the recipient only).
	Tickets []TicketView `json:"tickets,omitempty"`
}

func transferView(t transfers.Transfer, sender bool) TransferView {
	v := TransferView{TransferID: t.ID, TicketID: t.TicketID, EventID: t.EventID, Seat: t.Seat, From: t.FromEmail,
		To: t.To, ToKind: "account", Status: string(t.Status), CreatedAt: t.CreatedAt, DecidedAt: t.DecidedAt}
	if t.ToEmail {
		v.ToKind = "email"
	}
	if v.From == "" {
		v.From = t.From
	}
	if sender {
		v.OrderID = t.OrderID // the recipient has no business with the buyer's order
	}
	return v
}

// maxPathID bounds a ticket or transfer id in a path: longer is no id of ours.
const maxPathID = 64

func pathID(r *httpapi.Request, name, what string) (string, error) {
	id := r.Path(name)
	if id == "" || len(id) > maxPathID {
		return "", apperr.New(apperr.NotFound, "no %s %q", what, id)
	}
	return id, nil
}

// noBody accepts an empty body or {}: the route takes no fields.
func noBody(r *httpapi.Request) error {
	if len(r.Body) == 0 {
		return nil
	}
	var body struct{}
	return r.Decode(&body)
}

func party(r *httpapi.Request) transfers.Party {
	return transfers.Party{Account: r.Identity.Subject, Email: r.Identity.Email}
}

// transferHandlers are the orders function's transfer routes (ADR 29).
func transferHandlers(tr *transfers.Service) map[string]httpapi.Handler {
	withTickets := func(ctx context.Context, t transfers.Transfer) (TransferView, error) {
		v := transferView(t, false)
		ts, err := tr.Tickets(ctx, t)
		if err != nil {
			return v, err
		}
		if len(ts) > 0 {
			v.Tickets = ticketViews(ts)
		}
		return v, nil
	}
	return map[string]httpapi.Handler{
		"POST /v1/tickets/{ticketId}/transfers": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			var body struct {
				To string `json:"to"`
			}
			if err := r.Decode(&body); err != nil {
				return httpapi.Response{}, err
			}
			id, err := pathID(r, "ticketId", "ticket")
			if err != nil {
				return httpapi.Response{}, err
			}
			t, err := tr.Offer(ctx, party(r), id, body.To)
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusCreated, transferView(t, true)), nil
		},
		"POST /v1/transfers/{transferId}/cancel": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			if err := noBody(r); err != nil {
				return httpapi.Response{}, err
			}
			id, err := pathID(r, "transferId", "transfer")
			if err != nil {
				return httpapi.Response{}, err
			}
			t, err := tr.Cancel(ctx, party(r), id)
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, transferView(t, true)), nil
		},
		"POST /v1/transfers/{transferId}/accept": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			if err := noBody(r); err != nil {
				return httpapi.Response{}, err
			}
			id, err := pathID(r, "transferId", "transfer")
			if err != nil {
				return httpapi.Response{}, err
			}
			t, err := tr.Accept(ctx, party(r), id)
			if err != nil {
				return httpapi.Response{}, err
			}
			v, err := withTickets(ctx, t)
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, v), nil
		},
		"GET /v1/me/transfers": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			l, err := tr.For(ctx, party(r))
			if err != nil {
				return httpapi.Response{}, err
			}
			in, out := make([]TransferView, 0, len(l.Incoming)), make([]TransferView, 0, len(l.Outgoing))
			for _, t := range l.Incoming {
				v, err := withTickets(ctx, t)
				if err != nil {
					return httpapi.Response{}, err
				}
				in = append(in, v)
			}
			for _, t := range l.Outgoing {
				out = append(out, transferView(t, true))
			}
			return httpapi.JSON(http.StatusOK, map[string]any{"incoming": in, "outgoing": out}), nil
		},
	}
}
