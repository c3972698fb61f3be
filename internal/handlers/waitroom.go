package handlers

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/topology"
	"github.com/stararena/stararena/internal/waitroom"
)

// Queue builds the "queue" function: the waiting room's reads. The join
// itself never reaches a function (API Gateway sends it to SQS).
func Queue(tp topology.Topology, wr *waitroom.Service, log *slog.Logger) (*httpapi.Function, error) {
	eventID := func(r *httpapi.Request) (string, error) {
		id := r.Path("eventId")
		if !catalog.ValidEventID(id) {
			return "", apperr.New(apperr.NotFound, "no event %q", id)
		}
		return id, nil
	}
	return httpapi.NewFunction("queue", tp, map[string]httpapi.Handler{
		"GET /v1/events/{eventId}/queue-status": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			id, err := eventID(r)
			if err != nil {
				return httpapi.Response{}, err
			}
			st, err := wr.Status(ctx, id)
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, st), nil
		},
		"GET /v1/events/{eventId}/queue/me": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			id, err := eventID(r)
			if err != nil {
				return httpapi.Response{}, err
			}
			me, err := wr.Me(ctx, r.Identity.Subject, id)
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, me), nil
		},
		"GET /v1/events/{eventId}/queue/draw": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			id, err := eventID(r)
			if err != nil {
				return httpapi.Response{}, err
			}
			doc, err := wr.DrawDocument(ctx, id)
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, doc), nil
		},
		"GET /v1/events/{eventId}/queue/draw/{part}": func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			id, err := eventID(r)
			if err != nil {
				return httpapi.Response{}, err
			}
			part, err := wr.DrawPart(ctx, id, r.Path("part"))
			if err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, part), nil
		},
	}, log)
}
