package main

import (
	"os"
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

func TestSymbolPackage(t *testing.T) {
	for sym, want := range map[string]string{
		"github.com/aws/aws-sdk-go-v2/service/sqs.(*Client).SendMessage":         "github.com/aws/aws-sdk-go-v2/service/sqs",
		"github.com/aws/aws-sdk-go-v2/service/dynamodb/schemas.init.0":           "github.com/aws/aws-sdk-go-v2/service/dynamodb/schemas",
		"slices.partitionCmpFunc[go.shape.struct { encoding/json.name string }]": "slices",
		"github.com/stararena/stararena/internal/app.(*App).ordersSvc.func1":     "github.com/stararena/stararena/internal/app",
		"runtime.mallocgc": "runtime",
		"type:*github.com/stararena/stararena/internal/orders.Order": "type:",
		"go:func.*": "go:",
		"vendor/golang.org/x/net/idna.idnaValues":                                         "vendor/golang.org/x/net/idna",
		"github.com/go-json-experiment/json.(*typedArshalers[go.shape.struct {}]).lookup": "github.com/go-json-experiment/json",
	} {
		if got := symbolPackage(sym); got != want {
			t.Errorf("symbolPackage(%q) = %q, want %q", sym, got, want)
		}
	}
}

// The builds that keep their symbols (-packages, the links tests) use
// scripts/build.sh's tags, so they link what ships.
func TestBuildTagsAreBuildScripts(t *testing.T) {
	b, err := os.ReadFile("../build.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "go build -tags "+buildTags+" ") {
		t.Fatalf("scripts/build.sh does not build with -tags %s", buildTags)
	}
}
