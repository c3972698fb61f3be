package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/checkout"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/metrics"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/payments"
	"github.com/stararena/stararena/internal/pricing"
	"github.com/stararena/stararena/internal/reconcile"
	"github.com/stararena/stararena/internal/tenancy"
	"github.com/stararena/stararena/internal/tickets"
	"github.com/stararena/stararena/internal/topology"
	"github.com/stararena/stararena/internal/transfers"
	"github.com/stararena/stararena/internal/waitroom"
)

// Orders builds the "orders" function: a fan's own orders, payments and
// tickets, and their tickets' transfers. payLimit bounds one account's
// payment requests, an order's first one aside.
func Orders(tp topology.Topology, inv *inventory.Service, providers checkout.Providers, payLimit *checkout.PaymentLimit, tk *tickets.Service, br BuyerRefunder, tr *transfers.Service, log *slog.Logger) (*httpapi.Function, error) {
	hs := map[string]httpapi.Handler{
		"POST /v1/orders/{orderId}/refund": buyerRefund(br),
		"GET /v1/orders/{orderId}": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			o, err := inv.OrderView(ctx, r.Identity.Subject, r.Path("orderId"))
			if err != nil {
				return httpapi.Response{}, err
			}
			v := orderView(o)
			if o.Status == orders.Issued {
				ts, err := tk.Shown(ctx, o)
				if err != nil {
					return httpapi.Response{}, err
				}
				v.Tickets = ticketViews(ts)
			}
			return httpapi.JSON(http.StatusOK, v), nil
		},
		"DELETE /v1/orders/{orderId}": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			o, err := inv.Cancel(ctx, r.Identity.Subject, r.Path("orderId"))
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, orderView(o)), nil
		},
		"GET /v1/me/orders": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			os, err := inv.Orders(ctx, r.Identity.Subject)
			if err != nil {
				return httpapi.Response{}, err
			}
			out := make([]OrderView, 0, len(os))
			for _, o := range os {
				out = append(out, orderView(o))
			}
			return httpapi.JSON(http.StatusOK, map[string]any{"orders": out}), nil
		},
		"POST /v1/orders/{orderId}/payments": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			var body struct {
				Provider string `json:"provider"`
			}
			if err := r.Decode(&body); err != nil {
				return httpapi.Response{}, err
			}
			// The order is read before the count: the request that starts
			// an order's first payment is not counted (checkout.PaymentLimit).
			// Every other one is, refused or not, before its answer.
			o, err := inv.Order(ctx, r.Identity.Subject, r.Path("orderId"))
			_, perr := providers.Get(body.Provider)
			if lerr := payLimit.Allow(ctx, r.Identity.Subject, o, err == nil && perr == nil); lerr != nil {
				return httpapi.Response{}, lerr
			}
			if err != nil {
				return httpapi.Response{}, err
			}
			pay, err := providers.StartPayment(ctx, o, body.Provider)
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusCreated, map[string]any{"paymentId": pay.ID, "provider": body.Provider,
				"checkoutUrl": pay.CheckoutURL, "clientSecret": pay.ClientSecret}), nil
		},
		"GET /v1/orders/{orderId}/tickets": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			// Only the order's account is read here, which never changes.
			o, err := inv.OrderView(ctx, r.Identity.Subject, r.Path("orderId")) // another fan's order is 404 (I6)
			if err != nil {
				return httpapi.Response{}, err
			}
			var ts []tickets.IssuedTicket
			if o.Status == orders.Issued {
				ts, err = tk.Shown(ctx, o) // the order lists them
			} else {
				ts, err = tk.ForAccount(ctx, r.Identity.Subject, o.ID)
			}
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, ticketViews(ts)), nil
		},
	}
	maps.Copy(hs, transferHandlers(tr))
	return httpapi.NewFunction("orders", tp, hs, log)
}

func ticketViews(ts []tickets.IssuedTicket) []TicketView {
	out := make([]TicketView, 0, len(ts))
	for _, t := range ts {
		out = append(out, TicketView{TicketID: t.ID, Seat: t.Seat, Status: t.Status, Code: t.Code, QR: t.QR, Rotation: t.Rotation})
	}
	return out
}

// TicketView is a ticket as its owner sees it.
type TicketView struct {
	TicketID string `json:"ticketId"`
	Seat     string `json:"seat"`
	Status   string `json:"status"`
	Code     string `json:"code,omitempty"`
	QR       string `json:"qr,omitempty"`
	// Rotation makes the rotating codes the owner's page shows (ADR 28).
	Rotation *tickets.Rotation `json:"rotation,omitempty"`
}

// CheckIn builds the "checkin" function: a gate scans codes for one event,
// which its scanner must be assigned to.
func CheckIn(tp topology.Topology, tk *tickets.Service, g httpapi.Guard, log *slog.Logger) (*httpapi.Function, error) {
	return guarded(httpapi.NewFunction("checkin", tp, map[string]httpapi.Handler{
		"POST /v1/checkin": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			var b struct {
				EventID string `json:"eventId"`
				Code    string `json:"code"`
				Nonce   string `json:"nonce"`
				Gate    string `json:"gate"`
				// ScannedAt: when an offline gate checked the code itself.
				ScannedAt string `json:"scannedAt"`
			}
			if err := r.Decode(&b); err != nil {
				return httpapi.Response{}, err
			}
			if b.EventID == "" {
				return httpapi.Response{}, apperr.New(apperr.Invalid, "eventId is required: a gate scans for one event")
			}
			var at time.Time
			if b.ScannedAt != "" {
				var err error
				if at, err = time.Parse(time.RFC3339, b.ScannedAt); err != nil {
					return httpapi.Response{}, apperr.New(apperr.Invalid, "scannedAt must be an RFC 3339 time")
				}
			}
			res, err := tk.CheckInScanned(ctx, b.EventID, b.Code, b.Nonce, b.Gate, at)
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, res), nil
		},
	}, log))(g)
}

// Webhooks builds the "webhooks" function. The raw body is passed on:
// the signature covers it byte for byte, and providers add fields, so it is
// not strictly decoded.
func Webhooks(tp topology.Topology, wh *checkout.Webhooks, m *metrics.Emitter, log *slog.Logger) (*httpapi.Function, error) {
	return httpapi.NewFunction("webhooks", tp, map[string]httpapi.Handler{
		"POST /webhooks/{provider}": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			res, err := wh.Handle(ctx, r.Path("provider"), r.Body, r.Header(payments.SignatureHeader))
			if err != nil {
				m.Count(metrics.WebhookOutcomes, 1, map[string]string{metrics.DimOutcome: string(apperr.CodeOf(err))})
				return httpapi.Response{}, err
			}
			outcome := string(res.Outcome)
			if res.Duplicate {
				outcome = "DUPLICATE_DELIVERY"
			} else if outcome == "" {
				outcome = "IGNORED"
			}
			m.Count(metrics.WebhookOutcomes, 1, map[string]string{metrics.DimOutcome: outcome})
			return httpapi.JSON(http.StatusOK, res), nil
		},
	}, log)
}

// Reconcile builds the "reconciler" function's HTTP route: one event, or
// every live event of the caller's organization.
func Reconcile(tp topology.Topology, rec *reconcile.Service, svc *catalog.Service, ten *tenancy.Service, c clock.Clock, log *slog.Logger) (*httpapi.Function, error) {
	return guarded(httpapi.NewFunction("reconciler", tp, map[string]httpapi.Handler{
		"POST /admin/v1/reconcile": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			var b struct {
				EventID string `json:"eventId"`
			}
			if len(r.Body) > 0 {
				if err := r.Decode(&b); err != nil {
					return httpapi.Response{}, err
				}
			}
			ids := []string{b.EventID}
			if b.EventID == "" {
				evs, err := svc.ListOrg(ctx, r.Access.Org)
				if err != nil {
					return httpapi.Response{}, err
				}
				ids = ids[:0]
				for _, ev := range evs {
					if ev.StartsAt.After(c.Now().Add(-24 * time.Hour)) { // as the schedule's live events
						ids = append(ids, ev.ID)
					}
				}
			}
			reps := []reconcile.Report{}
			for _, id := range ids {
				rep, err := rec.Run(ctx, id)
				if err != nil {
					return httpapi.Response{}, err
				}
				reps = append(reps, rep)
			}
			if err := ten.Record(ctx, r.Access, tenancy.Entry{Action: tenancy.ActionReconcile, Detail: fmt.Sprintf("%d events", len(ids))}); err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, map[string]any{"reports": reps}), nil
		},
	}, log))(ten)
}

// ReportStore reads what the organizer report shows.
type ReportStore interface {
	EventOrders(ctx context.Context, eventID string) ([]orders.Order, error)
	LastReconcileReport(ctx context.Context, eventID string) ([]byte, error)
}

// EventReport is GET /admin/v1/events/{eventId}/report.
type EventReport struct {
	EventID        string         `json:"eventId"`
	Capacity       int            `json:"capacity"`
	Available      int            `json:"available"`
	Held           int            `json:"held"`
	Sold           int            `json:"sold"`
	OrdersByStatus map[string]int `json:"ordersByStatus"`
	RevenueCents   int64          `json:"revenueCents"`
	RefundedCents  int64          `json:"refundedCents"`
	// Revenue and Refunded split the two sums into face value, fees and
	// tax (ADR 26): the organizer's, the service's and the tax office's.
	Revenue       MoneySplit      `json:"revenue"`
	Refunded      MoneySplit      `json:"refunded"`
	Currency      string          `json:"currency"`
	Queue         QueueReport     `json:"queue"`
	LastReconcile json.RawMessage `json:"lastReconcile"`

	// Comps are the complimentary orders and their tickets (ADR 30):
	// counted apart, never in revenue.
	Comps CompCount `json:"comps"`
}

// CompCount counts an event's live complimentary orders and tickets.
type CompCount struct {
	Orders  int `json:"orders"`
	Tickets int `json:"tickets"`
}

// MoneySplit sums the breakdowns of a set of orders.
type MoneySplit struct {
	FaceCents  int64 `json:"faceValueCents"`
	FeeCents   int64 `json:"feeCents"`
	TaxCents   int64 `json:"taxCents"`
	TotalCents int64 `json:"totalCents"`
}

func (m *MoneySplit) add(b pricing.Breakdown) {
	m.FaceCents += b.FaceCents
	m.FeeCents += b.FeeCents
	m.TaxCents += b.TaxCents
	m.TotalCents += b.TotalCents
}

// QueueReport is the waiting room's part of the report: how many joined,
// were served (let through by the inlet), admitted (took an admission
// token), used it for a hold, or let it expire (abandoned).
type QueueReport struct {
	Mode           string `json:"mode"`
	AdmitPerMinute int    `json:"admitPerMinute"`
	waitroom.Report
}

// QueueReporter reads an event's waiting-room counts.
type QueueReporter interface {
	Report(ctx context.Context, eventID string) (waitroom.Report, error)
}

func eventReport(ctx context.Context, svc *catalog.Service, rs ReportStore, qr QueueReporter, id string) (EventReport, error) {
	ev, err := svc.Get(ctx, id)
	if err != nil {
		return EventReport{}, err
	}
	av, err := svc.Availability(ctx, id)
	if err != nil {
		return EventReport{}, err
	}
	rep := EventReport{EventID: id, Capacity: ev.Capacity, Currency: ev.Currency, OrdersByStatus: map[string]int{}}
	for _, s := range av.Sections {
		rep.Available += s.Available
		rep.Held += s.Held
		rep.Sold += s.Sold
	}
	os, err := rs.EventOrders(ctx, id)
	if err != nil {
		return EventReport{}, err
	}
	for _, o := range os {
		rep.OrdersByStatus[string(o.Status)]++
		if o.Comp {
			if o.Status == orders.Paid || o.Status == orders.Issued || o.Status == orders.IssueFailed {
				rep.Comps.Orders++
				rep.Comps.Tickets += o.Places()
			}
			continue
		}
		switch o.Status {
		case orders.Paid, orders.Issued, orders.IssueFailed:
			rep.RevenueCents += o.AmountCents
			rep.Revenue.add(o.Breakdown())
		case orders.Refunded:
			rep.RefundedCents += o.AmountCents
			rep.Refunded.add(o.Breakdown())
		}
	}
	rep.Queue.Mode, rep.Queue.AdmitPerMinute = ev.Queue.Mode, ev.Queue.AdmitPerMinute
	if ev.Queue.Mode == catalog.QueueOn && qr != nil {
		if rep.Queue.Report, err = qr.Report(ctx, id); err != nil {
			return EventReport{}, err
		}
	}
	last, err := rs.LastReconcileReport(ctx, id)
	if err != nil {
		return EventReport{}, err
	}
	rep.LastReconcile = json.RawMessage("null")
	if len(last) > 0 {
		rep.LastReconcile = last
	}
	return rep, nil
}
