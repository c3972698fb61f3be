package devstack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/localsqs"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/testenv/fixture"
	"github.com/stararena/stararena/internal/topology"
	"github.com/stararena/stararena/internal/waitroom"
)

// TestJoinThroughMotoSQS runs the join path on moto's SQS (the JSON
// protocol the SDK speaks to AWS) instead of localsqs: messages sent with
// the SQS-SendMessage integration's parameters (QueueUrl and the rendered
// MessageBody), a redrive policy with the topology's maxReceiveCount, and
// an event-source-mapping poller feeding the real assigner handler. Every
// fan joins twice; a join for an event whose stored item is corrupt fails
// on every delivery and must reach the dead-letter queue after exactly
// maxReceiveCount receives, while the joins sharing its batches are
// deleted (partial batch failure) and each fan holds exactly one place.
func TestJoinThroughMotoSQS(t *testing.T) {
	endpoint := testenv.Moto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tp := topology.Default()
	var route topology.Route
	for _, r := range tp.Routes {
		if r.Integration == topology.IntegrationSQS {
			route = r
		}
	}
	var spec topology.Queue
	for _, q := range tp.Queues {
		if q.Name == route.Queue {
			spec = q
		}
	}
	if spec.Name == "" || spec.MaxReceiveCount == 0 {
		t.Fatalf("no queue with a redrive policy behind the join route: %+v", route)
	}

	client := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		// moto routes a request by the service named in its signature.
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	dlqURL, dlqARN := createQueue(ctx, t, client, spec.Name+"-dlq", nil)
	policy, _ := json.Marshal(map[string]string{"deadLetterTargetArn": dlqARN, "maxReceiveCount": strconv.Itoa(spec.MaxReceiveCount)})
	// The topology's 60 s visibility timeout would make five receives take
	// five minutes; 2 s keeps the same mechanics (a batch of 100 is
	// assigned in well under that).
	visibility := 2 * time.Second
	queueURL, queueARN := createQueue(ctx, t, client, spec.Name, map[string]string{
		"VisibilityTimeout": strconv.Itoa(int(visibility.Seconds())), "RedrivePolicy": string(policy)})

	clk := &clock.Offset{}
	a := fixture.NewApp(t, fixture.AppOptions{Clock: clk, Logger: slog.New(slog.DiscardHandler)})
	ev := queueEvent(t, a.Catalog, clk.Now())
	const broken = "broken-event"
	if _, err := a.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(a.Config.TableName),
		Item: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: dynamo.PrefixEvent + broken},
			"sk": &ddbtypes.AttributeValueMemberS{Value: "META"},
		}}); err != nil {
		t.Fatal(err)
	}

	send := func(eventID, sub string) string {
		t.Helper()
		body := devstack.RenderMapping(route.MessageBody, map[string]string{
			"request.path.eventId":          eventID,
			"context.authorizer.claims.sub": sub,
			"context.requestTimeEpoch":      strconv.FormatInt(time.Now().UnixMilli(), 10),
		})
		out, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(body)})
		if err != nil {
			t.Fatalf("SendMessage: %v", err)
		}
		return aws.ToString(out.MessageId)
	}
	const fans = 60
	var poisonID string
	for round := range 2 {
		for i := range fans {
			if round == 0 && i == fans/2 {
				poisonID = send(broken, "fan-poisoned")
			}
			send(ev.ID, fmt.Sprintf("fan-%03d", i))
		}
	}

	p := &mappingPoller{sqs: client, url: queueURL, arn: queueARN, batchSize: spec.BatchSize,
		window: spec.MaxBatchingWindow, handler: a.Assigner(), receives: map[string]int{}}
	pollCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { p.run(pollCtx) })
	defer func() { stop(); wg.Wait() }()

	var dead []types.Message
	for len(dead) == 0 {
		if ctx.Err() != nil {
			t.Fatalf("the poisoned join never reached the dead-letter queue (receives: %d)", p.receivesOf(poisonID))
		}
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlqURL), WaitTimeSeconds: 1})
		if err != nil && ctx.Err() == nil {
			t.Fatal(err)
		}
		if out != nil {
			dead = out.Messages
		}
	}
	for waiting(ctx, t, client, queueURL) > 0 {
		if ctx.Err() != nil {
			t.Fatal("the join queue never drained")
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	wg.Wait()
	if perr := p.failure(); perr != nil {
		t.Fatal(perr)
	}

	if len(dead) != 1 || aws.ToString(dead[0].MessageId) != poisonID {
		t.Fatalf("dead letters %+v, want only the poisoned join %s", dead, poisonID)
	}
	if n := p.receivesOf(poisonID); n != spec.MaxReceiveCount {
		t.Fatalf("the poisoned join was delivered %d times before redrive, want maxReceiveCount %d", n, spec.MaxReceiveCount)
	}
	if p.partialBatches == 0 {
		t.Fatal("no batch mixed the poisoned join with good ones: partial batch failure was not exercised")
	}
	// The sale opens and the draw orders the entrants: one position each.
	clk.Advance(24*time.Hour + waitroom.DefaultDrawGrace)
	if _, err := a.Waitroom.Tick(ctx, ev.ID); err != nil {
		t.Fatal(err)
	}
	rep, err := a.Waitroom.Report(ctx, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Joined != fans || rep.Entrants != fans {
		t.Fatalf("%d places, %d draw entrants for %d fans who each joined twice", rep.Joined, rep.Entrants, fans)
	}
	doc, err := a.Waitroom.DrawDocument(ctx, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range doc.Entrants {
		if e.Position != i+1 {
			t.Fatalf("draw positions are not 1..%d: %+v", fans, doc.Entrants)
		}
	}
	t.Logf("%d invocations, %d partial, poisoned join received %d times", p.invocations, p.partialBatches, p.receivesOf(poisonID))
}

// queueEvent creates an event selling through the waiting room whose sale
// opens a day after now, so every join is a draw entry.
func queueEvent(t *testing.T, cat *catalog.Service, now time.Time) catalog.Event {
	t.Helper()
	price, capacity, rate := int64(4000), 100, 600
	req := catalog.CreateEventRequest{Name: "Queue", Venue: "Hall",
		StartsAt:    now.Add(48 * time.Hour).UTC().Format(time.RFC3339),
		SaleOpensAt: now.Add(24 * time.Hour).UTC().Format(time.RFC3339),
		Queue:       &catalog.QueueRequest{Mode: "on", AdmitPerMinute: &rate},
		Sections:    []catalog.SectionRequest{{ID: "GA", PriceCents: &price, Currency: "EUR", Capacity: &capacity}},
	}
	ev, err := req.Event()
	if err != nil {
		t.Fatal(err)
	}
	if ev, err = cat.Create(context.Background(), ev, "organizer-1", "organizer-1"); err != nil {
		t.Fatal(err)
	}
	return ev
}

func createQueue(ctx context.Context, t *testing.T, c *sqs.Client, name string, attrs map[string]string) (url, arn string) {
	t.Helper()
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("CreateQueue %s: %v", name, err)
	}
	got, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.QueueUrl), got.Attributes[string(types.QueueAttributeNameQueueArn)]
}

// waiting is the number of messages visible or in flight.
func waiting(ctx context.Context, t *testing.T, c *sqs.Client, url string) int {
	t.Helper()
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		if ctx.Err() != nil {
			return -1
		}
		t.Fatal(err)
	}
	n := 0
	for _, v := range out.Attributes {
		k, _ := strconv.Atoi(v)
		n += k
	}
	return n
}

// mappingPoller is Lambda's event source mapping for a standard queue on
// an SQS API: batches of up to batchSize gathered from ReceiveMessage
// calls (10 messages at most each) within the batching window, one
// invocation at a time, each settled by localsqs.Invoke (the records a
// response lists stay on the queue until their visibility timeout ends,
// the others are deleted; a function error or a failure naming no record
// of the batch keeps the whole batch). Only the receiving and deleting
// are its own: localsqs's queue has no SQS API to poll.
type mappingPoller struct {
	sqs       *sqs.Client
	url, arn  string
	batchSize int
	window    time.Duration
	handler   localsqs.Handler

	mu             sync.Mutex
	receives       map[string]int
	invocations    int
	partialBatches int
	err            error
}

func (p *mappingPoller) receivesOf(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.receives[id]
}

func (p *mappingPoller) failure() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *mappingPoller) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err = errors.Join(p.err, err)
}

func (p *mappingPoller) run(ctx context.Context) {
	for ctx.Err() == nil {
		if recs := p.batch(ctx); len(recs) > 0 {
			p.invoke(ctx, recs)
		}
	}
}

// batch receives until the batch is full, or until the window since its
// first message has passed or the queue has nothing more to give.
func (p *mappingPoller) batch(ctx context.Context) []events.SQSMessage {
	var recs []events.SQSMessage
	var due time.Time
	for len(recs) < p.batchSize && (len(recs) == 0 || time.Now().Before(due)) {
		out, err := p.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(p.url),
			MaxNumberOfMessages: int32(min(10, p.batchSize-len(recs))), WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
		if err != nil {
			if ctx.Err() == nil {
				p.fail(fmt.Errorf("ReceiveMessage: %w", err))
			}
			return nil
		}
		if len(out.Messages) == 0 && len(recs) > 0 {
			break
		}
		if len(recs) == 0 && len(out.Messages) > 0 {
			due = time.Now().Add(p.window)
		}
		p.mu.Lock()
		for _, m := range out.Messages {
			p.receives[aws.ToString(m.MessageId)]++
			recs = append(recs, events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
				Body: aws.ToString(m.Body), Md5OfBody: aws.ToString(m.MD5OfBody), Attributes: m.Attributes,
				EventSource: "aws:sqs", EventSourceARN: p.arn, AWSRegion: "us-east-1"})
		}
		p.mu.Unlock()
	}
	return recs
}

// invoke settles a batch with localsqs.Invoke, the rule the in-process
// queue follows, and deletes through moto's API what that rule deletes.
func (p *mappingPoller) invoke(ctx context.Context, recs []events.SQSMessage) {
	res := localsqs.Invoke(ctx, p.handler, recs)
	p.mu.Lock()
	p.invocations++
	if res.Err == nil && len(res.Failed) > 0 && len(res.Failed) < len(recs) {
		p.partialBatches++
	}
	p.mu.Unlock()
	var del []types.DeleteMessageBatchRequestEntry
	for _, r := range recs {
		if res.Delete(r.MessageId) {
			del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(len(del))), ReceiptHandle: aws.String(r.ReceiptHandle)})
		}
	}
	for i := 0; i < len(del); i += 10 {
		out, err := p.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.url), Entries: del[i:min(i+10, len(del))]})
		if err == nil && len(out.Failed) > 0 {
			err = fmt.Errorf("%d deletes failed: %s", len(out.Failed), aws.ToString(out.Failed[0].Message))
		}
		if err != nil && ctx.Err() == nil {
			p.fail(fmt.Errorf("DeleteMessageBatch: %w", err))
		}
	}
}
