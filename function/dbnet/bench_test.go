package dbnet

import (
	"math/rand/v2"
	"testing"
)

// textMap builds a w×h probability map with n text-line blobs laid out in
// rows like a document page: a flat high-probability core with a soft rim,
// low-level background noise, and a few touching/ragged lines.
func textMap(w, h, n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 99))
	m := make([]float32, w*h)
	for i := range m {
		m[i] = float32(rng.IntN(100)) / 1000 // background 0..0.1
	}
	rows := (n + 2) / 3
	rowH := h / rows
	for b := 0; b < n; b++ {
		row, col := b/3, b%3
		bw := 60 + rng.IntN(w/3-80)
		bh := 10 + rng.IntN(max(1, rowH/2-10))
		x0 := col*(w/3) + rng.IntN(w/3-bw)
		y0 := row*rowH + rng.IntN(max(1, rowH-bh))
		for y := y0; y < min(h, y0+bh); y++ {
			for x := x0; x < min(w, x0+bw); x++ {
				edge := min(x-x0, x0+bw-1-x, y-y0, y0+bh-1-y)
				v := float32(0.85 + float64(rng.IntN(150))/1000)
				if edge < 2 {
					v = 0.2 + 0.2*float32(edge)
				}
				m[y*w+x] = v
			}
		}
	}
	return m
}

func BenchmarkBoxes(b *testing.B) {
	const w, h = 736, 992
	m := textMap(w, h, 50, 1)
	p := RapidOCRParams()
	boxes, _, err := Boxes(m, w, h, 1472, 1984, p)
	if err != nil || len(boxes) < 40 {
		b.Fatalf("setup: %d boxes, err %v", len(boxes), err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(m) * 4))
	for b.Loop() {
		if _, _, err := Boxes(m, w, h, 1472, 1984, p); err != nil {
			b.Fatal(err)
		}
	}
}
