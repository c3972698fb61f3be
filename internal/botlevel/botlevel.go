// Package botlevel raises and lowers the bot check an event's joins meet
// during a sale (ADR 22). Every join meets the WAF's Challenge; an
// organizer who sees bots winning raises an event to CAPTCHA, and its
// joins then need a solved puzzle. The level lives at the edge, not in the
// table: in AWS a WAF regex pattern set of the events' join paths that a
// CAPTCHA rule matches, locally the CDN stand-in's list.
package botlevel

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/topology"
)

// Level is what an event's joins meet at the edge.
type Level string

// Levels.
const (
	// Challenge: the WAF's silent browser check (every join, the default).
	Challenge Level = "challenge"
	// Captcha: a puzzle the fan solves, on top of the challenge.
	Captcha Level = "captcha"
)

// Edge is where the level takes effect.
type Edge interface {
	// SetCaptcha puts the event's joins behind a CAPTCHA (on) or takes
	// them out (off). Setting what is already set is not an error.
	SetCaptcha(ctx context.Context, eventID string, on bool) error
}

// Request is PUT /admin/v1/events/{eventId}/bot-level.
type Request struct {
	Level Level `json:"level"`
}

// State is the answer: the event's level now.
type State struct {
	EventID string `json:"eventId"`
	Level   Level  `json:"level"`
}

// Service sets levels.
type Service struct {
	edge Edge
}

// New returns a Service acting on edge; nil means no edge is deployed
// (no CloudFront in front of the API), and setting a level is refused.
func New(edge Edge) *Service { return &Service{edge: edge} }

// Set sets eventID's level.
func (s *Service) Set(ctx context.Context, eventID string, req Request) (State, error) {
	if req.Level != Challenge && req.Level != Captcha {
		return State{}, apperr.New(apperr.Invalid, `level: want "challenge" or "captcha"`)
	}
	if s.edge == nil {
		return State{}, apperr.New(apperr.Conflict, "this deployment has no edge (CloudFront and its WAF) to raise the bot check at")
	}
	if err := s.edge.SetCaptcha(ctx, eventID, req.Level == Captcha); err != nil {
		return State{}, fmt.Errorf("set %s's bot level to %s: %w", eventID, req.Level, err)
	}
	return State{EventID: eventID, Level: req.Level}, nil
}

// NoEvents is the pattern a set of CAPTCHA events always holds, so it is
// never empty: it matches no path (a request path is at least "/").
const NoEvents = "^$"

// EventPatterns are the WAF regular expressions matching eventID's join
// paths (the SQS-integrated routes of topo with {eventId} set): one per
// join route, so an event at CAPTCHA adds one pattern per join route.
func EventPatterns(topo topology.Topology, eventID string) []string {
	var out []string
	for _, r := range topo.Routes {
		if r.Integration != topology.IntegrationSQS {
			continue
		}
		parts := strings.Split(r.Path, "{eventId}")
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		out = append(out, "^"+strings.Join(parts, regexp.QuoteMeta(eventID))+"$")
	}
	return out
}
