package memory

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scriptedEvictor frees "models" by lowering the scripted RSS.
type scriptedEvictor struct {
	h       *scriptedHost
	rss     *atomic.Uint64
	idle    []uint64 // sizes of idle models, LRU first
	evicted atomic.Int64
	mu      sync.Mutex
}

func (e *scriptedEvictor) EvictIdle(n int) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	freed := 0
	for ; freed < n && len(e.idle) > 0; freed++ {
		e.h.setRSS(e.rss.Add(-e.idle[0]))
		e.idle = e.idle[1:]
	}
	e.evicted.Add(int64(freed))
	return freed
}

type guardObs struct {
	admitted, rejected, evicted, fallbacks atomic.Int64
}

func (o *guardObs) Admitted(uint64, time.Duration) { o.admitted.Add(1) }
func (o *guardObs) Rejected(uint64)                { o.rejected.Add(1) }
func (o *guardObs) EvictedForMemory(n int)         { o.evicted.Add(int64(n)) }
func (o *guardObs) Fallback(string, string)        { o.fallbacks.Add(1) }

func newGuard(t *testing.T, rss uint64, budget uint64, opts ...GuardOption) (*Guard, *scriptedHost, *atomic.Uint64) {
	t.Helper()
	h, dir := newScriptedHost(t)
	var cur atomic.Uint64
	cur.Store(rss)
	h.setRSS(rss)
	p := fixtureProbe(t, dir, WithBudget(budget))
	mon := NewMonitor(p, time.Hour, Thresholds{}, Thresholds{})
	return NewGuard(mon, append([]GuardOption{WithRecheck(10 * time.Millisecond)}, opts...)...), h, &cur
}

func TestGuardAdmitsWhatFits(t *testing.T) {
	obs := &guardObs{}
	g, _, _ := newGuard(t, 500*mib, 1000*mib, WithGuardObserver(obs)) // critical at 950 MiB
	rel1, err := g.Admit(context.Background(), 200*mib)
	if err != nil {
		t.Fatal(err)
	}
	rel2, err := g.Admit(context.Background(), 200*mib) // 500+200+200 = 900 ≤ 950
	if err != nil {
		t.Fatal(err)
	}
	if g.Reserved() != 400*mib {
		t.Errorf("reserved %d", g.Reserved())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := g.Admit(ctx, 200*mib); !errors.Is(err, ErrInsufficientMemory) {
		t.Errorf("third: %v, want ErrInsufficientMemory", err)
	}
	rel1.Release()
	rel1.Release() // idempotent
	rel3, err := g.Admit(context.Background(), 200*mib)
	if err != nil {
		t.Fatalf("after a release: %v", err)
	}
	rel2.Release()
	rel3.Release()
	if g.Reserved() != 0 || obs.admitted.Load() != 3 || obs.rejected.Load() != 1 {
		t.Errorf("reserved %d admitted %d rejected %d", g.Reserved(), obs.admitted.Load(), obs.rejected.Load())
	}
}

// TestShrinkLetsWaitingWorkIn: a reservation lowered part way (the
// detection size learnt from the text) admits work that was waiting for
// memory, never grows, and releases only what it still holds.
func TestShrinkLetsWaitingWorkIn(t *testing.T) {
	g, _, _ := newGuard(t, 500*mib, 1000*mib) // critical at 950 MiB
	big, err := g.Admit(context.Background(), 400*mib)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *Reservation, 1)
	go func() {
		r, err := g.Admit(context.Background(), 300*mib) // 500+400+300 > 950
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	select {
	case <-got:
		t.Fatal("admitted over the limit")
	case <-time.After(100 * time.Millisecond):
	}
	big.Shrink(500 * mib) // no growth
	if g.Reserved() != 400*mib {
		t.Fatalf("reserved %d MiB after a larger Shrink, want 400", g.Reserved()/mib)
	}
	big.Shrink(100 * mib) // 500+100+300 = 900 ≤ 950
	var small *Reservation
	select {
	case small = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("still waiting after the shrink")
	}
	if g.Reserved() != 400*mib {
		t.Errorf("reserved %d MiB, want 100 + 300", g.Reserved()/mib)
	}
	big.Release()
	big.Shrink(0)
	if g.Reserved() != 300*mib {
		t.Errorf("reserved %d MiB after the release, want 300", g.Reserved()/mib)
	}
	small.Release()
	if g.Reserved() != 0 {
		t.Errorf("reserved %d after both released", g.Reserved())
	}
}

func TestGuardWaitsForReleaseThenAdmits(t *testing.T) {
	g, _, _ := newGuard(t, 500*mib, 1000*mib)
	rel, err := g.Admit(context.Background(), 400*mib)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		r, err := g.Admit(context.Background(), 400*mib)
		if r != nil {
			r.Release()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("admitted over the limit: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	rel.Release()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waiter not admitted after the release")
	}
}

func TestGuardEvictsIdleModelsFirst(t *testing.T) {
	obs := &guardObs{}
	g, h, cur := newGuard(t, 900*mib, 1000*mib, WithGuardObserver(obs))
	ev := &scriptedEvictor{h: h, rss: cur, idle: []uint64{150 * mib, 150 * mib, 150 * mib}}
	g.evict = ev
	rel, err := g.Admit(context.Background(), 300*mib) // needs 900+300-950 = 250 MiB: two models
	if err != nil {
		t.Fatal(err)
	}
	defer rel.Release()
	if n := ev.evicted.Load(); n != 2 {
		t.Errorf("evicted %d models, want 2 (no more than needed)", n)
	}
	if obs.evicted.Load() != 2 {
		t.Errorf("observer saw %d evictions", obs.evicted.Load())
	}
}

func TestGuardRefusesAtOnceWhenNothingCanHelp(t *testing.T) {
	g, _, _ := newGuard(t, 500*mib, 1000*mib)
	start := time.Now()
	_, err := g.Admit(context.Background(), 2000*mib)
	if !errors.Is(err, ErrInsufficientMemory) {
		t.Fatalf("%v, want ErrInsufficientMemory", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("took %v; nothing running and nothing to evict should fail at once", time.Since(start))
	}
}

func TestGuardNoLimitAdmits(t *testing.T) {
	g, _, _ := newGuard(t, 500*mib, 0)
	// v1-hybrid fixture: no cgroup; the limit is physical RAM.
	rel, err := g.Admit(context.Background(), 64*mib)
	if err != nil {
		t.Fatal(err)
	}
	rel.Release()
}

func TestGuardDeviceFallback(t *testing.T) {
	gpu := &fakeGPU{total: 16 << 30, reserved: 0, v2Ret: 0}
	lib, _ := fakeNVML(true, gpu)
	h, dir := newScriptedHost(t)
	h.setRSS(100 * mib)
	p := fixtureProbe(t, dir, WithNVML(lib))
	mon := NewMonitor(p, time.Hour, Thresholds{}, Thresholds{})
	obs := &guardObs{}
	g := NewGuard(mon, WithGuardObserver(obs))

	if d, fb, err := g.Device("cpu", 1<<30); d != "cpu" || fb || err != nil {
		t.Errorf("cpu: %s %v %v", d, fb, err)
	}
	gpu.used.Store(4 << 30)
	if d, fb, err := g.Device("cuda:0", 1<<30); d != "cuda:0" || fb || err != nil {
		t.Errorf("roomy GPU: %s %v %v", d, fb, err)
	}
	gpu.used.Store(15 << 30)            // 15 + 1 GiB > 0.95 × 16
	time.Sleep(1100 * time.Millisecond) // let the cached reading age
	if d, fb, err := g.Device("cuda:0", 1<<30); d != "cpu" || !fb || err != nil {
		t.Errorf("short GPU: %s %v %v, want cpu fallback", d, fb, err)
	}
	if d, fb, err := g.Device("cuda:3", 1<<30); d != "cpu" || !fb || err != nil {
		t.Errorf("missing GPU: %s %v %v, want cpu fallback", d, fb, err)
	}
	strict := NewGuard(mon, WithCPUFallback(false))
	if _, _, err := strict.Device("cuda:0", 1<<30); !errors.Is(err, ErrInsufficientMemory) {
		t.Errorf("fallback off: %v, want ErrInsufficientMemory", err)
	}
	if obs.fallbacks.Load() != 2 {
		t.Errorf("%d fallbacks observed, want 2", obs.fallbacks.Load())
	}
}
