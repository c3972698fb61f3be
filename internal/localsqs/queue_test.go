package localsqs_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stararena/stararena/internal/localsqs"
)

// batch is one invocation as the handler saw it.
type batch struct {
	at      time.Time
	records []events.SQSMessage
}

func (b batch) bodies() []string {
	out := make([]string, len(b.records))
	for i, r := range b.records {
		out[i] = r.Body
	}
	slices.Sort(out)
	return out
}

// recorder is a handler that keeps every batch and answers with respond.
type recorder struct {
	mu      sync.Mutex
	batches []batch
	respond func(call int, ev events.SQSEvent) (events.SQSEventResponse, error)
}

func (r *recorder) handle(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	r.mu.Lock()
	call := len(r.batches)
	r.batches = append(r.batches, batch{at: time.Now(), records: slices.Clone(ev.Records)})
	respond := r.respond
	r.mu.Unlock()
	if respond == nil {
		return events.SQSEventResponse{}, nil
	}
	return respond(call, ev)
}

func (r *recorder) all() []batch {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

// deliveries returns, per body, the records delivered in order.
func (r *recorder) deliveries() map[string][]events.SQSMessage {
	out := map[string][]events.SQSMessage{}
	for _, b := range r.all() {
		for _, rec := range b.records {
			out[rec.Body] = append(out[rec.Body], rec)
		}
	}
	return out
}

func failBodies(bodies ...string) func(int, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(_ int, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		for _, r := range ev.Records {
			if slices.Contains(bodies, r.Body) {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
		}
		return resp, nil
	}
}

func send(t *testing.T, q *localsqs.Queue, bodies ...string) []string {
	t.Helper()
	ids := make([]string, len(bodies))
	for i, b := range bodies {
		id, err := q.Send(b, nil)
		if err != nil {
			t.Fatalf("Send(%q): %v", b, err)
		}
		ids[i] = id
	}
	return ids
}

func bodies(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// waitIdle drains q within a deadline that, under synctest, is fake time.
func waitIdle(t *testing.T, q *localsqs.Queue, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := q.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
}

func checkStats(t *testing.T, got, want localsqs.Stats) {
	t.Helper()
	if got != want {
		t.Errorf("stats\n got %+v\nwant %+v", got, want)
	}
}

// TestDeliversEveryMessageOnce runs on the real clock with concurrent
// senders and pollers, for the race detector.
func TestDeliversEveryMessageOnce(t *testing.T) {
	const n, senders = 1000, 4
	baseline := runtime.NumGoroutine()
	rec := &recorder{}
	q := localsqs.New(localsqs.Options{
		Name:              "joins",
		BatchSize:         10,
		VisibilityTimeout: 10 * time.Minute, // 6 s scaled: no redelivery on a slow machine
		Concurrency:       4,
		TimeScale:         0.01,
	}, rec.handle)
	q.Start(context.Background())
	defer q.Close()

	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := s; i < n; i += senders {
				if _, err := q.Send(fmt.Sprintf("m%04d", i), nil); err != nil {
					t.Error(err)
				}
				if i%100 == 0 {
					_ = q.Stats() // reads race with writes on purpose
				}
			}
		})
	}
	wg.Wait()
	waitIdle(t, q, 60*time.Second)
	q.Close()

	ids := map[string]bool{}
	for body, recs := range rec.deliveries() {
		if len(recs) != 1 {
			t.Errorf("%s delivered %d times", body, len(recs))
		}
		ids[recs[0].MessageId] = true
	}
	if len(ids) != n {
		t.Errorf("%d distinct message ids delivered, want %d", len(ids), n)
	}
	batches := rec.all()
	for _, b := range batches {
		if len(b.records) > 10 {
			t.Errorf("batch of %d records, batch size 10", len(b.records))
		}
	}
	checkStats(t, q.Stats(), localsqs.Stats{Sent: n, Received: n, Deleted: n, Invocations: len(batches)})

	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after Close, %d before Start", runtime.NumGoroutine(), baseline)
		}
		runtime.Gosched()
	}
}

func TestBatchesNeverExceedBatchSize(t *testing.T) {
	cases := []struct {
		batchSize int
		window    time.Duration
		n         int
	}{
		{batchSize: 10, n: 95},
		{batchSize: 7, n: 50},
		{batchSize: 1, n: 5},
		{batchSize: 25, window: time.Second, n: 60},
		{batchSize: 100, window: 5 * time.Second, n: 250},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("size%d_window%v", c.batchSize, c.window), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				q := localsqs.New(localsqs.Options{BatchSize: c.batchSize, MaxBatchingWindow: c.window}, rec.handle)
				send(t, q, bodies("m", c.n)...)
				start := time.Now()
				q.Start(context.Background())
				waitIdle(t, q, time.Hour)
				q.Close()

				total := 0
				for _, b := range rec.all() {
					total += len(b.records)
					if len(b.records) > c.batchSize {
						t.Errorf("batch of %d records, batch size %d", len(b.records), c.batchSize)
					}
					if len(b.records) == c.batchSize && !b.at.Equal(start) {
						t.Errorf("full batch waited %v", b.at.Sub(start))
					}
					if len(b.records) < c.batchSize && c.window > 0 && b.at.Sub(start) != c.window {
						t.Errorf("partial batch of %d delivered after %v, window %v", len(b.records), b.at.Sub(start), c.window)
					}
				}
				if total != c.n {
					t.Errorf("%d records delivered, %d sent", total, c.n)
				}
			})
		})
	}
}

func TestBatchingWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		q := localsqs.New(localsqs.Options{BatchSize: 10, MaxBatchingWindow: 2 * time.Second}, rec.handle)
		q.Start(context.Background())
		defer q.Close()

		t0 := time.Now()
		send(t, q, "alone")
		waitIdle(t, q, time.Minute)
		t1 := time.Now()
		send(t, q, bodies("full", 10)...)
		waitIdle(t, q, time.Minute)

		batches := rec.all()
		if len(batches) != 2 {
			for _, b := range batches {
				t.Logf("%v %v", b.at, b.bodies())
			}
			t.Fatalf("%d batches, want 2", len(batches))
		}
		if got := batches[0].at.Sub(t0); got != 2*time.Second || len(batches[0].records) != 1 {
			t.Errorf("lone message delivered after %v in a batch of %d, want the 2s window and 1", got, len(batches[0].records))
		}
		if got := batches[1].at.Sub(t1); got != 0 || len(batches[1].records) != 10 {
			t.Errorf("full batch delivered after %v with %d records, want at once with 10", got, len(batches[1].records))
		}
	})
}

func TestTimeScale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{respond: func(call int, _ events.SQSEvent) (events.SQSEventResponse, error) {
			if call == 0 {
				return events.SQSEventResponse{}, errors.New("first try fails")
			}
			return events.SQSEventResponse{}, nil
		}}
		q := localsqs.New(localsqs.Options{VisibilityTimeout: 30 * time.Second, MaxBatchingWindow: 2 * time.Second, TimeScale: 0.01}, rec.handle)
		send(t, q, "m")
		start := time.Now()
		q.Start(context.Background())
		waitIdle(t, q, time.Minute)
		q.Close()
		b := rec.all()
		if len(b) != 2 || b[0].at.Sub(start) != 20*time.Millisecond || b[1].at.Sub(b[0].at) != 300*time.Millisecond+20*time.Millisecond {
			t.Errorf("deliveries at %v and %v after start, want 20ms (window) and 340ms (+ visibility + window)", b[0].at.Sub(start), b[1].at.Sub(start))
		}
	})
}

func TestRecordShape(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		q := localsqs.New(localsqs.Options{Name: "joins"}, rec.handle)
		sentAt := time.Now()
		attrs := map[string]string{"eventId": "e1", "account": "sub-1"}
		id, err := q.Send(`{"eventId":"e1"}`, attrs)
		if err != nil {
			t.Fatal(err)
		}
		attrs["account"] = "changed after send"
		time.Sleep(time.Second) // the first receive happens a second after the send
		q.Start(context.Background())
		waitIdle(t, q, time.Minute)
		q.Close()

		r := rec.all()[0].records[0]
		sum := md5.Sum([]byte(`{"eventId":"e1"}`))
		ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
		checks := []struct {
			field, got, want string
		}{
			{"MessageId", r.MessageId, id},
			{"Body", r.Body, `{"eventId":"e1"}`},
			{"Md5OfBody", r.Md5OfBody, hex.EncodeToString(sum[:])},
			{"EventSource", r.EventSource, "aws:sqs"},
			{"EventSourceARN", r.EventSourceARN, "arn:aws:sqs:local:000000000000:joins"},
			{"AWSRegion", r.AWSRegion, "local"},
			{"ApproximateReceiveCount", r.Attributes["ApproximateReceiveCount"], "1"},
			{"SentTimestamp", r.Attributes["SentTimestamp"], ms(sentAt)},
			{"ApproximateFirstReceiveTimestamp", r.Attributes["ApproximateFirstReceiveTimestamp"], ms(sentAt.Add(time.Second))},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
			}
		}
		if r.ReceiptHandle == "" || len(r.Md5OfMessageAttributes) != 32 {
			t.Errorf("receipt handle %q, md5 of attributes %q", r.ReceiptHandle, r.Md5OfMessageAttributes)
		}
		if len(r.MessageAttributes) != 2 {
			t.Fatalf("message attributes %v, want 2", r.MessageAttributes)
		}
		for name, want := range map[string]string{"eventId": "e1", "account": "sub-1"} {
			a := r.MessageAttributes[name]
			if a.DataType != "String" || a.StringValue == nil || *a.StringValue != want {
				t.Errorf("attribute %s = %+v, want String %q", name, a, want)
			}
		}
		if q.ARN() != r.EventSourceARN {
			t.Errorf("ARN() = %q, records say %q", q.ARN(), r.EventSourceARN)
		}
	})
}

func TestPartialBatchFailureRedeliversOnlyFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fail := failBodies("m3", "m7")
		rec := &recorder{respond: func(call int, ev events.SQSEvent) (events.SQSEventResponse, error) {
			if call == 0 {
				return fail(call, ev)
			}
			return events.SQSEventResponse{}, nil
		}}
		q := localsqs.New(localsqs.Options{BatchSize: 10, VisibilityTimeout: 30 * time.Second, Concurrency: 1}, rec.handle)
		send(t, q, bodies("m", 10)...)
		start := time.Now()
		q.Start(context.Background())
		waitIdle(t, q, time.Hour)
		q.Close()

		b := rec.all()
		if len(b) != 2 {
			t.Fatalf("%d invocations, want 2", len(b))
		}
		if len(b[0].records) != 10 {
			t.Fatalf("first batch has %d records, want 10", len(b[0].records))
		}
		if got := b[1].bodies(); !slices.Equal(got, []string{"m3", "m7"}) {
			t.Fatalf("redelivered %v, want [m3 m7]", got)
		}
		if got := b[1].at.Sub(start); got != 30*time.Second {
			t.Errorf("redelivered after %v, want the 30s visibility timeout", got)
		}
		first := map[string]events.SQSMessage{}
		for _, r := range b[0].records {
			first[r.MessageId] = r
		}
		for _, r := range b[1].records {
			f := first[r.MessageId]
			if r.Attributes["ApproximateReceiveCount"] != "2" {
				t.Errorf("%s: ApproximateReceiveCount %s, want 2", r.Body, r.Attributes["ApproximateReceiveCount"])
			}
			if r.ReceiptHandle == f.ReceiptHandle {
				t.Errorf("%s: receipt handle reused across receives", r.Body)
			}
			for _, a := range []string{"SentTimestamp", "ApproximateFirstReceiveTimestamp"} {
				if r.Attributes[a] != f.Attributes[a] {
					t.Errorf("%s: %s changed from %s to %s", r.Body, a, f.Attributes[a], r.Attributes[a])
				}
			}
		}
		checkStats(t, q.Stats(), localsqs.Stats{Sent: 10, Received: 12, Deleted: 10, Invocations: 2, ItemFailures: 2})
	})
}

func TestInvalidItemFailureFailsWholeBatch(t *testing.T) {
	for _, id := range []string{"", "not-a-message-of-the-batch"} {
		t.Run(fmt.Sprintf("%q", id), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{respond: func(call int, ev events.SQSEvent) (events.SQSEventResponse, error) {
					if call > 0 {
						return events.SQSEventResponse{}, nil
					}
					return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{
						{ItemIdentifier: ev.Records[0].MessageId}, {ItemIdentifier: id},
					}}, nil
				}}
				q := localsqs.New(localsqs.Options{Concurrency: 1}, rec.handle)
				send(t, q, "a", "b", "c")
				q.Start(context.Background())
				waitIdle(t, q, time.Hour)
				q.Close()

				for body, recs := range rec.deliveries() {
					if len(recs) != 2 || recs[1].Attributes["ApproximateReceiveCount"] != "2" {
						t.Errorf("%s delivered %d times, want twice (whole batch failed)", body, len(recs))
					}
				}
				checkStats(t, q.Stats(), localsqs.Stats{Sent: 3, Received: 6, Deleted: 3, Invocations: 2, BatchFailures: 1})
			})
		})
	}
}

func TestHandlerErrorRedeliversBatchAfterVisibilityTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{respond: func(call int, _ events.SQSEvent) (events.SQSEventResponse, error) {
			if call == 0 {
				// A partial response alongside an error is ignored, as Lambda
				// ignores the payload of a failed invocation.
				return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "x"}}}, errors.New("downstream unavailable")
			}
			return events.SQSEventResponse{}, nil
		}}
		q := localsqs.New(localsqs.Options{VisibilityTimeout: 45 * time.Second, Concurrency: 1}, rec.handle)
		send(t, q, "a", "b", "c")
		start := time.Now()
		q.Start(context.Background())
		synctest.Wait()
		if s := q.Stats(); s.InFlight != 3 || s.Visible != 0 {
			t.Errorf("after the failed invocation: %d in flight, %d visible; want 3 and 0", s.InFlight, s.Visible)
		}
		waitIdle(t, q, time.Hour)
		q.Close()

		b := rec.all()
		if len(b) != 2 || len(b[1].records) != 3 {
			t.Fatalf("batches %v, want the same 3 records twice", b)
		}
		if got := b[1].at.Sub(start); got != 45*time.Second {
			t.Errorf("redelivered after %v, want 45s", got)
		}
		checkStats(t, q.Stats(), localsqs.Stats{Sent: 3, Received: 6, Deleted: 3, Invocations: 2, BatchFailures: 1})
	})
}

func TestPoisonMessageMovesToDeadLetters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{respond: failBodies("poison")}
		q := localsqs.New(localsqs.Options{BatchSize: 5, VisibilityTimeout: 30 * time.Second, MaxReceiveCount: 3}, rec.handle)
		good := bodies("good", 20)
		send(t, q, good[:3]...)
		poisonID, err := q.Send("poison", map[string]string{"kind": "bad"})
		if err != nil {
			t.Fatal(err)
		}
		send(t, q, good[3:]...)
		start := time.Now()
		q.Start(context.Background())
		waitIdle(t, q, time.Hour)
		if got := time.Since(start); got != 90*time.Second {
			t.Errorf("queue idle after %v, want 90s: three receives 30s apart, then the move", got)
		}
		q.Close()

		d := rec.deliveries()
		for _, g := range good {
			if len(d[g]) != 1 {
				t.Errorf("%s delivered %d times, want once", g, len(d[g]))
			}
		}
		if len(d["poison"]) != 3 {
			t.Fatalf("poison delivered %d times, want MaxReceiveCount 3", len(d["poison"]))
		}
		for i, r := range d["poison"] {
			if want := strconv.Itoa(i + 1); r.Attributes["ApproximateReceiveCount"] != want {
				t.Errorf("receive %d: ApproximateReceiveCount %s", i+1, r.Attributes["ApproximateReceiveCount"])
			}
		}
		dead := q.DeadLetters()
		if len(dead) != 1 || dead[0].ID != poisonID || dead[0].Body != "poison" || dead[0].ReceiveCount != 3 || dead[0].Attributes["kind"] != "bad" {
			t.Fatalf("dead letters %+v, want the poison message received 3 times", dead)
		}
		dead[0].Attributes["kind"] = "mutated"
		if q.DeadLetters()[0].Attributes["kind"] != "bad" {
			t.Error("DeadLetters shares its maps with the queue")
		}
		checkStats(t, q.Stats(), localsqs.Stats{Sent: 21, Received: 23, Deleted: 20, DeadLettered: 1, Invocations: len(rec.all()), ItemFailures: 3})
	})
}

func TestHandlerPanicIsContained(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{respond: func(call int, _ events.SQSEvent) (events.SQSEventResponse, error) {
			if call == 0 {
				panic("handler bug")
			}
			return events.SQSEventResponse{}, nil
		}}
		q := localsqs.New(localsqs.Options{Concurrency: 1}, rec.handle)
		send(t, q, "m")
		q.Start(context.Background())
		waitIdle(t, q, time.Hour)
		q.Close()

		if d := rec.deliveries()["m"]; len(d) != 2 || d[1].Attributes["ApproximateReceiveCount"] != "2" {
			t.Errorf("message delivered %d times after a panic, want 2", len(d))
		}
		checkStats(t, q.Stats(), localsqs.Stats{Sent: 1, Received: 2, Deleted: 1, Invocations: 2, BatchFailures: 1, Panics: 1})
	})
}

func TestSlowInvocationOutlivingVisibility(t *testing.T) {
	t.Run("received again: old receipt no longer deletes", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rec := &recorder{respond: func(call int, _ events.SQSEvent) (events.SQSEventResponse, error) {
				if call == 0 {
					time.Sleep(45 * time.Second) // work that outlasts the 30s visibility timeout
				}
				return events.SQSEventResponse{}, nil
			}}
			q := localsqs.New(localsqs.Options{Concurrency: 2}, rec.handle)
			send(t, q, "slow")
			q.Start(context.Background())
			waitIdle(t, q, time.Hour) // the second receive deleted the message
			q.Close()                 // waits for the slow invocation and its stale delete
			checkStats(t, q.Stats(), localsqs.Stats{Sent: 1, Received: 2, Deleted: 1, Invocations: 2, StaleDeletes: 1})
		})
	})
	t.Run("visible again but not received: delete succeeds", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rec := &recorder{respond: func(int, events.SQSEvent) (events.SQSEventResponse, error) {
				time.Sleep(45 * time.Second)
				return events.SQSEventResponse{}, nil
			}}
			q := localsqs.New(localsqs.Options{Concurrency: 1}, rec.handle)
			send(t, q, "slow")
			q.Start(context.Background())
			time.Sleep(40 * time.Second)
			if s := q.Stats(); s.Visible != 1 {
				t.Errorf("after the visibility timeout: %+v, want the message visible", s)
			}
			waitIdle(t, q, time.Hour)
			q.Close()
			checkStats(t, q.Stats(), localsqs.Stats{Sent: 1, Received: 1, Deleted: 1, Invocations: 1})
		})
	})
}

func TestWaitIdle(t *testing.T) {
	t.Run("drained", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			q := localsqs.New(localsqs.Options{}, (&recorder{}).handle)
			q.Start(context.Background())
			defer q.Close()
			send(t, q, bodies("m", 25)...)
			waitIdle(t, q, time.Minute)
			if s := q.Stats(); s.Deleted != 25 || s.Visible+s.InFlight != 0 {
				t.Errorf("after WaitIdle: %+v", s)
			}
		})
	})
	t.Run("empty queue is idle", func(t *testing.T) {
		q := localsqs.New(localsqs.Options{}, (&recorder{}).handle)
		if err := q.WaitIdle(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			q := localsqs.New(localsqs.Options{}, (&recorder{}).handle)
			defer q.Close()
			send(t, q, "never received: not started")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			err := q.WaitIdle(ctx)
			if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 5*time.Second {
				t.Errorf("WaitIdle = %v after %v, want DeadlineExceeded after 5s", err, time.Since(start))
			}
		})
	})
}

func TestCloseWaitsForRunningInvocation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		entered, release := make(chan struct{}), make(chan struct{})
		rec := &recorder{respond: func(int, events.SQSEvent) (events.SQSEventResponse, error) {
			close(entered)
			<-release
			return events.SQSEventResponse{}, nil
		}}
		q := localsqs.New(localsqs.Options{Concurrency: 1}, rec.handle)
		q.Start(context.Background())
		send(t, q, "running")
		<-entered
		send(t, q, "waiting")

		closed := make(chan struct{})
		go func() {
			q.Close()
			close(closed)
		}()
		synctest.Wait()
		select {
		case <-closed:
			t.Fatal("Close returned while an invocation was running")
		default:
		}
		close(release)
		<-closed

		checkStats(t, q.Stats(), localsqs.Stats{Sent: 2, Received: 1, Deleted: 1, Visible: 1, Invocations: 1})
		if _, err := q.Send("late", nil); !errors.Is(err, localsqs.ErrClosed) {
			t.Errorf("Send after Close = %v, want ErrClosed", err)
		}
		q.Start(context.Background()) // no effect once closed
		q.Close()
		// synctest.Test fails if a poller is still alive here.
	})
}

func TestCancelledStartContextStopsPollersAndHandlers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var handlerErr error
		h := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			<-ctx.Done()
			handlerErr = ctx.Err()
			return events.SQSEventResponse{}, handlerErr
		}
		q := localsqs.New(localsqs.Options{Concurrency: 3}, h)
		q.Start(ctx)
		send(t, q, "m")
		synctest.Wait()
		cancel()
		q.Close()
		if !errors.Is(handlerErr, context.Canceled) {
			t.Errorf("handler context: %v, want cancelled", handlerErr)
		}
		checkStats(t, q.Stats(), localsqs.Stats{Sent: 1, Received: 1, InFlight: 1, Invocations: 1, BatchFailures: 1})
	})
}

func TestSendValidation(t *testing.T) {
	q := localsqs.New(localsqs.Options{}, (&recorder{}).handle)
	tooMany := map[string]string{}
	for i := range 11 {
		tooMany[fmt.Sprintf("a%d", i)] = "v"
	}
	cases := []struct {
		name  string
		body  string
		attrs map[string]string
		ok    bool
	}{
		{"one byte", "x", nil, true},
		{"largest body", strings.Repeat("x", 262144), nil, true},
		{"unicode", "é🎫\t\r\n", map[string]string{"account": "sub-1"}, true},
		{"empty body", "", nil, false},
		{"body too large", strings.Repeat("x", 262145), nil, false},
		{"attributes count towards the size", strings.Repeat("x", 262140), map[string]string{"ab": "cd"}, false},
		{"NUL", "a\x00b", nil, false},
		{"control character", "a\x1fb", nil, false},
		{"invalid UTF-8", "a\xffb", nil, false},
		{"noncharacter", "a\uffffb", nil, false},
		{"eleven attributes", "x", tooMany, false},
		{"reserved prefix", "x", map[string]string{"AWS.trace": "v"}, false},
		{"reserved prefix any case", "x", map[string]string{"amazon.x": "v"}, false},
		{"double period", "x", map[string]string{"a..b": "v"}, false},
		{"leading period", "x", map[string]string{".a": "v"}, false},
		{"space in name", "x", map[string]string{"a b": "v"}, false},
		{"empty value", "x", map[string]string{"a": ""}, false},
		{"bad value", "x", map[string]string{"a": "\x00"}, false},
	}
	for _, c := range cases {
		_, err := q.Send(c.body, c.attrs)
		if c.ok && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.ok && !errors.Is(err, localsqs.ErrInvalidMessage) {
			t.Errorf("%s: err = %v, want ErrInvalidMessage", c.name, err)
		}
	}
	if s := q.Stats(); s.Sent != 3 || s.Visible != 3 {
		t.Errorf("stats %+v, want the 3 valid messages", s)
	}

	big := localsqs.New(localsqs.Options{MaxMessageSize: 1 << 20}, (&recorder{}).handle)
	if _, err := big.Send(strings.Repeat("x", 1<<20), nil); err != nil {
		t.Errorf("1 MiB message on a queue allowing it: %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	valid := []localsqs.Options{
		{},
		{Name: "joins-dlq_1", BatchSize: 10, VisibilityTimeout: 3 * time.Minute, MaxReceiveCount: 5, TimeScale: 0.01},
		{BatchSize: 100, MaxBatchingWindow: time.Second},
		{BatchSize: 10000, MaxBatchingWindow: 300 * time.Second, VisibilityTimeout: 12 * time.Hour, MaxReceiveCount: 1000},
		{Faults: localsqs.Faults{DuplicateRate: 1, ReorderRate: 0.5, Seed: 3}},
	}
	for _, o := range valid {
		if err := o.Validate(); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
	invalid := []localsqs.Options{
		{Name: "has space"},
		{Name: strings.Repeat("q", 81)},
		{BatchSize: -1},
		{BatchSize: 11},
		{BatchSize: 10001, MaxBatchingWindow: time.Second},
		{MaxBatchingWindow: 1500 * time.Millisecond},
		{MaxBatchingWindow: 301 * time.Second},
		{VisibilityTimeout: 12*time.Hour + time.Second},
		{VisibilityTimeout: 500 * time.Millisecond},
		{MaxReceiveCount: 1001},
		{Concurrency: -1},
		{MaxMessageSize: 1023},
		{TimeScale: -1},
		{Faults: localsqs.Faults{DuplicateRate: -0.1}},
		{Faults: localsqs.Faults{ReorderRate: 1.5}},
		{Faults: localsqs.Faults{DuplicateRate: math.NaN()}},
	}
	for _, o := range invalid {
		if err := o.Validate(); err == nil {
			t.Errorf("%+v: accepted", o)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("New accepted invalid options")
		}
	}()
	localsqs.New(localsqs.Options{BatchSize: 11}, (&recorder{}).handle)
}

// TestFaultsDuplicateAndReorderAtTheChosenRate: with faults, some messages
// arrive twice (same id, separate receipts, each deleted) and some overtake
// older ones, near the chosen rates, and a seed replays the same delivery.
func TestFaultsDuplicateAndReorderAtTheChosenRate(t *testing.T) {
	const n = 2000
	run := func(seed uint64) ([]string, localsqs.Stats, map[string][]events.SQSMessage) {
		rec := &recorder{}
		// One poller and every message sent before it starts: the only
		// source of disorder and duplication is the faults.
		q := localsqs.New(localsqs.Options{BatchSize: 10, Concurrency: 1, VisibilityTimeout: 10 * time.Minute,
			Faults: localsqs.Faults{DuplicateRate: 0.1, ReorderRate: 0.2, Seed: seed}}, rec.handle)
		send(t, q, bodies("m", n)...)
		q.Start(context.Background())
		waitIdle(t, q, 60*time.Second)
		q.Close()
		var order []string
		for _, b := range rec.all() {
			for _, r := range b.records {
				order = append(order, r.Body)
			}
		}
		return order, q.Stats(), rec.deliveries()
	}
	order, st, byBody := run(7)

	twice := 0
	for body, recs := range byBody {
		switch len(recs) {
		case 1:
		case 2:
			twice++
			if recs[0].MessageId != recs[1].MessageId || recs[0].ReceiptHandle == recs[1].ReceiptHandle {
				t.Errorf("%s: a duplicate must keep the message id and get its own receipt: %+v", body, recs)
			}
		default:
			t.Errorf("%s delivered %d times", body, len(recs))
		}
	}
	if len(byBody) != n || twice != st.Duplicated {
		t.Fatalf("%d of %d messages delivered, %d twice; stats %+v", len(byBody), n, twice, st)
	}
	// Binomial(2000, 0.1): mean 200, standard deviation 13.4.
	if st.Duplicated < 140 || st.Duplicated > 260 {
		t.Errorf("%d duplicates at rate 0.1 of %d", st.Duplicated, n)
	}
	checkStats(t, st, localsqs.Stats{Sent: n, Received: n + st.Duplicated, Deleted: n + st.Duplicated,
		Invocations: st.Invocations, Duplicated: st.Duplicated, Reordered: st.Reordered})

	// Overtakes: first deliveries of a message sent before one already
	// delivered.
	seen, highest, late := map[string]bool{}, -1, 0
	for _, body := range order {
		if seen[body] {
			continue
		}
		seen[body] = true
		i, _ := strconv.Atoi(body[1:])
		if i < highest {
			late++
		}
		highest = max(highest, i)
	}
	// About 0.2 of 2,200 takes pick a message other than the oldest.
	if st.Reordered < 300 || st.Reordered > 600 || late == 0 {
		t.Errorf("%d reordered takes, %d messages delivered after a younger one", st.Reordered, late)
	}

	again, st2, _ := run(7)
	if !slices.Equal(order, again) || st2.Duplicated != st.Duplicated {
		t.Error("the same seed delivered differently")
	}
	if other, _, _ := run(8); slices.Equal(order, other) {
		t.Error("another seed delivered the same sequence")
	}
}
