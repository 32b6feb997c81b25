package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ocrhost/ocrhost/events/internal/eventstest"
	"github.com/ocrhost/ocrhost/events/internal/wire"
	"github.com/ocrhost/ocrhost/events/jobs"
	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/host"
	"github.com/ocrhost/ocrhost/internal/natsd"
)

// jsConns starts an embedded NATS server with JetStream and a max payload
// of eventstest.SmallPayload, and connects n times to it.
func jsConns(t *testing.T, n int) ([]*nats.Conn, []jetstream.JetStream) {
	t.Helper()
	s, err := natsd.Start(natsd.WithMaxPayload(eventstest.SmallPayload))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	var ncs []*nats.Conn
	var jss []jetstream.JetStream
	for range n {
		nc, err := nats.Connect(s.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		ncs, jss = append(ncs, nc), append(jss, js)
	}
	return ncs, jss
}

// TestClientSubmitsLargeDocument: Submit uploads a document too large for
// a message, the worker reads it whole, and deletes it once the task is
// completed.
func TestClientSubmitsLargeDocument(t *testing.T) {
	ncs, jss := jsConns(t, 2)
	fh := newFakeHost()
	w, err := jobs.Start(eventstest.Ctx(t), jss[0], fh)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	results := make(chan *nats.Msg, 4)
	if _, err := ncs[1].ChanSubscribe(DefaultResultSubject, results); err != nil {
		t.Fatal(err)
	}
	doc := eventstest.BigDoc()
	opts := json.RawMessage(`{"lang":"en"}`)
	if _, err := jss[1].Publish(eventstest.Ctx(t), "ocr.jobs.test", doc); err == nil {
		t.Fatal("the server took a 200 KB message; the test proves nothing")
	}
	if _, err := NewClient(ncs[1]).Submit(eventstest.Ctx(t), "ocr.jobs.test", Document{Data: doc}); !errors.Is(err, ErrNoJetStream) {
		t.Errorf("Submit without JetStream: %v", err)
	}

	id, err := NewClient(ncs[1], WithJetStream(jss[1])).Submit(eventstest.Ctx(t), "ocr.jobs.test",
		Document{Data: doc, ContentType: "image/png", Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := wire.DecodeNATS(eventstest.Ctx(t), eventstest.Recv(t, results))
	if err != nil || e.Type() != TypeResult || e.Extensions()[ExtRequestID] != id {
		t.Fatalf("answer %v: %v", e, err)
	}
	reqs := fh.requests()
	if len(reqs) != 1 || !bytes.Equal(reqs[0].Data, doc) || reqs[0].ContentType != "image/png" || string(reqs[0].Options) != string(opts) {
		t.Fatalf("host got %d requests, first %d bytes of %q, options %s", len(reqs), len(reqs[0].Data), reqs[0].ContentType, reqs[0].Options)
	}
	if task, err := w.Tasks().Get(eventstest.Ctx(t), id); err != nil || task.State != jobs.TaskCompleted {
		t.Errorf("task %s (%v)", task.State, err)
	}
	// The payload is deleted once the job is acked, a moment after the
	// answer is published.
	for deadline := time.Now().Add(10 * time.Second); eventstest.ObjectCount(t, jss[1], jobs.DefaultPayloadBucket) != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the payload object was not deleted after the task completed")
		}
	}
}

// TestClientRequestUploadsLargeDocument: Request sends a small document
// inline and a large one by reference, deleted once answered; without
// JetStream the large one is refused before anything is sent.
func TestClientRequestUploadsLargeDocument(t *testing.T) {
	ncs, jss := jsConns(t, 2)
	payloads, err := jobs.OpenPayloadStore(eventstest.Ctx(t), jss[0])
	if err != nil {
		t.Fatal(err)
	}
	fh := newFakeHost()
	startNATS(t, ncs[0], payloads.Invoker(fh))
	doc := eventstest.BigDoc()
	plain := NewClient(ncs[1])
	client := NewClient(ncs[1], WithJetStream(jss[1]))

	if _, err := plain.Request(eventstest.Ctx(t), DefaultRequestSubject, Document{Data: doc, ContentType: "image/png"}); !errors.Is(err, jobs.ErrNoObjectStore) {
		t.Fatalf("large document without JetStream: %v", err)
	}
	resp, err := client.Request(eventstest.Ctx(t), DefaultRequestSubject, Document{Data: doc, ContentType: "image/png"})
	if err != nil {
		t.Fatal(err)
	}
	small, err := plain.Request(eventstest.Ctx(t), DefaultRequestSubject, Document{Data: eventstest.PNG, ContentType: "image/png"})
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
	if string(reqs[1].Data) != string(eventstest.PNG) {
		t.Errorf("small document arrived as %q", reqs[1].Data)
	}
	if n := eventstest.ObjectCount(t, jss[0], jobs.DefaultPayloadBucket); n != 0 {
		t.Errorf("%d objects left after the answer", n)
	}
}

// bigAnswerHost answers with a 200 KB PDF when asked for one, and with a
// JSON result of about 120 KB otherwise.
type bigAnswerHost struct{ pdf []byte }

func (b bigAnswerHost) Invoke(_ context.Context, req *host.Request) (*host.Response, error) {
	if req.Accept == "application/pdf" || strings.Contains(string(req.Options), "pdf") {
		return &host.Response{ID: req.ID, Output: b.pdf, OutputType: "application/pdf"}, nil
	}
	r := &host.Response{ID: req.ID, Device: "cpu"}
	for range 100 {
		r.Lines = append(r.Lines, function.Line{Text: strings.Repeat("lorem ipsum ", 100), Confidence: 0.9})
	}
	return r, nil
}

// TestLargeAnswerThroughResultBucket: a request-reply answer larger than
// the server's max payload travels as a reference to the result bucket;
// the client reads it (JSON or another format) and deletes it. A client
// without JetStream, or a host that keeps no large answers, gets a typed
// error rather than silence.
func TestLargeAnswerThroughResultBucket(t *testing.T) {
	ncs, jss := jsConns(t, 3)
	store, err := jobs.OpenTaskStore(eventstest.Ctx(t), jss[0])
	if err != nil {
		t.Fatal(err)
	}
	pdf := eventstest.BigDoc()
	startNATS(t, ncs[0], bigAnswerHost{pdf}, WithLargeAnswers(store))
	client := NewClient(ncs[1], WithJetStream(jss[1]))

	resp, err := client.Request(eventstest.Ctx(t), DefaultRequestSubject, Document{Data: eventstest.PNG, Options: json.RawMessage(`{"format":"pdf"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.OutputType != "application/pdf" || !bytes.Equal(resp.Output, pdf) {
		t.Errorf("client read %d bytes of %q, want the %d-byte PDF", len(resp.Output), resp.OutputType, len(pdf))
	}
	resp, err = client.Request(eventstest.Ctx(t), DefaultRequestSubject, Document{Data: eventstest.PNG})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Lines) != 100 || resp.Lines[99].Text != strings.Repeat("lorem ipsum ", 100) {
		t.Errorf("client read %d lines", len(resp.Lines))
	}
	if n := eventstest.ObjectCount(t, jss[1], jobs.DefaultResultBucket); n != 0 {
		t.Errorf("%d answers left in the result bucket after they were read", n)
	}

	if _, err := NewClient(ncs[1]).Request(eventstest.Ctx(t), DefaultRequestSubject, Document{Data: eventstest.PNG}); !errors.Is(err, ErrNoJetStream) {
		t.Errorf("a large answer to a client without JetStream: %v, want ErrNoJetStream", err)
	}

	// A second host on its own subject keeps no large answers.
	startNATS(t, ncs[2], bigAnswerHost{pdf}, WithRequestSubject("ocr.small"), WithResultSubject("ocr.small.results"))
	_, err = client.Request(eventstest.Ctx(t), "ocr.small", Document{Data: eventstest.PNG})
	var f *host.Failure
	if !errors.As(err, &f) || f.Code != host.CodeTooLarge || !strings.Contains(f.Message, "max payload") {
		t.Errorf("a large answer without an answer store: %v, want too_large naming the max payload", err)
	}
}
