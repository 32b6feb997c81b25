package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ocrhost/ocrhost/events/internal/eventstest"
	"github.com/ocrhost/ocrhost/events/internal/wire"
	"github.com/ocrhost/ocrhost/host"
)

func TestJetStreamJobCompletes(t *testing.T) {
	s := jsServer(t)
	nc, js := jsConn(t, s)
	h := newScriptHost(nil)
	w := startJS(t, js, h, fastJS(WithSource("/ocr/eu-1"))...)
	results := subscribe(t, nc, DefaultResultSubject)

	id, err := submitJob(eventstest.Ctx(t), js, jobSubject, eventstest.PNG, "image/png", nil)
	if err != nil {
		t.Fatal(err)
	}
	e := jobAnswer(t, eventstest.Recv(t, results), id)
	if e.Type() != wire.TypeResult || e.Source() != "/ocr/eu-1" {
		t.Fatalf("answer %s from %s: %s", e.Type(), e.Source(), e.Data())
	}
	var resp host.Response
	if err := json.Unmarshal(e.Data(), &resp); err != nil || resp.ID != id {
		t.Fatalf("result %s: %v", e.Data(), err)
	}
	waitDrained(t, js)
	quiet(t, results, 200*time.Millisecond)

	reqs := h.requests()
	if len(reqs) != 1 || reqs[0].ID != id || reqs[0].ContentType != "image/png" || string(reqs[0].Data) != string(eventstest.PNG) {
		t.Fatalf("host got %+v", reqs)
	}
	task := getTask(t, w.Tasks(), id)
	if task.State != TaskCompleted || task.Attempts != 1 || task.Subject != jobSubject || task.Failure != nil {
		t.Errorf("task %+v", task)
	}
	if want := []TaskState{TaskPending, TaskProcessing, TaskCompleted}; !slices.Equal(states(task), want) {
		t.Errorf("history %v, want %v", states(task), want)
	}
	if string(task.Result) != string(e.Data()) {
		t.Errorf("stored result %s\npublished %s", task.Result, e.Data())
	}
}

func TestJetStreamBusyIsRetriedWithGrowingDelay(t *testing.T) {
	s := jsServer(t)
	nc, js := jsConn(t, s)
	h := newScriptHost(func(_ context.Context, n int, req *host.Request) (*host.Response, error) {
		if n <= 2 {
			return nil, host.Fail(host.CodeBusy, errors.New("8 requests in flight"))
		}
		return okResponse(req), nil
	})
	w := startJS(t, js, h, fastJS()...)
	results := subscribe(t, nc, DefaultResultSubject)

	id, err := submitJob(eventstest.Ctx(t), js, jobSubject, eventstest.PNG, "image/png", nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := jobAnswer(t, eventstest.Recv(t, results), id); e.Type() != wire.TypeResult {
		t.Fatalf("answer %s: %s", e.Type(), e.Data())
	}
	waitDrained(t, js)
	quiet(t, results, 200*time.Millisecond)

	at := h.times()
	if len(at) != 3 {
		t.Fatalf("%d invocations, want 3", len(at))
	}
	// Nak'd with 50 ms after the first delivery, 100 ms after the second.
	if d1, d2 := at[1].Sub(at[0]), at[2].Sub(at[1]); d1 < 50*time.Millisecond || d2 < 100*time.Millisecond {
		t.Errorf("redelivered after %v and %v, want at least 50ms and 100ms", d1, d2)
	}
	task := getTask(t, w.Tasks(), id)
	if task.State != TaskCompleted || task.Attempts != 3 {
		t.Errorf("task %s after %d attempts", task.State, task.Attempts)
	}
	want := []TaskState{TaskPending, TaskProcessing, TaskRetried, TaskProcessing, TaskRetried, TaskProcessing, TaskCompleted}
	if !slices.Equal(states(task), want) {
		t.Errorf("history %v, want %v", states(task), want)
	}
	if task.History[2].Code != host.CodeBusy {
		t.Errorf("retry recorded code %q", task.History[2].Code)
	}
}

func TestJetStreamDeadLetterAfterMaxDeliver(t *testing.T) {
	s := jsServer(t)
	nc, js := jsConn(t, s)
	h := newScriptHost(func(context.Context, int, *host.Request) (*host.Response, error) {
		return nil, host.Fail(host.CodeBusy, errors.New("8 requests in flight"))
	})
	w := startJS(t, js, h, fastJS(WithMaxDeliver(3))...)
	results := subscribe(t, nc, DefaultResultSubject)
	dead := subscribe(t, nc, DefaultDeadLetterPrefix+".>")

	const subject = "ocr.jobs.scan.a4"
	id, err := submitJob(eventstest.Ctx(t), js, subject, eventstest.PNG, "image/png", nil)
	if err != nil {
		t.Fatal(err)
	}
	d := eventstest.Recv(t, dead)
	if d.Subject != "ocr.dead.scan.a4" {
		t.Errorf("dead letter on %q", d.Subject)
	}
	hd := d.Header
	if !strings.HasPrefix(hd.Get(HeaderDeadReason), "busy: 8 requests in flight") || hd.Get(HeaderDeadCode) != "busy" ||
		hd.Get(HeaderDeadDeliveries) != "3" || hd.Get(HeaderDeadSubject) != subject || hd.Get(HeaderDeadSequence) != "1" {
		t.Errorf("dead-letter headers %v", hd)
	}
	if hd.Get("ce-id") != id || string(d.Data) != string(eventstest.PNG) || hd.Get("Nats-Msg-Id") != "" {
		t.Errorf("dead letter is not the job: %v %q", hd, d.Data)
	}
	fd := eventstest.FailureOf(t, eventstest.Recv(t, results))
	if fd.Code != host.CodeBusy || fd.RequestID != id || !strings.Contains(fd.Message, "after 3 deliveries") {
		t.Errorf("failure %+v", fd)
	}
	waitDrained(t, js)
	if n := h.calls(); n != 3 {
		t.Errorf("%d invocations, want 3", n)
	}
	task := getTask(t, w.Tasks(), id)
	if task.State != TaskFailed || task.Attempts != 3 || task.Failure == nil || task.Failure.Code != host.CodeBusy {
		t.Errorf("task %+v", task)
	}
	ds, err := js.Stream(eventstest.Ctx(t), DefaultDeadLetterStream)
	if err != nil {
		t.Fatal(err)
	}
	if si, err := ds.Info(eventstest.Ctx(t)); err != nil || si.State.Msgs != 1 {
		t.Errorf("dead-letter stream holds %v messages (%v), want 1", si.State.Msgs, err)
	}
}

func TestJetStreamDuplicateJobRunsOnce(t *testing.T) {
	s := jsServer(t)
	nc, js := jsConn(t, s)
	h := newScriptHost(nil)
	w := startJS(t, js, h, fastJS()...)
	results := subscribe(t, nc, DefaultResultSubject)

	publishJob(t, js, "dup", eventstest.PNG, "image/png")
	first := jobAnswer(t, eventstest.Recv(t, results), "dup")
	publishJob(t, js, "dup", eventstest.PNG, "image/png")
	second := jobAnswer(t, eventstest.Recv(t, results), "dup")
	waitDrained(t, js)

	if n := h.calls(); n != 1 {
		t.Errorf("%d invocations, want 1", n)
	}
	if second.Type() != wire.TypeResult || string(second.Data()) != string(first.Data()) || second.ID() == first.ID() {
		t.Errorf("re-published answer %s %s %s, first %s %s", second.ID(), second.Type(), second.Data(), first.ID(), first.Data())
	}
	if task := getTask(t, w.Tasks(), "dup"); task.State != TaskCompleted || task.Attempts != 1 {
		t.Errorf("task %s after %d attempts", task.State, task.Attempts)
	}
}

func TestJetStreamCancel(t *testing.T) {
	s := jsServer(t)
	nc, js := jsConn(t, s)
	h := newScriptHost(untilCancelled)
	w := startJS(t, js, h, fastJS(WithMaxInFlight(1))...)
	results := subscribe(t, nc, DefaultResultSubject)
	ctx := eventstest.Ctx(t)

	running, err := submitJob(ctx, js, jobSubject, eventstest.PNG, "image/png", nil)
	if err != nil {
		t.Fatal(err)
	}
	eventstest.Recv(t, h.started)
	pending, err := submitJob(ctx, js, jobSubject, eventstest.PNG, "image/png", nil)
	if err != nil {
		t.Fatal(err)
	}
	if task := getTask(t, w.Tasks(), pending); task.State != TaskPending {
		t.Fatalf("waiting job's task is %s", task.State)
	}
	task, err := CancelTask(ctx, nc, DefaultCancelSubject, pending)
	if err != nil || task.State != TaskCancelled || task.ID != pending {
		t.Fatalf("cancel pending: %+v, %v", task, err)
	}
	// A cancel may overtake its job: the task is recorded cancelled.
	early, err := CancelTask(ctx, nc, DefaultCancelSubject, "early")
	if err != nil || early.State != TaskCancelled {
		t.Fatalf("cancel unknown: %+v, %v", early, err)
	}
	publishJob(t, js, "early", eventstest.PNG, "image/png")

	task, err = CancelTask(ctx, nc, DefaultCancelSubject, running)
	if err != nil || task.State != TaskCancelled {
		t.Fatalf("cancel running: %+v, %v", task, err)
	}
	waitDrained(t, js)
	quiet(t, results, 200*time.Millisecond)

	if reqs := h.requests(); len(reqs) != 1 || reqs[0].ID != running {
		t.Errorf("invoked %d times, want only the running job", len(reqs))
	}
	for _, id := range []string{running, pending, "early"} {
		if task := getTask(t, w.Tasks(), id); task.State != TaskCancelled {
			t.Errorf("task %s is %s", id, task.State)
		}
	}
	if task := getTask(t, w.Tasks(), pending); task.Attempts != 0 {
		t.Errorf("cancelled pending task ran %d times", task.Attempts)
	}
	if again, err := CancelTask(ctx, nc, DefaultCancelSubject, running); err != nil || again.State != TaskCancelled {
		t.Errorf("second cancel: %+v, %v", again, err)
	}
}

func TestJetStreamPullsOnlyFreeCapacity(t *testing.T) {
	s := jsServer(t)
	nc, js := jsConn(t, s)
	h := newScriptHost(func(_ context.Context, _ int, req *host.Request) (*host.Response, error) {
		time.Sleep(150 * time.Millisecond)
		return okResponse(req), nil
	})
	startJS(t, js, h, fastJS(WithMaxInFlight(2))...)
	results := subscribe(t, nc, DefaultResultSubject)

	var overPulled atomic.Int64
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		ctx := context.Background()
		c, err := js.Consumer(ctx, DefaultStream, DefaultConsumer)
		if err != nil {
			overPulled.Store(-1)
			return
		}
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if ci, err := c.Info(ctx); err == nil && ci.NumAckPending > 2 {
				overPulled.Store(int64(ci.NumAckPending))
			}
		}
	}()
	for range 6 {
		if _, err := submitJob(eventstest.Ctx(t), js, jobSubject, eventstest.PNG, "image/png", nil); err != nil {
			t.Fatal(err)
		}
	}
	for range 6 {
		eventstest.Recv(t, results)
	}
	close(stop)
	<-watched
	waitDrained(t, js)
	if n := overPulled.Load(); n != 0 {
		t.Errorf("%d jobs delivered and unacked at once, want at most 2", n)
	}
	if p := h.maxRunning(); p != 2 {
		t.Errorf("at most %d invocations ran at once, want 2", p)
	}
	if n := h.calls(); n != 6 {
		t.Errorf("%d invocations, want 6", n)
	}
}

func TestJetStreamClosedWorkerHandsJobOver(t *testing.T) {
	s := jsServer(t)
	ncA, jsA := jsConn(t, s)
	_, jsB := jsConn(t, s)
	cli, _ := jsConn(t, s)
	results := subscribe(t, cli, DefaultResultSubject)

	hA := newScriptHost(untilCancelled)
	a, err := Start(eventstest.Ctx(t), jsA, hA, fastJS()...)
	if err != nil {
		t.Fatal(err)
	}
	id, err := submitJob(eventstest.Ctx(t), jsA, jobSubject, eventstest.PNG, "image/png", nil)
	if err != nil {
		t.Fatal(err)
	}
	eventstest.Recv(t, hA.started)
	hB := newScriptHost(nil)
	b := startJS(t, jsB, hB, fastJS()...)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := a.Close(ctx); !errors.Is(err, wire.ErrDrainIncomplete) {
		t.Errorf("Close = %v, want ErrDrainIncomplete", err)
	}
	ncA.Close()

	if e := jobAnswer(t, eventstest.Recv(t, results), id); e.Type() != wire.TypeResult {
		t.Fatalf("answer %s: %s", e.Type(), e.Data())
	}
	waitDrained(t, jsB)
	quiet(t, results, 300*time.Millisecond)
	if na, nb := hA.calls(), hB.calls(); na != 1 || nb != 1 {
		t.Errorf("invocations: %d on the closed worker, %d on the other; want 1 and 1", na, nb)
	}
	task := getTask(t, b.Tasks(), id)
	want := []TaskState{TaskPending, TaskProcessing, TaskRetried, TaskProcessing, TaskCompleted}
	if task.State != TaskCompleted || task.Attempts != 2 || !slices.Equal(states(task), want) {
		t.Errorf("task %s after %d attempts, history %v", task.State, task.Attempts, states(task))
	}
}

func TestJetStreamLongJobKeepsItsDelivery(t *testing.T) {
	s := jsServer(t)
	nc, js := jsConn(t, s)
	h := newScriptHost(func(_ context.Context, _ int, req *host.Request) (*host.Response, error) {
		time.Sleep(2200 * time.Millisecond) // over twice the 1 s ack wait
		return okResponse(req), nil
	})
	startJS(t, js, h, fastJS()...)
	results := subscribe(t, nc, DefaultResultSubject)

	id, err := submitJob(eventstest.Ctx(t), js, jobSubject, eventstest.PNG, "image/png", nil)
	if err != nil {
		t.Fatal(err)
	}
	jobAnswer(t, eventstest.Recv(t, results), id)
	waitDrained(t, js)
	if n := h.calls(); n != 1 {
		t.Errorf("%d invocations: the job was redelivered while running", n)
	}
	if ci := consumerInfo(t, js); ci.NumRedelivered != 0 {
		t.Errorf("%d redeliveries", ci.NumRedelivered)
	}
}

func TestJetStreamRefusesBadJobs(t *testing.T) {
	s := jsServer(t)
	nc, js := jsConn(t, s)
	h := newScriptHost(nil)
	w := startJS(t, js, h, fastJS()...)
	results := subscribe(t, nc, DefaultResultSubject)
	ctx := eventstest.Ctx(t)

	// Not a CloudEvent: answered without a request id, acked.
	if _, err := js.Publish(ctx, jobSubject, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if fd := eventstest.FailureOf(t, eventstest.Recv(t, results)); fd.Code != host.CodeInvalidInput || fd.RequestID != "" {
		t.Errorf("failure %+v", fd)
	}
	// Bad base64 in the JSON form: the task fails for good.
	publishJob(t, js, "bad", []byte(`{"data":"***"}`), "application/json")
	if fd := eventstest.FailureOf(t, eventstest.Recv(t, results)); fd.Code != host.CodeInvalidInput || fd.RequestID != "bad" {
		t.Errorf("failure %+v", fd)
	}
	// An answer queued as a job is dropped unanswered.
	hd := eventstest.BinaryHeaders("answer")
	hd.Set("ce-type", wire.TypeResult)
	if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: jobSubject, Header: hd, Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	waitDrained(t, js)
	quiet(t, results, 200*time.Millisecond)
	if n := h.calls(); n != 0 {
		t.Errorf("%d invocations", n)
	}
	if task := getTask(t, w.Tasks(), "bad"); task.State != TaskFailed || task.Failure.Code != host.CodeInvalidInput {
		t.Errorf("task %+v", task)
	}
	if _, err := w.Tasks().Get(ctx, "answer"); !errors.Is(err, ErrTaskNotFound) {
		t.Errorf("answer event got a task: %v", err)
	}
}

func TestJetStreamOptions(t *testing.T) {
	for name, opt := range map[string]Option{
		"max in flight":      WithMaxInFlight(0),
		"ack wait":           WithAckWait(0),
		"max deliver":        WithMaxDeliver(0),
		"retry delay":        WithRetryDelay(2*time.Second, time.Second),
		"back-off":           WithBackOff(time.Second, 0),
		"max ack pending":    WithMaxAckPending(1),
		"no stream":          WithStream(""),
		"no subjects":        WithStream("X"),
		"no consumer":        WithConsumer(""),
		"result in stream":   WithJobResultSubject("ocr.jobs.results"),
		"result wildcard":    WithJobResultSubject("ocr.*"),
		"dead in stream":     WithDeadLetter("ocr.jobs.dead", DefaultDeadLetterStream),
		"cancel in stream":   WithCancelSubject("ocr.jobs.cancel", DefaultQueueGroup),
		"task ttl":           WithTaskTTL(0),
		"payload bucket":     WithPayloadBucket(""),
		"stream over result": WithStream("X", "ocr.>"),
	} {
		if _, err := Start(context.Background(), nil, newScriptHost(nil), opt); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
}

func TestSubjectsOverlap(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"ocr.jobs.>", "ocr.results", false},
		{"ocr.jobs.>", "ocr.jobs.cancel", true},
		{"ocr.jobs.>", "ocr.jobs", false},
		{"ocr.*", "ocr.results", true},
		{"ocr.*", "ocr.results.x", false},
		{"ocr.>", "ocr.dead.>", true},
		{"a.*.c", "a.b.*", true},
		{"a.*.c", "a.b.d", false},
	} {
		if got := subjectsOverlap(c.a, c.b); got != c.want {
			t.Errorf("subjectsOverlap(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func TestDeadSubjectAndDelays(t *testing.T) {
	w := &Worker{cfg: defaultJS()}
	w.cfg.subjects = []string{"ocr.jobs.>", "scan.*.in"}
	for subject, want := range map[string]string{
		"ocr.jobs.a":     "ocr.dead.a",
		"ocr.jobs.a.b":   "ocr.dead.a.b",
		"scan.x.in":      "ocr.dead.x.in",
		"elsewhere.here": "ocr.dead.elsewhere.here",
	} {
		if got := w.deadSubject(subject); got != want {
			t.Errorf("deadSubject(%q) = %q, want %q", subject, got, want)
		}
	}
	var got []time.Duration
	for n := 1; n <= 7; n++ {
		got = append(got, w.retryDelay(n))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("retry delays %v, want %v", got, want)
	}
	w.cfg.backOff = []time.Duration{time.Second, 5 * time.Second}
	if w.ackWait(1) != time.Second || w.ackWait(2) != 5*time.Second || w.ackWait(9) != 5*time.Second {
		t.Errorf("ack waits with back-off: %v %v %v", w.ackWait(1), w.ackWait(2), w.ackWait(9))
	}
}
