package warmpool

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

var (
	// ErrClosed is returned by Acquire once Teardown has started.
	ErrClosed = errors.New("warmpool: pool closed")
	// ErrNoModels is returned by Acquire when no model is named.
	ErrNoModels = errors.New("warmpool: no models requested")
)

// Key identifies one loaded model: a model name on a device.
type Key struct{ Model, Device string }

// String formats the key as model@device.
func (k Key) String() string { return k.Model + "@" + k.Device }

func compareKeys(a, b Key) int {
	return cmp.Or(cmp.Compare(a.Device, b.Device), cmp.Compare(a.Model, b.Model))
}

// LoadFunc creates the value for a key. ctx is detached from the caller's
// cancellation, bounded by the load timeout and cancelled by Teardown.
type LoadFunc[T any] func(ctx context.Context, k Key) (T, error)

// DestroyFunc releases a value created by LoadFunc. It is called once per
// successful load, never while the value is leased.
type DestroyFunc[T any] func(k Key, v T) error

// EvictReason says why a model was destroyed.
type EvictReason string

const (
	ReasonIdle     EvictReason = "idle"     // idle timer fired
	ReasonPressure EvictReason = "pressure" // EvictIdle
	ReasonTeardown EvictReason = "teardown" // Teardown, or a load that finished after it
)

// Observer receives metrics events. Methods must be cheap and must not block;
// they are called without the pool lock held, so they may call Stats.
// InUse reports a device's leases in use after a change; the same value may
// be reported twice, and the last call for a device always carries its
// current value.
type Observer interface {
	Loaded(k Key, d time.Duration, bytes uint64, err error)
	// Evicted reports a destroy; err is the DestroyFunc's error, if any.
	Evicted(k Key, reason EvictReason, err error)
	InUse(device string, n int)
}

// ModelStats is a snapshot of one key. Keys are kept after eviction so that
// Loads and Evictions accumulate; a key that never loaded is forgotten once
// nothing refers to it.
type ModelStats struct {
	Key       Key
	Refs      int
	Loaded    bool
	LastUse   time.Time
	LoadTime  time.Duration // duration of the latest successful load
	LoadBytes uint64        // memory probe growth over the latest successful load
	Loads     int           // successful loads
	Evictions int           // destroys, for any reason
}

// loadCall is one in-flight load that any number of Acquires wait on.
type loadCall struct {
	done chan struct{}
	err  error // set before done is closed
}

type entry[T any] struct {
	key     Key
	val     T
	loaded  bool
	refs    int
	load    *loadCall     // non-nil while a load runs
	destroy chan struct{} // non-nil while a destroy runs; closed when it returns
	timer   *time.Timer
	gen     uint64 // bumped whenever a pending idle timer becomes stale
	lastUse time.Time

	loadTime  time.Duration
	loadBytes uint64
	loads     int
	evictions int
}

type destroyJob[T any] struct {
	e      *entry[T]
	v      T
	reason EvictReason
}

// Pool is a reference-counted, lazily loading pool of values of type T on
// named devices. The zero value is not usable; call New.
type Pool[T any] struct {
	load    LoadFunc[T]
	destroy DestroyFunc[T]
	cfg     config

	// ctx is cancelled by Teardown to abort running loads.
	ctx    context.Context
	cancel context.CancelFunc

	// notifyMu orders gauge reports so the last one seen per device is current.
	notifyMu sync.Mutex

	mu          sync.Mutex
	entries     map[Key]*entry[T]
	devices     map[string]*device
	closed      bool
	drained     chan struct{} // closed once closed and nothing is loaded, loading or being destroyed
	drainedDone bool
	teardownErr []error
}

// New returns a pool that creates values with load and releases them with
// destroy. A nil destroy means values need no cleanup.
func New[T any](load LoadFunc[T], destroy DestroyFunc[T], opts ...Option) *Pool[T] {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if load == nil {
		load = func(context.Context, Key) (T, error) {
			var zero T
			return zero, errors.New("nil LoadFunc")
		}
	}
	if destroy == nil {
		destroy = func(Key, T) error { return nil }
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Pool[T]{
		load:    load,
		destroy: destroy,
		cfg:     cfg,
		ctx:     ctx,
		cancel:  cancel,
		entries: make(map[Key]*entry[T]),
		devices: make(map[string]*device),
		drained: make(chan struct{}),
	}
}

// Acquire leases models on device, loading those not yet loaded, and waits
// for the loads. Duplicate model names count once. If ctx is cancelled
// while waiting, ctx.Err() is returned and nothing stays referenced. The
// lease must be released. The pool does not bound how many leases run at
// once: that is the caller's admission (the host's prediction slots).
func (p *Pool[T]) Acquire(ctx context.Context, device string, models ...string) (*Lease[T], error) {
	if len(models) == 0 {
		return nil, ErrNoModels
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return p.attach(ctx, device, dedupe(models))
}

func dedupe(models []string) []string {
	out := make([]string, 0, len(models))
	for _, m := range models {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// attach counts a lease on the named device and takes a reference on each
// model, starting loads as needed, and gives everything back on failure.
func (p *Pool[T]) attach(ctx context.Context, device string, models []string) (*Lease[T], error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	d := p.take(device)
	now := time.Now()
	ents := make([]*entry[T], len(models))
	calls := make([]*loadCall, 0, len(models))
	for i, m := range models {
		k := Key{Model: m, Device: device}
		e := p.entries[k]
		if e == nil {
			e = &entry[T]{key: k}
			p.entries[k] = e
		}
		ents[i] = e
		e.refs++
		e.lastUse = now
		e.stopTimer()
		if e.loaded {
			continue
		}
		if e.load == nil {
			e.load = &loadCall{done: make(chan struct{})}
			go p.runLoad(ctx, e, e.load, e.destroy)
		}
		calls = append(calls, e.load)
	}
	p.mu.Unlock()
	p.report(d)

	var err error
	for _, c := range calls {
		select {
		case <-c.done:
			err = c.err
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			break
		}
	}

	p.mu.Lock()
	if err == nil && p.closed {
		err = ErrClosed
	}
	if err != nil {
		jobs := p.unrefAll(ents, time.Now())
		p.put(d)
		p.checkDrained()
		p.mu.Unlock()
		p.report(d)
		p.runDestroys(jobs)
		return nil, err
	}
	l := &Lease[T]{p: p, dev: d, entries: ents, vals: make(map[string]T, len(ents))}
	for _, e := range ents {
		// A referenced model cannot have been evicted since its load
		// returned: eviction only takes models with no references.
		l.vals[e.key.Model] = e.val
	}
	p.mu.Unlock()
	return l, nil
}

// runLoad performs one load for e and publishes the outcome to its waiters.
// prev, when non-nil, is a destroy of the previous value that must finish
// first so that two values of one key never coexist.
func (p *Pool[T]) runLoad(parent context.Context, e *entry[T], c *loadCall, prev <-chan struct{}) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), p.cfg.loadTimeout)
	defer cancel()
	defer context.AfterFunc(p.ctx, cancel)()

	var (
		v     T
		err   error
		dur   time.Duration
		bytes uint64
	)
	if prev != nil {
		select {
		case <-prev:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err == nil {
		var before uint64
		if p.cfg.probe != nil {
			before = p.cfg.probe()
		}
		start := time.Now()
		v, err = p.load(ctx, e.key)
		dur = time.Since(start)
		if p.cfg.probe != nil {
			if after := p.cfg.probe(); after > before {
				bytes = after - before
			}
		}
	}

	var job *destroyJob[T]
	p.mu.Lock()
	e.load = nil
	if err != nil {
		err = fmt.Errorf("warmpool: load %v: %w", e.key, err)
		c.err = err
		if e.refs == 0 {
			p.forgetIfUnused(e)
		}
	} else {
		e.val, e.loaded = v, true
		e.loads++
		e.loadTime, e.loadBytes = dur, bytes
		if e.refs == 0 {
			// Every waiter left: the pool owns the value.
			if p.closed {
				job = p.markDestroy(e, ReasonTeardown)
			} else {
				p.startTimer(e)
			}
		}
	}
	close(c.done)
	p.checkDrained()
	p.mu.Unlock()

	if o := p.cfg.obs; o != nil {
		o.Loaded(e.key, dur, bytes, err)
	}
	if job != nil {
		p.runDestroy(*job)
	}
}

// unrefAll drops one reference on each entry. Called with p.mu held; the
// returned destroys must run after unlocking.
func (p *Pool[T]) unrefAll(ents []*entry[T], now time.Time) []destroyJob[T] {
	var jobs []destroyJob[T]
	for _, e := range ents {
		e.refs--
		e.lastUse = now
		if e.refs > 0 {
			continue
		}
		switch {
		case e.loaded && p.closed:
			jobs = append(jobs, *p.markDestroy(e, ReasonTeardown))
		case e.loaded:
			p.startTimer(e)
		case e.load == nil:
			p.forgetIfUnused(e)
		}
	}
	return jobs
}

// forgetIfUnused drops an entry that never loaded and that nothing refers to,
// so that requests for unknown models do not grow the map.
func (p *Pool[T]) forgetIfUnused(e *entry[T]) {
	if e.refs == 0 && !e.loaded && e.load == nil && e.destroy == nil && e.loads == 0 {
		delete(p.entries, e.key)
	}
}

func (e *entry[T]) stopTimer() {
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
	e.gen++
}

func (p *Pool[T]) startTimer(e *entry[T]) {
	e.stopTimer()
	gen := e.gen
	e.timer = time.AfterFunc(p.cfg.idleTimeout, func() { p.expire(e, gen) })
}

// expire is the idle timer's callback. Stop cannot recall a callback that
// already started, hence the generation check.
func (p *Pool[T]) expire(e *entry[T], gen uint64) {
	p.mu.Lock()
	if e.gen != gen || e.refs != 0 || !e.loaded {
		p.mu.Unlock()
		return
	}
	job := p.markDestroy(e, ReasonIdle)
	p.mu.Unlock()
	p.runDestroy(*job)
}

// markDestroy takes e's value out of the pool. Called with p.mu held on a
// loaded entry with no references; the caller runs the job unlocked.
func (p *Pool[T]) markDestroy(e *entry[T], reason EvictReason) *destroyJob[T] {
	e.stopTimer()
	job := &destroyJob[T]{e: e, v: e.val, reason: reason}
	var zero T
	e.val, e.loaded = zero, false
	e.destroy = make(chan struct{})
	e.evictions++
	return job
}

func (p *Pool[T]) runDestroy(j destroyJob[T]) {
	err := p.destroy(j.e.key, j.v)
	if err != nil {
		err = fmt.Errorf("warmpool: destroy %v: %w", j.e.key, err)
	}
	p.mu.Lock()
	close(j.e.destroy)
	j.e.destroy = nil
	if err != nil && j.reason == ReasonTeardown {
		p.teardownErr = append(p.teardownErr, err)
	}
	p.checkDrained()
	p.mu.Unlock()
	if o := p.cfg.obs; o != nil {
		o.Evicted(j.e.key, j.reason, err)
	}
}

func (p *Pool[T]) runDestroys(jobs []destroyJob[T]) {
	for _, j := range jobs {
		p.runDestroy(j)
	}
}

// checkDrained closes p.drained once Teardown has started and no value is
// loaded, loading or being destroyed. Called with p.mu held.
func (p *Pool[T]) checkDrained() {
	if !p.closed || p.drainedDone {
		return
	}
	for _, e := range p.entries {
		if e.loaded || e.load != nil || e.destroy != nil {
			return
		}
	}
	p.drainedDone = true
	close(p.drained)
}

// EvictIdle destroys up to n loaded models that no lease holds, least
// recently used first, and returns how many it destroyed. The host calls it
// under memory pressure.
func (p *Pool[T]) EvictIdle(n int) int {
	if n <= 0 {
		return 0
	}
	p.mu.Lock()
	var idle []*entry[T]
	for _, e := range p.entries {
		if e.loaded && e.refs == 0 {
			idle = append(idle, e)
		}
	}
	slices.SortFunc(idle, func(a, b *entry[T]) int {
		return cmp.Or(a.lastUse.Compare(b.lastUse), compareKeys(a.key, b.key))
	})
	idle = idle[:min(n, len(idle))]
	jobs := make([]destroyJob[T], len(idle))
	for i, e := range idle {
		jobs[i] = *p.markDestroy(e, ReasonPressure)
	}
	p.mu.Unlock()
	p.runDestroys(jobs)
	return len(jobs)
}

// Teardown closes the pool: Acquire returns ErrClosed from now on, running
// loads are cancelled (an Acquire waiting for one fails), idle models are
// destroyed now and leased ones when their last lease is released. It waits
// until every model is destroyed and returns the joined destroy errors, or
// ctx's error (joined with those so far) if ctx ends first. It may be called
// again to keep waiting.
func (p *Pool[T]) Teardown(ctx context.Context) error {
	var jobs []destroyJob[T]
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		p.cancel()
		for _, e := range p.entries {
			if e.loaded && e.refs == 0 {
				jobs = append(jobs, *p.markDestroy(e, ReasonTeardown))
			}
		}
		p.checkDrained()
	}
	p.mu.Unlock()
	slices.SortFunc(jobs, func(a, b destroyJob[T]) int { return compareKeys(a.e.key, b.e.key) })
	p.runDestroys(jobs)

	var waitErr error
	select {
	case <-p.drained:
	case <-ctx.Done():
		waitErr = fmt.Errorf("warmpool: teardown: %w", ctx.Err())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return errors.Join(append([]error{waitErr}, p.teardownErr...)...)
}

// Stats returns a snapshot of every known key, sorted by device, then model.
func (p *Pool[T]) Stats() []ModelStats {
	p.mu.Lock()
	out := make([]ModelStats, 0, len(p.entries))
	for _, e := range p.entries {
		out = append(out, ModelStats{
			Key:       e.key,
			Refs:      e.refs,
			Loaded:    e.loaded,
			LastUse:   e.lastUse,
			LoadTime:  e.loadTime,
			LoadBytes: e.loadBytes,
			Loads:     e.loads,
			Evictions: e.evictions,
		})
	}
	p.mu.Unlock()
	slices.SortFunc(out, func(a, b ModelStats) int { return compareKeys(a.Key, b.Key) })
	return out
}

// Loaded returns how many models are loaded now, leased or idle.
func (p *Pool[T]) Loaded() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, e := range p.entries {
		if e.loaded {
			n++
		}
	}
	return n
}
