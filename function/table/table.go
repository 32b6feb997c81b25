package table

import (
	"math"
	"slices"
	"sort"
	"strings"
)

// Quad is a text line's box: top-left, top-right, bottom-right, bottom-left.
type Quad [4][2]float64

// Line is one recognised line of the table block.
type Line struct {
	Box  Quad
	Text string
}

// Image is the page the lines were read from, as packed 3-byte pixels (any
// channel order: the three are averaged).
type Image struct {
	Pix  []uint8
	W, H int
}

// Cell is one cell of the grid, written once at its top-left position.
type Cell struct {
	Row, Col         int
	RowSpan, ColSpan int
	Text             string
	// Box is {x0, y0, x1, y1} on the page: the cell's share of the grid.
	Box [4]float64
	// Lines are indices into the analysed lines, in reading order.
	Lines []int
}

// Table is the grid read from a table block.
type Table struct {
	// Box is {x0, y0, x1, y1} on the page: the lines and the rulings around them.
	Box        [4]float64
	Rows, Cols int
	// Cells cover every grid position exactly once, ordered by row, then column.
	Cells []Cell
}

// Thresholds, relative to the median line height H.
const (
	shrinkX       = 0.3     // a line's box is narrowed by this on each side: DB boxes are padded
	minGap        = 0.2     // narrowest column gutter
	crossRows     = 10      // one line may cross a gutter per this many full rows
	crossMin      = 0.25    // a line reaches into a column by more than this to span it
	rowTol        = 0.3     // lines whose centres differ by less than this share a row
	coverSlack    = 0.1     // a line spans a row when it reaches within this of the row's centre
	rulingMargin  = 1.5     // rulings are looked for this far above and below the lines
	rulingMarginX = 6       // and this far beside them (a left-aligned last column leaves room)
	minRulingH    = 1.5     // horizontal rulings are at least this long
	minRulingV    = 1.2     // vertical rulings are at least this long (glyphs are shorter)
	maxRulingT    = 0.4     // and at most this thick (thicker ink is a fill)
	maxSkewDeg    = 5.0     // a skew beyond this is not measured from the lines
	maxCoord      = 1 << 20 // coordinates of a page, in pixels, stay under this
)

type rect struct{ x0, y0, x1, y1 float64 }

func (r rect) cy() float64 { return (r.y0 + r.y1) / 2 }
func (r rect) h() float64  { return r.y1 - r.y0 }

// frame turns page coordinates into the block's level frame and back.
type frame struct {
	cx, cy, sin, cos float64
}

func (f frame) level(x, y float64) (float64, float64) {
	dx, dy := x-f.cx, y-f.cy
	return f.cx + dx*f.cos + dy*f.sin, f.cy - dx*f.sin + dy*f.cos
}

func (f frame) page(x, y float64) (float64, float64) {
	dx, dy := x-f.cx, y-f.cy
	return f.cx + dx*f.cos - dy*f.sin, f.cy + dx*f.sin + dy*f.cos
}

// pageBox is the page bounds of a rectangle of the level frame.
func (f frame) pageBox(r rect) [4]float64 {
	b := [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, p := range [4][2]float64{{r.x0, r.y0}, {r.x1, r.y0}, {r.x1, r.y1}, {r.x0, r.y1}} {
		x, y := f.page(p[0], p[1])
		b[0], b[1], b[2], b[3] = min(b[0], x), min(b[1], y), max(b[2], x), max(b[3], y)
	}
	return b
}

// Analyze reads a table block's lines into a grid. img may be nil: the
// grid then comes from the text alone.
func Analyze(lines []Line, img *Image) Table {
	if len(lines) == 0 {
		return Table{}
	}
	for _, l := range lines {
		for _, p := range l.Box {
			if !(math.Abs(p[0]) < maxCoord && math.Abs(p[1]) < maxCoord) {
				return Table{} // not a page's coordinates (NaN, infinite, absurd)
			}
		}
	}
	f := levelFrame(lines)
	a := &analysis{lines: lines, rects: make([]rect, len(lines))}
	heights := make([]float64, len(lines))
	for i, l := range lines {
		r := rect{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
		for _, p := range l.Box {
			x, y := f.level(p[0], p[1])
			r = rect{min(r.x0, x), min(r.y0, y), max(r.x1, x), max(r.y1, y)}
		}
		a.rects[i] = r
		heights[i] = r.h()
	}
	a.lineH = max(median(heights), 1)
	a.bounds = a.rects[0]
	for _, r := range a.rects {
		a.bounds = rect{min(a.bounds.x0, r.x0), min(a.bounds.y0, r.y0), max(a.bounds.x1, r.x1), max(a.bounds.y1, r.y1)}
	}
	if img != nil {
		a.findRulings(img, f)
	}
	a.findRows()
	a.findColumns()
	a.buildCells()
	return a.table(f)
}

type analysis struct {
	lines  []Line
	rects  []rect // level-frame bounds of each line
	lineH  float64
	bounds rect // of the lines
	hRules []segment
	vRules []segment
	// rows are the text rows, each a list of line indices, top to bottom.
	rows [][]int
	// rowOf and rowEnd give each line's first and last row; textRow is
	// its text row, which continued cells do not change.
	rowOf, rowEnd, textRow []int
	seps                   []float64 // column boundaries, left border to right border
	sepRuled               []bool    // whether an inner boundary is a ruling somewhere
	grid                   [][]*Cell
	cells                  []*Cell
}

// levelFrame measures the block's skew from its wide lines.
func levelFrame(lines []Line) frame {
	var angles []float64
	var cx, cy float64
	for _, l := range lines {
		for _, p := range l.Box {
			cx += p[0]
			cy += p[1]
		}
		top := [2]float64{l.Box[1][0] - l.Box[0][0], l.Box[1][1] - l.Box[0][1]}
		bot := [2]float64{l.Box[2][0] - l.Box[3][0], l.Box[2][1] - l.Box[3][1]}
		side := math.Hypot(l.Box[3][0]-l.Box[0][0], l.Box[3][1]-l.Box[0][1])
		if math.Hypot(top[0], top[1]) < 2*side {
			continue
		}
		angles = append(angles, math.Atan2(top[1], top[0]), math.Atan2(bot[1], bot[0]))
	}
	n := float64(4 * len(lines))
	f := frame{cx: cx / n, cy: cy / n, cos: 1}
	if len(angles) == 0 {
		return f
	}
	th := median(angles)
	if math.Abs(th) > maxSkewDeg*math.Pi/180 {
		return f
	}
	f.sin, f.cos = math.Sin(th), math.Cos(th)
	return f
}

// findRows clusters the lines' centres into text rows, then lets a line
// that reaches over the rows above and below it span them.
func (a *analysis) findRows() {
	idx := make([]int, len(a.rects))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(p, q int) bool { return a.rects[idx[p]].cy() < a.rects[idx[q]].cy() })
	var rows [][]int
	var mean float64
	for _, i := range idx {
		c := a.rects[i].cy()
		if len(rows) == 0 || c-mean > rowTol*a.lineH {
			rows = append(rows, []int{i})
			mean = c
			continue
		}
		r := &rows[len(rows)-1]
		*r = append(*r, i)
		mean += (c - mean) / float64(len(*r))
	}
	centre := func(row []int) float64 {
		var s float64
		for _, i := range row {
			s += a.rects[i].cy()
		}
		return s / float64(len(row))
	}
	covers := func(i int, c float64) bool {
		slack := coverSlack * a.lineH
		return a.rects[i].y0-slack <= c && c <= a.rects[i].y1+slack
	}
	// A row whose every line reaches over the centres of both neighbours,
	// or sits in a cell that a ruling between the neighbours stops short
	// of, holds cells spanning them (a head set between two rows of heads).
	spans := map[int]int{} // line -> rows it spans beyond its first
	for r := 1; r+1 < len(rows); r++ {
		up, down := centre(rows[r-1]), centre(rows[r+1])
		all := true
		for _, i := range rows[r] {
			all = all && (covers(i, up) && covers(i, down) || a.ruledBeside(i, up, down))
		}
		if !all || a.ruledThrough(rows[r], up, down) {
			continue
		}
		for _, i := range rows[r] {
			spans[i] = 1
		}
		rows[r-1] = append(rows[r-1], rows[r]...)
		rows = slices.Delete(rows, r, r+1)
	}
	a.rows = rows
	a.rowOf = make([]int, len(a.rects))
	a.rowEnd = make([]int, len(a.rects))
	a.textRow = make([]int, len(a.rects))
	for r, row := range rows {
		slices.SortFunc(row, func(p, q int) int { return cmpF(a.rects[p].x0, a.rects[q].x0) })
		for _, i := range row {
			a.rowOf[i], a.rowEnd[i] = r, min(r+spans[i], len(rows)-1)
			a.textRow[i] = r
		}
	}
}

// ruledBeside reports whether a horizontal ruling between y0 and y1 runs
// beside line i but stops short of it.
func (a *analysis) ruledBeside(i int, y0, y1 float64) bool {
	r := a.rects[i]
	for _, s := range a.hRules {
		if s.pos > y0 && s.pos < y1 && (s.hi <= r.x0 || s.lo >= r.x1) {
			return true
		}
	}
	return false
}

// ruledThrough reports whether a horizontal ruling between y0 and y1
// crosses any of the lines.
func (a *analysis) ruledThrough(lines []int, y0, y1 float64) bool {
	for _, s := range a.hRules {
		for _, i := range lines {
			if s.pos > y0 && s.pos < y1 && s.hi > a.rects[i].x0 && s.lo < a.rects[i].x1 {
				return true
			}
		}
	}
	return false
}

// ruledBetween reports whether a horizontal ruling runs between two rows
// across the lines of both.
func (a *analysis) ruledBetween(upper, lower []int) bool {
	top, bot := math.Inf(-1), math.Inf(1)
	x0, x1 := math.Inf(1), math.Inf(-1)
	for _, i := range upper {
		top = max(top, a.rects[i].cy())
		x0, x1 = min(x0, a.rects[i].x0), max(x1, a.rects[i].x1)
	}
	for _, i := range lower {
		bot = min(bot, a.rects[i].cy())
		x0, x1 = min(x0, a.rects[i].x0), max(x1, a.rects[i].x1)
	}
	for _, s := range a.hRules {
		if s.pos > top && s.pos < bot && s.hi > x0 && s.lo < x1 {
			return true
		}
	}
	return false
}

// narrow is a line's horizontal extent without the detector's padding.
func (a *analysis) narrow(i int) (float64, float64) {
	r := a.rects[i]
	d := shrinkX * r.h()
	if r.x1-r.x0 <= 2*d {
		c := (r.x0 + r.x1) / 2
		return c - 0.5, c + 0.5
	}
	return r.x0 + d, r.x1 - d
}

// findColumns takes the column boundaries from the whitespace between the
// lines of the fuller rows, as Camelot's stream mode does: the rows with at
// least the median number of lines, so that the heads spanning several
// columns, and the lines continuing a cell, make no columns of their own.
// A large table may have one line crossing a gutter (two cells the
// detector read as one). Vertical rulings no text crosses are boundaries
// too.
func (a *analysis) findColumns() {
	counts := make([]float64, len(a.rows))
	for r, row := range a.rows {
		counts[r] = float64(len(row))
	}
	full := median(counts)
	lo, hi := math.Floor(a.bounds.x0), math.Ceil(a.bounds.x1)
	n := int(hi-lo) + 1
	cover := make([]int, n)
	fullRows := 0
	for _, row := range a.rows {
		if float64(len(row)) < full {
			continue
		}
		fullRows++
		for _, i := range row {
			x0, x1 := a.narrow(i)
			for x := max(0, int(x0-lo)); x <= min(n-1, int(x1-lo)); x++ {
				cover[x]++
			}
		}
	}
	allow := fullRows / crossRows
	var gaps [][2]float64
	for x := 0; x < n; {
		if cover[x] <= allow {
			s := x
			for x < n && cover[x] <= allow {
				x++
			}
			if s > 0 && x < n && float64(x-s) >= minGap*a.lineH {
				gaps = append(gaps, [2]float64{lo + float64(s), lo + float64(x)})
			}
			continue
		}
		x++
	}
	// The outermost vertical rulings beyond the text are the border.
	left, right := a.bounds.x0, a.bounds.x1
	tall := a.bounds.h() / 2
	for _, v := range a.vRules {
		// A border runs the table's height, no more: a longer or shorter
		// rule beside it belongs to something else on the page.
		if v.lo > a.bounds.y0+a.lineH || v.lo < a.bounds.y0-2*a.lineH || v.hi < a.bounds.y1-a.lineH || v.hi > a.bounds.y1+2*a.lineH {
			continue
		}
		if v.pos < a.bounds.x0+a.lineH*minGap {
			left = min(left, v.pos)
		}
		if v.pos > a.bounds.x1-a.lineH*minGap {
			right = max(right, v.pos)
		}
	}
	seps := []float64{left}
	ruled := []bool{false}
	for _, g := range gaps {
		pos, isRuled := (g[0]+g[1])/2, false
		for _, v := range a.vRules {
			if v.pos >= g[0] && v.pos <= g[1] {
				pos, isRuled = v.pos, true
				break
			}
		}
		seps = append(seps, pos)
		ruled = append(ruled, isRuled)
	}
	// A tall ruling inside the table that no line crosses and no gap holds
	// bounds an empty column.
	for _, v := range a.vRules {
		if v.hi-v.lo < tall || v.pos <= left+a.lineH || v.pos >= right-a.lineH {
			continue
		}
		clear := true
		for i := range a.rects {
			x0, x1 := a.narrow(i)
			clear = clear && (v.pos < x0 || v.pos > x1)
		}
		near := false
		for _, s := range seps {
			near = near || math.Abs(s-v.pos) < a.lineH
		}
		if clear && !near {
			seps = append(seps, v.pos)
			ruled = append(ruled, true)
		}
	}
	seps = append(seps, right)
	ruled = append(ruled, false)
	order := make([]int, len(seps))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(p, q int) bool { return seps[order[p]] < seps[order[q]] })
	a.seps = make([]float64, len(seps))
	a.sepRuled = make([]bool, len(seps))
	for k, i := range order {
		a.seps[k], a.sepRuled[k] = seps[i], ruled[i]
	}
}

// colsOf is the first and last column a line reaches into.
func (a *analysis) colsOf(i int) (int, int) {
	x0, x1 := a.narrow(i)
	first, last := -1, -1
	cols := len(a.seps) - 1
	for c := range cols {
		l, r := a.seps[c], a.seps[c+1]
		if c == 0 {
			l = math.Inf(-1)
		}
		if c == cols-1 {
			r = math.Inf(1)
		}
		if min(x1, r)-max(x0, l) > crossMin*a.lineH {
			if first < 0 {
				first = c
			}
			last = c
		}
	}
	if first < 0 { // a line narrower than the margin: its centre decides
		c := (x0 + x1) / 2
		first = max(0, sort.SearchFloat64s(a.seps, c)-1)
		first = min(first, cols-1)
		last = first
	}
	return first, last
}

// buildCells places the lines into the grid and merges cells where the
// page says they are one.
func (a *analysis) buildCells() {
	rows, cols := len(a.rows), len(a.seps)-1
	a.grid = make([][]*Cell, rows)
	for r := range a.grid {
		a.grid[r] = make([]*Cell, cols)
	}
	for r, row := range a.rows {
		for _, i := range row {
			c0, c1 := a.colsOf(i)
			if cell := a.grid[r][c0]; cell != nil {
				cell.Lines = append(cell.Lines, i)
				continue
			}
			cell := &Cell{Row: r, Col: c0, RowSpan: 1, ColSpan: 1, Lines: []int{i}}
			a.cells = append(a.cells, cell)
			a.grid[r][c0] = cell
			for c := c0 + 1; c <= c1 && a.grid[r][c] == nil; c++ {
				a.grid[r][c] = cell
				cell.ColSpan++
			}
			for rr := r + 1; rr <= a.rowEnd[i] && a.free(rr, c0, cell.ColSpan); rr++ {
				for c := c0; c < c0+cell.ColSpan; c++ {
					a.grid[rr][c] = cell
				}
				cell.RowSpan++
			}
		}
	}
	a.mergeUnruled()
	a.mergeContinuations()
}

func (a *analysis) free(r, c0, n int) bool {
	for c := c0; c < c0+n; c++ {
		if a.grid[r][c] != nil {
			return false
		}
	}
	return true
}

// rowBand is a text row's vertical extent.
func (a *analysis) rowBand(r int) (float64, float64) {
	y0, y1 := math.Inf(1), math.Inf(-1)
	for _, i := range a.rows[r] {
		if a.rowEnd[i] == a.rowOf[i] {
			y0, y1 = min(y0, a.rects[i].y0), max(y1, a.rects[i].y1)
		}
	}
	if math.IsInf(y0, 1) {
		for _, i := range a.rows[r] {
			y0, y1 = min(y0, a.rects[i].y0), max(y1, a.rects[i].y1)
		}
	}
	return y0, y1
}

// mergeUnruled joins a filled cell with the empty one beside it where the
// column boundary between them is ruled in other rows but not in this one.
func (a *analysis) mergeUnruled() {
	for s := 1; s+1 < len(a.seps); s++ {
		if !a.sepRuled[s] {
			continue
		}
		for r := range a.rows {
			y0, y1 := a.rowBand(r)
			if a.vRuled(a.seps[s], y0, y1) {
				continue
			}
			l, rt := a.grid[r][s-1], a.grid[r][s]
			switch {
			case l != nil && rt == nil && l.RowSpan == 1 && l.Col+l.ColSpan == s:
				l.ColSpan++
				a.grid[r][s] = l
			case rt != nil && l == nil && rt.RowSpan == 1 && rt.Col == s && rt.ColSpan == 1:
				rt.Col--
				rt.ColSpan++
				a.grid[r][s-1] = rt
			}
		}
	}
}

// vRuled reports whether a vertical ruling at x covers most of [y0, y1].
func (a *analysis) vRuled(x, y0, y1 float64) bool {
	for _, v := range a.vRules {
		if math.Abs(v.pos-x) < a.lineH/2 && min(v.hi, y1)-max(v.lo, y0) >= (y1-y0)/2 {
			return true
		}
	}
	return false
}

// mergeContinuations folds a text row into the row above when it only
// continues cells there: its first column is empty, each of its lines sits
// under a single-column cell of that row, it has fewer cells, and no
// ruling runs between the two.
func (a *analysis) mergeContinuations() {
	for r := 1; r < len(a.rows); {
		if !a.continues(r) {
			r++
			continue
		}
		p, row := r-1, a.grid[r]
		for c, cell := range row {
			if cell != nil && cell.Row == r && cell.Col == c {
				up := a.grid[p][c]
				up.Lines = append(up.Lines, cell.Lines...)
				a.cells = slices.DeleteFunc(a.cells, func(x *Cell) bool { return x == cell })
			}
		}
		// Cells spanning down through the removed row get shorter.
		for c, cell := range row {
			if cell != nil && cell.Row < r && cell.Col == c {
				cell.RowSpan--
			}
		}
		a.rows[p] = append(a.rows[p], a.rows[r]...)
		for i := range a.rowOf {
			switch {
			case a.rowOf[i] == r:
				a.rowOf[i], a.rowEnd[i] = p, p
			case a.rowOf[i] > r:
				a.rowOf[i]--
				a.rowEnd[i]--
			case a.rowEnd[i] >= r:
				a.rowEnd[i]--
			}
		}
		a.rows = slices.Delete(a.rows, r, r+1)
		a.grid = slices.Delete(a.grid, r, r+1)
		for _, cell := range a.cells {
			if cell.Row > r {
				cell.Row--
			}
		}
	}
}

// continues reports whether text row r only continues cells of row r-1.
func (a *analysis) continues(r int) bool {
	row, p := a.grid[r], r-1
	if row[0] != nil {
		return false
	}
	n := 0
	for c, cell := range row {
		if cell == nil || (c > 0 && row[c-1] == cell) {
			continue
		}
		up := a.grid[p][c]
		if cell.Row != r || cell.RowSpan != 1 || cell.ColSpan != 1 || up == nil || up.ColSpan != 1 || up.Col != c || up.Row != p {
			return false
		}
		n++
	}
	return n > 0 && n < a.filled(p) && !a.ruledBetween(a.rows[p], a.rows[r])
}

// filled counts the cells starting in row r.
func (a *analysis) filled(r int) int {
	n := 0
	for c, cell := range a.grid[r] {
		if cell != nil && cell.Row == r && cell.Col == c {
			n++
		}
	}
	return n
}

// table fills the empty positions and writes the cells' text and boxes.
func (a *analysis) table(f frame) Table {
	rows, cols := len(a.rows), len(a.seps)-1
	for r := range rows {
		for c := range cols {
			if a.grid[r][c] == nil {
				cell := &Cell{Row: r, Col: c, RowSpan: 1, ColSpan: 1}
				a.grid[r][c] = cell
				a.cells = append(a.cells, cell)
			}
		}
	}
	// Row boundaries lie midway between the rows' extents, the outer ones
	// on the rulings around the table where there are any.
	bounds := make([]float64, rows+1)
	top, bot := a.bounds.y0, a.bounds.y1
	for _, h := range a.hRules {
		if h.pos < a.bounds.y0+a.lineH*minGap {
			top = min(top, h.pos)
		}
		if h.pos > a.bounds.y1-a.lineH*minGap {
			bot = max(bot, h.pos)
		}
	}
	bounds[0], bounds[rows] = top, bot
	for r := 1; r < rows; r++ {
		_, y1 := a.rowBand(r - 1)
		y0, _ := a.rowBand(r)
		bounds[r] = (y1 + y0) / 2
	}
	slices.SortFunc(a.cells, func(p, q *Cell) int {
		if p.Row != q.Row {
			return p.Row - q.Row
		}
		return p.Col - q.Col
	})
	t := Table{Rows: rows, Cols: cols, Cells: make([]Cell, len(a.cells))}
	for k, cell := range a.cells {
		slices.SortFunc(cell.Lines, func(p, q int) int {
			if a.textRow[p] != a.textRow[q] {
				return a.textRow[p] - a.textRow[q]
			}
			return cmpF(a.rects[p].x0, a.rects[q].x0)
		})
		texts := make([]string, 0, len(cell.Lines))
		for _, i := range cell.Lines {
			if s := strings.TrimSpace(a.lines[i].Text); s != "" {
				texts = append(texts, s)
			}
		}
		cell.Text = strings.Join(texts, " ")
		cell.Box = f.pageBox(rect{a.seps[cell.Col], bounds[cell.Row], a.seps[cell.Col+cell.ColSpan], bounds[cell.Row+cell.RowSpan]})
		t.Cells[k] = *cell
	}
	t.Box = f.pageBox(rect{a.seps[0], top, a.seps[cols], bot})
	return t
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
