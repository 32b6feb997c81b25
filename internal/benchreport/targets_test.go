package benchreport

import (
	"math"
	"strings"
	"testing"
)

func TestEvaluateTargets(t *testing.T) {
	run := parseFiles(t, "handwritten.txt", "start_to_ready.json", "document_pages.txt", "prefetch_detscale.txt")
	type want struct {
		source   string
		measured float64
		status   Status
	}
	wants := map[string][]want{
		"seed memory reduction, 8 concurrent (peak rise above floor)": {
			{"BenchmarkSeedMemory/phototest", 57.74, NotMet}, {"BenchmarkSeedMemory/paddleocr_11", 58.64, NotMet}},
		"seed concurrency under 1 GiB, pooled ÷ per-task":                                 {{"BenchmarkSeedConcurrency", 5.333, Met}},
		"idle RSS after eviction ÷ fresh process":                                         {{"BenchmarkIdleAfterEviction", 1.536, NotMet}},
		"warm request latency, end-to-end ÷ in-process":                                   {{"BenchmarkWarmOverhead", 0.97, Met}},
		"pre/post-processing overhead of inference time":                                  {{"BenchmarkPipeline", 3.3, Met}},
		"layout analysis of inference time":                                               {{"BenchmarkLayout", 0.454, Met}},
		"PDF rendering peak RSS, 50 pages ÷ 2 pages":                                      {{"BenchmarkPeakRSS/pages=50", 117.0 / 58.0, NotMet}},
		"host document peak RSS rise, 50 pages ÷ 1 page":                                  {{"BenchmarkDocumentPages/a7", 171.4 / 130.5, NotMet}},
		"host document throughput":                                                        {{"BenchmarkDocumentPages/a7", 0.2098, Reported}},
		"document pages/s, next page rendered ahead ÷ one at a time (20 pages, one run)":  {{"BenchmarkDocumentPrefetch/a7", 1.621, NotMet}},
		"document peak RSS rise, next page rendered ahead ÷ one at a time":                {{"BenchmarkDocumentPrefetch/a7", 155.7 / 147.2, Met}},
		"document throughput, next page rendered ahead":                                   {{"BenchmarkDocumentPrefetch/a7", 1.324, Reported}},
		"20-page text PDF pages/s, read from its text layer (pdf_text auto) ÷ recognised": {{"BenchmarkTextPDF/a7", 36.97, Met}},
		"20-page text PDF peak RSS rise, text layer ÷ recognised":                         {{"BenchmarkTextPDF/a7", 21.30 / 152.8, Met}},
		"detection time, det_scale auto ÷ fixed (shared images and documents)":            {{"BenchmarkDetScale", 0.6217, Reported}},
		"detection time, det_scale auto ÷ fixed (magazine scan)":                          {{"BenchmarkDetScale", 0.8206, Reported}},
		"scale-out throughput, 2 hosts ÷ 1":                                               {{"BenchmarkScaleOut", 1.512, Reported}},
		"scale-out throughput, 3 hosts ÷ 1":                                               {{"BenchmarkScaleOut", 1.61, Reported}},
		"failover, host killed → answer from another":                                     {{"BenchmarkFailover", 0, Failed}},
		"takeover, host killed → job taken up again":                                      {{"BenchmarkFailover", 0, Failed}},
		"cold first request ÷ warm":                                                       {{"BenchmarkWarmOverhead", 1.31, Reported}},
		"process start to ready":                                                          {{"BenchmarkStartToReady", 223.5, Reported}},
		"pipeline throughput":                                                             {{"BenchmarkPipeline", 0.83, Reported}},
	}
	got := map[string][]Row{}
	for _, r := range Evaluate(run, Targets) {
		got[r.Target.Name] = append(got[r.Target.Name], r)
	}
	if len(got) != len(Targets) || len(wants) != len(Targets) {
		t.Fatalf("%d targets evaluated, %d expected, %d in Targets", len(got), len(wants), len(Targets))
	}
	for name, ws := range wants {
		rows := got[name]
		if len(rows) != len(ws) {
			t.Errorf("%s: %d rows %+v, want %d", name, len(rows), rows, len(ws))
			continue
		}
		for i, w := range ws {
			r := rows[i]
			if r.Source != w.source || r.Status != w.status || math.Abs(r.Measured-w.measured) > 1e-9 {
				t.Errorf("%s row %d: %s %v %s, want %s %v %s", name, i, r.Source, r.Measured, r.Status, w.source, w.measured, w.status)
			}
		}
	}
}

func TestEvaluateMissingAndFailed(t *testing.T) {
	const out = `pkg: github.com/ocrhost/ocrhost/function/document
BenchmarkPeakRSS/pages=50-2   	       1	       117.0 peak-MiB
--- FAIL: BenchmarkPeakRSS/pages=2
    bench_test.go:80: page 1 empty
--- FAIL: BenchmarkPeakRSS
FAIL	github.com/ocrhost/ocrhost/function/document	3.0s
pkg: github.com/ocrhost/ocrhost/host
BenchmarkSeedConcurrency-2   	       1	      1024 budget-MB	         0 pooled-capacity
ok  	github.com/ocrhost/ocrhost/host	3.0s
# github.com/ocrhost/ocrhost/function [github.com/ocrhost/ocrhost/function.test]
function/bench_test.go:12:2: undefined: x
FAIL	github.com/ocrhost/ocrhost/function [build failed]
`
	run, err := Parse(strings.NewReader(fromText(t, out)))
	if err != nil {
		t.Fatal(err)
	}
	targets := []Target{
		{Name: "ratio", Pkg: "function/document", Bench: "BenchmarkPeakRSS/pages=50", Unit: "peak-MiB",
			OverBench: "BenchmarkPeakRSS/pages=2", OverUnit: "peak-MiB", Goal: AtMost, Want: 1.2},
		{Name: "missing", Pkg: "host", Bench: "BenchmarkSeedConcurrency", Unit: "capacity-ratio", Goal: AtLeast, Want: 4},
		{Name: "build", Pkg: "function", Bench: "BenchmarkPipeline", Unit: "overhead-%", Goal: AtMost, Want: 15},
		{Name: "absent", Pkg: "cmd/host", Bench: "BenchmarkScaleOut", Unit: "x2_hosts_ratio"},
		{Name: "other package", Pkg: "cmd/host", Bench: "BenchmarkSeedConcurrency", Unit: "budget-MB"},
	}
	want := []struct {
		source string
		status Status
	}{
		// The divisor failed; its parent's failure says nothing more.
		{"BenchmarkPeakRSS/pages=2", Failed},
		{"BenchmarkSeedConcurrency", Missing},
		{"BenchmarkPipeline", Failed},
		{"BenchmarkScaleOut", NotRun},
		{"BenchmarkSeedConcurrency", NotRun},
	}
	rows := Evaluate(run, targets)
	if len(rows) != len(want) {
		t.Fatalf("rows %+v", rows)
	}
	for i, w := range want {
		if rows[i].Source != w.source || rows[i].Status != w.status || rows[i].MeasuredText() != "—" {
			t.Errorf("%s: %s %s %q, want %s %s", rows[i].Target.Name, rows[i].Source, rows[i].Status, rows[i].MeasuredText(), w.source, w.status)
		}
	}
}

func TestJudgeAndText(t *testing.T) {
	least := Target{Goal: AtLeast, Want: 75, Suffix: "%"}
	most := Target{Goal: AtMost, Want: 1.05, Suffix: "×"}
	for _, c := range []struct {
		t    Target
		v    float64
		want Status
		head float64
	}{
		{least, 75, Met, 1}, {least, 60, NotMet, 0.8}, {least, 90, Met, 1.2},
		{most, 1.05, Met, 1}, {most, 2.1, NotMet, 0.5}, {most, math.NaN(), NotMet, -1},
		{Target{Want: 3}, 1, Reported, -1},
	} {
		r := Row{Target: c.t, Measured: c.v, Status: c.t.judge(c.v)}
		if r.Status != c.want {
			t.Errorf("%v against %s: %s, want %s", c.v, c.t.WantText(), r.Status, c.want)
		}
		h, ok := r.Headroom()
		if ok != (c.head >= 0) || ok && math.Abs(h-c.head) > 1e-9 {
			t.Errorf("%v against %s: headroom %v, %v; want %v", c.v, c.t.WantText(), h, ok, c.head)
		}
	}
	if least.WantText() != "≥ 75%" || most.WantText() != "≤ 1.05×" || (Target{}).WantText() != "—" {
		t.Errorf("want texts %q %q", least.WantText(), most.WantText())
	}
	for v, want := range map[float64]string{0: "0", 1278: "1278", 57.74: "57.7", 1.536: "1.54", 0.05278: "0.0528",
		0.0001234: "0.000123", 433788689898: "433788689898", math.Inf(1): "+Inf"} {
		if got := formatNum(v); got != want {
			t.Errorf("formatNum(%v) = %q, want %q", v, got, want)
		}
	}
}
