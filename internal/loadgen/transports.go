package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ocrhost/ocrhost/events"
	"github.com/ocrhost/ocrhost/events/jobs"
	"github.com/ocrhost/ocrhost/host"
)

// ErrUnexpectedAnswer: an answer that is neither a result nor a failure
// event of the ocrhost contract.
var ErrUnexpectedAnswer = errors.New("unexpected answer")

// newRequest encodes doc as a request event with a fresh id, in the
// events package's binary mode (its headers serve NATS and HTTP alike).
func newRequest(ctx context.Context, subject string, doc Doc, options json.RawMessage) (*nats.Msg, string, error) {
	id := uuid.NewString()
	msg, err := events.NewRequestMsg(ctx, subject, id, doc.Data, doc.ContentType, options)
	if err != nil {
		return nil, id, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	return msg, id, nil
}

// answerError turns an answer event's type and data into Send's result:
// nil for a result, a *host.Failure for a failure.
func answerError(typ string, data []byte) error {
	switch typ {
	case events.TypeResult:
		return nil
	case events.TypeFailure:
		var fd events.FailureData
		if err := json.Unmarshal(data, &fd); err != nil || fd.Code == "" {
			return fmt.Errorf("%w: failure data %.200q", ErrUnexpectedAnswer, data)
		}
		return &host.Failure{Code: fd.Code, Message: fd.Message}
	}
	return fmt.Errorf("%w: event type %q", ErrUnexpectedAnswer, typ)
}

// header reads a NATS header case-insensitively: clients differ in case.
func header(h nats.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for k, v := range h {
		if len(v) > 0 && strings.EqualFold(k, name) {
			return v[0]
		}
	}
	return ""
}

// RequestReply sends requests by NATS request-reply, documents too large
// for a message through the object store (events.Client.Request).
type RequestReply struct {
	NC      *nats.Conn
	JS      jetstream.JetStream // nil when every document fits a message
	Subject string
	Options json.RawMessage
}

// Send sends one request.
func (r RequestReply) Send(ctx context.Context, doc Doc) error {
	c := events.NewClient(r.NC, events.WithJetStream(r.JS))
	_, err := c.Request(ctx, r.Subject, events.Document{Data: doc.Data, ContentType: doc.ContentType, Options: r.Options})
	return err
}

// HTTP posts requests as binary-mode CloudEvents.
type HTTP struct {
	Client  *http.Client
	URL     string
	Options json.RawMessage
}

// Send posts one request.
func (h HTTP) Send(ctx context.Context, doc Doc) error {
	msg, _, err := newRequest(ctx, "", doc, h.Options)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(msg.Data))
	if err != nil {
		return err
	}
	for k, v := range msg.Header {
		req.Header[k] = v
	}
	resp, err := h.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if err := answerError(resp.Header.Get("ce-type"), body); !errors.Is(err, ErrUnexpectedAnswer) {
		return err
	}
	return fmt.Errorf("%w: HTTP %s: %.200s", ErrUnexpectedAnswer, resp.Status, body)
}

// answers routes answer events arriving on a result subject to the
// requests waiting for them, by the answers' requestid.
type answers struct {
	mu      sync.Mutex
	waiting map[string]chan error
	// early keeps answers whose request is not yet registered: a job's id
	// is known only once Submit returns, and its answer may be first.
	// Entries older than keep are dropped, so answers to other clients on
	// the same subject do not pile up.
	early     map[string]earlyAnswer
	keep      time.Duration
	lastPrune time.Time
}

type earlyAnswer struct {
	err error
	at  time.Time
}

func newAnswers(keep time.Duration) *answers {
	return &answers{waiting: map[string]chan error{}, early: map[string]earlyAnswer{}, keep: keep, lastPrune: time.Now()}
}

// onMsg takes one message from the result subject; progress events and
// anything without a requestid are not answers.
func (a *answers) onMsg(m *nats.Msg) {
	id, typ := header(m.Header, "ce-"+events.ExtRequestID), header(m.Header, "ce-type")
	if id == "" || typ == events.TypeProgress {
		return
	}
	err := answerError(typ, m.Data)
	a.mu.Lock()
	defer a.mu.Unlock()
	if ch, ok := a.waiting[id]; ok {
		delete(a.waiting, id)
		ch <- err
		return
	}
	now := time.Now()
	a.early[id] = earlyAnswer{err, now}
	if now.Sub(a.lastPrune) > a.keep/2 {
		for k, e := range a.early {
			if now.Sub(e.at) > a.keep {
				delete(a.early, k)
			}
		}
		a.lastPrune = now
	}
}

// register returns the channel id's answer will come on.
func (a *answers) register(id string) <-chan error {
	ch := make(chan error, 1)
	a.mu.Lock()
	defer a.mu.Unlock()
	if e, ok := a.early[id]; ok {
		delete(a.early, id)
		ch <- e.err
		return ch
	}
	a.waiting[id] = ch
	return ch
}

func (a *answers) forget(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.waiting, id)
}

// Publish publishes requests without a reply inbox, so that the host
// answers on its result subject, and matches the answers by request id.
type Publish struct {
	nc      *nats.Conn
	subject string
	options json.RawMessage
	answers *answers
	sub     *nats.Subscription
}

// NewPublish subscribes to resultSubject for answers to requests
// published on subject. Close unsubscribes.
func NewPublish(nc *nats.Conn, subject, resultSubject string, options json.RawMessage) (*Publish, error) {
	p := &Publish{nc: nc, subject: subject, options: options, answers: newAnswers(time.Minute)}
	var err error
	if p.sub, err = subscribeAnswers(nc, resultSubject, p.answers); err != nil {
		return nil, err
	}
	return p, nil
}

func subscribeAnswers(nc *nats.Conn, subject string, a *answers) (*nats.Subscription, error) {
	sub, err := nc.Subscribe(subject, a.onMsg)
	if err != nil {
		return nil, fmt.Errorf("subscribe %q: %w", subject, err)
	}
	// Answers may be many and fast; the default pending limits would
	// drop them as slow-consumer overflow.
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return nil, err
	}
	// The subscription must reach the server before the first request.
	if err := nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("subscribe %q: %w", subject, err)
	}
	return sub, nil
}

// Send publishes one request and waits for its answer.
func (p *Publish) Send(ctx context.Context, doc Doc) error {
	msg, id, err := newRequest(ctx, p.subject, doc, p.options)
	if err != nil {
		return err
	}
	ch := p.answers.register(id)
	defer p.answers.forget(id)
	if err := p.nc.PublishMsg(msg); err != nil {
		return fmt.Errorf("publish %s on %q: %w", id, p.subject, err)
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return fmt.Errorf("request %s: no answer: %w", id, context.Cause(ctx))
	}
}

// Close unsubscribes from the result subject.
func (p *Publish) Close() error { return p.sub.Unsubscribe() }

// JetStream submits requests as jobs to the host's work queue and awaits
// each job's answer on the result subject; a job unanswered when its
// request times out is looked up in the task store, so that an answer
// lost in transit still counts by the task's final state.
type JetStream struct {
	js           jetstream.JetStream
	subject      string
	taskSubject  string
	options      json.RawMessage
	answers      *answers
	sub          *nats.Subscription
	queryTimeout time.Duration
}

// NewJetStream subscribes to resultSubject for the answers to jobs
// submitted on subject (one of the work queue's subjects), and looks
// tasks up on taskSubject (jobs.DefaultTaskQuerySubject). Close
// unsubscribes.
func NewJetStream(js jetstream.JetStream, subject, resultSubject, taskSubject string, options json.RawMessage) (*JetStream, error) {
	j := &JetStream{js: js, subject: subject, taskSubject: taskSubject, options: options,
		answers: newAnswers(time.Minute), queryTimeout: 5 * time.Second}
	var err error
	if j.sub, err = subscribeAnswers(js.Conn(), resultSubject, j.answers); err != nil {
		return nil, err
	}
	return j, nil
}

// Send submits one job and waits for its answer.
func (j *JetStream) Send(ctx context.Context, doc Doc) error {
	id, err := events.NewClient(j.js.Conn(), events.WithJetStream(j.js)).
		Submit(ctx, j.subject, events.Document{Data: doc.Data, ContentType: doc.ContentType, Options: j.options})
	if err != nil {
		return err
	}
	ch := j.answers.register(id)
	defer j.answers.forget(id)
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
	}
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), j.queryTimeout)
	defer cancel()
	task, qerr := jobs.QueryTask(qctx, j.js.Conn(), j.taskSubject, id)
	switch {
	case qerr != nil:
		return fmt.Errorf("job %s: no answer (%w), task unknown: %v", id, context.Cause(ctx), qerr)
	case task.State == jobs.TaskCompleted:
		return nil
	case task.State == jobs.TaskFailed && task.Failure != nil:
		return &host.Failure{Code: task.Failure.Code, Message: task.Failure.Message}
	}
	return fmt.Errorf("job %s: no answer, task %s: %w", id, task.State, context.Cause(ctx))
}

// Close unsubscribes from the result subject.
func (j *JetStream) Close() error { return j.sub.Unsubscribe() }
