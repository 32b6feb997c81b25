package memory

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// Level is a memory pressure level.
type Level int

const (
	LevelOK Level = iota
	LevelWarning
	LevelCritical
)

func (l Level) String() string {
	switch l {
	case LevelOK:
		return "ok"
	case LevelWarning:
		return "warning"
	case LevelCritical:
		return "critical"
	}
	return "Level(" + strconv.Itoa(int(l)) + ")"
}

// Thresholds are the usage fractions at which pressure becomes a warning and
// critical. Zero fields take the defaults 0.8 and 0.95.
type Thresholds struct{ Warning, Critical float64 }

// Level classifies a usage fraction.
func (t Thresholds) Level(fraction float64) Level {
	t = t.orDefault()
	switch {
	case fraction >= t.Critical:
		return LevelCritical
	case fraction >= t.Warning:
		return LevelWarning
	}
	return LevelOK
}

func (t Thresholds) orDefault() Thresholds {
	if t.Warning == 0 {
		t.Warning = 0.8
	}
	if t.Critical == 0 {
		t.Critical = 0.95
	}
	return t
}

// ResourceMemory names host memory (Snapshot.Fraction) in Events; GPUs are
// named by GPUResource.
const ResourceMemory = "memory"

// GPUResource names GPU index i in Events.
func GPUResource(i int) string { return "gpu" + strconv.Itoa(i) }

// Event reports a resource moving from one pressure level to another.
type Event struct {
	Resource string
	From, To Level
	Fraction float64
	Snapshot Snapshot
}

// Monitor samples a Probe periodically, keeps the latest snapshot and reports
// pressure level changes.
type Monitor struct {
	p        *Probe
	interval time.Duration
	cpu, gpu Thresholds
	log      *slog.Logger
	onChange []func(Event)

	mu      sync.Mutex
	latest  Snapshot
	levels  map[string]Level
	failing bool
	started bool
	stopped bool
	cancel  context.CancelFunc
	done    chan struct{}

	// sampleMu serialises samples so that level transitions are evaluated
	// in order and each crossing is reported once.
	sampleMu sync.Mutex
}

// MonitorOption configures a Monitor.
type MonitorOption func(*Monitor)

// WithLogger sets where level changes and sampling failures are logged
// (default slog.Default()).
func WithLogger(l *slog.Logger) MonitorOption { return func(m *Monitor) { m.log = l } }

// WithOnLevelChange adds a callback for level changes. Callbacks run on the
// sampling goroutine, one at a time, and should return quickly.
func WithOnLevelChange(fn func(Event)) MonitorOption {
	return func(m *Monitor) { m.onChange = append(m.onChange, fn) }
}

// NewMonitor returns a Monitor sampling p every interval (10s if not
// positive), judging host memory by cpu and each GPU by gpu.
func NewMonitor(p *Probe, interval time.Duration, cpu, gpu Thresholds, opts ...MonitorOption) *Monitor {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	m := &Monitor{p: p, interval: interval, cpu: cpu, gpu: gpu, log: slog.Default(), levels: map[string]Level{}}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Start takes a first sample, so Latest is valid on return, then samples in
// the background until ctx is done or Stop is called. Calls after the first,
// or after Stop, do nothing.
func (m *Monitor) Start(ctx context.Context) {
	m.mu.Lock()
	if m.started || m.stopped {
		m.mu.Unlock()
		return
	}
	m.started = true
	ctx, m.cancel = context.WithCancel(ctx)
	m.done = make(chan struct{})
	m.mu.Unlock()

	m.Sample()
	go m.loop(ctx)
}

func (m *Monitor) loop(ctx context.Context) {
	defer close(m.done)
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.Sample()
		}
	}
}

// Stop ends background sampling and waits for it to finish. It may be called
// more than once, and before Start.
func (m *Monitor) Stop() {
	m.mu.Lock()
	m.stopped = true
	cancel, done := m.cancel, m.done
	m.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// Latest returns the most recent snapshot (zero before the first sample).
func (m *Monitor) Latest() Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.latest
}

// Level returns the worst current level across host memory and GPUs.
func (m *Monitor) Level() Level {
	m.mu.Lock()
	defer m.mu.Unlock()
	worst := LevelOK
	for _, l := range m.levels {
		worst = max(worst, l)
	}
	return worst
}

// Sample takes a snapshot now, records it as Latest and reports level
// changes; callers use it to see the effect of an eviction without waiting
// for the next tick. A partial snapshot (some GPUs unreadable) is still
// recorded; a failed one keeps the previous Latest.
func (m *Monitor) Sample() (Snapshot, error) {
	m.sampleMu.Lock()
	defer m.sampleMu.Unlock()

	s, err := m.p.Snapshot()
	m.noteError(err)
	if s.Time.IsZero() {
		return s, err
	}
	type reading struct {
		resource string
		fraction float64
		level    Level
	}
	readings := []reading{{ResourceMemory, s.Fraction(), m.cpu.Level(s.Fraction())}}
	for _, g := range s.GPUs {
		f := g.Fraction()
		readings = append(readings, reading{GPUResource(g.Index), f, m.gpu.Level(f)})
	}

	var events []Event
	m.mu.Lock()
	m.latest = s
	for _, r := range readings {
		if from := m.levels[r.resource]; from != r.level {
			events = append(events, Event{Resource: r.resource, From: from, To: r.level, Fraction: r.fraction, Snapshot: s})
		}
		m.levels[r.resource] = r.level
	}
	m.mu.Unlock()

	for _, e := range events {
		m.logEvent(e)
		for _, fn := range m.onChange {
			fn(e)
		}
	}
	return s, err
}

func (m *Monitor) logEvent(e Event) {
	attrs := []any{"resource", e.Resource, "from", e.From.String(), "to", e.To.String(),
		"fraction", e.Fraction, "used", FormatBytes(e.Snapshot.Used()), "limit", FormatBytes(e.Snapshot.Limit)}
	switch e.To {
	case LevelCritical:
		m.log.Error("memory pressure critical", attrs...)
	case LevelWarning:
		m.log.Warn("memory pressure warning", attrs...)
	default:
		m.log.Info("memory pressure back to normal", attrs...)
	}
}

// noteError logs the first failure of a streak and the recovery, not every
// tick of a persistent fault.
func (m *Monitor) noteError(err error) {
	m.mu.Lock()
	first, recovered := err != nil && !m.failing, err == nil && m.failing
	m.failing = err != nil
	m.mu.Unlock()
	switch {
	case first:
		m.log.Error("memory sampling failed", "err", err)
	case recovered:
		m.log.Info("memory sampling recovered")
	}
}
