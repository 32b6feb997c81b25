package imgproc

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestRotate90CCWByHand: np.rot90 of a 3×2 image
//
//	a b c        c f
//	d e f   →    b e
//	             a d
//
// (blue carries the letters as 1..6; green and red are offsets of it).
func TestRotate90CCWByHand(t *testing.T) {
	b := []uint8{1, 2, 3, 4, 5, 6}
	g := []uint8{11, 12, 13, 14, 15, 16}
	r := []uint8{21, 22, 23, 24, 25, 26}
	got := Rotate90CCW(planes(3, 2, b, g, r))
	if got.W != 2 || got.H != 3 {
		t.Fatalf("size %dx%d, want 2x3", got.W, got.H)
	}
	want := [][]uint8{{3, 6, 2, 5, 1, 4}, {13, 16, 12, 15, 11, 14}, {23, 26, 22, 25, 21, 24}}
	for c := range 3 {
		if ch := channel(got, c); !bytes.Equal(ch, want[c]) {
			t.Errorf("channel %d = %v, want %v", c, ch, want[c])
		}
	}
}

func TestRotate180ByHand(t *testing.T) {
	got := Rotate180(planes(3, 2, []uint8{1, 2, 3, 4, 5, 6}, []uint8{7, 8, 9, 10, 11, 12}, fill(3, 2, 0)))
	if got.W != 3 || got.H != 2 {
		t.Fatalf("size %dx%d", got.W, got.H)
	}
	if b := channel(got, 0); !bytes.Equal(b, []uint8{6, 5, 4, 3, 2, 1}) {
		t.Errorf("blue = %v", b)
	}
	if g := channel(got, 1); !bytes.Equal(g, []uint8{12, 11, 10, 9, 8, 7}) {
		t.Errorf("green = %v", g)
	}
}

func TestRotationsCompose(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, size := range [][2]int{{1, 1}, {1, 5}, {7, 1}, {13, 4}, {32, 48}} {
		src := randomImage(rng, size[0], size[1])
		r := src
		for range 4 {
			r = Rotate90CCW(r)
		}
		if r.W != src.W || r.H != src.H || !bytes.Equal(r.Pix, src.Pix) {
			t.Errorf("%v: four quarter turns are not the identity", size)
		}
		half := Rotate90CCW(Rotate90CCW(src))
		if !bytes.Equal(half.Pix, Rotate180(src).Pix) {
			t.Errorf("%v: two quarter turns differ from Rotate180", size)
		}
		if !bytes.Equal(Rotate180(Rotate180(src)).Pix, src.Pix) {
			t.Errorf("%v: Rotate180 twice is not the identity", size)
		}
	}
}

func TestPadVertical(t *testing.T) {
	src := planes(2, 1, []uint8{1, 2}, []uint8{3, 4}, []uint8{5, 6})
	got := PadVertical(src, 2, 1)
	if got.W != 2 || got.H != 4 {
		t.Fatalf("size %dx%d, want 2x4", got.W, got.H)
	}
	want := make([]uint8, 2*4*3)
	copy(want[2*2*3:], src.Pix)
	if !bytes.Equal(got.Pix, want) {
		t.Errorf("pixels %v, want %v", got.Pix, want)
	}
	if same := PadVertical(src, -3, 0); same.H != 1 || !bytes.Equal(same.Pix, src.Pix) {
		t.Errorf("negative padding: got %dx%d %v", same.W, same.H, same.Pix)
	}
	same := PadVertical(src, 0, 0)
	same.Pix[0] = 99
	if src.Pix[0] != 1 {
		t.Error("PadVertical aliases its source")
	}
}

func TestGeometryBadInput(t *testing.T) {
	bad := &Image{W: 3, H: 3, Pix: make([]uint8, 5)}
	for name, got := range map[string]*Image{
		"rot90 nil":     Rotate90CCW(nil),
		"rot90 short":   Rotate90CCW(bad),
		"rot180 short":  Rotate180(bad),
		"pad nil":       PadVertical(nil, 1, 1),
		"pad overflows": PadVertical(New(1<<15, 1), 1<<14, 0),
	} {
		if got.W != 0 || got.H != 0 || len(got.Pix) != 0 {
			t.Errorf("%s: got %dx%d, want empty", name, got.W, got.H)
		}
	}
}
