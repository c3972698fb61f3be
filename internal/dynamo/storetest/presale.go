package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/presale"
)

// RunPresaleStore is the presale.Store suite.
func RunPresaleStore(t *testing.T, newStores func(t *testing.T) Stores) {
	ctx := context.Background()
	code := func(ev, hash string, uses int, at time.Time) presale.Code {
		return presale.Code{EventID: ev, Hash: hash, Hint: hash[:4], Uses: uses, CreatedAt: at}
	}
	t.Run("RedeemsUpToUsesOncePerAccount", func(t *testing.T) {
		st := newStores(t)
		if err := st.Presale.PutCodes(ctx, []presale.Code{code("e1", "aaaa01", 2, Now)}); err != nil {
			t.Fatal(err)
		}
		for _, acct := range []string{"fan-1", "fan-2"} {
			if again, err := st.Presale.Redeem(ctx, "e1", "aaaa01", acct, Now); err != nil || again {
				t.Fatalf("first redemption by %s = again %v, %v", acct, again, err)
			}
		}
		if again, err := st.Presale.Redeem(ctx, "e1", "aaaa01", "fan-1", Now); err != nil || !again {
			t.Fatalf("fan-1 again = again %v, %v; want again without a use", again, err)
		}
		if _, err := st.Presale.Redeem(ctx, "e1", "aaaa01", "fan-3", Now); !fault.Is(err, fault.ConditionFailed) {
			t.Fatalf("third account on a 2-use code: %v; want condition failed", err)
		}
	})
	t.Run("UnknownCodeAndOtherEvent", func(t *testing.T) {
		st := newStores(t)
		if err := st.Presale.PutCodes(ctx, []presale.Code{code("e1", "bbbb01", 5, Now)}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Presale.Redeem(ctx, "e1", "cccc01", "fan-1", Now); !isNotFound(err) {
			t.Fatalf("unknown code: %v; want not found", err)
		}
		if _, err := st.Presale.Redeem(ctx, "e2", "bbbb01", "fan-1", Now); !isNotFound(err) {
			t.Fatalf("e1's code on e2: %v; want not found", err)
		}
	})
	t.Run("ListsEventCodesWithCounts", func(t *testing.T) {
		st := newStores(t)
		cs := []presale.Code{code("e1", "dddd01", 3, Now), code("e1", "dddd02", 1, Now.Add(time.Second)), code("e2", "eeee01", 1, Now)}
		if err := st.Presale.PutCodes(ctx, cs); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Presale.Redeem(ctx, "e1", "dddd01", "fan-1", Now); err != nil {
			t.Fatal(err)
		}
		want := []string{"dddd01 dddd 1/3", "dddd02 dddd 0/1"}
		got := waitFor(t, func() []string {
			got, err := st.Presale.Codes(ctx, "e1")
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, c := range got {
				out = append(out, fmt.Sprintf("%s %s %d/%d", c.Hash, c.Hint, c.Used, c.Uses))
			}
			return out
		}, want)
		if !slices.Equal(got, want) {
			t.Fatalf("codes of e1 = %v; want %v", got, want)
		}
	})
	// The guarantee the presale rests on: however many fans try one code at
	// once, exactly its uses succeed.
	t.Run("ConcurrentRedemptionsNeverExceedUses", func(t *testing.T) {
		st := newStores(t)
		if st.NotIsolated != "" {
			t.Skip(st.NotIsolated)
		}
		const uses, fans = 10, 200
		if err := st.Presale.PutCodes(ctx, []presale.Code{code("e1", "ffff01", uses, Now)}); err != nil {
			t.Fatal(err)
		}
		var ok, exhausted atomic.Int32
		var mu sync.Mutex
		var other []error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range fans {
			wg.Go(func() {
				<-start
				_, err := st.Presale.Redeem(ctx, "e1", "ffff01", fmt.Sprintf("fan-%d", i), Now)
				switch {
				case err == nil:
					ok.Add(1)
				case fault.Is(err, fault.ConditionFailed):
					exhausted.Add(1)
				default:
					mu.Lock()
					other = append(other, err)
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		if len(other) > 0 {
			t.Fatalf("%d redemptions failed otherwise, first: %v", len(other), other[0])
		}
		if ok.Load() != uses || exhausted.Load() != fans-uses {
			t.Fatalf("%d succeeded and %d were refused as exhausted; want %d and %d", ok.Load(), exhausted.Load(), uses, fans-uses)
		}
		want := []string{fmt.Sprintf("%d/%d", uses, uses)}
		got := waitFor(t, func() []string {
			got, err := st.Presale.Codes(ctx, "e1")
			if err != nil || len(got) != 1 {
				t.Fatalf("codes = %+v, %v", got, err)
			}
			return []string{fmt.Sprintf("%d/%d", got[0].Used, got[0].Uses)}
		}, want)
		if !slices.Equal(got, want) {
			t.Fatalf("code's count = %v; want %v", got, want)
		}
	})
}
