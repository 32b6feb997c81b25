package events

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ocrhost/ocrhost/host"
)

func TestTaskQueries(t *testing.T) {
	s := jsServer(t)
	nc, js := jsConn(t, s)
	w := startJS(t, js, newScriptHost(nil), fastJS()...)
	results := subscribe(t, nc, DefaultResultSubject)
	ctx := testCtx(t)

	id, err := SubmitJob(ctx, js, jobSubject, pngDoc, "image/png", nil)
	if err != nil {
		t.Fatal(err)
	}
	jobAnswer(t, recv(t, results), id)
	eventually(t, "the task to complete", func() bool { return getTask(t, w.Tasks(), id).State == TaskCompleted })

	srv := httptest.NewServer(w.Tasks().Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/tasks/" + id)
	if err != nil {
		t.Fatal(err)
	}
	var task Task
	err = json.NewDecoder(resp.Body).Decode(&task)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET: %d %s, %v", resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}
	var result host.Response
	if task.ID != id || task.State != TaskCompleted || json.Unmarshal(task.Result, &result) != nil || result.ID != id {
		t.Errorf("GET task %+v", task)
	}
	for path, want := range map[string]int{"/tasks/unknown": http.StatusNotFound, "/tasks/": http.StatusNotFound} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	resp, err = http.PostForm(srv.URL+"/tasks/"+id, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}

	sub, err := w.Tasks().ServeNATS(nc, DefaultTaskQuerySubject, DefaultQueueGroup)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	got, err := QueryTask(ctx, nc, DefaultTaskQuerySubject, id)
	if err != nil || got.ID != id || got.State != TaskCompleted || string(got.Result) != string(task.Result) {
		t.Errorf("NATS query: %+v, %v", got, err)
	}
	if _, err := QueryTask(ctx, nc, DefaultTaskQuerySubject, "unknown"); !errors.Is(err, ErrTaskNotFound) {
		t.Errorf("NATS query of an unknown task: %v", err)
	}
	if _, err := QueryTask(ctx, nc, DefaultTaskQuerySubject, ""); !errors.Is(err, ErrTaskRequest) {
		t.Errorf("NATS query without an id: %v", err)
	}
	if got, err := CancelTask(ctx, nc, DefaultCancelSubject, id); !errors.Is(err, ErrTaskFinished) || got.State != TaskCompleted {
		t.Errorf("cancel of a completed task: %+v, %v", got, err)
	}
}

func TestTaskIDsNeedNoKeyCharacters(t *testing.T) {
	s := jsServer(t)
	_, js := jsConn(t, s)
	store, err := OpenTaskStore(testCtx(t), js, WithTaskBucket("ids"), WithTaskTTL(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"plain-ID_1", "a.b", "with space/and:colon", "é", "=x", "..", "*", ">"}
	for _, id := range ids {
		if _, err := store.Cancel(testCtx(t), id); err != nil {
			t.Fatalf("%q: %v", id, err)
		}
	}
	for _, id := range ids {
		if task, err := store.Get(testCtx(t), id); err != nil || task.ID != id || task.State != TaskCancelled {
			t.Errorf("%q: %+v, %v", id, task, err)
		}
	}
	if taskKey("plain-ID_1") != "plain-ID_1" || taskKey("=x") == "=x" {
		t.Errorf("keys %q %q", taskKey("plain-ID_1"), taskKey("=x"))
	}
	if _, err := store.Get(testCtx(t), ""); !errors.Is(err, ErrInvalidTaskID) {
		t.Errorf("empty id: %v", err)
	}
}

func TestCancelEventValidation(t *testing.T) {
	s := jsServer(t)
	nc, js := jsConn(t, s)
	startJS(t, js, newScriptHost(nil), fastJS()...)
	ctx := testCtx(t)

	if _, err := CancelTask(ctx, nc, DefaultCancelSubject, ""); !errors.Is(err, ErrTaskRequest) {
		t.Errorf("cancel without an id: %v", err)
	}
	// A request event is no cancel.
	msg := &nats.Msg{Subject: DefaultCancelSubject, Header: binaryHeaders("r1"), Data: pngDoc}
	rep, err := nc.RequestMsgWithContext(ctx, msg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := taskFromReply(rep); !errors.Is(err, ErrTaskRequest) || rep.Header.Get(headerServiceErrorCode) != "400" {
		t.Errorf("request event on the cancel subject: %v %v", err, rep.Header)
	}
}
