package ratelimit_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/metrics"
	"github.com/stararena/stararena/internal/ratelimit"
	"github.com/stararena/stararena/internal/testenv"
)

func TestLimiterAllowsLimitPerWindowPerSubject(t *testing.T) {
	ctx := context.Background()
	db, table := testenv.DynamoDB(t)
	clk := clock.NewManual(time.Date(2027, 3, 1, 19, 0, 10, 0, time.UTC))
	l := &ratelimit.Limiter{Name: "admission", Limit: 3, Window: time.Minute, Store: dynamo.NewStores(db, table, clk).RateLimit, Clock: clk}
	for i := range 3 {
		if err := l.Allow(ctx, "ev#fan-1"); err != nil {
			t.Fatalf("call %d refused: %v", i+1, err)
		}
	}
	err := l.Allow(ctx, "ev#fan-1")
	if !apperr.Is(err, apperr.RateLimited) {
		t.Fatalf("4th call in the window: %v, want RATE_LIMITED", err)
	}
	var ae *apperr.Error
	if e, ok := err.(*apperr.Error); ok {
		ae = e
	}
	if ae == nil || ae.Details["retryAfterSeconds"] != 51 {
		t.Fatalf("retry after: %+v, want 51 s (the window ends at :00)", ae)
	}
	if err := l.Allow(ctx, "ev#fan-2"); err != nil {
		t.Fatalf("another account is limited by fan-1's calls: %v", err)
	}
	clk.Advance(time.Minute)
	if err := l.Allow(ctx, "ev#fan-1"); err != nil {
		t.Fatalf("next window still refused: %v", err)
	}
}

// A limiter whose counter is throttled: holds refuse the call (503 with a
// Retry-After), admission lets it through; both log it and count it.
func TestLimiterWhoseStoreIsThrottled(t *testing.T) {
	ctx := context.Background()
	db, table := testenv.ThrottledDynamoDB(t, func(op string, _ []byte) bool { return op == "UpdateItem" })
	clk := clock.NewManual(time.Date(2027, 3, 1, 19, 0, 10, 0, time.UTC))
	store := dynamo.NewStores(db, table, clk).RateLimit
	for _, c := range []struct {
		name       string
		failClosed bool
		want       apperr.Code
	}{
		{"holds", true, apperr.Unavailable},
		{"admission", false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs, emf bytes.Buffer
			l := &ratelimit.Limiter{Name: c.name, Limit: 3, Window: time.Minute, Store: store, Clock: clk, FailClosed: c.failClosed,
				Log: slog.New(slog.NewJSONHandler(&logs, nil)), Metrics: metrics.NewEmitter(&emf, "holds", clk)}
			err := l.Allow(ctx, "ev#fan-1")
			if apperr.CodeOf(err) != c.want {
				t.Fatalf("err = %v, want code %q", err, c.want)
			}
			if c.failClosed {
				var ae *apperr.Error
				if !errors.As(err, &ae) || ae.Details["retryAfterSeconds"] != ratelimit.StoreRetryAfterSeconds {
					t.Fatalf("refusal carries no retryAfterSeconds: %+v", ae)
				}
			}
			if !strings.Contains(logs.String(), "rate limit counter unreachable") || !strings.Contains(logs.String(), `"limiter":"`+c.name+`"`) {
				t.Fatalf("no log line names the unreachable counter: %s", logs.String())
			}
			if !strings.Contains(emf.String(), `"`+metrics.RateLimitStoreErrors+`":1`) || !strings.Contains(emf.String(), `"Kind":"`+c.name+`"`) {
				t.Fatalf("no %s metric: %s", metrics.RateLimitStoreErrors, emf.String())
			}
		})
	}
}

// The in-memory store (the local WAF stand-in's) counts like the table.
func TestMemoryStoreCountsPerWindowAndSubject(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewManual(time.Date(2027, 3, 1, 19, 0, 59, 0, time.UTC))
	l := &ratelimit.Limiter{Name: "joins", Limit: 2, Window: time.Minute, Store: ratelimit.NewMemory(), Clock: clk}
	for i := range 2 {
		if err := l.Allow(ctx, "fan-1"); err != nil {
			t.Fatalf("call %d refused: %v", i+1, err)
		}
	}
	if err := l.Allow(ctx, "fan-1"); !apperr.Is(err, apperr.RateLimited) {
		t.Fatalf("3rd call: %v, want RATE_LIMITED", err)
	}
	if err := l.Allow(ctx, "fan-2"); err != nil {
		t.Fatalf("fan-2 limited by fan-1's calls: %v", err)
	}
	clk.Advance(time.Second)
	if err := l.Allow(ctx, "fan-1"); err != nil {
		t.Fatalf("next window still refused: %v", err)
	}
}
