package dbnet

import (
	"cmp"
	"math"
	"slices"
)

// Fixed-point precision of OpenCV's polygon filler (drawing.cpp XY_SHIFT).
const (
	xyShift = 16
	xyOne   = 1 << xyShift
)

// polyEdge is OpenCV's PolyEdge without the active-list link.
type polyEdge struct {
	y0, y1 int64
	x, dx  int64
}

// filler rasterises polygons exactly like cv2.fillPoly(mask, [pts], 1) with
// lineType LINE_8 and shift 0 (OpenCV 4.x drawing.cpp: CollectPolyEdges,
// which also draws every edge as an 8-connected Bresenham line, then
// FillEdgeCollection's scan conversion that fills from ceil(left x) to
// floor(right x) on rows y0 <= y < y1 of each edge).
type filler struct {
	edges  []polyEdge
	active []polyEdge
	xs     []int64
}

func (f *filler) fillPoly(mask []uint8, w, h int, v []ipt) {
	f.edges = f.edges[:0]
	n := len(v)
	if n == 0 {
		return
	}
	pt0 := v[n-1]
	for _, pt1 := range v {
		x0, y0, x1, y1 := pt0.x, pt0.y, pt1.x, pt1.y
		line8(mask, w, h, x0, y0, x1, y1)
		// Edges crossing the border start from the clipped end points.
		c0y, c1y := y0, y1
		t0x, t0y, t1x, t1y := x0, y0, x1, y1
		if outside(t0x, t0y, w, h) || outside(t1x, t1y, w, h) {
			clipLine(int64(w), int64(h), &t0x, &t0y, &t1x, &t1y)
			if t0y != t1y {
				c0y, c1y = t0y, t1y
			}
		}
		c0x, c1x := t0x<<xyShift, t1x<<xyShift
		if y0 != y1 {
			e := polyEdge{dx: (c1x - c0x) / (c1y - c0y)}
			if y0 < y1 {
				e.y0, e.y1 = y0, y1
				e.x = c0x + (y0-c0y)*e.dx
			} else {
				e.y0, e.y1 = y1, y0
				e.x = c1x + (y1-c1y)*e.dx
			}
			f.edges = append(f.edges, e)
		}
		pt0 = pt1
	}
	f.fillEdges(mask, w, h)
}

func outside(x, y int64, w, h int) bool {
	return uint64(x) >= uint64(w) || uint64(y) >= uint64(h)
}

// fillEdges is FillEdgeCollection. OpenCV walks an active edge list kept
// sorted by x and fills between neighbours in pairs; pairing the sorted x
// values of the edges active on a row (y0 <= y < y1) is the same.
func (f *filler) fillEdges(mask []uint8, w, h int) {
	if len(f.edges) < 2 {
		return
	}
	yMin, yMax := int64(math.MaxInt64), int64(math.MinInt64)
	xMin, xMax := int64(math.MaxInt64), int64(math.MinInt64)
	for _, e := range f.edges {
		x1 := e.x + (e.y1-e.y0)*e.dx
		yMin = min(yMin, e.y0)
		yMax = max(yMax, e.y1)
		xMin = min(xMin, e.x, x1)
		xMax = max(xMax, e.x, x1)
	}
	if yMax < 0 || yMin >= int64(h) || xMax < 0 || xMin >= int64(w)<<xyShift {
		return
	}
	yMax = min(yMax, int64(h))
	slices.SortFunc(f.edges, func(a, b polyEdge) int { return cmp.Compare(a.y0, b.y0) })
	f.active = f.active[:0]
	next := 0
	for y := max(yMin, 0); y < yMax; y++ {
		for ; next < len(f.edges) && f.edges[next].y0 <= y; next++ {
			if f.edges[next].y1 > y {
				f.active = append(f.active, f.edges[next])
			}
		}
		f.xs = f.xs[:0]
		k := 0
		for _, e := range f.active {
			if e.y1 > y {
				f.active[k] = e
				k++
				f.xs = append(f.xs, e.x+(y-e.y0)*e.dx)
			}
		}
		f.active = f.active[:k]
		slices.Sort(f.xs)
		row := mask[int(y)*w : int(y)*w+w]
		for i := 0; i+1 < len(f.xs); i += 2 {
			x1 := (f.xs[i] + xyOne - 1) >> xyShift
			x2 := f.xs[i+1] >> xyShift
			if x1 < int64(w) && x2 >= 0 {
				x1 = max(x1, 0)
				x2 = min(x2, int64(w)-1)
				for x := x1; x <= x2; x++ {
					row[x] = 1
				}
			}
		}
	}
}

// clipLine is cv::clipLine (int64 version): Cohen-Sutherland clipping of the
// segment to the w×h image; false when nothing of it is inside.
func clipLine(w, h int64, x1, y1, x2, y2 *int64) bool {
	if w <= 0 || h <= 0 {
		return false
	}
	right, bottom := w-1, h-1
	code := func(x, y int64) int {
		c := 0
		if x < 0 {
			c |= 1
		}
		if x > right {
			c |= 2
		}
		if y < 0 {
			c |= 4
		}
		if y > bottom {
			c |= 8
		}
		return c
	}
	c1, c2 := code(*x1, *y1), code(*x2, *y2)
	if c1&c2 == 0 && c1|c2 != 0 {
		if c1&12 != 0 {
			a := bottom
			if c1 < 8 {
				a = 0
			}
			*x1 += (a - *y1) * (*x2 - *x1) / (*y2 - *y1)
			*y1 = a
			c1 = code(*x1, 0)
		}
		if c2&12 != 0 {
			a := bottom
			if c2 < 8 {
				a = 0
			}
			*x2 += (a - *y2) * (*x2 - *x1) / (*y2 - *y1)
			*y2 = a
			c2 = code(*x2, 0)
		}
		if c1&c2 == 0 && c1|c2 != 0 {
			if c1 != 0 {
				a := right
				if c1 == 1 {
					a = 0
				}
				*y1 += (a - *x1) * (*y2 - *y1) / (*x2 - *x1)
				*x1 = a
				c1 = 0
			}
			if c2 != 0 {
				a := right
				if c2 == 1 {
					a = 0
				}
				*y2 += (a - *x2) * (*y2 - *y1) / (*x2 - *x1)
				*x2 = a
				c2 = 0
			}
		}
	}
	return c1|c2 == 0
}

// line8 is cv::Line with 8-connectivity: LineIterator clips the segment to
// the image, orders it left to right and steps Bresenham along the major
// axis, moving along the minor axis while the error term is negative.
func line8(mask []uint8, w, h int, x0, y0, x1, y1 int64) {
	if outside(x0, y0, w, h) || outside(x1, y1, w, h) {
		if !clipLine(int64(w), int64(h), &x0, &y0, &x1, &y1) {
			return
		}
	}
	dx, dy := x1-x0, y1-y0
	if dx < 0 {
		dx, dy = -dx, -dy
		x0, y0 = x1, y1
	}
	sx, sy := int64(1), int64(1)
	if dy < 0 {
		dy = -dy
		sy = -1
	}
	vert := dy > dx
	if vert {
		dx, dy = dy, dx
	}
	err := dx - 2*dy
	x, y := x0, y0
	for i := int64(0); i <= dx; i++ {
		mask[int(y)*w+int(x)] = 1
		minor := err < 0
		err -= 2 * dy
		if minor {
			err += 2 * dx
		}
		if vert {
			y += sy
			if minor {
				x += sx
			}
		} else {
			x += sx
			if minor {
				y += sy
			}
		}
	}
}
