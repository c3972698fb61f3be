// Package wafedge is botlevel's Edge in AWS: the WAF regex pattern set of
// events whose joins meet a CAPTCHA. Its own package so that only the
// function that changes bot levels (admin) links the WAF client
// (internal/awsjson's: the SDK's brings the whole WAF model for two calls).
package wafedge

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/stararena/stararena/internal/awsconf"
	"github.com/stararena/stararena/internal/awsjson"
	"github.com/stararena/stararena/internal/botlevel"
	"github.com/stararena/stararena/internal/config"
	"github.com/stararena/stararena/internal/topology"
)

// WAF is the Edge in AWS: the edge stack's regex pattern set of CAPTCHA
// events (CAPTCHA_EVENTS_ARN), which the web ACL's JoinCaptcha rule
// matches against a join's path. The set is in us-east-1, as the
// CloudFront web ACL is, whatever the function's region.
type WAF struct {
	client   *awsjson.WAF
	name, id string
	topo     topology.Topology
}

// WAFRegion is where CloudFront's WAF resources live.
const WAFRegion = "us-east-1"

// lockRetries bounds the read-modify-write against another organizer's
// change to the same set (WAFOptimisticLockException).
const lockRetries = 5

// NewWAF returns the Edge updating the regex pattern set arn through
// client (which must be configured for WAFRegion).
func NewWAF(client *awsjson.WAF, arn string, topo topology.Topology) (*WAF, error) {
	name, id, err := ParsePatternSetARN(arn)
	if err != nil {
		return nil, err
	}
	return &WAF{client: client, name: name, id: id, topo: topo}, nil
}

// Connect is the edge of the configuration's CAPTCHA events set
// (CAPTCHA_EVENTS_ARN), nil without one: the wiring's BotLevel connector.
func Connect(ctx context.Context, cfg config.Config, topo topology.Topology) (botlevel.Edge, error) {
	if cfg.CaptchaEventsArn == "" {
		return nil, nil
	}
	// The set is CloudFront's, in us-east-1 whatever this region is.
	awsCfg, err := awsconf.Load(ctx, awsconf.Options{Region: WAFRegion, Service: "WAFV2"})
	if err != nil {
		return nil, fmt.Errorf("waf client: %w", err)
	}
	w, err := NewWAF(awsjson.NewWAF(awsCfg), cfg.CaptchaEventsArn, topo)
	if err != nil {
		return nil, fmt.Errorf("CAPTCHA_EVENTS_ARN: %w", err)
	}
	return w, nil
}

// ParsePatternSetARN reads a CloudFront-scoped regex pattern set's name and
// id from its ARN (arn:aws:wafv2:us-east-1:<account>:global/regexpatternset/<name>/<id>):
// UpdateRegexPatternSet takes them, not the ARN.
func ParsePatternSetARN(arn string) (name, id string, err error) {
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "wafv2" {
		return "", "", fmt.Errorf("regex pattern set %q: not a WAF ARN", arn)
	}
	res := strings.Split(parts[5], "/")
	// AWS names a CloudFront set's scope "global"; moto 5.2.1 "regional".
	// The scope sent with each call is CLOUDFRONT either way.
	if len(res) != 4 || (res[0] != "global" && res[0] != "regional") || res[1] != "regexpatternset" || res[2] == "" || res[3] == "" {
		return "", "", fmt.Errorf("regex pattern set %q: want global/regexpatternset/<name>/<id>", arn)
	}
	return res[2], res[3], nil
}

// SetCaptcha adds or removes the event's join patterns with the set's lock
// token, reading the set again when another change won the race.
func (w *WAF) SetCaptcha(ctx context.Context, eventID string, on bool) error {
	want := botlevel.EventPatterns(w.topo, eventID)
	for range lockRetries {
		got, lock, err := w.client.GetRegexPatternSet(ctx, w.name, w.id, awsjson.ScopeCloudFront)
		if err != nil {
			return fmt.Errorf("read regex pattern set %s: %w", w.name, err)
		}
		var current []string
		for _, r := range got.RegularExpressionList {
			current = append(current, r.RegexString)
		}
		next := withPatterns(current, want, on)
		if slices.Equal(next, current) {
			return nil
		}
		list := make([]awsjson.Regex, len(next))
		for i, p := range next {
			list[i] = awsjson.Regex{RegexString: p}
		}
		_, err = w.client.UpdateRegexPatternSet(ctx, awsjson.RegexPatternSet{
			Name: w.name, ID: w.id, Description: got.Description, RegularExpressionList: list,
		}, awsjson.ScopeCloudFront, lock)
		if awsjson.ErrorCode(err) == "WAFOptimisticLockException" {
			continue
		}
		if err != nil {
			return fmt.Errorf("update regex pattern set %s: %w", w.name, err)
		}
		return nil
	}
	return fmt.Errorf("update regex pattern set %s: changed by others %d times in a row", w.name, lockRetries)
}

// withPatterns is current with want added (on) or removed, keeping
// botlevel.NoEvents so the set is never empty, in a stable order.
func withPatterns(current, want []string, on bool) []string {
	out := []string{botlevel.NoEvents}
	for _, p := range current {
		if p != botlevel.NoEvents && (on || !slices.Contains(want, p)) && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if on {
		for _, p := range want {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	if len(current) > 0 && slices.Equal(sortedCopy(out), sortedCopy(current)) {
		return current
	}
	return out
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
