package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/imgproc"
	"github.com/ocrhost/ocrhost/internal/testenv"
	"github.com/ocrhost/ocrhost/memory"
)

func sample(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "testdata", "sample", "phototest.tif"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func newHost(t testing.TB, opts ...Option) *Host {
	t.Helper()
	files := testenv.Models(t)
	h, err := New(append([]Option{WithModelFiles(files)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return h
}

func loads(h *Host) map[string]int {
	m := map[string]int{}
	for _, s := range h.Pool().Stats() {
		m[s.Key.Model] = s.Loads
	}
	return m
}

func TestInvokeReadsSample(t *testing.T) {
	h := newHost(t)
	resp, err := h.Invoke(context.Background(), &Request{ID: "r1", Data: sample(t), ContentType: "image/tiff"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.ID != "r1" || resp.Device != "cpu" || len(resp.Models) != 3 {
		t.Errorf("response metadata: id %q device %q models %v", resp.ID, resp.Device, resp.Models)
	}
	if !bytes.Contains([]byte(resp.Text), []byte("quick brown dog")) {
		t.Errorf("sample text not read: %q", resp.Text)
	}
	if resp.Timings.Decode <= 0 || resp.Timings.DetInfer <= 0 || resp.Timings.Total < resp.Timings.DetInfer {
		t.Errorf("timings not filled: %+v", resp.Timings)
	}
}

func TestConcurrentFirstRequestsLoadOnce(t *testing.T) {
	h := newHost(t, WithMaxPredictions(4))
	data := sample(t)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := h.Invoke(context.Background(), &Request{Data: data})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for _, k := range function.Kinds {
		if n := loads(h)[string(k)]; n != 1 {
			t.Errorf("%s loaded %d times, want 1", k, n)
		}
	}
}

func TestIdleEvictionUnloadsAndReloads(t *testing.T) {
	probe, err := memory.NewProbe()
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	h := newHost(t, WithIdleTimeout(300*time.Millisecond), WithMemoryProbe(probe.RSS))
	data := sample(t)
	memory.Release()
	before := probe.RSS()
	if _, err := h.Invoke(context.Background(), &Request{Data: data}); err != nil {
		t.Fatal(err)
	}
	loaded := probe.RSS()
	if h.Pool().Loaded() != 3 {
		t.Fatalf("%d models loaded after an invocation, want 3", h.Pool().Loaded())
	}
	deadline := time.Now().Add(10 * time.Second)
	for !h.Unloaded() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := h.Pool().Loaded(); n != 0 {
		t.Fatalf("%d models still loaded after the idle timeout", n)
	}
	memory.Release()
	after := probe.RSS()
	t.Logf("RSS before %s, loaded %s, after eviction %s", memory.FormatBytes(before), memory.FormatBytes(loaded), memory.FormatBytes(after))
	if after >= loaded || loaded-after < (loaded-before)/2 {
		t.Errorf("RSS did not fall after eviction: before %d, loaded %d, after %d", before, loaded, after)
	}
	resp, err := h.Invoke(context.Background(), &Request{Data: data})
	if err != nil {
		t.Fatalf("reload after eviction: %v", err)
	}
	if len(resp.Lines) == 0 || loads(h)["det"] != 2 {
		t.Errorf("after reload: %d lines, det loads %d (want 2)", len(resp.Lines), loads(h)["det"])
	}
}

// blockingRun stands in for function.Run to hold slots open and count how
// many run at once.
type blockingRun struct {
	release      chan struct{}
	running, max atomic.Int64
}

func (b *blockingRun) run(ctx context.Context, _ function.Models, img *imgproc.Image, _ function.Options) (*function.Result, error) {
	n := b.running.Add(1)
	defer b.running.Add(-1)
	for {
		m := b.max.Load()
		if n <= m || b.max.CompareAndSwap(m, n) {
			break
		}
	}
	select {
	case <-b.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &function.Result{Width: img.W, Height: img.H}, nil
}

func tinyPNG(t testing.TB) []byte {
	img := image.NewGray(image.Rect(0, 0, 40, 40))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	img.Set(5, 5, color.Gray{})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestConcurrencyCapAndBusy(t *testing.T) {
	h := newHost(t, WithMaxPredictions(2), WithQueueTimeout(200*time.Millisecond))
	b := &blockingRun{release: make(chan struct{})}
	h.runFn = b.run
	data := tinyPNG(t)
	const n = 8
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			_, err := h.Invoke(context.Background(), &Request{Data: data})
			errs <- err
		}()
	}
	busy := 0
	for i := 0; i < n-2; i++ {
		err := <-errs
		if AsFailure(err).Code != CodeBusy {
			t.Fatalf("queued invocation: %v, want busy", err)
		}
		busy++
	}
	deadline := time.Now().Add(30 * time.Second)
	for b.running.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	close(b.release)
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := b.max.Load(); got != 2 {
		t.Errorf("%d invocations ran at once, cap 2", got)
	}
	if busy != n-2 {
		t.Errorf("%d busy, want %d", busy, n-2)
	}
}

func TestPanicBecomesInternalFailure(t *testing.T) {
	h := newHost(t)
	h.runFn = func(context.Context, function.Models, *imgproc.Image, function.Options) (*function.Result, error) {
		panic("boom")
	}
	_, err := h.Invoke(context.Background(), &Request{Data: tinyPNG(t)})
	if f := AsFailure(err); f.Code != CodeInternal {
		t.Fatalf("panic gave %v, want internal", err)
	}
	h.runFn = function.Run
	if _, err := h.Invoke(context.Background(), &Request{Data: tinyPNG(t)}); err != nil {
		t.Fatalf("host did not recover after a panic: %v", err)
	}
	for _, s := range h.Pool().Stats() {
		if s.Refs != 0 {
			t.Errorf("%v still referenced after the invocations: %d", s.Key, s.Refs)
		}
	}
}

func TestBadInputCodes(t *testing.T) {
	h := newHost(t)
	data := tinyPNG(t)
	for _, c := range []struct {
		name string
		req  Request
		code Code
	}{
		{"empty", Request{}, CodeInvalidInput},
		{"garbage", Request{Data: []byte("hello, not an image")}, CodeUnsupportedFormat},
		{"truncated png", Request{Data: data[:len(data)/2]}, CodeInvalidInput},
		{"unknown content type", Request{Data: data, ContentType: "application/pdf+zip"}, CodeUnsupportedFormat},
		{"content type mismatch", Request{Data: data, ContentType: "image/jpeg"}, CodeInvalidInput},
		{"unknown option", Request{Data: data, Options: json.RawMessage(`{"colour":"red"}`)}, CodeInvalidInput},
		{"option of the wrong type", Request{Data: data, Options: json.RawMessage(`{"box_thresh":"high"}`)}, CodeInvalidInput},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := h.Invoke(context.Background(), &c.req)
			var f *Failure
			if !errors.As(err, &f) || f.Code != c.code {
				t.Errorf("got %v, want %s", err, c.code)
			}
		})
	}
	small := newHost(t, WithMaxPixels(100))
	if _, err := small.Invoke(context.Background(), &Request{Data: data}); AsFailure(err).Code != CodeTooLarge {
		t.Errorf("over the pixel limit: %v, want too_large", err)
	}
}

// startBlocked returns a host (not shut down by the test's cleanup) with
// one invocation running and held inside the function until b.release
// closes; done receives its result.
func startBlocked(t *testing.T) (*Host, *blockingRun, <-chan error) {
	t.Helper()
	files := testenv.Models(t)
	h, err := New(WithModelFiles(files))
	if err != nil {
		t.Fatal(err)
	}
	b := &blockingRun{release: make(chan struct{})}
	h.runFn = b.run
	done := make(chan error, 1)
	go func() {
		_, err := h.Invoke(context.Background(), &Request{Data: tinyPNG(t)})
		done <- err
	}()
	for b.running.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	return h, b, done
}

func TestShutdownFinishesInFlightThenRefuses(t *testing.T) {
	h, b, done := startBlocked(t)
	shut := make(chan error, 1)
	go func() { shut <- h.Shutdown(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	if h.Ready() {
		t.Error("ready while draining")
	}
	if _, err := h.Invoke(context.Background(), &Request{Data: tinyPNG(t)}); AsFailure(err).Code != CodeBusy {
		t.Errorf("new work while draining: %v, want busy", err)
	}
	select {
	case <-shut:
		t.Fatal("shutdown returned with work in flight")
	default:
	}
	close(b.release)
	if err := <-done; err != nil {
		t.Errorf("in-flight invocation failed: %v", err)
	}
	if err := <-shut; err != nil {
		t.Error(err)
	}
	if h.Pool().Loaded() != 0 {
		t.Error("models left loaded after shutdown")
	}
}

func TestShutdownGraceCancelsStragglers(t *testing.T) {
	h, _, done := startBlocked(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Error(err)
	}
	if err := <-done; AsFailure(err).Code != CodeBusy {
		t.Errorf("straggler answered %v, want busy", err)
	}
}

// TestGCPercent: New sets the collector's target it is given, 25 by
// default, and leaves it alone given 0.
func TestGCPercent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	files := testenv.Models(t)
	for _, c := range []struct {
		opts []Option
		want int
	}{{nil, 25}, {[]Option{WithGCPercent(60)}, 60}, {[]Option{WithGCPercent(0)}, 100}} {
		debug.SetGCPercent(100)
		h, err := New(append(c.opts, WithModelFiles(files))...)
		if err != nil {
			t.Fatal(err)
		}
		if got := debug.SetGCPercent(100); got != c.want {
			t.Errorf("%d options: GOGC %d, want %d", len(c.opts), got, c.want)
		}
		_ = h.Shutdown(context.Background())
	}
}
