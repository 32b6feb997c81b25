// Package benchreport turns the output of `go test -json -bench` into one
// Markdown report: the machine, every target the benchmarks measure side by
// side with its verdict, each benchmark's metrics, and PNG plots of the
// targets and of the series the benchmarks report.
package benchreport

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
)

// ErrFailed reports that a benchmark or a package failed in the run.
var ErrFailed = errors.New("benchreport: benchmarks failed")

// Metric is one value a benchmark reported, in the order printed.
type Metric struct {
	Value float64
	Unit  string
}

// Result is one benchmark result.
type Result struct {
	Pkg string
	// Name is the full benchmark name without the -GOMAXPROCS suffix,
	// sub-benchmarks included: BenchmarkPeakRSS/pages=50.
	Name       string
	Procs      int
	Iterations int
	Metrics    []Metric
}

// Metric returns the value reported with unit.
func (r Result) Metric(unit string) (float64, bool) {
	for _, m := range r.Metrics {
		if m.Unit == unit {
			return m.Value, true
		}
	}
	return 0, false
}

// Failure is a benchmark, or a package outside any benchmark, that failed.
type Failure struct {
	Pkg string
	// Name is the benchmark's full name; "" when the package failed without
	// one to blame (a build failure).
	Name string
	// Output holds the lines that explain the failure: the benchmark's log,
	// the panic, the compiler errors.
	Output []string
}

// Skip is a benchmark that called b.Skip.
type Skip struct {
	Pkg, Name string
	Output    []string
}

// Run is everything one `go test -json -bench` stream holds.
type Run struct {
	// Config holds the first value of each "key: value" header line
	// (goos, goarch, cpu).
	Config   map[string]string
	Results  []Result
	Failures []Failure
	Skips    []Skip
	// Packages lists each package's outcome: ok, FAIL, [no test files]
	// or [build failed].
	Packages []Package
}

// Package is the outcome of one package's test binary.
type Package struct {
	Path, Status string
}

// Err returns nil when nothing failed, otherwise ErrFailed naming what did.
func (r *Run) Err() error {
	if len(r.Failures) == 0 {
		return nil
	}
	names := make([]string, len(r.Failures))
	for i, f := range r.Failures {
		names[i] = f.label()
	}
	return fmt.Errorf("%w: %s", ErrFailed, strings.Join(names, ", "))
}

// Exited records go test's exit status: a failure of its own when it is
// not 0 and the output showed nothing that failed (a crash of the go
// command, a kill, output cut short).
func (r *Run) Exited(status int) {
	if status != 0 && len(r.Failures) == 0 {
		r.Failures = append(r.Failures, Failure{Output: []string{fmt.Sprintf("go test exited with status %d", status)}})
	}
}

func (f Failure) label() string {
	switch {
	case f.Name == "" && f.Pkg == "":
		return "go test"
	case f.Name == "":
		return f.Pkg
	case f.Pkg == "":
		return f.Name
	}
	return f.Pkg + " " + f.Name
}

// Failed reports whether name, or a benchmark it belongs to, failed in pkg.
func (r *Run) Failed(pkg, name string) bool {
	for _, f := range r.Failures {
		if f.Pkg == pkg && f.Name != "" && within(name, f.Name) {
			return true
		}
	}
	return false
}

// within reports whether name is bench or one of its sub-benchmarks.
func within(name, bench string) bool {
	return name == bench || strings.HasPrefix(name, bench+"/")
}

// maxOutput bounds the lines kept to explain one failure.
const maxOutput = 30

// event is one record of the test2json stream (go doc test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output and build-fail
	Test       string
	Output     string
	// FailedBuild names the package whose build failed this one.
	FailedBuild string
}

// pkgState is what Parse keeps of a package until its final event.
type pkgState struct {
	// output holds the lines printed outside any benchmark: the panic of a
	// crashed binary.
	output []string
	// logs holds each benchmark's own lines; open lists the benchmarks
	// started and not yet passed, failed or skipped, in start order.
	logs     map[string][]string
	open     []string
	failures int // this package's failures so far
	// partial is a line printed in pieces: a benchmark's name and a tab,
	// then (after whatever it printed meanwhile) its figures.
	partial *event
}

// Parse reads the test2json stream of `go test -json -bench`, any number of
// packages. Result lines are read by benchfmt; failures, skips and package
// outcomes come from the stream's actions. A line that is not JSON (the go
// command's own complaint) is kept as output of the run.
func Parse(r io.Reader) (*Run, error) {
	p := &parser{run: &Run{Config: map[string]string{}}, pkgs: map[string]*pkgState{}, builds: map[string][]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e event
		if line[0] != '{' || json.Unmarshal(line, &e) != nil {
			p.stray = appendLimited(p.stray, string(line))
			continue
		}
		p.event(e)
	}
	if err := sc.Err(); err != nil {
		return p.run, fmt.Errorf("reading benchmark output: %w", err)
	}
	if len(p.stray) > 0 && len(p.run.Failures) == 0 {
		p.run.Failures = append(p.run.Failures, Failure{Output: p.stray})
	}
	return p.run, nil
}

type parser struct {
	run  *Run
	pkgs map[string]*pkgState
	// builds holds compiler and vet output by the package it is for.
	builds map[string][]string
	stray  []string
}

func (p *parser) pkg(path string) *pkgState {
	s, ok := p.pkgs[path]
	if !ok {
		s = &pkgState{logs: map[string][]string{}}
		p.pkgs[path] = s
	}
	return s
}

func (p *parser) event(e event) {
	switch e.Action {
	case "build-output":
		p.builds[e.ImportPath] = appendLimited(p.builds[e.ImportPath], strings.TrimRight(e.Output, "\n"))
		return
	case "build-fail", "":
		return
	}
	s := p.pkg(e.Package)
	switch e.Action {
	case "run":
		s.open = append(s.open, e.Test)
	case "output":
		if s.partial != nil {
			s.partial.Output += e.Output
			e, s.partial = *s.partial, nil
		}
		if !strings.HasSuffix(e.Output, "\n") {
			s.partial = &e
			return
		}
		p.output(e, s)
	case "pass", "fail", "skip":
		if e.Test == "" {
			p.endPackage(e, s)
			return
		}
		s.open = slices.DeleteFunc(s.open, func(n string) bool { return n == e.Test })
		name := stripProcs(e.Test)
		switch e.Action {
		case "fail":
			p.run.Failures = append(p.run.Failures, Failure{Pkg: e.Package, Name: name, Output: s.logs[e.Test]})
			s.failures++
		case "skip":
			p.run.Skips = append(p.run.Skips, Skip{Pkg: e.Package, Name: name, Output: s.logs[e.Test]})
		}
	}
}

// output handles one printed line: a header, a result, or a line of a
// benchmark's log or of the package.
func (p *parser) output(e event, s *pkgState) {
	line := strings.TrimRight(e.Output, "\n")
	trimmed := strings.TrimSpace(line)
	if k, v, ok := strings.Cut(line, ":"); ok && e.Test == "" && slices.Contains([]string{"goos", "goarch", "cpu"}, k) {
		if _, seen := p.run.Config[k]; !seen {
			p.run.Config[k] = strings.TrimSpace(v)
		}
		return
	}
	if res, ok := parseResult(e.Package, line); ok {
		p.run.Results = append(p.run.Results, res)
		// A benchmark that reports is done (go test sends no pass for
		// one), and so are the parents it ran under.
		s.open = slices.DeleteFunc(s.open, func(n string) bool { return within(res.Name, stripProcs(n)) })
		return
	}
	switch {
	case trimmed == "" || strings.HasPrefix(trimmed, "=== ") || strings.HasPrefix(trimmed, "--- ") ||
		trimmed == e.Test || trimmed == "PASS" || trimmed == "FAIL" || strings.HasPrefix(trimmed, "pkg: ") ||
		strings.HasPrefix(line, "FAIL\t") || strings.HasPrefix(line, "ok  \t"):
	case e.Test != "":
		s.logs[e.Test] = appendLimited(s.logs[e.Test], trimmed)
	default:
		s.output = appendLimited(s.output, line)
	}
}

// parseResult reads a benchmark result line with benchfmt.
func parseResult(pkg, line string) (Result, bool) {
	if !strings.HasPrefix(line, "Benchmark") {
		return Result{}, false
	}
	rd := benchfmt.NewReader(strings.NewReader(line+"\n"), "")
	for rd.Scan() {
		r, ok := rd.Result().(*benchfmt.Result)
		if !ok {
			continue
		}
		full := "Benchmark" + string(r.Name.Full()) // benchfmt drops the prefix
		res := Result{Pkg: pkg, Name: stripProcs(full), Procs: procs(full), Iterations: r.Iters}
		for _, v := range r.Values {
			m := Metric{Value: v.Value, Unit: v.Unit}
			if v.OrigUnit != "" {
				m = Metric{Value: v.OrigValue, Unit: v.OrigUnit}
			}
			res.Metrics = append(res.Metrics, m)
		}
		return res, true
	}
	return Result{}, false
}

// endPackage closes one package on its final action: a failed build, or a
// binary that failed with nothing failed in it (a panic, a timeout, an
// os.Exit), becomes a failure.
func (p *parser) endPackage(e event, s *pkgState) {
	status := map[string]string{"pass": "ok", "fail": "FAIL", "skip": "[no test files]"}[e.Action]
	switch {
	case e.FailedBuild != "":
		status = "[build failed]"
		p.run.Failures = append(p.run.Failures, Failure{Pkg: e.Package, Output: p.builds[e.FailedBuild]})
	case e.Action == "fail" && s.failures == 0:
		// Blame the last benchmark started and not finished, if any.
		var name string
		if len(s.open) > 0 {
			name = s.open[len(s.open)-1]
		}
		out := append(s.logs[name], s.output...)
		p.run.Failures = append(p.run.Failures, Failure{Pkg: e.Package, Name: stripProcs(name), Output: limit(out)})
	}
	p.run.Packages = append(p.run.Packages, Package{Path: e.Package, Status: status})
	delete(p.pkgs, e.Package)
}

func appendLimited(lines []string, l string) []string {
	if len(lines) >= maxOutput {
		return lines
	}
	return append(lines, l)
}

func limit(lines []string) []string {
	if len(lines) > maxOutput {
		return lines[:maxOutput]
	}
	return lines
}

// stripProcs drops the -GOMAXPROCS suffix of a benchmark's name.
func stripProcs(name string) string {
	if i := strings.LastIndexByte(name, '-'); i >= 0 && !strings.Contains(name[i:], "/") {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i]
		}
	}
	return name
}

func procs(name string) int {
	if i := strings.LastIndexByte(name, '-'); i >= 0 && !strings.Contains(name[i:], "/") {
		if n, err := strconv.Atoi(name[i+1:]); err == nil {
			return n
		}
	}
	return 1
}

// Benchmarks lists the top-level benchmark names of pkg in order of first
// appearance, from results and failures alike.
func (r *Run) Benchmarks(pkg string) []string {
	var names []string
	add := func(p, name string) {
		top, _, _ := strings.Cut(name, "/")
		if p == pkg && top != "" && !slices.Contains(names, top) {
			names = append(names, top)
		}
	}
	for _, res := range r.Results {
		add(res.Pkg, res.Name)
	}
	for _, f := range r.Failures {
		add(f.Pkg, f.Name)
	}
	return names
}
