package dbnet

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"testing"
)

func TestDevUnclip(t *testing.T) {
	out := os.Getenv("DBNET_UNCLIP")
	if out == "" {
		t.Skip()
	}
	rng := rand.New(rand.NewPCG(5, 6))
	type rec struct {
		Box   [4][2]float32 `json:"box"`
		Ratio float64       `json:"ratio"`
		Poly  [][2]float64  `json:"poly"`
		Rect  [5]float32    `json:"rect"`
	}
	var recs []rec
	for i := 0; i < 3000; i++ {
		r := rotRect{cx: float32(rng.Float64() * 200), cy: float32(rng.Float64() * 200),
			w: float32(3 + rng.Float64()*150), h: float32(3 + rng.Float64()*40), angle: float32(rng.Float64()*180 - 90)}
		if rng.IntN(3) == 0 {
			r.angle = float32(90 * rng.IntN(3))
			r.cx = float32(rng.IntN(200)) + float32(rng.IntN(2))*0.5
			r.cy = float32(rng.IntN(200)) + float32(rng.IntN(2))*0.5
			r.w = float32(3 + rng.IntN(100))
			r.h = float32(3 + rng.IntN(30))
		}
		box, _ := r.miniBox()
		ratio := []float64{1.5, 1.6, 2.0}[rng.IntN(3)]
		poly := Unclip(widen(box), ratio)
		in := make([]hpt, len(poly))
		for k, p := range poly {
			in[k] = hpt{x: p[0], y: p[1]}
		}
		var g geom
		rr := g.minAreaRectOrdered(in)
		recs = append(recs, rec{box, ratio, poly, [5]float32{rr.cx, rr.cy, rr.w, rr.h, rr.angle}})
	}
	js, _ := json.Marshal(recs)
	os.WriteFile(out, js, 0o644)
}
