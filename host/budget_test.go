package host

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/internal/testenv"
	"github.com/ocrhost/ocrhost/memory"
)

// TestFilledBudgetRejectsThenRecovers fills the memory budget with real
// resident memory (ballast the test touches page by page) while a warm host
// serves: invocations are refused insufficient_memory (retryable) after the
// bounded wait, nothing is leaked by the refusals, and once the ballast is
// freed the same request succeeds again without a restart.
func TestFilledBudgetRejectsThenRecovers(t *testing.T) {
	if testenv.Race() {
		t.Skip("-race build: shadow memory makes the ballast's RSS unpredictable; make test runs this without -race")
	}
	probe, err := memory.NewProbe()
	if err != nil {
		t.Fatal(err)
	}
	h := newHost(t, WithQueueTimeout(time.Second),
		WithMemoryGuard(probe, time.Second, memory.Thresholds{Warning: 0.8, Critical: 0.95}, memory.Thresholds{}))
	doc := sample(t)
	if _, err := h.Invoke(context.Background(), &Request{Data: doc}); err != nil {
		t.Fatalf("warm-up with no budget: %v", err)
	}
	memory.Release()

	// Room for the sample above what the warm host holds now, far less than
	// the ballast.
	const room, ballastSize = 600 << 20, 900 << 20
	probe.SetBudget(uint64(float64(probe.RSS()+room) / 0.95))
	if _, err := h.Invoke(context.Background(), &Request{Data: doc}); err != nil {
		t.Fatalf("within the budget: %v", err)
	}

	ballast := make([]byte, ballastSize)
	for i := 0; i < len(ballast); i += 4096 {
		ballast[i] = 1
	}
	for i := 0; i < 3; i++ {
		_, err := h.Invoke(context.Background(), &Request{Data: doc})
		f := AsFailure(err)
		if f == nil || f.Code != CodeInsufficientMemory || !f.Code.Retryable() {
			t.Fatalf("budget filled, attempt %d: want retryable insufficient_memory, got %v", i, err)
		}
	}
	if n := h.Guard().Reserved(); n != 0 {
		t.Errorf("refused invocations left %d bytes reserved", n)
	}
	for _, s := range h.Pool().Stats() {
		if s.Refs != 0 {
			t.Errorf("refused invocations left %s leased (%d refs)", s.Key.Model, s.Refs)
		}
	}
	runtime.KeepAlive(ballast)

	ballast = nil
	runtime.GC()
	memory.Release()
	res, err := h.Invoke(context.Background(), &Request{Data: doc})
	if err != nil {
		t.Fatalf("after the ballast is freed: %v", err)
	}
	if len(res.Lines) == 0 {
		t.Fatal("after the ballast is freed: nothing read")
	}
}

// TestConcurrentLargeRequestsUnderBudget is the end-to-end case: a
// cold host whose budget has room for about two large scans at once gets
// eight at the same moment. The process's peak RSS stays under the budget;
// the guard holds the excess back (deferred) and refuses what waited past
// the queue timeout with retryable insufficient_memory; every refused
// request then completes when retried, reading the right text.
func TestConcurrentLargeRequestsUnderBudget(t *testing.T) {
	if testenv.Race() {
		t.Skip("-race build: shadow memory makes RSS unpredictable; make test runs this without -race")
	}
	if testing.Short() {
		t.Skip("-short: about a minute of OCR on A4 scans")
	}
	// No cgroup: the budget then judges this process's RSS alone, not a CI
	// container's working set, which holds the compiler and test runner too.
	probe, err := memory.NewProbe(memory.WithCgroupRoot(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	const k = 8
	h := newHost(t, WithMaxPredictions(k), WithQueueTimeout(2*time.Second),
		WithMemoryGuard(probe, time.Second, memory.Thresholds{Warning: 0.8, Critical: 0.95}, memory.Thresholds{}))
	const w, ht = 1654, 2339 // A4 at 200 DPI
	doc := predPage(t, w, ht, 28, 16)
	opts := function.DefaultOptions()
	plan, err := function.PlanFor(w, ht, opts)
	if err != nil {
		t.Fatal(err)
	}
	need := h.cfg.predictor.Predict(OpOCR, h.params(w, ht, plan, opts, 1)) + h.loadNeed("cpu", modelNames(opts.Models()))

	m := newPredMeter(t)
	predSettle()
	base := probe.RSS()
	budget := uint64(float64(base+need*5/2) / 0.95) // critical at room for 2.5 requests
	probe.SetBudget(budget)
	t.Logf("fresh host %s; predicted need of one request (with loads) %s; budget %s",
		memory.FormatBytes(base), memory.FormatBytes(need), memory.FormatBytes(budget))

	var maxReserved atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if r := h.Guard().Reserved(); r > maxReserved.Load() {
				maxReserved.Store(r)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	texts := make([]string, k)
	errs := make([]error, k)
	// invokeAll sends the requests numbered idx at once and returns those
	// refused insufficient_memory; any other failure ends the test.
	invokeAll := func(idx []int) []int {
		var wg sync.WaitGroup
		for _, i := range idx {
			wg.Go(func() {
				resp, err := h.Invoke(context.Background(), &Request{Data: doc})
				if err == nil {
					texts[i] = resp.Text
				}
				errs[i] = err
			})
		}
		wg.Wait()
		var refused []int
		for _, i := range idx {
			if errs[i] == nil {
				continue
			}
			if f := AsFailure(errs[i]); f.Code != CodeInsufficientMemory || !f.Code.Retryable() {
				t.Fatalf("request %d: want success or retryable insufficient_memory, got %v", i, errs[i])
			}
			refused = append(refused, i)
		}
		return refused
	}
	all := make([]int, k)
	for i := range all {
		all[i] = i
	}
	var refused []int
	rise, err := m.rise(func() error {
		refused = invokeAll(all)
		return nil
	})
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	peak := base + rise
	t.Logf("%d concurrent: %d completed, %d refused insufficient_memory; peak RSS %s of a %s budget (%.0f%%); at most %s reserved at once",
		k, k-len(refused), len(refused), memory.FormatBytes(peak), memory.FormatBytes(budget),
		100*float64(peak)/float64(budget), memory.FormatBytes(maxReserved.Load()))
	if peak > budget {
		t.Errorf("peak RSS %s crossed the %s budget", memory.FormatBytes(peak), memory.FormatBytes(budget))
	}
	if maxReserved.Load() >= k*need {
		t.Errorf("all %d requests were admitted at once (%s reserved): nothing was deferred", k, memory.FormatBytes(maxReserved.Load()))
	}
	if len(refused) == k {
		t.Errorf("every request was refused: the budget has room for two")
	}

	// The refused come back together, as JetStream replays Nak'd work,
	// round after round until none is refused.
	for round := 1; len(refused) > 0; round++ {
		if round > k {
			t.Fatalf("still refused after %d rounds of retries: %v", k, refused)
		}
		again := invokeAll(refused)
		t.Logf("retry round %d: %d of %d completed", round, len(refused)-len(again), len(refused))
		refused = again
	}
	for i, text := range texts {
		if !strings.Contains(text, "quick brown fox") {
			t.Errorf("request %d read %.80q, want the page's text", i, text)
		}
	}
	if n := h.Guard().Reserved(); n != 0 {
		t.Errorf("%d bytes still reserved after every request finished", n)
	}
	if now := probe.RSS(); now > budget {
		t.Errorf("RSS %s after the retries, over the %s budget", memory.FormatBytes(now), memory.FormatBytes(budget))
	}
}
