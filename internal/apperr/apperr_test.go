package apperr_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/fault"
)

// A busy dependency that reaches the edge without a code is 503
// UNAVAILABLE, never CONFLICT; its text stays internal.
func TestBusyFaultIsUnavailable(t *testing.T) {
	for _, k := range []fault.Kind{fault.Unavailable, fault.Contention} {
		err := fmt.Errorf("hold: %w", fault.E("create hold", k, errors.New("ThrottlingException: rate exceeded")))
		code, msg, _ := apperr.Public(err)
		if code != apperr.Unavailable || apperr.CodeOf(err) != apperr.Unavailable || apperr.Status(code) != http.StatusServiceUnavailable {
			t.Errorf("%v: code %s, want UNAVAILABLE (503)", k, code)
		}
		if msg == err.Error() {
			t.Errorf("%v: internal text reached the client: %q", k, msg)
		}
	}
	for _, k := range []fault.Kind{fault.ConditionFailed, fault.NotFound, fault.Other} {
		if code := apperr.CodeOf(fault.E("op", k, nil)); code != apperr.Internal {
			t.Errorf("%v without a service's translation: %s, want INTERNAL", k, code)
		}
	}
	coded := apperr.Wrap(fault.E("get order", fault.NotFound, nil), apperr.NotFound, "no order o-1")
	if apperr.CodeOf(coded) != apperr.NotFound {
		t.Error("a service's translation does not win")
	}
}
