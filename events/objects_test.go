package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/host"
	"github.com/ocrhost/ocrhost/internal/natsd"
)

// smallPayload is the embedded server's max payload in these tests: the
// 200 KB documents cannot travel in a message.
const smallPayload = 64 << 10

// bigDoc is a 200 KB PNG-signed document of random bytes.
func bigDoc() []byte {
	doc := make([]byte, 200_000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range doc {
		doc[i] = byte(r.UintN(256))
	}
	copy(doc, pngDoc)
	return doc
}

// objectCount counts the objects left in a bucket.
func objectCount(t *testing.T, js jetstream.JetStream, bucket string) int {
	t.Helper()
	obs, err := js.ObjectStore(testCtx(t), bucket)
	if err != nil {
		t.Fatal(err)
	}
	infos, err := obs.List(testCtx(t))
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return len(infos)
}

func TestSubmitJobLargeDocument(t *testing.T) {
	s := jsServer(t, natsd.WithMaxPayload(smallPayload))
	nc, js := jsConn(t, s)
	h := newScriptHost(nil)
	w := startJS(t, js, h, fastJS()...)
	results := subscribe(t, nc, DefaultResultSubject)
	doc := bigDoc()
	opts := json.RawMessage(`{"lang":"en"}`)

	if _, err := js.Publish(testCtx(t), jobSubject, doc); err == nil {
		t.Fatal("the server took a 200 KB message; the test proves nothing")
	}
	id, err := SubmitJob(testCtx(t), js, jobSubject, doc, "image/png", opts)
	if err != nil {
		t.Fatal(err)
	}
	if e := jobAnswer(t, recv(t, results), id); e.Type() != TypeResult {
		t.Fatalf("answer %s: %s", e.Type(), e.Data())
	}
	waitDrained(t, js)
	reqs := h.requests()
	if len(reqs) != 1 || !bytes.Equal(reqs[0].Data, doc) || reqs[0].ContentType != "image/png" || string(reqs[0].Options) != string(opts) {
		t.Fatalf("host got %d requests, first %d bytes of %q, options %s", len(reqs), len(reqs[0].Data), reqs[0].ContentType, reqs[0].Options)
	}
	if task := getTask(t, w.Tasks(), id); task.State != TaskCompleted {
		t.Errorf("task %s", task.State)
	}
	// The payload is deleted once the job is acked, so just after the
	// queue drains it may still be there for a moment.
	eventually(t, "the payload object deleted after the task completed", func() bool {
		return objectCount(t, js, DefaultPayloadBucket) == 0
	})
}

func TestRequestAutoLargeDocument(t *testing.T) {
	s := jsServer(t, natsd.WithMaxPayload(smallPayload))
	srvConn, srvJS := jsConn(t, s)
	cli, cliJS := jsConn(t, s)
	payloads, err := OpenPayloadStore(testCtx(t), srvJS)
	if err != nil {
		t.Fatal(err)
	}
	fh := newFakeHost()
	startNATS(t, srvConn, payloads.Invoker(fh))
	doc := bigDoc()

	if _, err := Request(testCtx(t), cli, DefaultRequestSubject, doc, "image/png", nil); err == nil {
		t.Fatal("a 200 KB request went through a 64 KiB server; the test proves nothing")
	}
	resp, err := RequestAuto(testCtx(t), cli, cliJS, DefaultRequestSubject, doc, "image/png", nil)
	if err != nil {
		t.Fatal(err)
	}
	small, err := RequestAuto(testCtx(t), cli, nil, DefaultRequestSubject, pngDoc, "image/png", nil)
	if err != nil {
		t.Fatal(err)
	}
	reqs := fh.requests()
	if len(reqs) != 2 || resp.ID != reqs[0].ID || small.ID != reqs[1].ID {
		t.Fatalf("%d requests for 2 calls", len(reqs))
	}
	if !bytes.Equal(reqs[0].Data, doc) || reqs[0].ContentType != "image/png" {
		t.Errorf("host got %d bytes of %q", len(reqs[0].Data), reqs[0].ContentType)
	}
	if string(reqs[1].Data) != string(pngDoc) {
		t.Errorf("small document arrived as %q", reqs[1].Data)
	}
	if n := objectCount(t, srvJS, DefaultPayloadBucket); n != 0 {
		t.Errorf("%d objects left after the answer", n)
	}
	if _, err := RequestAuto(testCtx(t), cli, nil, DefaultRequestSubject, doc, "image/png", nil); !errors.Is(err, ErrNoObjectStore) {
		t.Errorf("large document without JetStream: %v", err)
	}
}

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
		fd := failureOf(t, recv(t, results))
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
	s := jsServer(t, natsd.WithMaxPayload(smallPayload))
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

	id, err := SubmitJob(testCtx(t), js, jobSubject, pngDoc, "image/png", nil)
	if err != nil {
		t.Fatal(err)
	}
	e := jobAnswer(t, recv(t, results), id)
	ref, err := parseObjectRef(e.Data())
	if e.Type() != TypeResult || e.DataContentType() != MediaObjectRef || err != nil || ref.Bucket != DefaultResultBucket {
		t.Fatalf("answer %s %s %s (%v)", e.Type(), e.DataContentType(), e.Data(), err)
	}
	task := getTask(t, w.Tasks(), id)
	if task.State != TaskCompleted || task.ResultRef == nil || !reflect.DeepEqual(task.ResultRef, ref) || task.Result != nil {
		t.Fatalf("task %+v", task)
	}
	data, err := w.Tasks().Result(testCtx(t), task)
	if err != nil {
		t.Fatal(err)
	}
	var resp host.Response
	if err := json.Unmarshal(data, &resp); err != nil || resp.ID != id || len(resp.Lines) != 100 || resp.Lines[99].Text != text {
		t.Errorf("stored result: %d lines, %v", len(resp.Lines), err)
	}

	// A redelivery re-publishes the reference, not the result.
	publishJob(t, js, id, pngDoc, "image/png")
	again := jobAnswer(t, recv(t, results), id)
	if again.DataContentType() != MediaObjectRef || string(again.Data()) != string(e.Data()) || h.calls() != 1 {
		t.Errorf("re-published %s %s after %d invocations", again.DataContentType(), again.Data(), h.calls())
	}
}
