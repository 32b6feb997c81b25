package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocrhost/ocrhost/events"
	"github.com/ocrhost/ocrhost/internal/testenv"
)

// hostLog collects a host process's output while the test reads it.
type hostLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *hostLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *hostLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// spawned is `ocrhost serve` running as a process (this test binary
// re-executed), so that its exit status and whole output can be checked.
type spawned struct {
	cmd     *exec.Cmd
	logs    *hostLog
	httpURL string
	done    chan struct{} // closed at exit, err set
	err     error
}

// spawnHost starts a host with env over this process's environment, less
// any NATS security setting a test of this process has set.
func spawnHost(t *testing.T, env map[string]string) *spawned {
	t.Helper()
	testenv.Models(t)
	p := &spawned{logs: &hostLog{}, done: make(chan struct{}),
		httpURL: fmt.Sprintf("http://127.0.0.1:%d", freePort(t))}
	p.cmd = exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OCRHOST_NATS_") && !strings.HasPrefix(kv, "OCRHOST_EMBEDDED_NATS_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Env = append(p.cmd.Env, "OCRHOST_TEST_RUN_MAIN=1", "OCRHOST_TEST_ARGS=serve",
		"OCRHOST_HTTP_ADDR="+strings.TrimPrefix(p.httpURL, "http://"),
		fmt.Sprintf("OCRHOST_EMBEDDED_NATS_PORT=%d", freePort(t)))
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("host log:\n%s", p.logs)
		}
	})
	return p
}

// spawnServe starts a host and waits until it is ready.
func spawnServe(t *testing.T, env map[string]string) *spawned {
	t.Helper()
	p := spawnHost(t, env)
	exited := make(chan error, 1)
	go func() {
		<-p.done
		exited <- p.err
	}()
	waitReady(t, p.httpURL, exited)
	return p
}

func (p *spawned) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait returns the exit error, failing the test if the host runs past d.
func (p *spawned) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		t.Fatalf("host still running after %v", d)
		return nil
	}
}

func TestIdleWatch(t *testing.T) {
	var loaded bool
	w := newIdleWatch(time.Minute, func() bool { return loaded })
	t0 := time.Now()
	w.since = t0
	if got := w.idleFor(t0.Add(time.Second)); got != time.Second {
		t.Errorf("idle %v after a quiet second", got)
	}
	w.begin()
	if got := w.idleFor(t0.Add(time.Hour)); got != 0 {
		t.Errorf("idle %v with a request in flight", got)
	}
	w.end()
	ended := w.since
	if !ended.After(t0) {
		t.Fatal("the end of a request did not restart the clock")
	}
	loaded = true
	if got := w.idleFor(ended.Add(time.Hour)); got != 0 {
		t.Errorf("idle %v with a model loaded", got)
	}
	loaded = false
	if got := w.idleFor(ended.Add(time.Hour + time.Second)); got != time.Second {
		t.Errorf("idle %v a second after the last model went, want 1s", got)
	}
}

// TestExitWhenIdle runs the host with OCRHOST_EXIT_WHEN_IDLE=1s and models
// unloading 2 s after use. A request whose body takes longer than a second
// to arrive keeps the host up; the models it loads keep it up for their
// idle timeout; then it drains and exits 0.
func TestExitWhenIdle(t *testing.T) {
	const modelIdle, exitIdle = 2 * time.Second, time.Second
	p := spawnServe(t, map[string]string{"OCRHOST_MODEL_IDLE_TIMEOUT": modelIdle.String(),
		"OCRHOST_EXIT_WHEN_IDLE": exitIdle.String(), "OCRHOST_LOG_LEVEL": "info"})
	body, err := json.Marshal(map[string]any{"data": sampleDoc(t), "options": map[string]any{"stages": []string{"det"}}})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.httpURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	half := len(body) / 2
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: ocrhost\r\nCe-Specversion: 1.0\r\nCe-Id: idle-1\r\nCe-Type: %s\r\n"+
		"Ce-Source: /test\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", events.TypeRequest, len(body))
	if _, err := conn.Write(body[:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(exitIdle + 600*time.Millisecond)
	if p.exited() {
		t.Fatalf("host exited while a request was arriving: %v", p.err)
	}
	if _, err := conn.Write(body[half:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	answered := time.Now()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(answer, []byte(`"lines"`)) {
		t.Fatalf("%d %.300s", resp.StatusCode, answer)
	}

	if err := p.wait(t, 30*time.Second); err != nil {
		t.Fatalf("exit %v, want 0", err)
	}
	// The models were last used just before the answer was sent.
	if after, least := time.Since(answered), modelIdle+exitIdle-500*time.Millisecond; after < least {
		t.Errorf("exited %v after the answer, want at least %v (models loaded, then idle)", after, least)
	}
	logs := p.logs.String()
	for _, want := range []string{"idle: nothing in flight and no model loaded; draining", "model unloaded", "ocrhost stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if strings.Index(logs, "model unloaded") > strings.Index(logs, "idle: nothing in flight") {
		t.Error("the host went idle before its models were unloaded")
	}
}
