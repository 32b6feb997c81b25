package imgproc

import (
	"math/rand/v2"
	"testing"
)

// The sizes follow the pipeline: a photo scaled for detection (RapidOCR's
// limit_side_len 736, multiples of 32), a text-line crop, and the
// recognizer's 48-pixel-high input.

func BenchmarkResizeLinear(b *testing.B) {
	src := randomImage(rand.New(rand.NewPCG(1, 1)), 1000, 750)
	b.SetBytes(int64(len(src.Pix)))
	for b.Loop() {
		ResizeLinear(src, 736, 544)
	}
}

func BenchmarkResizeLinearUpscale(b *testing.B) {
	src := randomImage(rand.New(rand.NewPCG(1, 2)), 640, 480)
	b.SetBytes(int64(len(src.Pix)))
	for b.Loop() {
		ResizeLinear(src, 992, 736)
	}
}

func BenchmarkResizeLinearRecLine(b *testing.B) {
	src := randomImage(rand.New(rand.NewPCG(1, 3)), 300, 36)
	for b.Loop() {
		ResizeLinear(src, 400, 48)
	}
}

func BenchmarkWarpPerspective(b *testing.B) {
	src := randomImage(rand.New(rand.NewPCG(1, 4)), 1000, 750)
	quad := [4][2]float64{{200.5, 300.25}, {499, 280}, {501.5, 327}, {202, 348.5}}
	for b.Loop() {
		WarpPerspective(src, quad, 300, 48)
	}
}

func BenchmarkNormalizeCHW(b *testing.B) {
	src := randomImage(rand.New(rand.NewPCG(1, 5)), 736, 544)
	dst := make([]float32, 3*src.W*src.H)
	for b.Loop() {
		NormalizeCHW(src, dst, src.W, [3]float32{0.5, 0.5, 0.5}, [3]float32{0.5, 0.5, 0.5})
	}
}
