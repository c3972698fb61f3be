package testenv

import (
	"fmt"
	"strings"
	"testing"
)

func TestTailKeepsTheNewestWholeLines(t *testing.T) {
	var b tail
	for i := range 10_000 {
		fmt.Fprintf(&b, "{\"line\":%d}\n", i)
	}
	s := b.String()
	if len(s) > maxKeptLogs {
		t.Fatalf("kept %d bytes, want at most %d", len(s), maxKeptLogs)
	}
	if !strings.HasPrefix(s, "{\"line\":") || !strings.HasSuffix(s, "{\"line\":9999}\n") {
		t.Fatalf("kept %.40q … %q", s, s[max(0, len(s)-40):])
	}
	if n := strings.Count(s, "\n"); n < 1000 {
		t.Fatalf("kept %d lines", n)
	}
}
