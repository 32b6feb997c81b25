package imgproc

import (
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// golden is testdata/golden.json.gz, written by testdata/gen_golden.py from
// OpenCV's and numpy's Python bindings.
type golden struct {
	Sources []goldenImage `json:"sources"`
	Resize  []struct {
		Src int         `json:"src"`
		Dst goldenImage `json:"dst"`
	} `json:"resize"`
	Warp []struct {
		Src  int           `json:"src"`
		Quad [4][2]float64 `json:"quad"`
		M    [9]float64    `json:"m"`
		Dst  goldenImage   `json:"dst"`
	} `json:"warp"`
	Norm []struct {
		Formula string     `json:"formula"`
		Mean    [3]float64 `json:"mean"`
		Std     [3]float64 `json:"std"`
		Values  []byte     `json:"values"` // 3×256 little-endian float32, channel-major
	} `json:"norm"`
}

type goldenImage struct {
	W   int    `json:"w"`
	H   int    `json:"h"`
	Pix []byte `json:"pix"`
}

func (g goldenImage) image() *Image { return &Image{W: g.W, H: g.H, Pix: g.Pix} }

func loadGolden(t *testing.T) *golden {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "golden.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.NewDecoder(zr).Decode(&g); err != nil {
		t.Fatal(err)
	}
	return &g
}

// diffImages counts differing bytes and reports the first one.
func diffImages(t *testing.T, name string, got, want *Image) {
	t.Helper()
	if got.W != want.W || got.H != want.H {
		t.Fatalf("%s: size %dx%d, want %dx%d", name, got.W, got.H, want.W, want.H)
	}
	n, first := 0, -1
	for i := range want.Pix {
		if got.Pix[i] != want.Pix[i] {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	if n > 0 {
		px := first / 3
		t.Errorf("%s: %d of %d bytes differ; first at x=%d y=%d c=%d: got %d want %d",
			name, n, len(want.Pix), px%want.W, px/want.W, first%3, got.Pix[first], want.Pix[first])
	}
}

func TestResizeLinearMatchesOpenCV(t *testing.T) {
	g := loadGolden(t)
	if len(g.Resize) == 0 {
		t.Fatal("golden file has no resize cases")
	}
	for _, c := range g.Resize {
		src := g.Sources[c.Src].image()
		got := ResizeLinear(src, c.Dst.W, c.Dst.H)
		diffImages(t, "resize "+sizeName(src)+"->"+sizeName(c.Dst.image()), got, c.Dst.image())
	}
}

func TestWarpPerspectiveMatchesOpenCV(t *testing.T) {
	g := loadGolden(t)
	if len(g.Warp) == 0 {
		t.Fatal("golden file has no warp cases")
	}
	for _, c := range g.Warp {
		src := g.Sources[c.Src].image()
		name := "warp " + sizeName(c.Dst.image())

		m, err := PerspectiveTransform(c.Quad, [4][2]float64{
			{0, 0}, {float64(c.Dst.W), 0}, {float64(c.Dst.W), float64(c.Dst.H)}, {0, float64(c.Dst.H)}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := range m {
			if math.Abs(m[i]-c.M[i]) > 1e-12*math.Max(1, math.Abs(c.M[i])) {
				t.Errorf("%s: M[%d] = %.17g, OpenCV %.17g", name, i, m[i], c.M[i])
			}
		}

		// Sampling alone, from OpenCV's own matrix.
		inv, ok := invert3(c.M)
		if !ok {
			t.Fatalf("%s: OpenCV matrix not invertible", name)
		}
		viaM := New(c.Dst.W, c.Dst.H)
		warpCubic(viaM, src, &inv)
		diffImages(t, name+" (OpenCV matrix)", viaM, c.Dst.image())

		diffImages(t, name, WarpPerspective(src, c.Quad, c.Dst.W, c.Dst.H), c.Dst.image())
	}
}

func TestNormalizerMatchesNumpy(t *testing.T) {
	g := loadGolden(t)
	formulas := map[string]NormFormula{"divide": NormDivide, "scale32": NormScale32, "scale64": NormScale64}
	if len(g.Norm) == 0 {
		t.Fatal("golden file has no normalization cases")
	}
	for _, c := range g.Norm {
		f, ok := formulas[c.Formula]
		if !ok {
			t.Fatalf("unknown formula %q in golden file", c.Formula)
		}
		n, err := NewNormalizer(f, c.Mean, c.Std)
		if err != nil {
			t.Fatal(err)
		}
		for ch := range 3 {
			for v := range 256 {
				off := (ch*256 + v) * 4
				want := math.Float32frombits(binary.LittleEndian.Uint32(c.Values[off:]))
				if got := n.lut[ch][v]; math.Float32bits(got) != math.Float32bits(want) {
					t.Errorf("%s mean %v std %v: channel %d value %d = %.9g, numpy %.9g",
						c.Formula, c.Mean, c.Std, ch, v, got, want)
				}
			}
		}
	}
}

func sizeName(m *Image) string { return fmt.Sprintf("%dx%d", m.W, m.H) }
