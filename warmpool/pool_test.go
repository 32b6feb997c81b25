package warmpool

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// model is the value the test loader creates; destroyed lets tests catch a
// lease seeing a value the pool already destroyed.
type model struct {
	key       Key
	gen       int
	destroyed atomic.Bool
}

// loader is a test double of a model loader: it counts loads and destroys per
// key, tracks how many values of a key are alive at once, and can block or
// fail on demand.
type loader struct {
	mu       sync.Mutex
	loads    map[Key]int
	destroys map[Key]int
	live     map[Key]int
	maxLive  int
	order    []Key // destroy order
	failErr  error
	gate     chan struct{} // when non-nil, loads block until it is closed or ctx ends
	entered  chan Key      // when non-nil, receives each key as its load starts
	delay    time.Duration
	destroyF func(Key) error // optional destroy hook (may block)
}

func newLoader() *loader {
	return &loader{loads: map[Key]int{}, destroys: map[Key]int{}, live: map[Key]int{}}
}

func (l *loader) load(ctx context.Context, k Key) (*model, error) {
	l.mu.Lock()
	gate, entered, failErr, delay := l.gate, l.entered, l.failErr, l.delay
	l.mu.Unlock()
	if entered != nil {
		entered <- k
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if failErr != nil {
		return nil, failErr
	}
	l.loads[k]++
	l.live[k]++
	l.maxLive = max(l.maxLive, l.live[k])
	return &model{key: k, gen: l.loads[k]}, nil
}

func (l *loader) destroy(k Key, m *model) error {
	l.mu.Lock()
	hook := l.destroyF
	l.mu.Unlock()
	var err error
	if hook != nil {
		err = hook(k)
	}
	if m.destroyed.Swap(true) {
		panic("value destroyed twice")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.destroys[k]++
	l.live[k]--
	l.order = append(l.order, k)
	return err
}

func (l *loader) counts(k Key) (loads, destroys int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loads[k], l.destroys[k]
}

func (l *loader) set(f func(*loader)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(l)
}

func (l *loader) pool(opts ...Option) *Pool[*model] {
	return New(l.load, l.destroy, opts...)
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func statOf(t *testing.T, p *Pool[*model], k Key) ModelStats {
	t.Helper()
	for _, s := range p.Stats() {
		if s.Key == k {
			return s
		}
	}
	return ModelStats{Key: k}
}

// recorder is an Observer that keeps every event.
type recorder struct {
	mu        sync.Mutex
	loaded    []error
	evicted   []EvictReason
	evictErrs []error
	inUse     map[string]int
	maxInUse  map[string]int
}

func newRecorder() *recorder {
	return &recorder{inUse: map[string]int{}, maxInUse: map[string]int{}}
}

func (r *recorder) Loaded(_ Key, _ time.Duration, _ uint64, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.loaded = append(r.loaded, err)
}

func (r *recorder) Evicted(_ Key, reason EvictReason, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evicted = append(r.evicted, reason)
	r.evictErrs = append(r.evictErrs, err)
}

func (r *recorder) InUse(d string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inUse[d] = n
	r.maxInUse[d] = max(r.maxInUse[d], n)
}

func (r *recorder) gauge(d string) (inUse int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inUse[d]
}

var det = Key{"det", "cpu"}

func TestConcurrentFirstAcquireLoadsOnce(t *testing.T) {
	l := newLoader()
	gate := make(chan struct{})
	l.gate = gate
	p := l.pool()
	const n = 50
	var wg sync.WaitGroup
	leases := make([]*Lease[*model], n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { leases[i], errs[i] = p.Acquire(t.Context(), "cpu", "det") })
	}
	eventually(t, "all 50 waiting on the load", func() bool { return statOf(t, p, det).Refs == n })
	close(gate)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("acquire %d: %v", i, errs[i])
		}
		if leases[i].Get("det") != leases[0].Get("det") {
			t.Fatalf("lease %d got a different value", i)
		}
	}
	if loads, _ := l.counts(det); loads != 1 {
		t.Fatalf("loads = %d, want 1", loads)
	}
	for _, ls := range leases {
		ls.Release()
	}
	if s := statOf(t, p, det); s.Refs != 0 || !s.Loaded {
		t.Fatalf("after release: %+v", s)
	}
}

func TestRefcountsAndIdempotentRelease(t *testing.T) {
	l := newLoader()
	p := l.pool()
	a, err := p.Acquire(t.Context(), "cpu", "det", "rec", "det")
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Acquire(t.Context(), "cpu", "det")
	if err != nil {
		t.Fatal(err)
	}
	if got := statOf(t, p, det).Refs; got != 2 {
		t.Fatalf("det refs = %d, want 2 (duplicate name in one lease counts once)", got)
	}
	if got := statOf(t, p, Key{"rec", "cpu"}).Refs; got != 1 {
		t.Fatalf("rec refs = %d, want 1", got)
	}
	if a.Device() != "cpu" || a.Get("rec") == nil || a.Get("rec").key != (Key{"rec", "cpu"}) {
		t.Fatalf("lease a: device %q, rec %v", a.Device(), a.Get("rec"))
	}
	if a.Get("cls") != nil {
		t.Fatal("Get of a model not in the lease must return the zero value")
	}
	a.Release()
	a.Release()
	if got := statOf(t, p, det).Refs; got != 1 {
		t.Fatalf("det refs after double release = %d, want 1", got)
	}
	if a.Get("det") != nil {
		t.Fatal("Get after Release must return the zero value")
	}
	b.Release()
	if got := statOf(t, p, det).Refs; got != 0 {
		t.Fatalf("det refs = %d, want 0", got)
	}
	if p.Loaded() != 2 {
		t.Fatalf("Loaded = %d, want 2 (idle models stay warm)", p.Loaded())
	}
	if _, err := p.Acquire(t.Context(), "cpu"); !errors.Is(err, ErrNoModels) {
		t.Fatalf("Acquire without models: %v", err)
	}
}

func TestIdleEvictionDestroysOnce(t *testing.T) {
	l := newLoader()
	rec := newRecorder()
	p := l.pool(WithIdleTimeout(30*time.Millisecond), WithObserver(rec))
	ls, err := p.Acquire(t.Context(), "cpu", "det")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	if _, d := l.counts(det); d != 0 {
		t.Fatal("a leased model was destroyed")
	}
	ls.Release()
	eventually(t, "idle destroy", func() bool { _, d := l.counts(det); return d == 1 })
	time.Sleep(60 * time.Millisecond)
	if _, d := l.counts(det); d != 1 {
		t.Fatalf("destroys = %d, want exactly 1", d)
	}
	if s := statOf(t, p, det); s.Loaded || s.Evictions != 1 {
		t.Fatalf("stats after eviction: %+v", s)
	}
	rec.mu.Lock()
	reasons := slices.Clone(rec.evicted)
	rec.mu.Unlock()
	if !slices.Equal(reasons, []EvictReason{ReasonIdle}) {
		t.Fatalf("evict reasons = %v", reasons)
	}

	// Evicted models reload transparently.
	ls, err = p.Acquire(t.Context(), "cpu", "det")
	if err != nil {
		t.Fatal(err)
	}
	if m := ls.Get("det"); m.gen != 2 || m.destroyed.Load() {
		t.Fatalf("reloaded value: gen %d destroyed %v", m.gen, m.destroyed.Load())
	}
	ls.Release()
	if loads, _ := l.counts(det); loads != 2 {
		t.Fatalf("loads = %d, want 2", loads)
	}
}

func TestReacquireCancelsIdleTimer(t *testing.T) {
	l := newLoader()
	p := l.pool(WithIdleTimeout(50 * time.Millisecond))
	ls, err := p.Acquire(t.Context(), "cpu", "det")
	if err != nil {
		t.Fatal(err)
	}
	ls.Release()
	time.Sleep(25 * time.Millisecond)
	ls, err = p.Acquire(t.Context(), "cpu", "det")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if loads, d := l.counts(det); d != 0 || loads != 1 {
		t.Fatalf("loads %d destroys %d, want 1 and 0", loads, d)
	}
	if ls.Get("det").destroyed.Load() {
		t.Fatal("leased value destroyed")
	}
	ls.Release()
	eventually(t, "destroy after final release", func() bool { _, d := l.counts(det); return d == 1 })
}

// TestInUseCountsLeasesPerDevice: the pool bounds nothing (the host's
// admission does); the observer hears the leases held on each device.
func TestInUseCountsLeasesPerDevice(t *testing.T) {
	l := newLoader()
	rec := newRecorder()
	p := l.pool(WithObserver(rec))
	var leases []*Lease[*model]
	for _, d := range []string{"cpu", "cpu", "cpu", "gpu0"} {
		ls, err := p.Acquire(t.Context(), d, "det")
		if err != nil {
			t.Fatal(err)
		}
		leases = append(leases, ls)
	}
	if c, g := rec.gauge("cpu"), rec.gauge("gpu0"); c != 3 || g != 1 {
		t.Fatalf("in use: cpu %d, gpu0 %d, want 3 and 1", c, g)
	}
	if loads, _ := l.counts(det); loads != 1 {
		t.Errorf("det loaded %d times for three leases", loads)
	}
	for _, ls := range leases {
		ls.Release()
	}
	if c, g := rec.gauge("cpu"), rec.gauge("gpu0"); c != 0 || g != 0 {
		t.Fatalf("in use after release: cpu %d, gpu0 %d", c, g)
	}
}

// TestLateTimerDoesNotDestroy fires a stale idle-timer callback by hand, as
// time.AfterFunc may do when Stop loses the race with a re-acquire.
func TestLateTimerDoesNotDestroy(t *testing.T) {
	l := newLoader()
	p := l.pool(WithIdleTimeout(time.Hour))
	ls, err := p.Acquire(t.Context(), "cpu", "det")
	if err != nil {
		t.Fatal(err)
	}
	ls.Release()
	p.mu.Lock()
	e, staleGen := p.entries[det], p.entries[det].gen
	p.mu.Unlock()
	ls, err = p.Acquire(t.Context(), "cpu", "det")
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	stopped := e.timer == nil
	p.mu.Unlock()
	if !stopped {
		t.Fatal("re-acquire must stop the idle timer")
	}
	ls.Release() // idle again, with a newer timer
	p.expire(e, staleGen)
	if _, d := l.counts(det); d != 0 {
		t.Fatal("a stale timer destroyed the model")
	}
	p.mu.Lock()
	gen := e.gen
	p.mu.Unlock()
	p.expire(e, gen)
	if _, d := l.counts(det); d != 1 {
		t.Fatal("the current timer did not destroy the idle model")
	}
}

func TestCancelWhileLoadingKeepsValue(t *testing.T) {
	l := newLoader()
	gate := make(chan struct{})
	l.gate = gate
	rec := newRecorder()
	p := l.pool(WithIdleTimeout(30*time.Millisecond), WithObserver(rec))
	ctx, cancel := context.WithCancel(t.Context())
	got := make(chan error, 1)
	go func() {
		_, err := p.Acquire(ctx, "cpu", "det")
		got <- err
	}()
	eventually(t, "load started", func() bool { return statOf(t, p, det).Refs == 1 })
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if s := statOf(t, p, det); s.Refs != 0 {
		t.Fatalf("refs = %d after cancel", s.Refs)
	}
	if u := rec.gauge("cpu"); u != 0 {
		t.Fatalf("in use = %d after cancel, want 0", u)
	}
	// The load was not aborted by the caller leaving; its value goes idle
	// and is destroyed by the timer, not leaked.
	close(gate)
	eventually(t, "abandoned value destroyed", func() bool { _, d := l.counts(det); return d == 1 })
	if loads, _ := l.counts(det); loads != 1 {
		t.Fatalf("loads = %d, want 1", loads)
	}
}

func TestLoadFailurePropagatesAndRetries(t *testing.T) {
	l := newLoader()
	boom := errors.New("boom")
	gate := make(chan struct{})
	l.gate, l.failErr = gate, boom
	p := l.pool()
	const n = 5
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := p.Acquire(t.Context(), "cpu", "det")
			errs <- err
		}()
	}
	eventually(t, "all waiting", func() bool { return statOf(t, p, det).Refs == n })
	close(gate)
	for range n {
		err := <-errs
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want boom", err)
		}
		if want := "warmpool: load det@cpu: boom"; err.Error() != want {
			t.Fatalf("err = %q, want %q", err, want)
		}
	}
	if s := p.Stats(); len(s) != 0 {
		t.Fatalf("a key that never loaded must be forgotten, stats = %+v", s)
	}
	l.set(func(l *loader) { l.failErr, l.gate = nil, nil })
	ls, err := p.Acquire(t.Context(), "cpu", "det")
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	ls.Release()
	if loads, _ := l.counts(det); loads != 1 {
		t.Fatalf("loads = %d, want 1", loads)
	}
}

func TestPartialLoadFailureReleasesOtherModels(t *testing.T) {
	l := newLoader()
	boom := errors.New("no such model")
	p := New(func(ctx context.Context, k Key) (*model, error) {
		if k.Model == "bad" {
			return nil, boom
		}
		return l.load(ctx, k)
	}, l.destroy)
	if _, err := p.Acquire(t.Context(), "cpu", "det", "bad"); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if s := statOf(t, p, det); s.Refs != 0 {
		t.Fatalf("det refs = %d", s.Refs)
	}
	ls, err := p.Acquire(t.Context(), "cpu", "det")
	if err != nil {
		t.Fatal(err)
	}
	ls.Release()
}

func TestLoadTimeoutBoundsHungLoader(t *testing.T) {
	l := newLoader()
	l.gate = make(chan struct{}) // never closed: the loader hangs until its ctx ends
	p := l.pool(WithLoadTimeout(30 * time.Millisecond))
	_, err := p.Acquire(t.Context(), "cpu", "det")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded from the load timeout", err)
	}
}

func TestEvictIdleLRU(t *testing.T) {
	l := newLoader()
	rec := newRecorder()
	p := l.pool(WithObserver(rec))
	use := func(models ...string) {
		ls, err := p.Acquire(t.Context(), "cpu", models...)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
		ls.Release()
	}
	use("a")
	use("b")
	use("c")
	use("a") // a is now the most recent
	held, err := p.Acquire(t.Context(), "cpu", "d")
	if err != nil {
		t.Fatal(err)
	}
	if n := p.EvictIdle(2); n != 2 {
		t.Fatalf("EvictIdle(2) = %d", n)
	}
	want := []Key{{"b", "cpu"}, {"c", "cpu"}}
	l.mu.Lock()
	order := slices.Clone(l.order)
	l.mu.Unlock()
	if !slices.Equal(order, want) {
		t.Fatalf("evicted %v, want %v", order, want)
	}
	// Only a is idle; d is leased and must survive.
	if n := p.EvictIdle(10); n != 1 {
		t.Fatalf("EvictIdle(10) = %d, want 1", n)
	}
	if held.Get("d").destroyed.Load() || p.Loaded() != 1 {
		t.Fatal("a leased model was evicted")
	}
	if p.EvictIdle(0) != 0 || p.EvictIdle(-1) != 0 {
		t.Fatal("EvictIdle with n <= 0 must do nothing")
	}
	held.Release()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !slices.Equal(rec.evicted, []EvictReason{ReasonPressure, ReasonPressure, ReasonPressure}) {
		t.Fatalf("reasons = %v", rec.evicted)
	}
}

func TestDestroyAndReloadDoNotOverlap(t *testing.T) {
	l := newLoader()
	inDestroy := make(chan struct{})
	finish := make(chan struct{})
	l.destroyF = func(Key) error {
		close(inDestroy)
		<-finish
		return nil
	}
	p := l.pool()
	ls, err := p.Acquire(t.Context(), "cpu", "det")
	if err != nil {
		t.Fatal(err)
	}
	ls.Release()
	go p.EvictIdle(1)
	<-inDestroy
	got := make(chan error, 1)
	go func() {
		ls, err := p.Acquire(t.Context(), "cpu", "det")
		if err == nil {
			ls.Release()
		}
		got <- err
	}()
	time.Sleep(30 * time.Millisecond)
	if loads, _ := l.counts(det); loads != 1 {
		t.Fatal("reload started while the old value was being destroyed")
	}
	l.set(func(l *loader) { l.destroyF = nil })
	close(finish)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.maxLive != 1 || l.loads[det] != 2 {
		t.Fatalf("max live values %d, loads %d", l.maxLive, l.loads[det])
	}
}

func TestTeardownWaitsForLeases(t *testing.T) {
	l := newLoader()
	rec := newRecorder()
	p := l.pool(WithObserver(rec))
	idle, err := p.Acquire(t.Context(), "cpu", "cls")
	if err != nil {
		t.Fatal(err)
	}
	idle.Release()
	held, err := p.Acquire(t.Context(), "cpu", "det")
	if err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() { done <- p.Teardown(t.Context()) }()
	eventually(t, "idle model destroyed", func() bool { _, d := l.counts(Key{"cls", "cpu"}); return d == 1 })
	select {
	case err := <-done:
		t.Fatalf("Teardown returned with a lease outstanding: %v", err)
	case <-time.After(30 * time.Millisecond):
	}
	if _, d := l.counts(det); d != 0 {
		t.Fatal("leased model destroyed before release")
	}
	if _, err := p.Acquire(t.Context(), "cpu", "det"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Acquire after Teardown: %v", err)
	}
	held.Release()
	if _, d := l.counts(det); d != 1 {
		t.Fatal("Release after Teardown must destroy the model before returning")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p.Loaded() != 0 {
		t.Fatalf("Loaded = %d after Teardown", p.Loaded())
	}
	if err := p.Teardown(t.Context()); err != nil {
		t.Fatalf("second Teardown: %v", err)
	}
}

func TestTeardownReportsDestroyErrorsAndContext(t *testing.T) {
	l := newLoader()
	bad := errors.New("cuda says no")
	l.destroyF = func(k Key) error {
		if k.Model == "det" {
			return bad
		}
		return nil
	}
	rec := newRecorder()
	p := l.pool(WithObserver(rec))
	ls, err := p.Acquire(t.Context(), "cpu", "det", "rec")
	if err != nil {
		t.Fatal(err)
	}
	held, err := p.Acquire(t.Context(), "gpu0", "det")
	if err != nil {
		t.Fatal(err)
	}
	ls.Release()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	err = p.Teardown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, bad) {
		t.Fatalf("Teardown with a lease held = %v, want DeadlineExceeded and the destroy error", err)
	}
	held.Release()
	err = p.Teardown(t.Context())
	if !errors.Is(err, bad) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Teardown = %v", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var failed int
	for _, e := range rec.evictErrs {
		if errors.Is(e, bad) {
			failed++
		}
	}
	if failed != 2 {
		t.Fatalf("observer saw %d destroy errors, want 2", failed)
	}
}

func TestTeardownCancelsLoad(t *testing.T) {
	l := newLoader()
	l.gate = make(chan struct{}) // the load ends only by its context
	p := l.pool()
	got := make(chan error, 1)
	go func() {
		_, err := p.Acquire(t.Context(), "cpu", "det")
		got <- err
	}()
	eventually(t, "load started", func() bool { return statOf(t, p, det).Refs == 1 })
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := p.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("acquire during Teardown: %v", err)
	}
}

func TestLoadFinishingAfterTeardownIsDestroyed(t *testing.T) {
	// A loader that ignores its context, as a cgo call would.
	l := newLoader()
	release := make(chan struct{})
	p := New(func(_ context.Context, k Key) (*model, error) {
		<-release
		return l.load(context.Background(), k)
	}, l.destroy)
	got := make(chan error, 1)
	go func() {
		_, err := p.Acquire(t.Context(), "cpu", "det")
		got <- err
	}()
	eventually(t, "load started", func() bool { return statOf(t, p, det).Refs == 1 })
	done := make(chan error, 1)
	go func() { done <- p.Teardown(t.Context()) }()
	time.Sleep(10 * time.Millisecond)
	close(release)
	if err := <-got; !errors.Is(err, ErrClosed) {
		t.Fatalf("acquire = %v, want ErrClosed", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if loads, d := l.counts(det); loads != 1 || d != 1 {
		t.Fatalf("loads %d destroys %d, want 1 and 1", loads, d)
	}
}

func TestStatsFields(t *testing.T) {
	l := newLoader()
	l.delay = 5 * time.Millisecond
	var rss atomic.Uint64
	rss.Store(1 << 30)
	p := New(func(ctx context.Context, k Key) (*model, error) {
		m, err := l.load(ctx, k)
		rss.Add(4096) // the "model" takes 4 KiB
		return m, err
	}, l.destroy, WithMemoryProbe(rss.Load))
	before := time.Now()
	ls, err := p.Acquire(t.Context(), "gpu0", "rec")
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Acquire(t.Context(), "cpu", "det")
	if err != nil {
		t.Fatal(err)
	}
	b.Release()
	s := p.Stats()
	if len(s) != 2 || s[0].Key != det || s[1].Key != (Key{"rec", "gpu0"}) {
		t.Fatalf("stats not sorted by device, model: %+v", s)
	}
	r := s[1]
	if r.Refs != 1 || !r.Loaded || r.Loads != 1 || r.Evictions != 0 {
		t.Fatalf("rec stats: %+v", r)
	}
	if r.LoadTime < 5*time.Millisecond {
		t.Fatalf("LoadTime = %v, want >= 5ms", r.LoadTime)
	}
	if r.LoadBytes != 4096 {
		t.Fatalf("LoadBytes = %d, want 4096", r.LoadBytes)
	}
	if r.LastUse.Before(before) {
		t.Fatalf("LastUse = %v, before the acquire", r.LastUse)
	}
	ls.Release()
	if n := p.EvictIdle(2); n != 2 {
		t.Fatalf("EvictIdle = %d", n)
	}
	r = statOf(t, p, Key{"rec", "gpu0"})
	if r.Loaded || r.Evictions != 1 || r.Loads != 1 || r.Refs != 0 {
		t.Fatalf("rec stats after eviction: %+v", r)
	}
}

func TestObserverLoadEvents(t *testing.T) {
	l := newLoader()
	rec := newRecorder()
	p := l.pool(WithObserver(rec))
	ls, err := p.Acquire(t.Context(), "cpu", "det")
	if err != nil {
		t.Fatal(err)
	}
	ls.Release()
	l.set(func(l *loader) { l.failErr = errors.New("bad file") })
	if _, err := p.Acquire(t.Context(), "cpu", "rec"); err == nil {
		t.Fatal("want a load error")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.loaded) != 2 || rec.loaded[0] != nil || rec.loaded[1] == nil {
		t.Fatalf("Loaded events: %v", rec.loaded)
	}
}

func TestOptionsIgnoreOutOfRange(t *testing.T) {
	p := New[int](nil, nil, WithIdleTimeout(0), WithLoadTimeout(0), WithMemoryProbe(nil), WithObserver(nil), nil)
	want := defaultConfig()
	if p.cfg.idleTimeout != want.idleTimeout || p.cfg.loadTimeout != want.loadTimeout {
		t.Fatalf("cfg = %+v, want defaults", p.cfg)
	}
	if _, err := p.Acquire(t.Context(), "cpu", "det"); err == nil {
		t.Fatal("a nil LoadFunc must fail the load, not panic")
	}
}

// TestStressLifecycle hammers two devices with random leases while idle
// timers and EvictIdle destroy models underneath, and checks the
// invariants: the observer never hears more leases than are held, never a
// destroyed value in a lease, never two live values of a key, nothing left
// after Teardown.
func TestStressLifecycle(t *testing.T) {
	const workers = 12
	l := newLoader()
	rec := newRecorder()
	p := l.pool(WithIdleTimeout(time.Millisecond), WithObserver(rec))
	devices := []string{"cpu", "gpu0"}
	models := []string{"det", "cls", "rec"}
	var inUse [2]atomic.Int32
	var maxSeen atomic.Int32
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				p.EvictIdle(1)
				time.Sleep(time.Millisecond)
			}
		}
	})
	var running sync.WaitGroup
	for w := range workers {
		running.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for range 60 {
				di := r.IntN(len(devices))
				want := models[:1+r.IntN(len(models))]
				ctx, cancel := context.WithTimeout(t.Context(), time.Duration(r.IntN(3000))*time.Microsecond+time.Millisecond)
				ls, err := p.Acquire(ctx, devices[di], want...)
				cancel()
				if err != nil {
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("acquire: %v", err)
					}
					continue
				}
				n := inUse[di].Add(1)
				for {
					m := maxSeen.Load()
					if n <= m || maxSeen.CompareAndSwap(m, n) {
						break
					}
				}
				for _, m := range want {
					v := ls.Get(m)
					if v == nil || v.destroyed.Load() || v.key != (Key{m, devices[di]}) {
						t.Errorf("lease holds bad value for %s: %+v", m, v)
					}
				}
				time.Sleep(time.Duration(r.IntN(300)) * time.Microsecond)
				inUse[di].Add(-1)
				ls.Release()
			}
		})
	}
	running.Wait()
	close(stop)
	wg.Wait()

	if m := maxSeen.Load(); m < 2 {
		t.Fatalf("max concurrent leases on a device = %d: the workers never overlapped", m)
	}
	rec.mu.Lock()
	for _, d := range devices {
		if rec.maxInUse[d] > workers {
			t.Errorf("observer saw %d in use on %s, with %d workers", rec.maxInUse[d], d, workers)
		}
		if rec.inUse[d] != 0 {
			t.Errorf("%s final gauge: in use %d", d, rec.inUse[d])
		}
	}
	rec.mu.Unlock()
	for _, s := range p.Stats() {
		if s.Refs != 0 {
			t.Errorf("%v: %d refs left", s.Key, s.Refs)
		}
	}
	if err := p.Teardown(t.Context()); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.maxLive > 1 {
		t.Errorf("two live values of one key at once")
	}
	var loads, destroys int
	for k, n := range l.loads {
		loads += n
		destroys += l.destroys[k]
		if l.live[k] != 0 {
			t.Errorf("%v: %d values left alive after Teardown", k, l.live[k])
		}
	}
	t.Logf("stress: %d loads, %d destroys", loads, destroys)
	if loads < 2 {
		t.Errorf("stress loop did not exercise eviction and reload: %d loads", loads)
	}
}
