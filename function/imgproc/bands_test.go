package imgproc

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// TestBandsMatchOneBand: an image resized and normalised in bands, one per
// CPU, comes out the same as in one band.
func TestBandsMatchOneBand(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one CPU: nothing runs in bands")
	}
	src := New(801, 599)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range src.Pix {
		src.Pix[i] = uint8(r.IntN(256))
	}
	run := func() (*Image, []float32) {
		dst := ResizeLinear(src, 1003, 736)
		norm := make([]float32, 3*dst.H*dst.W)
		NormalizeCHW(dst, norm, dst.W, [3]float32{0.5, 0.5, 0.5}, [3]float32{0.5, 0.5, 0.5})
		return dst, norm
	}
	banded, bandedNorm := run()
	prev := runtime.GOMAXPROCS(1)
	one, oneNorm := run()
	runtime.GOMAXPROCS(prev)
	if !slices.Equal(banded.Pix, one.Pix) {
		t.Error("resize: bands differ from one band")
	}
	if !slices.Equal(bandedNorm, oneNorm) {
		t.Error("normalise: bands differ from one band")
	}
}
