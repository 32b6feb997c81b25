package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ocrhost/ocrhost/function/imgproc"
)

var kinds = []error{ErrEmpty, ErrTruncated, ErrCorrupt, ErrUnsupported, ErrZeroSize, ErrTooLarge}

func TestErrorKindsAreDistinct(t *testing.T) {
	for i, a := range kinds {
		for j, b := range kinds {
			if (i == j) != errors.Is(a, b) {
				t.Errorf("errors.Is(%v, %v) = %v", a, b, errors.Is(a, b))
			}
		}
	}
}

func TestEveryFormatDecodes(t *testing.T) {
	src := gradient(37, 23) // odd sizes catch stride and chroma-edge mistakes
	want := reference(src)
	for _, tc := range []struct {
		format  string
		maxDiff float64
	}{
		{"png", 0}, {"bmp", 0}, {"tiff", 0},
		{"jpeg", 3},
		{"gif", 20}, // quantised to the Plan 9 palette
	} {
		t.Run(tc.format, func(t *testing.T) {
			data := encode(t, tc.format, src)
			if got := Sniff(data); got != tc.format {
				t.Fatalf("Sniff = %q", got)
			}
			m, info := mustDecode(t, data)
			if info != (Info{Format: tc.format, Width: 37, Height: 23, Orientation: 1, Pages: 1}) {
				t.Fatalf("info %+v", info)
			}
			cfg, err := DecodeConfig(data)
			if err != nil || cfg != info {
				t.Fatalf("DecodeConfig = %+v, %v; want %+v", cfg, err, info)
			}
			if d := meanAbsDiff(t, m, want); d > tc.maxDiff {
				t.Fatalf("mean abs diff to source %.2f > %.2f", d, tc.maxDiff)
			}
			// Against the library decoder read through the generic colour
			// models, the fast paths must be exact.
			std, err := decodeStd(tc.format, data)
			if err != nil {
				t.Fatal(err)
			}
			requireEqual(t, m, reference(std))
		})
	}
}

func TestFixtureFormats(t *testing.T) {
	gopher, _ := mustDecode(t, readFixture(t, "bw-gopher.png"))
	for _, name := range []string{"bw-gopher_ccittGroup4.tiff", "bw-gopher_ccittGroup3.tiff"} {
		m, info := mustDecode(t, readFixture(t, name))
		if info.Format != "tiff" {
			t.Errorf("%s: format %q", name, info.Format)
		}
		requireEqual(t, m, gopher)
	}

	doc, _ := mustDecode(t, readFixture(t, "gopher-doc.1bpp.png"))
	m, info := mustDecode(t, readFixture(t, "gopher-doc.1bpp.lossless.webp"))
	if info.Format != "webp" {
		t.Errorf("format %q", info.Format)
	}
	requireEqual(t, m, doc)
}

// x/image/webp hands out VP8's video-range planes as image.YCbCr; read as
// JFIF full range the page loses contrast. The lossy file must come out
// close to the PNG it was encoded from, and closer than a JFIF reading.
func TestLossyWebPUsesVideoRange(t *testing.T) {
	data := readFixture(t, "blue-purple-pink.lossy.webp")
	src, _ := mustDecode(t, readFixture(t, "blue-purple-pink.png"))
	m, _ := mustDecode(t, data)
	raw, err := decodeStd("webp", data)
	if err != nil {
		t.Fatal(err)
	}
	jfif := toBGR(raw, convOpts{})
	got, naive := meanAbsDiff(t, m, src), meanAbsDiff(t, jfif, src)
	t.Logf("mean abs diff to source: video range %.2f, JFIF %.2f", got, naive)
	if got > 5 || got > naive/2 {
		t.Fatalf("video-range decode differs by %.2f (JFIF %.2f)", got, naive)
	}
}

func bt601ToRGB(y, u, v uint8) (r, g, b uint8) {
	d := make([]byte, 3)
	bt601Row(d, []byte{y}, []byte{u}, []byte{v}, 0, 0, 0)
	return d[2], d[1], d[0]
}

func TestBT601Formula(t *testing.T) {
	for _, tc := range []struct{ y, u, v, r, g, b uint8 }{
		{16, 128, 128, 0, 0, 0},
		{235, 128, 128, 255, 255, 255},
		{0, 128, 128, 0, 0, 0},
		{255, 128, 128, 255, 255, 255},
	} {
		if r, g, b := bt601ToRGB(tc.y, tc.u, tc.v); r != tc.r || g != tc.g || b != tc.b {
			t.Errorf("bt601ToRGB(%d,%d,%d) = %d,%d,%d; want %d,%d,%d", tc.y, tc.u, tc.v, r, g, b, tc.r, tc.g, tc.b)
		}
	}
	clip := func(f float64) float64 { return min(255, max(0, f)) }
	for y := 16; y <= 235; y += 7 {
		for u := 16; u <= 240; u += 14 {
			for v := 16; v <= 240; v += 14 {
				r, g, b := bt601ToRGB(uint8(y), uint8(u), uint8(v))
				fy, fu, fv := 1.164*float64(y-16), float64(u-128), float64(v-128)
				for i, pair := range [][2]float64{
					{float64(r), clip(fy + 1.596*fv)},
					{float64(g), clip(fy - 0.813*fv - 0.391*fu)},
					{float64(b), clip(fy + 2.018*fu)},
				} {
					if d := pair[0] - pair[1]; d > 1.5 || d < -1.5 {
						t.Fatalf("yuv %d,%d,%d channel %d: %v, BT.601 says %.2f", y, u, v, i, pair[0], pair[1])
					}
				}
			}
		}
	}
}

func TestCMYKJPEG(t *testing.T) {
	dir := filepath.Join(goroot(t), "src", "image", "testdata")
	data, err := os.ReadFile(filepath.Join(dir, "video-001.cmyk.jpeg"))
	if err != nil {
		t.Skipf("Go's CMYK JPEG fixture absent: %v", err)
	}
	refData, err := os.ReadFile(filepath.Join(dir, "video-001.cmyk.png"))
	if err != nil {
		t.Skipf("Go's CMYK reference absent: %v", err)
	}
	m, _ := mustDecode(t, data)
	want, _ := mustDecode(t, refData)
	if d := meanAbsDiff(t, m, want); d > 1.5 {
		t.Fatalf("CMYK JPEG differs from its RGB rendering by %.2f", d)
	}
}

func TestSixteenBit(t *testing.T) {
	g := image.NewGray16(image.Rect(0, 0, 3, 1))
	for x, v := range []uint16{0x12ff, 0xff00, 0x0001} {
		g.SetGray16(x, 0, color.Gray16{v})
	}
	m, _ := mustDecode(t, encode(t, "png", g))
	for x, want := range []uint8{0x12, 0xff, 0x00} {
		if got := bgrAt(m, x, 0); got != [3]uint8{want, want, want} {
			t.Errorf("gray16 pixel %d = %v, want %d", x, got, want)
		}
	}

	c := image.NewNRGBA64(image.Rect(0, 0, 2, 1))
	c.SetNRGBA64(0, 0, color.NRGBA64{0x1000, 0x2000, 0x3000, 0xffff})
	c.SetNRGBA64(1, 0, color.NRGBA64{0xffff, 0xffff, 0xffff, 0}) // transparent: the image takes the RGBA rule
	m, _ = mustDecode(t, encode(t, "png", c))
	// Visible pixel not black → inverted; transparent → white.
	if got := bgrAt(m, 0, 0); got != [3]uint8{255 - 0x30, 255 - 0x20, 255 - 0x10} {
		t.Errorf("RGBA64 visible pixel = %v", got)
	}
	if got := bgrAt(m, 1, 0); got != [3]uint8{255, 255, 255} {
		t.Errorf("RGBA64 transparent pixel = %v", got)
	}
}

// Every fast path must agree with the generic colour-model conversion.
func TestFastPathsMatchGeneric(t *testing.T) {
	r := noisy(19, 13, 7)
	rect := r.Rect
	images := map[string]image.Image{}
	for _, ratio := range []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	} {
		y := image.NewYCbCr(rect, ratio)
		copy(y.Y, r.Pix)
		copy(y.Cb, r.Pix[len(y.Y):])
		copy(y.Cr, r.Pix[7:])
		images["ycbcr-"+ratio.String()] = y
		images["ycbcr-sub-"+ratio.String()] = y.SubImage(image.Rect(3, 5, 17, 12))
		neg := *y
		neg.Rect = rect.Sub(image.Pt(4, 6)) // negative origin: generic path
		images["ycbcr-neg-"+ratio.String()] = &neg
	}
	gray := image.NewGray(rect)
	copy(gray.Pix, r.Pix)
	images["gray"] = gray.SubImage(image.Rect(1, 1, 18, 12))
	g16 := image.NewGray16(rect)
	copy(g16.Pix, r.Pix)
	images["gray16"] = g16
	images["nrgba"] = r.SubImage(image.Rect(2, 3, 19, 13))
	rgba := image.NewRGBA(rect)
	copy(rgba.Pix, r.Pix)
	images["rgba"] = rgba
	n64 := image.NewNRGBA64(rect)
	r64 := image.NewRGBA64(rect)
	for i := range n64.Pix {
		n64.Pix[i], r64.Pix[i] = r.Pix[i/2], r.Pix[i/2]
		if i%8 >= 6 {
			n64.Pix[i], r64.Pix[i] = 0xff, 0xff
		}
	}
	images["nrgba64"], images["rgba64"] = n64, r64
	cmyk := image.NewCMYK(rect)
	copy(cmyk.Pix, r.Pix)
	images["cmyk"] = cmyk
	pal := image.NewPaletted(rect, color.Palette{red, green, blue, white, color.Gray{77}})
	for i := range pal.Pix {
		pal.Pix[i] = r.Pix[i] % 5
	}
	images["paletted"] = pal
	images["alpha16"] = image.NewAlpha16(rect) // no fast path at all

	for name, m := range images {
		got := toBGR(m, convOpts{alpha: alphaRGBA})
		want := reference(m)
		if name == "alpha16" {
			// Fully transparent: the RGBA rule paints it white.
			for i := range want.Pix {
				want.Pix[i] = 255
			}
		}
		t.Run(name, func(t *testing.T) { requireEqual(t, got, want) })
	}
}

func TestPNGColorTypes(t *testing.T) {
	t.Run("gray+alpha", func(t *testing.T) {
		// cvt_two_to_three: gray where alpha≠0, plus 255-alpha, saturating.
		row := []byte{10, 255, 10, 0, 200, 128, 50, 128, 0, 0, 255, 1}
		m, _ := mustDecode(t, buildPNG(t, 6, 1, 4, [][]byte{row}))
		for x, want := range []uint8{10, 255, 255, 177, 255, 255} {
			if got := bgrAt(m, x, 0); got != [3]uint8{want, want, want} {
				t.Errorf("pixel %d = %v, want %d", x, got, want)
			}
		}
	})
	t.Run("rgb with tRNS keeps colour", func(t *testing.T) {
		// PIL opens this as mode RGB, so RapidOCR never sees the alpha Go
		// derives from tRNS.
		row := []byte{10, 20, 30, 200, 100, 50}
		trns := pngChunk("tRNS", []byte{0, 10, 0, 20, 0, 30})
		m, _ := mustDecode(t, buildPNG(t, 2, 1, 2, [][]byte{row}, trns))
		if got := bgrAt(m, 0, 0); got != [3]uint8{30, 20, 10} {
			t.Errorf("tRNS pixel = %v, want its colour", got)
		}
		if got := bgrAt(m, 1, 0); got != [3]uint8{50, 100, 200} {
			t.Errorf("pixel = %v", got)
		}
	})
	t.Run("gray with tRNS keeps gray", func(t *testing.T) {
		m, _ := mustDecode(t, buildPNG(t, 2, 1, 0, [][]byte{{7, 9}}, pngChunk("tRNS", []byte{0, 7})))
		if got := bgrAt(m, 0, 0); got != [3]uint8{7, 7, 7} {
			t.Errorf("pixel = %v", got)
		}
	})
	t.Run("paletted with transparency", func(t *testing.T) {
		p := image.NewPaletted(image.Rect(0, 0, 3, 1), color.Palette{color.NRGBA{0, 0, 0, 0}, color.NRGBA{0, 0, 0, 255}, color.NRGBA{0, 0, 0, 128}})
		p.Pix = []uint8{0, 1, 2}
		m, _ := mustDecode(t, encode(t, "png", p))
		// All visible pixels black: background becomes white, alpha 128 → 127.
		for x, want := range []uint8{255, 0, 127} {
			if got := bgrAt(m, x, 0); got != [3]uint8{want, want, want} {
				t.Errorf("pixel %d = %v, want %d", x, got, want)
			}
		}
	})
	t.Run("opaque RGBA is left alone", func(t *testing.T) {
		// RapidOCR 1.4 would invert this (mean ≠ 0); see withAlpha.
		src := gradient(5, 4)
		m, _ := mustDecode(t, encode(t, "png", src))
		requireEqual(t, m, reference(src))
	})
}

func TestRGBARule(t *testing.T) {
	img := func(px ...color.NRGBA) []byte {
		m := image.NewNRGBA(image.Rect(0, 0, len(px), 1))
		for x, c := range px {
			m.SetNRGBA(x, 0, c)
		}
		return encode(t, "png", m)
	}
	check := func(t *testing.T, m *imgproc.Image, want ...[3]uint8) {
		t.Helper()
		for x, w := range want {
			if got := bgrAt(m, x, 0); got != w {
				t.Errorf("pixel %d = %v, want %v", x, got, w)
			}
		}
	}
	t.Run("dark text gets a white background", func(t *testing.T) {
		// Hidden colour under alpha 0 is masked away and does not count.
		m, _ := mustDecode(t, img(color.NRGBA{0, 0, 0, 255}, color.NRGBA{255, 0, 0, 0}, color.NRGBA{0, 0, 0, 100}))
		check(t, m, [3]uint8{0, 0, 0}, [3]uint8{255, 255, 255}, [3]uint8{155, 155, 155})
	})
	t.Run("light text is inverted", func(t *testing.T) {
		m, _ := mustDecode(t, img(color.NRGBA{255, 255, 255, 255}, color.NRGBA{0, 0, 0, 0}, color.NRGBA{10, 20, 30, 255}, color.NRGBA{100, 100, 100, 50}))
		check(t, m, [3]uint8{0, 0, 0}, [3]uint8{255, 255, 255}, [3]uint8{225, 235, 245}, [3]uint8{155, 155, 155})
	})
	t.Run("gif transparent index", func(t *testing.T) {
		p := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.RGBA{}, color.RGBA{255, 255, 255, 255}})
		p.Pix = []uint8{0, 1}
		m, _ := mustDecode(t, encode(t, "gif", p))
		check(t, m, [3]uint8{255, 255, 255}, [3]uint8{0, 0, 0})
	})
}

// The three RapidOCR test images must all come out as dark text on a light
// page: black-on-transparent (white background added), white-on-transparent
// (inverted), and short.png (opaque RGB).
func TestTransparentTestImagesAreDarkOnLight(t *testing.T) {
	black, _ := mustDecode(t, readExternal(t, "rapidocr_black_font_color_transparent.png"))
	white, _ := mustDecode(t, readExternal(t, "rapidocr_white_font_color_transparent.png"))
	short, _ := mustDecode(t, readExternal(t, "rapidocr_short.png"))
	for name, m := range map[string]*imgproc.Image{"black": black, "white": white, "short": short} {
		var sum, dark, border, borderN int
		for y := range m.H {
			for x := range m.W {
				v := int(m.Pix[m.Offset(x, y)+1])
				sum += v
				if v < 160 { // short.png's small text is anti-aliased gray
					dark++
				}
				if x == 0 || y == 0 || x == m.W-1 || y == m.H-1 {
					border += v
					borderN++
				}
			}
		}
		n := m.W * m.H
		mean, borderMean, darkFrac := float64(sum)/float64(n), float64(border)/float64(borderN), float64(dark)/float64(n)
		t.Logf("%s: mean %.1f, border mean %.1f, dark %.2f%%", name, mean, borderMean, 100*darkFrac)
		if mean < 170 || borderMean < 200 || darkFrac < 0.005 || darkFrac > 0.4 {
			t.Errorf("%s is not dark text on a light page: mean %.1f, border %.1f, dark fraction %.3f", name, mean, borderMean, darkFrac)
		}
	}
	// Same alpha, opposite hidden colour: both rules must land on one image.
	requireEqual(t, white, black)
}

func TestNPYMatchesRapidOCRComposite(t *testing.T) {
	m, info := mustDecode(t, readExternal(t, "rapidocr_two_dim_image.npy"))
	if info != (Info{Format: "npy", Width: 300, Height: 27, Orientation: 1, Pages: 1}) {
		t.Fatalf("info %+v", info)
	}
	want, _ := mustDecode(t, readExternal(t, "rapidocr_two_dim_image_composited.png"))
	requireEqual(t, m, want)
}

func TestNPY(t *testing.T) {
	t.Run("gray 2-D and (H,W,1)", func(t *testing.T) {
		for _, shape := range [][]int{{2, 3}, {2, 3, 1}} {
			m, _ := mustDecode(t, buildNPY("|u1", false, shape, []byte{1, 2, 3, 4, 5, 6}))
			if got := bgrAt(m, 2, 1); got != [3]uint8{6, 6, 6} {
				t.Errorf("shape %v: pixel (2,1) = %v", shape, got)
			}
		}
	})
	t.Run("three channels are already BGR", func(t *testing.T) {
		m, _ := mustDecode(t, buildNPY("<u1", false, []int{1, 2, 3}, []byte{1, 2, 3, 4, 5, 6}))
		if !bytes.Equal(m.Pix, []byte{1, 2, 3, 4, 5, 6}) {
			t.Errorf("pix %v", m.Pix)
		}
	})
	t.Run("four channels are RGBA", func(t *testing.T) {
		m, _ := mustDecode(t, buildNPY("|u1", false, []int{1, 2, 4}, []byte{1, 2, 3, 255, 4, 5, 6, 255}))
		if !bytes.Equal(m.Pix, []byte{3, 2, 1, 6, 5, 4}) {
			t.Errorf("pix %v", m.Pix)
		}
	})
	t.Run("fortran order", func(t *testing.T) {
		// (H=2, W=3, C=2) with gray = 10*y+x and alpha 255; column-major.
		var c, f []byte
		for y := range 2 {
			for x := range 3 {
				c = append(c, byte(10*y+x), 255)
			}
		}
		for k := range 2 {
			for x := range 3 {
				for y := range 2 {
					f = append(f, c[(y*3+x)*2+k])
				}
			}
		}
		mc, _ := mustDecode(t, buildNPY("|u1", false, []int{2, 3, 2}, c))
		mf, _ := mustDecode(t, buildNPY("|u1", true, []int{2, 3, 2}, f))
		requireEqual(t, mf, mc)
		if got := bgrAt(mf, 2, 1); got != [3]uint8{12, 12, 12} {
			t.Errorf("pixel (2,1) = %v", got)
		}
	})
	t.Run("version 2 header", func(t *testing.T) {
		v1 := buildNPY("|u1", false, []int{1, 1}, []byte{9})
		hlen := binary.LittleEndian.Uint16(v1[8:10])
		v2 := append([]byte("\x93NUMPY\x02\x00"), binary.LittleEndian.AppendUint32(nil, uint32(hlen))...)
		v2 = append(v2, v1[10:]...)
		m, _ := mustDecode(t, v2)
		if m.Pix[0] != 9 {
			t.Errorf("pix %v", m.Pix)
		}
	})
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"float dtype", buildNPY("<f4", false, []int{1, 1}, make([]byte, 4)), ErrUnsupported},
		{"4-D", buildNPY("|u1", false, []int{1, 1, 1, 1}, []byte{1}), ErrUnsupported},
		{"5 channels", buildNPY("|u1", false, []int{1, 1, 5}, make([]byte, 5)), ErrUnsupported},
		{"version 9", []byte("\x93NUMPY\x09\x00\x00\x00"), ErrUnsupported},
		{"short data", buildNPY("|u1", false, []int{4, 4}, make([]byte, 15)), ErrTruncated},
		{"short header", buildNPY("|u1", false, []int{4, 4}, nil)[:30], ErrTruncated},
		{"zero rows", buildNPY("|u1", false, []int{0, 4}, nil), ErrZeroSize},
		{"huge", buildNPY("|u1", false, []int{100000, 100000}, nil), ErrTooLarge},
		{"beyond int32", buildNPY("|u1", false, []int{1, 99999999999}, nil), ErrTooLarge},
		{"garbage dict", append([]byte("\x93NUMPY\x01\x00\x08\x00"), "{'x': 1}"...), ErrCorrupt},
		{"missing key", append([]byte("\x93NUMPY\x01\x00\x12\x00"), "{'descr': '|u1', }"...), ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := Decode(tc.data); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSharedImagesDecode(t *testing.T) {
	dir := externalDir(t)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		switch filepath.Ext(e.Name()) {
		case ".jpg", ".png", ".tif", ".npy":
		default:
			continue
		}
		n++
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := DecodeConfig(data)
		if err != nil {
			t.Errorf("%s: DecodeConfig: %v", e.Name(), err)
			continue
		}
		m, info, err := Decode(data)
		if err != nil {
			t.Errorf("%s: Decode: %v", e.Name(), err)
			continue
		}
		if info != cfg || m.W != info.Width || m.H != info.Height {
			t.Errorf("%s: Decode %dx%d %+v, DecodeConfig %+v", e.Name(), m.W, m.H, info, cfg)
		}
	}
	if n < 20 {
		t.Errorf("only %d shared images found", n)
	}
	// Known sizes: 1-bit TIFF, 1-bit gray and paletted PNGs.
	for name, want := range map[string][2]int{
		"tesseract_phototest.tif":             {640, 480},
		"rapidocr_issue_170.png":              {800, 566},
		"tesseract_phototest-rotated-180.png": {640, 480},
	} {
		m, _ := mustDecode(t, readExternal(t, name))
		if m.W != want[0] || m.H != want[1] {
			t.Errorf("%s: %dx%d, want %v", name, m.W, m.H, want)
		}
		for _, v := range m.Pix {
			if v != 0 && v != 255 {
				t.Errorf("%s: bilevel image has value %d", name, v)
				break
			}
		}
	}
}

func TestEXIFOrientationSharedFile(t *testing.T) {
	data := readExternal(t, "rapidocr_img_exif_orientation.jpg")
	m, info := mustDecode(t, data)
	if info.Orientation != 3 {
		t.Fatalf("orientation %d, want 3", info.Orientation)
	}
	raw, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	r := reference(raw)
	// 180° rotation reverses the pixel order.
	rot := imgproc.New(r.W, r.H)
	n := r.W * r.H
	for i := range n {
		copy(rot.Pix[3*(n-1-i):3*(n-i)], r.Pix[3*i:3*i+3])
	}
	requireEqual(t, m, rot)
}

// Where each source quadrant (TL red, TR green, BL blue, BR white) lands.
var orientationQuadrants = map[uint16][4]color.NRGBA{
	1: {red, green, blue, white},
	2: {green, red, white, blue},
	3: {white, blue, green, red},
	4: {blue, white, red, green},
	5: {red, blue, green, white},
	6: {blue, red, white, green},
	7: {white, green, blue, red},
	8: {green, white, red, blue},
}

func nearest(c [3]uint8) color.NRGBA {
	best, bestD := red, 1<<30
	for _, q := range []color.NRGBA{red, green, blue, white} {
		d := 0
		for i, v := range []uint8{q.B, q.G, q.R} {
			d += (int(c[i]) - int(v)) * (int(c[i]) - int(v))
		}
		if d < bestD {
			best, bestD = q, d
		}
	}
	return best
}

func TestEXIFOrientationJPEG(t *testing.T) {
	base := encode(t, "jpeg", quadrants(64, 32))
	for o := uint16(1); o <= 8; o++ {
		for _, bo := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
			m, info := mustDecode(t, withJPEGExif(base, o, bo))
			wantW, wantH := 64, 32
			if o >= 5 {
				wantW, wantH = 32, 64
			}
			if info.Orientation != int(o) || m.W != wantW || m.H != wantH {
				t.Fatalf("orientation %d: got %d, %dx%d", o, info.Orientation, m.W, m.H)
			}
			cfg, err := DecodeConfig(withJPEGExif(base, o, bo))
			if err != nil || cfg != info {
				t.Fatalf("orientation %d: DecodeConfig %+v, %v", o, cfg, err)
			}
			qw, qh := m.W/4, m.H/4
			for i, p := range [][2]int{{qw, qh}, {3 * qw, qh}, {qw, 3 * qh}, {3 * qw, 3 * qh}} {
				if got, want := nearest(bgrAt(m, p[0], p[1])), orientationQuadrants[o][i]; got != want {
					t.Errorf("orientation %d %v: quadrant %d is %v, want %v", o, bo, i, got, want)
				}
			}
		}
	}
}

// orient must map pixels exactly; the expected source of each output pixel
// is written here as the inverse mapping, independently of orient's.
func TestOrientPixelExact(t *testing.T) {
	w, h := 5, 3
	src := imgproc.New(w, h)
	for i := range src.Pix {
		src.Pix[i] = uint8(i)
	}
	inverse := map[int]func(X, Y int) (int, int){
		2: func(X, Y int) (int, int) { return w - 1 - X, Y },
		3: func(X, Y int) (int, int) { return w - 1 - X, h - 1 - Y },
		4: func(X, Y int) (int, int) { return X, h - 1 - Y },
		5: func(X, Y int) (int, int) { return Y, X },
		6: func(X, Y int) (int, int) { return Y, h - 1 - X },
		7: func(X, Y int) (int, int) { return w - 1 - Y, h - 1 - X },
		8: func(X, Y int) (int, int) { return w - 1 - Y, X },
	}
	for o, inv := range inverse {
		got := orient(src, o)
		for Y := range got.H {
			for X := range got.W {
				x, y := inv(X, Y)
				if bgrAt(got, X, Y) != bgrAt(src, x, y) {
					t.Fatalf("orientation %d: (%d,%d) is not source (%d,%d)", o, X, Y, x, y)
				}
			}
		}
	}
	if orient(src, 1) != src || orient(src, 9) != src {
		t.Error("orientation 1 or invalid must return the image unchanged")
	}
}

func TestEXIFOrientationOtherContainers(t *testing.T) {
	src := image.NewGray(image.Rect(0, 0, 3, 2))
	copy(src.Pix, []uint8{1, 2, 3, 4, 5, 6})
	// Orientation 6: output row 0 is the source's first column, bottom up.
	want := [][]uint8{{4, 1}, {5, 2}, {6, 3}}
	checkRotated := func(t *testing.T, data []byte) {
		t.Helper()
		m, info := mustDecode(t, data)
		if info.Orientation != 6 || m.W != 2 || m.H != 3 {
			t.Fatalf("info %+v", info)
		}
		for y, row := range want {
			for x, v := range row {
				if got := bgrAt(m, x, y); got != [3]uint8{v, v, v} {
					t.Errorf("(%d,%d) = %v, want %d", x, y, got, v)
				}
			}
		}
	}
	t.Run("png eXIf", func(t *testing.T) {
		checkRotated(t, buildPNG(t, 3, 2, 0, [][]byte{{1, 2, 3}, {4, 5, 6}}, pngChunk("eXIf", exifTIFF(6, binary.BigEndian))))
	})
	t.Run("tiff tag", func(t *testing.T) {
		checkRotated(t, buildTIFF([]tiffPage{{w: 3, h: 2, pix: src.Pix, orientation: 6}}))
	})
	t.Run("webp EXIF chunk", func(t *testing.T) {
		// Re-wrap the lossless fixture as an extended (VP8X) file with EXIF.
		simple := readFixture(t, "gopher-doc.1bpp.lossless.webp")
		plain, _ := mustDecode(t, simple)
		vp8x := []byte{0x08, 0, 0, 0}
		vp8x = append(vp8x, byte(plain.W-1), byte((plain.W-1)>>8), byte((plain.W-1)>>16))
		vp8x = append(vp8x, byte(plain.H-1), byte((plain.H-1)>>8), byte((plain.H-1)>>16))
		chunk := func(id string, body []byte) []byte {
			c := binary.LittleEndian.AppendUint32([]byte(id), uint32(len(body)))
			c = append(c, body...)
			if len(body)%2 == 1 {
				c = append(c, 0)
			}
			return c
		}
		body := []byte("WEBP")
		body = append(body, chunk("VP8X", vp8x)...)
		body = append(body, simple[12:]...) // the VP8L chunk
		body = append(body, chunk("EXIF", exifTIFF(8, binary.LittleEndian))...)
		data := binary.LittleEndian.AppendUint32([]byte("RIFF"), uint32(len(body)))
		m, info := mustDecode(t, append(data, body...))
		if info.Orientation != 8 {
			t.Fatalf("orientation %d", info.Orientation)
		}
		requireEqual(t, m, orient(plain, 8))
	})
}

func TestPages(t *testing.T) {
	t.Run("tiff", func(t *testing.T) {
		data := buildTIFF([]tiffPage{{w: 2, h: 1, pix: []byte{1, 2}}, {w: 3, h: 3, pix: make([]byte, 9)}, {w: 1, h: 1, pix: []byte{0}}})
		m, info := mustDecode(t, data)
		if info.Pages != 3 || m.W != 2 || m.H != 1 || bgrAt(m, 1, 0) != [3]uint8{2, 2, 2} {
			t.Fatalf("info %+v, first page %dx%d %v", info, m.W, m.H, m.Pix)
		}
	})
	t.Run("gif", func(t *testing.T) {
		pal := color.Palette{color.Gray{0}, color.Gray{255}, color.Gray{128}}
		frame := func(r image.Rectangle, idx uint8) *image.Paletted {
			p := image.NewPaletted(r, pal)
			for i := range p.Pix {
				p.Pix[i] = idx
			}
			return p
		}
		var b bytes.Buffer
		err := gif.EncodeAll(&b, &gif.GIF{
			Image:           []*image.Paletted{frame(image.Rect(2, 1, 5, 3), 0), frame(image.Rect(0, 0, 6, 4), 2), frame(image.Rect(0, 0, 6, 4), 2)},
			Delay:           []int{0, 0, 0},
			Config:          image.Config{ColorModel: pal, Width: 6, Height: 4},
			BackgroundIndex: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		m, info := mustDecode(t, b.Bytes())
		if info.Pages != 3 || m.W != 6 || m.H != 4 {
			t.Fatalf("info %+v", info)
		}
		// The first frame covers (2,1)-(5,3); the rest shows the background.
		if bgrAt(m, 2, 1) != [3]uint8{0, 0, 0} || bgrAt(m, 0, 0) != [3]uint8{255, 255, 255} || bgrAt(m, 5, 3) != [3]uint8{255, 255, 255} {
			t.Errorf("canvas %v", m.Pix)
		}
	})
}

func TestErrors(t *testing.T) {
	pngData := encode(t, "png", noisy(32, 32, 1))
	jpegData := encode(t, "jpeg", noisy(32, 32, 2))
	bmpData := encode(t, "bmp", gradient(4, 4))

	corruptPNG := bytes.Clone(pngData)
	corruptPNG[len(corruptPNG)/2] ^= 0xff // IDAT checksum no longer matches

	zeroBMP := bytes.Clone(bmpData)
	binary.LittleEndian.PutUint32(zeroBMP[18:], 0)

	zeroJPEG := bytes.Clone(jpegData)
	sof := bytes.Index(zeroJPEG, []byte{0xff, 0xc0})
	zeroJPEG[sof+5], zeroJPEG[sof+6] = 0, 0

	gifHeader := []byte("GIF89a\x00\x00\x00\x00\x00\x00\x00")
	badGIF := append([]byte("GIF89a\x02\x00\x02\x00\x00\x00\x00"), 0x99, 0x3b)

	animatedWebP := append([]byte("RIFF\x16\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00"), 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0)

	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"nil", nil, ErrEmpty},
		{"empty", []byte{}, ErrEmpty},
		{"text", []byte("hello, world"), ErrUnsupported},
		{"bigtiff", []byte("II+\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), ErrUnsupported},
		{"animated webp", animatedWebP, ErrUnsupported},
		{"jpeg 12-bit", bytes.Replace(jpegData, []byte{0xff, 0xc0, 0x00, 0x11, 0x08}, []byte{0xff, 0xc0, 0x00, 0x11, 0x0c}, 1), ErrUnsupported},
		{"png prefix of signature", pngData[:5], ErrTruncated},
		{"png checksum", corruptPNG, ErrCorrupt},
		{"png IHDR missing", append(append(bytes.Clone(pngData[:8]), pngChunk("IDAT", make([]byte, 20))...), pngChunk("IEND", nil)...), ErrCorrupt},
		{"jpeg without SOF", []byte{0xff, 0xd8, 0xff, 0xda, 0x00, 0x02, 0xff, 0xd9}, ErrCorrupt},
		{"gif unknown block", badGIF, ErrCorrupt},
		{"png garbage after signature", []byte("\x89PNG\r\n\x1a\nthis is not a chunk structure, just text that goes on"), ErrCorrupt},
		{"png garbage chunk type", append(bytes.Clone(pngData[:33]), "\x00\x00\xff\xff\x01\x02\x03\x04 and more text"...), ErrCorrupt},
		{"jpeg garbage after signature", []byte("\xff\xd8\xffgarbage that is no marker segment at all"), ErrCorrupt},
		{"png zero width", buildPNG(t, 0, 1, 0, nil), ErrZeroSize},
		{"gif zero size", append(gifHeader, 0x3b), ErrZeroSize},
		{"bmp zero width", zeroBMP, ErrZeroSize},
		{"jpeg zero height", zeroJPEG, ErrZeroSize},
		{"tiff zero width", buildTIFF([]tiffPage{{w: 0, h: 1}}), ErrZeroSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _, err := Decode(tc.data)
			if !errors.Is(err, tc.want) || m != nil {
				t.Fatalf("Decode err = %v, want %v", err, tc.want)
			}
			for _, k := range kinds {
				if k != tc.want && errors.Is(err, k) {
					t.Fatalf("%v also matches %v", err, k)
				}
			}
		})
	}
}

func TestGuardRecoversPanics(t *testing.T) {
	err := guard("png", nil, func() error { panic("decoder bug") })
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "decoder bug") {
		t.Fatalf("err = %v", err)
	}
}

// bombPNG claims 100000×100000 RGB behind a valid IHDR CRC.
func bombPNG() []byte {
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, ihdr(100000, 100000, 8, 2)...)
	out = append(out, pngChunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})...)
	return append(out, pngChunk("IEND", nil)...)
}

func TestDecompressionBombIsRefusedCheaply(t *testing.T) {
	data := bombPNG()
	if _, err := png.DecodeConfig(bytes.NewReader(data)); err != nil {
		t.Fatalf("the crafted header must be valid: %v", err)
	}
	_, info, err := Decode(data)
	if !errors.Is(err, ErrTooLarge) || info.Width != 100000 || info.Height != 100000 {
		t.Fatalf("Decode = %+v, %v", info, err)
	}
	if _, err := DecodeConfig(data); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("DecodeConfig err = %v", err)
	}

	allocs := testing.AllocsPerRun(20, func() { Decode(data) })
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		Decode(data)
	}
	runtime.ReadMemStats(&after)
	perCall := (after.TotalAlloc - before.TotalAlloc) / 10
	t.Logf("bomb refusal: %.0f allocs, %d bytes per call", allocs, perCall)
	if allocs > 30 || perCall > 16<<10 {
		t.Fatalf("refusing the bomb cost %.0f allocs and %d bytes", allocs, perCall)
	}
}

func TestPixelLimitEveryFormat(t *testing.T) {
	src := gradient(40, 30) // 1200 pixels
	files := map[string][]byte{
		"npy":  buildNPY("|u1", false, []int{30, 40}, make([]byte, 1200)),
		"webp": readFixture(t, "gopher-doc.1bpp.lossless.webp"),
		"g4":   readFixture(t, "bw-gopher_ccittGroup4.tiff"),
	}
	for _, f := range []string{"png", "jpeg", "gif", "bmp", "tiff"} {
		files[f] = encode(t, f, src)
	}
	for name, data := range files {
		cfg, err := DecodeConfig(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n := int64(cfg.Width * cfg.Height)
		if _, _, err := Decode(data, WithMaxPixels(n)); err != nil {
			t.Errorf("%s: at the limit: %v", name, err)
		}
		if _, info, err := Decode(data, WithMaxPixels(n-1)); !errors.Is(err, ErrTooLarge) || info.Width != cfg.Width {
			t.Errorf("%s: one pixel over the limit: %+v, %v", name, info, err)
		}
		if _, _, err := Decode(data, WithMaxPixels(0)); err != nil {
			t.Errorf("%s: WithMaxPixels(0) must keep the default: %v", name, err)
		}
	}
}

func TestTruncation(t *testing.T) {
	files := map[string][]byte{
		"png":  encode(t, "png", noisy(64, 64, 3)),
		"jpeg": encode(t, "jpeg", noisy(64, 64, 4)),
		"gif":  encode(t, "gif", noisy(64, 64, 5)),
		"bmp":  encode(t, "bmp", noisy(64, 64, 6)),
		"tiff": buildTIFF([]tiffPage{{w: 64, h: 64, pix: make([]byte, 4096)}}),
		"g4":   readFixture(t, "bw-gopher_ccittGroup4.tiff"),
		"webp": readFixture(t, "blue-purple-pink.lossy.webp"),
		"npy":  buildNPY("|u1", false, []int{64, 64}, make([]byte, 4096)),
	}
	progressive := filepath.Join(goroot(t), "src", "image", "testdata", "video-001.progressive.jpeg")
	if b, err := os.ReadFile(progressive); err == nil {
		files["progressive jpeg"] = b
	}
	for name, data := range files {
		mustDecode(t, data)
		n := len(data)
		cuts := []int{1, 3, 7, 12, 20, 40, 100, n / 3, n / 2, 2 * n / 3, n - 40, n - 13, n - 2, n - 1}
		switch name {
		case "tiff": // strips first, then the directory
			cuts = []int{1, 3, 7, 12, n / 2, n - 2}
		case "g4": // strip, directory, then resolution values no decoder needs
			cuts = []int{1, 3, 7, 12, n / 3, n / 2}
		}
		if name == "gif" {
			cuts = cuts[:len(cuts)-1] // a GIF missing only its trailer still has a whole first frame
		}
		for _, cut := range cuts {
			if cut <= 0 || cut >= n {
				continue
			}
			m, _, err := Decode(data[:cut])
			if !errors.Is(err, ErrTruncated) || m != nil {
				t.Errorf("%s cut at %d of %d: err = %v, want ErrTruncated", name, cut, n, err)
			}
		}
	}
}

func TestSniff(t *testing.T) {
	for data, want := range map[string]string{
		"\x89PNG\r\n\x1a\nrest":              "png",
		"\xff\xd8\xff\xe0":                   "jpeg",
		"GIF87a..":                           "gif",
		"GIF89a..":                           "gif",
		"II*\x00....":                        "tiff",
		"MM\x00*....":                        "tiff",
		"BM\x01\x02\x03\x04\x00\x00\x00\x00": "bmp",
		"BM says the text":                   "",
		"RIFF\x00\x00\x00\x00WEBPVP8 ":       "webp",
		"RIFF\x00\x00\x00\x00WAVEfmt ":       "",
		"\x93NUMPY\x01\x00":                  "npy",
		"\x89PNG":                            "",
		"":                                   "",
	} {
		if got := Sniff([]byte(data)); got != want {
			t.Errorf("Sniff(%q) = %q, want %q", data, got, want)
		}
	}
}

func TestFormatFromContentType(t *testing.T) {
	for ct, want := range map[string]string{
		"image/png":             "png",
		"IMAGE/PNG":             "png",
		"image/jpeg; charset=x": "jpeg",
		"image/jpg":             "jpeg",
		"image/tiff":            "tiff",
		"image/bmp":             "bmp",
		"image/x-ms-bmp":        "bmp",
		"image/webp":            "webp",
		"image/gif":             "gif",
		"application/x-npy":     "npy",
		" application/x-npy ":   "npy",
	} {
		got, err := FormatFromContentType(ct)
		if err != nil || got != want {
			t.Errorf("FormatFromContentType(%q) = %q, %v; want %q", ct, got, err, want)
		}
	}
	for _, ct := range []string{"", "text/plain", "application/octet-stream", "image/heic", "image/png; ;;"} {
		if got, err := FormatFromContentType(ct); !errors.Is(err, ErrUnsupported) || got != "" {
			t.Errorf("FormatFromContentType(%q) = %q, %v; want ErrUnsupported", ct, got, err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	var buf bytes.Buffer
	src := gradient(1000, 1000)
	for i := range src.Pix {
		src.Pix[i] ^= uint8(i * 2654435761 >> 24 & 15) // some texture
	}
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.Run("image-jpeg", func(b *testing.B) {
		for b.Loop() {
			if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("imageio", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := Decode(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
