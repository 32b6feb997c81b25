package host

// The seed service crashed out of memory because every task built its own
// OCR service (loading every model), never unloaded it and ran without a
// concurrency limit. Its targets were 75% less memory and 4x the concurrency
// of that per-task loading. These benchmarks rebuild the per-task mode
// ("naive", test code only) next to a real Host and compare process RSS.
//
// Every measured phase runs in a fresh child process (this test binary
// re-executed), so each starts from the same floor: closed ORT sessions
// leave glibc heap behind that malloc_trim does not return (measured here:
// RssAnon 10 MB fresh, 104 MB after one naive batch of 8, 155 MB after
// three), which would otherwise inflate whichever phase runs later.
//
// Run them alone: go test -run '^$' -bench 'Seed|IdleAfterEviction' -benchtime 1x ./host/

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/imageio"
	"github.com/ocrhost/ocrhost/function/onnx"
	"github.com/ocrhost/ocrhost/internal/testenv"
	"github.com/ocrhost/ocrhost/memory"
)

const (
	// seedBudget is the memory budget of BenchmarkSeedConcurrency: the peak
	// RSS a batch of concurrent invocations may add above the process floor.
	// 1 GiB is a small container's worth of OCR memory and is crossed by a
	// handful of per-task invocations, so the naive capacity is measured
	// rather than extrapolated.
	seedBudget = 1 << 30
	// seedNaiveMaxK caps the naive concurrency sweep so that a budget far
	// above the per-invocation cost cannot put the shared machine at risk;
	// past it the capacity is extrapolated from the measured slope.
	seedNaiveMaxK = 24
	// seedQueueTimeout keeps the pooled runs from failing busy when other
	// work shares the CPU: queueing is the behaviour measured, not a failure.
	seedQueueTimeout = 10 * time.Minute
	seedMB           = 1 << 20
	// seedChildEnv carries a child process's seedSpec.
	seedChildEnv = "OCRHOST_SEED_BENCH_CHILD"
)

// seedPooledLevels are the concurrent request counts submitted to the host.
// Past the 2 admitted predictions extra requests only queue, so the levels
// grow fourfold rather than step, keeping the sweep within two minutes.
var seedPooledLevels = []int{2, 8, 32}

// seedProcMemory reads the process's resident set and its high-water mark.
func seedProcMemory() (rss, hwm uint64, err error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var dst *uint64
		switch {
		case strings.HasPrefix(sc.Text(), "VmRSS:"):
			dst = &rss
		case strings.HasPrefix(sc.Text(), "VmHWM:"):
			dst = &hwm
		default:
			continue
		}
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			return 0, 0, fmt.Errorf("malformed /proc/self/status line %q", sc.Text())
		}
		kb, err := strconv.ParseUint(fields[1], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/self/status: %w", err)
		}
		*dst = kb << 10
		found++
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if found != 2 {
		return 0, 0, errors.New("/proc/self/status lacks VmRSS or VmHWM")
	}
	return rss, hwm, nil
}

func seedRSS(b testing.TB) uint64 {
	b.Helper()
	rss, _, err := seedProcMemory()
	if err != nil {
		b.Fatal(err)
	}
	return rss
}

// seedSettle brings the process down to its floor: memory.Release runs a
// GC, debug.FreeOSMemory and malloc_trim, the last being what returns the
// memory of closed ORT sessions.
func seedSettle() { memory.Release() }

func seedResetPeak() error { return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// seedClearRefsWorks checks that writing 5 to clear_refs really resets
// VmHWM here (it needs Linux ≥ 4.0 and may be refused in a sandbox): a
// touched and freed 128 MiB buffer must leave VmHWM well above VmRSS, and
// the reset must bring it back down.
func seedClearRefsWorks(b testing.TB) bool {
	buf := make([]byte, 128*seedMB)
	for i := 0; i < len(buf); i += os.Getpagesize() {
		buf[i] = 1
	}
	runtime.KeepAlive(buf)
	buf = nil
	seedSettle()
	rss, hwm, err := seedProcMemory()
	if err != nil || hwm < rss+96*seedMB {
		b.Logf("peak: cannot verify clear_refs (rss %d MB, hwm %d MB, err %v); sampling RSS every 1 ms", rss/seedMB, hwm/seedMB, err)
		return false
	}
	if err := seedResetPeak(); err != nil {
		b.Logf("peak: clear_refs refused (%v); sampling RSS every 1 ms", err)
		return false
	}
	rss, hwm, err = seedProcMemory()
	if err != nil || hwm >= rss+16*seedMB {
		b.Logf("peak: clear_refs did not reset VmHWM (rss %d MB, hwm %d MB, err %v); sampling RSS every 1 ms", rss/seedMB, hwm/seedMB, err)
		return false
	}
	b.Logf("peak: VmHWM reset by /proc/self/clear_refs verified")
	return true
}

// seedPhase is one measured stretch: the RSS at its start, after settling,
// the peak RSS during it and how long it took.
type seedPhase struct {
	Floor, Peak uint64
	Wall        time.Duration
}

func (p seedPhase) rise() uint64 { return p.Peak - p.Floor }

func (p seedPhase) String() string {
	return fmt.Sprintf("floor %d MB, peak %d MB, rise %d MB in %.1f s", p.Floor/seedMB, p.Peak/seedMB, p.rise()/seedMB, p.Wall.Seconds())
}

// seedMeasure settles the process, then runs fn and returns the floor
// before it and the peak RSS while it ran, read from VmHWM when clearRefs
// or else sampled every millisecond.
func seedMeasure(b testing.TB, clearRefs bool, fn func() error) (seedPhase, error) {
	b.Helper()
	seedSettle()
	p := seedPhase{Floor: seedRSS(b)}
	start := time.Now()
	if clearRefs {
		if err := seedResetPeak(); err != nil {
			b.Fatal(err)
		}
		err := fn()
		p.Wall = time.Since(start)
		_, hwm, perr := seedProcMemory()
		if perr != nil {
			b.Fatal(perr)
		}
		p.Peak = max(hwm, p.Floor)
		return p, err
	}
	stop := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		top := p.Floor
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if rss, _, err := seedProcMemory(); err == nil {
				top = max(top, rss)
			}
			select {
			case <-stop:
				peak <- top
				return
			case <-tick.C:
			}
		}
	}()
	err := fn()
	p.Wall = time.Since(start)
	close(stop)
	p.Peak = <-peak
	return p, err
}

// seedNaiveInvoke is one invocation as the seed ran it: its own service
// with every model freshly loaded, no admission. Unlike the seed it closes
// the models afterwards, so it is the seed's best case.
func seedNaiveInvoke(files function.ModelFiles, data []byte) (*function.Result, error) {
	img, _, err := imageio.Decode(data)
	if err != nil {
		return nil, err
	}
	var models function.Models
	defer func() { models.Close() }()
	for _, k := range function.Kinds {
		m, err := function.LoadModel(k, files)
		if err != nil {
			return nil, err
		}
		models.Set(m)
	}
	return function.Run(context.Background(), models, img, function.DefaultOptions())
}

// seedConcurrently runs fn k times at once and returns the texts read, in
// order, or the errors.
func seedConcurrently(k int, fn func() (string, error)) ([]string, error) {
	texts := make([]string, k)
	errs := make([]error, k)
	var wg sync.WaitGroup
	for i := range k {
		wg.Go(func() { texts[i], errs[i] = fn() })
	}
	wg.Wait()
	return texts, errors.Join(errs...)
}

func seedNaiveBatch(files function.ModelFiles, data []byte, k int) ([]string, error) {
	return seedConcurrently(k, func() (string, error) {
		res, err := seedNaiveInvoke(files, data)
		if err != nil {
			return "", err
		}
		return res.Text(), nil
	})
}

func seedPooledBatch(h *Host, data []byte, k int) ([]string, error) {
	return seedConcurrently(k, func() (string, error) {
		resp, err := h.Invoke(context.Background(), &Request{Data: data})
		if err != nil {
			return "", err
		}
		return resp.Text, nil
	})
}

// seedHost is a Host with the seed's defaults (2 predictions, 2 leases)
// and the binary's arena keep.
func seedHost(b testing.TB, files function.ModelFiles, opts ...Option) *Host {
	b.Helper()
	h, err := New(append([]Option{WithModelFiles(files), WithQueueTimeout(seedQueueTimeout),
		WithSessionOptions(onnx.WithKeepArena(DefaultArenaKeep))}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	return h
}

func seedShutdown(b testing.TB, h *Host) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
}

// seedSameText fails unless every text read equals want, which must be
// non-empty: a memory figure for a pipeline that read nothing is void.
func seedSameText(b testing.TB, what, want string, texts []string) {
	b.Helper()
	if strings.TrimSpace(want) == "" {
		b.Fatalf("%s: nothing read", what)
	}
	for i, t := range texts {
		if t != want {
			b.Fatalf("%s: request %d read %q, want %q", what, i, t, want)
		}
	}
}

// seedMode is what a child process measures.
type seedMode string

const (
	seedNaive  seedMode = "naive"  // K per-task invocations at once
	seedPooled seedMode = "pooled" // K requests at once to a fresh host; Warm: then K more
	seedIdle   seedMode = "idle"   // fresh, loaded and evicted RSS of one host
)

// seedSpec tells a child process what to measure.
type seedSpec struct {
	Mode      seedMode
	Doc       string
	K         int
	Warm      bool
	Tuned     bool // seedNaive: with the process tuning host.New applies
	ClearRefs bool
	Out       string
}

// seedResult is what a child process measured: Phases for seedNaive and
// seedPooled, the settled RSS readings Fresh, Loaded and Evicted for
// seedIdle.
type seedResult struct {
	Phases                 []seedPhase
	Texts                  []string
	Fresh, Loaded, Evicted uint64
}

// seedInChild runs the measurement a parent asked for when this process is
// a child, reporting whether it was.
func seedInChild(b *testing.B) bool {
	raw := os.Getenv(seedChildEnv)
	if raw == "" {
		return false
	}
	var spec seedSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		b.Fatalf("child spec %q: %v", raw, err)
	}
	files := testenv.Models(b)
	data, err := os.ReadFile(spec.Doc)
	if err != nil {
		b.Fatal(err)
	}
	var res seedResult
	switch spec.Mode {
	case seedNaive:
		if spec.Tuned {
			tuneProcess(slog.New(slog.DiscardHandler), defaultConfig().gcPercent)
		}
		var texts []string
		p, err := seedMeasure(b, spec.ClearRefs, func() (err error) {
			texts, err = seedNaiveBatch(files, data, spec.K)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		res = seedResult{Phases: []seedPhase{p}, Texts: texts}
	case seedPooled:
		h := seedHost(b, files)
		defer seedShutdown(b, h)
		rounds := 1
		if spec.Warm {
			rounds = 2
		}
		for range rounds {
			var texts []string
			p, err := seedMeasure(b, spec.ClearRefs, func() (err error) {
				texts, err = seedPooledBatch(h, data, spec.K)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			res.Phases = append(res.Phases, p)
			res.Texts = append(res.Texts, texts...)
		}
	case seedIdle:
		res = seedIdleChild(b, files, data)
	default:
		b.Fatalf("unknown child mode %q", spec.Mode)
	}
	out, err := json.Marshal(res)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(spec.Out, out, 0o644); err != nil {
		b.Fatal(err)
	}
	return true
}

var (
	seedClearRefsOnce sync.Once
	seedClearRefs     bool
)

// seedChild measures spec in a fresh process: this test binary, running
// the same top-level benchmark, which hands over to seedInChild.
func seedChild(b *testing.B, spec seedSpec) seedResult {
	b.Helper()
	seedClearRefsOnce.Do(func() { seedClearRefs = seedClearRefsWorks(b) })
	spec.ClearRefs = seedClearRefs
	spec.Out = filepath.Join(b.TempDir(), "result.json")
	raw, err := json.Marshal(spec)
	if err != nil {
		b.Fatal(err)
	}
	top, _, _ := strings.Cut(b.Name(), "/")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$", "-test.bench=^"+top+"$", "-test.benchtime=1x")
	cmd.Env = append(os.Environ(), seedChildEnv+"="+string(raw))
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		b.Fatalf("child %s: %v\n%s", raw, err, log.String())
	}
	out, err := os.ReadFile(spec.Out)
	if err != nil {
		b.Fatalf("child %s wrote no result: %v\n%s", raw, err, log.String())
	}
	var res seedResult
	if err := json.Unmarshal(out, &res); err != nil {
		b.Fatal(err)
	}
	return res
}

func seedSamplePath(b testing.TB) string {
	return filepath.Join(testenv.RepoRoot(b), "testdata", "sample", "phototest.tif")
}

// seedDocs are the repo's sample page and, where ../shared exists, a denser
// photographed page.
func seedDocs(b *testing.B) map[string]string {
	docs := map[string]string{"phototest": seedSamplePath(b)}
	p := filepath.Join(testenv.RepoRoot(b), "..", "shared", "testdata", "external", "paddleocr_11.jpg")
	if _, err := os.Stat(p); err == nil {
		docs["paddleocr_11"] = p
	} else {
		b.Logf("shared image absent, phototest only: %v", err)
	}
	return docs
}

// BenchmarkSeedMemory sends 8 concurrent requests for one page, per-task
// loading against the pooled host (cold, so its loads count, then warm),
// and reports the peak RSS of each. reduction-% compares the peaks' rise
// above the floor (the test binary and the ORT library, common to both);
// reduction-abs-% compares the absolute peaks. Target: ≥ 75%.
// reduction-vs-tuned-% gives per-task loading the process tuning the host
// applies (tuneProcess), so that it measures the pool alone.
func BenchmarkSeedMemory(b *testing.B) {
	if seedInChild(b) {
		return
	}
	const k = 8
	docs := seedDocs(b)
	for _, name := range []string{"phototest", "paddleocr_11"} {
		doc, ok := docs[name]
		if !ok {
			continue
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				naive := seedChild(b, seedSpec{Mode: seedNaive, Doc: doc, K: k})
				tuned := seedChild(b, seedSpec{Mode: seedNaive, Doc: doc, K: k, Tuned: true})
				pooled := seedChild(b, seedSpec{Mode: seedPooled, Doc: doc, K: k, Warm: true})
				want := naive.Texts[0]
				seedSameText(b, "naive", want, naive.Texts)
				seedSameText(b, "naive tuned", want, tuned.Texts)
				seedSameText(b, "pooled", want, pooled.Texts)
				n, cold, warm := naive.Phases[0], pooled.Phases[0], pooled.Phases[1]
				nt := tuned.Phases[0]
				b.Logf("%d concurrent: naive %v; naive with the host's process tuning %v; pooled cold %v; pooled warm %v", k, n, nt, cold, warm)
				b.ReportMetric(float64(n.Floor)/seedMB, "floor-MB")
				b.ReportMetric(float64(n.Peak)/seedMB, "naive-peak-MB")
				b.ReportMetric(float64(n.rise())/seedMB, "naive-rise-MB")
				b.ReportMetric(float64(cold.Peak)/seedMB, "pooled-peak-MB")
				b.ReportMetric(float64(cold.rise())/seedMB, "pooled-rise-MB")
				b.ReportMetric(float64(warm.Peak)/seedMB, "pooled-warm-peak-MB")
				b.ReportMetric(float64(warm.rise())/seedMB, "pooled-warm-rise-MB")
				b.ReportMetric(100*(1-float64(cold.rise())/float64(n.rise())), "reduction-%")
				b.ReportMetric(100*(1-float64(cold.Peak)/float64(n.Peak)), "reduction-abs-%")
				b.ReportMetric(float64(nt.rise())/seedMB, "naive-tuned-rise-MB")
				b.ReportMetric(100*(1-float64(cold.rise())/float64(nt.rise())), "reduction-vs-tuned-%")
				b.ReportMetric(0, "ns/op")
			}
		})
	}
}

// BenchmarkSeedConcurrency counts how many concurrent invocations complete
// without their peak RSS rising more than seedBudget above the floor. The
// naive count is the largest k whose k simultaneous per-task invocations
// stay within it; the pooled count is the largest level tested that stayed
// within it, a lower bound when every level did, since admission (2
// predictions, 2 leases) bounds the work running at once whatever k is.
// Each pooled level starts a fresh host, so its loads count. In production
// the memory guard (host/memory) also defers work as the budget nears;
// this measures the pool and admission design alone against per-task
// loading. Target: ratio ≥ 4.
func BenchmarkSeedConcurrency(b *testing.B) {
	if seedInChild(b) {
		return
	}
	doc := seedSamplePath(b)
	for range b.N {
		var want string
		// Naive: grow k until the budget is exceeded; fit rise = a + s·k.
		naiveCap := 0
		exceeded := false
		var ks, rises []float64
		for k := 1; k <= seedNaiveMaxK; k++ {
			res := seedChild(b, seedSpec{Mode: seedNaive, Doc: doc, K: k})
			if want == "" {
				want = res.Texts[0]
			}
			seedSameText(b, fmt.Sprintf("naive k=%d", k), want, res.Texts)
			p := res.Phases[0]
			b.Logf("naive k=%d: %v", k, p)
			ks, rises = append(ks, float64(k)), append(rises, float64(p.rise()))
			if p.rise() > seedBudget {
				exceeded = true
				break
			}
			naiveCap = k
		}
		intercept, slope := seedFitLine(ks, rises)
		capName := "naive-capacity"
		capacity := float64(naiveCap)
		if !exceeded {
			capName = "naive-capacity-extrapolated"
			capacity = float64(int((seedBudget - intercept) / slope))
			b.Logf("naive never exceeded %d MB up to k=%d; capacity extrapolated from %.0f MB + %.0f MB/invocation",
				seedBudget/seedMB, seedNaiveMaxK, intercept/seedMB, slope/seedMB)
		}

		pooledCap := 0
		var pooledMax uint64
		for _, k := range seedPooledLevels {
			res := seedChild(b, seedSpec{Mode: seedPooled, Doc: doc, K: k})
			seedSameText(b, fmt.Sprintf("pooled k=%d", k), want, res.Texts)
			p := res.Phases[0]
			b.Logf("pooled k=%d: %v", k, p)
			pooledMax = max(pooledMax, p.rise())
			if p.rise() > seedBudget {
				break
			}
			pooledCap = k
		}
		if pooledCap == seedPooledLevels[len(seedPooledLevels)-1] {
			b.Logf("pooled stayed within %d MB at every level up to %d: its capacity is at least %d", seedBudget/seedMB, pooledCap, pooledCap)
		}
		b.ReportMetric(seedBudget/seedMB, "budget-MB")
		b.ReportMetric(capacity, capName)
		b.ReportMetric(slope/seedMB, "naive-MB/invocation")
		b.ReportMetric(float64(pooledCap), "pooled-capacity")
		b.ReportMetric(float64(pooledMax)/seedMB, "pooled-max-rise-MB")
		if capacity > 0 {
			b.ReportMetric(float64(pooledCap)/capacity, "capacity-ratio")
		}
		b.ReportMetric(0, "ns/op")
	}
}

// seedFitLine is the least-squares line through (x, y); with one point the
// line goes through the origin.
func seedFitLine(x, y []float64) (intercept, slope float64) {
	n := float64(len(x))
	if len(x) == 1 {
		return 0, y[0] / x[0]
	}
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
		sxx += x[i] * x[i]
		sxy += x[i] * y[i]
	}
	slope = (n*sxy - sx*sy) / (n*sxx - sx*sx)
	return (sy - slope*sx) / n, slope
}

// BenchmarkIdleAfterEviction compares the RSS of a fresh process (ORT
// initialised, no model loaded) with the same process holding the models
// after some requests and after the pool has evicted them all.
func BenchmarkIdleAfterEviction(b *testing.B) {
	if seedInChild(b) {
		return
	}
	for range b.N {
		res := seedChild(b, seedSpec{Mode: seedIdle, Doc: seedSamplePath(b)})
		seedSameText(b, "idle", res.Texts[0], res.Texts)
		fresh, loaded, evicted := res.Fresh, res.Loaded, res.Evicted
		b.Logf("fresh %d MB, loaded %d MB, evicted %d MB", fresh/seedMB, loaded/seedMB, evicted/seedMB)
		if evicted >= loaded {
			b.Errorf("eviction freed nothing: loaded %d, evicted %d", loaded, evicted)
		}
		b.ReportMetric(float64(fresh)/seedMB, "fresh-MB")
		b.ReportMetric(float64(loaded)/seedMB, "loaded-MB")
		b.ReportMetric(float64(evicted)/seedMB, "evicted-MB")
		b.ReportMetric(float64(evicted)/float64(fresh), "evicted/fresh")
		b.ReportMetric(100*(float64(loaded)-float64(evicted))/(float64(loaded)-float64(fresh)), "freed-%")
		b.ReportMetric(0, "ns/op")
	}
}

// seedIdleChild takes the readings of BenchmarkIdleAfterEviction.
func seedIdleChild(b *testing.B, files function.ModelFiles, data []byte) seedResult {
	seedSettle()
	fresh := seedRSS(b)
	h := seedHost(b, files, WithIdleTimeout(200*time.Millisecond))
	defer seedShutdown(b, h)
	// A lease held across the requests and the reading keeps the 200 ms
	// idle timer from evicting before the loaded figure is taken.
	lease, err := h.Pool().Acquire(context.Background(), "cpu", "det", "cls", "rec")
	if err != nil {
		b.Fatal(err)
	}
	texts, err := seedPooledBatch(h, data, 4)
	if err != nil {
		lease.Release()
		b.Fatal(err)
	}
	seedSettle()
	loaded := seedRSS(b)
	lease.Release()
	deadline := time.Now().Add(10 * time.Second)
	for !h.Unloaded() {
		if time.Now().After(deadline) {
			b.Fatalf("%d models still loaded 10 s after a 200 ms idle timeout", h.Pool().Loaded())
		}
		time.Sleep(20 * time.Millisecond)
	}
	seedSettle()
	evicted := seedRSS(b)
	return seedResult{Texts: texts, Fresh: fresh, Loaded: loaded, Evicted: evicted}
}
