package layout

import "container/heap"

// rect is an axis-aligned rectangle, x0 <= x1 and y0 <= y1.
type rect struct{ x0, y0, x1, y1 float64 }

func (r rect) w() float64  { return r.x1 - r.x0 }
func (r rect) h() float64  { return r.y1 - r.y0 }
func (r rect) cx() float64 { return (r.x0 + r.x1) / 2 }
func (r rect) cy() float64 { return (r.y0 + r.y1) / 2 }

// overlaps reports whether r and o share an area (touching is not overlap).
func (r rect) overlaps(o rect) bool {
	return r.x0 < o.x1 && o.x0 < r.x1 && r.y0 < o.y1 && o.y0 < r.y1
}

func (r rect) union(o rect) rect {
	return rect{min(r.x0, o.x0), min(r.y0, o.y0), max(r.x1, o.x1), max(r.y1, o.y1)}
}

// xOverlap and yOverlap are the lengths of the shared x and y ranges
// (negative: the gap between them).
func (r rect) xOverlap(o rect) float64 { return min(r.x1, o.x1) - max(r.x0, o.x0) }
func (r rect) yOverlap(o rect) float64 { return min(r.y1, o.y1) - max(r.y0, o.y0) }

// whitespace finds maximal empty rectangles among obstacles inside a bound
// with Breuel's branch-and-bound ("Two Geometric Algorithms for Layout
// Analysis", 2002): a rectangle that still contains obstacles is split
// around one of them (the one nearest its centre) into the four parts left,
// right, above and below it; the queue always expands the part of highest
// quality, so the first part without obstacles is the best empty rectangle.
// A found rectangle joins the obstacles, so the next search finds the next
// best one.
type whitespace struct {
	minW    float64 // narrower rectangles have no quality
	budget  int     // nodes expanded over all searches, bounding the time
	visited int
}

// quality orders candidate gutters: height first, width as a tie-break so a
// gutter is found whole rather than as a sliver. Both shrink in every
// sub-rectangle, so the quality is monotone, as branch-and-bound requires.
func (ws *whitespace) quality(r rect) float64 {
	if r.w() < ws.minW || r.h() <= 0 {
		return -1
	}
	return r.h() + 0.01*r.w()
}

type wsNode struct {
	r    rect
	q    float64
	obst []rect
}

type wsQueue []wsNode

func (q wsQueue) Len() int           { return len(q) }
func (q wsQueue) Less(i, j int) bool { return q[i].q > q[j].q }
func (q wsQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *wsQueue) Push(x any)        { *q = append(*q, x.(wsNode)) }
func (q *wsQueue) Pop() any {
	old := *q
	n := old[len(old)-1]
	*q = old[:len(old)-1]
	return n
}

// best returns the empty rectangle of highest quality inside bound, or false
// when none has a positive quality or the budget is spent.
func (ws *whitespace) best(bound rect, obstacles []rect) (rect, bool) {
	q := &wsQueue{{r: bound, q: ws.quality(bound), obst: inside(bound, obstacles)}}
	for q.Len() > 0 {
		n := heap.Pop(q).(wsNode)
		if n.q < 0 {
			return rect{}, false
		}
		if len(n.obst) == 0 {
			return n.r, true
		}
		if ws.visited++; ws.visited > ws.budget {
			return rect{}, false
		}
		p := n.obst[0]
		c := n.r
		bestD := -1.0
		for _, o := range n.obst {
			dx, dy := o.cx()-c.cx(), o.cy()-c.cy()
			if d := dx*dx + dy*dy; bestD < 0 || d < bestD {
				p, bestD = o, d
			}
		}
		for _, sub := range [4]rect{
			{p.x1, c.y0, c.x1, c.y1}, // right of the pivot
			{c.x0, c.y0, p.x0, c.y1}, // left
			{c.x0, p.y1, c.x1, c.y1}, // below
			{c.x0, c.y0, c.x1, p.y0}, // above
		} {
			if sq := ws.quality(sub); sq >= 0 {
				heap.Push(q, wsNode{r: sub, q: sq, obst: inside(sub, n.obst)})
			}
		}
	}
	return rect{}, false
}

func inside(r rect, obstacles []rect) []rect {
	var out []rect
	for _, o := range obstacles {
		if r.overlaps(o) {
			out = append(out, o)
		}
	}
	return out
}
