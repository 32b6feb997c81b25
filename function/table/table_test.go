package table

import (
	"math"
	"strings"
	"testing"
)

func box(x0, y0, x1, y1 float64) Quad { return Quad{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}} }

// gridLines sets texts as a detector would box them: cells colW wide and
// rowH high from (x, y), each text left-aligned, 7 px a character, boxes
// 20 px high.
func gridLines(x, y, colW, rowH float64, rows [][]string) []Line {
	var ls []Line
	for r, row := range rows {
		for c, s := range row {
			if s == "" {
				continue
			}
			x0, y0 := x+float64(c)*colW+6, y+float64(r)*rowH+4
			ls = append(ls, Line{Box: box(x0, y0, x0+7*float64(len(s))+6, y0+20), Text: s})
		}
	}
	return ls
}

func wantGrid(t *testing.T, tb Table, want [][]string) {
	t.Helper()
	if tb.Rows != len(want) || tb.Cols != len(want[0]) {
		t.Fatalf("%dx%d, want %dx%d\n%s", tb.Rows, tb.Cols, len(want), len(want[0]), tb.Markdown())
	}
	for r, row := range tb.Grid() {
		for c, s := range row {
			if s != want[r][c] {
				t.Errorf("cell %d,%d %q, want %q", r, c, s, want[r][c])
			}
		}
	}
}

func spanOf(tb Table, row, col int) (int, int) {
	for _, c := range tb.Cells {
		if c.Row == row && c.Col == col {
			return c.RowSpan, c.ColSpan
		}
	}
	return 0, 0
}

func TestBorderlessGrid(t *testing.T) {
	rows := [][]string{{"Item", "Count", "Price"}, {"Tiles", "250", "1,200.00"}, {"Glass", "", "98.20"}, {"Paint", "30", "212.75"}}
	tb := Analyze(gridLines(10, 10, 120, 26, rows), nil)
	wantGrid(t, tb, rows)
	// Every position once: 12 one-by-one cells, the empty one included.
	if len(tb.Cells) != 12 {
		t.Errorf("%d cells, want 12", len(tb.Cells))
	}
	if h := tb.HTML(); !strings.HasPrefix(h, "<table><tr><td>Item</td>") || strings.Count(h, "<tr>") != 4 {
		t.Errorf("HTML %s", h)
	}
	md := tb.Markdown()
	if lines := strings.Split(strings.TrimSpace(md), "\n"); len(lines) != 5 || lines[1] != "| --- | --- | --- |" || lines[3] != "| Glass |  | 98.20 |" {
		t.Errorf("Markdown:\n%s", md)
	}
}

// A head that reaches over a gutter spans the columns under it; a row
// whose first column is empty and whose lines sit under single cells
// continues them; a head set between two head rows spans both.
func TestSpansAndContinuedCells(t *testing.T) {
	ls := gridLines(10, 40, 120, 26, [][]string{
		{"Group", "N", "Mean", "SD"},
		{"Control", "12", "4.1", "0.3"},
		{"Treated", "11", "5.2", "0.4"},
		{"", "", "(pooled", ""},
		{"Placebo", "9", "3.9", "0.5"},
	})
	// "Scores by arm" centred over Mean and SD, over the head row.
	ls = append(ls, Line{Box: box(250, 10, 370, 30), Text: "Scores by arm"})
	tb := Analyze(ls, nil)
	wantGrid(t, tb, [][]string{
		{"", "", "Scores by arm", ""},
		{"Group", "N", "Mean", "SD"},
		{"Control", "12", "4.1", "0.3"},
		{"Treated", "11", "5.2 (pooled", "0.4"},
		{"Placebo", "9", "3.9", "0.5"},
	})
	if rs, cs := spanOf(tb, 0, 2); rs != 1 || cs != 2 {
		t.Errorf("head spans %dx%d, want 1x2", rs, cs)
	}
	// A head between two rows of heads, reaching over both.
	ls = gridLines(10, 10, 120, 20, [][]string{{"", "Sales", "Staff"}, {"", "2023", "2024"}, {"North", "812", "905"}, {"South", "640", "702"}})
	ls = append(ls, Line{Box: box(16, 20, 70, 48), Text: "Region"})
	tb = Analyze(ls, nil)
	if rs, cs := spanOf(tb, 0, 0); rs != 2 || cs != 1 || tb.Grid()[0][0] != "Region" || tb.Rows != 4 {
		t.Errorf("row head spans %dx%d in a %dx%d grid, want 2x1 in 4x3\n%s", rs, cs, tb.Rows, tb.Cols, tb.Markdown())
	}
}

// page is a white w×h page.
func page(w, h int) *Image {
	img := &Image{Pix: make([]uint8, w*h*3), W: w, H: h}
	for i := range img.Pix {
		img.Pix[i] = 250
	}
	return img
}

// rule paints a dark rectangle.
func (im *Image) rule(x0, y0, x1, y1 int) {
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			k := (y*im.W + x) * 3
			im.Pix[k], im.Pix[k+1], im.Pix[k+2] = 20, 20, 20
		}
	}
}

// rotated turns lines and page by deg about the page centre.
func rotated(ls []Line, img *Image, deg float64) ([]Line, *Image) {
	sin, cos := math.Sincos(deg * math.Pi / 180)
	cx, cy := float64(img.W)/2, float64(img.H)/2
	out := page(img.W, img.H)
	for y := range img.H {
		for x := range img.W {
			dx, dy := float64(x)-cx, float64(y)-cy
			sx, sy := int(math.Round(cx+dx*cos+dy*sin)), int(math.Round(cy-dx*sin+dy*cos))
			if sx >= 0 && sy >= 0 && sx < img.W && sy < img.H {
				copy(out.Pix[(y*img.W+x)*3:(y*img.W+x)*3+3], img.Pix[(sy*img.W+sx)*3:])
			}
		}
	}
	rl := make([]Line, len(ls))
	for i, l := range ls {
		rl[i].Text = l.Text
		for k, p := range l.Box {
			dx, dy := p[0]-cx, p[1]-cy
			rl[i].Box[k] = [2]float64{cx + dx*cos - dy*sin, cy + dx*sin + dy*cos}
		}
	}
	return rl, out
}

// In a ruled table a vertical rule that stops short of a row merges that
// row's cells across it; rulings are found on a tilted page too.
func TestRuledMergedCell(t *testing.T) {
	const x, y, colW, rowH = 40, 40, 120, 30
	img := page(520, 240)
	rows := [][]string{{"Total", "", "Note"}, {"Tiles", "250", "ok"}, {"Glass", "12", "late"}, {"Paint", "30", "ok"}}
	for r := 0; r <= 4; r++ {
		img.rule(x, y+r*rowH-1, x+3*colW+1, y+r*rowH+1)
	}
	for c := 0; c <= 3; c++ {
		top := y
		if c == 1 { // no rule between "Total" and the empty cell beside it
			top = y + rowH
		}
		img.rule(x+c*colW-1, top, x+c*colW+1, y+4*rowH)
	}
	ls := gridLines(x, y, colW, rowH, rows)
	for name, deg := range map[string]float64{"level": 0, "tilted": 1.8} {
		t.Run(name, func(t *testing.T) {
			ls, img := rotated(ls, img, deg)
			tb := Analyze(ls, img)
			wantGrid(t, tb, rows)
			if rs, cs := spanOf(tb, 0, 0); rs != 1 || cs != 2 {
				t.Errorf("Total spans %dx%d, want 1x2\n%s", rs, cs, tb.Markdown())
			}
			if len(tb.Cells) != 11 {
				t.Errorf("%d cells, want 11", len(tb.Cells))
			}
			// The box reaches out to the rules around the text.
			if tb.Box[0] > x+3 || tb.Box[2] < x+3*colW-3 {
				t.Errorf("box %v, want the rules' %d..%d", tb.Box, x, x+3*colW)
			}
		})
	}
}

func TestNoLines(t *testing.T) {
	tb := Analyze(nil, page(10, 10))
	if tb.Rows != 0 || tb.Cols != 0 || len(tb.Cells) != 0 || tb.Markdown() != "" || tb.HTML() != "<table></table>" {
		t.Errorf("empty: %+v", tb)
	}
}

func TestEscaping(t *testing.T) {
	tb := Analyze(gridLines(0, 0, 120, 26, [][]string{{"a|b", "<i>"}, {"x", "y"}}), nil)
	if md := tb.Markdown(); !strings.Contains(md, `| a\|b | \<i> |`) {
		t.Errorf("Markdown:\n%s", md)
	}
	if h := tb.HTML(); !strings.Contains(h, "<td>&lt;i&gt;</td>") {
		t.Errorf("HTML %s", h)
	}
}

// Any boxes give a grid whose every position one cell covers, and no panic.
func FuzzAnalyze(f *testing.F) {
	f.Add([]byte{10, 10, 40, 20, 50, 10, 80, 20, 10, 30, 40, 40, 50, 30, 80, 40}, uint8(0))
	f.Add([]byte{0, 0, 0, 0, 255, 255, 255, 255, 3, 200, 9, 1}, uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, tilt uint8) {
		var ls []Line
		for k := 0; k+4 <= len(data) && len(ls) < 64; k += 4 {
			x0, y0, x1, y1 := float64(data[k]), float64(data[k+1]), float64(data[k+2]), float64(data[k+3])
			d := float64(tilt%8) - 4
			ls = append(ls, Line{Box: Quad{{x0, y0}, {x1, y0 + d}, {x1, y1 + d}, {x0, y1}}, Text: "x"})
		}
		img := page(64, 64)
		img.rule(5, 30, 60, 32)
		img.rule(30, 5, 32, 60)
		tb := Analyze(ls, img)
		seen := make([]int, tb.Rows*tb.Cols)
		for _, c := range tb.Cells {
			if c.RowSpan < 1 || c.ColSpan < 1 || c.Row+c.RowSpan > tb.Rows || c.Col+c.ColSpan > tb.Cols {
				t.Fatalf("cell %+v outside the %dx%d grid", c, tb.Rows, tb.Cols)
			}
			for r := c.Row; r < c.Row+c.RowSpan; r++ {
				for col := c.Col; col < c.Col+c.ColSpan; col++ {
					seen[r*tb.Cols+col]++
				}
			}
		}
		for p, n := range seen {
			if n != 1 {
				t.Fatalf("position %d covered %d times\n%s", p, n, tb.Markdown())
			}
		}
		_ = tb.HTML()
	})
}
