package lambdarie

import (
	"encoding/json"
	"regexp"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stararena/stararena/internal/topology"
)

var templateParam = regexp.MustCompile(`\{([^}/]+)\}`)

// Probe is the smallest event function fn takes, needing no data: for an
// HTTP function a request to its first route without credentials or body,
// for a queue or stream consumer an empty batch, for a scheduled function the
// schedule's event, for a workflow task an empty input. It makes a function
// start and answer, to measure its cold start or to check a binary answers
// as the same code does in process.
func Probe(tp topology.Topology, fn string) []byte {
	if routes := tp.RoutesOf(fn); len(routes) > 0 {
		r := routes[0]
		req := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: r.Key(), RawPath: templateParam.ReplaceAllString(r.Path, "x"),
			Headers: map[string]string{}, PathParameters: map[string]string{}}
		for _, m := range templateParam.FindAllStringSubmatch(r.Path, -1) {
			req.PathParameters[m[1]] = "x"
		}
		rc := &req.RequestContext
		rc.RouteKey, rc.HTTP.Method, rc.HTTP.Path, rc.RequestID, rc.Stage = r.Key(), r.Method, req.RawPath, "probe", "$default"
		return mustMarshal(req)
	}
	for _, q := range tp.Queues {
		if q.Consumer == fn {
			return []byte(`{"Records":[]}`)
		}
	}
	for _, s := range tp.Streams {
		if s.Consumer == fn {
			return []byte(`{"Records":[]}`)
		}
	}
	for _, s := range tp.Schedules {
		if s.Function == fn {
			return []byte(`{"version":"0","id":"probe","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012",` +
				`"time":"2030-01-01T00:00:00Z","region":"us-east-1","resources":["probe"],"detail":{}}`)
		}
	}
	return []byte(`{}`)
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // a fixed, marshalable type
	}
	return b
}
