package layout

import (
	"math"
	"slices"
)

// Normalisation thresholds; the package documentation explains each.
const (
	tallRatio    = 1.5  // height/width from which a box is vertical text
	skewAspect   = 2.0  // width/height from which a box's angle is trusted
	maxDeskewDeg = 20.0 // larger page angles are not corrected
	coordLimit   = 1e12 // keeps arithmetic on absurd coordinates finite
)

func sanitize(boxes []Quad, pageW, pageH int) []Quad {
	limX, limY := coordLimit, coordLimit
	lowX, lowY := -coordLimit, -coordLimit
	if pageW > 0 && pageH > 0 {
		limX, limY, lowX, lowY = float64(pageW), float64(pageH), 0, 0
	}
	fix := func(v, lo, hi float64) float64 {
		if math.IsNaN(v) {
			return max(lo, 0)
		}
		return min(max(v, lo), hi)
	}
	quads := make([]Quad, len(boxes))
	for i, q := range boxes {
		for k, p := range q {
			quads[i][k] = [2]float64{fix(p[0], lowX, limX), fix(p[1], lowY, limY)}
		}
	}
	return quads
}

func dist(a, b [2]float64) float64 { return math.Hypot(b[0]-a[0], b[1]-a[1]) }

// edgeSize is the quad's width (along tl→tr, bl→br) and height (along tl→bl,
// tr→br); for rotated rectangles these are the true text dimensions, unlike
// the bounding box.
func edgeSize(q Quad) (w, h float64) {
	return (dist(q[0], q[1]) + dist(q[3], q[2])) / 2, (dist(q[0], q[3]) + dist(q[1], q[2])) / 2
}

func isVerticalPage(quads []Quad) bool {
	tall := 0
	for _, q := range quads {
		if w, h := edgeSize(q); h > 0 && h >= tallRatio*w {
			tall++
		}
	}
	return 2*tall > len(quads)
}

// transpose swaps x and y and relabels the corners so that each quad is again
// (tl, tr, br, bl) in the swapped frame: a vertical text column becomes a
// horizontal line whose "top" is the column's left edge.
func transpose(quads []Quad) {
	sw := func(p [2]float64) [2]float64 { return [2]float64{p[1], p[0]} }
	for i, q := range quads {
		quads[i] = Quad{sw(q[0]), sw(q[3]), sw(q[2]), sw(q[1])}
	}
}

func deskew(quads []Quad) {
	angles := make([]float64, 0, len(quads))
	for _, q := range quads {
		w, h := edgeSize(q)
		if w <= 0 || w < skewAspect*h {
			continue
		}
		dx := q[1][0] - q[0][0] + q[2][0] - q[3][0]
		dy := q[1][1] - q[0][1] + q[2][1] - q[3][1]
		if a := math.Atan2(dy, dx); math.Abs(a) <= math.Pi/4 {
			angles = append(angles, a)
		}
	}
	if len(angles) == 0 {
		return
	}
	a := median(angles)
	if a == 0 || math.Abs(a) > maxDeskewDeg*math.Pi/180 {
		return
	}
	sin, cos := math.Sincos(-a)
	for i := range quads {
		for k, p := range quads[i] {
			quads[i][k] = [2]float64{p[0]*cos - p[1]*sin, p[0]*sin + p[1]*cos}
		}
	}
}

// median sorts v in place.
func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
