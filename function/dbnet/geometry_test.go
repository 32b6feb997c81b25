package dbnet

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// The expected values in this test were produced by OpenCV 4.6
// (cv2.minAreaRect / cv2.boxPoints); they are float32-exact.
func TestMinAreaRectMatchesOpenCV(t *testing.T) {
	cases := []struct {
		pts          [][2]float64
		center, size [2]float64
		angle        float64
	}{
		{[][2]float64{{0, 0}, {10, 0}, {10, 5}, {0, 5}}, [2]float64{5, 2.5}, [2]float64{5, 10}, 90},
		{[][2]float64{{0, 0}, {10, 5}}, [2]float64{5, 2.5}, [2]float64{11.180339813232422, 0}, -153.43495178222656},
		{[][2]float64{{3, 1}, {9, 4}, {6, 10}, {0, 7}, {4, 5}, {5, 5}},
			[2]float64{4.500000476837158, 5.499999523162842}, [2]float64{6.708203315734863, 6.708203315734863}, 26.56505012512207},
	}
	for _, c := range cases {
		center, size, angle := MinAreaRect(c.pts)
		if center != c.center || size != c.size || angle != c.angle {
			t.Errorf("MinAreaRect(%v) = %v %v %v, want %v %v %v", c.pts, center, size, angle, c.center, c.size, c.angle)
		}
	}
	got := BoxPoints([2]float64{50.5, 20.25}, [2]float64{30, 7}, 33.5)
	want := [4][2]float64{{36.0599365234375, 14.889545440673828}, {39.923492431640625, 9.052345275878906},
		{64.9400634765625, 25.610454559326172}, {61.076507568359375, 31.447654724121094}}
	if got != want {
		t.Errorf("BoxPoints = %v, want %v", got, want)
	}
}

func TestMinAreaRectRotatedSquare(t *testing.T) {
	sin, cos := math.Sincos(30 * math.Pi / 180)
	var pts [][2]float64
	for _, c := range [][2]float64{{-5, -5}, {5, -5}, {5, 5}, {-5, 5}} {
		pts = append(pts, [2]float64{50 + c[0]*cos - c[1]*sin, 50 + c[0]*sin + c[1]*cos})
	}
	center, size, angle := MinAreaRect(pts)
	if !near(center[0], 50, 1e-4) || !near(center[1], 50, 1e-4) || !near(size[0], 10, 1e-4) || !near(size[1], 10, 1e-4) {
		t.Errorf("center %v size %v, want (50,50) and 10×10", center, size)
	}
	if r := math.Mod(angle+360, 90); !near(r, 30, 1e-3) {
		t.Errorf("angle %v, want 30 modulo 90", angle)
	}
	// boxPoints gives back the corners, in some order.
	for _, c := range BoxPoints(center, size, angle) {
		found := false
		for _, p := range pts {
			found = found || (near(c[0], p[0], 1e-4) && near(c[1], p[1], 1e-4))
		}
		if !found {
			t.Errorf("corner %v is not one of %v", c, pts)
		}
	}
}

func TestMinAreaRectPixelRectangleIsAxisAligned(t *testing.T) {
	var pts [][2]float64
	for y := 5.0; y <= 9; y++ {
		for x := 3.0; x <= 12; x++ {
			pts = append(pts, [2]float64{x, y})
		}
	}
	box, sside := MiniBox(pts)
	want := [4][2]float64{{3, 5}, {12, 5}, {12, 9}, {3, 9}}
	if box != want || sside != 4 {
		t.Errorf("MiniBox = %v, %v; want %v, 4", box, sside, want)
	}
}

func TestUnclipMatchesPyclipper(t *testing.T) {
	// Expected rings from pyclipper 1.2.1 (Clipper 6.4.2) with the distance
	// shapely gives; the order is pyclipper's too.
	cases := []struct {
		box   [4][2]float64
		ratio float64
		want  [][2]float64
	}{
		{[4][2]float64{{10, 10}, {50, 10}, {50, 30}, {10, 30}}, 1.5, [][2]float64{
			{54, 1}, {58, 4}, {60, 8}, {60, 30}, {59, 34}, {56, 38}, {52, 40}, {10, 40},
			{6, 39}, {2, 36}, {0, 32}, {0, 10}, {1, 6}, {4, 2}, {8, 0}, {50, 0}}},
		{BoxPoints([2]float64{100, 100}, [2]float64{60, 20}, 30), 1.5, [][2]float64{
			{85, 66}, {136, 96}, {139, 99}, {141, 104}, {141, 109}, {140, 112}, {130, 129},
			{127, 132}, {122, 134}, {117, 134}, {114, 133}, {63, 103}, {60, 100}, {58, 95},
			{58, 90}, {59, 87}, {69, 70}, {72, 67}, {77, 65}, {82, 65}}},
	}
	for _, c := range cases {
		if got := Unclip(c.box, c.ratio); !slices.Equal(got, c.want) {
			t.Errorf("Unclip(%v, %v) =\n%v\nwant\n%v", c.box, c.ratio, got, c.want)
		}
	}
}

func TestUnclipGrowth(t *testing.T) {
	// Axis-aligned 40×20: d = 800*1.5/120 = 10 on every side.
	ring := Unclip([4][2]float64{{10, 10}, {50, 10}, {50, 30}, {10, 30}}, 1.5)
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range ring {
		minX, maxX = min(minX, p[0]), max(maxX, p[0])
		minY, maxY = min(minY, p[1]), max(maxY, p[1])
	}
	if !near(minX, 0, 1) || !near(maxX, 60, 1) || !near(minY, 0, 1) || !near(maxY, 40, 1) {
		t.Errorf("bounds (%v,%v)-(%v,%v), want (0,0)-(60,40)", minX, minY, maxX, maxY)
	}

	// Rotated 60×20 at 30°: d = 1200*2/160 = 15; the ring's minimum box
	// keeps the angle and grows each side by 2d.
	box := BoxPoints([2]float64{120, 90}, [2]float64{60, 20}, 30)
	_, size, angle := MinAreaRect(Unclip(box, 2))
	long, short := max(size[0], size[1]), min(size[0], size[1])
	if !near(long, 90, 1.5) || !near(short, 50, 1.5) {
		t.Errorf("grown size %v, want about 90×50", size)
	}
	if r := math.Mod(angle+360, 90); !near(r, 30, 1) {
		t.Errorf("angle %v, want 30 modulo 90", angle)
	}
}

func TestClipperRound(t *testing.T) {
	for v, want := range map[float64]int64{2.5: 3, -2.5: -3, 2.49: 2, -0.5: -1, 0.4: 0} {
		if got := clipperRound(v); got != want {
			t.Errorf("clipperRound(%v) = %d, want %d", v, got, want)
		}
	}
}

func maskString(f func(mask []uint8), w, h int) string {
	mask := make([]uint8, w*h)
	f(mask)
	var b strings.Builder
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if mask[y*w+x] != 0 {
				b.WriteByte('#')
			} else {
				b.WriteByte('.')
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Expected masks from cv2.fillPoly(mask, [pts], 1) (OpenCV 4.6): the fill
// includes the polygon's 8-connected outline.
func TestFillPolyMatchesOpenCV(t *testing.T) {
	var f filler
	cases := []struct {
		poly []ipt
		want string
	}{
		{[]ipt{{1, 1}, {10, 3}, {6, 9}}, "" +
			"............\n" +
			".###........\n" +
			"..######....\n" +
			"..#########.\n" +
			"...#######..\n" +
			"...#######..\n" +
			"....#####...\n" +
			".....###....\n" +
			".....###....\n" +
			"......#.....\n"},
		{[]ipt{{1, 1}, {10, 1}, {10, 8}, {6, 4}, {1, 8}}, "" +
			"............\n" +
			".##########.\n" +
			".##########.\n" +
			".##########.\n" +
			".##########.\n" +
			".#####.####.\n" +
			".####...###.\n" +
			".##......##.\n" +
			".#........#.\n" +
			"............\n"},
	}
	for _, c := range cases {
		got := maskString(func(m []uint8) { f.fillPoly(m, 12, 10, c.poly) }, 12, 10)
		if got != c.want {
			t.Errorf("fillPoly(%v):\n%s\nwant\n%s", c.poly, got, c.want)
		}
	}
	// A polygon reaching outside the mask must not write outside it.
	got := maskString(func(m []uint8) { f.fillPoly(m, 12, 10, []ipt{{-5, -3}, {20, 2}, {4, 30}}) }, 12, 10)
	if !strings.Contains(got, "#") {
		t.Errorf("clipped polygon filled nothing:\n%s", got)
	}
}
