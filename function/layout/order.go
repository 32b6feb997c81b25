package layout

import "slices"

// maxGraphRegions bounds the partial order's cubic cost; a page with more
// regions (scattered boxes, not text) reads top to bottom instead.
const maxGraphRegions = 400

// order returns the regions in reading order: headers, then the body in
// the order of Breuel's partial order ("High Performance Document Layout
// Analysis", 2003), then footers and page numbers. Floats follow the
// later of the columns they sit between.
func (a *analysis) order() []*region {
	var head, body, floats, foot []*region
	for _, r := range a.regions {
		switch {
		case r.typ == Header:
			head = append(head, r)
		case r.typ == Footer || r.typ == PageNumber:
			foot = append(foot, r)
		case r.float:
			floats = append(floats, r)
		default:
			body = append(body, r)
		}
	}
	byX := func(p, q *region) int { return compare3(p.x0, q.x0, p.y0, q.y0, p.lines[0], q.lines[0]) }
	slices.SortFunc(head, byX)
	slices.SortFunc(foot, byX)
	sorted := a.partialOrder(body)
	for _, f := range floats {
		at := 0
		for k, r := range sorted {
			if r.y0 < f.y0 && r.y1 > f.y1 && (r.x1 <= f.x0+a.lineH || r.x0 >= f.x1-a.lineH) {
				at = k + 1
			}
		}
		sorted = slices.Insert(sorted, at, f)
	}
	return slices.Concat(head, sorted, foot)
}

// partialOrder sorts regions topologically under Breuel's two rules:
//  1. a precedes b when their x-ranges overlap and a starts above b;
//  2. a precedes b when a lies entirely left of b and no region between
//     them vertically overlaps both horizontally (a headline across both
//     columns separates them: then rule 1 orders them through it).
//
// Among the regions free to come next, the topmost, then leftmost, wins;
// a cycle (possible between irregular regions) is broken the same way.
func (a *analysis) partialOrder(rs []*region) []*region {
	n := len(rs)
	slices.SortFunc(rs, func(p, q *region) int { return compare3(p.y0, q.y0, p.x0, q.x0, p.lines[0], q.lines[0]) })
	if n > maxGraphRegions {
		return rs
	}
	tol := 0.5 * a.lineH
	before := make([][]bool, n)
	for i := range before {
		before[i] = make([]bool, n)
	}
	indeg := make([]int, n)
	for i, p := range rs {
		for j, q := range rs {
			if i == j {
				continue
			}
			var edge bool
			if p.xOverlap(q.rect) > tol {
				edge = p.y0 < q.y0 || p.y0 == q.y0 && i < j
			} else if p.x1 <= q.x0+tol {
				edge = !a.separates(rs, i, j)
			}
			if edge {
				before[i][j] = true
				indeg[j]++
			}
		}
	}
	out := make([]*region, 0, n)
	done := make([]bool, n)
	for len(out) < n {
		next := -1
		for i := range rs {
			if !done[i] && indeg[i] == 0 {
				next = i
				break
			}
		}
		if next < 0 { // a cycle: take the first remaining region
			for i := range rs {
				if !done[i] {
					next = i
					break
				}
			}
		}
		done[next] = true
		out = append(out, rs[next])
		for j := range rs {
			if before[next][j] {
				indeg[j]--
			}
		}
	}
	return out
}

// separates reports whether some region lies vertically between rs[i] and
// rs[j] and overlaps both horizontally.
func (a *analysis) separates(rs []*region, i, j int) bool {
	p, q := rs[i], rs[j]
	for k, c := range rs {
		if k == i || k == j || c.xOverlap(p.rect) <= 0 || c.xOverlap(q.rect) <= 0 {
			continue
		}
		if cy := c.cy(); p.y1 <= cy && cy <= q.y0 || q.y1 <= cy && cy <= p.y0 {
			return true
		}
	}
	return false
}
