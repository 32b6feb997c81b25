package imgproc

import (
	"errors"
	"math"
	"testing"
)

func TestNormalizeCHWKnownPixels(t *testing.T) {
	// 2×1 image: pixel 0 = (B 0, G 255, R 128), pixel 1 = (B 51, G 102, R 204).
	src := planes(2, 1, []uint8{0, 51}, []uint8{255, 102}, []uint8{128, 204})
	const dstW = 4
	dst := make([]float32, 3*1*dstW)
	for i := range dst {
		dst[i] = -7 // sentinel: padding columns must survive
	}
	NormalizeCHW(src, dst, dstW, [3]float32{0.5, 0.5, 0.5}, [3]float32{0.5, 0.5, 0.5})

	f := func(v float32) float32 { return (v/255 - 0.5) / 0.5 }
	want := []float32{
		-1, f(51), -7, -7, // B plane: 0 → -1
		1, f(102), -7, -7, // G plane: 255 → 1
		f(128), f(204), -7, -7,
	}
	for i := range want {
		if math.Float32bits(dst[i]) != math.Float32bits(want[i]) {
			t.Errorf("dst[%d] = %v, want %v", i, dst[i], want[i])
		}
	}
	// 51/255 = 0.2 and 204/255 = 0.8 in float32, so the values are ±0.6.
	if math.Abs(float64(dst[1])+0.6) > 1e-6 || math.Abs(float64(dst[9])-0.6) > 1e-6 {
		t.Errorf("B(1) = %v, R(1) = %v; want -0.6, 0.6", dst[1], dst[9])
	}
}

func TestNormalizeCHWPerChannelStats(t *testing.T) {
	src := planes(1, 2, []uint8{255, 0}, []uint8{255, 0}, []uint8{255, 0})
	dst := make([]float32, 6)
	mean := [3]float32{0.485, 0.456, 0.406}
	std := [3]float32{0.229, 0.224, 0.225}
	NormalizeCHW(src, dst, 1, mean, std)
	for c := range 3 {
		hi := (float32(1) - mean[c]) / std[c]
		lo := (float32(0) - mean[c]) / std[c]
		if dst[c*2] != hi || dst[c*2+1] != lo {
			t.Errorf("channel %d = %v, %v; want %v, %v", c, dst[c*2], dst[c*2+1], hi, lo)
		}
	}
}

func TestNormalizeCHWRejectsBadShapes(t *testing.T) {
	src := New(3, 2)
	n, err := NewNormalizer(NormDivide, [3]float64{0.5, 0.5, 0.5}, [3]float64{0.5, 0.5, 0.5})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		src  *Image
		dst  []float32
		dstW int
	}{
		"short buffer": {src, make([]float32, 3*2*3-1), 3},
		"narrow row":   {src, make([]float32, 100), 2},
		"nil image":    {nil, make([]float32, 100), 3},
	}
	for name, c := range cases {
		for i := range c.dst {
			c.dst[i] = 42
		}
		if err := n.CHW(c.src, c.dst, c.dstW); !errors.Is(err, ErrShape) {
			t.Errorf("%s: err = %v, want ErrShape", name, err)
		}
		NormalizeCHW(c.src, c.dst, c.dstW, [3]float32{0.5, 0.5, 0.5}, [3]float32{0.5, 0.5, 0.5})
		for i, v := range c.dst {
			if v != 42 {
				t.Fatalf("%s: NormalizeCHW wrote dst[%d] = %v", name, i, v)
			}
		}
	}
}

func TestNewNormalizerFormulas(t *testing.T) {
	if _, err := NewNormalizer(NormFormula(99), [3]float64{}, [3]float64{1, 1, 1}); !errors.Is(err, ErrFormula) {
		t.Errorf("unknown formula: err = %v, want ErrFormula", err)
	}
	// Dividing by 255 and multiplying by float32(1/255) round some inputs
	// differently; the table must follow the formula it was asked for.
	div, _ := NewNormalizer(NormDivide, [3]float64{}, [3]float64{1, 1, 1})
	mul, _ := NewNormalizer(NormScale32, [3]float64{}, [3]float64{1, 1, 1})
	differ := 0
	for v := range 256 {
		if div.lut[0][v] != float32(v)/255 {
			t.Fatalf("divide %d = %v", v, div.lut[0][v])
		}
		if mul.lut[0][v] != float32(v)*float32(1.0/255) {
			t.Fatalf("scale %d = %v", v, mul.lut[0][v])
		}
		if div.lut[0][v] != mul.lut[0][v] {
			differ++
		}
	}
	if differ == 0 {
		t.Error("divide and scale formulas agree everywhere; the distinction would be pointless")
	}
}
