// Package jobs runs OCR requests as durable jobs from a JetStream work
// queue, keeps their task states and results, and moves documents and
// results too large for a message through Object Store buckets. The
// requests and answers are the events package's CloudEvents; clients
// queue jobs with events.Client's Submit.
//
// # The queue
//
// A Worker runs jobs from a JetStream work queue with an Invoker: a
// WorkQueue-retention stream (DefaultStream on DefaultJobSubjects) read
// through one durable pull consumer (DefaultConsumer) that every host
// shares, so each job goes to one worker and waits in the stream while
// none is free (KEDA's nats-jetstream scaler reads the consumer's lag).
// Start creates both when missing, and updates them to its
// settings otherwise:
//
//   - AckWait (WithAckWait, 60 s): a job not acked, nor signalled in
//     progress, within it goes to another worker. A worker signals
//     progress every AckWait/2 while a job runs, so only a dead or stuck
//     worker loses its jobs.
//   - BackOff (WithBackOff, none): the ack wait per delivery instead of
//     AckWait; JetStream then takes AckWait from its first step. A delayed
//     Nak is measured from the delivery's ack wait, so with growing steps
//     the busy delays below grow by the difference to the first step.
//   - MaxDeliver (WithMaxDeliver, 5): the deliveries a job gets. The worker
//     enforces it, not the server (the consumer's max_deliver is -1): the
//     server would leave a job whose last delivery went unanswered in the
//     stream for good, where the worker dead-letters it on the next one.
//   - MaxAckPending (WithMaxAckPending, 1000): jobs delivered and not yet
//     acked over all hosts, delayed retries included.
//
// A job is a request event (binary or structured mode, as on core NATS;
// see the events package), its id being the task id. A worker pulls
// only as many jobs as it has free slots (WithMaxInFlight, 2), and for each
// marks the task processing, invokes, records the outcome, publishes the
// answer event on the result subject (WithJobResultSubject, "ocr.results",
// with extension requestid), then acks. A busy or insufficient_memory
// failure is backpressure: the task becomes retried and the job is Nak'd
// with a delay (WithRetryDelay: 1 s doubling per delivery, at most 30 s).
// Any other failure is final: the task fails, the failure event is
// published, the job acked. When the last delivery fails retryably, or a
// delivery beyond MaxDeliver comes (its predecessor got no answer), the
// task fails, the failure event is published, and the job is published
// on "<dead-letter prefix>.<subject after the stream's literal prefix>"
// (WithDeadLetter, "ocr.dead.", kept in stream OCR_DEAD for 7 days) with
// the Ocr-Dead-* headers, then terminated.
//
// A job whose task is completed or failed already (a duplicate, or a
// redelivery after an ack was lost) is not run again: the stored answer
// is published anew and the job acked. A cancelled task's job is acked
// without running. Documents may come as object references
// (MediaObjectRef), resolved from the payload bucket; the object is
// deleted once the task is completed, failed or cancelled, but kept with
// a dead letter so that it can be replayed within the bucket's TTL.
// Results too large for the task bucket are stored in the result bucket,
// and the result event then carries an ObjectRef to it (datacontenttype
// MediaObjectRef).
//
// Cancel events (TypeCancel, data {"id": "<task id>"}) are served on core
// NATS subject DefaultCancelSubject, queue group DefaultQueueGroup
// (WithCancelSubject), not through the stream, where they would wait
// behind the jobs they cancel; the reply is the Task as JSON (see
// CancelTask). A cancel event found in the stream is applied too.
package jobs

import (
	"context"

	"github.com/ocrhost/ocrhost/events/internal/wire"
	"github.com/ocrhost/ocrhost/host"
)

// Defaults shared with the events transports.
const (
	// DefaultSource is the source attribute of result and failure events.
	DefaultSource = wire.DefaultSource
	// DefaultResultSubject is where answers to jobs are published.
	DefaultResultSubject = wire.DefaultResultSubject
	// DefaultQueueGroup spreads cancel events and task queries over all
	// hosts.
	DefaultQueueGroup = wire.DefaultQueueGroup
)

// ErrInvalidOption: an option is out of range.
var ErrInvalidOption = wire.ErrInvalidOption

// Invoker runs one decoded request; the host implements it.
type Invoker interface {
	Invoke(ctx context.Context, req *host.Request) (*host.Response, error)
}
