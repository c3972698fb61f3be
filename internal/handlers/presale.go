package handlers

import (
	"context"
	"fmt"
	"net/http"

	"github.com/stararena/stararena/internal/botlevel"
	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/presale"
	"github.com/stararena/stararena/internal/tenancy"
)

// createPresaleCodes answers the new codes in clear, the only time they
// are shown: the store keeps their hashes (ADR 23).
func createPresaleCodes(st Staff) httpapi.Handler {
	return func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		var req presale.CreateRequest
		if err := r.Decode(&req); err != nil {
			return httpapi.Response{}, err
		}
		out, err := st.Presale.Create(ctx, r.Path("eventId"), req)
		if err != nil {
			return httpapi.Response{}, err
		}
		detail := fmt.Sprintf("%d codes of %d uses, presale from %s", len(out.Codes), out.Uses, out.OpensAt.Format("2006-01-02T15:04:05Z"))
		if err := audit(ctx, st, r, tenancy.Entry{Action: tenancy.ActionPresale, Detail: detail}); err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.JSON(http.StatusCreated, out), nil
	}
}

// setBotLevel sets the bot check an event's joins meet at the edge
// (ADR 22), then records who did it: a raised level costs fans a puzzle.
func setBotLevel(st Staff) httpapi.Handler {
	return func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		var req botlevel.Request
		if err := r.Decode(&req); err != nil {
			return httpapi.Response{}, err
		}
		out, err := st.BotLevel.Set(ctx, r.Path("eventId"), req)
		if err != nil {
			return httpapi.Response{}, err
		}
		if err := audit(ctx, st, r, tenancy.Entry{Action: tenancy.ActionBotLevel, Detail: "joins meet " + string(out.Level)}); err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.JSON(http.StatusOK, out), nil
	}
}
