package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/dynamo"
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
