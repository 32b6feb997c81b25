package function

import (
	"context"
	"math"

	"github.com/ocrhost/ocrhost/function/imgproc"
	"github.com/ocrhost/ocrhost/function/layout"
	"github.com/ocrhost/ocrhost/function/table"
)

// readTables reads each table block into a grid, in reading order, and
// points the block to it. Only an upright page is read: rulings are looked
// for on the image as stored. An empty cell with ink in it holds something
// the detector missed (a lone dash, a one-digit number); with recognition
// on, it is recognised as one more line would be and keeps its reading when
// that clears drop_score.
func readTables(ctx context.Context, m Models, img *imgproc.Image, r *Result, o Options) error {
	grids, blocks := tableGrids(img, r)
	if o.Stages.Recognize {
		if err := readEmptyCells(ctx, m, img, r.Lines, grids, o); err != nil {
			return err
		}
	}
	attachTables(r, grids, blocks)
	return nil
}

// tableGrids reads r's table blocks into grids, rulings looked for in img
// when it is not nil, and returns them with their blocks' indices.
func tableGrids(img *imgproc.Image, r *Result) ([]table.Table, []int) {
	var page *table.Image
	if img != nil {
		page = &table.Image{Pix: img.Pix, W: img.W, H: img.H}
	}
	var grids []table.Table
	var blocks []int
	for k, blk := range r.Blocks {
		if blk.Type != string(layout.Table) {
			continue
		}
		lines := make([]table.Line, len(blk.Lines))
		for n, i := range blk.Lines {
			l := r.Lines[i]
			lines[n].Text = l.Text
			for c, p := range l.Box {
				lines[n].Box[c] = [2]float64{p.X, p.Y}
			}
		}
		grids = append(grids, table.Analyze(lines, page))
		blocks = append(blocks, k)
	}
	return grids, blocks
}

// attachTables puts grids on r, each pointed to by its block.
func attachTables(r *Result, grids []table.Table, blocks []int) {
	for k, g := range grids {
		out := Table{Box: g.Box, Rows: g.Rows, Cols: g.Cols, Cells: make([]Cell, len(g.Cells)), HTML: g.HTML(), Markdown: g.Markdown()}
		for c, cell := range g.Cells {
			out.Cells[c] = Cell{Row: cell.Row, Col: cell.Col, RowSpan: cell.RowSpan, ColSpan: cell.ColSpan, Text: cell.Text, Box: cell.Box}
		}
		idx := len(r.Tables)
		r.Blocks[blocks[k]].Table = &idx
		r.Tables = append(r.Tables, out)
	}
}

// Where an empty cell's ink is looked for: inside the cell less this share
// of its height at each side (rulings lie on its edges), darker than the
// paper by inkBelow.
const (
	cellInset = 0.2
	inkBelow  = 64
	dashHigh  = 0.25 // a dash is at most this share of the cell high
	dashFill  = 0.7  // and fills this share of its bounds
)

// readEmptyCells recognises the ink of the grids' empty cells.
func readEmptyCells(ctx context.Context, m Models, img *imgproc.Image, lines []Line, grids []table.Table, o Options) error {
	type at struct{ grid, cell int }
	var crops []*crop
	var where []at
	for g, grid := range grids {
		for k, c := range grid.Cells {
			if c.Text != "" {
				continue
			}
			if overlapsLine(c.Box, lines) {
				continue // the ink is a line read already, in another block
			}
			q, dash, ok := inkBox(img, c.Box)
			switch {
			case dash:
				grids[g].Cells[k].Text = "-"
			case ok:
				ci, tall := cropQuad(img, q)
				crops = append(crops, &crop{img: ci, tall: tall})
				where = append(where, at{g, k})
			}
		}
	}
	if len(crops) == 0 {
		return nil
	}
	var t Timings // the table analysis is timed whole
	if err := recognize(ctx, m.Rec, crops, o, &t); err != nil {
		return err
	}
	for n, c := range crops {
		if c.conf >= o.DropScore {
			grids[where[n].grid].Cells[where[n].cell].Text = c.text
		}
	}
	return nil
}

// overlapsLine reports whether a cell's inside meets the core of a line
// (its box less a quarter of its height at each side: the detector pads).
func overlapsLine(box [4]float64, lines []Line) bool {
	in := cellInset * (box[3] - box[1])
	for _, l := range lines {
		x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for _, p := range l.Box {
			x0, y0, x1, y1 = min(x0, p.X), min(y0, p.Y), max(x1, p.X), max(y1, p.Y)
		}
		d := (y1 - y0) / 4
		if x0+d < box[2]-in && x1-d > box[0]+in && y0+d < box[3]-in && y1-d > box[1]+in {
			return true
		}
	}
	return false
}

// inkBox is the crop that holds the ink inside a cell's box, as wide as the
// ink and a line high, as the detector would have boxed it; ok is false
// when the cell is blank. dash says the ink is one short solid horizontal
// stroke: the dash tables put in a cell with no value, which the
// recogniser, given the lone stroke, reads with too little confidence.
func inkBox(img *imgproc.Image, box [4]float64) (q [4][2]float64, dash, ok bool) {
	h := box[3] - box[1]
	in := cellInset * h
	x0, y0 := int(math.Ceil(max(0, box[0]+in))), int(math.Ceil(max(0, box[1]+in)))
	x1, y1 := int(math.Floor(min(float64(img.W), box[2]-in))), int(math.Floor(min(float64(img.H), box[3]-in)))
	if x1-x0 < 2 || y1-y0 < 2 {
		return q, false, false
	}
	var hist [256]int
	gray := func(x, y int) int {
		k := (y*img.W + x) * 3
		return (int(img.Pix[k]) + int(img.Pix[k+1]) + int(img.Pix[k+2])) / 3
	}
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			hist[gray(x, y)]++
		}
	}
	paper := 255
	for v := 255; v >= 128; v-- {
		if hist[v] > hist[paper] {
			paper = v
		}
	}
	ix0, iy0, ix1, iy1, n := x1, y1, -1, -1, 0
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			if gray(x, y) < paper-inkBelow {
				ix0, iy0, ix1, iy1 = min(ix0, x), min(iy0, y), max(ix1, x), max(iy1, y)
				n++
			}
		}
	}
	// A speck or a stroke along the inset's edge (a ruling) is no text.
	if n < 4 || ix1-ix0 < 2 || ix0 == x0 && ix1 == x1-1 || iy0 == y0 && iy1 == y1-1 {
		return q, false, false
	}
	pad := 0.25 * h
	iw, ih := float64(ix1-ix0+1), float64(iy1-iy0+1)
	dash = iw >= 2*ih && ih <= dashHigh*h && float64(n) >= dashFill*iw*ih
	cy := float64(iy0+iy1+1) / 2
	half := max(ih/2, 0.3*h)
	qx0, qx1 := max(0, float64(ix0)-pad), min(float64(img.W), float64(ix1+1)+pad)
	qy0, qy1 := max(0, cy-half-pad/2), min(float64(img.H), cy+half+pad/2)
	return [4][2]float64{{qx0, qy0}, {qx1, qy0}, {qx1, qy1}, {qx0, qy1}}, dash, true
}
