package jobs

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ocrhost/ocrhost/auth"
	"github.com/ocrhost/ocrhost/events/internal/wire"
	"github.com/ocrhost/ocrhost/host"
)

// TypeCancel is the type of an event asking to cancel a task; its data is
// {"id": "<task id>"}.
const TypeCancel = "com.ocrhost.ocr.cancel"

const (
	// DefaultTaskQuerySubject is the subject TaskStore.ServeNATS answers
	// task queries on; the request's data is the task id.
	DefaultTaskQuerySubject = "ocr.tasks.get"
	// TaskCancelledSubject carries, as plain data, the key of each task
	// (its owner and id, see taskRef) that was marked cancelled, so that the
	// worker running it, on whichever host, cancels the invocation.
	TaskCancelledSubject = "ocr.tasks.cancelled"
)

const (
	// maxInlineResult is the largest result kept in the task's KV entry;
	// larger ones go to the result bucket.
	maxInlineResult = 512 << 10
	// maxHistory bounds a task's transitions; the oldest are dropped.
	maxHistory = 64
	// casAttempts bounds the read-modify-write rounds of one change that
	// keeps losing to concurrent writers.
	casAttempts = 16
	// queryTimeout bounds the store access of one NATS task query.
	queryTimeout = 5 * time.Second
)

// HeaderOwner names the principal a job is queued for, or a task query or
// cancel acts for: the task then answers that principal only (see Task.Owner).
const HeaderOwner = "Ocr-Owner"

// Error headers of NATS replies, as nats.go/micro writes them.
const (
	headerServiceError     = "Nats-Service-Error"
	headerServiceErrorCode = "Nats-Service-Error-Code"
)

var (
	// ErrTaskNotFound: no task has this id (never seen, or expired).
	ErrTaskNotFound = errors.New("task not found")
	// ErrTaskFinished: the task completed or failed; it cannot be cancelled.
	ErrTaskFinished = errors.New("task already finished")
	// ErrInvalidTaskID: an empty task id.
	ErrInvalidTaskID = errors.New("invalid task id")
	// ErrTaskConflict: a task change kept losing to concurrent changes.
	ErrTaskConflict = errors.New("task changed concurrently")
	// ErrNoResult: the task holds no result (it is not completed).
	ErrNoResult = errors.New("task has no result")
	// ErrTaskAmbiguous: an admin looked up an id that several owners used;
	// the lookup must name the owner.
	ErrTaskAmbiguous = errors.New("task id used by several owners")
	// ErrTaskRequest: a task query or cancel answered with another error.
	ErrTaskRequest = errors.New("task request failed")
)

// TaskState is where a task stands.
type TaskState string

// Task states. A task goes pending (submitted) → processing (a worker runs
// it) → completed or failed; a busy or insufficient_memory failure makes it
// retried until the next delivery makes it processing again. Cancelled
// ends a pending, processing or retried task. Completed, failed and
// cancelled are final: a redelivered job of a final task does not run.
const (
	TaskPending    TaskState = "pending"
	TaskProcessing TaskState = "processing"
	TaskRetried    TaskState = "retried"
	TaskCompleted  TaskState = "completed"
	TaskFailed     TaskState = "failed"
	TaskCancelled  TaskState = "cancelled"
)

// Final reports whether the task will not change any more.
func (s TaskState) Final() bool {
	return s == TaskCompleted || s == TaskFailed || s == TaskCancelled
}

// Task is the state of one job, keyed by its request event's id.
type Task struct {
	ID    string    `json:"id"`
	State TaskState `json:"state"`
	// Subject is the subject the job was queued on.
	Subject string `json:"subject,omitempty"`
	// Owner is the principal the job was queued for (HeaderOwner): the
	// task is shown to it and to admins only; empty, to admins only.
	Owner   string    `json:"owner,omitempty"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Attempts counts the deliveries run, i.e. not skipped because the
	// task was final already.
	Attempts int `json:"attempts"`
	// Failure is the last failure: the final one of a failed task, the
	// retryable one of a retried task.
	Failure *TaskFailure `json:"failure,omitempty"`
	// Result is a completed task's host.Response JSON, or absent when it
	// was too large for the task bucket and ResultRef names its object.
	Result    json.RawMessage `json:"result,omitempty"`
	ResultRef *ObjectRef      `json:"result_ref,omitempty"`
	// History lists the state changes, oldest first (at most 64).
	History []Transition `json:"history"`
}

// TaskFailure is a failure recorded in a task.
type TaskFailure struct {
	Code    host.Code `json:"code"`
	Message string    `json:"message"`
}

// Transition is one state change of a task.
type Transition struct {
	State TaskState `json:"state"`
	At    time.Time `json:"at"`
	// Code is the failure that caused a retried or failed state.
	Code host.Code `json:"code,omitempty"`
}

// to moves t to state at now, recording the failure's code when there is one.
func (t *Task) to(state TaskState, f *TaskFailure, now time.Time) {
	if t.Created.IsZero() {
		t.Created = now
	}
	t.State, t.Updated = state, now
	tr := Transition{State: state, At: now}
	if f != nil {
		tr.Code = f.Code
	}
	t.History = append(t.History, tr)
	if n := len(t.History) - maxHistory; n > 0 {
		t.History = append(t.History[:0], t.History[n:]...)
	}
}

func taskFailureOf(f *host.Failure) *TaskFailure {
	return &TaskFailure{Code: f.Code, Message: f.Message}
}

// taskRef names a task: its id in its owner's namespace. Ids are chosen
// by clients, so two principals may pick the same one; keying tasks by
// owner keeps their jobs, states and results apart, and leaves another
// principal nothing to probe. Jobs queued for no owner live in the admins'
// namespace (owner "").
type taskRef struct{ owner, id string }

// key is the task's KV key: the id's key part, behind the owner's and a
// dot when there is an owner (a key part never holds a dot).
func (r taskRef) key() string {
	if r.owner == "" {
		return keyPart(r.id)
	}
	return keyPart(r.owner) + "." + keyPart(r.id)
}

// keyPart maps a name to a KV key part. KV keys allow only some
// characters, while a CloudEvent id may hold any; names made of letters,
// digits, '-' and '_' are used as they are, others are base64url-encoded
// behind '=', which a plain name never contains.
func keyPart(name string) string {
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return "=" + base64.RawURLEncoding.EncodeToString([]byte(name))
		}
	}
	return name
}

// recordPending writes a submitted job's task unless one exists already.
func recordPending(ctx context.Context, kv jetstream.KeyValue, id, subject, owner string) error {
	t := Task{ID: id, Subject: subject, Owner: owner}
	t.to(TaskPending, nil, time.Now().UTC())
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encoding task %s: %w", id, err)
	}
	if _, err := kv.Create(ctx, taskRef{owner, id}.key(), b); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("recording task %s: %w", id, err)
	}
	return nil
}

// TaskStore keeps task states in a KV bucket whose entries expire the TTL
// after their last change, and results over 512 KiB (or over what a
// message can hold) in an Object Store bucket with the same TTL.
type TaskStore struct {
	kv           jetstream.KeyValue
	results      jetstream.ObjectStore
	resultBucket string
	nc           *nats.Conn
	// inlineMax is the largest result kept in the KV entry.
	inlineMax int
	keep      bool
}

// OpenTaskStore creates or updates the task bucket and the result bucket
// (WithTaskBucket, WithTaskTTL, WithResultBucket) and returns the store.
func OpenTaskStore(ctx context.Context, js jetstream.JetStream, opts ...StoreOption) (*TaskStore, error) {
	cfg, err := storeOptions(opts)
	if err != nil {
		return nil, err
	}
	return openTaskStore(ctx, js, cfg)
}

func openTaskStore(ctx context.Context, js jetstream.JetStream, cfg storeConfig) (*TaskStore, error) {
	kv, err := provision(ctx, func(ctx context.Context) (jetstream.KeyValue, error) {
		return js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      cfg.taskBucket,
			Description: "ocrhost: job task states",
			History:     1,
			TTL:         cfg.taskTTL,
			Replicas:    cfg.replicas,
		})
	})
	if err != nil {
		return nil, fmt.Errorf("task bucket %q: %w", cfg.taskBucket, err)
	}
	obs, err := provision(ctx, func(ctx context.Context) (jetstream.ObjectStore, error) {
		return js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket:      cfg.resultBucket,
			Description: "ocrhost: job results too large for the task bucket",
			TTL:         cfg.taskTTL,
			Replicas:    cfg.replicas,
		})
	})
	if err != nil {
		return nil, fmt.Errorf("result bucket %q: %w", cfg.resultBucket, err)
	}
	return &TaskStore{
		kv:           kv,
		results:      obs,
		resultBucket: cfg.resultBucket,
		nc:           js.Conn(),
		// The task's other fields need room too.
		inlineMax: int(min(maxInlineResult, js.Conn().MaxPayload()-2*payloadHeadroom)),
		keep:      cfg.keepResults,
	}, nil
}

// Get returns the task with this id, looked up as for an admin (Lookup
// with no owner), or ErrTaskNotFound.
func (s *TaskStore) Get(ctx context.Context, id string) (Task, error) {
	return s.Lookup(ctx, "", id)
}

// Lookup returns the task with this id that owner queued, or
// ErrTaskNotFound: a principal sees its own tasks only. Owner "" looks as
// an admin: in the admins' namespace, then in every owner's; when several
// owners used the id, ErrTaskAmbiguous asks for the owner.
func (s *TaskStore) Lookup(ctx context.Context, owner, id string) (Task, error) {
	ref, err := s.resolve(ctx, owner, id)
	if err != nil {
		return Task{}, err
	}
	t, _, err := s.read(ctx, ref)
	return t, err
}

// resolve finds the task an id names when looked up for owner. For an
// admin (owner "") an id that is not in the admins' namespace is searched
// in every owner's; when none has it, the admins' ref is returned (a
// cancel then records it).
func (s *TaskStore) resolve(ctx context.Context, owner, id string) (taskRef, error) {
	if id == "" {
		return taskRef{}, ErrInvalidTaskID
	}
	ref := taskRef{owner, id}
	if owner != "" {
		return ref, nil
	}
	if _, err := s.kv.Get(ctx, ref.key()); err == nil || !errors.Is(err, jetstream.ErrKeyNotFound) {
		return ref, nil // found, or an error read will report
	}
	keys, err := s.kv.ListKeysFiltered(ctx, "*."+keyPart(id))
	if err != nil {
		return ref, fmt.Errorf("looking up task %q: %w", id, err)
	}
	var owners []string
	for k := range keys.Keys() {
		owners = append(owners, k[:strings.IndexByte(k, '.')])
	}
	switch len(owners) {
	case 0:
		return ref, nil
	case 1:
		return taskRef{ownerOfKeyPart(owners[0]), id}, nil
	}
	return ref, fmt.Errorf("%w: %q is used by %d owners; name the owner", ErrTaskAmbiguous, id, len(owners))
}

// ownerOfKeyPart inverts keyPart.
func ownerOfKeyPart(k string) string {
	if rest, ok := strings.CutPrefix(k, "="); ok {
		if b, err := base64.RawURLEncoding.DecodeString(rest); err == nil {
			return string(b)
		}
	}
	return k
}

// read returns the task and its revision.
func (s *TaskStore) read(ctx context.Context, ref taskRef) (Task, uint64, error) {
	e, err := s.kv.Get(ctx, ref.key())
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Task{}, 0, fmt.Errorf("%w: %q", ErrTaskNotFound, ref.id)
	}
	if err != nil {
		return Task{}, 0, fmt.Errorf("reading task %q: %w", ref.id, err)
	}
	var t Task
	if err := json.Unmarshal(e.Value(), &t); err != nil {
		return Task{}, 0, fmt.Errorf("decoding task %q: %w", ref.id, err)
	}
	return t, e.Revision(), nil
}

// change applies fn to the task (a new one when none exists) and writes
// the result unless fn declines, retrying when another writer came first.
// It returns the task as written or as fn left it, and whether it wrote.
func (s *TaskStore) change(ctx context.Context, ref taskRef, fn func(t *Task) (bool, error)) (Task, bool, error) {
	key := ref.key()
	for range casAttempts {
		t, rev, err := s.read(ctx, ref)
		if err != nil && !errors.Is(err, ErrTaskNotFound) {
			return t, false, err
		}
		if rev == 0 {
			t = Task{ID: ref.id, Owner: ref.owner}
		}
		write, err := fn(&t)
		if err != nil || !write {
			return t, false, err
		}
		b, err := json.Marshal(t)
		if err != nil {
			return t, false, fmt.Errorf("encoding task %q: %w", ref.id, err)
		}
		if rev == 0 {
			_, err = s.kv.Create(ctx, key, b)
		} else {
			_, err = s.kv.Update(ctx, key, b, rev)
		}
		if err == nil {
			return t, true, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return t, false, fmt.Errorf("writing task %q: %w", ref.id, err)
		}
	}
	return Task{}, false, fmt.Errorf("%w: %q", ErrTaskConflict, ref.id)
}

// start marks the task processing for one more attempt, unless it is
// final; the caller reads the returned state.
func (s *TaskStore) start(ctx context.Context, ref taskRef, subject string) (Task, error) {
	t, _, err := s.change(ctx, ref, func(t *Task) (bool, error) {
		if t.State.Final() {
			return false, nil
		}
		if t.Subject == "" {
			t.Subject = subject
		}
		t.Attempts++
		t.to(TaskProcessing, nil, time.Now().UTC())
		return true, nil
	})
	return t, err
}

// retry marks a task retried after a retryable failure, unless it is final.
func (s *TaskStore) retry(ctx context.Context, ref taskRef, f *host.Failure) (Task, error) {
	t, _, err := s.change(ctx, ref, func(t *Task) (bool, error) {
		if t.State.Final() {
			return false, nil
		}
		t.Failure = taskFailureOf(f)
		t.to(TaskRetried, t.Failure, time.Now().UTC())
		return true, nil
	})
	return t, err
}

// fail marks a task failed for good, unless it is final already; the
// returned bool tells whether this call did.
func (s *TaskStore) fail(ctx context.Context, ref taskRef, f *host.Failure) (Task, bool, error) {
	return s.change(ctx, ref, func(t *Task) (bool, error) {
		if t.State.Final() {
			return false, nil
		}
		t.Failure = taskFailureOf(f)
		t.to(TaskFailed, t.Failure, time.Now().UTC())
		return true, nil
	})
}

// complete marks a task completed with its result, unless it is final
// already (cancelled meanwhile, or completed by a redelivered copy); the
// returned bool tells whether this call did.
func (s *TaskStore) complete(ctx context.Context, ref taskRef, result []byte, contentType string) (Task, bool, error) {
	if !s.keep {
		result = nil
	}
	var ref2 *ObjectRef
	// A result in another format than JSON (a PDF…) cannot sit in the
	// task's JSON record: it is always stored as an object.
	if len(result) > s.inlineMax || len(result) > 0 && contentType != wire.MediaJSON {
		meta := jetstream.ObjectMeta{
			// A unique name: a concurrent attempt may store its own copy.
			Name: ref.key() + "." + uuid.NewString(),
			Opts: &jetstream.ObjectMetaOptions{ChunkSize: chunkSize(s.nc.MaxPayload())},
		}
		if _, err := s.results.Put(ctx, meta, bytes.NewReader(result)); err != nil {
			return Task{}, false, fmt.Errorf("storing the result of task %q: %w", ref.id, err)
		}
		ref2 = &ObjectRef{Bucket: s.resultBucket, Name: meta.Name, ContentType: contentType}
	}
	t, wrote, err := s.change(ctx, ref, func(t *Task) (bool, error) {
		if t.State.Final() {
			return false, nil
		}
		t.Failure = nil
		if ref2 != nil {
			t.ResultRef = ref2
		} else {
			t.Result = result
		}
		t.to(TaskCompleted, nil, time.Now().UTC())
		return true, nil
	})
	if !wrote && ref2 != nil {
		_ = s.results.Delete(context.WithoutCancel(ctx), ref2.Name)
	}
	return t, wrote, err
}

// Cancel marks a pending, processing or retried task cancelled, acting as
// an admin (see cancel).
func (s *TaskStore) Cancel(ctx context.Context, id string) (Task, error) {
	return s.cancel(ctx, "", id)
}

// cancel marks the task with this id that owner queued ("": as an admin,
// see Lookup) cancelled, and tells the workers on TaskCancelledSubject,
// so that a running invocation is cancelled; a job not yet fetched is
// acked without running when it is. An unknown id is recorded cancelled
// for an admin, since the cancel may overtake its job, and not found for a
// principal, as another's task would be. A cancelled task is returned as
// it is; a completed or failed one with ErrTaskFinished.
func (s *TaskStore) cancel(ctx context.Context, owner, id string) (Task, error) {
	ref, err := s.resolve(ctx, owner, id)
	if err != nil {
		return Task{}, err
	}
	t, wrote, err := s.change(ctx, ref, func(t *Task) (bool, error) {
		switch t.State {
		case "":
			if owner != "" {
				return false, fmt.Errorf("%w: %q", ErrTaskNotFound, id)
			}
		case TaskCancelled:
			return false, nil
		case TaskCompleted, TaskFailed:
			return false, fmt.Errorf("%w: %q is %s", ErrTaskFinished, id, t.State)
		}
		t.to(TaskCancelled, nil, time.Now().UTC())
		return true, nil
	})
	if errors.Is(err, ErrTaskNotFound) {
		return Task{}, err
	}
	if wrote {
		if perr := s.nc.Publish(TaskCancelledSubject, []byte(ref.key())); perr != nil {
			return t, fmt.Errorf("task %q cancelled, but running workers were not told: %w", id, perr)
		}
	}
	return t, err
}

// Offload keeps data, an answer too large for a message, in the result
// bucket under a name made of name, expiring with the task TTL, and
// returns its reference. It serves the NATS transport's request-reply
// answers (events.WithLargeAnswers); the client deletes the object once it
// has read it (Fetch).
func (s *TaskStore) Offload(ctx context.Context, name string, data []byte, contentType string) (*ObjectRef, error) {
	meta := jetstream.ObjectMeta{
		Name: "answer." + keyPart(name),
		Opts: &jetstream.ObjectMetaOptions{ChunkSize: chunkSize(s.nc.MaxPayload())},
	}
	if _, err := s.results.Put(ctx, meta, bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("storing an answer of %d bytes: %w", len(data), err)
	}
	return &ObjectRef{Bucket: s.resultBucket, Name: meta.Name, ContentType: contentType}, nil
}

// Result returns a completed task's result, reading it from the result
// bucket when the task holds a reference.
func (s *TaskStore) Result(ctx context.Context, t Task) (json.RawMessage, error) {
	switch {
	case t.ResultRef != nil:
		b, err := s.results.GetBytes(ctx, t.ResultRef.Name)
		if err != nil {
			return nil, fmt.Errorf("reading the result of task %q: %w", t.ID, err)
		}
		return b, nil
	case len(t.Result) > 0:
		return t.Result, nil
	}
	return nil, fmt.Errorf("%w: %q is %s", ErrNoResult, t.ID, t.State)
}

// taskStatus is the HTTP status (and NATS error code) of a task error.
func taskStatus(err error) int {
	switch {
	case errors.Is(err, ErrTaskNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrTaskFinished), errors.Is(err, ErrTaskAmbiguous):
		return http.StatusConflict
	case errors.Is(err, ErrInvalidTaskID), errors.Is(err, wire.ErrNotCloudEvent),
		errors.Is(err, wire.ErrInvalidEvent), errors.Is(err, wire.ErrInvalidData):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// Handler serves GET /tasks/{id}: the Task as JSON, with a result kept in
// the result bucket read into "result"; 404 for an unknown id. A principal
// (named in the request's context by auth.NewContext) finds the tasks it
// queued only; another's id gets the same 404 as an unknown one, so that
// ids cannot be probed. An admin finds every task, and names the owner
// with ?owner= where several used the id. A request without a principal
// finds nothing. Mount it on "/tasks/".
func (s *TaskStore) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /tasks/{id}", s.serveTask)
	return mux
}

func (s *TaskStore) serveTask(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p, ok := auth.FromContext(r.Context())
	owner := p.Name
	if p.Admin {
		owner = r.URL.Query().Get("owner")
	}
	var t Task
	err := fmt.Errorf("%w: %q", ErrTaskNotFound, id)
	if ok && (p.Admin || p.Name != "") {
		t, err = s.Lookup(r.Context(), owner, id)
	}
	if err == nil && t.ResultRef != nil {
		t.Result, err = s.Result(r.Context(), t)
	}
	w.Header().Set("Content-Type", wire.MediaJSON)
	if err != nil {
		w.WriteHeader(taskStatus(err))
		_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	_ = json.NewEncoder(w).Encode(t)
}

// ServeNATS answers task queries on subject (DefaultTaskQuerySubject) and
// on subject.<principal>, in queue group queue ("" for none): the
// request's data is a task id, the reply the Task as JSON, or, as
// nats.go/micro does, empty data with headers Nats-Service-Error and
// Nats-Service-Error-Code (404 unknown, 400 empty id, 409 ambiguous, 500).
// A result in the result bucket stays a reference here, as it may not fit
// a message. A query acts for the principal its subject names (a tenant's
// NATS permissions allow it its own subject only), else for the one in
// header HeaderOwner (sent by a trusted client), else as an admin.
// Unsubscribe both to stop.
func (s *TaskStore) ServeNATS(nc *nats.Conn, subject, queue string) ([]*nats.Subscription, error) {
	return subscribeOwned(nc, subject, queue, func(m *nats.Msg, owner string) {
		if m.Reply == "" {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
		defer cancel()
		t, err := s.Lookup(ctx, owner, strings.TrimSpace(string(m.Data)))
		replyTask(m, t, err)
	})
}

// subscribeOwned subscribes handle to subject and to subject.<principal>,
// handing it the principal a message acts for: the subject's last token,
// else header HeaderOwner, else "" (an admin).
func subscribeOwned(nc *nats.Conn, subject, queue string, handle func(m *nats.Msg, owner string)) ([]*nats.Subscription, error) {
	var subs []*nats.Subscription
	for _, subj := range []string{subject, subject + ".*"} {
		sub, err := nc.QueueSubscribe(subj, queue, func(m *nats.Msg) {
			owner := m.Header.Get(HeaderOwner)
			if p, ok := strings.CutPrefix(m.Subject, subject+"."); ok {
				owner = p
			}
			handle(m, owner)
		})
		if err != nil {
			for _, s := range subs {
				_ = s.Unsubscribe()
			}
			return nil, fmt.Errorf("subscribing to %q: %w", subj, err)
		}
		subs = append(subs, sub)
	}
	return subs, nil
}

// replyTask answers m with t, and err in the error headers; t is left out
// when there is none.
func replyTask(m *nats.Msg, t Task, err error) {
	rep := nats.NewMsg(m.Reply)
	if t.ID != "" {
		rep.Data, _ = json.Marshal(t) // plain data always marshals
		rep.Header.Set(wire.HeaderContentType, wire.MediaJSON)
	}
	if err != nil {
		rep.Header.Set(headerServiceError, err.Error())
		rep.Header.Set(headerServiceErrorCode, strconv.Itoa(taskStatus(err)))
	}
	_ = m.RespondMsg(rep)
}

// QueryTask asks the task query responder on subject for a task.
func QueryTask(ctx context.Context, nc *nats.Conn, subject, id string) (Task, error) {
	msg := nats.NewMsg(subject)
	msg.Data = []byte(id)
	rep, err := nc.RequestMsgWithContext(ctx, msg)
	if err != nil {
		return Task{}, fmt.Errorf("querying task %q on %q: %w", id, subject, err)
	}
	return taskFromReply(rep)
}

// CancelTask sends a cancel event for a task to the cancel responder on
// subject (DefaultCancelSubject) and returns the task as it then is;
// ErrTaskFinished when it completed or failed first.
func CancelTask(ctx context.Context, nc *nats.Conn, subject, id string) (Task, error) {
	data, err := json.Marshal(cancelData{ID: id})
	if err != nil {
		return Task{}, fmt.Errorf("%w: %w", ErrInvalidTaskID, err)
	}
	e := event.New()
	e.SetID(uuid.NewString())
	e.SetSource(wire.ClientSource)
	e.SetType(TypeCancel)
	e.SetTime(time.Now())
	e.SetDataContentType(wire.MediaJSON)
	e.DataEncoded = data
	msg, err := wire.EncodeNATS(ctx, &e, false)
	if err != nil {
		return Task{}, fmt.Errorf("encoding cancel: %w", err)
	}
	msg.Subject = subject
	rep, err := nc.RequestMsgWithContext(ctx, msg)
	if err != nil {
		return Task{}, fmt.Errorf("cancelling task %q on %q: %w", id, subject, err)
	}
	return taskFromReply(rep)
}

func taskFromReply(rep *nats.Msg) (Task, error) {
	var t Task
	if len(rep.Data) > 0 {
		if err := json.Unmarshal(rep.Data, &t); err != nil {
			return Task{}, fmt.Errorf("%w: %w", wire.ErrUnexpectedReply, err)
		}
	}
	code := rep.Header.Get(headerServiceErrorCode)
	if code == "" {
		return t, nil
	}
	cause := ErrTaskRequest
	switch code {
	case strconv.Itoa(http.StatusNotFound):
		cause = ErrTaskNotFound
	case strconv.Itoa(http.StatusConflict):
		cause = ErrTaskFinished
	}
	return t, fmt.Errorf("%w: %s %s", cause, code, rep.Header.Get(headerServiceError))
}

// cancelData is the data of a TypeCancel event.
type cancelData struct {
	ID string `json:"id"`
}

// cancelID reads the task id of a cancel event.
func cancelID(e *event.Event) (string, error) {
	if e.Type() != TypeCancel {
		return "", fmt.Errorf("%w: type %q, want %q", wire.ErrInvalidEvent, e.Type(), TypeCancel)
	}
	var d cancelData
	dec := json.NewDecoder(bytes.NewReader(e.Data()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return "", fmt.Errorf("%w: cancel data: %w", wire.ErrInvalidData, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("%w: trailing data after the JSON object", wire.ErrInvalidData)
	}
	if d.ID == "" {
		return "", fmt.Errorf("%w: empty \"id\"", ErrInvalidTaskID)
	}
	return d.ID, nil
}
