package layout

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// region is a connected piece of one column (or a table, or a picture's
// text): lines that follow each other without a gutter, a change of text
// size or a wide gap between them.
type region struct {
	rect
	lines []int   // indices into analysis.lines
	rows  [][]int // lines grouped into rows, top to bottom, each left to right
	h     float64 // median line height
	typ   BlockType
	float bool // read after the text it sits in (a caption between columns)
	prose bool // reads as running text
}

// Region thresholds, relative to the line heights involved.
const (
	rowCore      = 0.35 // centres closer than this (of the smaller height) share a row
	rowGap       = 1.5  // widest gap, in H, between pieces of one row
	lineGap      = 0.8  // widest gap between a line and the next, of the smaller height
	sizeRatio    = 1.35 // larger height ratios start a new region
	minXOverlap  = 0.2  // of the narrower line, for lines one above the other
	rowTol       = 0.5  // centres closer than this (in H) form one row when reading
	alignTol     = 0.3  // row centres this close (in H) are aligned across regions
	tableAligned = 0.7  // fraction of aligned rows from which two regions are one table
	maxCellRows  = 3    // a run of cells beside a table joins it when this short
	maxHeadWords = 3    // a head or cell joining a table has at most this many words a row
	cellGap      = 2.0  // and this close to its side
)

// buildRegions joins lines that read together: neighbours in a row with no
// gutter between them, and lines one above the other with overlapping
// extents, similar sizes and a line's gap between them.
func (a *analysis) buildRegions() {
	n := len(a.lines)
	sets := newUnionFind(n)

	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sortByTop(idx, func(i int) rect { return a.lines[i].rect })
	for k, i := range idx {
		p := a.lines[i]
		for _, j := range idx[k+1:] {
			q := a.lines[j]
			if q.y0 > p.y1+2*a.lineH {
				break
			}
			if a.pictureOf(i) == a.pictureOf(j) && (a.isFigure(i) || a.joins(p.rect, q.rect)) {
				sets.union(i, j)
			}
		}
	}
	groups := map[int]*region{}
	for _, i := range idx {
		root := sets.find(i)
		r := groups[root]
		if r == nil {
			r = &region{rect: a.lines[i].rect}
			groups[root] = r
			a.regions = append(a.regions, r)
		}
		r.lines = append(r.lines, i)
		r.rect = r.union(a.lines[i].rect)
	}
	for _, r := range a.regions {
		a.finish(r)
	}
	a.bodyH = a.lineH
	var hs []float64
	for _, r := range a.regions {
		if len(r.rows) >= 3 {
			for _, i := range r.lines {
				hs = append(hs, a.lines[i].h())
			}
		}
	}
	if len(hs) > 0 {
		a.bodyH = median(hs)
	}
}

// joins reports whether p and q (q not above p) belong to one region.
func (a *analysis) joins(p, q rect) bool {
	hp, hq := p.h(), q.h()
	small, large := min(hp, hq), max(hp, hq)
	if large > sizeRatio*small {
		// Lines of mixed sizes still join when centred one under the
		// other and of similar widths: a caption or title set in small
		// capitals with large initials.
		wide, narrow := max(p.w(), q.w()), min(p.w(), q.w())
		return q.y0-p.y1 <= lineGap*small && q.cy() > p.y1-rowCore*small && wide < 1.6*narrow &&
			abs(p.cx()-q.cx()) < 0.15*narrow
	}
	if d := q.cy() - p.cy(); d < rowCore*small && d > -rowCore*small {
		gap := max(p.x0, q.x0) - min(p.x1, q.x1)
		return gap <= rowGap*a.lineH && !a.separated(p, q)
	}
	gap := q.y0 - p.y1
	return q.cy() > p.y1-rowCore*small && gap <= lineGap*small &&
		p.xOverlap(q) >= minXOverlap*min(p.w(), q.w()) && !a.spans(p, q, 0.5*small)
}

// spans reports whether p, above q, spans several lines side by side right
// under it, or q several right over it: a line across columns (a headline,
// a full-width caption) borders them but belongs to neither. Only lines
// within the spanning line's width count, so a column that merely narrows
// beside a picture, or runs beside a float, still joins up.
func (a *analysis) spans(p, q rect, tol float64) bool {
	near := 2 * a.lineH
	return a.several(p, func(l rect) bool { return l.y0 >= p.y1-tol && l.y0 <= p.y1+near }) ||
		a.several(q, func(l rect) bool { return l.y1 >= q.y0-near && l.y1 <= q.y0+tol })
}

// several reports whether the lines within span's width that pass in are
// at least two, apart by more than a row's word gap.
func (a *analysis) several(span rect, in func(rect) bool) bool {
	var xs []rect
	for i, l := range a.lines {
		if !a.isFigure(i) && l.x0 >= span.x0-a.lineH && l.x1 <= span.x1+a.lineH && in(l.rect) {
			xs = append(xs, l.rect)
		}
	}
	if len(xs) < 2 {
		return false
	}
	slices.SortFunc(xs, func(p, q rect) int { return compare3(p.x0, q.x0, p.y0, q.y0, 0, 0) })
	right := xs[0].x1
	for _, r := range xs[1:] {
		if r.x0-right > rowGap*a.lineH {
			return true
		}
		right = max(right, r.x1)
	}
	return false
}

// finish computes a region's bounds, rows and median height.
func (a *analysis) finish(r *region) {
	r.rect = a.lines[r.lines[0]].rect
	hs := make([]float64, 0, len(r.lines))
	for _, i := range r.lines {
		r.rect = r.union(a.lines[i].rect)
		hs = append(hs, a.lines[i].h())
	}
	r.h = median(hs)
	r.rows = a.rows(r.lines)
}

// rows groups lines into rows: taken by vertical centre, a line joins the
// current row while its centre is within rowTol·H of the row's first line.
// Rows read top to bottom, each left to right.
func (a *analysis) rows(lines []int) [][]int {
	byCy := slices.Clone(lines)
	slices.SortFunc(byCy, func(i, j int) int {
		p, q := a.lines[i], a.lines[j]
		return compare3(p.cy(), q.cy(), p.x0, q.x0, i, j)
	})
	var rows [][]int
	for start := 0; start < len(byCy); {
		end := start + 1
		first := a.lines[byCy[start]]
		for end < len(byCy) && a.lines[byCy[end]].cy()-first.cy() < rowTol*a.lineH {
			end++
		}
		row := slices.Clone(byCy[start:end])
		slices.SortFunc(row, func(i, j int) int {
			p, q := a.lines[i], a.lines[j]
			return compare3(p.x0, q.x0, p.cy(), q.cy(), i, j)
		})
		rows = append(rows, row)
		start = end
	}
	return rows
}

// rowText and rowRect are a row's text (pieces joined by spaces) and bounds.
func (a *analysis) rowText(row []int) string {
	parts := make([]string, len(row))
	for k, i := range row {
		parts[k] = a.lines[i].text
	}
	return strings.Join(parts, " ")
}

func (a *analysis) rowRect(row []int) rect {
	r := a.lines[row[0]].rect
	for _, i := range row[1:] {
		r = r.union(a.lines[i].rect)
	}
	return r
}

// prose reports whether a region reads as running text rather than as a
// column of a table. Running text has full lines: most rows fill the
// column's width and hold several words, or lines end hyphenated. A table
// column holds short, unevenly wide cells.
func (a *analysis) prose(r *region) bool {
	if len(r.rows) < 3 {
		return false
	}
	full, wordy, hyphens := 0, 0, 0
	for k, row := range r.rows {
		rr := a.rowRect(row)
		text := a.rowText(row)
		if k < len(r.rows)-1 && rr.w() >= 0.8*r.w() {
			full++
		}
		// Recognisers drop some spaces, so a long row counts as several
		// words too.
		if len(strings.Fields(text)) >= 4 || utf8.RuneCountInString(text) >= 24 {
			wordy++
		}
		if brokenWord(strings.TrimSpace(text)) {
			hyphens++
		}
	}
	n := len(r.rows)
	return !a.multiCell(r) && (hyphens >= 2 || (2*full >= n-1 && 2*wordy >= n))
}

// findTables merges regions that are columns of one table: side by side,
// row for row aligned, and neither reading as running text (two text
// columns on a shared baseline grid align too, but their lines are full).
// A region whose rows hold several cells each is a table by itself.
func (a *analysis) findTables() {
	n := len(a.regions)
	sets := newUnionFind(n)
	isProse := make([]bool, n)
	for i, r := range a.regions {
		isProse[i] = a.prose(r)
		r.prose = isProse[i]
	}
	tabular := make([]bool, n)
	for i, r := range a.regions {
		if a.isFigure(r.lines[0]) || isProse[i] {
			continue
		}
		for j := i + 1; j < n; j++ {
			s := a.regions[j]
			if isProse[j] || a.isFigure(s.lines[0]) || r.yOverlap(s.rect) <= 0 || r.xOverlap(s.rect) > 0 {
				continue
			}
			if (len(r.rows) == 1 || len(s.rows) == 1) && (-r.xOverlap(s.rect) > 2*a.lineH || !a.cellLike(r) || !a.cellLike(s)) {
				continue // a lone row joins a table only as its close neighbour
			}
			if a.aligned(r, s) >= tableAligned && !a.columnGutterBetween(r.rect, s.rect) {
				sets.union(i, j)
				tabular[i], tabular[j] = true, true
			}
		}
	}
	merged := map[int]*region{}
	var out []*region
	for i, r := range a.regions {
		if !tabular[i] {
			if !isProse[i] && len(r.rows) >= 3 && a.multiCell(r) {
				r.typ = Table
			}
			out = append(out, r)
			continue
		}
		root := sets.find(i)
		m := merged[root]
		if m == nil {
			m = &region{typ: Table}
			merged[root] = m
			out = append(out, m)
		}
		m.lines = append(m.lines, r.lines...)
	}
	for _, r := range out {
		if r.typ == Table {
			a.finish(r)
		}
	}
	a.regions = a.absorbCells(a.absorbHeads(out))
}

// absorbCells joins to each table the short runs of cells within its
// height: beside it, close to its side, when every row lines up with one of
// its rows (the rest of a column that empty or undetected cells, a dash the
// detector misses, broke into pieces a gutter then kept apart); within its
// width, wherever they sit (a head centred over two rows).
func (a *analysis) absorbCells(rs []*region) []*region {
	gone := make([]bool, len(rs))
	for _, t := range rs {
		if t.typ != Table {
			continue
		}
		joined := false
		for i, r := range rs {
			if gone[i] || r.typ == Table || r.prose || len(r.rows) > maxCellRows || a.isFigure(r.lines[0]) ||
				r.y0 < t.y0-0.5*a.lineH || r.y1 > t.y1+0.5*a.lineH || max(r.x0-t.x1, t.x0-r.x1) > cellGap*a.lineH {
				continue
			}
			cells := true
			for _, row := range r.rows {
				cells = cells && len(strings.Fields(a.rowText(row))) <= maxHeadWords
			}
			// Beside the table its rows must line up with the table's; within
			// its width it is a cell set between rows (a head over two).
			inside := r.x0 >= t.x0-a.lineH && r.x1 <= t.x1+a.lineH
			if !cells || !inside && a.aligned(r, t) < 1 {
				continue
			}
			t.lines = append(t.lines, r.lines...)
			gone[i], joined = true, true
		}
		if joined {
			a.finish(t)
		}
	}
	out := rs[:0]
	for i, r := range rs {
		if !gone[i] {
			out = append(out, r)
		}
	}
	return out
}

// absorbHeads joins to each table the short rows set right over it within
// its width: column heads, spanning heads over them, its caption.
func (a *analysis) absorbHeads(rs []*region) []*region {
	gone := make([]bool, len(rs))
	for ti, t := range rs {
		if t.typ != Table || gone[ti] {
			continue
		}
		// A pass takes the rows right over the table's top as it was when
		// the pass began, so a row of heads joins whole before the row
		// over it is considered.
		capped := false
		for grew := true; grew; {
			grew = false
			top := t.y0
			for i, r := range rs {
				// A row of heads may have paired up as a table of one row.
				if i == ti || gone[i] || r.typ == Table && len(r.rows) > 1 || len(r.rows) > 2 || a.isFigure(r.lines[0]) ||
					r.x0 < t.x0-a.lineH || r.x1 > t.x1+a.lineH || r.y1 > top+0.5*a.lineH || r.y1 < top-1.5*a.lineH {
					continue
				}
				caption := reCaption.MatchString(strings.TrimSpace(a.rowText(r.rows[0])))
				if !caption && len(strings.Fields(a.rowText(r.rows[0]))) > maxHeadWords || a.underPicture(r.rect) {
					continue
				}
				t.lines = append(t.lines, r.lines...)
				gone[i], grew = true, true
				capped = capped || caption
			}
			a.finish(t)
			if capped {
				break // nothing over a table's caption is the table's
			}
		}
	}
	out := rs[:0]
	for i, r := range rs {
		if !gone[i] {
			out = append(out, r)
		}
	}
	return out
}

// columnGutterBetween reports whether a gutter between p and q runs on
// past both, above or below, with text on both its sides there too: it
// separates page columns, and a table does not straddle it.
func (a *analysis) columnGutterBetween(p, q rect) bool {
	if p.x0 > q.x0 {
		p, q = q, p
	}
	top, bottom := min(p.y0, q.y0), max(p.y1, q.y1)
	for _, g := range a.gutters {
		if g.x0 < p.x1-1 || g.x1 > q.x0+1 || g.yOverlap(p) <= 0 || g.yOverlap(q) <= 0 {
			continue
		}
		above, below := g, g
		above.y1, below.y0 = top, bottom
		if above.h() >= gutterMinH*a.lineH && a.bordered(above) || below.h() >= gutterMinH*a.lineH && a.bordered(below) {
			return true
		}
	}
	return false
}

// aligned is the larger of the fractions of r's rows with a row of s at the
// same height, and of s's rows with one of r.
func (a *analysis) aligned(r, s *region) float64 {
	frac := func(p, q *region) float64 {
		n, hit := 0, 0
		for _, row := range p.rows {
			c := a.rowRect(row).cy()
			if c < q.y0 || c > q.y1 {
				continue
			}
			n++
			for _, other := range q.rows {
				if d := a.rowRect(other).cy() - c; d < alignTol*a.lineH && d > -alignTol*a.lineH {
					hit++
					break
				}
			}
		}
		if n == 0 {
			return 0
		}
		return float64(hit) / float64(n)
	}
	return max(frac(r, s), frac(s, r))
}

// underPicture reports whether r sits right under a picture: its caption.
func (a *analysis) underPicture(r rect) bool {
	for _, p := range a.pictures {
		if d := r.y0 - p.y1; d > -0.5*a.lineH && d < captionGap*a.bodyH && r.xOverlap(p) > 0.5*r.w() {
			return true
		}
	}
	return false
}

// cellLike reports whether a one-row region reads as a table cell (a
// word or two), so that it may join a table beside it.
func (a *analysis) cellLike(r *region) bool {
	return len(r.rows) > 1 || len(strings.Fields(a.rowText(r.rows[0]))) <= 2
}

// multiCell reports whether most rows of r are split into several pieces
// (cells closer than a gutter, which the detector still kept apart).
func (a *analysis) multiCell(r *region) bool {
	multi := 0
	for _, row := range r.rows {
		if len(row) >= 2 {
			multi++
		}
	}
	return 5*multi >= 3*len(r.rows)
}

var (
	// reCaption starts a figure's or table's caption.
	reCaption = regexp.MustCompile(`^(?i:fig(?:ure)?\.?|table|tab\.|plate|chart|photo)\s*[0-9IVXivx]+[a-z]?\s*[.:|—–-]?`)
	// reHeading is a numbered section heading: "5. Conclusion", "4.3 Results".
	reHeading = regexp.MustCompile(`^(?:\d{1,2}(?:\.\d{1,2})*\.?|[IVX]{1,4}\.)\s+\p{Lu}`)
	// reBullet starts a list item.
	reBullet = regexp.MustCompile(`^(?:[•·▪◦‣∙*–—-]\s|\(?[0-9]{1,2}[.)]\s|\(?[a-z][.)]\s)`)
	// rePageNumber is a page number in a header or footer.
	rePageNumber = regexp.MustCompile(`^(?i:(?:page|p\.|s\.)\s*)?[-–—(\[]?\s*(?:\d{1,4}|[ivxlc]{1,6})\s*[-–—)\]]?(?:\s*(?:/|of)\s*\d{1,4})?$`)
)

// brokenWord reports whether s ends in a word hyphenated across lines (a
// letter, then the hyphen), not in a dash or a table's "-".
func brokenWord(s string) bool {
	t, ok := strings.CutSuffix(s, "-")
	if !ok {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(t)
	return unicode.IsLetter(r)
}

// BulletPrefix returns the length of the bullet or enumerator that starts
// a list item in s, or 0.
func BulletPrefix(s string) int {
	if loc := reBullet.FindStringIndex(s); loc != nil {
		return loc[1]
	}
	return 0
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// unionFind is a disjoint-set forest over 0..n-1.
type unionFind []int

func newUnionFind(n int) unionFind {
	u := make(unionFind, n)
	for i := range u {
		u[i] = i
	}
	return u
}

func (u unionFind) find(i int) int {
	for u[i] != i {
		u[i] = u[u[i]]
		i = u[i]
	}
	return i
}

func (u unionFind) union(i, j int) { u[u.find(i)] = u.find(j) }
