package layout

import (
	"cmp"
	"math"
	"slices"
	"sort"
)

// Thresholds of xyCut, the recursive XY-cut sparse pages are read by.
// Fractions without a unit are relative to H, the median box height.
const (
	coreFrac       = 0.35 // half-height of the core used for horizontal gaps, relative to the box height
	xyRowTol       = 0.5  // centres closer than this form one row
	minGutter      = 0.5  // narrowest column gutter
	minCommon      = 1.5  // vertical overlap of a gutter's two sides
	minCoverage    = 0.5  // fraction of the common range each side must cover
	xyAlignTol     = 0.25 // centre distance that counts as the same table row
	xyTableAligned = 0.8  // aligned fraction from which two sides are a table
)

// xyCut returns the order a person reads sparse text in (signs, posters,
// labels: pages with no running text and no table): the indices of boxes,
// each exactly once. Multi-column pages read column by column, between
// full-width elements that read in their place. Tables, forms and lists read
// row by row, and lines read left to right. Pages where most boxes are tall
// read in vertical columns, left to right like RapidOCR. pageW and pageH bound
// the coordinates. When either is not positive, the page size is taken as
// unknown and only NaN and infinities are repaired. The package documentation
// describes the algorithm and its thresholds.
func xyCut(boxes []Quad, pageW, pageH int) []int {
	out := make([]int, 0, len(boxes))
	if len(boxes) == 0 {
		return out
	}
	quads := sanitize(boxes, pageW, pageH)
	if isVerticalPage(quads) {
		transpose(quads)
	}
	deskew(quads)

	bs := make([]xyBox, len(quads))
	heights := make([]float64, len(quads))
	for i, q := range quads {
		bs[i] = boundingBox(i, q)
		heights[i] = bs[i].y1 - bs[i].y0
	}
	lineH := median(heights)
	if !(lineH > 0) {
		// All boxes are degenerate. One pixel keeps the tolerances meaningful.
		lineH = 1
	}
	o := orderer{lineH: lineH, out: out}
	o.cut(bs)
	return o.out
}

// xyBox is the axis-aligned bounding box of a normalised quad, with its
// vertical centre and core (see coreFrac) precomputed for the sorts.
type xyBox struct {
	idx                int
	x0, y0, x1, y1     float64
	cy, coreTop, coreB float64
}

func boundingBox(idx int, q Quad) xyBox {
	b := xyBox{idx: idx, x0: q[0][0], y0: q[0][1], x1: q[0][0], y1: q[0][1]}
	for _, p := range q[1:] {
		b.x0, b.x1 = min(b.x0, p[0]), max(b.x1, p[0])
		b.y0, b.y1 = min(b.y0, p[1]), max(b.y1, p[1])
	}
	b.cy = (b.y0 + b.y1) / 2
	b.coreTop = b.cy - coreFrac*(b.y1-b.y0)
	b.coreB = b.cy + coreFrac*(b.y1-b.y0)
	return b
}

func byX0(a, b xyBox) int      { return compare3(a.x0, b.x0, a.cy, b.cy, a.idx, b.idx) }
func byCy(a, b xyBox) int      { return compare3(a.cy, b.cy, a.x0, b.x0, a.idx, b.idx) }
func byCoreTop(a, b xyBox) int { return compare3(a.coreTop, b.coreTop, a.x0, b.x0, a.idx, b.idx) }

type orderer struct {
	lineH float64
	out   []int
}

// cut appends the reading order of bs to o.out. It reorders bs in place. Every
// recursive call gets a strictly smaller slice, so the recursion terminates.
func (o *orderer) cut(bs []xyBox) {
	if len(bs) <= 1 {
		for _, b := range bs {
			o.out = append(o.out, b.idx)
		}
		return
	}
	if split, ok := o.verticalCut(bs); ok {
		o.cut(bs[:split])
		o.cut(bs[split:])
		return
	}
	bands := o.bands(bs)
	if len(bands) == 1 {
		o.leaf(bs)
		return
	}
	groups := o.groupBands(bs, bands)
	if len(groups) == 1 {
		groups = bands
	}
	start := 0
	for _, end := range groups {
		o.cut(bs[start:end])
		start = end
	}
}

// segment is a maximal run of boxes (in x0 order) whose x-ranges chain together.
type segment struct {
	start, end int
	x1         float64
}

// sideStats holds the vertical extents of every prefix (bs[:i]) and suffix
// (bs[i:]), so a gutter's overlap test costs O(1). The many word gaps inside
// single lines then fail before anything is sorted.
type sideStats struct {
	preTop, preBot, sufTop, sufBot []float64
}

func newSideStats(bs []xyBox) sideStats {
	n := len(bs)
	s := sideStats{
		preTop: make([]float64, n+1), preBot: make([]float64, n+1),
		sufTop: make([]float64, n+1), sufBot: make([]float64, n+1),
	}
	inf := math.Inf(1)
	s.preTop[0], s.preBot[0] = inf, -inf
	for i, b := range bs {
		s.preTop[i+1], s.preBot[i+1] = min(s.preTop[i], b.y0), max(s.preBot[i], b.y1)
	}
	s.sufTop[n], s.sufBot[n] = inf, -inf
	for i := n - 1; i >= 0; i-- {
		s.sufTop[i], s.sufBot[i] = min(s.sufTop[i+1], bs[i].y0), max(s.sufBot[i+1], bs[i].y1)
	}
	return s
}

// verticalCut looks for an acceptable column gutter. On success bs is sorted so
// that bs[:split] lies left of the gutter and bs[split:] right of it.
func (o *orderer) verticalCut(bs []xyBox) (split int, ok bool) {
	slices.SortFunc(bs, byX0)
	segs := []segment{{start: 0, end: 1, x1: bs[0].x1}}
	for i := 1; i < len(bs); i++ {
		last := &segs[len(segs)-1]
		if bs[i].x0 > last.x1 {
			segs = append(segs, segment{start: i, end: i + 1, x1: bs[i].x1})
			continue
		}
		last.end = i + 1
		last.x1 = max(last.x1, bs[i].x1)
	}
	gapWidth := func(k int) float64 { return bs[segs[k+1].start].x0 - segs[k].x1 }
	var cands []int
	for k := 0; k+1 < len(segs); k++ {
		if gapWidth(k) >= minGutter*o.lineH {
			cands = append(cands, k)
		}
	}
	if len(cands) == 0 {
		return 0, false
	}
	slices.SortStableFunc(cands, func(a, b int) int { return cmp.Compare(gapWidth(b), gapWidth(a)) })
	stats := newSideStats(bs)
	for _, k := range cands {
		if o.isGutter(bs, segs[k], segs[k+1], &stats) {
			return segs[k].end, true
		}
	}
	return 0, false
}

func (o *orderer) isGutter(bs []xyBox, leftSeg, rightSeg segment, s *sideStats) bool {
	split := leftSeg.end
	c0 := max(s.preTop[split], s.sufTop[split])
	c1 := min(s.preBot[split], s.sufBot[split])
	if !(c1-c0 >= minCommon*o.lineH) {
		return false
	}
	left, right := bs[:split], bs[split:]
	if coverage(left, c0, c1) < minCoverage || coverage(right, c0, c1) < minCoverage {
		return false
	}
	return !o.looksLikeTable(bs[leftSeg.start:leftSeg.end], bs[rightSeg.start:rightSeg.end], c0, c1)
}

// centresIn returns the sorted vertical centres of bs that lie in [c0, c1].
func centresIn(bs []xyBox, c0, c1 float64) []float64 {
	var cs []float64
	for _, b := range bs {
		if b.cy >= c0 && b.cy <= c1 {
			cs = append(cs, b.cy)
		}
	}
	slices.Sort(cs)
	return cs
}

type xySpan struct{ a, b float64 }

// coverage is the fraction of [c0, c1] covered by the boxes' vertical extents.
func coverage(bs []xyBox, c0, c1 float64) float64 {
	var sp []xySpan
	for _, b := range bs {
		if a, e := max(b.y0, c0), min(b.y1, c1); e > a {
			sp = append(sp, xySpan{a, e})
		}
	}
	slices.SortFunc(sp, func(x, y xySpan) int { return cmp.Compare(x.a, y.a) })
	covered, end := 0.0, c0
	for _, s := range sp {
		if s.b > end {
			covered += s.b - max(s.a, end)
			end = s.b
		}
	}
	return covered / (c1 - c0)
}

// looksLikeTable applies the row-alignment rule to the boxes directly beside a
// gutter.
func (o *orderer) looksLikeTable(left, right []xyBox, c0, c1 float64) bool {
	lc, rc := centresIn(left, c0, c1), centresIn(right, c0, c1)
	if len(lc) == 0 || len(rc) == 0 {
		return false
	}
	tol := xyAlignTol * o.lineH
	return max(alignedFrac(lc, rc, tol), alignedFrac(rc, lc, tol)) >= xyTableAligned
}

// alignedFrac is the fraction of a (sorted) with an element of b (sorted)
// within tol.
func alignedFrac(a, b []float64, tol float64) float64 {
	n := 0
	for _, v := range a {
		if i := sort.SearchFloat64s(b, v-tol); i < len(b) && b[i] <= v+tol {
			n++
		}
	}
	return float64(n) / float64(len(a))
}

// bands sorts bs by core top and returns the end index of each horizontal
// band (maximal run whose cores overlap vertically).
func (o *orderer) bands(bs []xyBox) []int {
	slices.SortFunc(bs, byCoreTop)
	var ends []int
	bottom := bs[0].coreB
	for i := 1; i < len(bs); i++ {
		if bs[i].coreTop > bottom {
			ends = append(ends, i)
		}
		bottom = max(bottom, bs[i].coreB)
	}
	return append(ends, len(bs))
}

// groupBands merges consecutive bands that share an interior free x-range (a
// possible gutter) and returns the end index of each group.
func (o *orderer) groupBands(bs []xyBox, bandEnds []int) []int {
	rx0, rx1 := math.Inf(1), math.Inf(-1)
	for _, b := range bs {
		rx0, rx1 = min(rx0, b.x0), max(rx1, b.x1)
	}
	minW := minGutter * o.lineH
	var groups []int
	var shared, spare []xySpan
	var gx0, gx1 float64
	start := 0
	for i, end := range bandEnds {
		free, bx0, bx1 := freeSpans(bs[start:end], rx0, rx1)
		if i > 0 {
			cand := intersect(spare[:0], shared, free, minW)
			nx0, nx1 := min(gx0, bx0), max(gx1, bx1)
			if hasInterior(cand, nx0, nx1, minW) {
				spare = shared
				shared, gx0, gx1 = cand, nx0, nx1
				start = end
				continue
			}
			groups = append(groups, start)
		}
		shared, gx0, gx1 = free, bx0, bx1
		start = end
	}
	return append(groups, len(bs))
}

// freeSpans sorts band by x0 and returns the parts of [rx0, rx1] no box of the
// band covers, with the band's own x extent.
func freeSpans(band []xyBox, rx0, rx1 float64) (free []xySpan, bx0, bx1 float64) {
	slices.SortFunc(band, byX0)
	cursor := rx0
	bx0, bx1 = band[0].x0, band[0].x1
	for _, b := range band {
		if b.x0 > cursor {
			free = append(free, xySpan{cursor, b.x0})
		}
		cursor = max(cursor, b.x1)
		bx1 = max(bx1, b.x1)
	}
	if rx1 > cursor {
		free = append(free, xySpan{cursor, rx1})
	}
	return free, bx0, bx1
}

// intersect appends to out the intersection of two sorted lists of disjoint
// spans, leaving out pieces narrower than minW: intersecting further only
// narrows them, so they can never become a gutter.
func intersect(out, p, q []xySpan, minW float64) []xySpan {
	for i, j := 0, 0; i < len(p) && j < len(q); {
		if a, b := max(p[i].a, q[j].a), min(p[i].b, q[j].b); b-a >= minW && b > a {
			out = append(out, xySpan{a, b})
		}
		if p[i].b < q[j].b {
			i++
		} else {
			j++
		}
	}
	return out
}

// hasInterior reports whether some xySpan at least minW wide has the group's
// boxes on both sides (gx0 and gx1 are the group's extent).
func hasInterior(sp []xySpan, gx0, gx1, minW float64) bool {
	for _, s := range sp {
		if s.b-s.a >= minW && s.a > gx0 && s.b < gx1 {
			return true
		}
	}
	return false
}

// leaf emits bs as rows: top to bottom, each left to right.
func (o *orderer) leaf(bs []xyBox) {
	slices.SortFunc(bs, byCy)
	for start := 0; start < len(bs); {
		end := start + 1
		for end < len(bs) && bs[end].cy-bs[start].cy < xyRowTol*o.lineH {
			end++
		}
		row := bs[start:end]
		slices.SortFunc(row, byX0)
		for _, b := range row {
			o.out = append(o.out, b.idx)
		}
		start = end
	}
}
