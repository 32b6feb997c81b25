package jobs

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ocrhost/ocrhost/auth"
	"github.com/ocrhost/ocrhost/events/internal/eventstest"
	"github.com/ocrhost/ocrhost/events/internal/wire"
	"github.com/ocrhost/ocrhost/host"
)

// as serves h to every request as principal p.
func as(p auth.Principal, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), p)))
	})
}

// unsubscribe ends subs with the test.
func unsubscribe(t *testing.T, subs []*nats.Subscription, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, s := range subs {
			s.Unsubscribe()
		}
	})
}

// TestTasksOnlyForTheirOwner queues a job for one principal and asks for
// its task as each kind of caller: only the owner and admins find it, the
// others get what an unknown id gets.
func TestTasksOnlyForTheirOwner(t *testing.T) {
	s := jsServer(t)
	nc, js := jsConn(t, s)
	w := startJS(t, js, newScriptHost(nil), append(fastJS(), WithKeepResults(false))...)
	results := subscribe(t, nc, DefaultResultSubject)
	ctx := eventstest.Ctx(t)
	id, err := submitJob(ctx, js, jobSubject, eventstest.PNG, "image/png", nil, WithOwner("alice"))
	if err != nil {
		t.Fatal(err)
	}
	jobAnswer(t, eventstest.Recv(t, results), id)
	eventually(t, "the task to complete", func() bool { return getTask(t, w.Tasks(), id).State == TaskCompleted })
	if task := getTask(t, w.Tasks(), id); task.Owner != "alice" || len(task.Result) > 0 || task.ResultRef != nil {
		t.Errorf("task %+v: want owner alice and no result kept", task)
	}

	status := func(h http.Handler, path string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code
	}
	for name, tc := range map[string]struct {
		h    http.Handler
		want int
	}{
		"owner":        {as(auth.Principal{Name: "alice"}, w.Tasks().Handler()), http.StatusOK},
		"admin":        {as(auth.Principal{Name: "ops", Admin: true}, w.Tasks().Handler()), http.StatusOK},
		"another":      {as(auth.Principal{Name: "bob"}, w.Tasks().Handler()), http.StatusNotFound},
		"anonymous":    {as(auth.Principal{}, w.Tasks().Handler()), http.StatusNotFound},
		"no principal": {w.Tasks().Handler(), http.StatusNotFound},
	} {
		if got := status(tc.h, "/tasks/"+id); got != tc.want {
			t.Errorf("%s: %d, want %d", name, got, tc.want)
		}
	}

	subs, err := w.Tasks().ServeNATS(nc, DefaultTaskQuerySubject, "")
	unsubscribe(t, subs, err)
	query := func(owner, subject string, data []byte) *nats.Msg {
		m := nats.NewMsg(subject)
		m.Header.Set(HeaderOwner, owner)
		m.Data = data
		rep, err := nc.RequestMsg(m, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := query("bob", DefaultTaskQuerySubject, []byte(id)); rep.Header.Get(headerServiceErrorCode) != "404" || len(rep.Data) > 0 {
		t.Errorf("NATS query for another principal: %v %s", rep.Header, rep.Data)
	}
	if rep := query("alice", DefaultTaskQuerySubject, []byte(id)); rep.Header.Get(headerServiceErrorCode) != "" {
		t.Errorf("NATS query for the owner: %v", rep.Header)
	}
	cancel := func(owner, id string) *nats.Msg {
		e, err := wire.NewRequest("c-"+owner+id, []byte(`{"id":"`+id+`"}`), "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		e.SetType(TypeCancel)
		msg, err := wire.EncodeNATS(ctx, &e, false)
		if err != nil {
			t.Fatal(err)
		}
		msg.Subject = DefaultCancelSubject
		msg.Header.Set(HeaderOwner, owner)
		rep, err := nc.RequestMsg(msg, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := cancel("bob", id); rep.Header.Get(headerServiceErrorCode) != "404" || len(rep.Data) > 0 {
		t.Errorf("cancel for another principal: %v", rep.Header)
	}
	if rep := cancel("bob", "never-queued"); rep.Header.Get(headerServiceErrorCode) != "404" {
		t.Errorf("cancel of an unknown id for a principal: %v", rep.Header)
	}
	if rep := cancel("alice", id); rep.Header.Get(headerServiceErrorCode) != "409" {
		t.Errorf("cancel of a completed task by its owner: %v", rep.Header)
	}
}

func TestTaskQueries(t *testing.T) {
	s := jsServer(t)
	nc, js := jsConn(t, s)
	w := startJS(t, js, newScriptHost(nil), fastJS()...)
	results := subscribe(t, nc, DefaultResultSubject)
	ctx := eventstest.Ctx(t)

	id, err := submitJob(ctx, js, jobSubject, eventstest.PNG, "image/png", nil)
	if err != nil {
		t.Fatal(err)
	}
	jobAnswer(t, eventstest.Recv(t, results), id)
	eventually(t, "the task to complete", func() bool { return getTask(t, w.Tasks(), id).State == TaskCompleted })

	srv := httptest.NewServer(as(auth.Principal{Name: "ops", Admin: true}, w.Tasks().Handler()))
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

	subs, err := w.Tasks().ServeNATS(nc, DefaultTaskQuerySubject, DefaultQueueGroup)
	unsubscribe(t, subs, err)
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
	store, err := OpenTaskStore(eventstest.Ctx(t), js, WithTaskBucket("ids"), WithTaskTTL(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"plain-ID_1", "a.b", "with space/and:colon", "é", "=x", "..", "*", ">"}
	for _, id := range ids {
		if _, err := store.Cancel(eventstest.Ctx(t), id); err != nil {
			t.Fatalf("%q: %v", id, err)
		}
	}
	for _, id := range ids {
		if task, err := store.Get(eventstest.Ctx(t), id); err != nil || task.ID != id || task.State != TaskCancelled {
			t.Errorf("%q: %+v, %v", id, task, err)
		}
	}
	if k := (taskRef{id: "plain-ID_1"}).key(); k != "plain-ID_1" {
		t.Errorf("key %q", k)
	}
	if k := (taskRef{id: "=x"}).key(); k == "=x" {
		t.Errorf("key %q", k)
	}
	if k := (taskRef{owner: "a.b", id: "c"}).key(); strings.Count(k, ".") != 1 || ownerOfKeyPart(k[:strings.IndexByte(k, '.')]) != "a.b" {
		t.Errorf("owned key %q", k)
	}
	if _, err := store.Get(eventstest.Ctx(t), ""); !errors.Is(err, ErrInvalidTaskID) {
		t.Errorf("empty id: %v", err)
	}
}

func TestCancelEventValidation(t *testing.T) {
	s := jsServer(t)
	nc, js := jsConn(t, s)
	startJS(t, js, newScriptHost(nil), fastJS()...)
	ctx := eventstest.Ctx(t)

	if _, err := CancelTask(ctx, nc, DefaultCancelSubject, ""); !errors.Is(err, ErrTaskRequest) {
		t.Errorf("cancel without an id: %v", err)
	}
	// A request event is no cancel.
	msg := &nats.Msg{Subject: DefaultCancelSubject, Header: eventstest.BinaryHeaders("r1"), Data: eventstest.PNG}
	rep, err := nc.RequestMsgWithContext(ctx, msg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := taskFromReply(rep); !errors.Is(err, ErrTaskRequest) || rep.Header.Get(headerServiceErrorCode) != "400" {
		t.Errorf("request event on the cancel subject: %v %v", err, rep.Header)
	}
}

// TestTaskIDsApartByOwner queues two jobs with the same id for different
// principals, one of them a tenant named by its subject whose header
// claims another principal: each gets its own task, found by its owner
// only, and an admin must name the owner to tell them apart.
func TestTaskIDsApartByOwner(t *testing.T) {
	s := jsServer(t)
	nc, js := jsConn(t, s)
	w := startJS(t, js, newScriptHost(nil), append(fastJS(), WithTenants("alice"))...)
	results := subscribe(t, nc, DefaultResultSubject)
	ctx := eventstest.Ctx(t)
	const id = "payslip-7"
	for _, job := range []struct{ subject, header string }{
		{"ocr.jobs.alice.scan", "bob"}, // the subject names a tenant: the header is not believed
		{jobSubject, "bob"},
	} {
		msg := &nats.Msg{Subject: job.subject, Header: eventstest.BinaryHeaders(id), Data: eventstest.PNG}
		msg.Header.Set(HeaderOwner, job.header)
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
		jobAnswer(t, eventstest.Recv(t, results), id)
	}
	for _, owner := range []string{"alice", "bob"} {
		task, err := w.Tasks().Lookup(ctx, owner, id)
		if err != nil || task.Owner != owner || task.State != TaskCompleted || task.Attempts != 1 {
			t.Errorf("%s's task: %+v, %v", owner, task, err)
		}
	}
	if _, err := w.Tasks().Lookup(ctx, "carol", id); !errors.Is(err, ErrTaskNotFound) {
		t.Errorf("carol's lookup: %v, want %v", err, ErrTaskNotFound)
	}
	if _, err := w.Tasks().Get(ctx, id); !errors.Is(err, ErrTaskAmbiguous) {
		t.Errorf("an admin's lookup of a shared id: %v, want %v", err, ErrTaskAmbiguous)
	}
	rec := httptest.NewRecorder()
	as(auth.Principal{Name: "ops", Admin: true}, w.Tasks().Handler()).ServeHTTP(rec, httptest.NewRequest("GET", "/tasks/"+id+"?owner=alice", nil))
	var task Task
	if err := json.Unmarshal(rec.Body.Bytes(), &task); rec.Code != http.StatusOK || err != nil || task.Owner != "alice" {
		t.Errorf("an admin naming the owner: %d %s", rec.Code, rec.Body)
	}

	// Queries on subject.<principal> act for that principal.
	subs, err := w.Tasks().ServeNATS(nc, DefaultTaskQuerySubject, "")
	unsubscribe(t, subs, err)
	if got, err := QueryTask(ctx, nc, DefaultTaskQuerySubject+".alice", id); err != nil || got.Owner != "alice" {
		t.Errorf("query as alice: %+v, %v", got, err)
	}
	if _, err := QueryTask(ctx, nc, DefaultTaskQuerySubject+".carol", id); !errors.Is(err, ErrTaskNotFound) {
		t.Errorf("query as carol: %v", err)
	}
	if _, err := CancelTask(ctx, nc, DefaultCancelSubject+".bob", id); !errors.Is(err, ErrTaskFinished) {
		t.Errorf("bob cancels his finished task: %v", err)
	}
}
