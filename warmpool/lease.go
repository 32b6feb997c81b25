package warmpool

import (
	"sync/atomic"
	"time"
)

// device counts the leases held on one device, for the observer. inUse is
// guarded by Pool.mu; inUseN mirrors it for reporting outside the lock.
type device struct {
	name   string
	inUse  int
	inUseN atomic.Int64
}

// take counts a new lease on the named device. Called with Pool.mu held.
func (p *Pool[T]) take(name string) *device {
	d := p.devices[name]
	if d == nil {
		d = &device{name: name}
		p.devices[name] = d
	}
	d.inUse++
	d.inUseN.Store(int64(d.inUse))
	return d
}

// put uncounts a lease on d. Called with Pool.mu held; the caller reports
// d after unlocking.
func (p *Pool[T]) put(d *device) {
	d.inUse--
	d.inUseN.Store(int64(d.inUse))
}

// report sends d's current gauges to the observer. notifyMu makes read and
// send one step, so a stale value can never be sent after a newer one.
func (p *Pool[T]) report(d *device) {
	o := p.cfg.obs
	if o == nil {
		return
	}
	p.notifyMu.Lock()
	defer p.notifyMu.Unlock()
	o.InUse(d.name, int(d.inUseN.Load()))
}

// Lease holds a reference on each of its models on one device. It is one
// "service instance": what one invocation needs.
type Lease[T any] struct {
	p        *Pool[T]
	dev      *device
	entries  []*entry[T]
	vals     map[string]T // read-only after Acquire
	released atomic.Bool
}

// Get returns the value of one of the leased models. It returns the zero value
// for a model the lease does not hold and after Release, when the value may
// already be destroyed.
func (l *Lease[T]) Get(model string) T {
	if l.released.Load() {
		var zero T
		return zero
	}
	return l.vals[model]
}

// Device returns the device the lease's models are on.
func (l *Lease[T]) Device() string { return l.dev.name }

// Release returns the model references. It is idempotent, so it
// is safe to defer on every path. After Teardown it destroys the models whose
// last reference it drops before returning.
func (l *Lease[T]) Release() {
	if l == nil || !l.released.CompareAndSwap(false, true) {
		return
	}
	p := l.p
	p.mu.Lock()
	jobs := p.unrefAll(l.entries, time.Now())
	p.put(l.dev)
	p.checkDrained()
	p.mu.Unlock()
	p.report(l.dev)
	p.runDestroys(jobs)
}
