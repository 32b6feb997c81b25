package benchreport

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Files a report directory holds besides the series charts.
const (
	ReportFile  = "report.md"
	TargetsPlot = "targets.png"
)

// Report is one benchmark run made ready to write.
type Report struct {
	Run     *Run
	Machine Machine
	Rows    []Row
	Charts  []Chart
	// targetsChart is set by WriteDir once targets.png exists.
	targetsChart bool
}

// New evaluates targets on run and derives its charts.
func New(run *Run, m Machine, targets []Target) *Report {
	return &Report{Run: run, Machine: m, Rows: Evaluate(run, targets), Charts: Series(run)}
}

// WriteDir writes report.md, targets.png and the series charts into dir.
func (r *Report) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	ok, err := WriteTargetsChart(&buf, r.Rows)
	if err != nil {
		return err
	}
	if r.targetsChart = ok; ok {
		if err := os.WriteFile(filepath.Join(dir, TargetsPlot), buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	for _, c := range r.Charts {
		buf.Reset()
		if err := WriteChart(&buf, c); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, c.File), buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	buf.Reset()
	if err := r.WriteMarkdown(&buf); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ReportFile), buf.Bytes(), 0o644)
}

// WriteMarkdown writes the report: the machine, the targets, the
// failures and every benchmark's metrics with its charts.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString("# ocrhost benchmark report\n\n")
	r.writeMachine(&b)
	r.writeTargets(&b)
	r.writeFailures(&b)
	r.writeBenchmarks(&b)
	_, err := w.Write(b.Bytes())
	return err
}

func (r *Report) writeMachine(b *bytes.Buffer) {
	m := r.Machine
	cpu := m.CPU
	if cpu == "" {
		cpu = r.Run.Config["cpu"]
	}
	if arch := r.Run.Config["goarch"]; arch != "" {
		cpu = strings.TrimSpace(cpu + " (" + r.Run.Config["goos"] + "/" + arch + ")")
	}
	rows := [][2]string{
		{"started", stamp(m.Start)},
		{"finished", stamp(m.End)},
		{"CPU", cpu},
		{"cores", fmt.Sprint(m.Cores)},
		{"RAM", gib(m.MemTotal)},
		{"load average (1, 5, 15 min)", "start " + orUnknown(m.LoadStart) + "; end " + orUnknown(m.LoadEnd)},
		{"Go", orUnknown(m.GoVersion)},
		{"ONNX Runtime", orUnknown(m.ORTVersion)},
		{"command", code(m.Command)},
		{"outcome", r.outcome()},
	}
	if !m.Start.IsZero() && !m.End.IsZero() {
		rows[1][1] += fmt.Sprintf(" (%s)", m.End.Sub(m.Start).Round(time.Second))
	}
	b.WriteString("| | |\n|---|---|\n")
	for _, row := range rows {
		fmt.Fprintf(b, "| %s | %s |\n", row[0], mdCell(row[1]))
	}
	b.WriteString("\n")
}

func (r *Report) outcome() string {
	s := fmt.Sprintf("results: %d; packages: %d", len(r.Run.Results), len(r.Run.Packages))
	if n := len(r.Run.Failures); n > 0 {
		return s + fmt.Sprintf("; **%d failed** (see Failures)", n)
	}
	return s + "; nothing failed"
}

func (r *Report) writeTargets(b *bytes.Buffer) {
	b.WriteString("## Targets\n\n")
	b.WriteString("| target | measured | target | met? | source |\n|---|---:|---:|---|---|\n")
	for _, row := range r.Rows {
		met := row.Status.String()
		if row.Status == NotMet || row.Status == Failed {
			met = "**" + met + "**"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", mdCell(row.Target.Name), row.MeasuredText(),
			row.Target.WantText(), met, mdCell(source(row)))
	}
	if r.targetsChart {
		fmt.Fprintf(b, "\n![targets](%s)\n", TargetsPlot)
	}
	b.WriteString("\n")
}

// source names where a row's figure comes from: package, benchmark, unit.
func source(row Row) string {
	s := "`" + strings.TrimPrefix(strings.TrimPrefix(row.Pkg, Module), "/") + "` " + row.Source
	if row.Status < Reported {
		return s
	}
	s += " " + row.Target.Unit
	if row.Target.OverUnit != "" {
		over := row.Target.OverUnit
		if row.Target.OverBench != "" {
			over = row.Target.OverBench + " " + over
		}
		s += " ÷ " + over
	}
	return s
}

func (r *Report) writeFailures(b *bytes.Buffer) {
	if len(r.Run.Failures) > 0 {
		b.WriteString("## Failures\n\n")
		for _, f := range r.Run.Failures {
			what := "package"
			if f.Name != "" {
				what = f.Name
			}
			fmt.Fprintf(b, "### FAILED: `%s` %s\n\n", relPkg(f.Pkg), what)
			if len(f.Output) > 0 {
				fmt.Fprintf(b, "```\n%s\n```\n\n", strings.Join(f.Output, "\n"))
			}
		}
	}
	if len(r.Run.Skips) > 0 {
		b.WriteString("## Skipped\n\n")
		for _, s := range r.Run.Skips {
			fmt.Fprintf(b, "- `%s` %s: %s\n", relPkg(s.Pkg), s.Name, mdCell(strings.Join(s.Output, " ")))
		}
		b.WriteString("\n")
	}
}

// writeBenchmarks writes one section per package and top-level benchmark:
// a table with a row per metric and a column per sub-benchmark, then its
// charts.
func (r *Report) writeBenchmarks(b *bytes.Buffer) {
	b.WriteString("## Benchmarks\n")
	var pkgs []string
	for _, res := range r.Run.Results {
		if !slices.Contains(pkgs, res.Pkg) {
			pkgs = append(pkgs, res.Pkg)
		}
	}
	for _, f := range r.Run.Failures {
		if f.Name != "" && !slices.Contains(pkgs, f.Pkg) {
			pkgs = append(pkgs, f.Pkg)
		}
	}
	for _, pkg := range pkgs {
		fmt.Fprintf(b, "\n### `%s`\n", relPkg(pkg))
		for _, top := range r.Run.Benchmarks(pkg) {
			fmt.Fprintf(b, "\n#### %s\n\n", top)
			var results []Result
			for _, res := range r.Run.Results {
				if res.Pkg == pkg && within(res.Name, top) {
					results = append(results, res)
				}
			}
			writeMetrics(b, top, results)
			for _, f := range r.Run.Failures {
				if f.Pkg == pkg && f.Name != "" && within(f.Name, top) {
					fmt.Fprintf(b, "**FAILED:** %s\n\n", f.Name)
				}
			}
			for _, c := range r.Charts {
				if c.Pkg == pkg && c.Bench == top {
					fmt.Fprintf(b, "![%s](%s)\n\n", mdCell(c.Title), c.File)
				}
			}
		}
	}
}

func writeMetrics(b *bytes.Buffer, top string, results []Result) {
	if len(results) == 0 {
		return
	}
	var units []string
	for _, res := range results {
		for _, m := range res.Metrics {
			if !slices.Contains(units, m.Unit) {
				units = append(units, m.Unit)
			}
		}
	}
	b.WriteString("| metric |")
	for _, res := range results {
		name := strings.TrimPrefix(res.Name, top+"/")
		fmt.Fprintf(b, " %s |", mdCell(name))
	}
	b.WriteString("\n|---|" + strings.Repeat("---:|", len(results)) + "\n| iterations |")
	for _, res := range results {
		fmt.Fprintf(b, " %d |", res.Iterations)
	}
	b.WriteString("\n")
	for _, u := range units {
		fmt.Fprintf(b, "| %s |", mdCell(u))
		for _, res := range results {
			cell := ""
			if v, ok := res.Metric(u); ok {
				cell = formatNum(v)
			}
			fmt.Fprintf(b, " %s |", cell)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

func relPkg(pkg string) string {
	if pkg == Module {
		return "."
	}
	return strings.TrimPrefix(pkg, Module+"/")
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func gib(n uint64) string {
	if n == 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func code(s string) string {
	if s == "" {
		return "unknown"
	}
	return "`" + s + "`"
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
