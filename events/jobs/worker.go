package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ocrhost/ocrhost/events/internal/wire"
	"github.com/ocrhost/ocrhost/host"
)

// Headers a dead letter carries besides the job's own.
const (
	// HeaderDeadReason is the last failure, "<code>: <message>".
	HeaderDeadReason = "Ocr-Dead-Reason"
	// HeaderDeadCode is the last failure's code.
	HeaderDeadCode = "Ocr-Dead-Code"
	// HeaderDeadDeliveries is how many times the job was delivered.
	HeaderDeadDeliveries = "Ocr-Dead-Deliveries"
	// HeaderDeadSubject is the subject the job was queued on.
	HeaderDeadSubject = "Ocr-Dead-Subject"
	// HeaderDeadSequence is the job's sequence in the work-queue stream.
	HeaderDeadSequence = "Ocr-Dead-Stream-Sequence"
)

const (
	// fetchWait is how long one pull request waits for jobs; the fetch is
	// cut short when the worker closes.
	fetchWait = 30 * time.Second
	// fetchRetry is the pause after a failed pull request.
	fetchRetry = time.Second
	// opTimeout bounds each store, publish and ack operation of a job.
	// They do not use the invocation's context: a job cancelled by Close
	// must still be recorded and given back.
	opTimeout = 10 * time.Second
)

// errTaskCancelled is the cause of an invocation cancelled by a cancel.
var errTaskCancelled = errors.New("task cancelled")

// Worker runs jobs from a JetStream work queue with an Invoker; the
// package documentation ("Durable jobs") describes the queue, the task
// states, retries, dead letters and cancellation.
type Worker struct {
	js       jetstream.JetStream
	nc       *nats.Conn
	cfg      jsConfig
	cons     jetstream.Consumer
	p        wire.Processor
	tasks    *TaskStore
	payloads *PayloadStore
	gate     *wire.Gate
	// slots holds one token per job running or requested from the server,
	// so that a worker never pulls more jobs than it can start.
	slots     chan struct{}
	stopFetch context.CancelFunc
	fetchDone chan struct{}
	fetchers  sync.WaitGroup
	subs      []*nats.Subscription
	mu        sync.Mutex
	running   map[uint64]runningJob // by stream sequence
}

type runningJob struct {
	key    string // taskRef.key
	cancel context.CancelCauseFunc
}

// Start creates or updates the stream, the consumer, the dead-letter
// stream and the task, result and payload buckets, and runs jobs with inv
// until Close.
func Start(ctx context.Context, js jetstream.JetStream, inv Invoker, opts ...Option) (*Worker, error) {
	cfg := defaultJS()
	for _, o := range opts {
		o.applyJS(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if _, err := provision(ctx, func(ctx context.Context) (jetstream.Stream, error) {
		return js.CreateOrUpdateStream(ctx, streamConfig(cfg))
	}); err != nil {
		return nil, fmt.Errorf("stream %q: %w", cfg.stream, err)
	}
	if cfg.deadStream != "" {
		if _, err := provision(ctx, func(ctx context.Context) (jetstream.Stream, error) {
			return js.CreateOrUpdateStream(ctx, deadStreamConfig(cfg))
		}); err != nil {
			return nil, fmt.Errorf("dead-letter stream %q: %w", cfg.deadStream, err)
		}
	}
	cons, err := provision(ctx, func(ctx context.Context) (jetstream.Consumer, error) {
		return js.CreateOrUpdateConsumer(ctx, cfg.stream, consumerConfig(cfg))
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %q on %q: %w", cfg.consumer, cfg.stream, err)
	}
	tasks, err := openTaskStore(ctx, js, cfg.stores)
	if err != nil {
		return nil, err
	}
	payloads, err := openPayloadStore(ctx, js, cfg.stores)
	if err != nil {
		return nil, err
	}
	fetchCtx, stopFetch := context.WithCancel(context.Background())
	t := &Worker{
		js:        js,
		nc:        js.Conn(),
		cfg:       cfg,
		cons:      cons,
		p:         wire.Processor{Invoker: payloads.Invoker(inv), Source: cfg.source},
		tasks:     tasks,
		payloads:  payloads,
		gate:      wire.NewGate(cfg.maxInFlight),
		slots:     make(chan struct{}, cfg.maxInFlight),
		stopFetch: stopFetch,
		fetchDone: make(chan struct{}),
		running:   map[uint64]runningJob{},
	}
	if err := t.subscribe(); err != nil {
		stopFetch()
		t.unsubscribe()
		return nil, err
	}
	go t.fetch(fetchCtx)
	return t, nil
}

func streamConfig(cfg jsConfig) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        cfg.stream,
		Description: "ocrhost: OCR jobs",
		Subjects:    cfg.subjects,
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.stores.replicas,
	}
}

func deadStreamConfig(cfg jsConfig) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        cfg.deadStream,
		Description: "ocrhost: OCR jobs that exhausted their deliveries",
		Subjects:    []string{cfg.deadPrefix + ".>"},
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.stores.replicas,
		MaxAge:      DefaultDeadLetterMaxAge,
	}
}

func consumerConfig(cfg jsConfig) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       cfg.consumer,
		Description:   "ocrhost: workers sharing the OCR jobs",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.ackWait,
		BackOff:       cfg.backOff,
		MaxDeliver:    -1,
		MaxAckPending: cfg.maxAckPending,
	}
}

// Tasks returns the task store, for its Handler and ServeNATS.
func (t *Worker) Tasks() *TaskStore { return t.tasks }

// Payloads returns the payload store, whose Invoker lets the NATS
// transport serve requests that carry their document by reference.
func (t *Worker) Payloads() *PayloadStore { return t.payloads }

func (t *Worker) subscribe() error {
	sub, err := t.nc.Subscribe(TaskCancelledSubject, t.onCancelled)
	if err != nil {
		return fmt.Errorf("subscribing to %q: %w", TaskCancelledSubject, err)
	}
	t.subs = append(t.subs, sub)
	subs, err := subscribeOwned(t.nc, t.cfg.cancelSubject, t.cfg.cancelQueue, t.onCancel)
	if err != nil {
		return err
	}
	t.subs = append(t.subs, subs...)
	if err := t.nc.Flush(); err != nil {
		return fmt.Errorf("subscribing: %w", err)
	}
	return nil
}

func (t *Worker) unsubscribe() {
	for _, s := range t.subs {
		_ = s.Unsubscribe()
	}
}

// fetch pulls jobs while slots are free: it takes one slot, waiting, then
// every other free one, and asks for that many jobs. Each pull runs on
// its own goroutine, so a slot freed while a pull waits is used by the
// next pull at once.
func (t *Worker) fetch(ctx context.Context) {
	defer close(t.fetchDone)
	for {
		select {
		case t.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		n := 1
	more:
		for n < cap(t.slots) {
			select {
			case t.slots <- struct{}{}:
				n++
			default:
				break more
			}
		}
		pullCtx, cancel := context.WithTimeout(ctx, fetchWait)
		batch, err := t.cons.Fetch(n, jetstream.FetchContext(pullCtx))
		if err != nil {
			cancel()
			t.release(n)
			t.cfg.log.Error("events: pulling jobs", "stream", t.cfg.stream, "consumer", t.cfg.consumer, "err", err)
			select {
			case <-time.After(fetchRetry):
			case <-ctx.Done():
				return
			}
			continue
		}
		t.fetchers.Add(1)
		go func() {
			defer t.fetchers.Done()
			defer cancel()
			got := 0
			for m := range batch.Messages() {
				got++
				if ctx.Err() != nil {
					// Closing: give it back for another worker at once.
					_ = m.Nak()
					t.release(1)
					continue
				}
				t.start(m)
			}
			t.release(n - got)
			if err := batch.Error(); err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
				t.cfg.log.Warn("events: pull ended", "consumer", t.cfg.consumer, "err", err)
			}
		}()
	}
}

func (t *Worker) release(n int) {
	for range n {
		<-t.slots
	}
}

// start runs a fetched job on its own goroutine, or, once closing, gives
// it back at once for another worker.
func (t *Worker) start(m jetstream.Msg) {
	if !t.gate.Enter() {
		_ = m.Nak()
		t.release(1)
		return
	}
	go func() {
		defer t.release(1)
		defer t.gate.Leave()
		t.handle(m)
	}()
}

// job is one delivery being handled.
type job struct {
	msg jetstream.Msg
	// ref names the job's task: its event's id, for the owner the job is
	// queued for (ownerOf).
	ref        taskRef
	in         *event.Event
	structured bool
	delivered  int
	seq        uint64
}

func opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}

func (t *Worker) handle(m jetstream.Msg) {
	meta, err := m.Metadata()
	if err != nil {
		t.cfg.log.Error("events: job without metadata", "subject", m.Subject(), "err", err)
		_ = m.Nak()
		return
	}
	j := &job{msg: m, delivered: int(meta.NumDelivered), seq: meta.Sequence.Stream}
	defer t.heartbeat(j)()
	ctx, cancel := opCtx()
	defer cancel()
	var derr error
	j.in, j.structured, derr = wire.DecodeNATS(ctx, &nats.Msg{Subject: m.Subject(), Header: m.Headers(), Data: m.Data()})
	if j.in != nil {
		j.ref = taskRef{t.cfg.ownerOf(m.Subject(), m.Headers().Get(HeaderOwner)), j.in.ID()}
	}
	switch {
	case j.in == nil || j.in.ID() == "":
		// Nothing to key a task by: answer without one.
		t.finish(j, t.p.FailureEvent(j.in, host.Fail(host.CodeInvalidInput, derr)))
		return
	case wire.IsAnswerType(j.in.Type()):
		t.cfg.log.Warn("events: dropped an answer event queued as a job",
			"subject", m.Subject(), "type", j.in.Type(), "id", j.in.ID())
		t.ack(j)
		return
	case derr == nil && j.in.Type() == TypeCancel:
		if _, err := t.cancelFrom(ctx, j.in, j.ref.owner); err != nil && !errors.Is(err, ErrTaskFinished) {
			t.cfg.log.Warn("events: cancel event in the job stream", "id", j.in.ID(), "err", err)
		}
		t.ack(j)
		return
	case derr != nil:
		f := host.Fail(host.CodeInvalidInput, derr)
		t.failed(j, f, t.p.FailureEvent(j.in, f))
		return
	case j.delivered > t.cfg.maxDeliver:
		t.deadLetter(j, &host.Failure{Code: host.CodeInternal,
			Message: "the last delivery got no answer: its worker stopped or overran the ack wait"})
		return
	}
	t.run(j)
}

// run invokes a decoded job unless its task is final.
func (t *Worker) run(j *job) {
	id := j.in.ID()
	invCtx, cancelInv := context.WithCancelCause(t.gate.Life)
	defer cancelInv(nil)
	// Tracked before the task is read, so that a cancel landing after the
	// read is seen here.
	t.track(j.seq, j.ref.key(), cancelInv)
	defer t.untrack(j.seq)

	ctx, cancel := opCtx()
	task, err := t.tasks.start(ctx, j.ref, j.msg.Subject())
	cancel()
	if err != nil {
		t.cfg.log.Error("events: recording a job's start", "id", id, "err", err)
		t.nak(j, t.retryDelay(j.delivered))
		return
	}
	switch task.State {
	case TaskCompleted, TaskFailed:
		t.replay(j, task)
		return
	case TaskCancelled:
		t.dropCancelled(j)
		return
	}

	progress := wire.WithProgress(invCtx, func(e event.Event) {
		if err := t.publish(j, e); err != nil {
			t.cfg.log.Warn("events: progress not sent", "id", id, "err", err)
		}
	})
	out, f := t.p.Answer(progress, j.in)
	switch {
	case errors.Is(context.Cause(invCtx), errTaskCancelled):
		t.dropCancelled(j)
	case f != nil && t.gate.Life.Err() != nil:
		// Close gave up waiting: hand the job back unacked.
		t.retried(j, host.Fail(host.CodeBusy, wire.ErrClosing))
		t.nak(j, 0)
	case f == nil:
		t.completed(j, out)
	case !f.Code.Retryable():
		t.failed(j, f, out)
	case j.delivered >= t.cfg.maxDeliver:
		t.deadLetter(j, f)
	default:
		t.retried(j, f)
		t.nak(j, t.retryDelay(j.delivered))
	}
}

// retryDelay is the Nak delay after the given delivery.
func (t *Worker) retryDelay(delivered int) time.Duration {
	d := t.cfg.retryDelay
	for i := 1; i < delivered && d < t.cfg.maxRetryDelay; i++ {
		d *= 2
	}
	return min(d, t.cfg.maxRetryDelay)
}

// ackWait is the ack wait of the given delivery.
func (t *Worker) ackWait(delivered int) time.Duration {
	if n := len(t.cfg.backOff); n > 0 {
		return t.cfg.backOff[min(max(delivered, 1), n)-1]
	}
	return t.cfg.ackWait
}

// heartbeat tells JetStream every half ack wait that the job is in
// progress, until the returned func is called.
func (t *Worker) heartbeat(j *job) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(t.ackWait(j.delivered) / 2)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if err := j.msg.InProgress(); err != nil {
					t.cfg.log.Warn("events: job progress not signalled", "seq", j.seq, "err", err)
				}
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

func (t *Worker) track(seq uint64, key string, cancel context.CancelCauseFunc) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.running[seq] = runningJob{key: key, cancel: cancel}
}

func (t *Worker) untrack(seq uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.running, seq)
}

// onCancelled cancels the invocations of a task cancelled anywhere.
func (t *Worker) onCancelled(m *nats.Msg) {
	key := string(m.Data)
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range t.running {
		if r.key == key {
			r.cancel(errTaskCancelled)
		}
	}
}

// onCancel serves a cancel event on the cancel subject, acting for owner
// (subscribeOwned).
func (t *Worker) onCancel(m *nats.Msg, owner string) {
	ctx, cancel := opCtx()
	defer cancel()
	in, _, err := wire.DecodeNATS(ctx, m)
	var task Task
	if err == nil {
		task, err = t.cancelFrom(ctx, in, owner)
	}
	if m.Reply != "" {
		replyTask(m, task, err)
	}
}

// cancelFrom applies a cancel event acting for owner ("": the admins).
func (t *Worker) cancelFrom(ctx context.Context, in *event.Event, owner string) (Task, error) {
	id, err := cancelID(in)
	if err != nil {
		return Task{}, err
	}
	return t.tasks.cancel(ctx, owner, id)
}

// completed records and publishes a job's result, then acks it. A task
// that became final meanwhile keeps its state and its answer: a cancel
// won, or a redelivered copy answered already.
func (t *Worker) completed(j *job, out event.Event) {
	ctx, cancel := opCtx()
	defer cancel()
	task, wrote, err := t.tasks.complete(ctx, j.ref, out.Data(), out.DataContentType())
	switch {
	case err != nil:
		t.cfg.log.Error("events: recording a result", "id", j.in.ID(), "err", err)
	case !wrote:
		t.settle(j, task)
		return
	case task.ResultRef != nil:
		out = t.refAnswer(j.in, task.ResultRef)
	}
	t.finish(j, out)
}

// failed records and publishes a final failure, then acks the job.
func (t *Worker) failed(j *job, f *host.Failure, out event.Event) {
	ctx, cancel := opCtx()
	defer cancel()
	task, wrote, err := t.tasks.fail(ctx, j.ref, f)
	if err != nil {
		t.cfg.log.Error("events: recording a failure", "id", j.in.ID(), "err", err)
	} else if !wrote {
		t.settle(j, task)
		return
	}
	t.finish(j, out)
}

// settle acks a job whose task another delivery or a cancel made final.
func (t *Worker) settle(j *job, task Task) {
	if task.State == TaskCancelled {
		t.dropCancelled(j)
		return
	}
	t.ack(j)
}

func (t *Worker) retried(j *job, f *host.Failure) {
	ctx, cancel := opCtx()
	defer cancel()
	if _, err := t.tasks.retry(ctx, j.ref, f); err != nil {
		t.cfg.log.Error("events: recording a retry", "id", j.in.ID(), "err", err)
	}
}

// replay answers a job of a completed or failed task with the stored
// answer, without running it.
func (t *Worker) replay(j *job, task Task) {
	var out event.Event
	switch {
	case task.State == TaskFailed && task.Failure != nil:
		out = t.p.FailureEvent(j.in, &host.Failure{Code: task.Failure.Code, Message: task.Failure.Message})
	case task.ResultRef != nil:
		out = t.refAnswer(j.in, task.ResultRef)
	case len(task.Result) > 0:
		out = t.p.NewAnswer(j.in, wire.TypeResult, task.Result)
	case task.State == TaskCompleted && !t.tasks.keep:
		// Results are not kept: the first answer was the only one.
		t.ack(j)
		return
	default:
		t.cfg.log.Error("events: final task without an answer", "id", task.ID, "state", task.State)
		t.ack(j)
		return
	}
	t.finish(j, out)
}

// refAnswer is a result event whose data references the stored result.
func (t *Worker) refAnswer(in *event.Event, ref *ObjectRef) event.Event {
	data, _ := json.Marshal(ref) // strings only
	out := t.p.NewAnswer(in, wire.TypeResult, data)
	out.SetDataContentType(MediaObjectRef)
	return out
}

// dropCancelled acks a cancelled task's job unanswered.
func (t *Worker) dropCancelled(j *job) {
	t.ack(j)
	t.removePayload(j)
}

// finish publishes a final answer, then acks the job. An answer that was
// not sent leaves the job unacked, with a delay: its redelivery finds the
// task final and sends the stored answer.
func (t *Worker) finish(j *job, out event.Event) {
	if err := t.publish(j, out); err != nil {
		t.cfg.log.Error("events: answer not sent", "subject", t.cfg.resultSubject, "requestid", out.Extensions()[wire.ExtRequestID], "err", err)
		t.nak(j, t.retryDelay(j.delivered))
		return
	}
	t.ack(j)
	t.removePayload(j)
}

// publish sends an answer on the result subject and waits until the
// server has it, so that the ack that follows cannot overtake it.
func (t *Worker) publish(j *job, out event.Event) error {
	ctx, cancel := opCtx()
	defer cancel()
	msg, err := wire.EncodeNATS(ctx, &out, j.structured)
	if err != nil {
		return fmt.Errorf("encoding answer: %w", err)
	}
	msg.Subject = t.cfg.resultSubject
	if err := t.nc.PublishMsg(msg); err != nil {
		return err
	}
	return t.nc.FlushWithContext(ctx)
}

// deadLetter fails the task, publishes the failure, moves the job to the
// dead-letter subject and terminates it. When the dead letter cannot be
// stored the job is Nak'd instead, to be dead-lettered on its next
// delivery.
func (t *Worker) deadLetter(j *job, f *host.Failure) {
	ctx, cancel := opCtx()
	defer cancel()
	final := &host.Failure{Code: f.Code, Message: fmt.Sprintf("%s (after %d deliveries)", f.Message, j.delivered), Err: f}
	if _, _, err := t.tasks.fail(ctx, j.ref, final); err != nil {
		t.cfg.log.Error("events: recording a dead letter", "id", j.in.ID(), "err", err)
	}
	if err := t.publish(j, t.p.FailureEvent(j.in, final)); err != nil {
		t.cfg.log.Error("events: failure not sent", "id", j.in.ID(), "err", err)
	}
	msg := nats.NewMsg(t.deadSubject(j.msg.Subject()))
	for k, v := range j.msg.Headers() {
		// JetStream's own headers (Nats-Msg-Id, Nats-Expected-*) would
		// act on the dead-letter stream.
		if !strings.HasPrefix(strings.ToLower(k), "nats-") {
			msg.Header[k] = v
		}
	}
	msg.Data = j.msg.Data()
	reason := string(f.Code) + ": " + f.Message
	msg.Header.Set(HeaderDeadReason, reason)
	msg.Header.Set(HeaderDeadCode, string(f.Code))
	msg.Header.Set(HeaderDeadDeliveries, strconv.Itoa(j.delivered))
	msg.Header.Set(HeaderDeadSubject, j.msg.Subject())
	msg.Header.Set(HeaderDeadSequence, strconv.FormatUint(j.seq, 10))
	var err error
	if t.cfg.deadStream != "" {
		_, err = t.js.PublishMsg(ctx, msg)
	} else if err = t.nc.PublishMsg(msg); err == nil {
		err = t.nc.FlushWithContext(ctx)
	}
	if err != nil {
		t.cfg.log.Error("events: dead letter not stored", "subject", msg.Subject, "seq", j.seq, "err", err)
		t.nak(j, t.cfg.maxRetryDelay)
		return
	}
	if err := j.msg.TermWithReason(reason); err != nil {
		t.cfg.log.Error("events: dead letter not terminated", "seq", j.seq, "err", err)
	}
}

// deadSubject is the dead-letter prefix followed by the job's subject less
// the literal head of the stream subject it matched ("ocr.jobs.a.b" →
// "ocr.dead.a.b").
func (t *Worker) deadSubject(subject string) string {
	tokens := strings.Split(subject, ".")
	for _, pattern := range t.cfg.subjects {
		head := strings.Split(pattern, ".")
		for i, tok := range head {
			if tok == "*" || tok == ">" {
				head = head[:i]
				break
			}
		}
		if len(head) < len(tokens) && strings.Join(tokens[:len(head)], ".") == strings.Join(head, ".") {
			return t.cfg.deadPrefix + "." + strings.Join(tokens[len(head):], ".")
		}
	}
	return t.cfg.deadPrefix + "." + subject
}

// ack acks a job and waits for the server to confirm, so that its slot is
// freed only once JetStream no longer counts it pending.
func (t *Worker) ack(j *job) {
	ctx, cancel := opCtx()
	defer cancel()
	if err := j.msg.DoubleAck(ctx); err != nil {
		t.cfg.log.Error("events: job not acked", "seq", j.seq, "err", err)
	}
}

func (t *Worker) nak(j *job, delay time.Duration) {
	var err error
	if delay > 0 {
		err = j.msg.NakWithDelay(delay)
	} else {
		err = j.msg.Nak()
	}
	if err != nil {
		t.cfg.log.Error("events: job not given back", "seq", j.seq, "err", err)
	}
}

func (t *Worker) removePayload(j *job) {
	if j.in == nil {
		return
	}
	if err := t.payloads.remove(refOf(j.in)); err != nil {
		t.cfg.log.Warn("events: payload left to expire", "id", j.in.ID(), "err", err)
	}
}

// Close stops pulling jobs and waits for those running until ctx ends;
// the rest are then cancelled and given back unacked (Nak), so JetStream
// hands them to another worker, and Close returns ErrDrainIncomplete.
func (t *Worker) Close(ctx context.Context) error {
	t.stopFetch()
	<-t.fetchDone
	t.fetchers.Wait()
	err := t.gate.Close(ctx)
	t.unsubscribe()
	return err
}
