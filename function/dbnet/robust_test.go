package dbnet

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// checkBoxes asserts the output contract: equal lengths, integer corners
// inside the image, scores that passed BoxThresh, sides longer than 3 px.
func checkBoxes(t *testing.T, boxes [][4][2]float64, scores []float32, destW, destH int, p Params) {
	t.Helper()
	if len(boxes) != len(scores) {
		t.Fatalf("%d boxes, %d scores", len(boxes), len(scores))
	}
	for i, b := range boxes {
		for _, c := range b {
			if c[0] != math.Trunc(c[0]) || c[1] != math.Trunc(c[1]) ||
				c[0] < 0 || c[0] > float64(destW-1) || c[1] < 0 || c[1] > float64(destH-1) {
				t.Fatalf("box %v outside [0,%d]×[0,%d] or not integral", b, destW-1, destH-1)
			}
		}
		if float64(scores[i]) < pythonFloat(p.BoxThresh)-1e-6 || math.IsNaN(float64(scores[i])) {
			t.Fatalf("score %v below box_thresh %v", scores[i], p.BoxThresh)
		}
		if dist2([2]int32{int32(b[0][0]), int32(b[0][1])}, [2]int32{int32(b[1][0]), int32(b[1][1])}) < 16 {
			t.Fatalf("box %v kept with a short side", b)
		}
	}
}

func randomParams(rng *rand.Rand) Params {
	p := RapidOCRParams()
	if rng.IntN(2) == 0 {
		p = PaddleOCRParams()
	}
	if rng.IntN(3) == 0 {
		p.Score = ScoreSlow
	}
	p.Thresh = float32(rng.IntN(90)) / 100
	p.BoxThresh = float32(rng.IntN(90)) / 100
	p.UnclipRatio = 0.2 + 3*rng.Float64()
	p.MaxCandidates = rng.IntN(200)
	return p
}

func TestRandomMapsKeepContract(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 7))
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), -1, 2, 0.3}
	for i := 0; i < 300; i++ {
		w, h := 1+rng.IntN(90), 1+rng.IntN(90)
		m := make([]float32, w*h)
		switch rng.IntN(3) {
		case 0: // noise
			for j := range m {
				m[j] = rng.Float32()
			}
		case 1: // blobs
			for b := rng.IntN(6); b > 0; b-- {
				x0, y0 := rng.IntN(w), rng.IntN(h)
				x1, y1 := min(w-1, x0+rng.IntN(w)), min(h-1, y0+rng.IntN(h/2+1))
				v := 0.3 + 0.7*rng.Float32()
				for y := y0; y <= y1; y++ {
					for x := x0; x <= x1; x++ {
						m[y*w+x] = v
					}
				}
			}
		default: // checkerboards and stripes: many touching contours
			k := 1 + rng.IntN(3)
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					if (x/k+y/k)%2 == 0 || rng.IntN(10) == 0 {
						m[y*w+x] = 0.95
					}
				}
			}
		}
		for j := rng.IntN(4); j > 0; j-- {
			m[rng.IntN(len(m))] = specials[rng.IntN(len(specials))]
		}
		dw, dh := 1+rng.IntN(300), 1+rng.IntN(300)
		p := randomParams(rng)
		boxes, scores, err := Boxes(m, w, h, dw, dh, p)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		checkBoxes(t, boxes, scores, dw, dh, p)
	}
}

func FuzzBoxes(f *testing.F) {
	f.Add(uint8(12), uint8(9), uint16(40), uint16(30), uint8(0), []byte{0, 255, 255, 0, 255, 255, 255, 0, 9, 200})
	f.Add(uint8(1), uint8(1), uint16(1), uint16(1), uint8(3), []byte{255})
	f.Add(uint8(30), uint8(20), uint16(7), uint16(500), uint8(1), make([]byte, 600))
	f.Fuzz(func(t *testing.T, w, h uint8, dw, dh uint16, mode uint8, data []byte) {
		if w == 0 || h == 0 || dw == 0 || dh == 0 || len(data) == 0 {
			return
		}
		m := make([]float32, int(w)*int(h))
		for i := range m {
			m[i] = float32(data[i%len(data)]) / 255
		}
		if len(data) >= 8 {
			// Some raw bit patterns too: NaNs, infinities, negatives.
			m[int(data[0])%len(m)] = math.Float32frombits(binary.LittleEndian.Uint32(data[4:]))
		}
		p := RapidOCRParams()
		if mode&1 == 1 {
			p = PaddleOCRParams()
		}
		if mode&2 == 2 {
			p.Score = ScoreSlow
		}
		boxes, scores, err := Boxes(m, int(w), int(h), int(dw), int(dh), p)
		if err != nil {
			t.Fatal(err)
		}
		checkBoxes(t, boxes, scores, int(dw), int(dh), p)
	})
}
