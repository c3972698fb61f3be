package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/seatmgmt"
	"github.com/stararena/stararena/internal/tenancy"
)

// seatHandlers are the admin routes of seat management and comps (ADR 30).
func seatHandlers(st Staff) map[string]httpapi.Handler {
	return map[string]httpapi.Handler{
		"GET /admin/v1/events/{eventId}/seats":                seatSummary(st),
		"POST /admin/v1/events/{eventId}/seats/kill":          seatAction(st, seatmgmt.Kill),
		"POST /admin/v1/events/{eventId}/seats/hold-back":     seatAction(st, seatmgmt.HoldBack),
		"POST /admin/v1/events/{eventId}/seats/release":       seatAction(st, seatmgmt.Release),
		"POST /admin/v1/events/{eventId}/seats/accessibility": markSeats(st),
		"POST /admin/v1/events/{eventId}/comps":               createComp(st),
	}
}

// seatAction kills, holds back or releases seats (ADR 30). Refused seats
// are part of a 200 answer: each seat stands alone, and the organizer
// sees which were left as they were and why.
func seatAction(st Staff, action seatmgmt.Action) httpapi.Handler {
	return func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		var req seatmgmt.Request
		if err := r.Decode(&req); err != nil {
			return httpapi.Response{}, err
		}
		res, err := st.Seats.Apply(ctx, r.Path("eventId"), action, req.Selection)
		if len(res.Changed) > 0 {
			// Record what changed even when a later seat failed: the
			// changes stand.
			detail := fmt.Sprintf("%s %d seats: %s", action, len(res.Changed), clip(res.Changed))
			if aerr := audit(ctx, st, r, tenancy.Entry{Action: tenancy.ActionSeats, Detail: detail}); aerr != nil && err == nil {
				err = aerr
			}
		}
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.JSON(http.StatusOK, res), nil
	}
}

// markSeats sets or clears the wheelchair and companion marks of seats.
func markSeats(st Staff) httpapi.Handler {
	return func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		var req seatmgmt.MarkRequest
		if err := r.Decode(&req); err != nil {
			return httpapi.Response{}, err
		}
		_, n, err := st.Seats.Mark(ctx, r.Path("eventId"), req)
		if err != nil {
			return httpapi.Response{}, err
		}
		if err := audit(ctx, st, r, tenancy.Entry{Action: tenancy.ActionMarkSeats, Detail: fmt.Sprintf("%d seats marked %s", n, req.Mark)}); err != nil {
			return httpapi.Response{}, err
		}
		sum, err := st.Seats.Summarize(ctx, r.Path("eventId"))
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.JSON(http.StatusOK, sum), nil
	}
}

func seatSummary(st Staff) httpapi.Handler {
	return func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		sum, err := st.Seats.Summarize(ctx, r.Path("eventId"))
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.JSON(http.StatusOK, sum), nil
	}
}

// clip lists seat ids for an audit line, the first few of many.
func clip(ids []string) string {
	const shown = 20
	if len(ids) <= shown {
		return strings.Join(ids, ", ")
	}
	return strings.Join(ids[:shown], ", ") + fmt.Sprintf(" and %d more", len(ids)-shown)
}

// createComp issues complimentary tickets: an order of price zero whose
// seats are sold to the recipient at once (ADR 30).
func createComp(st Staff) httpapi.Handler {
	return func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		var req seatmgmt.CompRequest
		if err := r.Decode(&req); err != nil {
			return httpapi.Response{}, err
		}
		c, err := st.Seats.Comp(ctx, r.Path("eventId"), r.Access.Subject, req)
		if err != nil {
			return httpapi.Response{}, err
		}
		detail := fmt.Sprintf("%d comp tickets for %s: %s", len(c.Seats), c.To, clip(c.Seats))
		if err := audit(ctx, st, r, tenancy.Entry{Action: tenancy.ActionComp, OrderID: c.OrderID, Detail: detail}); err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.JSON(http.StatusCreated, c), nil
	}
}
