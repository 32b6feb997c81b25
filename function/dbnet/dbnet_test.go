package dbnet

import (
	"errors"
	"math"
	"testing"
)

// rect is an axis-aligned block of probability v, corners inclusive.
type rect struct {
	x0, y0, x1, y1 int
	v              float32
}

func probMap(w, h int, bg float32, rs ...rect) []float32 {
	m := make([]float32, w*h)
	for i := range m {
		m[i] = bg
	}
	for _, r := range rs {
		for y := r.y0; y <= r.y1; y++ {
			for x := r.x0; x <= r.x1; x++ {
				m[y*w+x] = r.v
			}
		}
	}
	return m
}

func mustBoxes(t *testing.T, m []float32, w, h, dw, dh int, p Params) ([][4][2]float64, []float32) {
	t.Helper()
	boxes, scores, err := Boxes(m, w, h, dw, dh, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(boxes) != len(scores) {
		t.Fatalf("%d boxes, %d scores", len(boxes), len(scores))
	}
	return boxes, scores
}

func quad(pts ...[2]float64) [4][2]float64 { return [4][2]float64{pts[0], pts[1], pts[2], pts[3]} }

func TestSingleRectangleRapidOCR(t *testing.T) {
	// Pixels x 20..69, y 20..29 at 0.9. Dilation adds column 70 and row 30,
	// so the component's pixel-centre rectangle is (20,20)-(70,30): 50×10.
	// Its fast score averages 51×11 mask pixels of which 50×10 hold 0.9.
	// Unclip distance = 500*1.6/120 = 6.667: edges move to 13.33 and 76.67
	// (x), 13.33 and 36.67 (y), which Clipper rounds to 13, 77, 13, 37.
	m := probMap(100, 60, 0, rect{20, 20, 69, 29, 0.9})
	boxes, scores := mustBoxes(t, m, 100, 60, 100, 60, RapidOCRParams())
	if len(boxes) != 1 {
		t.Fatalf("got %d boxes, want 1", len(boxes))
	}
	want := quad([2]float64{13, 13}, [2]float64{77, 13}, [2]float64{77, 37}, [2]float64{13, 37})
	if boxes[0] != want {
		t.Errorf("box %v, want %v", boxes[0], want)
	}
	wantScore := 500 * float64(float32(0.9)) / 561
	if math.Abs(float64(scores[0])-wantScore) > 1e-6 {
		t.Errorf("score %v, want %v", scores[0], wantScore)
	}
}

func TestTwoRectanglesComeInReverseDiscoveryOrder(t *testing.T) {
	// findContours discovers the upper block first and returns it last.
	m := probMap(120, 80, 0, rect{10, 5, 60, 15, 0.9}, rect{30, 45, 100, 60, 0.9})
	boxes, _ := mustBoxes(t, m, 120, 80, 120, 80, PaddleOCRParams())
	if len(boxes) != 2 {
		t.Fatalf("got %d boxes, want 2", len(boxes))
	}
	if boxes[0][0][1] < 30 || boxes[1][0][1] > 30 {
		t.Errorf("want lower block first, got %v", boxes)
	}
}

func inside(q [4][2]float64, x, y float64) bool {
	for i := range q {
		a, b := q[i], q[(i+1)%4]
		if (b[0]-a[0])*(y-a[1])-(b[1]-a[1])*(x-a[0]) < 0 {
			return false
		}
	}
	return true
}

func TestDiagonalTouchIsOneComponent(t *testing.T) {
	// Without dilation, squares touching only at a corner are one
	// 8-connected component; the minimum-area box of the pair is tilted
	// 45° (area 342 < 361 axis-aligned). It holds 200 pixels of 0.9, so
	// its score is about 0.53. (xsort ordering: PaddleOCR's sum/diff
	// ordering scrambles 45° boxes.)
	p := PaddleOCRParams()
	p.BoxThresh = 0.4
	p.Order = OrderXSort
	m := probMap(60, 60, 0, rect{10, 10, 19, 19, 0.9}, rect{20, 20, 29, 29, 0.9})
	boxes, _ := mustBoxes(t, m, 60, 60, 60, 60, p)
	if len(boxes) != 1 {
		t.Fatalf("got %d boxes, want 1", len(boxes))
	}
	b := boxes[0]
	if !inside(b, 14.5, 14.5) || !inside(b, 24.5, 24.5) {
		t.Errorf("box %v does not cover both squares", b)
	}
	// Integer corners skew the 45° a little.
	if a := math.Atan2(b[1][1]-b[0][1], b[1][0]-b[0][0]) * 180 / math.Pi; math.Abs(math.Abs(a)-45) > 8 {
		t.Errorf("box edge angle %.1f°, want about ±45°", a)
	}

	m = probMap(60, 60, 0, rect{10, 10, 19, 19, 0.9}, rect{21, 21, 30, 30, 0.9})
	if boxes, _ := mustBoxes(t, m, 60, 60, 60, 60, p); len(boxes) != 2 {
		t.Fatalf("one pixel apart: got %d boxes, want 2", len(boxes))
	}
}

func TestRotatedRectangle(t *testing.T) {
	// A 120×24 rectangle rotated by 20° about (100, 80).
	const w, h = 200, 160
	m := make([]float32, w*h)
	sin, cos := math.Sincos(20 * math.Pi / 180)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dx, dy := float64(x)-100, float64(y)-80
			if u, v := dx*cos+dy*sin, -dx*sin+dy*cos; math.Abs(u) <= 60 && math.Abs(v) <= 12 {
				m[y*w+x] = 0.9
			}
		}
	}
	boxes, _ := mustBoxes(t, m, w, h, w, h, RapidOCRParams())
	if len(boxes) != 1 {
		t.Fatalf("got %d boxes, want 1", len(boxes))
	}
	b := boxes[0]
	if a := math.Atan2(b[1][1]-b[0][1], b[1][0]-b[0][0]) * 180 / math.Pi; math.Abs(a-20) > 1.5 {
		t.Errorf("top edge at %.2f°, want 20°", a)
	}
	cx := (b[0][0] + b[1][0] + b[2][0] + b[3][0]) / 4
	cy := (b[0][1] + b[1][1] + b[2][1] + b[3][1]) / 4
	if math.Hypot(cx-100.5, cy-80.5) > 1.5 {
		t.Errorf("centre (%.1f, %.1f), want about (100.5, 80.5)", cx, cy)
	}
	// Sides grow by 2*d with d = w*h*1.6/(2*(w+h)) for the ~121×25 blob.
	d := 121.0 * 25 * 1.6 / (2 * (121 + 25))
	long := math.Hypot(b[1][0]-b[0][0], b[1][1]-b[0][1])
	short := math.Hypot(b[3][0]-b[0][0], b[3][1]-b[0][1])
	if math.Abs(long-(121+2*d)) > 3 || math.Abs(short-(25+2*d)) > 3 {
		t.Errorf("sides %.1f × %.1f, want about %.1f × %.1f", long, short, 121+2*d, 25+2*d)
	}
}

func TestNoBoxBelowThresholdOrTooSmall(t *testing.T) {
	cases := map[string]struct {
		m []float32
		p Params
	}{
		"below thresh": {probMap(50, 50, 0, rect{5, 5, 40, 20, 0.29}), RapidOCRParams()},
		// A 2×2 blob is 1×1 between pixel centres: sside 1 < 3.
		"tiny": {probMap(50, 50, 0, rect{10, 10, 11, 11, 0.9}), PaddleOCRParams()},
		// Dilated 3×3 is 2×2 between centres: still below 3.
		"tiny dilated": {probMap(50, 50, 0, rect{10, 10, 11, 11, 0.9}), RapidOCRParams()},
		"empty":        {probMap(50, 50, 0), RapidOCRParams()},
		// A 2×2 hole's border is an octagon whose minimum box is the 45°
		// one (area 8 < 9), 2.83 wide: too small, as in OpenCV. Only the
		// block's box remains.
		"small hole": {probMap(50, 50, 0, rect{5, 5, 40, 40, 0.9}, rect{20, 20, 21, 21, 0.1}), PaddleOCRParams()},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			boxes, _ := mustBoxes(t, c.m, 50, 50, 50, 50, c.p)
			for _, b := range boxes {
				if b[2][0]-b[0][0] < 40 {
					t.Errorf("got %v, want no small box", b)
				}
			}
		})
	}
}

func TestBoxThresh(t *testing.T) {
	m := probMap(80, 40, 0, rect{10, 10, 60, 25, 0.55})
	p := PaddleOCRParams() // no dilation: the score is exactly float32(0.55)
	if boxes, _ := mustBoxes(t, m, 80, 40, 80, 40, p); len(boxes) != 0 {
		t.Errorf("box_thresh 0.6: got %d boxes, want 0", len(boxes))
	}
	p.BoxThresh = 0.5
	boxes, scores := mustBoxes(t, m, 80, 40, 80, 40, p)
	if len(boxes) != 1 || scores[0] != 0.55 {
		t.Errorf("box_thresh 0.5: got %v %v, want one box scored 0.55", boxes, scores)
	}

	t.Run("compared as the Python double", func(t *testing.T) {
		// Two pixels in three at float32(0.6), one a step below: the
		// mean 0.6000000040 is above the double 0.6 the reference
		// compares with, though below float32(0.6) = 0.6000000238.
		below := math.Nextafter32(0.6, 0)
		m := make([]float32, 30*30)
		for y := 5; y <= 24; y++ {
			for x := 5; x <= 24; x++ {
				switch (y*20 + x) % 3 {
				case 0:
					m[y*30+x] = below
				default:
					m[y*30+x] = 0.6
				}
			}
		}
		p := PaddleOCRParams()
		_, scores := mustBoxes(t, m, 30, 30, 30, 30, p)
		if len(scores) != 1 {
			t.Fatalf("got %d boxes, want 1", len(scores))
		}
	})
}

func TestMaxCandidates(t *testing.T) {
	var rs []rect
	for i := 0; i < 5; i++ {
		rs = append(rs, rect{10, 5 + 20*i, 70, 14 + 20*i, 0.9})
	}
	m := probMap(80, 110, 0, rs...)
	p := PaddleOCRParams()
	all, _ := mustBoxes(t, m, 80, 110, 80, 110, p)
	if len(all) != 5 {
		t.Fatalf("got %d boxes, want 5", len(all))
	}
	p.MaxCandidates = 2
	two, _ := mustBoxes(t, m, 80, 110, 80, 110, p)
	// The cut keeps the first contours findContours returns: the last
	// two discovered, i.e. the two lowest blocks.
	if len(two) != 2 || two[0] != all[0] || two[1] != all[1] || two[1][0][1] < 50 {
		t.Errorf("MaxCandidates 2: got %v, want %v", two, all[:2])
	}
	p.MaxCandidates = 0
	if none, _ := mustBoxes(t, m, 80, 110, 80, 110, p); len(none) != 0 {
		t.Errorf("MaxCandidates 0: got %d boxes", len(none))
	}
}

func TestDestMappingRoundsHalfToEven(t *testing.T) {
	// 21×11 pixels have centres 20×10 apart: d = 200*1.5/60 = 5 exactly,
	// so the unclipped box is (15,5)-(45,25). Scaled by 1.5 the corners
	// land on 22.5, 67.5, 7.5 and 37.5, which round to even: 22, 68, 8, 38.
	m := probMap(64, 32, 0, rect{20, 10, 40, 20, 0.9})
	boxes, _ := mustBoxes(t, m, 64, 32, 96, 48, PaddleOCRParams())
	want := quad([2]float64{22, 8}, [2]float64{68, 8}, [2]float64{68, 38}, [2]float64{22, 38})
	if len(boxes) != 1 || boxes[0] != want {
		t.Fatalf("got %v, want [%v]", boxes, want)
	}
}

func TestMapCoord(t *testing.T) {
	cases := []struct {
		v          float32
		from, to   int
		want       int32
		whyComment string
	}{
		{15, 64, 96, 22, "22.5 to even"},
		{13, 64, 96, 20, "19.5 to even"},
		{1, 2, 5, 2, "2.5 to even"},
		{13, 100, 150, 20, "float32 13/100*150 is 19.5 after rounding to float32"},
		{-3, 10, 10, 0, "clipped at 0"},
		{12, 10, 10, 10, "clipped at dest size, not size-1"},
	}
	for _, c := range cases {
		if got := mapCoord(c.v, c.from, c.to); got != c.want {
			t.Errorf("mapCoord(%v, %d, %d) = %d, want %d (%s)", c.v, c.from, c.to, got, c.want, c.whyComment)
		}
	}
}

func TestFilterTag(t *testing.T) {
	// Mapped into a 4×4 image every side is at most 3 px: dropped.
	m := probMap(100, 100, 0, rect{20, 20, 80, 60, 0.9})
	if boxes, _ := mustBoxes(t, m, 100, 100, 4, 4, RapidOCRParams()); len(boxes) != 0 {
		t.Errorf("got %v, want no box", boxes)
	}
	// Clipping to [0,w-1]×[0,h-1] with int(): the box spills over the
	// border of a map filled to its edges.
	m = probMap(40, 30, 0, rect{0, 0, 39, 29, 0.9})
	boxes, _ := mustBoxes(t, m, 40, 30, 40, 30, RapidOCRParams())
	want := quad([2]float64{0, 0}, [2]float64{39, 0}, [2]float64{39, 29}, [2]float64{0, 29})
	if len(boxes) != 1 || boxes[0] != want {
		t.Errorf("got %v, want [%v]", boxes, want)
	}
}

func TestOrders(t *testing.T) {
	rot := [4][2]int32{{30, 5}, {60, 20}, {50, 40}, {20, 25}}
	want := [4][2]int32{{30, 5}, {60, 20}, {50, 40}, {20, 25}}
	if got := orderXSort(rot); got != want {
		t.Errorf("xsort %v, want %v", got, want)
	}
	if got := orderSumDiff(rot); got != want {
		t.Errorf("sumdiff %v, want %v", got, want)
	}
	// At 45° the methods disagree: imutils sorts the ties stably, the
	// sum/diff method picks first extremes and can repeat a corner.
	diamond := [4][2]int32{{10, 0}, {20, 10}, {10, 20}, {0, 10}}
	if got, want := orderXSort(diamond), [4][2]int32{{10, 0}, {20, 10}, {10, 20}, {0, 10}}; got != want {
		t.Errorf("xsort diamond %v, want %v", got, want)
	}
	if got, want := orderSumDiff(diamond), [4][2]int32{{10, 0}, {10, 20}, {20, 10}, {10, 20}}; got != want {
		t.Errorf("sumdiff diamond %v, want %v", got, want)
	}
}

func TestHoleContourIsScored(t *testing.T) {
	// RETR_LIST also returns hole borders. After dilation the 4×4 hole at
	// 0.29 shrinks to 3×3 (29..31, 24..26). Its border (the pixels
	// 4-adjacent to it) spans 28..32 × 23..27 with the corners cut; the
	// axis-aligned 4×4 box (area 16) beats the 45° one (18). Its 25 mask
	// pixels average (16*0.29+9*0.9)/25 = 0.5096 > 0.5. Unclip distance
	// 16*1.6/16 = 1.6 moves the edges to 26.4, 33.6, 21.4 and 28.6, which
	// Clipper rounds to 26, 34, 21, 29.
	m := probMap(60, 50, 0, rect{10, 10, 49, 39, 0.9}, rect{28, 23, 31, 26, 0.29})
	boxes, scores := mustBoxes(t, m, 60, 50, 60, 50, RapidOCRParams())
	if len(boxes) != 2 {
		t.Fatalf("got %d boxes, want block and hole", len(boxes))
	}
	// The hole is discovered after the block, so it is returned first.
	want := quad([2]float64{26, 21}, [2]float64{34, 21}, [2]float64{34, 29}, [2]float64{26, 29})
	if boxes[0] != want {
		t.Errorf("hole box %v, want %v", boxes[0], want)
	}
	wantScore := (16*float64(float32(0.29)) + 9*float64(float32(0.9))) / 25
	if math.Abs(float64(scores[0])-wantScore) > 1e-6 {
		t.Errorf("hole score %v, want %v", scores[0], wantScore)
	}
}

func TestSlowScoreUsesContour(t *testing.T) {
	// An L of 0.8 on a 0.1 background: the contour polygon covers exactly
	// the L (500 px), the minimum box the full 30×30 square.
	m := probMap(50, 50, 0.1, rect{10, 10, 39, 19, 0.8}, rect{10, 20, 19, 39, 0.8})
	p := PaddleOCRParams()
	p.BoxThresh = 0
	_, fast := mustBoxes(t, m, 50, 50, 50, 50, p)
	p.Score = ScoreSlow
	_, slow := mustBoxes(t, m, 50, 50, 50, 50, p)
	if len(fast) != 1 || len(slow) != 1 {
		t.Fatalf("got %d fast and %d slow boxes, want 1 each", len(fast), len(slow))
	}
	if slow[0] != 0.8 {
		t.Errorf("slow score %v, want 0.8", slow[0])
	}
	wantFast := (500*float64(float32(0.8)) + 400*float64(float32(0.1))) / 900
	if math.Abs(float64(fast[0])-wantFast) > 1e-6 {
		t.Errorf("fast score %v, want %v", fast[0], wantFast)
	}
}

func TestErrors(t *testing.T) {
	ok := make([]float32, 20)
	bad := func(mod func(*Params)) Params {
		p := RapidOCRParams()
		mod(&p)
		return p
	}
	cases := []struct {
		name           string
		prob           []float32
		mw, mh, dw, dh int
		p              Params
		want           error
	}{
		{"length", ok, 5, 5, 5, 5, RapidOCRParams(), ErrInvalidInput},
		{"zero width", ok, 0, 4, 5, 4, RapidOCRParams(), ErrInvalidInput},
		{"negative dest", ok, 5, 4, -1, 4, RapidOCRParams(), ErrInvalidInput},
		{"huge", ok, 1 << 21, 4, 5, 4, RapidOCRParams(), ErrInvalidInput},
		{"nan thresh", ok, 5, 4, 5, 4, bad(func(p *Params) { p.Thresh = float32(math.NaN()) }), ErrInvalidParams},
		{"negative candidates", ok, 5, 4, 5, 4, bad(func(p *Params) { p.MaxCandidates = -1 }), ErrInvalidParams},
		{"zero ratio", ok, 5, 4, 5, 4, bad(func(p *Params) { p.UnclipRatio = 0 }), ErrInvalidParams},
		{"inf ratio", ok, 5, 4, 5, 4, bad(func(p *Params) { p.UnclipRatio = math.Inf(1) }), ErrInvalidParams},
		{"score mode", ok, 5, 4, 5, 4, bad(func(p *Params) { p.Score = 7 }), ErrInvalidParams},
		{"order", ok, 5, 4, 5, 4, bad(func(p *Params) { p.Order = -1 }), ErrInvalidParams},
	}
	for _, c := range cases {
		if _, _, err := Boxes(c.prob, c.mw, c.mh, c.dw, c.dh, c.p); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
	}
	if _, _, err := Boxes(ok, 5, 4, 5, 4, RapidOCRParams()); err != nil {
		t.Errorf("valid input: %v", err)
	}
}

func TestReusedStateAllocatesOnlyResults(t *testing.T) {
	const w, h = 736, 992
	m := textMap(w, h, 50, 1)
	var s state
	p := RapidOCRParams()
	boxes, _ := s.run(m, w, h, w, h, p)
	if len(boxes) < 40 {
		t.Fatalf("only %d boxes", len(boxes))
	}
	// Growing the two result slices to ~50 entries takes a dozen
	// allocations; nothing may scale with pixels or contours.
	if n := testing.AllocsPerRun(5, func() { s.run(m, w, h, w, h, p) }); n > 16 {
		t.Errorf("%v allocations per run", n)
	}
}
