package localsqs

import (
	"container/heap"
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"regexp"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Defaults and limits, from the SQS and Lambda quotas.
const (
	DefaultBatchSize         = 10
	DefaultConcurrency       = 2
	DefaultVisibilityTimeout = 30 * time.Second
	DefaultMaxMessageSize    = 262144

	// MaxBatchSize is the largest batch a mapping on a standard queue takes.
	MaxBatchSize = 10000
	// maxUnwindowedBatch is the largest batch Lambda accepts without a
	// batching window of at least a second.
	maxUnwindowedBatch   = 10
	maxBatchingWindow    = 300 * time.Second
	maxVisibilityTimeout = 12 * time.Hour
	maxMaxReceiveCount   = 1000
	maxMessageSizeLimit  = 1 << 20
	// maxReorderDistance is how many visible messages a reordered record
	// may overtake.
	maxReorderDistance  = 1000
	minMessageSizeLimit = 1024
	// maxInvocationBytes is Lambda's synchronous invocation payload limit,
	// which caps a batch whatever its size in records.
	maxInvocationBytes = 6 << 20

	region    = "local"
	accountID = "000000000000"
)

// ErrClosed is returned by Send on a closed queue.
var ErrClosed = errors.New("localsqs: queue closed")

// Handler is a Lambda function fed by an SQS event source mapping.
type Handler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// Options configure a queue and its event source mapping. Zero values take
// the defaults documented on each field.
type Options struct {
	// Name is the queue name; EventSourceARN is
	// "arn:aws:sqs:local:000000000000:<Name>". Default "queue".
	Name string
	// BatchSize is the most records per invocation (default 10; above 10 a
	// MaxBatchingWindow of at least a second is required, as in Lambda).
	BatchSize int
	// MaxBatchingWindow is how long a poller waits for a full batch
	// (0: deliver what is there).
	MaxBatchingWindow time.Duration
	// VisibilityTimeout is how long a received message stays invisible
	// (default 30 s, SQS's default).
	VisibilityTimeout time.Duration
	// MaxReceiveCount is the number of receives after which a failing
	// message moves to the dead-letter list (0: no redrive policy).
	MaxReceiveCount int
	// Concurrency is the number of concurrent pollers, hence invocations
	// (default 2, the minimum maximum-concurrency of a mapping).
	Concurrency int
	// MaxMessageSize is the queue's MaximumMessageSize (default 262,144).
	MaxMessageSize int
	// TimeScale multiplies VisibilityTimeout and MaxBatchingWindow (tests:
	// 0.01); 0 or 1 is real time.
	TimeScale float64
	// Logger receives invocation failures and redrives (default: discard).
	Logger *slog.Logger
	// Faults inject the duplicates and reordering a standard queue may
	// produce (default: none).
	Faults Faults
}

// Faults make delivery as unreliable as a standard queue's may be, at a
// chosen rate and repeatably for a seed, so consumers are tested against
// it: SQS delivers at least once and only roughly in order.
type Faults struct {
	// DuplicateRate is the probability that a sent message is stored
	// twice: both copies are delivered, with the same MessageId and
	// different receipt handles, and each must be deleted.
	DuplicateRate float64
	// ReorderRate is the probability that a record of a batch is taken
	// from anywhere among the visible messages instead of the oldest, so it
	// overtakes the messages sent before it.
	ReorderRate float64
	// Seed seeds the choices; one seed gives the same duplicates for the
	// same sequence of sends.
	Seed uint64
}

func (f Faults) validate() error {
	var errs []error
	for name, r := range map[string]float64{"duplicate rate": f.DuplicateRate, "reorder rate": f.ReorderRate} {
		if !(r >= 0 && r <= 1) {
			errs = append(errs, fmt.Errorf("%s %v: must be 0 to 1", name, r))
		}
	}
	return errors.Join(errs...)
}

var queueName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// Validate reports the settings SQS, Lambda or CloudFormation would reject,
// so a configuration that runs locally also deploys.
func (o Options) Validate() error {
	var errs []error
	if o.Name != "" && !queueName.MatchString(o.Name) {
		errs = append(errs, fmt.Errorf("queue name %q: 1 to 80 letters, digits, - or _", o.Name))
	}
	if o.BatchSize < 0 || o.BatchSize > MaxBatchSize {
		errs = append(errs, fmt.Errorf("batch size %d: must be 1 to %d", o.BatchSize, MaxBatchSize))
	}
	if o.BatchSize > maxUnwindowedBatch && o.MaxBatchingWindow < time.Second {
		errs = append(errs, fmt.Errorf("batch size %d: above %d needs a batching window of at least 1s", o.BatchSize, maxUnwindowedBatch))
	}
	if o.MaxBatchingWindow < 0 || o.MaxBatchingWindow > maxBatchingWindow || o.MaxBatchingWindow%time.Second != 0 {
		errs = append(errs, fmt.Errorf("batching window %v: whole seconds, 0 to %v", o.MaxBatchingWindow, maxBatchingWindow))
	}
	if o.VisibilityTimeout < 0 || o.VisibilityTimeout > maxVisibilityTimeout || o.VisibilityTimeout%time.Second != 0 {
		errs = append(errs, fmt.Errorf("visibility timeout %v: whole seconds, 0 to %v", o.VisibilityTimeout, maxVisibilityTimeout))
	}
	if o.MaxReceiveCount < 0 || o.MaxReceiveCount > maxMaxReceiveCount {
		errs = append(errs, fmt.Errorf("max receive count %d: must be 0 (no redrive) or 1 to %d", o.MaxReceiveCount, maxMaxReceiveCount))
	}
	if o.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency %d: must not be negative", o.Concurrency))
	}
	if o.MaxMessageSize != 0 && (o.MaxMessageSize < minMessageSizeLimit || o.MaxMessageSize > maxMessageSizeLimit) {
		errs = append(errs, fmt.Errorf("max message size %d: must be %d to %d", o.MaxMessageSize, minMessageSizeLimit, maxMessageSizeLimit))
	}
	if o.TimeScale < 0 || math.IsNaN(o.TimeScale) || math.IsInf(o.TimeScale, 0) {
		errs = append(errs, fmt.Errorf("time scale %v: must be a non-negative number", o.TimeScale))
	}
	if err := o.Faults.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Message is a message as the queue holds it.
type Message struct {
	ID              string
	Body            string
	Attributes      map[string]string // message attributes, all of type String
	SentAt          time.Time
	FirstReceivedAt time.Time // zero until the first receive
	ReceiveCount    int
}

func (m Message) clone() Message {
	if m.Attributes != nil {
		a := make(map[string]string, len(m.Attributes))
		for k, v := range m.Attributes {
			a[k] = v
		}
		m.Attributes = a
	}
	return m
}

// Stats counts what the queue and its mapping did.
type Stats struct {
	Sent         int // messages accepted by Send
	Received     int // deliveries: a message in two batches counts twice
	Deleted      int // messages deleted after a successful invocation
	Visible      int // messages waiting to be received
	InFlight     int // messages received and not yet deleted, visible again or dead-lettered
	DeadLettered int // messages moved to the dead-letter list
	Invocations  int // handler invocations
	// BatchFailures counts invocations that failed as a whole: an error, a
	// panic, or an item failure naming no message of the batch.
	BatchFailures int
	ItemFailures  int // records reported in BatchItemFailures of valid responses
	Panics        int // invocations that panicked (also in BatchFailures)
	// StaleDeletes counts deletes skipped because the message had been
	// received again since the batch was delivered.
	StaleDeletes int
	// Duplicated counts messages stored twice by Faults.DuplicateRate.
	Duplicated int
	// Reordered counts records taken out of order by Faults.ReorderRate.
	Reordered int
}

// entry is a message and where it is: in the visible list (elem != nil) or
// in flight (index >= 0).
type entry struct {
	// key identifies the stored copy: the message id, with a suffix for a
	// duplicate.
	key       string
	msg       Message
	size      int
	receipt   string
	visibleAt time.Time // end of the visibility timeout, while in flight
	// visibleSince is when the message last became visible, for the
	// batching window.
	visibleSince time.Time
	elem         *list.Element
	index        int
}

// Queue is a standard queue with its event source mapping. Its methods are
// safe for concurrent use.
type Queue struct {
	name, arn   string
	handler     Handler
	batchSize   int
	concurrency int
	maxReceive  int
	maxSize     int
	visibility  time.Duration
	window      time.Duration
	log         *slog.Logger
	faults      Faults
	rng         *rand.Rand // guarded by mu

	mu sync.Mutex
	// changed is closed and replaced on every state change, waking every
	// waiter at once; unlike sync.Cond it can be selected on together with
	// a timer and a context.
	changed      chan struct{}
	msgs         map[string]*entry
	visible      list.List
	visibleBytes int
	inflight     inflightHeap
	dead         []Message
	stats        Stats
	started      bool
	closed       bool
	stop         context.CancelFunc
	pollers      sync.WaitGroup
}

// New returns a queue delivering to h once started. It panics if o fails
// [Options.Validate]: the options come from the topology, so an invalid one
// is a programming error, which the deployment would reject as well.
func New(o Options, h Handler) *Queue {
	if err := o.Validate(); err != nil {
		panic(fmt.Sprintf("localsqs: %v", err))
	}
	if h == nil {
		panic("localsqs: nil handler")
	}
	if o.Name == "" {
		o.Name = "queue"
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.VisibilityTimeout == 0 {
		o.VisibilityTimeout = DefaultVisibilityTimeout
	}
	if o.MaxMessageSize == 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	scale := o.TimeScale
	if scale == 0 {
		scale = 1
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Queue{
		name:        o.Name,
		arn:         "arn:aws:sqs:" + region + ":" + accountID + ":" + o.Name,
		handler:     h,
		batchSize:   o.BatchSize,
		concurrency: o.Concurrency,
		maxReceive:  o.MaxReceiveCount,
		maxSize:     o.MaxMessageSize,
		visibility:  time.Duration(float64(o.VisibilityTimeout) * scale),
		window:      time.Duration(float64(o.MaxBatchingWindow) * scale),
		log:         log.With("queue", o.Name),
		faults:      o.Faults,
		rng:         rand.New(rand.NewPCG(o.Faults.Seed, o.Faults.Seed)),
		changed:     make(chan struct{}),
		msgs:        map[string]*entry{},
	}
}

// ARN is the queue's EventSourceARN.
func (q *Queue) ARN() string { return q.arn }

// Start begins polling. Pollers stop when ctx is done or the queue is
// closed. Invocations receive ctx itself: Close lets a running invocation
// finish, while cancelling ctx also asks the handlers to stop. Starting a
// started or closed queue does nothing.
func (q *Queue) Start(ctx context.Context) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started || q.closed {
		return
	}
	q.started = true
	pollCtx, stop := context.WithCancel(ctx)
	q.stop = stop
	for range q.concurrency {
		q.pollers.Add(1)
		go q.poll(pollCtx, ctx)
	}
}

// Close stops the pollers and waits for running invocations to finish and
// their results to be applied, so it must not be called from a handler.
// Messages left visible or in flight stay where they are. Close is
// idempotent.
func (q *Queue) Close() {
	q.mu.Lock()
	q.closed = true
	stop := q.stop
	q.broadcastLocked()
	q.mu.Unlock()
	if stop != nil {
		stop()
	}
	q.pollers.Wait()
}

// ErrInvalidMessage is wrapped by Send's errors for messages SQS rejects.
var ErrInvalidMessage = errors.New("invalid message")

// Send enqueues a message, as SendMessage does, and returns its id.
// attrs become String message attributes.
func (q *Queue) Send(body string, attrs map[string]string) (messageID string, err error) {
	size, err := validateMessage(body, attrs, q.maxSize)
	if err != nil {
		return "", fmt.Errorf("send to %s: %w", q.name, err)
	}
	e := &entry{
		// Copied so the caller may reuse its map.
		msg:   Message{ID: newMessageID(), Body: body, Attributes: attrs, SentAt: time.Now()}.clone(),
		size:  size,
		index: -1,
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return "", fmt.Errorf("send to %s: %w", q.name, ErrClosed)
	}
	e.key = e.msg.ID
	q.msgs[e.key] = e
	q.pushVisibleLocked(e, e.msg.SentAt)
	q.stats.Sent++
	if q.faults.DuplicateRate > 0 && q.rng.Float64() < q.faults.DuplicateRate {
		dup := &entry{key: e.key + "/duplicate", msg: e.msg.clone(), size: size, index: -1}
		q.msgs[dup.key] = dup
		q.pushVisibleLocked(dup, e.msg.SentAt)
		q.stats.Duplicated++
	}
	q.broadcastLocked()
	return e.msg.ID, nil
}

// Stats returns the counters and the current visible and in-flight counts.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.expireLocked(time.Now())
	s := q.stats
	s.Visible = q.visible.Len()
	s.InFlight = len(q.inflight)
	return s
}

// DeadLetters returns copies of the messages moved to the dead-letter list,
// oldest move first.
func (q *Queue) DeadLetters() []Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.expireLocked(time.Now())
	out := make([]Message, len(q.dead))
	for i, m := range q.dead {
		out[i] = m.clone()
	}
	return out
}

// WaitIdle returns nil once no message is visible or in flight: everything
// sent has been deleted or dead-lettered. A failed message keeps the queue
// busy until it is finally deleted or dead-lettered, and a queue that is not
// started never drains by itself, so bound ctx.
func (q *Queue) WaitIdle(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		q.expireLocked(time.Now())
		if q.visible.Len() == 0 && len(q.inflight) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("wait for queue %s to drain (%d visible, %d in flight): %w",
				q.name, q.visible.Len(), len(q.inflight), err)
		}
		q.waitLocked(ctx, q.nextExpiryLocked())
	}
}

// poll is one poller: receive a batch, invoke, apply the result, repeat.
func (q *Queue) poll(pollCtx, invokeCtx context.Context) {
	defer q.pollers.Done()
	for {
		batch, keys, ok := q.receive(pollCtx)
		if !ok {
			return
		}
		q.invoke(invokeCtx, batch, keys)
	}
}

// receive blocks until a batch is due, or returns false when polling stops.
// keys name the stored copies the records came from.
func (q *Queue) receive(ctx context.Context) (recs []events.SQSMessage, keys []string, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if q.closed || ctx.Err() != nil {
			return nil, nil, false
		}
		now := time.Now()
		q.expireLocked(now)
		n := q.visible.Len()
		if n == 0 {
			q.waitLocked(ctx, q.nextExpiryLocked())
			continue
		}
		if q.window > 0 && n < q.batchSize && q.visibleBytes < maxInvocationBytes {
			// The window runs from when the oldest visible message became
			// visible, not from when a poller first looked: then whichever
			// poller is free delivers a batch as soon as it is due, and a
			// poller that lost its messages to another starts over.
			due := q.visible.Front().Value.(*entry).visibleSince.Add(q.window)
			if now.Before(due) {
				q.waitLocked(ctx, earliest(due, q.nextExpiryLocked()))
				continue
			}
		}
		recs, keys := q.takeLocked(now)
		return recs, keys, true
	}
}

// takeLocked receives up to a batch of visible messages, oldest first
// unless Faults.ReorderRate picks another.
func (q *Queue) takeLocked(now time.Time) ([]events.SQSMessage, []string) {
	var recs []events.SQSMessage
	var keys []string
	bytes := 0
	for len(recs) < q.batchSize {
		front := q.visible.Front()
		if front == nil {
			break
		}
		if q.faults.ReorderRate > 0 && q.visible.Len() > 1 && q.rng.Float64() < q.faults.ReorderRate {
			// Walking the list bounds how far a message can overtake; a
			// standard queue promises nothing, so any bound is fair game.
			for range q.rng.IntN(min(q.visible.Len(), maxReorderDistance)) {
				front = front.Next()
			}
			if front != q.visible.Front() {
				q.stats.Reordered++
			}
		}
		e := front.Value.(*entry)
		if len(recs) > 0 && bytes+e.size > maxInvocationBytes {
			break
		}
		q.removeVisibleLocked(e)
		e.msg.ReceiveCount++
		if e.msg.FirstReceivedAt.IsZero() {
			e.msg.FirstReceivedAt = now
		}
		e.receipt = newReceiptHandle()
		e.visibleAt = now.Add(q.visibility)
		heap.Push(&q.inflight, e)
		recs = append(recs, q.record(e))
		keys = append(keys, e.key)
		bytes += e.size
	}
	q.stats.Received += len(recs)
	q.broadcastLocked()
	return recs, keys
}

func (q *Queue) record(e *entry) events.SQSMessage {
	r := events.SQSMessage{
		MessageId:     e.msg.ID,
		ReceiptHandle: e.receipt,
		Body:          e.msg.Body,
		Md5OfBody:     md5Hex([]byte(e.msg.Body)),
		Attributes: map[string]string{
			"ApproximateReceiveCount":          strconv.Itoa(e.msg.ReceiveCount),
			"SentTimestamp":                    strconv.FormatInt(e.msg.SentAt.UnixMilli(), 10),
			"SenderId":                         accountID,
			"ApproximateFirstReceiveTimestamp": strconv.FormatInt(e.msg.FirstReceivedAt.UnixMilli(), 10),
		},
		MessageAttributes: map[string]events.SQSMessageAttribute{},
		EventSource:       "aws:sqs",
		EventSourceARN:    q.arn,
		AWSRegion:         region,
	}
	for k, v := range e.msg.Attributes {
		r.MessageAttributes[k] = events.SQSMessageAttribute{
			StringValue:      &v,
			StringListValues: []string{},
			BinaryListValues: [][]byte{},
			DataType:         "String",
		}
	}
	if len(r.MessageAttributes) > 0 {
		r.Md5OfMessageAttributes = md5OfMessageAttributes(r.MessageAttributes)
	}
	return r
}

// invoke runs the handler on a batch and deletes what succeeded.
func (q *Queue) invoke(ctx context.Context, recs []events.SQSMessage, keys []string) {
	// The handler owns the records once called; keep what the deletes need.
	type receipt struct{ key, id, handle string }
	receipts := make([]receipt, len(recs))
	for i, r := range recs {
		receipts[i] = receipt{keys[i], r.MessageId, r.ReceiptHandle}
	}
	q.mu.Lock()
	q.stats.Invocations++
	q.mu.Unlock()

	res := Invoke(ctx, q.handler, recs)

	q.mu.Lock()
	defer q.mu.Unlock()
	if res.Err != nil {
		// Nothing is deleted: every message of the batch comes back when its
		// visibility timeout ends.
		q.stats.BatchFailures++
		if res.Panicked {
			q.stats.Panics++
			q.log.Error("sqs handler panicked", "err", res.Err.Error(), "stack", res.Stack)
		}
		q.log.Warn("sqs batch failed; messages return after the visibility timeout",
			"records", len(recs), "err", res.Err)
		return
	}
	q.stats.ItemFailures += len(res.Failed)
	if len(res.Failed) > 0 {
		q.log.Info("sqs batch item failures", "records", len(recs), "failed", len(res.Failed))
	}
	for _, r := range receipts {
		if !res.Failed[r.id] {
			q.deleteLocked(r.key, r.handle)
		}
	}
}

// Result is what the event source mapping makes of one invocation.
type Result struct {
	// Err: the batch failed as a whole (a function error, a panic, or a
	// response Lambda treats as one); nothing is deleted.
	Err error
	// Panicked: Err is a recovered panic, whose stack is Stack.
	Panicked bool
	Stack    string
	// Failed are the message ids the response reported (Err nil): they
	// stay on the queue, every other record of the batch is deleted.
	Failed map[string]bool
}

// Delete reports whether the mapping deletes the record with id.
func (r Result) Delete(id string) bool { return r.Err == nil && !r.Failed[id] }

// Invoke runs handler on one batch as Lambda's event source mapping does
// with ReportBatchItemFailures: a panic is a function error, and the
// response decides which records are deleted (Result). The in-process
// Queue settles its batches with it, and so does a test that polls a
// real SQS API, so both follow one rule.
func Invoke(ctx context.Context, handler Handler, recs []events.SQSMessage) (res Result) {
	inBatch := make(map[string]bool, len(recs))
	for _, r := range recs {
		inBatch[r.MessageId] = true
	}
	defer func() {
		if v := recover(); v != nil {
			res = Result{Err: fmt.Errorf("handler panic: %v", v), Panicked: true, Stack: string(debug.Stack())}
		}
	}()
	resp, err := handler(ctx, events.SQSEvent{Records: recs})
	if err != nil {
		return Result{Err: fmt.Errorf("handler: %w", err)}
	}
	failed, err := itemFailures(resp, inBatch)
	return Result{Err: err, Failed: failed}
}

// itemFailures returns the ids a response reports as failed, or an error when
// Lambda would treat the response as a failure of the whole batch.
func itemFailures(resp events.SQSEventResponse, inBatch map[string]bool) (map[string]bool, error) {
	if len(resp.BatchItemFailures) == 0 {
		return nil, nil
	}
	failed := make(map[string]bool, len(resp.BatchItemFailures))
	for _, f := range resp.BatchItemFailures {
		if f.ItemIdentifier == "" {
			return nil, errors.New("batch item failure with an empty itemIdentifier")
		}
		if !inBatch[f.ItemIdentifier] {
			return nil, fmt.Errorf("batch item failure names %q, not a message of the batch", f.ItemIdentifier)
		}
		failed[f.ItemIdentifier] = true
	}
	return failed, nil
}

// deleteLocked is DeleteMessage with the receipt handle of one receive of
// the copy stored under key.
func (q *Queue) deleteLocked(key, handle string) {
	e, ok := q.msgs[key]
	if !ok {
		// Already dead-lettered after its visibility timeout.
		q.stats.StaleDeletes++
		return
	}
	if e.receipt != handle {
		q.stats.StaleDeletes++
		return
	}
	if e.elem != nil {
		q.removeVisibleLocked(e)
	} else if e.index >= 0 {
		heap.Remove(&q.inflight, e.index)
	}
	delete(q.msgs, key)
	q.stats.Deleted++
	q.broadcastLocked()
}

// expireLocked ends the visibility timeouts due by now: each message becomes
// visible again or, at its last allowed receive, moves to the dead letters.
func (q *Queue) expireLocked(now time.Time) {
	changed := false
	for len(q.inflight) > 0 && !q.inflight[0].visibleAt.After(now) {
		e := heap.Pop(&q.inflight).(*entry)
		changed = true
		if q.maxReceive > 0 && e.msg.ReceiveCount >= q.maxReceive {
			delete(q.msgs, e.key)
			q.dead = append(q.dead, e.msg)
			q.stats.DeadLettered++
			q.log.Warn("sqs message moved to the dead-letter queue",
				"messageId", e.msg.ID, "receiveCount", e.msg.ReceiveCount)
			continue
		}
		q.pushVisibleLocked(e, e.visibleAt)
	}
	if changed {
		q.broadcastLocked()
	}
}

func (q *Queue) nextExpiryLocked() time.Time {
	if len(q.inflight) == 0 {
		return time.Time{}
	}
	return q.inflight[0].visibleAt
}

func (q *Queue) pushVisibleLocked(e *entry, since time.Time) {
	e.visibleSince = since
	e.elem = q.visible.PushBack(e)
	q.visibleBytes += e.size
}

func (q *Queue) removeVisibleLocked(e *entry) {
	q.visible.Remove(e.elem)
	e.elem = nil
	q.visibleBytes -= e.size
}

func (q *Queue) broadcastLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// waitLocked releases the lock until the state changes, until passes (zero:
// no deadline) or ctx is done.
func (q *Queue) waitLocked(ctx context.Context, until time.Time) {
	changed := q.changed
	q.mu.Unlock()
	defer q.mu.Lock()
	var timeout <-chan time.Time
	if !until.IsZero() {
		t := time.NewTimer(time.Until(until))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-changed:
	case <-timeout:
	case <-ctx.Done():
	}
}

// earliest is the earlier of two deadlines, where zero means none.
func earliest(a, b time.Time) time.Time {
	if b.IsZero() || (!a.IsZero() && a.Before(b)) {
		return a
	}
	return b
}

// inflightHeap orders in-flight messages by the end of their visibility
// timeout.
type inflightHeap []*entry

func (h inflightHeap) Len() int           { return len(h) }
func (h inflightHeap) Less(i, j int) bool { return h[i].visibleAt.Before(h[j].visibleAt) }
func (h inflightHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *inflightHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *inflightHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*h = old[:len(old)-1]
	return e
}
