package fault_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stararena/stararena/internal/fault"
)

func TestKinds(t *testing.T) {
	cause := errors.New("TransactionConflict")
	err := fmt.Errorf("hold for order o-1: %w", fault.E("create hold", fault.Contention, cause))

	t.Run("KindSurvivesWrapping", func(t *testing.T) {
		if !fault.Is(err, fault.Contention) || fault.KindOf(err) != fault.Contention {
			t.Fatalf("KindOf = %v, want contention", fault.KindOf(err))
		}
		if !errors.Is(err, fault.Contention) || errors.Is(err, fault.Unavailable) {
			t.Fatal("errors.Is with a Kind target does not match the kind alone")
		}
		if !errors.Is(err, cause) {
			t.Fatal("the cause is not in the chain")
		}
	})
	t.Run("OpAndKindAreInspectable", func(t *testing.T) {
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Op != "create hold" || fe.Kind != fault.Contention {
			t.Fatalf("errors.As: %+v", fe)
		}
	})
	t.Run("OutermostClassifiedKindWins", func(t *testing.T) {
		inner := fault.E("put", fault.Unavailable, nil)
		outer := fault.E("rehold", fault.ConditionFailed, inner)
		if fault.KindOf(outer) != fault.ConditionFailed {
			t.Fatalf("KindOf = %v", fault.KindOf(outer))
		}
		if fault.KindOf(fault.E("op", fault.Other, inner)) != fault.Unavailable {
			t.Fatal("an unclassified wrapper hides the kind below it")
		}
	})
	t.Run("SentinelMatchesItselfAndItsKind", func(t *testing.T) {
		down := fault.New(fault.Unavailable, "payments: provider unavailable")
		err := fmt.Errorf("%w: HTTP 503", down)
		if !errors.Is(err, down) || !errors.Is(err, fault.Unavailable) || !fault.Retryable(err) {
			t.Fatalf("%v does not match its sentinel and kind", err)
		}
		if down.Error() != "payments: provider unavailable" {
			t.Fatalf("sentinel text %q", down.Error())
		}
	})
	t.Run("Retryable", func(t *testing.T) {
		for k, want := range map[fault.Kind]bool{
			fault.Contention: true, fault.Unavailable: true,
			fault.ConditionFailed: false, fault.Exists: false, fault.NotFound: false, fault.Invalid: false, fault.Other: false,
		} {
			if got := fault.Retryable(fault.E("op", k, nil)); got != want {
				t.Errorf("Retryable(%v) = %v, want %v", k, got, want)
			}
		}
		if fault.Retryable(errors.New("plain")) || fault.Retryable(nil) {
			t.Error("an unclassified error is retryable")
		}
	})
}
