// Package handlers holds the HTTP handlers of each Lambda function: thin
// translations between httpapi requests and the domain services.
package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/pricing"
	"github.com/stararena/stararena/internal/tenancy"
	"github.com/stararena/stararena/internal/topology"
)

// EventView is an event as the API shows it: the stored event, each section
// placed on the venue map (a generated shape where the organizer gave
// none), plus the sale state a fan sees now.
type EventView struct {
	catalog.Event
	SaleState string `json:"saleState"`
}

func view(ev catalog.Event, c clock.Clock) EventView {
	ev.Sections = catalog.WithLayout(ev.Sections)
	return EventView{Event: ev, SaleState: ev.SaleState(c.Now())}
}

// publicView hides who created the event: in AWS that is an organizer's
// IAM principal, which names the account and role.
func publicView(ev catalog.Event, c clock.Clock) EventView {
	ev.CreatedBy, ev.Org = "", ""
	return view(ev, c)
}

// listing answers a list of events, each through show. A listing shows
// sections and prices; the seat map and the venue map are on the event
// itself.
func listing(evs []catalog.Event, err error, c clock.Clock, show func(catalog.Event, clock.Clock) EventView) (httpapi.Response, error) {
	if err != nil {
		return httpapi.Response{}, err
	}
	out := make([]EventView, 0, len(evs))
	for _, ev := range evs {
		v := show(ev, c)
		for i := range v.Sections {
			v.Sections[i].Rows, v.Sections[i].Shape = nil, nil
		}
		out = append(out, v)
	}
	return httpapi.JSON(http.StatusOK, map[string]any{"events": out}), nil
}

// Catalog builds the "catalog" function: health and public event reads.
func Catalog(tp topology.Topology, svc *catalog.Service, c clock.Clock, log *slog.Logger) (*httpapi.Function, error) {
	return httpapi.NewFunction("catalog", tp, map[string]httpapi.Handler{
		"GET /healthz": func(context.Context, *httpapi.Request) (httpapi.Response, error) {
			return httpapi.JSON(http.StatusOK, map[string]string{"status": "ok"}), nil
		},
		"GET /v1/events": func(ctx context.Context, _ *httpapi.Request) (httpapi.Response, error) {
			evs, err := svc.List(ctx)
			return listing(evs, err, c, publicView)
		},
		"GET /v1/events/{eventId}": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			ev, err := svc.Get(ctx, r.Path("eventId"))
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, publicView(ev, c)), nil
		},
		"GET /v1/events/{eventId}/availability": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			av, err := svc.Availability(ctx, r.Path("eventId"))
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, av), nil
		},
	}, log)
}

// Admin builds the "admin" function: the organizer API (events, reports,
// refunds, box office, staff and the audit log), every route checked by
// the organization's roles.
func Admin(tp topology.Topology, svc *catalog.Service, rs ReportStore, rf OrderRefunder, qr QueueReporter, st Staff, c clock.Clock, log *slog.Logger) (*httpapi.Function, error) {
	hs := map[string]httpapi.Handler{
		"POST /admin/v1/orders/{orderId}/refund": refundOrder(rf, st),
		"GET /admin/v1/events/{eventId}/report": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			rep, err := eventReport(ctx, svc, rs, qr, r.Path("eventId"))
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, rep), nil
		},
		"POST /admin/v1/events": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			ev, err := catalog.ParseCreateEvent(r.Body, r.MaxBody())
			if err != nil {
				return httpapi.Response{}, err
			}
			created, err := svc.Create(ctx, ev, r.Access.Org, r.Identity.Subject)
			if err != nil {
				return httpapi.Response{}, err
			}
			if err := audit(ctx, st, r, tenancy.Entry{Action: tenancy.ActionCreateEvent, EventID: created.ID, Detail: created.Name}); err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.Response{
				Status:  http.StatusCreated,
				Body:    view(created, c),
				Headers: map[string]string{"Location": "/admin/v1/events/" + created.ID},
			}, nil
		},
		"POST /admin/v1/events/{eventId}/sale": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			var req catalog.SaleRequest
			if err := r.Decode(&req); err != nil {
				return httpapi.Response{}, err
			}
			ev, err := svc.ControlSale(ctx, r.Path("eventId"), req, r.Identity.Subject)
			if err != nil {
				return httpapi.Response{}, err
			}
			if err := audit(ctx, st, r, tenancy.Entry{Action: tenancy.ActionSale, Detail: saleDetail(req)}); err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, view(ev, c)), nil
		},
		"PUT /admin/v1/events/{eventId}/ticket-codes": setTicketCodes(svc, st, c),
		"POST /admin/v1/events/{eventId}/pricing": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			var req pricing.Pricing
			if err := r.Decode(&req); err != nil {
				return httpapi.Response{}, err
			}
			ev, err := svc.SetPricing(ctx, r.Path("eventId"), &req, r.Identity.Subject)
			if err != nil {
				return httpapi.Response{}, err
			}
			if err := audit(ctx, st, r, tenancy.Entry{Action: tenancy.ActionPricing, Detail: pricingDetail(ev.Pricing)}); err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, view(ev, c)), nil
		},
		"GET /admin/v1/events/{eventId}": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			ev, err := svc.Get(ctx, r.Path("eventId"))
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, view(ev, c)), nil
		},
	}
	for k, h := range staffHandlers(svc, rs, st, c) {
		hs[k] = h
	}
	for k, h := range waitlistAdminHandlers(st) {
		hs[k] = h
	}
	for k, h := range cancellationHandlers(svc, st, c) {
		hs[k] = h
	}
	for k, h := range seatHandlers(st) {
		hs[k] = h
	}
	return guarded(httpapi.NewFunction("admin", tp, hs, log))(st.Tenancy)
}

// guarded sets the guard of a function's staff routes.
func guarded(f *httpapi.Function, err error) func(httpapi.Guard) (*httpapi.Function, error) {
	return func(g httpapi.Guard) (*httpapi.Function, error) {
		if err != nil {
			return nil, err
		}
		return f.Guarded(g), nil
	}
}

// pricingDetail is the audit log's line for a pricing change.
func pricingDetail(p *pricing.Pricing) string {
	if p == nil {
		return "face value only"
	}
	d := fmt.Sprintf("fee %d per ticket", p.FeeCents)
	if p.TaxBasisPoints != 0 {
		d += fmt.Sprintf(", tax %d bp %s", p.TaxBasisPoints, p.TaxMode)
	}
	return d
}
