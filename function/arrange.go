package function

import (
	"math"

	"github.com/ocrhost/ocrhost/function/imgproc"
	"github.com/ocrhost/ocrhost/function/layout"
)

// Arrange is the result of a w×h page whose lines were read rather than
// recognised, from a PDF's text layer: with order reading they are put in
// reading order and grouped into blocks, and tables read into grids, as
// Run's lines are; pictures and rulings are looked for in img when it is
// not nil. An empty table cell's ink is not recognised: that takes the
// models.
func Arrange(w, h int, img *imgproc.Image, lines []Line, o Options) *Result {
	res := &Result{Width: w, Height: h, Lines: lines, figureText: o.FigureText}
	if o.Order != OrderReading || len(lines) == 0 {
		return res
	}
	in := make([]layout.Line, len(lines))
	for i, l := range lines {
		in[i] = layout.Line{Box: layout.Quad{{l.Box[0].X, l.Box[0].Y}, {l.Box[1].X, l.Box[1].Y},
			{l.Box[2].X, l.Box[2].Y}, {l.Box[3].X, l.Box[3].Y}}, Text: l.Text}
	}
	page := layout.Page{W: w, H: h}
	if img != nil {
		page.Ink = layout.NewInk(img.Pix, img.W, img.H)
	}
	res.Lines, res.Blocks = applyLayout(layout.Analyze(in, page), lines, func(l Line) Quad { return l.Box })
	if o.Tables {
		grids, blocks := tableGrids(img, res)
		attachTables(res, grids, blocks)
	}
	return res
}

// Mix is the result of a page with a text layer and pictures: the lines
// read from the layer, and those recognised on its image (ocr, of img)
// that do not overlap read text by half their area, which are the text in
// its pictures. A recognised line over read text is the same text read
// twice, and the layer's is exact. The lines are then arranged together.
func Mix(read []Line, ocr *Result, img *imgproc.Image, o Options) *Result {
	lines := append([]Line(nil), read...)
	for _, l := range ocr.Lines {
		b := bounds(l.Box)
		covered := 0.0
		for _, r := range read {
			covered += b.overlap(bounds(r.Box))
		}
		if covered < b.area()/2 {
			lines = append(lines, l)
		}
	}
	res := Arrange(ocr.Width, ocr.Height, img, lines, o)
	res.Dropped, res.Timings = ocr.Dropped, ocr.Timings
	return res
}

// box is an axis-aligned rectangle {x0, y0, x1, y1}.
type box [4]float64

func bounds(q Quad) box {
	b := box{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, p := range q {
		b[0], b[1], b[2], b[3] = min(b[0], p.X), min(b[1], p.Y), max(b[2], p.X), max(b[3], p.Y)
	}
	return b
}

func (b box) area() float64 { return max(0, b[2]-b[0]) * max(0, b[3]-b[1]) }

func (b box) overlap(o box) float64 {
	return box{max(b[0], o[0]), max(b[1], o[1]), min(b[2], o[2]), min(b[3], o[3])}.area()
}
