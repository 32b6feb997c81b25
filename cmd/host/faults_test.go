package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ocrhost/ocrhost/events"
	"github.com/ocrhost/ocrhost/events/jobs"
	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/host"
	"github.com/ocrhost/ocrhost/internal/testenv"
)

// replaceFile puts data at path the way a deployment does: a new file
// renamed over the old one.
func replaceFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path+".new", data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

// faultPNG is a small blank page: cheap to run, and the recognition stage
// still loads and runs its model on it.
func faultPNG(t testing.TB) []byte {
	t.Helper()
	m := image.NewGray(image.Rect(0, 0, 64, 32))
	for i := range m.Pix {
		m.Pix[i] = 255
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var faultRecOnly = json.RawMessage(`{"stages":["rec"]}`)

// faultTask polls the task store over HTTP until the task is in state.
func faultTask(t testing.TB, httpURL, id string, state jobs.TaskState) jobs.Task {
	t.Helper()
	var task jobs.Task
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(httpURL + "/tasks/" + id)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&task)
		resp.Body.Close()
		if err == nil && task.State == state {
			return task
		}
	}
	t.Fatalf("task %s is %q, want %q", id, task.State, state)
	return task
}

// faultJob queues a job and returns its answer from the result subject.
func faultJob(t testing.TB, js jetstream.JetStream, results *nats.Subscription, doc []byte) (string, *nats.Msg) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := events.NewClient(js.Conn(), events.WithJetStream(js)).Submit(ctx, "ocr.jobs.faults", events.Document{Data: doc, ContentType: "image/png", Options: faultRecOnly})
	if err != nil {
		t.Fatal(err)
	}
	for {
		msg, err := results.NextMsg(30 * time.Second)
		if err != nil {
			t.Fatalf("no answer to job %s: %v", id, err)
		}
		if msg.Header.Get("ce-requestid") == id {
			return id, msg
		}
	}
}

// TestCorruptModelServed breaks the recognition model under a served host:
// every transport answers internal while it is broken, the host stays
// healthy and serves what does not need the model, a JetStream job is
// answered and finished (failed: the failure is final, not retried or
// dead-lettered), and putting the good file back is enough to recover.
func TestCorruptModelServed(t *testing.T) {
	files, good := testenv.CopyModels(t)
	recPath := files.Path(function.KindRec)
	replaceFile(t, recPath, good[:len(good)/2])
	th := startServe(t, map[string]string{
		"OCRHOST_MODEL_DIR":          files.Dir,
		"OCRHOST_INT8":               "none", // the copy holds the fp32 models only
		"OCRHOST_POOL_QUEUE_TIMEOUT": "10s",
	})
	nc, js, results := jobClient(t, th)
	doc := faultPNG(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	wantInternal := func(t *testing.T, code host.Code, retryable bool, message string) {
		t.Helper()
		if code != host.CodeInternal || retryable || !strings.Contains(message, "rec@cpu") {
			t.Errorf("%s (retryable %v): %q, want internal, not retryable, naming rec@cpu", code, retryable, message)
		}
	}

	t.Run("nats request-reply fails internal", func(t *testing.T) {
		_, err := events.NewClient(nc).Request(ctx, events.DefaultRequestSubject, events.Document{Data: doc, ContentType: "image/png", Options: faultRecOnly})
		var f *host.Failure
		if !errors.As(err, &f) {
			t.Fatalf("got %v, want a failure", err)
		}
		wantInternal(t, f.Code, f.Code.Retryable(), f.Message)
	})

	t.Run("http fails 500", func(t *testing.T) {
		body, _ := json.Marshal(map[string]any{"data": doc, "options": faultRecOnly})
		req, _ := http.NewRequest(http.MethodPost, th.httpURL+"/", bytes.NewReader(body))
		for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": "fault-http", "ce-type": events.TypeRequest,
			"ce-source": "/faults", "content-type": "application/json"} {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var fd events.FailureData
		if err := json.Unmarshal(b, &fd); err != nil {
			t.Fatalf("%d %.200s: %v", resp.StatusCode, b, err)
		}
		if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Ce-Type") != events.TypeFailure {
			t.Errorf("%d %s, want 500 %s", resp.StatusCode, resp.Header.Get("Ce-Type"), events.TypeFailure)
		}
		wantInternal(t, fd.Code, fd.Retryable, fd.Message)
	})

	t.Run("jetstream job is answered and finished", func(t *testing.T) {
		id, msg := faultJob(t, js, results, doc)
		if msg.Header.Get("ce-type") != events.TypeFailure {
			t.Fatalf("job answer %s %.200s", msg.Header.Get("ce-type"), msg.Data)
		}
		var fd events.FailureData
		if err := json.Unmarshal(msg.Data, &fd); err != nil {
			t.Fatal(err)
		}
		wantInternal(t, fd.Code, fd.Retryable, fd.Message)
		task := faultTask(t, th.httpURL, id, jobs.TaskFailed)
		if task.Failure == nil || task.Failure.Code != host.CodeInternal || task.Attempts != 1 {
			t.Errorf("task %+v, want failed internal after one attempt", task)
		}
		cons, err := js.Consumer(ctx, jobs.DefaultStream, jobs.DefaultConsumer)
		if err != nil {
			t.Fatal(err)
		}
		var info *jetstream.ConsumerInfo
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if info, err = cons.Info(ctx); err != nil {
				t.Fatal(err)
			}
			if info.NumAckPending == 0 && info.NumPending == 0 {
				break
			}
		}
		if info.NumAckPending != 0 || info.NumPending != 0 {
			t.Errorf("job not acked: %d pending, %d unacked", info.NumPending, info.NumAckPending)
		}
		dead, err := js.Stream(ctx, jobs.DefaultDeadLetterStream)
		if err != nil {
			t.Fatal(err)
		}
		if si, err := dead.Info(ctx); err != nil || si.State.Msgs != 0 {
			t.Errorf("dead letters: %v %+v, want none for a final failure", err, si)
		}
	})

	t.Run("host stays up and serves detection", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz"} {
			resp, err := http.Get(th.httpURL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s %d with a broken model, want 200", path, resp.StatusCode)
			}
		}
		resp, err := events.NewClient(nc).Request(ctx, events.DefaultRequestSubject, events.Document{Data: doc, ContentType: "image/png", Options: json.RawMessage(`{"stages":["det","cls"]}`)})
		if err != nil {
			t.Fatalf("detection with rec broken: %v", err)
		}
		if _, ok := resp.Models["rec"]; ok {
			t.Errorf("detection leased rec: %v", resp.Models)
		}
		m, err := http.Get(th.httpURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(m.Body)
		m.Body.Close()
		if want := `ocrhost_model_loads_total{device="cpu",model="rec",result="error"}`; !bytes.Contains(b, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	})

	replaceFile(t, recPath, good)

	t.Run("restored file serves without a restart", func(t *testing.T) {
		resp, err := events.NewClient(nc).Request(ctx, events.DefaultRequestSubject, events.Document{Data: doc, ContentType: "image/png", Options: faultRecOnly})
		if err != nil {
			t.Fatalf("after the file was restored: %v", err)
		}
		if resp.Models["rec"] == "" {
			t.Errorf("no rec model in %v", resp.Models)
		}
		id, msg := faultJob(t, js, results, doc)
		if msg.Header.Get("ce-type") != events.TypeResult {
			t.Fatalf("job answer after restore: %s %.200s", msg.Header.Get("ce-type"), msg.Data)
		}
		faultTask(t, th.httpURL, id, jobs.TaskCompleted)
	})
}
