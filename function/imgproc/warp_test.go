package imgproc

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func applyH(m [9]float64, x, y float64) (float64, float64) {
	w := m[6]*x + m[7]*y + m[8]
	return (m[0]*x + m[1]*y + m[2]) / w, (m[3]*x + m[4]*y + m[5]) / w
}

func TestPerspectiveTransformMapsCorners(t *testing.T) {
	cases := [][2][4][2]float64{
		{{{0, 0}, {10, 0}, {10, 5}, {0, 5}}, {{0, 0}, {10, 0}, {10, 5}, {0, 5}}},
		{{{20.5, 30.25}, {120.75, 10.5}, {126, 40}, {25.75, 59.5}}, {{0, 0}, {102, 0}, {102, 29}, {0, 29}}},
		{{{-6, -3}, {140, 4}, {158, 70}, {-10, 58}}, {{0, 0}, {146, 0}, {146, 66}, {0, 66}}},
		{{{140, 50}, {30, 52}, {32, 8}, {142, 6}}, {{0, 0}, {110, 0}, {110, 44}, {0, 44}}},
		{{{1000, 2000}, {1900, 1800}, {1950, 1900}, {1010, 2100}}, {{3, 4}, {5, 4.5}, {5.25, 6}, {2.5, 7}}},
	}
	for _, c := range cases {
		m, err := PerspectiveTransform(c[0], c[1])
		if err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		if m[8] != 1 {
			t.Errorf("M[8] = %v, want 1", m[8])
		}
		for i := range 4 {
			u, v := applyH(m, c[0][i][0], c[0][i][1])
			if math.Abs(u-c[1][i][0]) > 1e-9 || math.Abs(v-c[1][i][1]) > 1e-9 {
				t.Errorf("%v: point %d maps to (%.12g, %.12g), want %v", c[0], i, u, v, c[1][i])
			}
		}
		inv, ok := invert3(m)
		if !ok {
			t.Fatalf("%v: not invertible", c[0])
		}
		for i := range 4 {
			x, y := applyH(inv, c[1][i][0], c[1][i][1])
			if math.Abs(x-c[0][i][0]) > 1e-9 || math.Abs(y-c[0][i][1]) > 1e-9 {
				t.Errorf("%v: inverse maps dst %d to (%.12g, %.12g)", c[0], i, x, y)
			}
		}
	}
}

func TestPerspectiveTransformSingular(t *testing.T) {
	dst := [4][2]float64{{0, 0}, {10, 0}, {10, 10}, {0, 10}}
	for _, src := range [][4][2]float64{
		{{0, 0}, {1, 1}, {2, 2}, {3, 3}}, // collinear
		{{5, 5}, {5, 5}, {5, 5}, {5, 5}}, // one point
		{{0, 0}, {0, 0}, {10, 10}, {0, 10}},
		{{math.NaN(), 0}, {10, 0}, {10, 10}, {0, 10}},
	} {
		if _, err := PerspectiveTransform(src, dst); !errors.Is(err, ErrSingular) {
			t.Errorf("%v: err = %v, want ErrSingular", src, err)
		}
	}
}

// TestCubicKernelByHand checks OpenCV's Keys kernel at x = 0.5 with
// a = -0.75: c0 = ((a*1.5 - 5a)*1.5 + 8a)*1.5 - 4a = ((-1.125+3.75)*1.5 - 6)*1.5
// + 3 = -0.09375, c1 = (1.25*0.5 - 2.25)*0.25 + 1 = 0.59375, c2 = c1 by
// symmetry and c3 = 1 - c0 - c1 - c2 = -0.09375. At x = 0 the kernel is the
// unit impulse.
func TestCubicKernelByHand(t *testing.T) {
	if got, want := interpolateCubic(0.5), [4]float32{-0.09375, 0.59375, 0.59375, -0.09375}; got != want {
		t.Errorf("interpolateCubic(0.5) = %v, want %v", got, want)
	}
	if got, want := interpolateCubic(0), [4]float32{0, 1, 0, 0}; got != want {
		t.Errorf("interpolateCubic(0) = %v, want %v", got, want)
	}
}

func TestCubicTable(t *testing.T) {
	for i, w := range cubicTab {
		sum := 0
		for _, v := range w {
			sum += int(v)
		}
		if sum != remapCoefScale {
			t.Fatalf("entry %d sums to %d", i, sum)
		}
	}
	// Weight 1.0 saturates to 32767 in a short; OpenCV puts the missing unit
	// on tap (2,2), the first of its lower-right 2×2 repair block.
	zero := cubicTab[0]
	want := [16]int16{5: 32767, 10: 1}
	if zero != want {
		t.Errorf("entry 0 = %v, want %v", zero, want)
	}
	// fy = 0, fx = 16/32: the x kernel of TestCubicKernelByHand on row 1.
	half := cubicTab[16]
	wantHalf := [16]int16{4: -3072, 5: 19456, 6: 19456, 7: -3072}
	if half != wantHalf {
		t.Errorf("entry 16 = %v, want %v", half, wantHalf)
	}
}

func randomImage(rng *rand.Rand, w, h int) *Image {
	m := New(w, h)
	for i := range m.Pix {
		m.Pix[i] = uint8(rng.IntN(256))
	}
	return m
}

func TestWarpPerspectiveIdentityAndCrop(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	src := randomImage(rng, 57, 31)

	full := WarpPerspective(src, [4][2]float64{{0, 0}, {57, 0}, {57, 31}, {0, 31}}, 57, 31)
	if !bytes.Equal(full.Pix, src.Pix) {
		t.Error("identity warp changed pixels")
	}

	x0, y0, w, h := 13, 7, 29, 11
	quad := [4][2]float64{
		{float64(x0), float64(y0)}, {float64(x0 + w), float64(y0)},
		{float64(x0 + w), float64(y0 + h)}, {float64(x0), float64(y0 + h)},
	}
	crop := WarpPerspective(src, quad, w, h)
	for y := range h {
		got := crop.Pix[y*w*3 : (y+1)*w*3]
		want := src.Pix[src.Offset(x0, y0+y):src.Offset(x0+w, y0+y)]
		if !bytes.Equal(got, want) {
			t.Fatalf("crop row %d = %v, want %v", y, got, want)
		}
	}
}

// TestWarpPerspectiveHalfPixelByHand shifts the sampling grid by half a
// pixel: every output samples at fraction 16/32, whose table row is
// (-3072, 19456, 19456, -3072) (see TestCubicKernelByHand), over taps
// x-1..x+2 clamped to the row. With blue 0 0 0 255 255 255:
// x=1: (-3072*255 + 16384)>>15 = -24 → 0; x=2: (16384*255 + 16384)>>15 = 128;
// x=3: (35840*255 + 16384)>>15 = 279 → 255. With green 100 100 100 200 200 200:
// x=1: (2969600+16384)>>15 = 91; x=2: (4915200+16384)>>15 = 150;
// x=3: (6860800+16384)>>15 = 209 — the kernel's ringing, clamped only at 0/255.
func TestWarpPerspectiveHalfPixelByHand(t *testing.T) {
	b := []uint8{0, 0, 0, 255, 255, 255}
	g := []uint8{100, 100, 100, 200, 200, 200}
	src := planes(6, 2, append(b, b...), append(g, g...), fill(6, 2, 77))
	got := WarpPerspective(src, [4][2]float64{{0.5, 0}, {6.5, 0}, {6.5, 2}, {0.5, 2}}, 6, 2)
	wantB := []uint8{0, 0, 128, 255, 255, 255}
	wantG := []uint8{100, 91, 150, 209, 200, 200}
	for c, want := range [][]uint8{append(wantB, wantB...), append(wantG, wantG...), fill(6, 2, 77)} {
		if ch := channel(got, c); !bytes.Equal(ch, want) {
			t.Errorf("channel %d = %v, want %v", c, ch, want)
		}
	}
}

func TestWarpPerspectiveConstantStaysConstant(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	src := New(40, 30)
	for i := 0; i < len(src.Pix); i += 3 {
		src.Pix[i], src.Pix[i+1], src.Pix[i+2] = 12, 200, 255
	}
	for range 50 {
		var quad [4][2]float64
		cx, cy := rng.Float64()*40, rng.Float64()*30
		ang := rng.Float64() * 2 * math.Pi
		hw, hh := 5+rng.Float64()*40, 2+rng.Float64()*10
		for i, d := range [4][2]float64{{-hw, -hh}, {hw, -hh}, {hw, hh}, {-hw, hh}} {
			quad[i] = [2]float64{
				cx + d[0]*math.Cos(ang) - d[1]*math.Sin(ang) + rng.Float64(),
				cy + d[0]*math.Sin(ang) + d[1]*math.Cos(ang) + rng.Float64(),
			}
		}
		got := WarpPerspective(src, quad, 1+rng.IntN(80), 1+rng.IntN(30))
		for i, v := range got.Pix {
			if v != src.Pix[i%3] {
				t.Fatalf("quad %v: byte %d = %d, want %d", quad, i, v, src.Pix[i%3])
			}
		}
	}
}

// keys is the continuous Keys kernel with a = -0.75.
func keys(x float64) float64 {
	const a = -0.75
	x = math.Abs(x)
	switch {
	case x < 1:
		return ((a+2)*x-(a+3))*x*x + 1
	case x < 2:
		return ((a*x-5*a)*x+8*a)*x - 4*a
	}
	return 0
}

// TestWarpPerspectiveNearFloatBicubic compares a rotated, slightly
// perspective crop of a smooth image with an unquantised float64 bicubic
// resampler: OpenCV's 1/32-pixel grid and 15-bit weights may only cost a
// grey level or two. (Taps applied transposed are off by tens of levels.)
func TestWarpPerspectiveNearFloatBicubic(t *testing.T) {
	src := New(120, 80)
	for y := range 80 {
		for x := range 120 {
			o := src.Offset(x, y)
			src.Pix[o] = uint8(127 + 120*math.Sin(float64(x)/6+float64(y)/9))
			src.Pix[o+1] = uint8(127 + 120*math.Cos(float64(x)/4-float64(y)/7))
			src.Pix[o+2] = uint8(127 + 100*math.Sin(float64(x+y)/5))
		}
	}
	quad := [4][2]float64{{15.25, 30.5}, {100.75, 12}, {108, 44.5}, {20, 66.25}}
	w, h := 87, 35
	got := WarpPerspective(src, quad, w, h)
	m, err := PerspectiveTransform(quad, [4][2]float64{{0, 0}, {float64(w), 0}, {float64(w), float64(h)}, {0, float64(h)}})
	if err != nil {
		t.Fatal(err)
	}
	inv, _ := invert3(m)
	var sumDiff float64
	maxDiff := 0.0
	for y := range h {
		for x := range w {
			sx, sy := applyH(inv, float64(x), float64(y))
			ix, iy := math.Floor(sx), math.Floor(sy)
			for c := range 3 {
				var v float64
				for ky := -1; ky <= 2; ky++ {
					for kx := -1; kx <= 2; kx++ {
						px := clampInt(int(ix)+kx, 0, src.W-1)
						py := clampInt(int(iy)+ky, 0, src.H-1)
						v += float64(src.Pix[src.Offset(px, py)+c]) * keys(sx-ix-float64(kx)) * keys(sy-iy-float64(ky))
					}
				}
				v = math.Max(0, math.Min(255, math.Round(v)))
				d := math.Abs(v - float64(got.Pix[got.Offset(x, y)+c]))
				sumDiff += d
				maxDiff = math.Max(maxDiff, d)
			}
		}
	}
	mean := sumDiff / float64(w*h*3)
	if maxDiff > 2 || mean > 0.3 {
		t.Errorf("vs float64 bicubic: max diff %v, mean %v", maxDiff, mean)
	}
}

func TestWarpPerspectiveBadInput(t *testing.T) {
	src := New(10, 10)
	for i := range src.Pix {
		src.Pix[i] = 9
	}
	degenerate := WarpPerspective(src, [4][2]float64{{1, 1}, {2, 2}, {3, 3}, {4, 4}}, 5, 4)
	if degenerate.W != 5 || degenerate.H != 4 || !bytes.Equal(degenerate.Pix, make([]uint8, 5*4*3)) {
		t.Errorf("degenerate quad: got %dx%d %v, want black 5x4", degenerate.W, degenerate.H, degenerate.Pix)
	}
	quad := [4][2]float64{{0, 0}, {5, 0}, {5, 5}, {0, 5}}
	for name, got := range map[string]*Image{
		"nil src":  WarpPerspective(nil, quad, 5, 5),
		"zero w":   WarpPerspective(src, quad, 0, 5),
		"negative": WarpPerspective(src, quad, 5, -5),
	} {
		if got.W != 0 || got.H != 0 || len(got.Pix) != 0 {
			t.Errorf("%s: got %dx%d, want empty", name, got.W, got.H)
		}
	}
}
