package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/localdynamo"
	"github.com/stararena/stararena/internal/topology"
)

// StreamHandler is a DynamoDB stream consumer's Lambda handler.
type StreamHandler func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// localStream stands in for a DynamoDB stream's event source mapping: it
// takes the embedded server's feed (localdynamo.Feed, filtered to the
// topology stream's key prefixes) in batches of the declared size after
// the declared batching window, hands each batch to the consumer as a
// stream event, and retries from the first record the consumer reports
// failed, at most MaxRetries times before parking the rest as the
// mapping's on-failure destination would. One batch at a time, as one
// stream shard is processed.
type localStream struct {
	spec    topology.Stream
	feed    *localdynamo.Feed
	handler StreamHandler
	log     *slog.Logger

	mu      sync.Mutex
	retries map[int64]int
	parked  []localdynamo.Record
}

func newLocalStream(spec topology.Stream, feed *localdynamo.Feed, h StreamHandler, log *slog.Logger) *localStream {
	return &localStream{spec: spec, feed: feed, handler: h, log: log, retries: map[int64]int{}}
}

// run delivers batches until ctx ends.
func (s *localStream) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.feed.Signal():
		}
		// The batching window: let the batch fill.
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.spec.MaxBatchingWindow):
		}
		if err := s.Flush(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("stream batch failed; retried on the next records", "consumer", s.spec.Consumer, "err", err)
		}
	}
}

// Flush delivers every pending record now, batch by batch, and returns
// once the feed is empty or a batch failed.
func (s *localStream) Flush(ctx context.Context) error {
	// Under the lock: a batch in flight finishes first, so the records it
	// took are applied when Flush returns.
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.feed.Pending() > 0 {
		if err := s.batch(ctx); err != nil {
			return err
		}
	}
	return nil
}

// batch delivers one batch; the caller holds mu.
func (s *localStream) batch(ctx context.Context) error {
	recs := s.feed.Take(s.spec.BatchSize)
	if len(recs) == 0 {
		return nil
	}
	ev, err := streamEvent(recs)
	if err != nil {
		return err
	}
	resp, herr := s.handler(ctx, ev)
	first := -1
	switch {
	case herr != nil:
		first = 0
	case len(resp.BatchItemFailures) > 0:
		id := resp.BatchItemFailures[0].ItemIdentifier
		for i, r := range recs {
			if strconv.FormatInt(r.Seq, 10) == id {
				first = i
			}
		}
		if first < 0 {
			// An identifier that names no record fails the whole batch, as
			// Lambda treats it.
			first = 0
		}
	}
	for i, r := range recs {
		if first < 0 || i < first {
			delete(s.retries, r.Seq)
		}
	}
	if first < 0 {
		return nil
	}
	failed := recs[first:]
	var again []localdynamo.Record
	for _, r := range failed {
		s.retries[r.Seq]++
		if s.retries[r.Seq] > s.spec.MaxRetries {
			delete(s.retries, r.Seq)
			s.parked = append(s.parked, r)
			continue
		}
		again = append(again, r)
	}
	if n := len(failed) - len(again); n > 0 {
		s.log.Error("stream records given up after their retries", "consumer", s.spec.Consumer, "records", n)
	}
	s.feed.Return(again)
	if herr != nil {
		return herr
	}
	return fmt.Errorf("%s: %d of %d records failed", s.spec.Consumer, len(failed), len(recs))
}

// Parked returns the records given up on.
func (s *localStream) Parked() []localdynamo.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]localdynamo.Record(nil), s.parked...)
}

// streamEvent renders feed records as the event Lambda delivers for a
// stream with NEW_IMAGE records: the images are DynamoDB JSON already.
func streamEvent(recs []localdynamo.Record) (events.DynamoDBEvent, error) {
	type change struct {
		Keys           map[string]json.RawMessage `json:"Keys"`
		NewImage       map[string]json.RawMessage `json:"NewImage,omitempty"`
		SequenceNumber string                     `json:"SequenceNumber"`
		StreamViewType string                     `json:"StreamViewType"`
	}
	type record struct {
		EventName   string `json:"eventName"`
		EventSource string `json:"eventSource"`
		Change      change `json:"dynamodb"`
	}
	out := make([]record, len(recs))
	for i, r := range recs {
		name := "MODIFY"
		if r.NewImage == nil {
			name = "REMOVE"
		}
		out[i] = record{EventName: name, EventSource: "aws:dynamodb", Change: change{
			Keys: r.Keys, NewImage: r.NewImage, SequenceNumber: strconv.FormatInt(r.Seq, 10), StreamViewType: "NEW_IMAGE",
		}}
	}
	b, err := json.Marshal(map[string]any{"Records": out})
	if err != nil {
		return events.DynamoDBEvent{}, err
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		return events.DynamoDBEvent{}, fmt.Errorf("stream event: %w", err)
	}
	return ev, nil
}

// NewFeed is a change feed for the topology's stream: an embedded DynamoDB
// server publishes to it the writes of the items the stream's filter
// keeps.
func NewFeed(tp topology.Topology) *localdynamo.Feed {
	var prefixes []string
	for _, s := range tp.Streams {
		prefixes = append(prefixes, s.KeyPrefixes...)
	}
	return localdynamo.NewFeed(prefixes...)
}

// startStream runs the topology's stream consumer on feed.
func (st *Stack) startStream(tp topology.Topology, feed *localdynamo.Feed) {
	for _, spec := range tp.Streams {
		if spec.Consumer != "projector" {
			continue
		}
		st.stream = newLocalStream(spec, feed, st.calls.stream(spec.Consumer, st.App.Projector.HandleStream), st.log)
	}
	if st.stream == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	st.stopStream, st.streamDone = cancel, make(chan struct{})
	go func() {
		defer close(st.streamDone)
		st.stream.run(ctx)
	}()
}

// FlushStream applies every change record the embedded server has
// published so far, without waiting for the batching window: a test that
// reads availability right after a write, or a run's final figures, call
// it. Nil without a feed.
func (st *Stack) FlushStream(ctx context.Context) error {
	if st.stream == nil {
		return nil
	}
	return st.stream.Flush(ctx)
}

func (c *invocations) stream(fn string, h StreamHandler) StreamHandler {
	return func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		defer c.timed(fn)()
		return h(dynamo.WithCaller(ctx, fn), ev)
	}
}
