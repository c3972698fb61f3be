package stack

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stararena/stararena/internal/metrics"
	"github.com/stararena/stararena/internal/topology"
)

// metricRef is one metric an alarm or a dashboard widget names.
type metricRef struct {
	Where      string
	Namespace  string
	Name       string
	Dimensions map[string]string // values rendered as strings (intrinsics as JSON)
	Stat       string
}

// alarmMetrics returns, per alarm logical id, the metrics it reads (a
// single metric or every metric of a math expression) and its Properties.
func alarmMetrics(t *testing.T) (map[string][]metricRef, map[string]map[string]any) {
	t.Helper()
	props := properties(deployed, "AWS::CloudWatch::Alarm")
	out := map[string][]metricRef{}
	for id, p := range props {
		if p["MetricName"] != nil {
			stat := str(p["Statistic"])
			if stat == "" {
				stat = str(p["ExtendedStatistic"])
			}
			out[id] = append(out[id], metricRef{Where: id, Namespace: str(p["Namespace"]), Name: str(p["MetricName"]),
				Dimensions: dimensions(p["Dimensions"]), Stat: stat})
		}
		for _, m := range list(p["Metrics"]) {
			ms, ok := m["MetricStat"].(map[string]any)
			if !ok {
				continue
			}
			metric := ms["Metric"].(map[string]any)
			out[id] = append(out[id], metricRef{Where: id, Namespace: str(metric["Namespace"]), Name: str(metric["MetricName"]),
				Dimensions: dimensions(metric["Dimensions"]), Stat: str(ms["Stat"])})
		}
	}
	return out, props
}

func dimensions(v any) map[string]string {
	out := map[string]string{}
	for _, d := range list(v) {
		out[str(d["Name"])] = resourceString(d["Value"])
	}
	return out
}

// dashboardMetrics parses the dashboard body (a Fn::Join of JSON text and
// intrinsics) and returns every metric its widgets name, including the
// metric names inside SEARCH expressions.
func dashboardMetrics(t *testing.T) []metricRef {
	t.Helper()
	dashes := properties(deployed, "AWS::CloudWatch::Dashboard")
	if len(dashes) != 1 {
		t.Fatalf("%d dashboards, want 1", len(dashes))
	}
	var body string
	for _, d := range dashes {
		switch b := d["DashboardBody"].(type) {
		case string:
			body = b
		case map[string]any:
			parts := b["Fn::Join"].([]any)[1].([]any)
			var sb strings.Builder
			for _, part := range parts {
				if s, ok := part.(string); ok {
					sb.WriteString(s)
				} else {
					sb.WriteString("TOKEN")
				}
			}
			body = sb.String()
		}
	}
	var doc struct {
		Widgets []struct {
			Type       string         `json:"type"`
			Properties map[string]any `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("dashboard body is not JSON once tokens are replaced: %v\n%s", err, body)
	}
	searchName := regexp.MustCompile(`\{([^,}]+)[^}]*\}\s+MetricName="([^"]+)"`)
	var out []metricRef
	for i, w := range doc.Widgets {
		where := fmt.Sprintf("widget %d %v", i, w.Properties["title"])
		var prev []any
		for _, m := range anyList(w.Properties["metrics"]) {
			arr, _ := m.([]any)
			if len(arr) == 0 {
				continue
			}
			if opts, ok := arr[0].(map[string]any); ok {
				if expr, ok := opts["expression"].(string); ok {
					for _, sm := range searchName.FindAllStringSubmatch(expr, -1) {
						out = append(out, metricRef{Where: where, Namespace: sm[1], Name: sm[2]})
					}
				}
				continue
			}
			// [namespace, name, dim, value, ..., {options}]; "." repeats the
			// previous metric's entry at that position.
			var fields []string
			for j, v := range arr {
				if _, isOpts := v.(map[string]any); isOpts {
					break
				}
				s := str(v)
				if s == "." && j < len(prev) {
					s = str(prev[j])
				}
				fields = append(fields, s)
			}
			prev = arr
			ref := metricRef{Where: where, Namespace: fields[0], Name: fields[1], Dimensions: map[string]string{}}
			for j := 2; j+1 < len(fields); j += 2 {
				ref.Dimensions[fields[j]] = fields[j+1]
			}
			out = append(out, ref)
		}
	}
	return out
}

func TestEveryStarArenaMetricAnAlarmOrWidgetNamesIsDeclared(t *testing.T) {
	// GIVEN the metric names internal/metrics declares
	declared := metrics.Names()
	alarms, _ := alarmMetrics(t)
	var refs []metricRef
	for _, ms := range alarms {
		refs = append(refs, ms...)
	}
	refs = append(refs, dashboardMetrics(t)...)
	seen := map[string]bool{}
	for _, r := range refs {
		if r.Namespace != metrics.Namespace {
			continue
		}
		// THEN each is one of them
		if !slices.Contains(declared, r.Name) {
			t.Errorf("%s names %s/%s, which internal/metrics does not declare", r.Where, r.Namespace, r.Name)
		}
		// AND a Function dimension names the topology function that emits it
		if fn, ok := r.Dimensions[metrics.DimFunction]; ok {
			if _, exists := topology.Default().Function(fn); !exists || fn != Emitters[r.Name] {
				t.Errorf("%s: %s with Function=%s (emitter %s)", r.Where, r.Name, fn, Emitters[r.Name])
			}
		}
		seen[r.Name] = true
	}
	// AND the dashboard or an alarm shows every declared metric
	for _, name := range declared {
		if !seen[name] {
			t.Errorf("metric %s is declared but neither graphed nor alarmed on", name)
		}
	}
	for name, fn := range Emitters {
		if _, ok := topology.Default().Function(fn); !ok || !slices.Contains(declared, name) {
			t.Errorf("Emitters: %s -> %s", name, fn)
		}
	}
}

func TestAlarmsCoverTheMoneyPathTheQueuesAndThrottling(t *testing.T) {
	alarms, props := alarmMetrics(t)
	find := func(pred func(metricRef) bool) []string {
		var ids []string
		for id, ms := range alarms {
			for _, m := range ms {
				if pred(m) {
					ids = append(ids, id)
					break
				}
			}
		}
		slices.Sort(ids)
		return ids
	}
	custom := func(name string) func(metricRef) bool {
		return func(m metricRef) bool {
			return m.Namespace == metrics.Namespace && m.Name == name && m.Dimensions[metrics.DimFunction] == Emitters[name]
		}
	}
	// THEN ISSUE_FAILED and REFUND_PENDING orders alarm at the first one
	for _, name := range []string{metrics.OrdersIssueFailed, metrics.OrdersRefundPending} {
		ids := find(custom(name))
		if len(ids) != 1 || props[ids[0]]["Threshold"] != float64(1) || props[ids[0]]["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" {
			t.Errorf("%s: alarms %v", name, ids)
		}
	}
	// AND hold p99 alarms above the configured latency
	ids := find(custom(metrics.HoldLatency))
	if len(ids) != 1 || alarms[ids[0]][0].Stat != "p99" || props[ids[0]]["Threshold"] != float64(testSettings.HoldP99.Milliseconds()) {
		t.Errorf("hold p99 alarms %v", ids)
	}
	// AND every dead-letter queue alarms when it holds a message
	var dlqs []string
	for id := range properties(deployed, "AWS::SQS::Queue") {
		if strings.Contains(id, "DeadLetterQueue") {
			dlqs = append(dlqs, id)
		}
	}
	// + the schedules' targets' + each stream's on-failure destination
	if len(dlqs) != len(topology.Default().Queues)+1+len(topology.Default().Streams) {
		t.Fatalf("dead-letter queues %v", dlqs)
	}
	for _, dlq := range dlqs {
		ids := find(func(m metricRef) bool {
			return m.Name == "ApproximateNumberOfMessagesVisible" && strings.Contains(m.Dimensions["QueueName"], `"`+dlq+`"`)
		})
		if len(ids) != 1 || props[ids[0]]["Threshold"] != float64(1) {
			t.Errorf("%s: alarms %v", dlq, ids)
		}
	}
	// AND failed workflow executions alarm
	if ids := find(func(m metricRef) bool { return m.Namespace == "AWS/States" && m.Name == "ExecutionsFailed" }); len(ids) != 1 {
		t.Errorf("workflow failure alarms %v", ids)
	}
	// AND each function's Lambda throttles alarm, and the table's (with its indexes)
	for _, f := range topology.Default().Functions {
		id := pascal(f.Name) + "Function"
		got := find(func(m metricRef) bool {
			return m.Namespace == "AWS/Lambda" && m.Name == "Throttles" && strings.Contains(m.Dimensions["FunctionName"], `"`+id)
		})
		if len(got) != 1 {
			t.Errorf("%s: throttle alarms %v", f.Name, got)
		}
	}
	ddb := find(func(m metricRef) bool { return m.Namespace == "AWS/DynamoDB" && m.Name == "WriteThrottleEvents" })
	if len(ddb) != 1 || len(alarms[ddb[0]]) != 2*(1+len(topology.Default().Tables[0].Indexes)) {
		t.Errorf("DynamoDB throttle alarms %v", ddb)
	}
	// AND every alarm notifies the alarm topic
	for id, p := range props {
		actions := anyList(p["AlarmActions"])
		if len(actions) != 1 || !strings.Contains(resourceString(actions[0]), "AlarmTopic") {
			t.Errorf("%s: alarm actions %v", id, p["AlarmActions"])
		}
	}
}
