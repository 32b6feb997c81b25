package dbnet

import (
	"cmp"
	"math"
	"slices"
)

// hpt is a point of the geometry routines. Coordinates are float64 but hold
// integers or float32 values, as they do in OpenCV.
type hpt struct{ x, y float64 }

// rotRect is cv::RotatedRect: OpenCV computes it in float32, and the exact
// float32 values decide later truncations, so they are kept.
type rotRect struct {
	cx, cy, w, h, angle float32
}

// geom holds the scratch of the geometry routines so the pipeline does not
// allocate per contour.
type geom struct {
	ptr, stack      []int32
	hullIdx, tmpIdx []int32
	hull            []hpt
	vect            [][2]float32
	invLen          []float32
}

// minAreaRectOrdered is cv::minAreaRect applied to pts in the given order.
// The order matters because OpenCV's convexHull picks the hull's first vertex
// from it and rotating calipers breaks ties between equal rectangles by the
// hull order, so the hull is OpenCV's own (cvConvexHull).
func (g *geom) minAreaRectOrdered(pts []hpt) rotRect {
	g.hullIdx = g.cvConvexHull(pts)
	g.hull = g.hull[:0]
	for _, i := range g.hullIdx {
		g.hull = append(g.hull, pts[i])
	}
	if len(g.hull) < 3 {
		return degenerateRect(g.hull)
	}
	return g.calipersRect(g.hull)
}

// degenerateRect handles hulls of fewer than three points as cv::minAreaRect
// does: a segment gets width = its length and height 0.
func degenerateRect(h []hpt) rotRect {
	switch len(h) {
	case 1:
		return rotRect{cx: float32(h[0].x), cy: float32(h[0].y)}
	case 2:
		x0, y0, x1, y1 := float32(h[0].x), float32(h[0].y), float32(h[1].x), float32(h[1].y)
		dx, dy := float64(x1-x0), float64(y1-y0)
		r := rotRect{
			cx: (x0 + x1) * 0.5,
			cy: (y0 + y1) * 0.5,
			w:  float32(math.Sqrt(dx*dx + dy*dy)),
		}
		r.angle = degrees(float32(math.Atan2(dy, dx)))
		return r
	}
	return rotRect{}
}

func samePoint(a, b hpt) bool { return a.x == b.x && a.y == b.y }

func sign(v float64) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// cvConvexHull is cv::convexHull(points, hull, clockwise=false) for integer
// points, returning indices into pts: Sklansky's scan of the four quarter
// chains over the points sorted by (x, y, input index), then the cyclic
// shift that makes the indices ascend or descend where possible. The result
// aliases g's scratch.
func (g *geom) cvConvexHull(pts []hpt) []int32 {
	total := len(pts)
	g.hullIdx = g.hullIdx[:0]
	if total == 0 {
		return g.hullIdx
	}
	ptr := grow(g.ptr, total)
	g.ptr = ptr
	for i := range ptr {
		ptr[i] = int32(i)
	}
	slices.SortFunc(ptr, func(a, b int32) int {
		pa, pb := pts[a], pts[b]
		switch {
		case pa.x != pb.x:
			return cmp.Compare(pa.x, pb.x)
		case pa.y != pb.y:
			return cmp.Compare(pa.y, pb.y)
		}
		return cmp.Compare(a, b)
	})
	at := func(i int32) hpt { return pts[ptr[i]] }
	minY, maxY := 0, 0
	for i := 1; i < total; i++ {
		y := at(int32(i)).y
		if at(int32(minY)).y > y {
			minY = i
		}
		if at(int32(maxY)).y < y {
			maxY = i
		}
	}
	out := g.hullIdx
	if samePoint(at(0), at(int32(total-1))) {
		return append(out, 0)
	}
	stack := grow(g.stack, total+2)
	g.stack = stack
	// Upper half; with clockwise=false the right chain comes first.
	tlCount := g.sklansky(pts, 0, maxY, stack, -1, 1)
	trStack := stack[tlCount:]
	trCount := g.sklansky(pts, total-1, maxY, trStack, -1, -1)
	tlStack := stack
	tlStack, trStack = trStack, tlStack
	tlCount, trCount = trCount, tlCount
	for i := 0; i < tlCount-1; i++ {
		out = append(out, ptr[tlStack[i]])
	}
	for i := trCount - 1; i > 0; i-- {
		out = append(out, ptr[trStack[i]])
	}
	stopIdx := int32(-1)
	if trCount > 2 {
		stopIdx = trStack[1]
	} else if tlCount > 2 {
		stopIdx = tlStack[tlCount-2]
	}
	// Lower half.
	blStack := stack
	blCount := g.sklansky(pts, 0, minY, blStack, 1, -1)
	brStack := stack[blCount:]
	brCount := g.sklansky(pts, total-1, minY, brStack, 1, 1)
	if stopIdx >= 0 {
		checkIdx := int32(-1)
		if blCount > 2 {
			checkIdx = blStack[1]
		} else if blCount+brCount > 2 {
			checkIdx = brStack[2-blCount]
		}
		if checkIdx == stopIdx || (checkIdx >= 0 && samePoint(at(checkIdx), at(stopIdx))) {
			// All points on one line: the lower half mirrors the upper.
			blCount = min(blCount, 2)
			brCount = min(brCount, 2)
		}
	}
	for i := 0; i < blCount-1; i++ {
		out = append(out, ptr[blStack[i]])
	}
	for i := brCount - 1; i > 0; i-- {
		out = append(out, ptr[brStack[i]])
	}
	g.hullIdx = out
	if start := cvHullShift(out); start > 0 {
		g.tmpIdx = append(g.tmpIdx[:0], out[start:]...)
		g.tmpIdx = append(g.tmpIdx, out[:start]...)
		copy(out, g.tmpIdx)
	}
	return out
}

// sklansky is OpenCV's Sklansky_ over sorted positions start..end (either
// direction): it leaves the chain's positions in stack and returns their
// number. This is the version up to OpenCV 4.12; later releases skip
// repeated points, which can change which copy of a point a self-touching
// contour contributes.
func (g *geom) sklansky(pts []hpt, start, end int, stack []int32, nsign, sign2 int) int {
	ptr := g.ptr
	at := func(i int) hpt { return pts[ptr[i]] }
	incr := 1
	if end < start {
		incr = -1
	}
	pprev, pcur, pnext := start, start+incr, start+2*incr
	if start == end || samePoint(at(start), at(end)) {
		stack[0] = int32(start)
		return 1
	}
	stack[0], stack[1], stack[2] = int32(pprev), int32(pcur), int32(pnext)
	stacksize := 3
	end += incr
	for pnext != end {
		cur, next, prv := at(pcur), at(pnext), at(pprev)
		by := next.y - cur.y
		if sign(by) == nsign {
			pnext += incr
			stack[stacksize-1] = int32(pnext)
			continue
		}
		ax, ay := cur.x-prv.x, cur.y-prv.y
		bx := next.x - cur.x
		convexity := ay*bx - ax*by
		if sign(convexity) == sign2 && (ax != 0 || ay != 0) {
			pprev = pcur
			pcur = pnext
			pnext += incr
			stack[stacksize] = int32(pnext)
			stacksize++
		} else if pprev == start {
			pcur = pnext
			stack[1] = int32(pcur)
			pnext += incr
			stack[2] = int32(pnext)
		} else {
			stack[stacksize-2] = int32(pnext)
			pcur = pprev
			pprev = int(stack[stacksize-4])
			stacksize--
		}
	}
	return stacksize - 1
}

// cvHullShift reproduces the end of cv::convexHull: if the input indices of
// the hull vertices form a cyclic ascending or descending sequence, the
// output starts at the smallest (ascending) or largest (descending) index.
// It returns the position in hull that becomes the first vertex.
func cvHullShift(hull []int32) int {
	nout := len(hull)
	if nout < 3 {
		return 0
	}
	minIdx, maxIdx, lt := 0, 0, 0
	for i := 1; i < nout; i++ {
		idx := hull[i]
		if hull[i-1] < idx {
			lt++
		}
		if lt > 1 && lt <= i-2 {
			break
		}
		if idx < hull[minIdx] {
			minIdx = i
		}
		if idx > hull[maxIdx] {
			maxIdx = i
		}
	}
	mmdist := maxIdx - minIdx
	if mmdist < 0 {
		mmdist = -mmdist
	}
	if (mmdist != 1 && mmdist != nout-1) || (lt > 1 && lt < nout-2) {
		return 0
	}
	ascending := (maxIdx+1)%nout == minIdx
	i0 := maxIdx
	if ascending {
		i0 = minIdx
	}
	if i0 == 0 {
		return 0
	}
	j := i0
	for i := 0; i < nout; i++ {
		next := j + 1
		if next == nout {
			next = 0
		}
		if i < nout-1 && ascending != (hull[j] < hull[next]) {
			return 0
		}
		j = next
	}
	return i0
}

func degrees(rad float32) float32 {
	// OpenCV: (float)(angle*180/CV_PI) with a float angle: the product is a
	// float32 multiply, the division a double one.
	return float32(float64(rad*180) / math.Pi)
}

// calipersRect runs OpenCV's rotatingCalipers (CALIPERS_MINAREARECT, the
// 4.5.1+ variant that picks the caliper by vector orientation) over the
// convex polygon hull in float32 like OpenCV, and converts the result as
// cv::minAreaRect does.
func (g *geom) calipersRect(hull []hpt) rotRect {
	n := len(hull)
	pt := func(i int) (float32, float32) {
		return float32(hull[i].x), float32(hull[i].y)
	}
	g.vect = slices.Grow(g.vect[:0], n)[:n]
	g.invLen = slices.Grow(g.invLen[:0], n)[:n]
	vect, invLen := g.vect, g.invLen

	left, bottom, right, top := 0, 0, 0, 0
	p0x, p0y := pt(0)
	leftX, rightX, topY, bottomY := p0x, p0x, p0y, p0y
	for i := 0; i < n; i++ {
		if p0x < leftX {
			leftX, left = p0x, i
		}
		if p0x > rightX {
			rightX, right = p0x, i
		}
		if p0y > topY {
			topY, top = p0y, i
		}
		if p0y < bottomY {
			bottomY, bottom = p0y, i
		}
		px, py := pt((i + 1) % n)
		dx, dy := float64(px-p0x), float64(py-p0y)
		vect[i] = [2]float32{float32(dx), float32(dy)}
		invLen[i] = float32(1 / math.Sqrt(dx*dx+dy*dy))
		p0x, p0y = px, py
	}

	var orientation float32
	ax, ay := float64(vect[n-1][0]), float64(vect[n-1][1])
	for i := 0; i < n; i++ {
		bx, by := float64(vect[i][0]), float64(vect[i][1])
		if c := ax*by - ay*bx; c != 0 {
			if c > 0 {
				orientation = 1
			} else {
				orientation = -1
			}
			break
		}
		ax, ay = bx, by
	}
	if orientation == 0 {
		return rotRect{}
	}
	baseA, baseB := orientation, float32(0)
	seq := [4]int{bottom, right, top, left}

	minArea := float32(math.MaxFloat32)
	var bufLeft, bufBottom int
	var bufA, bufB, bufW, bufH float32
	for k := 0; k < n; k++ {
		v0, v1, v2, v3 := vect[seq[0]], vect[seq[1]], vect[seq[2]], vect[seq[3]]
		rot := [4][2]float32{
			v0,
			{v1[1], -v1[0]},  // rotate90CW
			{-v2[0], -v2[1]}, // rotate180
			{-v3[1], v3[0]},  // rotate90CCW
		}
		main := 0
		for i := 1; i < 4; i++ {
			if firstVecIsRight(rot[i], rot[main]) {
				main = i
			}
		}
		pi := seq[main]
		leadX := float32(vect[pi][0] * invLen[pi])
		leadY := float32(vect[pi][1] * invLen[pi])
		switch main {
		case 0:
			baseA, baseB = leadX, leadY
		case 1:
			baseA, baseB = leadY, -leadX
		case 2:
			baseA, baseB = -leadX, -leadY
		case 3:
			baseA, baseB = -leadY, leadX
		}
		seq[main]++
		if seq[main] == n {
			seq[main] = 0
		}

		x1, y1 := pt(seq[1])
		x3, y3 := pt(seq[3])
		dx, dy := x1-x3, y1-y3
		width := float32(dx*baseA) + float32(dy*baseB)
		x2, y2 := pt(seq[2])
		x0, y0 := pt(seq[0])
		dx, dy = x2-x0, y2-y0
		height := float32(-dx*baseB) + float32(dy*baseA)
		area := float32(width * height)
		if area <= minArea {
			minArea = area
			bufLeft, bufA, bufW, bufB, bufH, bufBottom = seq[3], baseA, width, baseB, height, seq[0]
		}
	}

	a1, b1 := bufA, bufB
	a2, b2 := -bufB, bufA
	lx, ly := pt(bufLeft)
	bx, by := pt(bufBottom)
	c1 := float32(a1*lx) + float32(ly*b1)
	c2 := float32(a2*bx) + float32(by*b2)
	idet := 1 / (float32(a1*b2) - float32(a2*b1))
	px := float32((float32(c1*b2) - float32(c2*b1)) * idet)
	py := float32((float32(a1*c2) - float32(a2*c1)) * idet)
	o1x, o1y := float32(a1*bufW), float32(b1*bufW)
	o2x, o2y := float32(a2*bufH), float32(b2*bufH)

	return rotRect{
		cx:    px + float32((o1x+o2x)*0.5),
		cy:    py + float32((o1y+o2y)*0.5),
		w:     float32(math.Sqrt(float64(o1x)*float64(o1x) + float64(o1y)*float64(o1y))),
		h:     float32(math.Sqrt(float64(o2x)*float64(o2x) + float64(o2y)*float64(o2y))),
		angle: degrees(float32(math.Atan2(float64(o1y), float64(o1x)))),
	}
}

// firstVecIsRight reports whether v1 lies clockwise of v2 (OpenCV helper).
func firstVecIsRight(v1, v2 [2]float32) bool {
	tx, ty := v1[1], -v1[0]
	return float32(tx*v2[0])+float32(ty*v2[1]) < 0
}

// MinAreaRect is cv2.minAreaRect: the minimum-area enclosing rectangle of
// pts, with OpenCV's (4.5.1+) conventions for which side is the width and for
// the angle (degrees), computed in float32 as OpenCV does. The input order
// matters only where OpenCV's does: it breaks ties between equal rectangles.
func MinAreaRect(pts [][2]float64) (center [2]float64, size [2]float64, angle float64) {
	in := make([]hpt, len(pts))
	for i, p := range pts {
		in[i] = hpt{x: p[0], y: p[1]}
	}
	var g geom
	r := g.minAreaRectOrdered(in)
	return [2]float64{float64(r.cx), float64(r.cy)}, [2]float64{float64(r.w), float64(r.h)}, float64(r.angle)
}

// boxPoints is cv::RotatedRect::points in float32.
func (r rotRect) boxPoints() [4][2]float32 {
	rad := float64(r.angle) * math.Pi / 180
	b := float32(math.Cos(rad)) * 0.5
	a := float32(math.Sin(rad)) * 0.5
	var p [4][2]float32
	p[0][0] = r.cx - float32(a*r.h) - float32(b*r.w)
	p[0][1] = r.cy + float32(b*r.h) - float32(a*r.w)
	p[1][0] = r.cx + float32(a*r.h) - float32(b*r.w)
	p[1][1] = r.cy - float32(b*r.h) - float32(a*r.w)
	p[2][0] = float32(2*r.cx) - p[0][0]
	p[2][1] = float32(2*r.cy) - p[0][1]
	p[3][0] = float32(2*r.cx) - p[1][0]
	p[3][1] = float32(2*r.cy) - p[1][1]
	return p
}

// BoxPoints is cv2.boxPoints: the four corners of the rotated rectangle
// (values are float32, as OpenCV returns them).
func BoxPoints(center, size [2]float64, angle float64) [4][2]float64 {
	r := rotRect{
		cx: float32(center[0]), cy: float32(center[1]),
		w: float32(size[0]), h: float32(size[1]),
		angle: float32(angle),
	}
	return widen(r.boxPoints())
}

func widen(p [4][2]float32) [4][2]float64 {
	var out [4][2]float64
	for i := range p {
		out[i] = [2]float64{float64(p[i][0]), float64(p[i][1])}
	}
	return out
}

// miniBox is DBPostProcess.get_mini_boxes after cv2.minAreaRect: the corners
// sorted (stably) by x, then top-left, top-right, bottom-right, bottom-left by
// comparing y within the left and the right pair. sside is the short side.
func (r rotRect) miniBox() (box [4][2]float32, sside float32) {
	p := r.boxPoints()
	for i := 1; i < 4; i++ {
		for j := i; j > 0 && p[j-1][0] > p[j][0]; j-- {
			p[j-1], p[j] = p[j], p[j-1]
		}
	}
	i1, i4 := 1, 0
	if p[1][1] > p[0][1] {
		i1, i4 = 0, 1
	}
	i2, i3 := 3, 2
	if p[3][1] > p[2][1] {
		i2, i3 = 2, 3
	}
	return [4][2]float32{p[i1], p[i2], p[i3], p[i4]}, min(r.w, r.h)
}

// MiniBox is get_mini_boxes: cv2.minAreaRect of pts, its corners ordered
// top-left, top-right, bottom-right, bottom-left, and the short side length.
func MiniBox(pts [][2]float64) (box [4][2]float64, sside float64) {
	in := make([]hpt, len(pts))
	for i, p := range pts {
		in[i] = hpt{x: p[0], y: p[1]}
	}
	var g geom
	b, s := g.minAreaRectOrdered(in).miniBox()
	return widen(b), float64(s)
}
