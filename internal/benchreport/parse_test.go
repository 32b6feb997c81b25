package benchreport

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The testdata files:
//   - start_to_ready.txt: `go test -run '^$' -bench BenchmarkStartToReady
//     -benchtime 1x -benchmem ./cmd/host/` on this repository.
//   - document_pages.txt, pdf_dpi.txt: host/pages_bench_test.go runs on
//     this repository (Go 1.26 prints names and logs as they come).
//   - failures.txt: `go test -bench . -benchtime 1x -benchmem ./...` on a
//     scratch module whose benchmarks fail every way go test reports: a
//     build failure, a panic, b.Fatal in a sub-benchmark, b.Errorf.
//   - handwritten.txt: the other benchmarks of this repository in the
//     same format, with values chosen to meet and miss targets, and a
//     failed BenchmarkFailover.

func parseFiles(t *testing.T, names ...string) *Run {
	t.Helper()
	var all []byte
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	run, err := Parse(strings.NewReader(string(all)))
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func TestParseRealOutput(t *testing.T) {
	run := parseFiles(t, "start_to_ready.txt")
	if len(run.Results) != 1 {
		t.Fatalf("results %+v, want 1", run.Results)
	}
	r := run.Results[0]
	if r.Pkg != Module+"/cmd/host" || r.Name != "BenchmarkStartToReady" || r.Procs != 2 || r.Iterations != 1 {
		t.Errorf("result %+v", r)
	}
	want := []Metric{{82.93, "start-to-ready-ms"}, {236360, "B/op"}, {2032, "allocs/op"}}
	if !slices.Equal(r.Metrics, want) {
		t.Errorf("metrics %v, want %v", r.Metrics, want)
	}
	if got := run.Config["cpu"]; got != "Intel(R) Xeon(R) Processor @ 2.50GHz" {
		t.Errorf("cpu %q", got)
	}
	if !slices.Equal(run.Packages, []Package{{Module + "/cmd/host", "ok"}}) {
		t.Errorf("packages %v", run.Packages)
	}
	if err := run.Err(); err != nil {
		t.Errorf("Err() = %v on a clean run", err)
	}

	// Go 1.26 prints the parent and the sub-benchmark's name alone first,
	// then the logs, then the result under the full name.
	run = parseFiles(t, "document_pages.txt")
	if len(run.Results) != 1 || run.Results[0].Name != "BenchmarkDocumentPages/a7" || len(run.Results[0].Metrics) != 7 {
		t.Fatalf("results %+v", run.Results)
	}
	if v, ok := run.Results[0].Metric("peak_MB_50p"); !ok || v != 171.4 {
		t.Errorf("peak_MB_50p = %v, %v", v, ok)
	}
	// No package status line: the output ends at PASS, the package comes
	// from the header.
	if run.Results[0].Pkg != Module+"/host" || len(run.Failures) != 0 {
		t.Errorf("pkg %q, failures %v", run.Results[0].Pkg, run.Failures)
	}
}

func TestParseFailures(t *testing.T) {
	run := parseFiles(t, "failures.txt")
	type fail struct{ pkg, name, line string }
	want := []fail{
		{"example.com/fake/bad", "", ""},
		{"example.com/fake/build", "", "build/b_test.go:5:39: undefined: undefinedThing"},
		// The panic's trace names the benchmark: go test printed no name
		// before it.
		{"example.com/fake/panicky", "BenchmarkPanics", "panic: assignment to entry in nil map"},
		{"example.com/fake/bad", "BenchmarkSubFails/broken", "bad_test.go:7: cluster never formed"},
		{"example.com/fake/bad", "BenchmarkSubFails", ""},
		{"example.com/fake/bad", "BenchmarkErrorf", "bad_test.go:12: eviction freed nothing"},
	}
	if len(run.Failures) != len(want) {
		t.Fatalf("failures %+v, want %d", run.Failures, len(want))
	}
	for i, w := range want {
		f := run.Failures[i]
		if f.Pkg != w.pkg || f.Name != w.name {
			t.Errorf("failure %d = %s %q, want %s %q", i, f.Pkg, f.Name, w.pkg, w.name)
		}
		if w.line != "" && !slices.Contains(f.Output, w.line) {
			t.Errorf("failure %d output %q lacks %q", i, f.Output, w.line)
		}
		if w.line == "" && len(f.Output) != 0 {
			t.Errorf("failure %d output %q, want none", i, f.Output)
		}
	}
	var names []string
	for _, r := range run.Results {
		names = append(names, r.Pkg+" "+r.Name)
	}
	wantNames := []string{
		"example.com/fake/ok BenchmarkSeries/pages=2", "example.com/fake/ok BenchmarkSeries/pages=50",
		"example.com/fake/panicky BenchmarkFine", "example.com/fake/bad BenchmarkSubFails/good",
		"example.com/fake/bad BenchmarkAfter", "example.com/fake/ok BenchmarkSeries/pages=2",
		"example.com/fake/ok BenchmarkSeries/pages=50",
	}
	if !slices.Equal(names, wantNames) {
		t.Errorf("results\n%q\nwant\n%q", names, wantNames)
	}
	err := run.Err()
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "example.com/fake/bad BenchmarkErrorf") {
		t.Errorf("Err() = %v", err)
	}
	if !run.Failed("example.com/fake/bad", "BenchmarkSubFails/broken") || run.Failed("example.com/fake/ok", "BenchmarkSeries") {
		t.Error("Failed disagrees with the failures")
	}
}

// TestParseEdgeCases covers the formats no sample above holds: a timeout,
// a result line split by the program's own output, FAIL after the name on
// one line, a verbose skip, and a binary that fails with nothing to blame.
func TestParseEdgeCases(t *testing.T) {
	const out = `pkg: github.com/ocrhost/ocrhost/cmd/host
BenchmarkWarmOverhead-2   	{"level":"INFO","msg":"serving"}
       1	         0.9700 e2e/in-process	      1036 e2e-ms
BenchmarkStartToReady-2   	--- FAIL: BenchmarkStartToReady-2
    bench_test.go:99: host never became ready
--- SKIP: BenchmarkFailover
    cluster_bench_test.go:110: no models (run make deps)
BenchmarkScaleOut
BenchmarkScaleOut/hosts=2
panic: test timed out after 1m0s
	running tests:
		BenchmarkScaleOut/hosts=2 (1m0s)

goroutine 1 [running]:
FAIL	github.com/ocrhost/ocrhost/cmd/host	60.1s
pkg: github.com/ocrhost/ocrhost/host
BenchmarkSeedMemory/phototest-2   	       1	        57.7 reduction-%
FAIL	github.com/ocrhost/ocrhost/host	12.0s
`
	run, err := Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Results) != 2 {
		t.Fatalf("results %+v", run.Results)
	}
	if r := run.Results[0]; r.Name != "BenchmarkWarmOverhead" || r.Procs != 2 || !slices.Equal(r.Metrics, []Metric{{0.97, "e2e/in-process"}, {1036, "e2e-ms"}}) {
		t.Errorf("split result %+v", r)
	}
	want := []Failure{
		{Module + "/cmd/host", "BenchmarkStartToReady", []string{"bench_test.go:99: host never became ready"}},
		{Module + "/cmd/host", "BenchmarkScaleOut/hosts=2", nil},
		// The binary failed after its last result: nothing to blame.
		{Module + "/host", "", nil},
	}
	if len(run.Failures) != len(want) {
		t.Fatalf("failures %+v", run.Failures)
	}
	for i, w := range want {
		f := run.Failures[i]
		if f.Pkg != w.Pkg || f.Name != w.Name || w.Output != nil && !slices.Equal(f.Output, w.Output) {
			t.Errorf("failure %d = %+v, want %+v", i, f, w)
		}
	}
	if !slices.Contains(run.Failures[1].Output, "panic: test timed out after 1m0s") {
		t.Errorf("timeout output %q", run.Failures[1].Output)
	}
	if len(run.Skips) != 1 || run.Skips[0].Name != "BenchmarkFailover" || run.Skips[0].Output[0] != "cluster_bench_test.go:110: no models (run make deps)" {
		t.Errorf("skips %+v", run.Skips)
	}
}

func TestExited(t *testing.T) {
	run := parseFiles(t, "start_to_ready.txt")
	run.Exited(0)
	if run.Err() != nil {
		t.Fatal("status 0 made a failure")
	}
	run.Exited(2)
	if err := run.Err(); !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "go test") {
		t.Fatalf("Err() = %v after exit status 2", err)
	}
	// A failure already parsed explains the status: no second one.
	run = parseFiles(t, "handwritten.txt")
	n := len(run.Failures)
	run.Exited(1)
	if len(run.Failures) != n {
		t.Errorf("%d failures, want %d", len(run.Failures), n)
	}
}
