package layout

import (
	"math"
	"slices"
)

// BlockType is what a block is on the page.
type BlockType string

// The block types.
const (
	Title      BlockType = "title"
	Heading    BlockType = "heading"
	Paragraph  BlockType = "paragraph"
	List       BlockType = "list"
	Caption    BlockType = "caption"
	Header     BlockType = "header"
	Footer     BlockType = "footer"
	PageNumber BlockType = "page_number"
	Table      BlockType = "table"
	Figure     BlockType = "figure" // text inside a picture
)

// Line is one detected text line: its box and, when recognised, its text,
// which the analysis reads for content cues (words per line, hyphenated
// ends, numbering, captions).
type Line struct {
	Box  Quad
	Text string
}

// Page is what the analysis knows of the page besides its lines. W and H
// bound the coordinates; when either is not positive the page size is
// taken as unknown. Ink, when present, lets pictures be found; it must be
// in the lines' coordinates.
type Page struct {
	W, H int
	Ink  *Ink
}

// Block is a run of lines read together: a paragraph, a heading, a table.
type Block struct {
	Type BlockType
	// Box is the bounding box of the block's lines, {x0, y0, x1, y1}, in the
	// coordinates the lines were given in.
	Box [4]float64
	// Lines are indices into the analysed lines, in reading order.
	Lines []int
}

// Layout is the result of Analyze.
type Layout struct {
	// Order is every line index exactly once, in reading order; it is the
	// concatenation of the blocks' lines.
	Order  []int
	Blocks []Block
}

// Analyze finds the page's columns and blocks, types each block and returns
// them in reading order. The package documentation describes the algorithm.
func Analyze(lines []Line, page Page) Layout {
	out := Layout{Order: make([]int, 0, len(lines))}
	if len(lines) == 0 {
		return out
	}
	boxes := make([]Quad, len(lines))
	for i, l := range lines {
		boxes[i] = l.Box
	}
	quads := sanitize(boxes, page.W, page.H)
	vertical := isVerticalPage(quads)
	if vertical {
		transpose(quads)
	}
	deskew(quads)

	a := &analysis{page: page, lines: make([]line, len(quads))}
	heights := make([]float64, len(quads))
	for i, q := range quads {
		a.lines[i] = newLine(i, q, lines[i].Text)
		heights[i] = a.lines[i].h()
	}
	a.lineH = median(heights)
	if !(a.lineH > 0) {
		// All boxes are degenerate. One pixel keeps the tolerances meaningful.
		a.lineH = 1
	}
	if page.Ink != nil && !vertical {
		a.findFigures()
	}
	a.findGutters()
	a.buildRegions()
	a.findTables()
	a.typeRegions()
	if a.sparse() {
		// Signs, posters, labels and lone tables have no columns of text
		// to find: the XY-cut reads them as a person does, and blocks are
		// the runs of one region in its order.
		order := xyCut(boxes, page.W, page.H)
		regionOf := make([]*region, len(lines))
		for _, r := range a.regions {
			for _, i := range r.lines {
				regionOf[i] = r
			}
		}
		for k, i := range order {
			if k == 0 || regionOf[i] != regionOf[order[k-1]] {
				out.Blocks = append(out.Blocks, Block{Type: regionOf[i].typ})
			}
			b := &out.Blocks[len(out.Blocks)-1]
			b.Lines = append(b.Lines, i)
		}
		quads := sanitize(boxes, page.W, page.H)
		for k := range out.Blocks {
			out.Blocks[k].Box = boundsOf(quads, out.Blocks[k].Lines)
		}
		out.Order = order
		return out
	}
	for _, r := range a.order() {
		for _, b := range a.blocks(r) {
			b.Box = boundsOf(sanitize(boxes, page.W, page.H), b.Lines)
			out.Blocks = append(out.Blocks, b)
			out.Order = append(out.Order, b.Lines...)
		}
	}
	return out
}

// line is a text line in the normalised frame (upright, deskewed).
type line struct {
	rect
	idx  int
	text string
}

func newLine(idx int, q Quad, text string) line {
	r := rect{q[0][0], q[0][1], q[0][0], q[0][1]}
	for _, p := range q[1:] {
		r.x0, r.x1 = min(r.x0, p[0]), max(r.x1, p[0])
		r.y0, r.y1 = min(r.y0, p[1]), max(r.y1, p[1])
	}
	return line{rect: r, idx: idx, text: text}
}

func boundsOf(quads []Quad, idx []int) [4]float64 {
	b := [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, i := range idx {
		for _, p := range quads[i] {
			b[0], b[1] = min(b[0], p[0]), min(b[1], p[1])
			b[2], b[3] = max(b[2], p[0]), max(b[3], p[1])
		}
	}
	return b
}

// analysis holds one page's state as the steps of Analyze fill it in.
type analysis struct {
	page     Page
	lines    []line
	lineH    float64 // median line height: the unit of every distance
	bodyH    float64 // median height of lines in multi-line regions
	pictures []rect
	figure   []int // the picture each line lies in, or -1; nil without pictures
	gutters  []rect
	regions  []*region
}

// sparse reports whether the page has no running text: a sign, a poster,
// a label, a table alone.
func (a *analysis) sparse() bool {
	for _, r := range a.regions {
		if r.prose {
			return false
		}
	}
	return true
}

// compare3 orders by two keys and then an index, so equal keys never make
// the result depend on the sort algorithm. Coordinates are finite after
// sanitize, so plain comparisons form a total order.
func compare3(a1, b1, a2, b2 float64, ai, bi int) int {
	switch {
	case a1 < b1:
		return -1
	case a1 > b1:
		return 1
	case a2 < b2:
		return -1
	case a2 > b2:
		return 1
	}
	return ai - bi
}

// findFigures marks the lines that lie inside pictures. A picture counts
// only on a page that has text outside it too: on a photo of a sign, the
// sign's text is the page's text.
func (a *analysis) findFigures() {
	text := make([]rect, len(a.lines))
	for i, l := range a.lines {
		text[i] = l.rect
	}
	pageArea := float64(a.page.Ink.W) * float64(a.page.Ink.H)
	for _, p := range a.page.Ink.pictures(text, a.lineH) {
		if p.w()*p.h() < 0.5*pageArea {
			a.pictures = append(a.pictures, p)
		}
	}
	if len(a.pictures) == 0 {
		return
	}
	a.figure = make([]int, len(a.lines))
	outside := 0
	for i, l := range a.lines {
		a.figure[i] = -1
		for k, p := range a.pictures {
			if l.cx() > p.x0 && l.cx() < p.x1 && l.cy() > p.y0 && l.cy() < p.y1 {
				a.figure[i] = k
			}
		}
		if a.figure[i] < 0 {
			outside++
		}
	}
	if outside < minBodyLines {
		a.figure = nil
	}
}

// minBodyLines is how many lines outside pictures make a page a document
// whose pictures' text is figure text.
const minBodyLines = 20

func (a *analysis) isFigure(i int) bool { return a.pictureOf(i) >= 0 }

// pictureOf is the index of the picture line i lies in, or -1.
func (a *analysis) pictureOf(i int) int {
	if a.figure == nil {
		return -1
	}
	return a.figure[i]
}

// Gutter thresholds, relative to the median line height H.
const (
	gutterMinW   = 0.8 // narrowest column gutter
	gutterMinH   = 2.6 // shortest: about three lines
	gutterReach  = 3.0 // text within this of a gutter's edge borders it
	gutterSides  = 2   // lines that must border a gutter on each side
	gutterSearch = 64  // most rectangles examined
	gutterBudget = 1e5 // most branch-and-bound nodes per page
)

// findGutters finds the column separators: tall empty rectangles among the
// text lines with text on both sides. Pictures are empty for this purpose,
// so columns that run beside a picture are told apart by it.
func (a *analysis) findGutters() {
	var obst []rect
	bound := rect{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for i, l := range a.lines {
		if a.isFigure(i) {
			continue
		}
		obst = append(obst, l.rect)
		bound = bound.union(l.rect)
	}
	if len(obst) < 2*gutterSides {
		return
	}
	ws := whitespace{minW: gutterMinW * a.lineH, budget: gutterBudget}
	for range gutterSearch {
		r, ok := ws.best(bound, obst)
		if !ok || r.h() < gutterMinH*a.lineH {
			return
		}
		obst = append(obst, r)
		if a.bordered(r) {
			a.gutters = append(a.gutters, r)
		}
	}
}

// bordered reports whether text lines end at r's left edge and start at its
// right edge.
func (a *analysis) bordered(r rect) bool {
	reach := gutterReach * a.lineH
	left, right := 0, 0
	for i, l := range a.lines {
		if a.isFigure(i) || l.yOverlap(r) < 0.5*l.h() {
			continue
		}
		if l.x1 <= r.x0+1 && l.x1 >= r.x0-reach {
			left++
		}
		if l.x0 >= r.x1-1 && l.x0 <= r.x1+reach {
			right++
		}
	}
	return left >= gutterSides && right >= gutterSides
}

// separated reports whether a gutter runs between lines p and q.
func (a *analysis) separated(p, q rect) bool {
	if p.x0 > q.x0 {
		p, q = q, p
	}
	for _, g := range a.gutters {
		if g.x0 >= p.x1-1 && g.x1 <= q.x0+1 && g.yOverlap(p) > 0 && g.yOverlap(q) > 0 {
			return true
		}
	}
	return false
}

// sortRects sorts indices of rects top to bottom, then left to right.
func sortByTop(idx []int, rs func(int) rect) {
	slices.SortFunc(idx, func(i, j int) int {
		a, b := rs(i), rs(j)
		return compare3(a.y0, b.y0, a.x0, b.x0, i, j)
	})
}
