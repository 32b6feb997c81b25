// Package memory measures the host's real memory (process RSS, the cgroup v2
// limit and working set, physical RAM, GPU memory through NVML) so that work
// is admitted against what is actually free, and watches it for pressure.
package memory

import (
	"errors"
	"fmt"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// ErrClosed is returned by Snapshot after Close.
var ErrClosed = errors.New("memory: probe closed")

// Snapshot is one reading of every memory figure the host uses.
type Snapshot struct {
	Time time.Time `json:"time"`
	// RSS, RSSAnon, RSSFile are VmRSS, RssAnon, RssFile of /proc/self/status.
	// ONNX Runtime's heap is in RSSAnon; mmapped model files in RSSFile.
	RSS     uint64 `json:"rss"`
	RSSAnon uint64 `json:"rss_anon"`
	RSSFile uint64 `json:"rss_file"`
	// GoHeapInUse is heap spans holding objects or awaiting reuse; GoSys is
	// everything the Go runtime mapped. C allocations are in neither.
	GoHeapInUse uint64 `json:"go_heap_in_use"`
	GoSys       uint64 `json:"go_sys"`
	// Cgroup is nil outside a cgroup v2 memory controller (cgroup v1 and
	// hybrid hosts included).
	Cgroup    *Cgroup `json:"cgroup"`
	Physical  uint64  `json:"physical"`  // MemTotal
	Available uint64  `json:"available"` // MemAvailable
	Budget    uint64  `json:"budget"`    // configured budget, 0 = none
	// Limit is the tightest of the cgroup's memory.max and memory.high, the
	// budget and physical RAM.
	Limit uint64 `json:"limit"`
	GPUs  []GPU  `json:"gpus"`
}

// Used is what counts against Limit: the cgroup working set when a cgroup
// limit applies (it includes page cache that cannot be reclaimed and other
// processes in the cgroup, which the kernel counts too), else the process RSS.
func (s Snapshot) Used() uint64 {
	if s.Cgroup != nil && s.Cgroup.Limit() != 0 {
		return s.Cgroup.WorkingSet
	}
	return s.RSS
}

// Fraction is Used/Limit, 0 when there is no limit.
func (s Snapshot) Fraction() float64 {
	if s.Limit == 0 {
		return 0
	}
	return float64(s.Used()) / float64(s.Limit)
}

// Probe reads memory figures. It is safe for concurrent use.
type Probe struct {
	procRoot, cgroupRoot string
	budget               atomic.Uint64
	lib                  nvml.Interface

	// mu orders Close after in-flight NVML queries.
	mu     sync.RWMutex
	closed bool

	gpuOnce sync.Once
	nvmlUp  bool
	gpus    []*gpuDevice
	gpuErr  error

	metricsMu sync.Mutex
	samples   []metrics.Sample
}

// Option configures a Probe.
type Option func(*Probe)

// WithProcRoot reads /proc files from dir instead of "/proc".
func WithProcRoot(dir string) Option { return func(p *Probe) { p.procRoot = dir } }

// WithCgroupRoot sets where the cgroup v2 hierarchy is mounted (default
// "/sys/fs/cgroup").
func WithCgroupRoot(dir string) Option { return func(p *Probe) { p.cgroupRoot = dir } }

// WithBudget caps Limit at bytes, for hosts that must leave room for others
// beyond what the cgroup enforces. 0 means no budget.
func WithBudget(bytes uint64) Option { return func(p *Probe) { p.budget.Store(bytes) } }

// SetBudget changes the budget of a running probe (0: none), e.g. when a
// deployment resizes the host.
func (p *Probe) SetBudget(bytes uint64) { p.budget.Store(bytes) }

// WithNVML sets the NVML library (default nvml.New(), which loads
// libnvidia-ml.so.1 on first use). Init is called lazily, on the first
// Snapshot or GPUAvailable.
func WithNVML(lib nvml.Interface) Option { return func(p *Probe) { p.lib = lib } }

// Go runtime metrics read per snapshot; unlike runtime.ReadMemStats, reading
// them does not stop the world.
var metricNames = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/total:bytes",
}

// NewProbe returns a Probe, failing when the process's /proc status or
// meminfo cannot be read, since no snapshot could be taken either.
func NewProbe(opts ...Option) (*Probe, error) {
	p := &Probe{procRoot: "/proc", cgroupRoot: "/sys/fs/cgroup"}
	for _, o := range opts {
		o(p)
	}
	if p.lib == nil {
		p.lib = nvml.New()
	}
	if _, err := readStatus(p.procRoot); err != nil {
		return nil, err
	}
	if _, _, err := readMeminfo(p.procRoot); err != nil {
		return nil, err
	}
	p.samples = make([]metrics.Sample, len(metricNames))
	for i, n := range metricNames {
		p.samples[i].Name = n
	}
	return p, nil
}

// Snapshot reads all figures. When only some GPUs could be read (ErrNVML) the
// returned snapshot is complete except for them; other errors leave it zero.
func (p *Probe) Snapshot() (Snapshot, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return Snapshot{}, ErrClosed
	}
	s := Snapshot{Time: time.Now(), Budget: p.budget.Load()}
	st, err := readStatus(p.procRoot)
	if err != nil {
		return Snapshot{}, err
	}
	s.RSS, s.RSSAnon, s.RSSFile = st.rss, st.anon, st.file
	if s.Physical, s.Available, err = readMeminfo(p.procRoot); err != nil {
		return Snapshot{}, err
	}
	if s.Cgroup, err = readCgroup(p.procRoot, p.cgroupRoot); err != nil {
		return Snapshot{}, err
	}
	s.GoHeapInUse, s.GoSys = p.goMemory()

	s.Limit = s.Physical
	if s.Cgroup != nil {
		s.Limit = minNonZero(s.Limit, s.Cgroup.Limit())
	}
	s.Limit = minNonZero(s.Limit, s.Budget)

	s.GPUs, err = p.readGPUs()
	return s, err
}

func (p *Probe) goMemory() (heapInUse, sys uint64) {
	p.metricsMu.Lock()
	defer p.metricsMu.Unlock()
	metrics.Read(p.samples)
	v := func(i int) uint64 {
		if p.samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return p.samples[i].Value.Uint64()
	}
	return v(0) + v(1), v(2)
}

// RSS returns the process's resident set size, 0 if it cannot be read. It
// reads one small /proc file, cheap enough to call per request.
func (p *Probe) RSS() uint64 {
	st, err := readStatus(p.procRoot)
	if err != nil {
		return 0
	}
	return st.rss
}

// GPUAvailable reports whether NVML initialised and found at least one GPU.
func (p *Probe) GPUAvailable() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return false
	}
	p.initGPU()
	return len(p.gpus) > 0
}

// Close shuts NVML down if this probe initialised it. Later Snapshots fail
// with ErrClosed; RSS keeps working.
func (p *Probe) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	if !p.nvmlUp {
		return nil
	}
	if ret := p.lib.Shutdown(); ret != nvml.SUCCESS {
		return fmt.Errorf("%w: shutdown: %v", ErrNVML, ret)
	}
	return nil
}
