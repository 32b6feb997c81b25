package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/onnx"
	"github.com/ocrhost/ocrhost/internal/testenv"
)

// A model file an operator broke (a partial copy, a bad download, the
// wrong file under the right name) is the host's fault, not the caller's:
// the invocations that need it fail internal (not retryable: the same
// request fails the same way until someone replaces the file), the host
// keeps serving what does not need it, holds no lease after the failure,
// and loads the file again on the next invocation, so that replacing it
// is enough to recover, without a restart.

// modelCopy is a private copy of the model folder whose recognition model
// a test may break and mend.
type modelCopy struct {
	files function.ModelFiles
	rec   []byte // the good recognition model
}

func copyModels(t testing.TB) *modelCopy {
	t.Helper()
	files, rec := testenv.CopyModels(t)
	return &modelCopy{files: files, rec: rec}
}

// write replaces the recognition model with data as a deployment would:
// a new file renamed over the old one.
func (c *modelCopy) write(t testing.TB, data []byte) {
	t.Helper()
	path := c.files.Path(function.KindRec)
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func (c *modelCopy) restore(t testing.TB) { c.write(t, c.rec) }

// goodVersion is the identity the host reports for the good file.
func (c *modelCopy) goodVersion() string {
	sum := sha256.Sum256(c.rec)
	return c.files.Rec + "@" + hex.EncodeToString(sum[:])[:12]
}

// corruptions are the ways a model file arrives broken.
func corruptions(good []byte) map[string][]byte {
	garbage := []byte(strings.Repeat("this is not an ONNX model\x00\xff", 256))
	return map[string][]byte{
		"garbage":   garbage,
		"truncated": good[:len(good)/2],
		"empty":     {},
	}
}

// wantModelFailure checks err is the documented failure for a broken model.
func wantModelFailure(t testing.TB, err error) {
	t.Helper()
	var f *Failure
	if !errors.As(err, &f) {
		t.Fatalf("got %v, want a *Failure", err)
	}
	if f.Code != CodeInternal || f.Code.Retryable() {
		t.Errorf("code %s (retryable %v), want internal, not retryable", f.Code, f.Code.Retryable())
	}
	if !errors.Is(err, onnx.ErrModel) {
		t.Errorf("failure does not wrap onnx.ErrModel: %v", err)
	}
	if !strings.Contains(f.Message, "rec@cpu") {
		t.Errorf("failure does not name the model: %q", f.Message)
	}
}

// checkNoLeases checks every invocation gave its models back and that the
// broken model is not loaded.
func checkNoLeases(t testing.TB, h *Host) {
	t.Helper()
	for _, s := range h.Pool().Stats() {
		if s.Refs != 0 {
			t.Errorf("%v still referenced: %d", s.Key, s.Refs)
		}
		if s.Key.Model == string(function.KindRec) && s.Loaded {
			t.Errorf("%v loaded from a broken file", s.Key)
		}
	}
}

// recLoads waits until the host has counted at least atLeast loads of the
// recognition model with result ("ok" or "error") and returns the count.
// The pool reports a load after waking its waiters, so the count may lag
// the invocation that saw the load by a moment.
func recLoads(t testing.TB, h *Host, result string, atLeast float64) float64 {
	t.Helper()
	var m dto.Metric
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if err := h.stats.loads.WithLabelValues(string(function.KindRec), "cpu", result).Write(&m); err != nil {
			t.Fatal(err)
		}
		if n := m.GetCounter().GetValue(); n >= atLeast || time.Now().After(deadline) {
			return n
		}
	}
}

// recOnly is a request that needs the recognition model alone.
func recOnly(data []byte) *Request {
	return &Request{Data: data, Options: json.RawMessage(`{"stages":["rec"]}`)}
}

func TestCorruptModelFailsThenRecovers(t *testing.T) {
	data := tinyPNG(t)
	for name, bad := range corruptions(copyModels(t).rec) {
		t.Run(name, func(t *testing.T) {
			m := copyModels(t)
			m.write(t, bad)
			h := newHost(t, WithModelFiles(m.files))

			_, err := h.Invoke(context.Background(), recOnly(data))
			wantModelFailure(t, err)
			checkNoLeases(t, h)
			// The failed load is not remembered: each invocation tries the
			// file again.
			_, err = h.Invoke(context.Background(), recOnly(data))
			wantModelFailure(t, err)
			if n := recLoads(t, h, "error", 2); n != 2 {
				t.Errorf("%v failed rec loads after two invocations, want 2", n)
			}
			checkNoLeases(t, h)

			m.restore(t)
			resp, err := h.Invoke(context.Background(), recOnly(data))
			if err != nil {
				t.Fatalf("after the file was restored: %v", err)
			}
			if resp.Models["rec"] != m.goodVersion() {
				t.Errorf("rec version %q, want %q", resp.Models["rec"], m.goodVersion())
			}
			if n := recLoads(t, h, "ok", 1); n != 1 {
				t.Errorf("%v good rec loads, want 1", n)
			}
			checkRefs(t, h)
		})
	}
}

// checkRefs checks every invocation gave its models back.
func checkRefs(t testing.TB, h *Host) {
	t.Helper()
	for _, s := range h.Pool().Stats() {
		if s.Refs != 0 {
			t.Errorf("%v still referenced: %d", s.Key, s.Refs)
		}
	}
}

// TestModelBrokenWhileWarm covers the usual operator mistake: the file is
// broken under a running host. The loaded model keeps serving; the break
// shows only when the model is loaded again, and mending the file mends
// the host.
func TestModelBrokenWhileWarm(t *testing.T) {
	m := copyModels(t)
	h := newHost(t, WithModelFiles(m.files))
	data := tinyPNG(t)
	if _, err := h.Invoke(context.Background(), recOnly(data)); err != nil {
		t.Fatal(err)
	}
	m.write(t, m.rec[:len(m.rec)/3])
	resp, err := h.Invoke(context.Background(), recOnly(data))
	if err != nil {
		t.Fatalf("warm model stopped serving when its file broke: %v", err)
	}
	if resp.Models["rec"] != m.goodVersion() {
		t.Errorf("warm rec version %q, want %q", resp.Models["rec"], m.goodVersion())
	}
	if n := h.Pool().EvictIdle(1); n != 1 {
		t.Fatalf("evicted %d models, want 1", n)
	}
	_, err = h.Invoke(context.Background(), recOnly(data))
	wantModelFailure(t, err)
	checkNoLeases(t, h)

	m.restore(t)
	resp, err = h.Invoke(context.Background(), recOnly(data))
	if err != nil {
		t.Fatalf("after the file was restored: %v", err)
	}
	if resp.Models["rec"] != m.goodVersion() {
		t.Errorf("rec version %q after restore, want %q", resp.Models["rec"], m.goodVersion())
	}
	checkRefs(t, h)
}

// TestCorruptModelConcurrentRequests sends a burst while the file is
// broken: every request that needs it fails with the same code and none
// waits for long, whether it joined another's load or started its own;
// requests for detection (and orientation) alone, which need no
// recognition model, succeed beside them.
func TestCorruptModelConcurrentRequests(t *testing.T) {
	m := copyModels(t)
	m.write(t, []byte("not a model"))
	const n = 8
	h := newHost(t, WithModelFiles(m.files), WithMaxPredictions(4),
		WithQueueTimeout(30*time.Second))
	data := tinyPNG(t)
	detOnly := []json.RawMessage{json.RawMessage(`{"stages":["det"]}`), json.RawMessage(`{"stages":["det","cls"]}`)}
	recErrs := make(chan error, n)
	detErrs := make(chan error, len(detOnly))
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req := &Request{Data: data}
			if i%2 == 1 {
				req = recOnly(data)
			}
			_, err := h.Invoke(context.Background(), req)
			recErrs <- err
		})
	}
	for _, o := range detOnly {
		wg.Go(func() {
			resp, err := h.Invoke(context.Background(), &Request{Data: data, Options: o})
			if err == nil && resp.Models["rec"] != "" {
				err = errors.New("leased rec for " + string(o))
			}
			detErrs <- err
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("invocations hang on a broken model")
	}
	close(recErrs)
	close(detErrs)
	for err := range recErrs {
		wantModelFailure(t, err)
	}
	for err := range detErrs {
		if err != nil {
			t.Errorf("detection only, rec broken: %v", err)
		}
	}
	if fails := recLoads(t, h, "error", 1); fails < 1 || fails > n {
		t.Errorf("%v failed rec loads for %d invocations", fails, n)
	}
	checkNoLeases(t, h)

	m.restore(t)
	recErrs = make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := h.Invoke(context.Background(), recOnly(data))
			recErrs <- err
		})
	}
	wg.Wait()
	close(recErrs)
	for err := range recErrs {
		if err != nil {
			t.Errorf("after the file was restored: %v", err)
		}
	}
	if n := recLoads(t, h, "ok", 1); n != 1 {
		t.Errorf("%v good rec loads for a burst, want 1", n)
	}
	checkRefs(t, h)
}
