package imgproc

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// planes builds an image from per-channel rows (B, G, R), each h rows of w.
func planes(w, h int, b, g, r []uint8) *Image {
	m := New(w, h)
	for i := range w * h {
		m.Pix[i*3], m.Pix[i*3+1], m.Pix[i*3+2] = b[i], g[i], r[i]
	}
	return m
}

func channel(m *Image, c int) []uint8 {
	out := make([]uint8, m.W*m.H)
	for i := range out {
		out[i] = m.Pix[i*3+c]
	}
	return out
}

func fill(w, h int, v uint8) []uint8 { return bytes.Repeat([]uint8{v}, w*h) }

// TestResizeLinearUpscaleByHand derives a 2×2 → 4×4 resize on paper.
//
// scale = 1/(4/2) = 0.5, f(d) = (d+0.5)*0.5 - 0.5 = -0.25, 0.25, 0.75, 1.25.
// Columns: d=0 clamps to (sx=0, f=0), d=3 clamps to (sx=1, f=0), so the
// weights (a0, a1) are (2048,0), (1536,512), (512,1536), (2048,0).
// Rows keep the unclamped weights: (512,1536) on rows (0,0), (1536,512) on
// rows (0,1), (512,1536) on rows (0,1), (1536,512) on rows (1,1).
//
// Blue source (0 7 / 0 3): horizontal sums row0 = 0, 3584, 10752, 14336 and
// row1 = 0, 1536, 4608, 6144; >>4 gives 0, 224, 672, 896 and 0, 96, 288, 384.
// Output (1,1): (1536*224)>>16 = 5, (512*96)>>16 = 0, (5+2)>>2 = 1, where the
// exact bilinear value is 1.5 and (b0*S0+b1*S1+2^21)>>22 would give 2.
// Output (2,1): (1536*672)>>16 = 15, (512*288)>>16 = 2, (17+2)>>2 = 4
// (exact 4.5). The other pixels follow the same way.
//
// Green source (0 100 / 200 40): row sums 0, 51200, 153600, 204800 and
// 409600, 327680, 163840, 81920; e.g. output (1,1) = ((1536*3200)>>16 +
// (512*20480)>>16 + 2)>>2 = (75+160+2)>>2 = 59. Red is constant 255.
func TestResizeLinearUpscaleByHand(t *testing.T) {
	src := planes(2, 2, []uint8{0, 7, 0, 3}, []uint8{0, 100, 200, 40}, fill(2, 2, 255))
	got := ResizeLinear(src, 4, 4)
	wantB := []uint8{
		0, 2, 5, 7,
		0, 1, 4, 6,
		0, 1, 3, 4,
		0, 1, 2, 3,
	}
	wantG := []uint8{
		0, 25, 75, 100,
		50, 59, 76, 85,
		150, 126, 79, 55,
		200, 160, 80, 40,
	}
	if got.W != 4 || got.H != 4 {
		t.Fatalf("size %dx%d", got.W, got.H)
	}
	for c, want := range [][]uint8{wantB, wantG, fill(4, 4, 255)} {
		if g := channel(got, c); !bytes.Equal(g, want) {
			t.Errorf("channel %d = %v, want %v", c, g, want)
		}
	}
}

// TestResizeLinearHalveByHand: scale 2 puts every output at f = 0.5, so all
// weights are 1024. A horizontal sum is (p+q)*1024, stored as (p+q)*64, and
// each vertical term (1024*(p+q)*64)>>16 is exactly p+q; the output is
// (a+b+c+d+2)>>2, which is also what OpenCV's INTER_AREA shortcut for exact
// halving computes. Blue blocks: {1,2,2,2} → 9>>2 = 2; {1,1,1,2} → 7>>2 = 1;
// {1,1,2,2} → 8>>2 = 2 (1.5 rounds up); {10,20,30,41} → 103>>2 = 25. Green is
// 255-blue: 1015>>2 = 253, 1017>>2 = 254, 1016>>2 = 254, 921>>2 = 230. Red is 0.
func TestResizeLinearHalveByHand(t *testing.T) {
	b := []uint8{
		1, 2, 1, 1,
		2, 2, 1, 2,
		1, 1, 10, 20,
		2, 2, 30, 41,
	}
	g := make([]uint8, len(b))
	for i, v := range b {
		g[i] = 255 - v
	}
	got := ResizeLinear(planes(4, 4, b, g, fill(4, 4, 0)), 2, 2)
	for c, want := range [][]uint8{{2, 1, 2, 25}, {253, 254, 254, 230}, {0, 0, 0, 0}} {
		if ch := channel(got, c); !bytes.Equal(ch, want) {
			t.Errorf("channel %d = %v, want %v", c, ch, want)
		}
	}
}

func TestResizeLinearConstantStaysConstant(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		sw, sh := 1+rng.IntN(60), 1+rng.IntN(60)
		dw, dh := 1+rng.IntN(120), 1+rng.IntN(120)
		px := [3]uint8{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256))}
		src := New(sw, sh)
		for i := 0; i < len(src.Pix); i += 3 {
			copy(src.Pix[i:i+3], px[:])
		}
		got := ResizeLinear(src, dw, dh)
		if got.W != dw || got.H != dh || len(got.Pix) != dw*dh*3 {
			t.Fatalf("%dx%d->%dx%d: got %dx%d", sw, sh, dw, dh, got.W, got.H)
		}
		for i, v := range got.Pix {
			if v != px[i%3] {
				t.Fatalf("%dx%d->%dx%d %v: byte %d = %d", sw, sh, dw, dh, px, i, v)
			}
		}
	}
}

func TestResizeLinearSameSizeCopies(t *testing.T) {
	src := planes(2, 1, []uint8{1, 2}, []uint8{3, 4}, []uint8{5, 6})
	got := ResizeLinear(src, 2, 1)
	if !bytes.Equal(got.Pix, src.Pix) {
		t.Fatalf("got %v, want %v", got.Pix, src.Pix)
	}
	got.Pix[0] = 99
	if src.Pix[0] != 1 {
		t.Fatal("same-size resize aliases the source")
	}
}

func TestResizeLinearBadInput(t *testing.T) {
	ok := New(4, 4)
	cases := map[string]struct {
		src  *Image
		w, h int
	}{
		"nil src":        {nil, 2, 2},
		"zero width src": {&Image{W: 0, H: 3}, 2, 2},
		"short Pix":      {&Image{W: 4, H: 4, Pix: make([]uint8, 10)}, 2, 2},
		"zero w":         {ok, 0, 2},
		"negative h":     {ok, 2, -1},
		"huge":           {ok, 1 << 20, 1 << 20},
	}
	for name, c := range cases {
		got := ResizeLinear(c.src, c.w, c.h)
		if got == nil || got.W != 0 || got.H != 0 || len(got.Pix) != 0 {
			t.Errorf("%s: got %+v, want an empty image", name, got)
		}
	}
}
