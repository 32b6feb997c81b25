package benchreport

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Line is one benchmark's (or one variant's) values of a unit against X.
type Line struct {
	Label string
	X, Y  []float64
}

// Chart is a series plot: lines of one unit against a number the
// benchmarks vary (pages, hosts, DPI, threads).
type Chart struct {
	// File is the PNG's name in the report directory.
	File string
	// Pkg and Bench place the chart under its top-level benchmark.
	Pkg, Bench     string
	Title          string
	XLabel, YLabel string
	Lines          []Line
}

var (
	// A sub-benchmark named after the value it varies: pages=50, dpi=170.
	paramName  = regexp.MustCompile(`^(.+)=(-?\d+(?:\.\d+)?)$`)
	number     = regexp.MustCompile(`\d+`)
	fileUnsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)
)

// noSeries are units that say nothing about the varied number.
var noSeries = []string{"B/op", "allocs/op"}

// Series derives the charts of run from two naming patterns: a unit with
// one number in it repeated with other numbers in one result
// (peak_MB_1p … peak_MB_50p, jobs/s_1_hosts …), and sub-benchmarks named
// key=number (pages=2, pages=50), one line per remaining sub-benchmark
// path. A chart needs a line of two points or more.
func Series(run *Run) []Chart {
	var charts []Chart
	index := map[string]int{}
	add := func(pkg, bench, key, title, xlabel, ylabel, line string, x, y float64) {
		i, ok := index[key]
		if !ok {
			i = len(charts)
			index[key] = i
			charts = append(charts, Chart{Pkg: pkg, Bench: bench, Title: title, XLabel: xlabel, YLabel: ylabel})
		}
		c := &charts[i]
		j := slices.IndexFunc(c.Lines, func(l Line) bool { return l.Label == line })
		if j < 0 {
			c.Lines = append(c.Lines, Line{Label: line})
			j = len(c.Lines) - 1
		}
		c.Lines[j].X = append(c.Lines[j].X, x)
		c.Lines[j].Y = append(c.Lines[j].Y, y)
	}
	for _, res := range run.Results {
		top, _, _ := strings.Cut(res.Name, "/")
		for _, m := range res.Metrics {
			if slices.Contains(noSeries, m.Unit) {
				continue
			}
			if loc := number.FindAllStringIndex(m.Unit, -1); len(loc) == 1 {
				x, _ := strconv.ParseFloat(m.Unit[loc[0][0]:loc[0][1]], 64)
				pattern := m.Unit[:loc[0][0]] + "N" + m.Unit[loc[0][1]:]
				add(res.Pkg, top, res.Pkg+" "+top+" "+pattern, top+": "+pattern,
					"N ("+around(m.Unit, loc[0][0], loc[0][1])+")", pattern, res.Name, x, m.Value)
			}
			parent, last, ok := cutLast(res.Name)
			if !ok {
				continue
			}
			if p := paramName.FindStringSubmatch(last); p != nil {
				x, _ := strconv.ParseFloat(p[2], 64)
				add(res.Pkg, top, res.Pkg+" "+top+" "+p[1]+" "+m.Unit, top+": "+m.Unit+" by "+p[1],
					p[1], m.Unit, parent, x, m.Value)
			}
		}
	}
	out := charts[:0]
	names := map[string]bool{}
	for _, c := range charts {
		if !slices.ContainsFunc(c.Lines, func(l Line) bool { return len(l.X) > 1 }) {
			continue
		}
		base := "series-" + strings.Trim(fileUnsafe.ReplaceAllString(strings.TrimPrefix(c.Title, "Benchmark"), "_"), "_")
		c.File = base + ".png"
		for n := 2; names[c.File]; n++ {
			c.File = fmt.Sprintf("%s-%d.png", base, n)
		}
		names[c.File] = true
		out = append(out, c)
	}
	return out
}

// around names what the number at unit[i:j] counts: the word after it
// (peak_MB_50p → p, jobs/s_2_hosts → hosts), else the word before.
func around(unit string, i, j int) string {
	sep := func(r rune) bool { return r == '_' || r == '-' || r == '/' || r == '%' }
	if f := strings.FieldsFunc(unit[j:], sep); len(f) > 0 {
		return f[0]
	}
	if f := strings.FieldsFunc(unit[:i], sep); len(f) > 0 {
		return f[len(f)-1]
	}
	return unit
}

func cutLast(name string) (parent, last string, ok bool) {
	i := strings.LastIndex(name, "/")
	if i < 0 {
		return "", "", false
	}
	return name[:i], name[i+1:], true
}

// WriteChart draws c as a PNG: one line with points per Line, sorted by X.
func WriteChart(w io.Writer, c Chart) error {
	p := plot.New()
	p.Title.Text = c.Title
	p.X.Label.Text = c.XLabel
	p.Y.Label.Text = c.YLabel
	for i, l := range c.Lines {
		pts := make(plotter.XYs, len(l.X))
		for k := range l.X {
			pts[k] = plotter.XY{X: l.X[k], Y: l.Y[k]}
		}
		slices.SortFunc(pts, func(a, b plotter.XY) int { return cmpFloat(a.X, b.X) })
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return fmt.Errorf("chart %s, line %s: %w", c.Title, l.Label, err)
		}
		line.Color, points.Color = plotutil.Color(i), plotutil.Color(i)
		points.Shape = plotutil.Shape(i)
		p.Add(line, points)
		p.Legend.Add(l.Label, line, points)
	}
	// From zero, so that a flat series looks flat, with room for the legend.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, l := range c.Lines {
		for _, y := range l.Y {
			lo, hi = math.Min(lo, y), math.Max(hi, y)
		}
	}
	if lo >= 0 && hi > 0 && !math.IsInf(hi, 0) {
		p.Y.Min, p.Y.Max = 0, 1.2*hi
	}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return savePNG(w, p, 10*vg.Inch, 4*vg.Inch)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// headroomCap bounds the bars of the targets chart so one figure far past
// its target leaves the others readable.
const headroomCap = 3.0

var (
	metColor    = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	notMetColor = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
)

// WriteTargetsChart draws each judged row's measured figure relative to
// its target (Row.Headroom) as a horizontal bar: 1 or more meets it.
// It reports false, writing nothing, when no row is judged.
func WriteTargetsChart(w io.Writer, rows []Row) (bool, error) {
	var labels, figures []string
	var values []float64
	var met []bool
	for _, r := range rows {
		h, ok := r.Headroom()
		if !ok {
			continue
		}
		labels = append(labels, r.Label())
		figures = append(figures, r.MeasuredText()+" vs "+r.Target.WantText())
		values = append(values, math.Min(h, headroomCap))
		met = append(met, r.Status == Met)
	}
	if len(values) == 0 {
		return false, nil
	}
	// Top to bottom in the order of the table.
	for _, s := range [][]string{labels, figures} {
		slices.Reverse(s)
	}
	slices.Reverse(values)
	slices.Reverse(met)
	p := plot.New()
	p.Title.Text = "targets: measured relative to target (≥ 1 meets it)"
	p.X.Label.Text = fmt.Sprintf("measured ÷ target (≥ target) or target ÷ measured (≤ target), capped at %g", headroomCap)
	p.X.Min = 0
	// Room right of the longest bar for its figures.
	p.X.Max = headroomCap * 1.3
	legend := map[bool]bool{}
	for i, v := range values {
		bar, err := plotter.NewBarChart(plotter.Values{v}, vg.Points(14))
		if err != nil {
			return false, fmt.Errorf("targets chart, %s: %w", labels[i], err)
		}
		bar.Horizontal = true
		bar.XMin = float64(i)
		bar.Color, bar.LineStyle.Width = notMetColor, 0
		if met[i] {
			bar.Color = metColor
		}
		p.Add(bar)
		if !legend[met[i]] {
			legend[met[i]] = true
			p.Legend.Add(map[bool]string{true: "met", false: "not met"}[met[i]], bar)
		}
	}
	one, err := plotter.NewLine(plotter.XYs{{X: 1, Y: -0.5}, {X: 1, Y: float64(len(values)) - 0.5}})
	if err != nil {
		return false, err
	}
	one.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
	p.Add(one)
	at := make(plotter.XYs, len(values))
	for i, v := range values {
		at[i] = plotter.XY{X: v, Y: float64(i)}
	}
	text, err := plotter.NewLabels(plotter.XYLabels{XYs: at, Labels: figures})
	if err != nil {
		return false, err
	}
	for i := range text.TextStyle {
		text.TextStyle[i].YAlign = -0.5
	}
	text.Offset = vg.Point{X: vg.Points(4)}
	p.Add(text)
	p.NominalY(labels...)
	p.Legend.Top = true
	return true, savePNG(w, p, 11*vg.Inch, vg.Length(len(values))*0.4*vg.Inch+1.5*vg.Inch)
}

// Label names the row in the chart: the target, and the sub-benchmark
// when the target's benchmark has several.
func (r Row) Label() string {
	if r.Source != r.Target.Bench && strings.HasPrefix(r.Source, r.Target.Bench+"/") {
		return r.Target.Name + " [" + strings.TrimPrefix(r.Source, r.Target.Bench+"/") + "]"
	}
	return r.Target.Name
}

func savePNG(w io.Writer, p *plot.Plot, width, height vg.Length) error {
	wt, err := p.WriterTo(width, height, "png")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}
