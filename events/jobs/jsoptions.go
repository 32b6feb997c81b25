package jobs

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Defaults of the JetStream work queue (Start).
const (
	// DefaultStream is the work-queue stream jobs are stored in.
	DefaultStream = "OCR"
	// DefaultJobSubjects are the stream's subjects: a job for subject
	// "ocr.jobs.<anything>" is queued.
	DefaultJobSubjects = "ocr.jobs.>"
	// DefaultConsumer is the durable pull consumer all hosts share.
	DefaultConsumer = "ocr-workers"
	// DefaultMaxInFlight is the jobs one worker runs at once.
	DefaultMaxInFlight = 2
	// DefaultAckWait is how long a job may go without an ack or a
	// progress signal before JetStream hands it to another worker.
	DefaultAckWait = 60 * time.Second
	// DefaultMaxDeliver bounds the deliveries of one job.
	DefaultMaxDeliver = 5
	// DefaultMaxAckPending bounds the jobs delivered and not yet acked,
	// over all hosts (JetStream's own default).
	DefaultMaxAckPending = 1000
	// DefaultRetryDelay is the redelivery delay after the first busy or
	// insufficient_memory failure; it doubles with each delivery.
	DefaultRetryDelay = time.Second
	// DefaultMaxRetryDelay caps the redelivery delay.
	DefaultMaxRetryDelay = 30 * time.Second
	// DefaultDeadLetterPrefix starts the subject of dead letters:
	// "ocr.dead.<subject tail>".
	DefaultDeadLetterPrefix = "ocr.dead"
	// DefaultDeadLetterStream keeps the dead letters.
	DefaultDeadLetterStream = "OCR_DEAD"
	// DefaultDeadLetterMaxAge is how long dead letters are kept.
	DefaultDeadLetterMaxAge = 7 * 24 * time.Hour
	// DefaultCancelSubject is the core NATS subject cancel events are
	// served on, in queue group DefaultQueueGroup.
	DefaultCancelSubject = "ocr.tasks.cancel"
)

// Defaults of the task and payload stores.
const (
	// DefaultTaskBucket is the KV bucket of task states.
	DefaultTaskBucket = "ocr-tasks"
	// DefaultTaskTTL is how long a task state (and a result kept in the
	// result bucket) outlives its last change.
	DefaultTaskTTL = 24 * time.Hour
	// DefaultResultBucket is the Object Store bucket of results too large
	// for the task bucket.
	DefaultResultBucket = "ocr-results"
	// DefaultPayloadBucket is the Object Store bucket of documents too
	// large for a message.
	DefaultPayloadBucket = "ocr-payloads"
	// DefaultPayloadTTL is how long an uploaded document is kept at most.
	DefaultPayloadTTL = time.Hour
	// DefaultReplicas is the copies JetStream keeps of the streams and
	// buckets created when missing: one, as a single server requires.
	DefaultReplicas = 1
	// MaxReplicas is the most copies JetStream keeps of a stream.
	MaxReplicas = 5
)

// storeConfig names the KV and Object Store buckets; each user reads the
// fields it needs.
type storeConfig struct {
	taskBucket    string
	taskTTL       time.Duration
	resultBucket  string
	payloadBucket string
	payloadTTL    time.Duration
	replicas      int
	// keepResults: a completed task keeps its result, not only its state.
	keepResults bool
	// owner is the principal Queue queues a job for.
	owner string
	// tenant: the connection is a tenant's (AsTenant).
	tenant bool
}

func defaultStores() storeConfig {
	return storeConfig{
		taskBucket:    DefaultTaskBucket,
		taskTTL:       DefaultTaskTTL,
		resultBucket:  DefaultResultBucket,
		payloadBucket: DefaultPayloadBucket,
		payloadTTL:    DefaultPayloadTTL,
		replicas:      DefaultReplicas,
		keepResults:   true,
	}
}

func (c *storeConfig) validate() error {
	if c.taskBucket == "" || c.resultBucket == "" || c.payloadBucket == "" {
		return fmt.Errorf("%w: empty bucket name", ErrInvalidOption)
	}
	if c.taskTTL <= 0 || c.payloadTTL <= 0 {
		return fmt.Errorf("%w: bucket TTL must be positive", ErrInvalidOption)
	}
	if c.replicas < 1 || c.replicas > MaxReplicas {
		return fmt.Errorf("%w: replicas %d outside [1, %d]", ErrInvalidOption, c.replicas, MaxReplicas)
	}
	return nil
}

// StoreOption names a bucket or sets its TTL. OpenTaskStore,
// OpenPayloadStore, Start, PreparePayload and Queue take them (clients pass them to events.WithJetStream).
type StoreOption func(*storeConfig)

func (o StoreOption) applyJS(c *jsConfig) { o(&c.stores) }

func storeOptions(opts []StoreOption) (storeConfig, error) {
	c := defaultStores()
	for _, o := range opts {
		o(&c)
	}
	return c, c.validate()
}

// WithTaskBucket names the KV bucket of task states (default
// DefaultTaskBucket).
func WithTaskBucket(name string) StoreOption { return func(c *storeConfig) { c.taskBucket = name } }

// WithTaskTTL sets how long a task state lives after its last change
// (default DefaultTaskTTL); large results live as long.
func WithTaskTTL(d time.Duration) StoreOption { return func(c *storeConfig) { c.taskTTL = d } }

// WithPayloadBucket names the Object Store bucket of large documents
// (default DefaultPayloadBucket).
func WithPayloadBucket(name string) StoreOption {
	return func(c *storeConfig) { c.payloadBucket = name }
}

// WithReplicas sets how many servers of a JetStream cluster keep a copy of
// each stream and bucket created or updated: the work-queue and dead-letter
// streams, the task bucket and the result and payload buckets (default
// DefaultReplicas, at most MaxReplicas). With 3 the queue, the task states
// and the payloads outlive the loss of any one server; a single server
// refuses more than 1. The consumer takes the stream's replicas. Being a
// StoreOption it is an Option too, and PreparePayload applies it
// to the payload bucket they create when missing.
func WithReplicas(n int) StoreOption { return func(c *storeConfig) { c.replicas = n } }

// WithKeepResults sets whether a completed task keeps its result (default
// true) for later queries. Without, only the state is kept: the result
// event on the result subject is then the only copy, and a redelivered
// job of a completed task is acked without an answer.
func WithKeepResults(keep bool) StoreOption { return func(c *storeConfig) { c.keepResults = keep } }

// WithOwner makes Queue queue the job for principal name (header
// HeaderOwner): the task is then shown to that principal and to admins
// only. The host believes the header of a client that may publish on
// every job subject (an admin, such as a gateway acting for its callers);
// a tenant's jobs are its own by subject (WithTenants, AsTenant).
func WithOwner(name string) StoreOption { return func(c *storeConfig) { c.owner = name } }

// AsTenant makes PreparePayload and Queue work on a tenant's connection, which may
// publish its jobs and nothing of the host's buckets: no pending task is
// recorded (the worker records it when the job starts) and a document too
// large for one message is refused (ErrNoObjectStore) instead of uploaded. The
// subject must be the tenant's own (ocr.jobs.<name>[.…]).
func AsTenant() StoreOption { return func(c *storeConfig) { c.tenant = true } }

// jsConfig configures the JetStream work queue.
type jsConfig struct {
	source        string
	maxInFlight   int
	log           *slog.Logger
	stores        storeConfig
	stream        string
	subjects      []string
	consumer      string
	ackWait       time.Duration
	maxDeliver    int
	backOff       []time.Duration
	maxAckPending int
	retryDelay    time.Duration
	maxRetryDelay time.Duration
	resultSubject string
	deadPrefix    string
	deadStream    string
	cancelSubject string
	cancelQueue   string
	tenants       map[string]bool
}

func defaultJS() jsConfig {
	c := jsConfig{
		source:        DefaultSource,
		maxInFlight:   DefaultMaxInFlight,
		log:           slog.Default(),
		stores:        defaultStores(),
		stream:        DefaultStream,
		subjects:      []string{DefaultJobSubjects},
		consumer:      DefaultConsumer,
		ackWait:       DefaultAckWait,
		maxDeliver:    DefaultMaxDeliver,
		maxAckPending: DefaultMaxAckPending,
		retryDelay:    DefaultRetryDelay,
		maxRetryDelay: DefaultMaxRetryDelay,
		resultSubject: DefaultResultSubject,
		deadPrefix:    DefaultDeadLetterPrefix,
		deadStream:    DefaultDeadLetterStream,
		cancelSubject: DefaultCancelSubject,
		cancelQueue:   DefaultQueueGroup,
	}
	return c
}

func (c *jsConfig) validate() error {
	switch {
	case c.source == "":
		return fmt.Errorf("%w: empty source", ErrInvalidOption)
	case c.maxInFlight < 1:
		return fmt.Errorf("%w: max in flight %d < 1", ErrInvalidOption, c.maxInFlight)
	case c.log == nil:
		return fmt.Errorf("%w: nil logger", ErrInvalidOption)
	}
	if err := c.stores.validate(); err != nil {
		return err
	}
	switch {
	case c.stream == "" || c.consumer == "" || len(c.subjects) == 0 || slices.Contains(c.subjects, ""):
		return fmt.Errorf("%w: empty stream, consumer or job subject", ErrInvalidOption)
	case c.ackWait <= 0:
		return fmt.Errorf("%w: ack wait %v", ErrInvalidOption, c.ackWait)
	case c.maxDeliver < 1:
		return fmt.Errorf("%w: max deliver %d < 1", ErrInvalidOption, c.maxDeliver)
	case c.maxAckPending < c.maxInFlight:
		return fmt.Errorf("%w: max ack pending %d < max in flight %d", ErrInvalidOption, c.maxAckPending, c.maxInFlight)
	case c.retryDelay <= 0 || c.maxRetryDelay < c.retryDelay:
		return fmt.Errorf("%w: retry delay %v up to %v", ErrInvalidOption, c.retryDelay, c.maxRetryDelay)
	case slices.ContainsFunc(c.backOff, func(d time.Duration) bool { return d <= 0 }):
		return fmt.Errorf("%w: back-off %v has a non-positive step", ErrInvalidOption, c.backOff)
	case c.resultSubject == "" || strings.ContainsAny(c.resultSubject, "*>"):
		return fmt.Errorf("%w: result subject %q", ErrInvalidOption, c.resultSubject)
	case c.deadPrefix == "" || strings.ContainsAny(c.deadPrefix, "*>"):
		return fmt.Errorf("%w: dead-letter prefix %q", ErrInvalidOption, c.deadPrefix)
	case c.cancelSubject == "":
		return fmt.Errorf("%w: empty cancel subject", ErrInvalidOption)
	}
	// A result, dead letter or cancel event captured by the job stream
	// would come back as a job.
	for _, s := range c.subjects {
		for _, other := range []string{c.resultSubject, c.deadPrefix + ".>", c.cancelSubject, c.cancelSubject + ".*"} {
			if subjectsOverlap(s, other) {
				return fmt.Errorf("%w: subject %q overlaps the job subjects %q", ErrInvalidOption, other, s)
			}
		}
	}
	return nil
}

// subjectsOverlap reports whether some subject matches both patterns.
func subjectsOverlap(a, b string) bool {
	ta, tb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(ta) && i < len(tb); i++ {
		if ta[i] == ">" || tb[i] == ">" {
			return true
		}
		if ta[i] != "*" && tb[i] != "*" && ta[i] != tb[i] {
			return false
		}
	}
	return len(ta) == len(tb)
}

// Option configures Start; the StoreOptions are Options too.
type Option interface{ applyJS(*jsConfig) }

type jsOption func(*jsConfig)

func (o jsOption) applyJS(c *jsConfig) { o(c) }

// WithSource sets the source attribute of result and failure events
// (default DefaultSource).
func WithSource(source string) Option { return jsOption(func(c *jsConfig) { c.source = source }) }

// WithMaxInFlight bounds the jobs a worker runs at once (default
// DefaultMaxInFlight); it pulls no more than that from the stream.
func WithMaxInFlight(n int) Option { return jsOption(func(c *jsConfig) { c.maxInFlight = n }) }

// WithLogger sets where failures to record, publish or ack are reported
// (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return jsOption(func(c *jsConfig) { c.log = l }) }

// WithStream names the work-queue stream and its subjects (default
// DefaultStream on DefaultJobSubjects).
func WithStream(name string, subjects ...string) Option {
	return jsOption(func(c *jsConfig) { c.stream, c.subjects = name, subjects })
}

// WithTenants names the NATS users whose jobs are theirs by subject: a job
// on a job subject's prefix followed by a tenant's name (ocr.jobs.alice,
// ocr.jobs.alice.scan) is queued for that tenant, whatever its headers
// say. The server's permissions let a tenant publish jobs there only
// (see docs/security.md), so the owner is the server's word, not the
// client's.
func WithTenants(names ...string) Option {
	return jsOption(func(c *jsConfig) {
		c.tenants = map[string]bool{}
		for _, n := range names {
			c.tenants[n] = true
		}
	})
}

// ownerOf is the principal a job on subject is queued for: the tenant its
// subject names (WithTenants), else header HeaderOwner's value, set by a
// trusted submitter (WithOwner), else none.
func (c *jsConfig) ownerOf(subject, header string) string {
	for _, pattern := range c.subjects {
		prefix, ok := strings.CutSuffix(pattern, ">")
		if !ok {
			continue
		}
		if rest, ok := strings.CutPrefix(subject, prefix); ok {
			if name, _, _ := strings.Cut(rest, "."); c.tenants[name] {
				return name
			}
		}
	}
	return header
}

// WithConsumer names the durable consumer the hosts share (default
// DefaultConsumer).
func WithConsumer(name string) Option { return jsOption(func(c *jsConfig) { c.consumer = name }) }

// WithAckWait sets the consumer's AckWait (default DefaultAckWait).
func WithAckWait(d time.Duration) Option { return jsOption(func(c *jsConfig) { c.ackWait = d }) }

// WithMaxDeliver bounds the deliveries of a job before it is dead-lettered
// (default DefaultMaxDeliver).
func WithMaxDeliver(n int) Option { return jsOption(func(c *jsConfig) { c.maxDeliver = n }) }

// WithBackOff sets the consumer's BackOff: the ack wait of the n-th
// delivery is steps[n-1] (the last step repeating) instead of AckWait, so
// that the jobs of a worker that died come back later each time (default
// none).
func WithBackOff(steps ...time.Duration) Option {
	return jsOption(func(c *jsConfig) { c.backOff = steps })
}

// WithMaxAckPending sets the consumer's MaxAckPending (default
// DefaultMaxAckPending).
func WithMaxAckPending(n int) Option {
	return jsOption(func(c *jsConfig) { c.maxAckPending = n })
}

// WithRetryDelay sets the redelivery delay after a busy or
// insufficient_memory failure: first after the first delivery, doubling
// with each delivery up to most (defaults DefaultRetryDelay and
// DefaultMaxRetryDelay).
func WithRetryDelay(first, most time.Duration) Option {
	return jsOption(func(c *jsConfig) { c.retryDelay, c.maxRetryDelay = first, most })
}

// WithJobResultSubject sets the subject results and failures of jobs are
// published on (default DefaultResultSubject).
func WithJobResultSubject(subject string) Option {
	return jsOption(func(c *jsConfig) { c.resultSubject = subject })
}

// WithDeadLetter sets the prefix of dead-letter subjects and the stream
// created to keep them (defaults DefaultDeadLetterPrefix and
// DefaultDeadLetterStream); stream "" creates none, for deployments that
// capture the subjects themselves.
func WithDeadLetter(prefix, stream string) Option {
	return jsOption(func(c *jsConfig) { c.deadPrefix, c.deadStream = prefix, stream })
}

// WithCancelSubject sets the subject and queue group cancel events are
// served on (defaults DefaultCancelSubject and DefaultQueueGroup).
func WithCancelSubject(subject, queue string) Option {
	return jsOption(func(c *jsConfig) { c.cancelSubject, c.cancelQueue = subject, queue })
}
