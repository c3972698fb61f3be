package handlers

import (
	"context"
	"encoding/base64"
	"net/http"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/tenancy"
	"github.com/stararena/stararena/internal/tickets"
)

// setTicketCodes answers PUT /admin/v1/events/{eventId}/ticket-codes: the
// organizer chooses whether the event's gates accept printed (static)
// codes besides rotating ones (ADR 28).
func setTicketCodes(svc *catalog.Service, st Staff, c clock.Clock) httpapi.Handler {
	return func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		var req catalog.TicketCodesRequest
		if err := r.Decode(&req); err != nil {
			return httpapi.Response{}, err
		}
		ev, err := svc.SetTicketCodes(ctx, r.Path("eventId"), req, r.Identity.Subject)
		if err != nil {
			return httpapi.Response{}, err
		}
		if err := audit(ctx, st, r, tenancy.Entry{Action: tenancy.ActionTicketCodes, Detail: req.Mode}); err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.JSON(http.StatusOK, view(ev, c)), nil
	}
}

// GateRotationKey is an event's gate key for the ticket key KID: with it a
// gate derives each ticket's rotation secret and checks rotating codes
// offline. It is secret, and the kit is given only to the event's staff.
type GateRotationKey struct {
	KID string `json:"kid"`
	Key string `json:"key"`
}

// rotatingKit adds to kit what a gate needs to check rotating codes: the
// event's gate keys and whether static codes are accepted.
func rotatingKit(ctx context.Context, svc *catalog.Service, tk *tickets.Service, kit *GateKit) error {
	ev, err := svc.Get(ctx, kit.EventID)
	if err != nil {
		return err
	}
	gks, err := tk.Codec().GateKeys(kit.EventID)
	if err != nil {
		return err
	}
	kit.RotationKeys = make([]GateRotationKey, 0, len(gks))
	for _, g := range gks {
		kit.RotationKeys = append(kit.RotationKeys, GateRotationKey{KID: g.KID, Key: base64.RawURLEncoding.EncodeToString(g.Key)})
	}
	kit.TicketCodes = catalog.CodesRotatingAndPrintable
	if !ev.StaticCodesAccepted() {
		kit.TicketCodes = catalog.CodesRotatingOnly
	}
	kit.StepSeconds = tickets.StepSeconds
	return nil
}
