package dbnet

import (
	"math"
	"slices"
)

// Constants of Clipper 6.4.2 (the version pyclipper wraps).
const (
	clipperPi          = 3.141592653589793238
	clipperTwoPi       = clipperPi * 2
	clipperArcTol      = 0.25 // pyclipper's PyclipperOffset default
	clipperNearZeroTol = 1.0e-20
)

type ipt struct{ x, y int64 }

// clipperRound is Clipper's Round: half away from zero.
func clipperRound(v float64) int64 {
	if v < 0 {
		return int64(v - 0.5)
	}
	return int64(v + 0.5)
}

// polyAreaLength returns shapely's Polygon(box).area and .length: GEOS'
// shoelace variant (relative to the first x) and the sum of edge lengths.
func polyAreaLength(box [4][2]float64) (area, length float64) {
	ring := [5][2]float64{box[0], box[1], box[2], box[3], box[0]}
	x0 := ring[0][0]
	p1y := ring[0][1]
	p2x, p2y := ring[1][0]-x0, ring[1][1]
	sum := 0.0
	for i := 1; i < len(ring)-1; i++ {
		p0y := p1y
		p1x := p2x
		p1y = p2y
		p2x, p2y = ring[i+1][0]-x0, ring[i+1][1]
		sum += p1x * (p0y - p2y)
	}
	for i := 0; i < 4; i++ {
		dx := ring[i+1][0] - ring[i][0]
		dy := ring[i+1][1] - ring[i][1]
		length += math.Sqrt(dx*dx + dy*dy)
	}
	return math.Abs(sum / 2), length
}

// offset is pyclipper's PyclipperOffset with MiterLimit 2 and ArcTolerance
// 0.25: AddPath(path, JT_ROUND, ET_CLOSEDPOLYGON) then Execute(delta), i.e.
// Clipper 6.4.2 ClipperOffset::DoOffset for a single closed polygon followed
// by the clean-up of Clipper's final union. For the convex polygons offset
// here that union changes nothing else. A path with fewer than three
// distinct points gives an empty result, as in Clipper. The result aliases
// o's scratch and is valid until the next call.
func (o *offsetter) offset(path []ipt, delta float64) []ipt {
	o.dst = o.dst[:0]
	o.src = o.src[:0]
	highI := len(path) - 1
	if highI < 0 {
		return o.dst
	}
	for highI > 0 && path[0] == path[highI] {
		highI--
	}
	o.src = append(o.src, path[0])
	j := 0
	for i := 1; i <= highI; i++ {
		if o.src[j] != path[i] {
			j++
			o.src = append(o.src, path[i])
		}
	}
	if j < 2 {
		return o.dst
	}
	src := o.src
	// FixOrientations: the only path is also the lowest one.
	if clipperArea(src) < 0 {
		for a, b := 0, len(src)-1; a < b; a, b = a+1, b-1 {
			src[a], src[b] = src[b], src[a]
		}
	}
	if delta > -clipperNearZeroTol && delta < clipperNearZeroTol {
		o.dst = append(o.dst, src...)
		return o.dst
	}
	absDelta := math.Abs(delta)
	y := clipperArcTol
	if clipperArcTol > absDelta*clipperArcTol {
		y = absDelta * clipperArcTol
	}
	steps := clipperPi / math.Acos(1-y/absDelta)
	if steps > absDelta*clipperPi {
		steps = absDelta * clipperPi
	}
	o.delta = delta
	o.sin = math.Sin(clipperTwoPi / steps)
	o.cos = math.Cos(clipperTwoPi / steps)
	o.stepsPerRad = steps / clipperTwoPi
	if delta < 0 {
		o.sin = -o.sin
	}
	n := len(src)
	o.normals = o.normals[:0]
	for i := 0; i < n-1; i++ {
		o.normals = append(o.normals, unitNormal(src[i], src[i+1]))
	}
	o.normals = append(o.normals, unitNormal(src[n-1], src[0]))
	k := n - 1
	for i := 0; i < n; i++ {
		o.offsetPoint(i, &k)
	}
	o.dst = cleanPolygon(o.dst)
	return o.dst
}

// cleanPolygon does what Clipper's union leaves of one simple polygon: it
// drops repeated points and the middle point of collinear triples
// (FixupOutPolygon without PreserveCollinear) and starts the ring right after
// its topmost-rightmost vertex, where pyclipper's output starts. The start
// decides ties in the minimum-area rectangle taken next.
func cleanPolygon(p []ipt) []ipt {
	for changed := true; changed && len(p) >= 3; {
		changed = false
		for i := 0; i < len(p) && len(p) >= 3; {
			a, b, c := p[(i+len(p)-1)%len(p)], p[i], p[(i+1)%len(p)]
			if b == a || b == c || (a.y-b.y)*(b.x-c.x) == (a.x-b.x)*(b.y-c.y) {
				p = append(p[:i], p[i+1:]...)
				changed = true
				continue
			}
			i++
		}
	}
	if len(p) < 3 {
		return p[:0]
	}
	top := 0
	for i, q := range p {
		if q.y < p[top].y || (q.y == p[top].y && q.x > p[top].x) {
			top = i
		}
	}
	slices.Reverse(p[:top+1])
	slices.Reverse(p[top+1:])
	slices.Reverse(p)
	return p
}

// clipperArea is Clipper's Area: positive for polygons that run clockwise on
// screen (counter-clockwise with y up), which Clipper calls Orientation true.
func clipperArea(p []ipt) float64 {
	if len(p) < 3 {
		return 0
	}
	a := 0.0
	j := len(p) - 1
	for i := range p {
		a += (float64(p[j].x) + float64(p[i].x)) * (float64(p[j].y) - float64(p[i].y))
		j = i
	}
	return -a * 0.5
}

func unitNormal(a, b ipt) [2]float64 {
	if a == b {
		return [2]float64{}
	}
	dx := float64(b.x - a.x)
	dy := float64(b.y - a.y)
	f := 1 * 1.0 / math.Sqrt(dx*dx+dy*dy)
	dx *= f
	dy *= f
	return [2]float64{dy, -dx}
}

// offsetter holds the state of one ClipperOffset run and its scratch.
type offsetter struct {
	src         []ipt
	normals     [][2]float64
	dst         []ipt
	delta, sinA float64
	sin, cos    float64
	stepsPerRad float64
}

func (o *offsetter) at(j int, nx, ny float64) ipt {
	p := o.src[j]
	return ipt{
		clipperRound(float64(p.x) + float64(nx*o.delta)),
		clipperRound(float64(p.y) + float64(ny*o.delta)),
	}
}

// offsetPoint is ClipperOffset::OffsetPoint restricted to round joins.
func (o *offsetter) offsetPoint(j int, k *int) {
	nk, nj := o.normals[*k], o.normals[j]
	o.sinA = float64(nk[0]*nj[1]) - float64(nj[0]*nk[1])
	if math.Abs(o.sinA*o.delta) < 1.0 {
		cosA := float64(nk[0]*nj[0]) + float64(nj[1]*nk[1])
		if cosA > 0 {
			o.dst = append(o.dst, o.at(j, nk[0], nk[1]))
			return
		}
	} else if o.sinA > 1.0 {
		o.sinA = 1.0
	} else if o.sinA < -1.0 {
		o.sinA = -1.0
	}
	if o.sinA*o.delta < 0 {
		o.dst = append(o.dst, o.at(j, nk[0], nk[1]), o.src[j], o.at(j, nj[0], nj[1]))
	} else {
		o.doRound(j, *k)
	}
	*k = j
}

// doRound is ClipperOffset::DoRound: the arc from normal k to normal j in
// steps of the precomputed angle.
func (o *offsetter) doRound(j, k int) {
	nk, nj := o.normals[k], o.normals[j]
	a := math.Atan2(o.sinA, float64(nk[0]*nj[0])+float64(nk[1]*nj[1]))
	steps := max(int(clipperRound(o.stepsPerRad*math.Abs(a))), 1)
	x, y := nk[0], nk[1]
	for i := 0; i < steps; i++ {
		o.dst = append(o.dst, o.at(j, x, y))
		x2 := x
		x = float64(x*o.cos) - float64(o.sin*y)
		y = float64(x2*o.sin) + float64(y*o.cos)
	}
	o.dst = append(o.dst, o.at(j, nj[0], nj[1]))
}

// unclipDistance is DBPostProcess.unclip's offset distance:
// Polygon(box).area * ratio / Polygon(box).length.
func unclipDistance(box [4][2]float64, ratio float64) float64 {
	area, length := polyAreaLength(box)
	return area * ratio / length
}

// truncPath converts box corners to Clipper's integer points the way
// pyclipper does (C conversion, i.e. truncation toward zero).
func truncPath(box [4][2]float64) [4]ipt {
	var p [4]ipt
	for i, c := range box {
		p[i] = ipt{int64(c[0]), int64(c[1])}
	}
	return p
}

// Unclip grows the box as DBPostProcess.unclip does: distance =
// area*ratio/perimeter of the float box, then a pyclipper JT_ROUND offset of
// the box truncated to integers. The result is Clipper's integer polygon.
func Unclip(box [4][2]float64, ratio float64) [][2]float64 {
	path := truncPath(box)
	var o offsetter
	poly := o.offset(path[:], unclipDistance(box, ratio))
	out := make([][2]float64, len(poly))
	for i, p := range poly {
		out[i] = [2]float64{float64(p.x), float64(p.y)}
	}
	return out
}
