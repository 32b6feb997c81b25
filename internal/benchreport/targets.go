package benchreport

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Module is the import path the Pkg of a Target is relative to.
const Module = "github.com/ocrhost/ocrhost"

// Goal says how a measured figure is judged against Target.Want.
type Goal int

const (
	// NoTarget shows the figure with no target to meet.
	NoTarget Goal = iota
	// AtLeast is met by a figure ≥ Want.
	AtLeast
	// AtMost is met by a figure ≤ Want.
	AtMost
)

// Target names one figure a benchmark reports and what it should be.
type Target struct {
	Name string
	// Pkg is the benchmark's package relative to Module ("" for the root).
	Pkg string
	// Bench is the benchmark's name; each of its sub-benchmarks that
	// reports Unit gives a row of its own.
	Bench string
	Unit  string
	// OverBench and OverUnit, when OverUnit is set, make the figure the
	// ratio Unit ÷ OverUnit, the divisor taken from OverBench in the same
	// package ("" for the same result).
	OverBench, OverUnit string
	Goal                Goal
	Want                float64
	// Suffix follows the numbers: "%", "×", " s".
	Suffix string
}

// Targets are the figures the README quotes, as the benchmarks report
// them.
var Targets = []Target{
	{Name: "seed memory reduction, 8 concurrent (peak rise above floor)", Pkg: "host", Bench: "BenchmarkSeedMemory",
		Unit: "reduction-%", Goal: AtLeast, Want: 75, Suffix: "%"},
	{Name: "seed concurrency under 1 GiB, pooled ÷ per-task", Pkg: "host", Bench: "BenchmarkSeedConcurrency",
		Unit: "capacity-ratio", Goal: AtLeast, Want: 4, Suffix: "×"},
	{Name: "idle RSS after eviction ÷ fresh process", Pkg: "host", Bench: "BenchmarkIdleAfterEviction",
		Unit: "evicted/fresh", Goal: AtMost, Want: 1.2, Suffix: "×"},
	{Name: "warm request latency, end-to-end ÷ in-process", Pkg: "cmd/host", Bench: "BenchmarkWarmOverhead",
		Unit: "e2e/in-process", Goal: AtMost, Want: 1.05, Suffix: "×"},
	{Name: "pre/post-processing overhead of inference time", Pkg: "function", Bench: "BenchmarkPipeline",
		Unit: "overhead-%", Goal: AtMost, Want: 15, Suffix: "%"},
	{Name: "layout analysis of inference time", Pkg: "function", Bench: "BenchmarkLayout",
		Unit: "layout-%", Goal: AtMost, Want: 2, Suffix: "%"},
	{Name: "PDF rendering peak RSS, 50 pages ÷ 2 pages", Pkg: "function/document", Bench: "BenchmarkPeakRSS/pages=50",
		Unit: "peak-MiB", OverBench: "BenchmarkPeakRSS/pages=2", OverUnit: "peak-MiB", Goal: AtMost, Want: 1.2, Suffix: "×"},
	{Name: "host document peak RSS rise, 50 pages ÷ 1 page", Pkg: "host", Bench: "BenchmarkDocumentPages",
		Unit: "peak_MB_50p", OverUnit: "peak_MB_1p", Goal: AtMost, Want: 1.2, Suffix: "×"},
	{Name: "host document throughput", Pkg: "host", Bench: "BenchmarkDocumentPages", Unit: "pages/s", Suffix: " pages/s"},
	{Name: "document pages/s, next page rendered ahead ÷ one at a time (20 pages, one run)", Pkg: "host",
		Bench: "BenchmarkDocumentPrefetch", Unit: "speedup", Goal: AtLeast, Want: 2, Suffix: "×"},
	{Name: "document peak RSS rise, next page rendered ahead ÷ one at a time", Pkg: "host",
		Bench: "BenchmarkDocumentPrefetch", Unit: "peak_MB", OverUnit: "peak_MB_seq", Goal: AtMost, Want: 1.1, Suffix: "×"},
	{Name: "document throughput, next page rendered ahead", Pkg: "host", Bench: "BenchmarkDocumentPrefetch",
		Unit: "pages/s", Suffix: " pages/s"},
	{Name: "20-page text PDF pages/s, read from its text layer (pdf_text auto) ÷ recognised", Pkg: "host",
		Bench: "BenchmarkTextPDF", Unit: "speedup", Goal: AtLeast, Want: 2, Suffix: "×"},
	{Name: "20-page text PDF peak RSS rise, text layer ÷ recognised", Pkg: "host",
		Bench: "BenchmarkTextPDF", Unit: "peak_MB_text", OverUnit: "peak_MB_ocr", Goal: AtMost, Want: 1.1, Suffix: "×"},
	{Name: "detection time, det_scale auto ÷ fixed (shared images and documents)", Pkg: "function",
		Bench: "BenchmarkDetScale", Unit: "auto/fixed", Suffix: "×"},
	{Name: "detection time, det_scale auto ÷ fixed (magazine scan)", Pkg: "function",
		Bench: "BenchmarkDetScale", Unit: "magazine-auto/fixed", Suffix: "×"},
	{Name: "scale-out throughput, 2 hosts ÷ 1", Pkg: "cmd/host", Bench: "BenchmarkScaleOut", Unit: "x2_hosts_ratio", Suffix: "×"},
	{Name: "scale-out throughput, 3 hosts ÷ 1", Pkg: "cmd/host", Bench: "BenchmarkScaleOut", Unit: "x3_hosts_ratio", Suffix: "×"},
	{Name: "failover, host killed → answer from another", Pkg: "cmd/host", Bench: "BenchmarkFailover", Unit: "failover-s", Suffix: " s"},
	{Name: "takeover, host killed → job taken up again", Pkg: "cmd/host", Bench: "BenchmarkFailover", Unit: "takeover-s", Suffix: " s"},
	{Name: "cold first request ÷ warm", Pkg: "cmd/host", Bench: "BenchmarkWarmOverhead", Unit: "cold/warm", Suffix: "×"},
	{Name: "process start to ready", Pkg: "cmd/host", Bench: "BenchmarkStartToReady", Unit: "start-to-ready-ms", Suffix: " ms"},
	{Name: "pipeline throughput", Pkg: "function", Bench: "BenchmarkPipeline", Unit: "img/s", Suffix: " img/s"},
}

// Status is a Row's verdict.
type Status int

const (
	// NotRun: no result and no failure for the benchmark.
	NotRun Status = iota
	// Failed: the benchmark failed, so its figure is missing.
	Failed
	// Missing: the benchmark ran but did not report the metric.
	Missing
	// Reported: measured, with no target to meet.
	Reported
	// Met and NotMet: measured against the target.
	Met
	NotMet
)

func (s Status) String() string {
	return [...]string{"not run", "FAILED", "not reported", "—", "yes", "NO"}[s]
}

// Row is one target as measured by one benchmark.
type Row struct {
	Target   Target
	Pkg      string
	Source   string
	Measured float64
	Status   Status
}

// Evaluate measures every target on run, one row per (sub-)benchmark that
// reports it, and a row saying why when none does.
func Evaluate(run *Run, targets []Target) []Row {
	var rows []Row
	for _, t := range targets {
		rows = append(rows, t.evaluate(run)...)
	}
	return rows
}

func (t Target) pkgPath() string {
	if t.Pkg == "" {
		return Module
	}
	return Module + "/" + t.Pkg
}

// matches reports whether res is t's benchmark or one of its subs.
func (t Target) matches(pkg, name string) bool {
	return (pkg == t.pkgPath() || pkg == "") && within(name, t.Bench)
}

func (t Target) evaluate(run *Run) []Row {
	var rows []Row
	ran := false
	for _, res := range run.Results {
		if !t.matches(res.Pkg, res.Name) {
			continue
		}
		ran = true
		v, ok := res.Metric(t.Unit)
		if !ok {
			continue
		}
		row := Row{Target: t, Pkg: res.Pkg, Source: res.Name, Measured: v}
		if t.OverUnit != "" {
			d, status := t.divisor(run, res)
			if status != Reported {
				rows = append(rows, Row{Target: t, Pkg: res.Pkg, Source: t.OverBench, Status: status})
				continue
			}
			row.Measured = v / d
		}
		row.Status = t.judge(row.Measured)
		rows = append(rows, row)
	}
	for _, f := range run.Failures {
		if f.Pkg != t.pkgPath() && f.Pkg != "" {
			continue
		}
		switch {
		case f.Name == "" && !ran:
			// The package's binary failed before this benchmark ran.
			rows = append(rows, Row{Target: t, Pkg: f.Pkg, Source: t.Bench, Status: Failed})
		case (within(f.Name, t.Bench) || within(t.Bench, f.Name)) && !failedBelow(run, f):
			rows = append(rows, Row{Target: t, Pkg: f.Pkg, Source: f.Name, Status: Failed})
		}
	}
	if len(rows) == 0 {
		status := NotRun
		if ran {
			status = Missing
		}
		rows = append(rows, Row{Target: t, Pkg: t.pkgPath(), Source: t.Bench, Status: status})
	}
	return rows
}

// failedBelow reports whether one of f's sub-benchmarks failed too: go
// test fails the parent of a failed sub-benchmark, which says no more.
func failedBelow(run *Run, f Failure) bool {
	for _, g := range run.Failures {
		if g.Pkg == f.Pkg && strings.HasPrefix(g.Name, f.Name+"/") {
			return true
		}
	}
	return false
}

// divisor finds OverUnit for res: its status is Reported when found.
func (t Target) divisor(run *Run, res Result) (float64, Status) {
	if t.OverBench == "" {
		if d, ok := res.Metric(t.OverUnit); ok {
			return d, Reported
		}
		return 0, Missing
	}
	for _, o := range run.Results {
		if o.Pkg == res.Pkg && o.Name == t.OverBench {
			if d, ok := o.Metric(t.OverUnit); ok {
				return d, Reported
			}
			return 0, Missing
		}
	}
	if run.Failed(res.Pkg, t.OverBench) {
		return 0, Failed
	}
	return 0, NotRun
}

func (t Target) judge(v float64) Status {
	switch {
	case t.Goal == NoTarget:
		return Reported
	case math.IsNaN(v):
		return NotMet
	case t.Goal == AtLeast && v >= t.Want, t.Goal == AtMost && v <= t.Want:
		return Met
	}
	return NotMet
}

// WantText is the target as the report writes it: "≥ 75%".
func (t Target) WantText() string {
	switch t.Goal {
	case AtLeast:
		return "≥ " + strconv.FormatFloat(t.Want, 'g', -1, 64) + t.Suffix
	case AtMost:
		return "≤ " + strconv.FormatFloat(t.Want, 'g', -1, 64) + t.Suffix
	}
	return "—"
}

// MeasuredText is the row's figure as the report writes it.
func (r Row) MeasuredText() string {
	if r.Status < Reported {
		return "—"
	}
	return formatNum(r.Measured) + r.Target.Suffix
}

// Headroom is the measured figure relative to the target, 1 or more when
// met: measured ÷ want for AtLeast, want ÷ measured for AtMost.
func (r Row) Headroom() (float64, bool) {
	if r.Status != Met && r.Status != NotMet || math.IsNaN(r.Measured) {
		return 0, false
	}
	if r.Target.Goal == AtLeast {
		return r.Measured / r.Target.Want, true
	}
	if r.Measured <= 0 {
		return math.Inf(1), true
	}
	return r.Target.Want / r.Measured, true
}

// formatNum prints v with about three significant digits and no exponent
// for the magnitudes benchmarks report.
func formatNum(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Sprint(v)
	case v == 0:
		return "0"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	case a >= 0.001:
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", v), "0"), ".")
	}
	return fmt.Sprintf("%.3g", v)
}
