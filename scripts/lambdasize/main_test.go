package main

import (
	"strings"
	"testing"
	"time"
)

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 10_000_000: "10,000,000", 9_961_634: "9,961,634", 123_456: "123,456"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// The report's rows have as many cells as its header, the deployed
// architecture's size in bytes beside its MiB.
func TestReportShowsTheDeployedSizeInBytes(t *testing.T) {
	var b strings.Builder
	report(&b, []measure{
		{name: "catalog", sizes: map[string]int64{"arm64": 8_585_378, "amd64": 9_227_000}, init: 8 * time.Millisecond},
		{name: "hello", sizes: map[string]int64{"arm64": 5_832_866, "amd64": 6_291_456}, init: 3 * time.Millisecond},
	}, []string{"arm64", "amd64"}, 9)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("report:\n%s", b.String())
	}
	for _, l := range lines[1:] {
		if strings.Count(l, "|") != strings.Count(lines[0], "|") {
			t.Errorf("row %q has not the header's %d cells", l, strings.Count(lines[0], "|")-1)
		}
	}
	if !strings.HasPrefix(lines[2], "| catalog | 8.2 MiB | 8,585,378 | 8.8 MiB | 8.0 ms | +5.0 ms |") {
		t.Errorf("catalog row: %q", lines[2])
	}
}
