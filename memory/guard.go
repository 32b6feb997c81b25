package memory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// ErrInsufficientMemory means an invocation cannot fit under the critical
// threshold, even after evicting idle models and waiting. It is retryable.
var ErrInsufficientMemory = errors.New("memory: insufficient memory")

// Evictor frees idle models, least recently used first, and says how many
// it freed; the host's warm pool is one.
type Evictor interface{ EvictIdle(n int) int }

// GuardObserver receives the guard's decisions, for metrics. Methods must be
// cheap and must not block.
type GuardObserver interface {
	Admitted(need uint64, waited time.Duration)
	Rejected(need uint64)
	EvictedForMemory(n int)
	Fallback(from, to string)
}

// Guard admits invocations only when their predicted need fits: measured
// use plus the needs of invocations already admitted plus this one must stay
// under the critical threshold of the effective limit. When it does not fit
// the guard evicts idle models, least recently used first, then waits for
// running invocations to finish, then refuses.
type Guard struct {
	mon      *Monitor
	cpu, gpu Thresholds
	evict    Evictor
	fallback bool
	obs      GuardObserver
	recheck  time.Duration

	mu       sync.Mutex
	reserved uint64
	changed  chan struct{} // closed and replaced whenever a reservation ends
}

// GuardOption configures a Guard.
type GuardOption func(*Guard)

// WithEvictor lets the guard evict idle models under pressure.
func WithEvictor(e Evictor) GuardOption { return func(g *Guard) { g.evict = e } }

// WithCPUFallback allows running on the CPU when the GPU is short (default true).
func WithCPUFallback(on bool) GuardOption { return func(g *Guard) { g.fallback = on } }

// WithGuardObserver reports admissions, rejections, evictions, fallbacks.
func WithGuardObserver(o GuardObserver) GuardOption { return func(g *Guard) { g.obs = o } }

// WithRecheck sets how often a waiting invocation measures again even when
// no other invocation finished (memory also falls when idle models expire).
func WithRecheck(d time.Duration) GuardOption {
	return func(g *Guard) {
		if d > 0 {
			g.recheck = d
		}
	}
}

// NewGuard returns a guard judging the monitor's readings by the same
// thresholds the monitor uses.
func NewGuard(mon *Monitor, opts ...GuardOption) *Guard {
	g := &Guard{mon: mon, cpu: mon.cpu.orDefault(), gpu: mon.gpu.orDefault(), fallback: true,
		recheck: 250 * time.Millisecond, changed: make(chan struct{})}
	for _, o := range opts {
		o(g)
	}
	return g
}

// Admit reserves need bytes of host memory for one invocation and returns
// the reservation, which the caller releases (in a defer). It waits until
// ctx ends at most; then it fails with ErrInsufficientMemory.
func (g *Guard) Admit(ctx context.Context, need uint64) (*Reservation, error) {
	start := time.Now()
	trimmed := false
	for {
		snap, err := g.mon.Sample()
		if snap.Time.IsZero() {
			return nil, fmt.Errorf("memory: cannot measure: %w", err)
		}
		limit := uint64(float64(snap.Limit) * g.cpu.Critical)
		g.mu.Lock()
		used := snap.Used() + g.reserved
		if snap.Limit == 0 || used+need <= limit {
			g.reserved += need
			g.mu.Unlock()
			if g.obs != nil {
				g.obs.Admitted(need, time.Since(start))
			}
			return &Reservation{g: g, need: need}, nil
		}
		nothingRunning := g.reserved == 0
		wait := g.changed
		g.mu.Unlock()

		if g.evict != nil {
			if n := g.evict.EvictIdle(1); n > 0 {
				if g.obs != nil {
					g.obs.EvictedForMemory(n)
				}
				Release() // ORT frees with free(); only malloc_trim returns it
				continue
			}
		}
		fail := func(why string) error {
			if g.obs != nil {
				g.obs.Rejected(need)
			}
			return fmt.Errorf("%w: this invocation needs about %s; %s in use (models and running work) of a %s critical limit; %s",
				ErrInsufficientMemory, FormatBytes(need), FormatBytes(used), FormatBytes(limit), why)
		}
		if nothingRunning && !trimmed {
			// Freed memory glibc still holds counts as used until trimmed.
			trimmed = true
			Release()
			continue
		}
		if nothingRunning && used+need > limit && snap.Used() >= used {
			// Nothing will finish and nothing is left to evict: waiting is futile.
			return nil, fail("nothing left to evict or wait for")
		}
		timer := time.NewTimer(g.recheck)
		select {
		case <-wait:
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, fail("waited " + time.Since(start).Round(time.Millisecond).String())
		}
		timer.Stop()
	}
}

// A Reservation is the memory Admit set aside for one invocation.
type Reservation struct {
	g    *Guard
	need uint64 // guarded by g.mu; 0 once released
}

// Shrink lowers the reservation to need, when that is less than it holds:
// an invocation that learns, part way, that it needs less (a detection
// size chosen from the text) lets waiting work in sooner. It never grows a
// reservation, which would bypass admission.
func (r *Reservation) Shrink(need uint64) {
	r.g.mu.Lock()
	defer r.g.mu.Unlock()
	if need < r.need {
		r.g.reserved -= r.need - need
		r.need = need
		r.g.wake()
	}
}

// Release ends the reservation; calls after the first do nothing.
func (r *Reservation) Release() {
	r.g.mu.Lock()
	defer r.g.mu.Unlock()
	if r.need > 0 {
		r.g.reserved -= r.need
		r.need = 0
		r.g.wake()
	}
}

// wake tells the invocations waiting in Admit that the reservations
// changed; g.mu is held.
func (g *Guard) wake() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// Reserved is the predicted need of the invocations admitted and running.
func (g *Guard) Reserved() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.reserved
}

// Device picks where an invocation runs. "cpu" stays on the CPU. For
// "cuda:N" it checks GPU N's memory: when need would cross the GPU's
// critical threshold, or NVML shows no such GPU, it falls back to "cpu"
// if allowed (fallback true) or fails with ErrInsufficientMemory.
func (g *Guard) Device(preferred string, need uint64) (device string, fallback bool, err error) {
	idx, ok := cudaIndex(preferred)
	if !ok {
		return preferred, false, nil
	}
	snap := g.mon.Latest()
	if snap.Time.IsZero() || time.Since(snap.Time) > time.Second {
		if s, err := g.mon.Sample(); !s.Time.IsZero() || err == nil {
			snap = s
		}
	}
	var reason string
	found := false
	for _, gpu := range snap.GPUs {
		if gpu.Index != idx {
			continue
		}
		found = true
		used := gpu.Total - gpu.Free
		if gpu.Total > 0 && float64(used+need) <= float64(gpu.Total)*g.gpu.Critical {
			return preferred, false, nil
		}
		reason = fmt.Sprintf("GPU %d has %s free of %s; this invocation needs about %s", idx,
			FormatBytes(gpu.Free), FormatBytes(gpu.Total), FormatBytes(need))
	}
	if !found {
		reason = fmt.Sprintf("GPU %d is not visible through NVML", idx)
	}
	if !g.fallback {
		return "", false, fmt.Errorf("%w: %s and CPU fallback is off", ErrInsufficientMemory, reason)
	}
	if g.obs != nil {
		g.obs.Fallback(preferred, "cpu")
	}
	return "cpu", true, nil
}

func cudaIndex(device string) (int, bool) {
	rest, ok := strings.CutPrefix(device, "cuda:")
	if !ok {
		return 0, false
	}
	var n int
	if _, err := fmt.Sscanf(rest, "%d", &n); err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
