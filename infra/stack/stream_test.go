package stack

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/stararena/stararena/internal/topology"
)

// The projector's stream (ADR 18): the table records new images, one event
// source mapping feeds the projector only seat and GA shard records in
// batches, bisects and reports partial failures, gives up into a
// dead-letter queue after its retries, and the projector's role reads
// this table's stream and nothing else's.
func TestProjectorReadsTheTablesStreamFilteredToSeatsAndShards(t *testing.T) {
	// GIVEN the topology's one stream
	sm := topology.Default().Streams[0]

	// THEN the table streams new images
	expect(t, func() {
		deployed.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"StreamSpecification": map[string]any{"StreamViewType": "NEW_IMAGE"},
		})
	})
	// AND one mapping reads it into the consumer, as declared
	var prefixes []any
	for _, p := range sm.KeyPrefixes {
		prefixes = append(prefixes, map[string]any{"prefix": p})
	}
	pattern := fmt.Sprintf(`{"dynamodb":{"Keys":{"pk":{"S":%s}}}}`, mustJSON(prefixes))
	expect(t, func() {
		deployed.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), map[string]any{
			"EventSourceArn":                 map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^MainTable")), "StreamArn"}},
			"StartingPosition":               "LATEST",
			"BatchSize":                      sm.BatchSize,
			"MaximumBatchingWindowInSeconds": int(sm.MaxBatchingWindow / time.Second),
			"BisectBatchOnFunctionError":     true,
			"MaximumRetryAttempts":           sm.MaxRetries,
			"FunctionResponseTypes":          []any{"ReportBatchItemFailures"},
			"FilterCriteria":                 map[string]any{"Filters": []any{map[string]any{"Pattern": pattern}}},
			"DestinationConfig": map[string]any{"OnFailure": map[string]any{
				"Destination": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^ProjectorStreamDeadLetterQueue")), "Arn"}},
			}},
		})
	})
	mappings := properties(deployed, "AWS::Lambda::EventSourceMapping")
	streamMappings := 0
	for _, m := range mappings {
		if strings.Contains(fmt.Sprint(m["EventSourceArn"]), "StreamArn") {
			streamMappings++
			if fn := fmt.Sprint(m["FunctionName"]); !strings.Contains(fn, "ProjectorFunction") {
				t.Errorf("the stream feeds %s, want the projector", fn)
			}
		}
	}
	if streamMappings != 1 {
		t.Errorf("%d mappings read the table's stream, want 1", streamMappings)
	}

	// AND only the consumer reads the stream, on this stream only
	policies := FunctionStatements(deployed)
	for _, f := range topology.Default().Functions {
		got := allowed(policies[f.Name])
		for _, action := range streamReadActions {
			sts := got[action]
			want := f.Name == sm.Consumer
			if len(sts) > 0 != want {
				t.Errorf("%s: %s granted %v, want %v", f.Name, action, len(sts) > 0, want)
			}
			for _, st := range sts {
				for _, r := range st.Resources {
					if rs := resourceString(r); !strings.Contains(rs, "MainTable") || !strings.Contains(rs, "StreamArn") {
						t.Errorf("%s: %s on %s, want the table's stream", f.Name, action, rs)
					}
				}
			}
		}
		// AND it may send the records it gave up on to its dead-letter queue
		if f.Name == sm.Consumer {
			found := false
			for _, st := range got["sqs:SendMessage"] {
				for _, r := range st.Resources {
					found = found || strings.Contains(resourceString(r), "ProjectorStreamDeadLetterQueue")
				}
			}
			if !found {
				t.Errorf("%s cannot send to its stream's dead-letter queue", f.Name)
			}
		}
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
