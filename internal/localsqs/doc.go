// Package localsqs emulates, in process, an Amazon SQS standard queue and the
// Lambda event source mapping that drains it, so the local stack and tests
// run the same handlers with the same delivery semantics as AWS without an
// SQS endpoint. Go code in this module never calls the SQS API: in AWS, API
// Gateway sends the messages and Lambda polls them; locally a [Queue] does
// both.
//
// # Sending
//
// [Queue.Send] is SendMessage. The body must be 1 to [Options.MaxMessageSize]
// bytes (default 262,144) of the characters SQS accepts (#x9, #xA, #xD,
// #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF); message attributes are of
// type String, at most 10, with SQS's naming rules, non-empty values, and
// their names and values count towards the size limit. A rejected message
// returns an error wrapping [ErrInvalidMessage], as SQS answers 400.
//
// # Delivery (the event source mapping)
//
//   - Up to [Options.Concurrency] pollers each receive a batch of up to
//     [Options.BatchSize] visible messages and invoke the handler with it,
//     one invocation per poller at a time. A batch also stops short of
//     Lambda's 6 MB invocation payload (counted as body and attribute
//     bytes).
//   - Without a batching window a poller delivers whatever is visible as
//     soon as at least one message is. With [Options.MaxBatchingWindow] a
//     batch is due when it is full or when its oldest message has been
//     visible for the window, so no message waits longer than the window
//     for a free poller.
//   - Each receive makes the messages of the batch invisible for
//     [Options.VisibilityTimeout], counted from the receive, not from the end
//     of the invocation, and gives each a new ReceiptHandle.
//   - Records carry MessageId, ReceiptHandle, Body, Md5OfBody,
//     Md5OfMessageAttributes (SQS's algorithm, only with attributes),
//     Attributes ApproximateReceiveCount, SentTimestamp, SenderId and
//     ApproximateFirstReceiveTimestamp (Unix milliseconds),
//     MessageAttributes (DataType "String"), EventSource "aws:sqs",
//     EventSourceARN "arn:aws:sqs:local:000000000000:<Name>" and AWSRegion
//     "local".
//   - The mapping always reports batch item failures (the CDK stack sets
//     ReportBatchItemFailures): a handler that returns BatchItemFailures has
//     the other messages of the batch deleted, and the listed ones stay
//     invisible until their visibility timeout. A failure whose
//     ItemIdentifier is empty or names no message of the batch makes Lambda
//     treat the whole batch as failed, and so does this package.
//   - A handler that returns an error or panics fails the whole batch: no
//     message is deleted, each becomes visible again when its visibility
//     timeout ends. A panic is recovered and logged, as the Lambda runtime
//     turns it into a function error.
//   - A delete uses the receipt handle of the receive that produced the
//     batch. If the message was received again meanwhile (the invocation
//     outlived the visibility timeout), that old handle no longer deletes
//     it, so the message is processed twice, as can happen in AWS; handlers
//     must be idempotent anyway, because SQS standard queues deliver at
//     least once.
//   - Redrive: when the visibility timeout of a message ends and its receive
//     count has reached [Options.MaxReceiveCount], the message moves to the
//     dead-letter list ([Queue.DeadLetters]) instead of becoming visible.
//     SQS performs the move on the next receive attempt; doing it at the
//     timeout has the same outcome and makes it observable at once. A
//     MaxReceiveCount of 0 means no redrive policy: failing messages return
//     forever.
//   - Ordering is best effort, as on a standard queue: messages are handed
//     out roughly in the order they became visible, and a message returning
//     after its visibility timeout goes to the back.
//
// # Faults
//
// A standard queue delivers at least once and only roughly in order;
// [Options.Faults] makes that happen on purpose, at a chosen rate and
// repeatably for a seed. With DuplicateRate a sent message is stored twice:
// both copies carry the same MessageId, are delivered separately (possibly
// in one batch, possibly concurrently) and are deleted separately. With
// ReorderRate a batch record is taken from anywhere among the first 1,000
// visible messages instead of the oldest. [Stats] counts both.
//
// Not emulated: delay queues and per-message delays, message retention (a
// message never expires), long-poll costs, the scaling of Lambda pollers,
// FIFO queues, and binary or list attribute values.
//
// # Time
//
// [Options.TimeScale] multiplies the visibility timeout and the batching
// window, so a test can run a 30-second visibility timeout in 300 ms with a
// scale of 0.01. Timestamps in records stay wall-clock time. Everything that
// waits does so on channels and timers, so the package also runs under
// testing/synctest's fake clock.
package localsqs
