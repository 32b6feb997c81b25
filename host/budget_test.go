package host

import (
	"context"
	"runtime"
	"testing"
	"time"

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
