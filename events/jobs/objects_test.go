package jobs

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ocrhost/ocrhost/events/internal/eventstest"
	"github.com/ocrhost/ocrhost/events/internal/wire"
	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/host"
	"github.com/ocrhost/ocrhost/internal/natsd"
)

func TestObjectReferenceFailures(t *testing.T) {
	s := jsServer(t)
	nc, js := jsConn(t, s)
	h := newScriptHost(nil)
	w := startJS(t, js, h, fastJS()...)
	results := subscribe(t, nc, DefaultResultSubject)

	for id, c := range map[string]struct{ ref, want string }{
		"missing": {`{"bucket":"ocr-payloads","name":"gone","content_type":"image/png"}`, `referenced object not found: "gone" in bucket "ocr-payloads"`},
		"foreign": {`{"bucket":"KV_ocr-tasks","name":"x"}`, `only "ocr-payloads" is served`},
		"typo":    {`{"bucket":"ocr-payloads","nme":"x"}`, "invalid object reference"},
	} {
		publishJob(t, js, id, []byte(c.ref), MediaObjectRef)
		fd := eventstest.FailureOf(t, eventstest.Recv(t, results))
		if fd.Code != host.CodeInvalidInput || fd.RequestID != id || !strings.Contains(fd.Message, c.want) {
			t.Errorf("%s: failure %+v, want invalid_input with %q", id, fd, c.want)
		}
		if task := getTask(t, w.Tasks(), id); task.State != TaskFailed {
			t.Errorf("%s: task %s", id, task.State)
		}
	}
	waitDrained(t, js)
	if n := h.calls(); n != 0 {
		t.Errorf("%d invocations", n)
	}
}

func TestLargeResultGoesToResultBucket(t *testing.T) {
	s := jsServer(t, natsd.WithMaxPayload(eventstest.SmallPayload))
	nc, js := jsConn(t, s)
	text := strings.Repeat("lorem ipsum ", 100)
	h := newScriptHost(func(_ context.Context, _ int, req *host.Request) (*host.Response, error) {
		r := okResponse(req)
		r.Lines = nil
		for range 100 { // about 120 KB of text
			r.Lines = append(r.Lines, function.Line{Text: text, Confidence: 0.9})
		}
		return r, nil
	})
	w := startJS(t, js, h, fastJS()...)
	results := subscribe(t, nc, DefaultResultSubject)

	id, err := submitJob(eventstest.Ctx(t), js, jobSubject, eventstest.PNG, "image/png", nil)
	if err != nil {
		t.Fatal(err)
	}
	e := jobAnswer(t, eventstest.Recv(t, results), id)
	ref, err := parseObjectRef(e.Data())
	if e.Type() != wire.TypeResult || e.DataContentType() != MediaObjectRef || err != nil || ref.Bucket != DefaultResultBucket {
		t.Fatalf("answer %s %s %s (%v)", e.Type(), e.DataContentType(), e.Data(), err)
	}
	task := getTask(t, w.Tasks(), id)
	if task.State != TaskCompleted || task.ResultRef == nil || !reflect.DeepEqual(task.ResultRef, ref) || task.Result != nil {
		t.Fatalf("task %+v", task)
	}
	data, err := w.Tasks().Result(eventstest.Ctx(t), task)
	if err != nil {
		t.Fatal(err)
	}
	var resp host.Response
	if err := json.Unmarshal(data, &resp); err != nil || resp.ID != id || len(resp.Lines) != 100 || resp.Lines[99].Text != text {
		t.Errorf("stored result: %d lines, %v", len(resp.Lines), err)
	}

	// A redelivery re-publishes the reference, not the result.
	publishJob(t, js, id, eventstest.PNG, "image/png")
	again := jobAnswer(t, eventstest.Recv(t, results), id)
	if again.DataContentType() != MediaObjectRef || string(again.Data()) != string(e.Data()) || h.calls() != 1 {
		t.Errorf("re-published %s %s after %d invocations", again.DataContentType(), again.Data(), h.calls())
	}
}
