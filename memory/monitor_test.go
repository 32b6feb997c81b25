package memory

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestThresholds(t *testing.T) {
	cases := []struct {
		t    Thresholds
		f    float64
		want Level
	}{
		{Thresholds{}, 0, LevelOK},
		{Thresholds{}, 0.79, LevelOK},
		{Thresholds{}, 0.8, LevelWarning},
		{Thresholds{}, 0.949, LevelWarning},
		{Thresholds{}, 0.95, LevelCritical},
		{Thresholds{}, 1.7, LevelCritical},
		{Thresholds{Warning: 0.5, Critical: 0.7}, 0.49, LevelOK},
		{Thresholds{Warning: 0.5, Critical: 0.7}, 0.6, LevelWarning},
		{Thresholds{Warning: 0.5, Critical: 0.7}, 0.7, LevelCritical},
		{Thresholds{Warning: 0.5}, 0.9, LevelWarning},
	}
	for _, c := range cases {
		if got := c.t.Level(c.f); got != c.want {
			t.Errorf("%+v.Level(%v) = %v, want %v", c.t, c.f, got, c.want)
		}
	}
	if LevelCritical.String() != "critical" || Level(7).String() != "Level(7)" {
		t.Error("Level.String")
	}
}

// scriptedHost is a probe over a copied fixture whose RSS the test sets; the
// fixture has no cgroup limit, so Used is the RSS and Limit the budget.
type scriptedHost struct {
	t      *testing.T
	status string
}

func newScriptedHost(t *testing.T) (*scriptedHost, string) {
	dir := copyFixture(t, "v1-hybrid")
	return &scriptedHost{t, filepath.Join(dir, "proc/self/status")}, dir
}

func (h *scriptedHost) setRSS(b uint64) {
	writeFile(h.t, h.status, fmt.Sprintf("VmRSS:\t%d kB\nRssAnon:\t%d kB\n", b/1024, b/1024))
}

type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) add(e Event) { r.mu.Lock(); r.events = append(r.events, e); r.mu.Unlock() }

func (r *recorder) transitions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, fmt.Sprintf("%s:%v>%v", e.Resource, e.From, e.To))
	}
	return out
}

// syncBuffer lets the sampling goroutine log while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestMonitorLevels(t *testing.T) {
	host, dir := newScriptedHost(t)
	gpu := &fakeGPU{total: 100 * gib}
	lib, _ := fakeNVML(true, gpu)
	p := fixtureProbe(t, dir, WithBudget(1000*mib), WithNVML(lib))
	var rec recorder
	var logs syncBuffer
	m := NewMonitor(p, time.Hour, Thresholds{}, Thresholds{Warning: 0.5, Critical: 0.9},
		WithOnLevelChange(rec.add), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))

	steps := []struct {
		rss, gpuUsed uint64
		level        Level
	}{
		{500 * mib, 10 * gib, LevelOK},
		{850 * mib, 10 * gib, LevelWarning},  // memory crosses 0.8
		{900 * mib, 60 * gib, LevelWarning},  // still warning; GPU crosses 0.5
		{970 * mib, 60 * gib, LevelCritical}, // memory critical
		{960 * mib, 95 * gib, LevelCritical}, // GPU critical too
		{500 * mib, 95 * gib, LevelCritical}, // memory recovers, GPU holds it
		{500 * mib, 20 * gib, LevelOK},
		{820 * mib, 20 * gib, LevelWarning}, // a second crossing reports again
	}
	for i, st := range steps {
		host.setRSS(st.rss)
		gpu.used.Store(st.gpuUsed)
		s, err := m.Sample()
		if err != nil {
			t.Fatal(err)
		}
		if s.Used() != st.rss || m.Latest().Time != s.Time {
			t.Fatalf("step %d: used %d, latest %v", i, s.Used(), m.Latest().Time)
		}
		if got := m.Level(); got != st.level {
			t.Fatalf("step %d: Level %v, want %v", i, got, st.level)
		}
	}
	want := []string{
		"memory:ok>warning",
		"gpu0:ok>warning",
		"memory:warning>critical",
		"gpu0:warning>critical",
		"memory:critical>ok",
		"gpu0:critical>ok",
		"memory:ok>warning",
	}
	if got := rec.transitions(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("events\n got %v\nwant %v", got, want)
	}
	if e := rec.events[0]; e.Fraction != 0.85 || e.Snapshot.RSS != 850*mib {
		t.Fatalf("first event %+v", e)
	}
	out := logs.String()
	if n := strings.Count(out, "memory pressure warning"); n != 3 {
		t.Fatalf("%d warning lines, want 3 (one per crossing):\n%s", n, out)
	}
	if n := strings.Count(out, "memory pressure critical"); n != 2 {
		t.Fatalf("%d critical lines, want 2:\n%s", n, out)
	}
	if !strings.Contains(out, "resource=gpu0") || !strings.Contains(out, "limit=1000MiB") {
		t.Fatalf("log lacks context:\n%s", out)
	}
}

func TestMonitorSamplingFailure(t *testing.T) {
	host, dir := newScriptedHost(t)
	p := fixtureProbe(t, dir, WithBudget(1000*mib))
	var logs syncBuffer
	m := NewMonitor(p, time.Hour, Thresholds{}, Thresholds{}, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	host.setRSS(300 * mib)
	good, err := m.Sample()
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(host.status)
	for range 3 {
		if _, err := m.Sample(); err == nil {
			t.Fatal("Sample succeeded without /proc/self/status")
		}
	}
	if m.Latest().Time != good.Time {
		t.Fatal("a failed sample replaced Latest")
	}
	host.setRSS(400 * mib)
	if _, err := m.Sample(); err != nil || m.Latest().RSS != 400*mib {
		t.Fatalf("recovery: err %v latest RSS %d", err, m.Latest().RSS)
	}
	out := logs.String()
	if strings.Count(out, "memory sampling failed") != 1 || strings.Count(out, "memory sampling recovered") != 1 {
		t.Fatalf("want one failure and one recovery line:\n%s", out)
	}
}

// waitGoroutines waits for the goroutine count to fall back to n; exiting
// goroutines need a moment after signalling completion.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMonitorBackground(t *testing.T) {
	host, dir := newScriptedHost(t)
	p := fixtureProbe(t, dir, WithBudget(1000*mib))
	host.setRSS(100 * mib)
	before := runtime.NumGoroutine()

	critical := make(chan Event, 1)
	m := NewMonitor(p, 2*time.Millisecond, Thresholds{}, Thresholds{},
		WithLogger(slog.New(slog.DiscardHandler)),
		WithOnLevelChange(func(e Event) {
			if e.To == LevelCritical {
				select {
				case critical <- e:
				default:
				}
			}
		}))
	m.Start(context.Background())
	m.Start(context.Background()) // second Start is a no-op, not a second loop
	if s := m.Latest(); s.Time.IsZero() || s.RSS != 100*mib {
		t.Fatalf("Latest after Start: %+v", s)
	}
	host.setRSS(990 * mib)
	select {
	case e := <-critical:
		if e.Snapshot.RSS != 990*mib {
			t.Fatalf("event %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("background sampling never saw the critical level")
	}
	m.Stop()
	m.Stop()
	waitGoroutines(t, before)
	last := m.Latest().Time
	time.Sleep(20 * time.Millisecond)
	if m.Latest().Time != last {
		t.Fatal("sampling continued after Stop")
	}
}

func TestMonitorContextAndStopOrder(t *testing.T) {
	_, dir := newScriptedHost(t)
	p := fixtureProbe(t, dir)
	before := runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(context.Background())
	m := NewMonitor(p, time.Millisecond, Thresholds{}, Thresholds{}, WithLogger(slog.New(slog.DiscardHandler)))
	m.Start(ctx)
	cancel()
	waitGoroutines(t, before)
	m.Stop() // after ctx ended: must not block

	idle := NewMonitor(p, 0, Thresholds{}, Thresholds{})
	if idle.interval != 10*time.Second {
		t.Fatalf("default interval %v", idle.interval)
	}
	idle.Stop() // before Start
	idle.Start(context.Background())
	if !idle.Latest().Time.IsZero() {
		t.Fatal("Start after Stop sampled")
	}
	waitGoroutines(t, before)
}
