package loadgen

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"image/color"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Files a report directory holds.
const (
	ReportFile   = "report.md"
	SamplesFile  = "samples.csv"
	RequestsFile = "requests.csv"
	RSSPlot      = "rss.png"
	LatencyPlot  = "latency.png"
)

const mib = 1 << 20

// labels lists the outcome labels of s, OutcomeOK first, then by count.
func (s Summary) labels() []string {
	ls := slices.Collect(maps.Keys(s.Outcomes))
	slices.SortFunc(ls, func(a, b string) int {
		switch {
		case a == OutcomeOK:
			return -1
		case b == OutcomeOK:
			return 1
		case s.Outcomes[a] != s.Outcomes[b]:
			return s.Outcomes[b] - s.Outcomes[a]
		}
		return bytes.Compare([]byte(a), []byte(b))
	})
	return ls
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
}

func mibs(b uint64) string { return strconv.FormatFloat(float64(b)/mib, 'f', 1, 64) + " MiB" }

// trendLine describes the RSS trend and its verdict.
func (s Summary) trendLine() string {
	if s.TrendErr != nil {
		return "not judged: " + s.TrendErr.Error()
	}
	verdict := "ok"
	if s.Trend.Growth > s.MaxGrowth {
		verdict = "GROWING"
	}
	return fmt.Sprintf("%+.2f MiB/min over the second half (%d samples, %s), %+.2f%% of the mean %s (tolerance %.1f%%): %s",
		s.Trend.Slope*60/mib, s.Trend.Samples, s.Trend.Window.Round(time.Second), 100*s.Trend.Growth,
		mibs(uint64(s.Trend.Mean)), 100*s.MaxGrowth, verdict)
}

// WriteText writes the summary for a terminal.
func (s Summary) WriteText(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "transport %s, concurrency %d, %d file(s): %d requests in %s\n",
		s.Transport, s.Concurrency, s.Docs, s.Sent, s.Elapsed.Round(time.Millisecond))
	for _, l := range s.labels() {
		fmt.Fprintf(&b, "  %-20s %6d", l, s.Outcomes[l])
		if ex := s.Examples[l]; ex != "" {
			fmt.Fprintf(&b, "  e.g. %.120s", ex)
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "throughput: %.2f req/s, %.2f results/s\n", s.Throughput, s.OKRate)
	for _, l := range []struct {
		name string
		lat  Latency
	}{{"results", s.Latency}, {"all answers", s.AllLatency}} {
		if l.lat.N > 0 {
			fmt.Fprintf(&b, "latency (%s, n=%d): p50 %s  p90 %s  p99 %s  max %s  mean %s\n", l.name, l.lat.N,
				ms(l.lat.P50), ms(l.lat.P90), ms(l.lat.P99), ms(l.lat.Max), ms(l.lat.Mean))
		}
	}
	if s.Samples > 0 || s.MemoryErrors > 0 {
		fmt.Fprintf(&b, "host RSS: %d samples", s.Samples)
		if s.Samples > 0 {
			fmt.Fprintf(&b, ", first %s, peak %s, last %s", mibs(s.RSSFirst), mibs(s.RSSPeak), mibs(s.RSSLast))
			if s.Limit > 0 {
				fmt.Fprintf(&b, ", limit %s (peak %.0f%%)", mibs(s.Limit), 100*float64(s.RSSPeak)/float64(s.Limit))
			}
		}
		if s.MemoryErrors > 0 {
			fmt.Fprintf(&b, "; %d failed, e.g. %.120s", s.MemoryErrors, s.MemoryErrorMsg)
		}
		fmt.Fprintf(&b, "\nRSS trend: %s\n", s.trendLine())
	}
	_, err := w.Write(b.Bytes())
	return err
}

// WriteMarkdown writes the summary as the report.md of a report directory.
func (s Summary) WriteMarkdown(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# ocrhost load report\n\n")
	fmt.Fprintf(&b, "| | |\n|---|---|\n| transport | %s |\n| concurrency | %d |\n| files | %d |\n| requests | %d |\n| elapsed | %s |\n",
		s.Transport, s.Concurrency, s.Docs, s.Sent, s.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(&b, "| throughput | %.2f req/s |\n| results | %.2f /s |\n\n", s.Throughput, s.OKRate)
	fmt.Fprintf(&b, "## Outcomes\n\n| outcome | requests | example |\n|---|---:|---|\n")
	for _, l := range s.labels() {
		fmt.Fprintf(&b, "| %s | %d | %s |\n", l, s.Outcomes[l], mdCell(s.Examples[l]))
	}
	fmt.Fprintf(&b, "\n## Latency\n\n| | n | p50 | p90 | p99 | max | mean |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, l := range []struct {
		name string
		lat  Latency
	}{{"results", s.Latency}, {"all answers", s.AllLatency}} {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s |\n", l.name, l.lat.N, ms(l.lat.P50), ms(l.lat.P90),
			ms(l.lat.P99), ms(l.lat.Max), ms(l.lat.Mean))
	}
	fmt.Fprintf(&b, "\n![latency](%s)\n\n## Host memory\n\n", LatencyPlot)
	if s.Samples > 0 {
		fmt.Fprintf(&b, "%d samples (%d failed): RSS first %s, peak %s, last %s", s.Samples, s.MemoryErrors,
			mibs(s.RSSFirst), mibs(s.RSSPeak), mibs(s.RSSLast))
		if s.Limit > 0 {
			fmt.Fprintf(&b, ", limit %s", mibs(s.Limit))
		}
		fmt.Fprintf(&b, ".\n\nRSS trend: %s\n\n![RSS](%s)\n", s.trendLine(), RSSPlot)
	} else {
		fmt.Fprintf(&b, "Not sampled (%d failed samples).\n", s.MemoryErrors)
	}
	if err := s.Check(); err != nil {
		fmt.Fprintf(&b, "\n## Verdict\n\nFAIL: %s\n", mdCell(err.Error()))
	} else {
		fmt.Fprintf(&b, "\n## Verdict\n\nPASS: every request answered with a result; RSS level.\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}

func mdCell(s string) string {
	return string(bytes.ReplaceAll(bytes.ReplaceAll([]byte(s), []byte("|"), []byte(`\|`)), []byte("\n"), []byte(" ")))
}

// WriteDir writes a report directory: report.md, samples.csv (memory),
// requests.csv, rss.png (when memory was sampled) and latency.png.
func WriteDir(dir string, res *Result, s Summary) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	writers := map[string]func(io.Writer) error{
		ReportFile:   s.WriteMarkdown,
		SamplesFile:  func(w io.Writer) error { return writeSamples(w, res.Memory) },
		RequestsFile: func(w io.Writer) error { return writeRequests(w, res.Records) },
		LatencyPlot:  func(w io.Writer) error { return plotLatency(w, res.Records) },
	}
	if len(res.Memory) > 0 {
		writers[RSSPlot] = func(w io.Writer) error { return plotRSS(w, res.Memory) }
	}
	for name, write := range writers {
		if err := writeFile(filepath.Join(dir, name), write); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeSamples(w io.Writer, samples []MemorySample) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"t_s", "rss_bytes", "used_bytes", "limit_bytes", "level"})
	for _, m := range samples {
		cw.Write([]string{strconv.FormatFloat(m.At.Seconds(), 'f', 3, 64), strconv.FormatUint(m.RSS, 10),
			strconv.FormatUint(m.Used, 10), strconv.FormatUint(m.Limit, 10), m.Level})
	}
	cw.Flush()
	return cw.Error()
}

func writeRequests(w io.Writer, records []Record) error {
	sorted := slices.SortedFunc(slices.Values(records), func(a, b Record) int { return a.Seq - b.Seq })
	cw := csv.NewWriter(w)
	cw.Write([]string{"seq", "file", "start_s", "latency_ms", "outcome", "error"})
	for _, r := range sorted {
		cw.Write([]string{strconv.Itoa(r.Seq), r.Doc, strconv.FormatFloat(r.Start.Seconds(), 'f', 3, 64),
			strconv.FormatFloat(float64(r.Latency)/float64(time.Millisecond), 'f', 3, 64), r.Outcome, r.Err})
	}
	cw.Flush()
	return cw.Error()
}

var (
	blue   = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	orange = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
	red    = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
)

func savePNG(w io.Writer, p *plot.Plot) error {
	wt, err := p.WriterTo(10*vg.Inch, 4*vg.Inch, "png")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}

// plotRSS draws RSS over time with the memory limit as a dashed line.
func plotRSS(w io.Writer, samples []MemorySample) error {
	p := plot.New()
	p.Title.Text = "host RSS"
	p.X.Label.Text = "time (s)"
	p.Y.Label.Text = "MiB"
	p.Y.Min = 0
	pts := make(plotter.XYs, len(samples))
	var limit, peak uint64
	for i, m := range samples {
		pts[i] = plotter.XY{X: m.At.Seconds(), Y: float64(m.RSS) / mib}
		limit, peak = max(limit, m.Limit), max(peak, m.RSS)
	}
	p.Y.Max = 1.15 * float64(peak) / mib // room for the legend
	line, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	line.Color = blue
	p.Add(line)
	p.Legend.Add("RSS", line)
	switch {
	case limit == 0:
	case limit > 4*peak:
		// Drawn to scale, the RSS would be a flat line at the bottom.
		p.Title.Text = fmt.Sprintf("host RSS (limit %.0f MiB, off the scale)", float64(limit)/mib)
	default:
		l := float64(limit) / mib
		lim, err := plotter.NewLine(plotter.XYs{{X: pts[0].X, Y: l}, {X: pts[len(pts)-1].X, Y: l}})
		if err != nil {
			return err
		}
		lim.Color = red
		lim.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
		p.Add(lim)
		p.Legend.Add(fmt.Sprintf("limit %.0f MiB", l), lim)
		p.Y.Max = 1.15 * max(l, float64(peak)/mib)
	}
	p.Legend.Top = true
	return savePNG(w, p)
}

// plotLatency draws each request's latency at its start time: results,
// failures and unanswered requests in their own colours.
func plotLatency(w io.Writer, records []Record) error {
	p := plot.New()
	p.Title.Text = "request latency"
	p.X.Label.Text = "request start (s)"
	p.Y.Label.Text = "latency (s)"
	p.Y.Min = 0
	groups := []struct {
		name string
		keep func(string) bool
		c    color.Color
	}{
		{"result", func(o string) bool { return o == OutcomeOK }, blue},
		{"failure", func(o string) bool { return o != OutcomeOK && !unanswered(o) }, orange},
		{"unanswered", unanswered, red},
	}
	for _, g := range groups {
		var pts plotter.XYs
		for _, r := range records {
			if g.keep(r.Outcome) {
				pts = append(pts, plotter.XY{X: r.Start.Seconds(), Y: r.Latency.Seconds()})
			}
		}
		if len(pts) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		sc.Color = g.c
		sc.Radius = vg.Points(1.5)
		p.Add(sc)
		p.Legend.Add(fmt.Sprintf("%s (%d)", g.name, len(pts)), sc)
	}
	p.Legend.Top = true
	return savePNG(w, p)
}
