// Package benchreport turns the text output of `go test -bench` into one
// Markdown report: the machine, every target the benchmarks measure side by
// side with its verdict, each benchmark's metrics, and PNG plots of the
// targets and of the series the benchmarks report.
package benchreport

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ErrFailed reports that a benchmark or a package failed in the run.
var ErrFailed = errors.New("benchreport: benchmarks failed")

// Metric is one value a benchmark reported, in the order printed.
type Metric struct {
	Value float64
	Unit  string
}

// Result is one benchmark result line.
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

// Skip is a benchmark that called b.Skip (go test prints these only in
// verbose mode).
type Skip struct {
	Pkg, Name string
	Output    []string
}

// Run is everything one `go test -bench` output holds.
type Run struct {
	// Config holds the first value of each "key: value" header line
	// (goos, goarch, cpu).
	Config   map[string]string
	Results  []Result
	Failures []Failure
	Skips    []Skip
	// Packages lists each package's final status line: ok, FAIL or the
	// bracketed note ("[no test files]", "[build failed]").
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

var (
	procsSuffix = regexp.MustCompile(`-(\d+)$`)
	// A frame of a panicking benchmark: pkg.BenchmarkX(...) or
	// pkg.BenchmarkX.func1(...).
	panicFrame = regexp.MustCompile(`\.(Benchmark[^.(\s]*)[.(]`)
	// go test's package summary: "ok  \tpkg\t1.2s", "FAIL\tpkg [build failed]".
	pkgLine = regexp.MustCompile(`^(ok|FAIL|\?)\s+(\S+)(?:\s+(.*))?$`)
)

// maxOutput bounds the lines kept to explain one failure.
const maxOutput = 30

// parser is the state of Parse between lines.
type parser struct {
	run *Run
	pkg string
	// started is the benchmark last named on its own line or before its
	// result, not yet finished: a panic or a failed binary is blamed on it,
	// unless a timeout's list of running benchmarks names another.
	started string
	// log collects the indented lines after a failure or skip header.
	log *[]string
	// firstResult and firstFailure index this package's first result and
	// failure, to name the package on them when no "pkg:" header came.
	firstResult, firstFailure int
	// builds holds compiler and vet output by the package its "# pkg"
	// header names; building is the one being collected.
	builds   map[string][]string
	building string
	// panic collects the panic message and trace.
	panic []string
}

// Parse reads `go test -bench` output, any number of packages, with the
// test binaries' own output mixed in.
func Parse(r io.Reader) (*Run, error) {
	p := &parser{run: &Run{Config: map[string]string{}}, builds: map[string][]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		p.line(strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return p.run, fmt.Errorf("reading benchmark output: %w", err)
	}
	p.endPackage("", "")
	return p.run, nil
}

func (p *parser) line(l string) {
	trimmed := strings.TrimSpace(l)
	status := pkgLine.FindStringSubmatch(l)
	if p.panic != nil && status == nil {
		// Everything up to the package's status line is the trace.
		if len(p.panic) < maxOutput {
			p.panic = append(p.panic, l)
		}
		return
	}
	if p.log != nil {
		if (strings.HasPrefix(l, "    ") || strings.HasPrefix(l, "\t")) && !isHeader(l) {
			if len(*p.log) < maxOutput {
				*p.log = append(*p.log, trimmed)
			}
			return
		}
		p.log = nil
	}
	if p.building != "" {
		if status == nil && !strings.HasPrefix(l, "# ") && !isConfig(l) && trimmed != "FAIL" && trimmed != "PASS" {
			if b := p.builds[p.building]; len(b) < maxOutput {
				p.builds[p.building] = append(b, l)
			}
			return
		}
		p.building = ""
	}
	switch {
	case trimmed == "":
	case strings.HasPrefix(l, "# "):
		p.building = strings.Fields(l)[1]
		p.builds[p.building] = append(p.builds[p.building], l)
	case strings.HasPrefix(l, "pkg: "):
		p.pkg = strings.TrimSpace(strings.TrimPrefix(l, "pkg: "))
	case isConfig(l):
		k, v, _ := strings.Cut(l, ":")
		if _, ok := p.run.Config[k]; !ok {
			p.run.Config[k] = strings.TrimSpace(v)
		}
	case p.failOrSkip(l):
	case strings.HasPrefix(trimmed, "panic: "):
		p.panic = []string{trimmed}
	case p.result(l):
	case strings.HasPrefix(l, "Benchmark"):
		// A benchmark's name printed as it starts; whatever follows it on
		// the line (a panic, the program's own output) is a line of its own.
		name, rest, _ := strings.Cut(strings.Replace(l, "\t", " ", 1), " ")
		p.started = name
		if rest = strings.TrimSpace(rest); rest != "" {
			p.line(rest)
		}
	case status != nil:
		st := status[1]
		if strings.HasPrefix(status[3], "[") {
			st = status[3]
		}
		p.endPackage(status[2], st)
	}
}

// isHeader reports whether l starts a failure or skip, however indented.
func isHeader(l string) bool {
	return strings.Contains(l, "--- FAIL: ") || strings.Contains(l, "--- SKIP: ")
}

func isConfig(l string) bool {
	for _, k := range []string{"goos:", "goarch:", "cpu:"} {
		if strings.HasPrefix(l, k) {
			return true
		}
	}
	return false
}

// failOrSkip handles "--- FAIL: name" and "--- SKIP: name", which go test
// may print after a benchmark's name and a tab on the same line.
func (p *parser) failOrSkip(l string) bool {
	for _, tag := range []string{"--- FAIL: ", "--- SKIP: "} {
		i := strings.Index(l, tag)
		if i < 0 {
			continue
		}
		fields := strings.Fields(l[i+len(tag):])
		if len(fields) == 0 {
			return false
		}
		name := stripProcs(fields[0])
		if tag == "--- FAIL: " {
			p.run.Failures = append(p.run.Failures, Failure{Pkg: p.pkg, Name: name})
			p.log = &p.run.Failures[len(p.run.Failures)-1].Output
		} else {
			p.run.Skips = append(p.run.Skips, Skip{Pkg: p.pkg, Name: name})
			p.log = &p.run.Skips[len(p.run.Skips)-1].Output
		}
		return true
	}
	return false
}

// result parses "BenchmarkX-2 \t 1 \t 82.9 unit \t ..." lines, and the
// same without the name when output the benchmark printed split the line
// after its name.
func (p *parser) result(l string) bool {
	f := strings.Fields(l)
	full, least := p.started, 3
	if len(f) > 0 && strings.HasPrefix(f[0], "Benchmark") {
		full, f, least = f[0], f[1:], 1
	}
	if full == "" || len(f) < least || len(f)%2 != 1 {
		return false
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return false
	}
	res := Result{Pkg: p.pkg, Name: stripProcs(full), Procs: procs(full), Iterations: n}
	for i := 1; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return false
		}
		res.Metrics = append(res.Metrics, Metric{Value: v, Unit: f[i+1]})
	}
	p.run.Results = append(p.run.Results, res)
	p.started = ""
	return true
}

// endPackage closes one package: it names the package on what it left
// unnamed and turns a panic or a failed build into failures.
func (p *parser) endPackage(path, status string) {
	if path == "" {
		path = p.pkg
	}
	if p.panic != nil {
		name := stripProcs(p.started)
		for _, l := range p.panic {
			if m := panicFrame.FindStringSubmatch(l); m != nil && name == "" {
				name = m[1]
			}
			// A timeout lists what was running: "\t\tBenchmarkX (1m0s)".
			if f := strings.Fields(l); len(f) == 2 && strings.HasPrefix(f[0], "Benchmark") && strings.HasPrefix(f[1], "(") {
				name = stripProcs(f[0])
			}
		}
		p.run.Failures = append(p.run.Failures, Failure{Pkg: path, Name: name, Output: p.panic})
	}
	if status == "[build failed]" || status == "[setup failed]" {
		p.run.Failures = append(p.run.Failures, Failure{Pkg: path, Output: p.builds[path]})
	} else if status == "FAIL" && len(p.run.Failures) == p.firstFailure {
		// The binary failed with nothing to blame: TestMain, a crash
		// after the last result, an os.Exit.
		p.run.Failures = append(p.run.Failures, Failure{Pkg: path, Name: stripProcs(p.started)})
	}
	for i := p.firstResult; i < len(p.run.Results); i++ {
		if p.run.Results[i].Pkg == "" {
			p.run.Results[i].Pkg = path
		}
	}
	for i := p.firstFailure; i < len(p.run.Failures); i++ {
		if p.run.Failures[i].Pkg == "" {
			p.run.Failures[i].Pkg = path
		}
	}
	if status != "" {
		p.run.Packages = append(p.run.Packages, Package{Path: path, Status: status})
	}
	p.pkg, p.started, p.log, p.building, p.panic = "", "", nil, "", nil
	p.firstResult, p.firstFailure = len(p.run.Results), len(p.run.Failures)
}

func stripProcs(name string) string {
	return procsSuffix.ReplaceAllString(name, "")
}

func procs(name string) int {
	if m := procsSuffix.FindStringSubmatch(name); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
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
