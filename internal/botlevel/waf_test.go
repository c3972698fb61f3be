package botlevel_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/wafv2"
	"github.com/aws/aws-sdk-go-v2/service/wafv2/types"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/awsjson"
	"github.com/stararena/stararena/internal/botlevel"
	"github.com/stararena/stararena/internal/botlevel/wafedge"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/topology"
)

func TestEventPatternsMatchOnlyTheEventsJoin(t *testing.T) {
	got := botlevel.EventPatterns(topology.Default(), "demo.1")
	if !slices.Equal(got, []string{`^/v1/events/demo\.1/queue$`}) {
		t.Fatalf("patterns %q", got)
	}
}

func TestSetRefusesAnUnknownLevelAndAMissingEdge(t *testing.T) {
	ctx := context.Background()
	if _, err := botlevel.New(nil).Set(ctx, "e1", botlevel.Request{Level: botlevel.Captcha}); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("no edge: %v, want CONFLICT", err)
	}
	for _, l := range []botlevel.Level{"", "off", "CAPTCHA"} {
		if _, err := botlevel.New(nil).Set(ctx, "e1", botlevel.Request{Level: l}); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("level %q: %v, want INVALID_REQUEST", l, err)
		}
	}
}

// The AWS edge against moto's WAF (internal/awsjson's client; the set is
// made and read back with the SDK's): raising and lowering an event changes
// the CloudFront-scoped set's patterns through its lock token, keeps the
// never-matching one and other events'.
func TestWAFSetsTheCaptchaEventsPatternSet(t *testing.T) {
	ctx := context.Background()
	cfg := aws.Config{Region: wafedge.WAFRegion, BaseEndpoint: aws.String(testenv.Moto(t)),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	client := wafv2.NewFromConfig(cfg)
	set, err := client.CreateRegexPatternSet(ctx, &wafv2.CreateRegexPatternSetInput{
		Name: aws.String("CaptchaEvents"), Scope: types.ScopeCloudfront,
		RegularExpressionList: []types.Regex{{RegexString: aws.String(botlevel.NoEvents)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	edge := awsjson.NewWAF(cfg)
	w, err := wafedge.NewWAF(edge, aws.ToString(set.Summary.ARN), topology.Default())
	if err != nil {
		t.Fatal(err)
	}
	patterns := func() []string {
		out, err := client.GetRegexPatternSet(ctx, &wafv2.GetRegexPatternSetInput{Name: set.Summary.Name, Id: set.Summary.Id, Scope: types.ScopeCloudfront})
		if err != nil {
			t.Fatal(err)
		}
		var ps []string
		for _, r := range out.RegexPatternSet.RegularExpressionList {
			ps = append(ps, aws.ToString(r.RegexString))
		}
		slices.Sort(ps)
		return ps
	}
	svc := botlevel.New(w)
	for _, step := range []struct {
		event string
		level botlevel.Level
		want  []string
	}{
		{"e1", botlevel.Captcha, []string{`^$`, `^/v1/events/e1/queue$`}},
		{"e1", botlevel.Captcha, []string{`^$`, `^/v1/events/e1/queue$`}},
		{"e2", botlevel.Captcha, []string{`^$`, `^/v1/events/e1/queue$`, `^/v1/events/e2/queue$`}},
		{"e1", botlevel.Challenge, []string{`^$`, `^/v1/events/e2/queue$`}},
		{"e3", botlevel.Challenge, []string{`^$`, `^/v1/events/e2/queue$`}},
		{"e2", botlevel.Challenge, []string{`^$`}},
	} {
		st, err := svc.Set(ctx, step.event, botlevel.Request{Level: step.level})
		if err != nil || st != (botlevel.State{EventID: step.event, Level: step.level}) {
			t.Fatalf("%s to %s: %+v, %v", step.event, step.level, st, err)
		}
		if got := patterns(); !slices.Equal(got, step.want) {
			t.Fatalf("after %s to %s: %q, want %q", step.event, step.level, got, step.want)
		}
	}
	// AND an update with a stale lock token is refused (so SetCaptcha's
	// read-modify-write cannot lose another organizer's change)
	// with the error code SetCaptcha reads again on
	old, oldLock, err := edge.GetRegexPatternSet(ctx, aws.ToString(set.Summary.Name), aws.ToString(set.Summary.Id), awsjson.ScopeCloudFront)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetCaptcha(ctx, "e4", true); err != nil {
		t.Fatal(err)
	}
	old.RegularExpressionList = []awsjson.Regex{{RegexString: botlevel.NoEvents}}
	if _, err = edge.UpdateRegexPatternSet(ctx, old, awsjson.ScopeCloudFront, oldLock); awsjson.ErrorCode(err) != "WAFOptimisticLockException" {
		t.Fatalf("a stale lock token: %v", err)
	}
	// AND the set kept the change made with the current token
	if got := patterns(); !slices.Equal(got, []string{`^$`, `^/v1/events/e4/queue$`}) {
		t.Fatalf("after the stale update: %q", got)
	}
}

func TestParsePatternSetARN(t *testing.T) {
	name, id, err := wafedge.ParsePatternSetARN("arn:aws:wafv2:us-east-1:123456789012:global/regexpatternset/CaptchaEvents-x/a1b2")
	if err != nil || name != "CaptchaEvents-x" || id != "a1b2" {
		t.Fatalf("%q %q %v", name, id, err)
	}
	for _, bad := range []string{"", "arn:aws:wafv2:us-east-1:1:global/webacl/a/b", "arn:aws:s3:::b", "arn:aws:wafv2:us-east-1:1:global/regexpatternset//b"} {
		if _, _, err := wafedge.ParsePatternSetARN(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
