package jobs

import (
	"context"
	"testing"

	"github.com/ocrhost/ocrhost/events/internal/eventstest"
	"github.com/ocrhost/ocrhost/events/internal/wire"
	"github.com/ocrhost/ocrhost/host"
)

// TestJobOutputGoesToResultBucket: a job's result in another format than
// JSON, however small, is stored as an object with its media type, and
// the result event carries the reference.
func TestJobOutputGoesToResultBucket(t *testing.T) {
	s := jsServer(t)
	nc, js := jsConn(t, s)
	pdf := []byte("%PDF-1.4 a small searchable PDF")
	h := newScriptHost(func(_ context.Context, _ int, req *host.Request) (*host.Response, error) {
		return &host.Response{ID: req.ID, Output: pdf, OutputType: "application/pdf"}, nil
	})
	w := startJS(t, js, h, fastJS()...)
	results := subscribe(t, nc, DefaultResultSubject)
	id, err := submitJob(eventstest.Ctx(t), js, jobSubject, eventstest.PNG, "image/png", []byte(`{"format":"pdf"}`))
	if err != nil {
		t.Fatal(err)
	}
	e := jobAnswer(t, eventstest.Recv(t, results), id)
	ref, err := parseObjectRef(e.Data())
	if e.Type() != wire.TypeResult || e.DataContentType() != MediaObjectRef || err != nil || ref.ContentType != "application/pdf" {
		t.Fatalf("answer %s %s %s (%v)", e.Type(), e.DataContentType(), e.Data(), err)
	}
	task := getTask(t, w.Tasks(), id)
	data, err := w.Tasks().Result(eventstest.Ctx(t), task)
	if err != nil || string(data) != string(pdf) || task.Result != nil {
		t.Errorf("stored result %q (%v), inline %q", data, err, task.Result)
	}
}
