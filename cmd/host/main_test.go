package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ocrhost/ocrhost/events"
	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/host"
	"github.com/ocrhost/ocrhost/internal/testenv"
)

// The test binary doubles as the host binary for the signal test.
func TestMain(m *testing.M) {
	if os.Getenv("OCRHOST_TEST_RUN_MAIN") == "1" {
		os.Args = append([]string{"ocrhost"}, strings.Fields(os.Getenv("OCRHOST_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type testHost struct {
	natsURL, httpURL string
	done             chan error
	cancel           context.CancelFunc
}

// startServe runs serve in-process with the given environment.
func startServe(t testing.TB, env map[string]string) *testHost {
	t.Helper()
	testenv.Models(t) // skips without assets
	natsPort, httpPort := freePort(t), freePort(t)
	base := map[string]string{
		"OCRHOST_EMBEDDED_NATS_PORT": fmt.Sprint(natsPort),
		"OCRHOST_HTTP_ADDR":          fmt.Sprintf("127.0.0.1:%d", httpPort),
		"OCRHOST_LOG_LEVEL":          "warn",
	}
	for k, v := range env {
		base[k] = v
	}
	for k, v := range base {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	th := &testHost{
		natsURL: fmt.Sprintf("nats://127.0.0.1:%d", natsPort),
		httpURL: fmt.Sprintf("http://127.0.0.1:%d", httpPort),
		done:    make(chan error, 1),
		cancel:  cancel,
	}
	go func() { th.done <- serve(ctx, nil) }()
	waitReady(t, th.httpURL, th.done)
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-th.done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("serve did not return after cancel")
		}
	})
	return th
}

// jobClient connects to a served host's NATS, with JetStream and a
// subscription to the result subject; all are closed at cleanup.
func jobClient(t testing.TB, th *testHost) (*nats.Conn, jetstream.JetStream, *nats.Subscription) {
	t.Helper()
	nc, err := nats.Connect(th.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	results, err := nc.SubscribeSync(events.DefaultResultSubject)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js, results
}

func waitReady(t testing.TB, httpURL string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v", err)
		default:
		}
		resp, err := http.Get(httpURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("host not ready in 30 s")
}

func sampleDoc(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "testdata", "sample", "phototest.tif"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

const sampleWords = "quick brown dog"

func TestEndToEnd(t *testing.T) {
	th := startServe(t, nil)
	doc := sampleDoc(t)
	nc, err := nats.Connect(th.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("nats request-reply", func(t *testing.T) {
		resp, err := events.NewClient(nc).Request(ctx, events.DefaultRequestSubject, events.Document{Data: doc, ContentType: "image/tiff"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(resp.Text, sampleWords) {
			t.Errorf("text %q", resp.Text)
		}
	})

	t.Run("nats request-reply with options", func(t *testing.T) {
		resp, err := events.NewClient(nc).Request(ctx, events.DefaultRequestSubject, events.Document{Data: doc, ContentType: "image/tiff", Options: json.RawMessage(`{"stages":["det"]}`)})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Lines) < 8 || resp.Lines[0].Text != "" {
			t.Errorf("detection only: %d lines, first %q", len(resp.Lines), resp.Lines[0].Text)
		}
	})

	t.Run("nats publish then result", func(t *testing.T) {
		sub, err := nc.SubscribeSync(events.DefaultResultSubject)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
		msg := nats.NewMsg(events.DefaultRequestSubject)
		for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": "pub-1", "ce-type": events.TypeRequest,
			"ce-source": "/test", "ce-subject": "invoice-7", "content-type": "image/tiff"} {
			msg.Header.Set(k, v)
		}
		msg.Data = doc
		if err := nc.PublishMsg(msg); err != nil {
			t.Fatal(err)
		}
		res, err := sub.NextMsg(time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Header.Get("ce-requestid"); got != "pub-1" {
			t.Errorf("requestid %q", got)
		}
		if got := res.Header.Get("ce-subject"); got != "invoice-7" {
			t.Errorf("subject %q", got)
		}
		if res.Header.Get("ce-type") != events.TypeResult || !bytes.Contains(res.Data, []byte(sampleWords)) {
			t.Errorf("result %s %s", res.Header.Get("ce-type"), res.Data)
		}
	})

	post := func(t *testing.T, body []byte, headers map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("POST", th.httpURL+"/", bytes.NewReader(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}

	t.Run("http binary", func(t *testing.T) {
		resp, body := post(t, doc, map[string]string{"ce-specversion": "1.0", "ce-id": "h1", "ce-type": events.TypeRequest,
			"ce-source": "/test", "content-type": "image/tiff"})
		if resp.StatusCode != 200 || resp.Header.Get("ce-type") != events.TypeResult || !bytes.Contains(body, []byte(sampleWords)) {
			t.Errorf("%d %s %.200s", resp.StatusCode, resp.Header.Get("ce-type"), body)
		}
	})

	t.Run("http with Accept and nats with the format option", func(t *testing.T) {
		resp, body := post(t, doc, map[string]string{"ce-specversion": "1.0", "ce-id": "h3", "ce-type": events.TypeRequest,
			"ce-source": "/test", "content-type": "image/tiff", "accept": "application/alto+xml"})
		if resp.StatusCode != 200 || resp.Header.Get("content-type") != "application/alto+xml" || !bytes.Contains(body, []byte(`<String `)) {
			t.Errorf("%d %s %.200s", resp.StatusCode, resp.Header.Get("content-type"), body)
		}
		out, err := events.NewClient(nc).Request(ctx, events.DefaultRequestSubject, events.Document{Data: doc, ContentType: "image/tiff", Options: json.RawMessage(`{"format":"hocr"}`)})
		if err != nil || out.OutputType != "application/xhtml+xml" || !bytes.Contains(out.Output, []byte(`class="ocrx_word"`)) {
			t.Errorf("hOCR over NATS: %v %s %.200s", err, out.OutputType, out.Output)
		}
	})

	t.Run("http structured", func(t *testing.T) {
		ev, _ := json.Marshal(map[string]any{"specversion": "1.0", "id": "h2", "type": events.TypeRequest, "source": "/test",
			"datacontenttype": "image/tiff", "data_base64": base64.StdEncoding.EncodeToString(doc)})
		resp, body := post(t, ev, map[string]string{"content-type": "application/cloudevents+json"})
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte(sampleWords)) {
			t.Errorf("%d %.200s", resp.StatusCode, body)
		}
	})

	t.Run("malformed events get failures and the host keeps serving", func(t *testing.T) {
		resp, body := post(t, []byte("not an event"), map[string]string{"content-type": "text/plain"})
		if resp.StatusCode != 400 || !bytes.Contains(body, []byte(host.CodeInvalidInput)) {
			t.Errorf("http: %d %s", resp.StatusCode, body)
		}
		rep, err := nc.Request(events.DefaultRequestSubject, []byte("{not json"), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(rep.Data, []byte(host.CodeInvalidInput)) {
			t.Errorf("nats: %s", rep.Data)
		}
		if _, err := events.NewClient(nc).Request(ctx, events.DefaultRequestSubject, events.Document{Data: doc}); err != nil {
			t.Errorf("host stopped serving after bad input: %v", err)
		}
	})

	t.Run("jetstream job, result and task state", func(t *testing.T) {
		sub, err := nc.SubscribeSync(events.DefaultResultSubject)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		id, err := events.NewClient(js.Conn(), events.WithJetStream(js)).Submit(ctx, "ocr.jobs.scan", events.Document{Data: doc, ContentType: "image/tiff"})
		if err != nil {
			t.Fatal(err)
		}
		for {
			res, err := sub.NextMsg(time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if res.Header.Get("ce-requestid") != id {
				continue
			}
			if res.Header.Get("ce-type") != events.TypeResult || !bytes.Contains(res.Data, []byte(sampleWords)) {
				t.Errorf("job answer %s %.200s", res.Header.Get("ce-type"), res.Data)
			}
			break
		}
		var task struct{ State string }
		for deadline := time.Now().Add(10 * time.Second); task.State != "completed" && time.Now().Before(deadline); {
			resp, err := http.Get(th.httpURL + "/tasks/" + id)
			if err != nil {
				t.Fatal(err)
			}
			json.NewDecoder(resp.Body).Decode(&task)
			resp.Body.Close()
			time.Sleep(50 * time.Millisecond)
		}
		if task.State != "completed" {
			t.Errorf("task %s state %q, want completed", id, task.State)
		}
	})

	t.Run("metrics and memory report", func(t *testing.T) {
		resp, err := http.Get(th.httpURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{"ocrhost_models_loaded 3", `ocrhost_invocations_total{code="ok"}`, "ocrhost_pool_leases_in_use"} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("metrics lack %q", want)
			}
		}
		resp, err = http.Get(th.httpURL + "/debug/memory")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		checkMemorySchema(t, body)
		var report struct {
			Memory struct {
				RSS uint64 `json:"rss"`
			} `json:"memory"`
			Models []struct {
				Model string `json:"model"`
			} `json:"models"`
		}
		if err := json.Unmarshal(body, &report); err != nil {
			t.Fatal(err)
		}
		if report.Memory.RSS == 0 || len(report.Models) != 3 {
			t.Errorf("memory report %+v", report)
		}
	})
}

func TestConfigValidation(t *testing.T) {
	for k, v := range map[string]string{
		"OCRHOST_MAX_PREDICTIONS":    "0",
		"OCRHOST_MODEL_IDLE_TIMEOUT": "-1s",
		"OCRHOST_DEVICE":             "tpu",
		"OCRHOST_MEMORY_BUDGET":      "lots",
		"OCRHOST_DEFAULT_OPTIONS":    `{"stages":["ocr"]}`,
		"OCRHOST_INT8":               "rec,lm",
	} {
		t.Run(k, func(t *testing.T) {
			t.Setenv(k, v)
			_, err := loadConfig()
			if err == nil || !strings.Contains(err.Error(), k) {
				t.Errorf("%s=%s: %v, want an error naming it", k, v, err)
			}
		})
	}
	t.Run("not a duration", func(t *testing.T) {
		t.Setenv("OCRHOST_POOL_QUEUE_TIMEOUT", "soon")
		if _, err := loadConfig(); err == nil {
			t.Error("want an error")
		}
	})
	t.Run("PORT wins for Knative", func(t *testing.T) {
		t.Setenv("PORT", "9191")
		c, err := loadConfig()
		if err != nil || c.HTTPAddr != ":9191" {
			t.Errorf("%v %q", err, c.HTTPAddr)
		}
	})
	t.Run("ONNX Runtime cache", func(t *testing.T) {
		for v, want := range map[string]string{"off": "", "/c": "/c"} {
			t.Setenv("OCRHOST_ORT_CACHE_DIR", v)
			if c, err := loadConfig(); err != nil || c.ortCacheDir() != want {
				t.Errorf("OCRHOST_ORT_CACHE_DIR=%q: %q, %v; want %q", v, c.ortCacheDir(), err, want)
			}
		}
		t.Setenv("OCRHOST_ORT_CACHE_DIR", "")
		if c, _ := loadConfig(); !strings.HasSuffix(c.ortCacheDir(), filepath.Join("ocrhost", "ort")) {
			t.Errorf("default cache %q, want the user cache folder's ocrhost/ort", c.ortCacheDir())
		}
	})
	t.Run("int8 models", func(t *testing.T) {
		for v, int8 := range map[string][]function.Kind{"": function.DefaultInt8, "none": nil, "det,rec": {function.KindDet, function.KindRec}} {
			t.Setenv("OCRHOST_INT8", v)
			c, err := loadConfig()
			if err != nil {
				t.Fatal(err)
			}
			f, err := modelFiles("/m", c.Int8)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range function.Kinds {
				want := function.DefaultModelFiles("/m").Path(k)
				if slices.Contains(int8, k) {
					want = function.DefaultModelFiles("/m").Int8(k).Path(k)
				}
				if f.Path(k) != want {
					t.Errorf("OCRHOST_INT8=%q: %s model %s, want %s", v, k, f.Path(k), want)
				}
			}
		}
	})
	t.Run("deployment options", func(t *testing.T) {
		t.Setenv("OCRHOST_DEFAULT_OPTIONS", `{"stages":["det"],"dpi":150,"batch_size":4,"format":"tsv"}`)
		c, err := loadConfig()
		if err != nil {
			t.Fatal(err)
		}
		o, err := c.defaults()
		if err != nil || !o.Stages.Detect || o.Stages.Recognize || o.Stages.Classify || o.Document.DPI != 150 || o.Document.BatchSize != 4 {
			t.Errorf("defaults %+v, %v", o, err)
		}
		if f := c.defaultFormat(); f != "tsv" {
			t.Errorf("default format %q", f)
		}
	})
	t.Run("defaults are the seed's", func(t *testing.T) {
		c, err := loadConfig()
		if err != nil {
			t.Fatal(err)
		}
		if c.MaxPredictions != 2 || c.ModelIdleTimeout != 300*time.Second || c.PoolQueueTimeout != 60*time.Second {
			t.Errorf("%+v", c)
		}
		if c.ArenaKeep != host.DefaultArenaKeep {
			t.Errorf("OCRHOST_ARENA_KEEP defaults to %s, the seed benchmarks measure host.DefaultArenaKeep %s", c.ArenaKeep, host.DefaultArenaKeep)
		}
	})
}

// TestSIGTERMFinishesInFlightWork runs the real binary (this test binary
// re-executed), sends a request, signals SIGTERM while it runs, and expects
// the answer and a clean exit.
func TestSIGTERMFinishesInFlightWork(t *testing.T) {
	testenv.Models(t)
	natsPort, httpPort := freePort(t), freePort(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Env = append(os.Environ(), "OCRHOST_TEST_RUN_MAIN=1", "OCRHOST_TEST_ARGS=serve",
		fmt.Sprintf("OCRHOST_EMBEDDED_NATS_PORT=%d", natsPort),
		fmt.Sprintf("OCRHOST_HTTP_ADDR=127.0.0.1:%d", httpPort))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waitReady(t, fmt.Sprintf("http://127.0.0.1:%d", httpPort), exited)
	nc, err := nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", natsPort))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	answer := make(chan error, 1)
	var resp *host.Response
	go func() {
		var err error
		resp, err = events.NewClient(nc).Request(context.Background(), events.DefaultRequestSubject, events.Document{Data: sampleDoc(t)})
		answer <- err
	}()
	// The first request loads three models and runs for over a second.
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-answer:
		if err != nil {
			t.Fatalf("in-flight request failed: %v\n%s", err, logs.String())
		}
		if !strings.Contains(resp.Text, sampleWords) {
			t.Errorf("text %q", resp.Text)
		}
	case <-time.After(time.Minute):
		t.Fatal("no answer")
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatal("host did not exit after SIGTERM")
	}
	for _, want := range []string{"draining", "model unloaded", "ocrhost stopped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

// checkMemorySchema validates a memory report against
// events/memory.schema.json, which allows snake_case keys only.
func checkMemorySchema(t *testing.T, report []byte) {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile(filepath.Join(testenv.RepoRoot(t), "events", "memory.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(report))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("memory report does not match events/memory.schema.json: %v\n%s", err, report)
	}
}

// On SIGTERM with a quiet period, /readyz fails at once while the host
// still serves, and the listener closes only after the period.
func TestDrainQuietPeriod(t *testing.T) {
	testenv.Models(t)
	natsPort, httpPort := freePort(t), freePort(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Env = append(os.Environ(), "OCRHOST_TEST_RUN_MAIN=1", "OCRHOST_TEST_ARGS=serve",
		fmt.Sprintf("OCRHOST_EMBEDDED_NATS_PORT=%d", natsPort),
		fmt.Sprintf("OCRHOST_HTTP_ADDR=127.0.0.1:%d", httpPort), "OCRHOST_DRAIN_QUIET_PERIOD=2s")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	waitReady(t, base, exited)
	status := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	signalled := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for status("/readyz") != http.StatusServiceUnavailable {
		if time.Since(signalled) > time.Second {
			t.Fatalf("/readyz still ready 1s after SIGTERM\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := status("/healthz"); got != http.StatusOK {
		t.Errorf("/healthz answered %d during the quiet period, want 200 (the listener must stay open)", got)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, logs.String())
		}
		if d := time.Since(signalled); d < 2*time.Second {
			t.Errorf("exited %v after SIGTERM, before the 2s quiet period ended", d)
		}
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatal("host did not exit after SIGTERM")
	}
}

// TestGOGCLeftToTheEnvironment: a GOGC in the environment keeps the host
// from setting its own collector target.
func TestGOGCLeftToTheEnvironment(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	files := testenv.Models(t)
	for _, gogc := range []string{"", "150"} {
		t.Setenv("GOGC", gogc) // restored after the test
		if gogc == "" {
			os.Unsetenv("GOGC")
		}
		debug.SetGCPercent(100) // what the runtime took from the environment
		h, err := host.New(append(hostGC(), host.WithModelFiles(files))...)
		if err != nil {
			t.Fatal(err)
		}
		got := debug.SetGCPercent(100)
		if want := map[string]int{"": 25, "150": 100}[gogc]; got != want {
			t.Errorf("GOGC=%q: collector at %d, want %d", gogc, got, want)
		}
		_ = h.Shutdown(context.Background())
	}
}
