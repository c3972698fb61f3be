package handlers

import (
	"context"
	"fmt"
	"net/http"

	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/tenancy"
	"github.com/stararena/stararena/internal/waitlist"
)

// waitlistFanHandlers are a fan's waiting-list routes (the admission
// function: an offer is an admission token).
func waitlistFanHandlers(wl *waitlist.Service) map[string]httpapi.Handler {
	return map[string]httpapi.Handler{
		"POST /v1/events/{eventId}/waitlist": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			var req waitlist.JoinRequest
			if len(r.Body) > 0 {
				if err := r.Decode(&req); err != nil {
					return httpapi.Response{}, err
				}
			}
			v, created, err := wl.Join(ctx, r.Identity.Subject, r.Identity.Email, r.Path("eventId"), req)
			if err != nil {
				return httpapi.Response{}, err
			}
			status := http.StatusOK
			if created {
				status = http.StatusCreated
			}
			return httpapi.JSON(status, v), nil
		},
		"GET /v1/events/{eventId}/waitlist": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			v, err := wl.Me(ctx, r.Identity.Subject, r.Path("eventId"))
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, v), nil
		},
		"DELETE /v1/events/{eventId}/waitlist": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			if err := wl.Leave(ctx, r.Identity.Subject, r.Path("eventId")); err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.Response{Status: http.StatusNoContent}, nil
		},
	}
}

// waitlistAdminHandlers are the organizer's waiting-list routes: its size
// and the offer window, whose change is audited.
func waitlistAdminHandlers(st Staff) map[string]httpapi.Handler {
	return map[string]httpapi.Handler{
		"GET /admin/v1/events/{eventId}/waitlist": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			sum, err := st.Waitlist.Summarize(ctx, r.Path("eventId"))
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, sum), nil
		},
		"POST /admin/v1/events/{eventId}/waitlist": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			var req waitlist.SettingsRequest
			if err := r.Decode(&req); err != nil {
				return httpapi.Response{}, err
			}
			sum, err := st.Waitlist.Configure(ctx, r.Path("eventId"), req)
			if err != nil {
				return httpapi.Response{}, err
			}
			e := tenancy.Entry{Action: tenancy.ActionWaitlist, EventID: r.Path("eventId"), Detail: fmt.Sprintf("offers last %d minutes", req.OfferMinutes)}
			if err := audit(ctx, st, r, e); err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, sum), nil
		},
	}
}
