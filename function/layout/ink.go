package layout

import "slices"

// Ink is a coarse map of where a page is printed: the fraction of dark
// pixels in each Cell×Cell square. Layout analysis finds pictures in it, the
// printed areas no text line explains.
type Ink struct {
	W, H, Cell int // page size in pixels and the square's side
	cols, rows int
	dark       []float32
}

// NewInk measures a w×h page given as packed 3-byte pixels (any channel
// order: the three are averaged). A pixel is ink when it is clearly darker
// than the paper, whose shade is the most common bright one, so grey scans
// and tinted paper work as white paper does.
func NewInk(pix []uint8, w, h int) *Ink {
	if w <= 0 || h <= 0 || len(pix) < w*h*3 {
		return nil
	}
	cell := max(2, min(w, h)/300)
	in := &Ink{W: w, H: h, Cell: cell, cols: (w + cell - 1) / cell, rows: (h + cell - 1) / cell}
	var hist [256]int
	// Sampling every 7th pixel is plenty for the paper's shade.
	for i := 0; i+2 < w*h*3; i += 3 * 7 {
		hist[(int(pix[i])+int(pix[i+1])+int(pix[i+2]))/3]++
	}
	paper := 255
	for v := 255; v >= 128; v-- {
		if hist[v] > hist[paper] {
			paper = v
		}
	}
	limit := paper - 48
	counts := make([]int32, in.cols*in.rows)
	for y := 0; y < h; y++ {
		row := pix[y*w*3 : (y+1)*w*3]
		base := (y / cell) * in.cols
		for x := 0; x < w; x++ {
			if (int(row[3*x])+int(row[3*x+1])+int(row[3*x+2]))/3 < limit {
				counts[base+x/cell]++
			}
		}
	}
	in.dark = make([]float32, len(counts))
	for i, c := range counts {
		cx, cy := i%in.cols, i/in.cols
		area := (min(w, (cx+1)*cell) - cx*cell) * (min(h, (cy+1)*cell) - cy*cell)
		in.dark[i] = float32(c) / float32(area)
	}
	return in
}

// Picture thresholds, relative to the median line height H.
const (
	inkCell      = 0.2  // a cell this dark is printed
	pictureSide  = 2.5  // a picture is at least this many H wide and high
	pictureFill  = 0.35 // fraction of its bounding box a picture's cells fill
	textMaskGrow = 0.25 // text boxes are grown by this before being masked out
)

// pictures returns the bounding boxes of the printed areas left once every
// text box is masked out that are big and dense enough to be pictures:
// photos and drawings, not ruling lines, which are thin, nor the specks of
// a noisy scan, which are small.
func (in *Ink) pictures(text []rect, lineH float64) []rect {
	on := make([]bool, len(in.dark))
	for i, d := range in.dark {
		on[i] = d >= inkCell
	}
	c := float64(in.Cell)
	grow := textMaskGrow * lineH
	for _, t := range text {
		x0, y0 := max(0, int((t.x0-grow)/c)), max(0, int((t.y0-grow)/c))
		x1, y1 := min(in.cols-1, int((t.x1+grow)/c)), min(in.rows-1, int((t.y1+grow)/c))
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				on[y*in.cols+x] = false
			}
		}
	}
	var pics []rect
	seen := make([]bool, len(on))
	var stack []int
	for start := range on {
		if !on[start] || seen[start] {
			continue
		}
		seen[start] = true
		stack = append(stack[:0], start)
		n := 0
		x0, y0, x1, y1 := in.cols, in.rows, -1, -1
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n++
			x, y := i%in.cols, i/in.cols
			x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
			// 8-connected, so a halftone's diagonal dots hold together.
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= in.cols || ny >= in.rows {
						continue
					}
					if j := ny*in.cols + nx; on[j] && !seen[j] {
						seen[j] = true
						stack = append(stack, j)
					}
				}
			}
		}
		r := rect{float64(x0) * c, float64(y0) * c, float64(x1+1) * c, float64(y1+1) * c}
		if r.w() >= pictureSide*lineH && r.h() >= pictureSide*lineH &&
			float64(n) >= pictureFill*float64((x1-x0+1)*(y1-y0+1)) {
			pics = append(pics, r)
		}
	}
	slices.SortFunc(pics, func(a, b rect) int { return compare3(a.y0, b.y0, a.x0, b.x0, 0, 0) })
	return pics
}
