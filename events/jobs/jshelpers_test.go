package jobs

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ocrhost/ocrhost/events/internal/eventstest"
	"github.com/ocrhost/ocrhost/events/internal/wire"
	"github.com/ocrhost/ocrhost/host"
	"github.com/ocrhost/ocrhost/internal/natsd"
)

// jobSubject is a subject of the default job stream.
const jobSubject = "ocr.jobs.test"

// jsServer starts an embedded NATS server with JetStream.
func jsServer(t *testing.T, opts ...natsd.Option) *natsd.Server {
	t.Helper()
	s, err := natsd.Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// jsConn connects to s, as one host or client would.
func jsConn(t *testing.T, s *natsd.Server) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// fastJS are settings that keep the tests short: a 1 s ack wait and
// retries after 50 ms, 100 ms, 200 ms.
func fastJS(opts ...Option) []Option {
	return append([]Option{WithAckWait(time.Second), WithRetryDelay(50*time.Millisecond, 200*time.Millisecond)}, opts...)
}

func startJS(t *testing.T, js jetstream.JetStream, inv Invoker, opts ...Option) *Worker {
	t.Helper()
	w, err := Start(eventstest.Ctx(t), js, inv, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = w.Close(ctx)
	})
	return w
}

// scriptHost stands in for the host: it counts invocations and the most
// running at once, and answers with step (the canned response when nil),
// which gets the invocation's number, from 1.
type scriptHost struct {
	step    func(ctx context.Context, n int, req *host.Request) (*host.Response, error)
	started chan *host.Request

	mu      sync.Mutex
	reqs    []*host.Request
	at      []time.Time
	running int
	peak    int
}

func newScriptHost(step func(ctx context.Context, n int, req *host.Request) (*host.Response, error)) *scriptHost {
	return &scriptHost{step: step, started: make(chan *host.Request, 64)}
}

func (h *scriptHost) Invoke(ctx context.Context, req *host.Request) (*host.Response, error) {
	h.mu.Lock()
	h.reqs = append(h.reqs, req)
	h.at = append(h.at, time.Now())
	n := len(h.reqs)
	h.running++
	h.peak = max(h.peak, h.running)
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.running--
		h.mu.Unlock()
	}()
	h.started <- req
	if h.step != nil {
		return h.step(ctx, n, req)
	}
	return okResponse(req), nil
}

func (h *scriptHost) calls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.reqs)
}

func (h *scriptHost) requests() []*host.Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*host.Request(nil), h.reqs...)
}

func (h *scriptHost) times() []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Time(nil), h.at...)
}

func (h *scriptHost) maxRunning() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.peak
}

func okResponse(req *host.Request) *host.Response {
	r := eventstest.CannedResponse()
	r.ID = req.ID
	return r
}

// untilCancelled blocks every invocation until its context ends, then
// answers busy as the host does.
func untilCancelled(ctx context.Context, _ int, _ *host.Request) (*host.Response, error) {
	<-ctx.Done()
	return nil, host.Fail(host.CodeBusy, context.Cause(ctx))
}

// subscribe collects the messages on subject.
func subscribe(t *testing.T, nc *nats.Conn, subject string) <-chan *nats.Msg {
	t.Helper()
	ch := make(chan *nats.Msg, 64)
	sub, err := nc.ChanSubscribe(subject, ch)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return ch
}

// jobAnswer decodes an answer and checks that it answers id.
func jobAnswer(t *testing.T, m *nats.Msg, id string) *event.Event {
	t.Helper()
	e, _, err := wire.DecodeNATS(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Extensions()[wire.ExtRequestID]; got != id {
		t.Fatalf("answer for %v, want %s", got, id)
	}
	return e
}

// quiet fails when a message arrives on ch within d.
func quiet(t *testing.T, ch <-chan *nats.Msg, d time.Duration) {
	t.Helper()
	select {
	case m := <-ch:
		t.Fatalf("unexpected message on %s: %v %s", m.Subject, m.Header, m.Data)
	case <-time.After(d):
	}
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitDrained waits until the job stream is empty and no job is pending
// an ack, i.e. every job was acked or terminated.
func waitDrained(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	ctx := eventstest.Ctx(t)
	eventually(t, "the job stream to drain", func() bool {
		s, err := js.Stream(ctx, DefaultStream)
		if err != nil {
			t.Fatal(err)
		}
		si, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ci := consumerInfo(t, js)
		return si.State.Msgs == 0 && ci.NumAckPending == 0 && ci.NumPending == 0
	})
}

func consumerInfo(t *testing.T, js jetstream.JetStream) *jetstream.ConsumerInfo {
	t.Helper()
	ctx := eventstest.Ctx(t)
	c, err := js.Consumer(ctx, DefaultStream, DefaultConsumer)
	if err != nil {
		t.Fatal(err)
	}
	ci, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ci
}

// publishJob queues a binary-mode request event with the given id, data
// and content type, as a producer other than events.Client would.
func publishJob(t *testing.T, js jetstream.JetStream, id string, data []byte, contentType string) {
	t.Helper()
	h := eventstest.BinaryHeaders(id)
	h.Set("content-type", contentType)
	if _, err := js.PublishMsg(eventstest.Ctx(t), &nats.Msg{Subject: jobSubject, Header: h, Data: data}); err != nil {
		t.Fatal(err)
	}
}

func getTask(t *testing.T, s *TaskStore, id string) Task {
	t.Helper()
	task, err := s.Get(eventstest.Ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// states lists a task's history.
func states(task Task) []TaskState {
	var out []TaskState
	for _, tr := range task.History {
		out = append(out, tr.State)
	}
	return out
}
