package benchreport

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The testdata files:
//   - start_to_ready.json: `go test -json -run '^$' -bench
//     BenchmarkStartToReady -benchtime 1x -benchmem ./cmd/host/` on this
//     repository.
//   - failures.json: `go test -json -run '^$' -bench . -benchtime 1x
//     -benchmem ./ok ./panicky ./bad ./build`, then the same on ./ok, in
//     testdata/fake, a module whose benchmarks fail every way go test
//     reports: a build failure, a panic, b.Fatal in a sub-benchmark,
//     b.Errorf.
//   - edge.json: the same on ./edge ./exits in testdata/fake: output
//     printed inside a result line, b.Fatal at once, a skip, a binary
//     that fails after its last result.
//   - document_pages.txt, pdf_dpi.txt: host/pages_bench_test.go runs on
//     this repository, as text; handwritten.txt: the other benchmarks of
//     this repository in the same format, with values chosen to meet and
//     miss targets, and a failed BenchmarkFailover. The tests turn the
//     text into the JSON stream with go's own converter (fromText).

// fromText turns `go test -bench` text, package after package, into the
// JSON stream `go test -json` prints, with go tool test2json. A package
// ends at its status line (ok, FAIL, ?), which names it, or at the end of
// the text, where its "pkg:" header does.
func fromText(t testing.TB, text string) string {
	t.Helper()
	var out strings.Builder
	var block []string
	convert := func(pkg string) {
		cmd := exec.Command("go", "tool", "test2json", "-p", pkg)
		cmd.Stdin = strings.NewReader(strings.Join(block, ""))
		js, err := cmd.Output()
		if err != nil {
			t.Skipf("go tool test2json: %v", err)
		}
		out.Write(js)
		block = nil
	}
	for _, l := range strings.SplitAfter(text, "\n") {
		if l != "" {
			block = append(block, l)
		}
		if f := strings.Fields(l); len(f) >= 2 && (f[0] == "ok" || f[0] == "FAIL" || f[0] == "?") {
			convert(f[1])
		}
	}
	for _, l := range block {
		if pkg, ok := strings.CutPrefix(strings.TrimSpace(l), "pkg: "); ok {
			convert(pkg)
			break
		}
	}
	return out.String()
}

func parseFiles(t *testing.T, names ...string) *Run {
	t.Helper()
	var all strings.Builder
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(n, ".txt") {
			all.WriteString(fromText(t, string(b)))
		} else {
			all.Write(b)
		}
	}
	run, err := Parse(strings.NewReader(all.String()))
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func TestParseRealOutput(t *testing.T) {
	run := parseFiles(t, "start_to_ready.json")
	if len(run.Results) != 1 {
		t.Fatalf("results %+v, want 1", run.Results)
	}
	r := run.Results[0]
	if r.Pkg != Module+"/cmd/host" || r.Name != "BenchmarkStartToReady" || r.Procs != 2 || r.Iterations != 1 {
		t.Errorf("result %+v", r)
	}
	want := []Metric{{223.5, "start-to-ready-ms"}, {477496, "B/op"}, {5193, "allocs/op"}}
	if !slices.Equal(r.Metrics, want) {
		t.Errorf("metrics %v, want %v", r.Metrics, want)
	}
	if got := run.Config["cpu"]; got != "Oxide Virtual Turin-like Processor" {
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
	run := parseFiles(t, "failures.json")
	type fail struct{ pkg, name, line string }
	build := "build/b_test.go:5:41: undefined: undefinedThing"
	want := []fail{
		// go test blames the build failure on the first package too.
		{"example.com/fake/ok", "", build},
		// Nothing failed inside the crashed binary: the benchmark started
		// and not finished gets the panic.
		{"example.com/fake/panicky", "BenchmarkPanics", "panic: assignment to entry in nil map"},
		{"example.com/fake/bad", "BenchmarkSubFails/broken", "bad_test.go:7: cluster never formed"},
		{"example.com/fake/bad", "BenchmarkSubFails", ""},
		{"example.com/fake/bad", "BenchmarkErrorf", "bad_test.go:10: eviction freed nothing"},
		{"example.com/fake/build", "", build},
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
		"example.com/fake/panicky BenchmarkFine", "example.com/fake/bad BenchmarkSubFails/good",
		"example.com/fake/bad BenchmarkAfter", "example.com/fake/ok BenchmarkSeries/pages=2",
		"example.com/fake/ok BenchmarkSeries/pages=50",
	}
	if !slices.Equal(names, wantNames) {
		t.Errorf("results\n%q\nwant\n%q", names, wantNames)
	}
	if m := run.Results[2].Metrics; !slices.Equal(m, []Metric{{7, "y"}, {0, "B/op"}, {0, "allocs/op"}}) {
		t.Errorf("BenchmarkAfter metrics %v", m)
	}
	wantPkgs := []Package{{"example.com/fake/ok", "[build failed]"}, {"example.com/fake/panicky", "FAIL"},
		{"example.com/fake/bad", "FAIL"}, {"example.com/fake/build", "[build failed]"}, {"example.com/fake/ok", "ok"}}
	if !slices.Equal(run.Packages, wantPkgs) {
		t.Errorf("packages %v", run.Packages)
	}
	err := run.Err()
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "example.com/fake/bad BenchmarkErrorf") {
		t.Errorf("Err() = %v", err)
	}
	if !run.Failed("example.com/fake/bad", "BenchmarkSubFails/broken") || run.Failed("example.com/fake/ok", "BenchmarkSeries") {
		t.Error("Failed disagrees with the failures")
	}
}

// TestParseEdgeCases covers what the samples above hold not: a result line
// that the benchmark's own output split, a benchmark failing at once, a
// skip with its reason, and a binary that fails after its last result,
// with nothing to blame; then lines that are no JSON at all.
func TestParseEdgeCases(t *testing.T) {
	run := parseFiles(t, "edge.json")
	if len(run.Results) != 2 {
		t.Fatalf("results %+v", run.Results)
	}
	if r := run.Results[0]; r.Name != "BenchmarkWarmOverhead" || r.Procs != 2 || !slices.Equal(r.Metrics, []Metric{{1036, "e2e-ms"}, {0.97, "e2e/in-process"}}) {
		t.Errorf("split result %+v", r)
	}
	want := []Failure{
		{"example.com/fake/edge", "BenchmarkStartToReady", []string{"edge_test.go:18: host never became ready"}},
		{"example.com/fake/exits", "", []string{"exit status 1"}},
	}
	if len(run.Failures) != len(want) {
		t.Fatalf("failures %+v", run.Failures)
	}
	for i, w := range want {
		if f := run.Failures[i]; f.Pkg != w.Pkg || f.Name != w.Name || !slices.Equal(f.Output, w.Output) {
			t.Errorf("failure %d = %+v, want %+v", i, f, w)
		}
	}
	if len(run.Skips) != 1 || run.Skips[0].Name != "BenchmarkFailover" || run.Skips[0].Output[0] != "edge_test.go:20: no models (run make deps)" {
		t.Errorf("skips %+v", run.Skips)
	}

	// The go command's own complaint, which is no JSON, fails the run.
	run, err := Parse(strings.NewReader("go: cannot find main module\n"))
	if err != nil || len(run.Failures) != 1 || run.Failures[0].Output[0] != "go: cannot find main module" {
		t.Errorf("stray output: %+v, %v", run, err)
	}
}

func TestExited(t *testing.T) {
	run := parseFiles(t, "start_to_ready.json")
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
