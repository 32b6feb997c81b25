package warmpool

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// device holds the lease slots of one device. Fields other than the gauge
// mirrors are guarded by Pool.mu.
type device struct {
	name    string
	inUse   int
	waiters list.List // of *waiter, oldest first

	// Mirrors of inUse and waiters.Len() for reporting outside Pool.mu.
	inUseN, waitingN atomic.Int64
}

type waiter struct {
	ready chan struct{} // closed when a slot is handed over or the pool closes
	err   error         // set before ready is closed when no slot was handed over
}

func (d *device) sync() {
	d.inUseN.Store(int64(d.inUse))
	d.waitingN.Store(int64(d.waiters.Len()))
}

// failWaiters wakes every queued waiter with err and reports whether any was
// queued. Called with Pool.mu held.
func (d *device) failWaiters(err error) bool {
	if d.waiters.Len() == 0 {
		return false
	}
	for el := d.waiters.Front(); el != nil; el = el.Next() {
		w := el.Value.(*waiter)
		w.err = err
		close(w.ready)
	}
	d.waiters.Init()
	d.sync()
	return true
}

// reserve takes a lease slot on the named device, waiting in FIFO order.
func (p *Pool[T]) reserve(ctx context.Context, name string) (*device, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	d := p.devices[name]
	if d == nil {
		d = &device{name: name}
		p.devices[name] = d
	}
	if d.inUse < p.cfg.maxLeases && d.waiters.Len() == 0 {
		d.inUse++
		d.sync()
		p.mu.Unlock()
		p.report(d)
		return d, nil
	}
	if p.cfg.queueTimeout == 0 {
		p.mu.Unlock()
		return nil, fmt.Errorf("%w: device %q has %d leases in use", ErrBusy, name, p.cfg.maxLeases)
	}
	w := &waiter{ready: make(chan struct{})}
	el := d.waiters.PushBack(w)
	d.sync()
	p.mu.Unlock()
	p.report(d)

	timer := time.NewTimer(p.cfg.queueTimeout)
	defer timer.Stop()
	var ctxErr error
	select {
	case <-w.ready:
		if w.err != nil {
			return nil, w.err
		}
		return d, nil
	case <-ctx.Done():
		ctxErr = ctx.Err()
	case <-timer.C:
	}

	p.mu.Lock()
	select {
	case <-w.ready:
		// Handed a slot (or closed) after giving up: hand the slot on.
		if w.err == nil {
			p.releaseSlot(d)
		}
	default:
		d.waiters.Remove(el)
		d.sync()
	}
	p.mu.Unlock()
	p.report(d)

	switch {
	case errors.Is(ctxErr, context.DeadlineExceeded):
		return nil, fmt.Errorf("%w: device %q: %w", ErrBusy, name, ctxErr)
	case ctxErr != nil:
		return nil, ctxErr
	}
	return nil, fmt.Errorf("%w: device %q: no lease free after %v", ErrBusy, name, p.cfg.queueTimeout)
}

// releaseSlot hands the slot to the oldest waiter, or frees it. Called with
// Pool.mu held; the caller reports d after unlocking.
func (p *Pool[T]) releaseSlot(d *device) {
	if el := d.waiters.Front(); el != nil {
		d.waiters.Remove(el)
		close(el.Value.(*waiter).ready)
	} else {
		d.inUse--
	}
	d.sync()
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
	o.Waiting(d.name, int(d.waitingN.Load()))
	o.InUse(d.name, int(d.inUseN.Load()))
}

// Lease holds one slot on a device and a reference on each of its models. It
// is one "service instance": what one invocation needs.
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

// Device returns the device the lease holds a slot on.
func (l *Lease[T]) Device() string { return l.dev.name }

// Release returns the slot and the model references. It is idempotent, so it
// is safe to defer on every path. After Teardown it destroys the models whose
// last reference it drops before returning.
func (l *Lease[T]) Release() {
	if l == nil || !l.released.CompareAndSwap(false, true) {
		return
	}
	p := l.p
	p.mu.Lock()
	jobs := p.unrefAll(l.entries, time.Now())
	p.releaseSlot(l.dev)
	p.checkDrained()
	p.mu.Unlock()
	p.report(l.dev)
	p.runDestroys(jobs)
}
