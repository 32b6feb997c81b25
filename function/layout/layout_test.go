package layout

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

func rect(x0, y0, x1, y1 float64) Quad {
	return Quad{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}
}

// page collects named boxes; the test's expectation is a list of names.
type page struct {
	boxes []Quad
	names []string
}

func (p *page) add(name string, x0, y0, x1, y1 float64) {
	p.boxes = append(p.boxes, rect(x0, y0, x1, y1))
	p.names = append(p.names, name)
}

// column adds n lines of height 20 at the given pitch, named prefix0..; widths
// cycles through the given line widths (ragged right).
func (p *page) column(prefix string, x0, y0, pitch float64, n int, widths ...float64) {
	for i := 0; i < n; i++ {
		y := y0 + float64(i)*pitch
		p.add(prefix+strconv.Itoa(i), x0, y, x0+widths[i%len(widths)], y+20)
	}
}

func (p *page) order(t *testing.T, boxes []Quad) []string {
	t.Helper()
	idx := ReadingOrder(boxes, 1000, 1400)
	checkPermutation(t, idx, len(boxes))
	got := make([]string, len(idx))
	for i, k := range idx {
		got[i] = p.names[k]
	}
	return got
}

func checkPermutation(t *testing.T, idx []int, n int) {
	t.Helper()
	if len(idx) != n {
		t.Fatalf("got %d indices for %d boxes", len(idx), n)
	}
	seen := make([]bool, n)
	for _, k := range idx {
		if k < 0 || k >= n || seen[k] {
			t.Fatalf("index %d out of range or repeated in %v", k, idx)
		}
		seen[k] = true
	}
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

func concat(parts ...[]string) []string { return slices.Concat(parts...) }

type layoutCase struct {
	name string
	page page
	want []string
}

func layoutCases() []layoutCase {
	var cases []layoutCase

	{ // Single column; lines 2 and 7 split into two words by the detector.
		var p page
		var want []string
		for i := 0; i < 12; i++ {
			y := 100 + float64(i)*30
			n := "l" + strconv.Itoa(i)
			if i == 2 || i == 7 {
				// The second word sits 1 px lower, or 7 px higher: one row either way.
				dy := map[int]float64{2: 1, 7: -7}[i]
				p.add(n+"a", 50, y, 250, y+20)
				p.add(n+"b", 290, y+dy, 520, y+20+dy)
				want = append(want, n+"a", n+"b")
				continue
			}
			p.add(n, 50, y, 500+float64(i%3)*20, y+20)
			want = append(want, n)
		}
		cases = append(cases, layoutCase{"single column", p, want})
	}
	{ // Ragged: indented first lines, short last lines, and a stretch where short
		// lines alternate with deeply indented ones, which leaves an x-range
		// empty over several lines (a false gutter).
		var p page
		p.add("p1a", 90, 100, 600, 120)
		p.add("p1b", 50, 130, 600, 150)
		p.add("p1c", 50, 160, 210, 180)
		p.add("z0", 300, 190, 560, 210)
		p.add("z1", 50, 220, 200, 240)
		p.add("z2", 320, 250, 600, 270)
		p.add("z3", 50, 280, 180, 300)
		p.add("z4", 300, 310, 520, 330)
		p.add("z5", 50, 340, 230, 360)
		p.add("c0", 200, 370, 450, 390)
		p.add("c1", 250, 400, 400, 420)
		p.add("p2a", 90, 430, 600, 450)
		p.add("p2b", 50, 460, 300, 480)
		// Padded boxes: an indented line overlapping the short line below it
		// by 4 px, an empty x-range between them.
		p.add("s0", 300, 500, 600, 528)
		p.add("s1", 50, 524, 200, 552)
		cases = append(cases, layoutCase{"ragged single column", p,
			[]string{"p1a", "p1b", "p1c", "z0", "z1", "z2", "z3", "z4", "z5", "c0", "c1", "p2a", "p2b", "s0", "s1"}})
	}
	{ // Title, two columns whose lines are offset by half a pitch, footer.
		var p page
		p.add("title", 200, 40, 800, 80)
		p.column("L", 50, 120, 30, 12, 430, 430, 430, 200)
		p.column("R", 520, 135, 30, 11, 430, 430, 250)
		p.add("footer", 50, 520, 950, 540)
		cases = append(cases, layoutCase{"two columns with title and footer", p,
			concat([]string{"title"}, names("L", 12), names("R", 11), []string{"footer"})})
	}
	{ // Three columns, lines offset between columns.
		var p page
		p.add("head", 50, 40, 950, 70)
		p.column("A", 50, 100, 30, 10, 280, 280, 150)
		p.column("B", 360, 110, 30, 9, 280, 200)
		p.column("C", 670, 120, 30, 10, 280)
		cases = append(cases, layoutCase{"three columns", p,
			concat([]string{"head"}, names("A", 10), names("B", 9), names("C", 10))})
	}
	{ // Right column ends long before the left one; footer below both.
		var p page
		p.column("L", 50, 100, 30, 14, 430, 430, 300)
		p.column("R", 520, 112, 30, 4, 430)
		p.add("footer", 400, 560, 600, 580)
		cases = append(cases, layoutCase{"two columns of unequal length", p,
			concat(names("L", 14), names("R", 4), []string{"footer"})})
	}
	{ // Table between a title and a paragraph: cells align row by row.
		var p page
		p.add("caption", 50, 40, 600, 60)
		cols := []struct{ x0, x1 float64 }{{50, 170}, {260, 330}, {420, 500}, {600, 650}}
		var want []string
		want = append(want, "caption")
		for r := 0; r < 6; r++ {
			y := 100 + float64(r)*30
			for c, col := range cols {
				n := "r" + strconv.Itoa(r) + "c" + strconv.Itoa(c)
				w := (col.x1 - col.x0) * (0.6 + 0.4*float64((r+c)%2))
				p.add(n, col.x0, y+float64(c%2), col.x0+w, y+20+float64(c%2))
				want = append(want, n)
			}
		}
		p.add("after", 50, 300, 650, 320)
		want = append(want, "after")
		cases = append(cases, layoutCase{"table", p, want})
	}
	{ // Two columns on one baseline grid, but a paragraph break in the right
		// column shifts its lower half by half a pitch: under 80% aligned, so
		// they are columns, not a table.
		var p page
		p.column("L", 50, 100, 30, 10, 430, 430, 430, 250)
		p.column("R", 520, 100, 30, 4, 430, 430, 430, 180)
		for i := 0; i < 5; i++ {
			y := 235 + float64(i)*30
			p.add("S"+strconv.Itoa(i), 520, y, 950, y+20)
		}
		cases = append(cases, layoutCase{"partly aligned columns", p,
			concat(names("L", 10), names("R", 4), names("S", 5))})
	}
	{ // Numbered list with wrapped items: numbers read before their text.
		var p page
		y := 100.0
		var want []string
		for item, lines := range []int{3, 1, 2} {
			num := "n" + strconv.Itoa(item)
			p.add(num, 50, y, 70, y+20)
			want = append(want, num)
			for l := 0; l < lines; l++ {
				n := num + "t" + strconv.Itoa(l)
				p.add(n, 90, y, 600, y+20)
				want = append(want, n)
				y += 30
			}
		}
		cases = append(cases, layoutCase{"numbered list", p, want})
	}
	{ // Detector boxes are padded: lines 28 px tall at a 24 px pitch overlap,
		// and so does the title with the first lines of the columns.
		var p page
		p.add("title", 200, 62, 800, 104)
		for i := 0; i < 8; i++ {
			y := 100 + float64(i)*24
			p.add("L"+strconv.Itoa(i), 50, y, 480, y+28)
		}
		for i := 0; i < 8; i++ {
			y := 112 + float64(i)*24
			p.add("R"+strconv.Itoa(i), 520, y, 950-float64(i%3)*100, y+28)
		}
		for i := 0; i < 3; i++ {
			y := 310 + float64(i)*24
			p.add("P"+strconv.Itoa(i), 50, y, 950, y+28)
		}
		cases = append(cases, layoutCase{"padded overlapping boxes", p,
			concat([]string{"title"}, names("L", 8), names("R", 8), names("P", 3))})
	}
	{ // A two-line drop cap before its lines, then full-width lines.
		var p page
		p.add("cap", 50, 100, 90, 150)
		p.add("a", 105, 100, 500, 120)
		p.add("b", 105, 130, 480, 150)
		p.add("c", 50, 160, 500, 180)
		p.add("d", 50, 190, 300, 210)
		cases = append(cases, layoutCase{"drop cap", p, []string{"cap", "a", "b", "c", "d"}})
	}
	{ // Label/value form: two aligned rows of short pairs, then a full line.
		var p page
		p.add("k0", 50, 100, 150, 120)
		p.add("v0", 300, 101, 500, 121)
		p.add("k1", 50, 130, 130, 150)
		p.add("v1", 300, 129, 420, 149)
		p.add("k2", 50, 160, 160, 180)
		p.add("v2", 300, 161, 480, 181)
		p.add("end", 50, 200, 500, 220)
		cases = append(cases, layoutCase{"form", p, []string{"k0", "v0", "k1", "v1", "k2", "v2", "end"}})
	}
	return cases
}

func TestReadingOrder(t *testing.T) {
	for _, tc := range layoutCases() {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.page.order(t, tc.page.boxes)
			if !slices.Equal(got, tc.want) {
				t.Errorf("order\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

// The order depends on geometry only, not on the order boxes arrive in.
func TestReadingOrderInputOrderInvariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, tc := range layoutCases() {
		t.Run(tc.name, func(t *testing.T) {
			perm := rng.Perm(len(tc.page.boxes))
			var shuffled page
			for _, k := range perm {
				shuffled.boxes = append(shuffled.boxes, tc.page.boxes[k])
				shuffled.names = append(shuffled.names, tc.page.names[k])
			}
			if got := shuffled.order(t, shuffled.boxes); !slices.Equal(got, tc.want) {
				t.Errorf("shuffled input\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func rotate(q Quad, cx, cy, deg float64) Quad {
	sin, cos := math.Sincos(deg * math.Pi / 180)
	var r Quad
	for k, p := range q {
		x, y := p[0]-cx, p[1]-cy
		r[k] = [2]float64{cx + x*cos - y*sin, cy + x*sin + y*cos}
	}
	return r
}

func TestReadingOrderSkew(t *testing.T) {
	for _, tc := range layoutCases() {
		for _, deg := range []float64{-2, -1, 1.5, 2} {
			t.Run(tc.name+"/"+strconv.FormatFloat(deg, 'g', -1, 64), func(t *testing.T) {
				tilted := make([]Quad, len(tc.page.boxes))
				for i, q := range tc.page.boxes {
					tilted[i] = rotate(q, 500, 300, deg)
				}
				if got := tc.page.order(t, tilted); !slices.Equal(got, tc.want) {
					t.Errorf("tilted %g°\n got %v\nwant %v", deg, got, tc.want)
				}
			})
		}
	}
}

// Without deskewing, a 2° tilt over a 430-px column line moves its end by 15
// px, which merges the bounding boxes of neighbouring lines and lets the
// column's lines interleave with the other column's.
func TestReadingOrderSkewNeedsDeskew(t *testing.T) {
	var p page
	p.column("L", 50, 100, 24, 10, 430)
	p.column("R", 520, 112, 24, 10, 430)
	want := concat(names("L", 10), names("R", 10))
	tilted := make([]Quad, len(p.boxes))
	for i, q := range p.boxes {
		tilted[i] = rotate(q, 500, 300, 2)
	}
	if got := p.order(t, tilted); !slices.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestReadingOrderVerticalPage(t *testing.T) {
	var p page
	// Three vertical columns with tops within a few pixels; the middle one is
	// split into two boxes by the detector.
	p.add("right", 500, 102, 560, 900)
	p.add("midLow", 300, 520, 360, 880)
	p.add("left", 100, 100, 160, 910)
	p.add("midHigh", 300, 98, 360, 480)
	want := []string{"left", "midHigh", "midLow", "right"}
	if got := p.order(t, p.boxes); !slices.Equal(got, want) {
		t.Errorf("got %v want %v", got, want)
	}
	// RapidOCR agrees: its first result is the leftmost column.
	if first := RapidOCRSort(p.boxes)[0]; p.names[first] != "left" {
		t.Errorf("RapidOCRSort first = %s, want left", p.names[first])
	}
}

// A minority of tall boxes (a vertical label beside a paragraph) does not
// switch the page to vertical reading; the label is a column of its own,
// read after the paragraph, unless its centre lines up with a line beside it,
// which makes the two a table row.
func TestReadingOrderTallMinority(t *testing.T) {
	for _, tc := range []struct {
		name   string
		y0, y1 float64
		want   []string
	}{
		{"beside", 100, 226, []string{"l0", "l1", "l2", "l3", "l4", "tall"}},
		{"aligned with l2", 100, 240, []string{"l0", "l1", "l2", "tall", "l3", "l4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p page
			p.column("l", 50, 100, 30, 5, 400)
			p.add("tall", 600, tc.y0, 620, tc.y1)
			if got := p.order(t, p.boxes); !slices.Equal(got, tc.want) {
				t.Errorf("got %v want %v", got, tc.want)
			}
		})
	}
}

func TestReadingOrderEdgeCases(t *testing.T) {
	if got := ReadingOrder(nil, 100, 100); len(got) != 0 {
		t.Errorf("nil input: %v", got)
	}
	if got := ReadingOrder([]Quad{rect(1, 2, 3, 4)}, 0, 0); !slices.Equal(got, []int{0}) {
		t.Errorf("one box: %v", got)
	}
	// Identical boxes keep input order.
	same := []Quad{rect(5, 5, 50, 20), rect(5, 5, 50, 20), rect(5, 5, 50, 20)}
	if got := ReadingOrder(same, 100, 100); !slices.Equal(got, []int{0, 1, 2}) {
		t.Errorf("identical boxes: %v", got)
	}
	// Degenerate (zero-size) boxes: points on a row, then a lower point.
	pts := []Quad{rect(30, 10, 30, 10), rect(10, 10, 10, 10), rect(20, 40, 20, 40)}
	if got := ReadingOrder(pts, 0, 0); !slices.Equal(got, []int{1, 0, 2}) {
		t.Errorf("point boxes: %v", got)
	}
}

// A single-column page whose rows are more than 10 px apart gets RapidOCR's
// order too.
func TestReadingOrderMatchesRapidOCROnSingleColumn(t *testing.T) {
	p := layoutCases()[0].page
	got := ReadingOrder(p.boxes, 1000, 1000)
	// RapidOCR compares p0.y; word "b" boxes sit 1 px lower than their "a".
	if want := RapidOCRSort(p.boxes); !slices.Equal(got, want) {
		t.Errorf("ReadingOrder %v != RapidOCRSort %v", got, want)
	}
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
		return rotate(rect(x, y, x+10+rng.Float64()*30, y+100+rng.Float64()*400), x, y, rng.NormFloat64()*3)
	default: // line-like, slightly tilted
		x, y := rng.Float64()*1000, rng.Float64()*1000
		return rotate(rect(x, y, x+5+rng.Float64()*500, y+5+rng.Float64()*30), x, y, rng.NormFloat64()*3)
	}
}

func TestReadingOrderRandomPermutations(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 400; iter++ {
		n := rng.IntN(80)
		boxes := make([]Quad, n)
		for i := range boxes {
			boxes[i] = randomQuad(rng)
		}
		if n > 3 && rng.IntN(4) == 0 { // exact duplicates
			boxes[1] = boxes[0]
			boxes[3] = boxes[2]
		}
		w, h := 0, 0
		if rng.IntN(2) == 0 {
			w, h = 1+rng.IntN(2000), 1+rng.IntN(2000)
		}
		got := ReadingOrder(boxes, w, h)
		checkPermutation(t, got, n)
		if again := ReadingOrder(boxes, w, h); !slices.Equal(got, again) {
			t.Fatalf("iteration %d: not deterministic", iter)
		}
		checkPermutation(t, RapidOCRSort(boxes), n)
	}
}

func TestRapidOCRSort(t *testing.T) {
	at := func(x, y float64) Quad { return rect(x, y, x+50, y+20) }
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
func benchPage() []Quad {
	var boxes []Quad
	boxes = append(boxes, rect(100, 10, 900, 40))
	for i := 0; i < 250; i++ {
		y := 60 + float64(i)*24
		boxes = append(boxes, rect(50, y, 250, y+18), rect(262, y, 480, y+18))
		if i < 249 {
			boxes = append(boxes, rect(520, y+9, 700, y+27), rect(712, y+9, 950, y+27))
		}
	}
	return append(boxes, rect(50, 6080, 950, 6098))
}

func TestBenchPageOrder(t *testing.T) {
	boxes := benchPage()
	if len(boxes) != 1000 {
		t.Fatalf("bench page has %d boxes", len(boxes))
	}
	got := ReadingOrder(boxes, 1000, 6100)
	checkPermutation(t, got, len(boxes))
	// Title, then the left column (indices 1, 2, 5, 6, ...), then the right.
	want := []int{0}
	for i := 1; i < len(boxes)-1; i += 4 {
		want = append(want, i, i+1)
	}
	for i := 3; i < len(boxes)-1; i += 4 {
		want = append(want, i, i+1)
	}
	want = append(want, len(boxes)-1)
	if !slices.Equal(got, want) {
		t.Errorf("bench page order wrong: first 12 %v, want %v", got[:12], want[:12])
	}
}

func BenchmarkReadingOrder(b *testing.B) {
	boxes := benchPage()
	b.ReportAllocs()
	for b.Loop() {
		ReadingOrder(boxes, 1000, 6100)
	}
}

func BenchmarkRapidOCRSort(b *testing.B) {
	boxes := benchPage()
	for b.Loop() {
		RapidOCRSort(boxes)
	}
}
