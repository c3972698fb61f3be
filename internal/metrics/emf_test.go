package metrics_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/metrics"
)

func TestEmitWritesEmbeddedMetricFormat(t *testing.T) {
	var buf bytes.Buffer
	at := time.Date(2027, 3, 1, 19, 0, 0, 0, time.UTC)
	e := metrics.NewEmitter(&buf, "webhooks", clock.NewManual(at))
	e.Count(metrics.WebhookOutcomes, 1, map[string]string{metrics.DimOutcome: "PAID"})
	e.Duration(metrics.HoldLatency, 1500*time.Microsecond, nil)

	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), buf.String())
	}
	var doc struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Function        string
		Outcome         string
		WebhookOutcomes float64
	}
	if err := json.Unmarshal(lines[0], &doc); err != nil {
		t.Fatal(err)
	}
	cw := doc.AWS.CloudWatchMetrics
	if doc.AWS.Timestamp != at.UnixMilli() || len(cw) != 1 || cw[0].Namespace != metrics.Namespace ||
		len(cw[0].Dimensions) != 1 || len(cw[0].Dimensions[0]) != 2 || cw[0].Dimensions[0][0] != "Function" ||
		cw[0].Dimensions[0][1] != "Outcome" || cw[0].Metrics[0].Name != "WebhookOutcomes" || cw[0].Metrics[0].Unit != "Count" {
		t.Fatalf("EMF metadata wrong: %s", lines[0])
	}
	if doc.Function != "webhooks" || doc.Outcome != "PAID" || doc.WebhookOutcomes != 1 {
		t.Fatalf("EMF values wrong: %s", lines[0])
	}
	var lat map[string]any
	if err := json.Unmarshal(lines[1], &lat); err != nil || lat["HoldLatency"] != 1.5 {
		t.Fatalf("latency line: %s", lines[1])
	}
	var nilEmitter *metrics.Emitter
	nilEmitter.Count(metrics.Holds, 1, nil) // must not panic
}

func TestNamesAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range metrics.Names() {
		if seen[n] || n == "" {
			t.Fatalf("metric name %q empty or declared twice", n)
		}
		seen[n] = true
	}
}
