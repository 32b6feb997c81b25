package benchreport

import (
	"bytes"
	"image/png"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestSeries(t *testing.T) {
	run := parseFiles(t, "handwritten.txt", "document_pages.txt", "pdf_dpi.txt")
	charts := map[string]Chart{}
	for _, c := range Series(run) {
		if _, dup := charts[c.File]; dup {
			t.Errorf("two charts write %s", c.File)
		}
		charts[c.File] = c
	}
	for _, w := range []struct {
		file, bench, line string
		x, y              []float64
	}{
		// Numbers inside a unit: peak_MB_<n>p, jobs/s_<n>_hosts.
		{"series-DocumentPages_peak_MB_Np.png", "BenchmarkDocumentPages", "BenchmarkDocumentPages/a7",
			[]float64{10, 1, 25, 50, 5}, []float64{169.7, 130.5, 175.6, 171.4, 152.8}},
		{"series-ScaleOut_jobs_s_N_hosts.png", "BenchmarkScaleOut", "BenchmarkScaleOut",
			[]float64{1, 2, 3}, []float64{0.41, 0.62, 0.66}},
		{"series-ScaleOut_xN_hosts_ratio.png", "BenchmarkScaleOut", "BenchmarkScaleOut", []float64{2, 3}, []float64{1.512, 1.61}},
		// Sub-benchmarks named key=number.
		{"series-PDFDPI_CER_by_dpi.png", "BenchmarkPDFDPI", "BenchmarkPDFDPI",
			[]float64{100, 130, 170, 200, 250, 300}, []float64{0.05278, 0.1426, 0.2472, 0, 0, 0.06389}},
		{"series-PeakRSS_peak-MiB_by_pages.png", "BenchmarkPeakRSS", "BenchmarkPeakRSS", []float64{2, 50}, []float64{58, 117}},
	} {
		c, ok := charts[w.file]
		if !ok {
			t.Errorf("no chart %s among %v", w.file, slices.Sorted(maps.Keys(charts)))
			continue
		}
		if c.Bench != w.bench || len(c.Lines) != 1 || c.Lines[0].Label != w.line ||
			!slices.Equal(c.Lines[0].X, w.x) || !slices.Equal(c.Lines[0].Y, w.y) {
			t.Errorf("%s: %+v", w.file, c)
		}
	}
	// One-point patterns (e2e/in-process holds a 2) and B/op make none.
	for f := range charts {
		if strings.Contains(f, "eNe") || strings.Contains(f, "B_op") || strings.Contains(f, "allocs") {
			t.Errorf("chart %s should not exist", f)
		}
	}
}

func TestWriteDir(t *testing.T) {
	// Each PNG takes seconds to encode and decode under -race: the inputs
	// give seven, enough for every kind.
	run := parseFiles(t, "handwritten.txt", "start_to_ready.json", "document_pages.txt")
	start := time.Date(2026, 5, 9, 14, 0, 0, 0, time.UTC)
	m := Machine{Start: start, End: start.Add(90 * time.Minute), CPU: "Test CPU @ 2.50GHz", Cores: 2, MemTotal: 24 << 30,
		LoadStart: "1.00 2.00 3.00", LoadEnd: "4.00 5.00 6.00", GoVersion: "go1.26.8", ORTVersion: "1.30.0",
		Command: "go test -run '^$' -bench . ./..."}
	dir := t.TempDir()
	rep := New(run, m, Targets)
	if err := rep.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	text := string(md)
	for _, want := range []string{
		"| started | 2026-05-09 14:00:00 UTC |",
		"| finished | 2026-05-09 15:30:00 UTC (1h30m0s) |",
		"| CPU | Test CPU @ 2.50GHz (linux/amd64) |",
		"| RAM | 24.0 GiB |",
		"| load average (1, 5, 15 min) | start 1.00 2.00 3.00; end 4.00 5.00 6.00 |",
		"| ONNX Runtime | 1.30.0 |",
		"**1 failed**",
		"| target | measured | target | met? | source |",
		"| seed memory reduction, 8 concurrent (peak rise above floor) | 57.7% | ≥ 75% | **NO** | `host` BenchmarkSeedMemory/phototest reduction-% |",
		"| warm request latency, end-to-end ÷ in-process | 0.97× | ≤ 1.05× | yes | `cmd/host` BenchmarkWarmOverhead e2e/in-process |",
		"| PDF rendering peak RSS, 50 pages ÷ 2 pages | 2.02× | ≤ 1.2× | **NO** | `function/document` BenchmarkPeakRSS/pages=50 peak-MiB ÷ BenchmarkPeakRSS/pages=2 peak-MiB |",
		"| failover, host killed → answer from another | — | — | **FAILED** | `cmd/host` BenchmarkFailover |",
		"![targets](targets.png)",
		"### FAILED: `cmd/host` BenchmarkFailover",
		"cluster_bench_test.go:125: no host took the job in 30 s",
		"#### BenchmarkPeakRSS",
		"| metric | pages=2 | pages=50 |",
		"| peak-MiB | 58.0 | 117 |",
		"![BenchmarkDocumentPages: peak_MB_Np](series-DocumentPages_peak_MB_Np.png)",
		"**FAILED:** BenchmarkFailover",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Every picture linked is there and decodes; every PNG written is linked.
	linked := map[string]bool{}
	for _, m := range regexp.MustCompile(`!\[[^\]]*\]\(([^)]+)\)`).FindAllStringSubmatch(text, -1) {
		linked[m[1]] = true
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.png"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(linked) || len(files) < 2+len(rep.Charts)-1 {
		t.Errorf("%d PNGs, %d linked, %d charts", len(files), len(linked), len(rep.Charts))
	}
	for _, f := range files {
		if !linked[filepath.Base(f)] {
			t.Errorf("%s is not linked", f)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if r := img.Bounds(); r.Dx() < 500 || r.Dy() < 200 {
			t.Errorf("%s is %v", f, r)
		}
	}
}

func TestTargetsChartNeedsJudgedRows(t *testing.T) {
	var buf bytes.Buffer
	rows := []Row{{Target: Target{Name: "a"}, Status: Reported, Measured: 3}, {Target: Target{Name: "b", Goal: AtMost, Want: 1}, Status: NotRun}}
	if ok, err := WriteTargetsChart(&buf, rows); ok || err != nil || buf.Len() != 0 {
		t.Fatalf("chart with nothing judged: %v, %v, %d bytes", ok, err, buf.Len())
	}
	rows = append(rows, Row{Target: Target{Name: "c", Goal: AtLeast, Want: 1}, Status: Met, Measured: 1e9})
	if ok, err := WriteTargetsChart(&buf, rows); !ok || err != nil {
		t.Fatalf("chart: %v, %v", ok, err)
	}
	if _, err := png.Decode(&buf); err != nil {
		t.Fatal(err)
	}
}

func TestReadMachine(t *testing.T) {
	proc := fstest.MapFS{
		"cpuinfo": {Data: []byte("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor @ 2.50GHz\n\nprocessor\t: 1\nmodel name\t: other\n")},
		"meminfo": {Data: []byte("MemTotal:       24576000 kB\nMemFree:         1000 kB\n")},
		"loadavg": {Data: []byte("9.26 10.91 10.25 3/812 12345\n")},
	}
	m := ReadMachine(proc)
	if m.CPU != "Intel(R) Xeon(R) Processor @ 2.50GHz" || m.MemTotal != 24576000<<10 || m.LoadEnd != "9.26 10.91 10.25" ||
		m.Cores < 1 || m.GoVersion == "" || time.Since(m.End) > time.Minute {
		t.Errorf("machine %+v", m)
	}
	if m := ReadMachine(fstest.MapFS{}); m.CPU != "" || m.MemTotal != 0 || m.LoadEnd != "" {
		t.Errorf("machine from nothing %+v", m)
	}
	if got := LoadAverage("bad"); got != "" {
		t.Errorf("LoadAverage(bad) = %q", got)
	}
}
