package main

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/ocrhost/ocrhost/events"
	"github.com/ocrhost/ocrhost/host"
)

// idleWatch tells when a host has had nothing to do for a whole period: no
// request being received or invoked on any transport and no model loaded.
// A host started on demand (a job runner, KEDA scaling a Deployment) then
// exits by itself and its replicas go back toward zero. Models stay loaded
// for OCRHOST_MODEL_IDLE_TIMEOUT after their last use, so a host exits that
// long plus the period after its last request.
type idleWatch struct {
	period time.Duration
	loaded func() bool

	mu     sync.Mutex
	active int
	since  time.Time // start of the present idle stretch
}

// newIdleWatch makes a watch; loaded reports whether any model is loaded or
// loading.
func newIdleWatch(period time.Duration, loaded func() bool) *idleWatch {
	return &idleWatch{period: period, loaded: loaded}
}

func (w *idleWatch) begin() {
	w.mu.Lock()
	w.active++
	w.mu.Unlock()
}

func (w *idleWatch) end() {
	w.mu.Lock()
	w.active--
	w.since = time.Now()
	w.mu.Unlock()
}

// idleFor is how long the host has been idle at now; 0 while it is busy.
func (w *idleWatch) idleFor(now time.Time) time.Duration {
	loaded := w.loaded()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.active > 0 {
		return 0
	}
	if loaded {
		w.since = now
		return 0
	}
	return now.Sub(w.since)
}

// idle returns a channel closed once the host has been idle for the whole
// period. Models unload on their own timers, not through an event this
// could wait on, so it checks at a tenth of the period (10 ms to 1 s).
func (w *idleWatch) idle(ctx context.Context) <-chan struct{} {
	w.mu.Lock()
	w.since = time.Now() // the clock starts when the host starts serving
	w.mu.Unlock()
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(min(max(w.period/10, 10*time.Millisecond), time.Second))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				if w.idleFor(now) >= w.period {
					close(done)
					return
				}
			}
		}
	}()
	return done
}

// invoker counts every invocation, whichever transport made it.
func (w *idleWatch) invoker(inv events.Invoker) events.Invoker { return idleInvoker{inv, w} }

type idleInvoker struct {
	inv events.Invoker
	w   *idleWatch
}

func (i idleInvoker) Invoke(ctx context.Context, req *host.Request) (*host.Response, error) {
	i.w.begin()
	defer i.w.end()
	return i.inv.Invoke(ctx, req)
}

// handler counts an HTTP request from its headers on, so that a large
// upload still arriving keeps the host up. Probes and metrics are not
// wrapped: a kubelet polling /readyz is not work.
func (w *idleWatch) handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.begin()
		defer w.end()
		h.ServeHTTP(rw, r)
	})
}

// modelsLoaded reports whether the pool holds or is loading any model.
func modelsLoaded(h *host.Host) func() bool {
	return func() bool {
		for _, s := range h.Pool().Stats() {
			if s.Loaded || s.Refs > 0 {
				return true
			}
		}
		return false
	}
}
