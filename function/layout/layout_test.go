package layout

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func rect4(x0, y0, x1, y1 float64) Quad {
	return Quad{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}
}

var prose = strings.Fields("the city suddenly appeared in all its solidness fortress walls squatting at the foot of " +
	"steep cliffs and the sea sparkling below it has weathered time and war for so long that historians " +
	"remain ignorant of its origins and legends place a settlement here a thousand years earlier")

// sentence returns n words of running text starting at word k.
func sentence(k, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = prose[(k+i)%len(prose)]
	}
	return strings.Join(w, " ")
}

// page collects named lines; a test's expectation is a list of names.
type page struct {
	lines []Line
	names []string
}

func (p *page) add(name, text string, x0, y0, x1, y1 float64) {
	p.lines = append(p.lines, Line{Box: rect4(x0, y0, x1, y1), Text: text})
	p.names = append(p.names, name)
}

// column adds n lines of running text, 20 high at the given pitch and w
// wide (the last line of the column shorter), named prefix0...
func (p *page) column(prefix string, x0, y0, pitch float64, n int, w float64) {
	for i := 0; i < n; i++ {
		y := y0 + float64(i)*pitch
		lw := w
		if i == n-1 {
			lw = w * 0.6
		}
		p.add(prefix+strconv.Itoa(i), sentence(len(p.lines)+i, 7), x0, y, x0+lw, y+20)
	}
}

func (p *page) analyze(t *testing.T, lines []Line) ([]string, Layout) {
	t.Helper()
	lay := Analyze(lines, Page{W: 1200, H: 1600})
	checkLayout(t, lay, len(lines))
	got := make([]string, len(lay.Order))
	for i, k := range lay.Order {
		got[i] = p.names[k]
	}
	return got, lay
}

// checkLayout checks that Order is a permutation and is the blocks' lines
// in turn.
func checkLayout(t *testing.T, lay Layout, n int) {
	t.Helper()
	if len(lay.Order) != n {
		t.Fatalf("got %d indices for %d lines", len(lay.Order), n)
	}
	seen := make([]bool, n)
	for _, k := range lay.Order {
		if k < 0 || k >= n || seen[k] {
			t.Fatalf("index %d out of range or repeated in %v", k, lay.Order)
		}
		seen[k] = true
	}
	var cat []int
	for _, b := range lay.Blocks {
		if len(b.Lines) == 0 {
			t.Fatalf("empty block %+v", b)
		}
		cat = append(cat, b.Lines...)
	}
	if !slices.Equal(cat, lay.Order) {
		t.Fatalf("blocks' lines %v are not the order %v", cat, lay.Order)
	}
}

// typeOf is the type of the block holding the named line.
func (p *page) typeOf(lay Layout, name string) BlockType {
	for _, b := range lay.Blocks {
		for _, i := range b.Lines {
			if p.names[i] == name {
				return b.Type
			}
		}
	}
	return ""
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

type layoutCase struct {
	name  string
	page  page
	want  []string
	types map[string]BlockType
}

func layoutCases() []layoutCase {
	var cases []layoutCase
	{
		var p page
		p.column("l", 100, 100, 26, 12, 700)
		cases = append(cases, layoutCase{"single column", p, names("l", 12), map[string]BlockType{"l0": Paragraph}})
	}
	// Columns on a shared baseline grid: every row lines up across the
	// gutter, which used to read as a table.
	for _, n := range []int{2, 3, 4} {
		var p page
		var want []string
		colW := (1000 - 40*float64(n-1)) / float64(n)
		for c := range n {
			prefix := string(rune('A' + c))
			p.column(prefix, 100+float64(c)*(colW+40), 100, 26, 14, colW)
			want = append(want, names(prefix, 14)...)
		}
		cases = append(cases, layoutCase{strconv.Itoa(n) + " columns on a baseline grid", p, want, nil})
	}
	{
		var p page
		p.add("title", "Dubrovnik rebuilds", 300, 60, 900, 110)
		p.column("L", 100, 140, 26, 12, 480)
		p.column("R", 620, 140, 26, 12, 480)
		want := append(append([]string{"title"}, names("L", 12)...), names("R", 12)...)
		cases = append(cases, layoutCase{"headline across columns", p, want, map[string]BlockType{"title": Title, "L0": Paragraph}})
	}
	{
		// Two sections of two columns, separated by a heading across both.
		var p page
		p.column("A", 100, 100, 26, 8, 480)
		p.column("B", 620, 100, 26, 8, 480)
		p.add("head", "The harbour and the walls", 350, 330, 850, 362)
		p.column("C", 100, 390, 26, 8, 480)
		p.column("D", 620, 390, 26, 8, 480)
		want := slices.Concat(names("A", 8), names("B", 8), []string{"head"}, names("C", 8), names("D", 8))
		cases = append(cases, layoutCase{"sections under a heading", p, want, map[string]BlockType{"head": Heading}})
	}
	{
		var p page
		p.add("header", "TRAVEL & LEISURE", 500, 40, 700, 60)
		p.column("L", 100, 120, 26, 20, 480)
		p.column("R", 620, 120, 26, 20, 480)
		p.add("footer", "Printed in Dubrovnik", 100, 1000, 400, 1018)
		p.add("page", "54", 1060, 1000, 1090, 1018)
		want := slices.Concat([]string{"header"}, names("L", 20), names("R", 20), []string{"footer", "page"})
		cases = append(cases, layoutCase{"header, footer and page number", p, want,
			map[string]BlockType{"header": Header, "footer": Footer, "page": PageNumber}})
	}
	{
		// A text column beside a table whose rows line up with it.
		var p page
		p.column("T", 100, 100, 26, 10, 480)
		for r := range 10 {
			y := 100 + float64(r)*26
			p.add("c"+strconv.Itoa(r)+"0", "Item "+strconv.Itoa(r), 640, y, 740, y+20)
			p.add("c"+strconv.Itoa(r)+"1", strconv.Itoa(r*7), 800, y, 840, y+20)
			p.add("c"+strconv.Itoa(r)+"2", strconv.Itoa(r*3)+".50", 900, y, 980, y+20)
		}
		want := names("T", 10)
		for r := range 10 {
			want = append(want, names("c"+strconv.Itoa(r), 3)...)
		}
		cases = append(cases, layoutCase{"table beside a text column", p, want,
			map[string]BlockType{"T0": Paragraph, "c00": Table, "c92": Table}})
	}
	{
		// A caption set between two columns that run on above and below
		// it: read after both columns.
		var p page
		p.column("L", 100, 100, 26, 20, 440)
		p.column("R", 660, 100, 26, 20, 440)
		p.add("cap0", "THE ROOFS OF", 560, 300, 640, 316)
		p.add("cap1", "THE OLD CITY", 562, 322, 638, 338)
		want := slices.Concat(names("L", 20), names("R", 20), []string{"cap0", "cap1"})
		cases = append(cases, layoutCase{"caption between columns", p, want, nil})
	}
	{
		// Paragraphs by first-line indent; a list; a numbered heading.
		var p page
		p.add("h", "1. Introduction", 100, 70, 300, 90)
		p.column("p", 100, 100, 26, 4, 700)
		p.lines[len(p.lines)-4].Box = rect4(140, 100, 800, 120)
		p.column("q", 100, 204, 26, 4, 700)
		p.lines[len(p.lines)-4].Box = rect4(140, 204, 800, 224)
		p.add("i0", "• first point of the list", 100, 308, 500, 328)
		p.add("i1", "• second point that wraps onto", 100, 334, 800, 354)
		p.add("i2", "a second line", 130, 360, 400, 380)
		want := slices.Concat([]string{"h"}, names("p", 4), names("q", 4), names("i", 3))
		cases = append(cases, layoutCase{"paragraphs, heading and list", p, want,
			map[string]BlockType{"h": Heading, "p0": Paragraph, "i0": List, "i2": List}})
	}
	return cases
}

func TestAnalyze(t *testing.T) {
	for _, tc := range layoutCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, lay := tc.page.analyze(t, tc.page.lines)
			if !slices.Equal(got, tc.want) {
				t.Errorf("order\n got %v\nwant %v", got, tc.want)
			}
			for name, typ := range tc.types {
				if got := tc.page.typeOf(lay, name); got != typ {
					t.Errorf("%s is in a %q block, want %q", name, got, typ)
				}
			}
		})
	}
}

func TestAnalyzeParagraphs(t *testing.T) {
	tc := layoutCases()[len(layoutCases())-1]
	_, lay := tc.page.analyze(t, tc.page.lines)
	var starts []string
	for _, b := range lay.Blocks {
		starts = append(starts, tc.page.names[b.Lines[0]])
	}
	if want := []string{"h", "p0", "q0", "i0"}; !slices.Equal(starts, want) {
		t.Errorf("blocks start at %v, want %v", starts, want)
	}
}

func TestAnalyzeInputOrderInvariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range layoutCases() {
		perm := rng.Perm(len(tc.page.lines))
		var p page
		for _, i := range perm {
			p.lines = append(p.lines, tc.page.lines[i])
			p.names = append(p.names, tc.page.names[i])
		}
		if got, _ := p.analyze(t, p.lines); !slices.Equal(got, tc.want) {
			t.Errorf("%s, shuffled:\n got %v\nwant %v", tc.name, got, tc.want)
		}
	}
}

func TestAnalyzeSkew(t *testing.T) {
	for _, tc := range layoutCases() {
		for _, deg := range []float64{-2, 1.5} {
			t.Run(tc.name+"/"+strconv.FormatFloat(deg, 'g', -1, 64), func(t *testing.T) {
				tilted := slices.Clone(tc.page.lines)
				for i := range tilted {
					tilted[i].Box = rotate(tilted[i].Box, 600, 500, deg)
				}
				if got, _ := tc.page.analyze(t, tilted); !slices.Equal(got, tc.want) {
					t.Errorf("tilted %g°\n got %v\nwant %v", deg, got, tc.want)
				}
			})
		}
	}
}

func TestAnalyzeVerticalPage(t *testing.T) {
	var p page
	// Three vertical columns; the middle one split in two by the detector.
	p.add("right", "", 500, 102, 560, 900)
	p.add("midLow", "", 300, 520, 360, 880)
	p.add("left", "", 100, 100, 160, 910)
	p.add("midHigh", "", 300, 98, 360, 480)
	want := []string{"left", "midHigh", "midLow", "right"}
	if got, _ := p.analyze(t, p.lines); !slices.Equal(got, want) {
		t.Errorf("got %v want %v", got, want)
	}
}

func TestAnalyzeEdgeCases(t *testing.T) {
	if lay := Analyze(nil, Page{}); len(lay.Order) != 0 || len(lay.Blocks) != 0 {
		t.Errorf("nil input: %+v", lay)
	}
	one := Analyze([]Line{{Box: rect4(1, 2, 3, 4), Text: "x"}}, Page{})
	checkLayout(t, one, 1)
	// Identical and zero-size boxes still give a permutation.
	same := []Line{{Box: rect4(5, 5, 50, 20)}, {Box: rect4(5, 5, 50, 20)}, {Box: rect4(30, 10, 30, 10)}}
	checkLayout(t, Analyze(same, Page{W: 100, H: 100}), 3)
}

// Pictures come from the ink map: lines inside a photo on a page of text
// are figure text, and a short centred line under it is its caption.
func TestAnalyzeFigure(t *testing.T) {
	const w, h = 1200, 1400
	pix := make([]uint8, w*h*3)
	for i := range pix {
		pix[i] = 250
	}
	for y := 500; y < 800; y++ { // a dark photo across the page
		for x := 300; x < 900; x++ {
			v := uint8((x*7 + y*13) % 90)
			pix[(y*w+x)*3], pix[(y*w+x)*3+1], pix[(y*w+x)*3+2] = v, v, v
		}
	}
	var p page
	p.column("a", 100, 100, 26, 14, 1000)
	p.add("sign", "BARBER SHOP", 500, 620, 700, 660)
	p.add("cap", "The harbour at dawn", 480, 812, 720, 832)
	p.column("b", 100, 860, 26, 8, 1000)
	lay := Analyze(p.lines, Page{W: w, H: h, Ink: NewInk(pix, w, h)})
	checkLayout(t, lay, len(p.lines))
	got := make([]string, len(lay.Order))
	for i, k := range lay.Order {
		got[i] = p.names[k]
	}
	if want := slices.Concat(names("a", 14), []string{"sign", "cap"}, names("b", 8)); !slices.Equal(got, want) {
		t.Errorf("order\n got %v\nwant %v", got, want)
	}
	for name, typ := range map[string]BlockType{"sign": Figure, "cap": Caption, "a0": Paragraph} {
		if got := p.typeOf(lay, name); got != typ {
			t.Errorf("%s is in a %q block, want %q", name, got, typ)
		}
	}
	// Without the ink map there is no picture, and the sign is text.
	if typ := p.typeOf(Analyze(p.lines, Page{W: w, H: h}), "sign"); typ == Figure {
		t.Errorf("sign is figure text without an ink map")
	}
}

func TestAnalyzeRandomPermutations(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 300; iter++ {
		n := rng.IntN(80)
		lines := make([]Line, n)
		for i := range lines {
			lines[i] = Line{Box: randomQuad(rng), Text: sentence(rng.IntN(40), rng.IntN(8))}
		}
		if n > 3 && rng.IntN(4) == 0 { // exact duplicates
			lines[1] = lines[0]
			lines[3] = lines[2]
		}
		w, h := 0, 0
		if rng.IntN(2) == 0 {
			w, h = 1+rng.IntN(2000), 1+rng.IntN(2000)
		}
		lay := Analyze(lines, Page{W: w, H: h})
		checkLayout(t, lay, n)
		if again := Analyze(lines, Page{W: w, H: h}); !slices.Equal(lay.Order, again.Order) {
			t.Fatalf("iteration %d: not deterministic", iter)
		}
		boxes := make([]Quad, n)
		for i, l := range lines {
			boxes[i] = l.Box
		}
		if got := RapidOCRSort(boxes); len(got) != n {
			t.Fatalf("RapidOCRSort gave %d indices for %d boxes", len(got), n)
		}
	}
}

// benchPage is a dense two-column page of 1000 boxes, each row of a column
// split in two by the detector, the columns' rows half a line apart.
func benchPage() []Line {
	var lines []Line
	add := func(x0, y0, x1, y1 float64) { lines = append(lines, Line{Box: rect4(x0, y0, x1, y1)}) }
	add(100, 10, 900, 40)
	for i := 0; i < 250; i++ {
		y := 60 + float64(i)*24
		add(50, y, 250, y+18)
		add(262, y, 480, y+18)
		if i < 249 {
			add(520, y+9, 700, y+27)
			add(712, y+9, 950, y+27)
		}
	}
	add(50, 6080, 950, 6098)
	return lines
}

func TestBenchPageOrder(t *testing.T) {
	lines := benchPage()
	lay := Analyze(lines, Page{W: 1000, H: 6100})
	checkLayout(t, lay, len(lines))
	// Title, then the left column (indices 1, 2, 5, 6, ...), then the right.
	want := []int{0}
	for i := 1; i < len(lines)-1; i += 4 {
		want = append(want, i, i+1)
	}
	for i := 3; i < len(lines)-1; i += 4 {
		want = append(want, i, i+1)
	}
	want = append(want, len(lines)-1)
	if !slices.Equal(lay.Order, want) {
		t.Errorf("bench page order wrong: first 12 %v, want %v", lay.Order[:12], want[:12])
	}
}

func BenchmarkAnalyze(b *testing.B) {
	lines := benchPage()
	b.ReportAllocs()
	for b.Loop() {
		Analyze(lines, Page{W: 1000, H: 6100})
	}
}

func BenchmarkRapidOCRSort(b *testing.B) {
	lines := benchPage()
	boxes := make([]Quad, len(lines))
	for i, l := range lines {
		boxes[i] = l.Box
	}
	for b.Loop() {
		RapidOCRSort(boxes)
	}
}

var _ = math.Pi

func rotate(q Quad, cx, cy, deg float64) Quad {
	sin, cos := math.Sincos(deg * math.Pi / 180)
	var r Quad
	for k, p := range q {
		x, y := p[0]-cx, p[1]-cy
		r[k] = [2]float64{cx + x*cos - y*sin, cy + x*sin + y*cos}
	}
	return r
}

func randomQuad(rng *rand.Rand) Quad {
	var q Quad
	switch rng.IntN(10) {
	case 0: // arbitrary points, including non-finite ones
		for k := range q {
			for d := range 2 {
				switch rng.IntN(8) {
				case 0:
					q[k][d] = math.NaN()
				case 1:
					q[k][d] = math.Inf(1 - 2*rng.IntN(2))
				default:
					q[k][d] = rng.Float64()*2400 - 200
				}
			}
		}
		return q
	case 1: // tall
		x, y := rng.Float64()*1000, rng.Float64()*1000
		return rotate(rect4(x, y, x+10+rng.Float64()*30, y+100+rng.Float64()*400), x, y, rng.NormFloat64()*3)
	default: // line-like, slightly tilted
		x, y := rng.Float64()*1000, rng.Float64()*1000
		return rotate(rect4(x, y, x+5+rng.Float64()*500, y+5+rng.Float64()*30), x, y, rng.NormFloat64()*3)
	}
}

func TestRapidOCRSort(t *testing.T) {
	at := func(x, y float64) Quad { return rect4(x, y, x+50, y+20) }
	tests := []struct {
		name  string
		boxes []Quad
		want  []int
	}{
		{"empty", nil, []int{}},
		{"one", []Quad{at(5, 5)}, []int{0}},
		{"sorted by y then x", []Quad{at(0, 50), at(30, 10), at(10, 10)}, []int{2, 1, 0}},
		// y 10 and 15 differ by < 10: the left box moves first.
		{"same row swaps", []Quad{at(100, 10), at(10, 15)}, []int{1, 0}},
		// A difference of exactly 10 is a new row.
		{"10 px is a new row", []Quad{at(100, 10), at(10, 20)}, []int{0, 1}},
		{"9.99 px is the same row", []Quad{at(100, 10), at(10, 19.99)}, []int{1, 0}},
		// Three boxes of one row given right to left end up left to right.
		{"row bubbles fully", []Quad{at(300, 10), at(200, 12), at(100, 14)}, []int{2, 1, 0}},
		// Sorted: P(50,0) Q(100,8) R(0,16). i=0: Q vs P no swap. i=1: R<Q and
		// |16-8|<10 -> P R Q; then R vs P: |16-0|>=10 -> break. So R lands
		// between P and Q although Q is in P's row: RapidOCR's quirk.
		{"non-transitive rows", []Quad{at(50, 0), at(100, 8), at(0, 16)}, []int{0, 2, 1}},
		// The bubble stops at the first pair that does not swap, even if an
		// earlier pair would: S(0,0) T(200,5) U(100,12). i=0: T vs S: T.x >
		// S.x -> break. i=1: U vs T: |12-5|<10, 100<200 -> swap: S U T; then
		// U vs S: |12-0|>=10 -> break.
		{"break stops the pass", []Quad{at(200, 5), at(0, 0), at(100, 12)}, []int{1, 2, 0}},
		// Equal keys keep input order (Python's sort is stable).
		{"stable on ties", []Quad{at(10, 10), at(10, 10), at(10, 10)}, []int{0, 1, 2}},
		// Only p0 matters: a box whose other corners are far left is not moved.
		{"p0 only", []Quad{at(10, 10), {{20, 12}, {30, 12}, {-500, 40}, {-600, 40}}}, []int{0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RapidOCRSort(tt.boxes)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v want %v", got, tt.want)
			}
		})
	}
}

// benchPage is a 1000-box two-column page with a title and a footer: 250 and
// 249 lines, each split into two words at the same x, so every line is a
// one-row "table" inside its column.
