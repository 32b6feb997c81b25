package imageio

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/ocrhost/ocrhost/function/imgproc"
)

// externalDir is /work/shared/testdata/external located as ../shared from
// the module root.
func externalDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("no go.mod above the package directory")
		}
		dir = parent
	}
	ext := filepath.Join(dir, "..", "shared", "testdata", "external")
	if _, err := os.Stat(ext); err != nil {
		t.Skipf("shared test data absent: %v", err)
	}
	return ext
}

func readExternal(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(externalDir(t), name))
	if err != nil {
		t.Skipf("shared test file absent: %v", err)
	}
	return b
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// gradient is an opaque image in which neighbouring pixels differ in every
// channel, so any mix-up of channels or positions shows.
func gradient(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, color.NRGBA{uint8(x * 7), uint8(y * 11), uint8(x*3 + y*5 + 40), 255})
		}
	}
	return m
}

// noisy has texture, so compressed streams are long enough to cut.
func noisy(w, h int, seed uint64) *image.NRGBA {
	r := rand.New(rand.NewPCG(seed, 1))
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = uint8(r.IntN(256))
		if i%4 == 3 {
			m.Pix[i] = 255
		}
	}
	return m
}

var (
	red   = color.NRGBA{255, 0, 0, 255}
	green = color.NRGBA{0, 255, 0, 255}
	blue  = color.NRGBA{0, 0, 255, 255}
	white = color.NRGBA{255, 255, 255, 255}
)

// quadrants is red/green over blue/white, with quadrant edges on JPEG MCU
// boundaries when w and h are multiples of 32.
func quadrants(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := [2][2]color.NRGBA{{red, green}, {blue, white}}[y*2/h][x*2/w]
			m.SetNRGBA(x, y, c)
		}
	}
	return m
}

func encode(t testing.TB, format string, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, m)
	case "jpeg":
		err = jpeg.Encode(&b, m, &jpeg.Options{Quality: 95})
	case "gif":
		err = gif.Encode(&b, m, nil)
	case "bmp":
		err = bmp.Encode(&b, m)
	case "tiff":
		err = tiff.Encode(&b, m, &tiff.Options{Compression: tiff.Deflate})
	default:
		t.Fatalf("no encoder for %s", format)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// reference converts through the generic colour models only.
func reference(m image.Image) *imgproc.Image {
	b := m.Bounds()
	out := imgproc.New(b.Dx(), b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(m.At(x, y)).(color.NRGBA)
			o := out.Offset(x-b.Min.X, y-b.Min.Y)
			out.Pix[o], out.Pix[o+1], out.Pix[o+2] = c.B, c.G, c.R
		}
	}
	return out
}

func meanAbsDiff(t testing.TB, a, b *imgproc.Image) float64 {
	t.Helper()
	if a.W != b.W || a.H != b.H {
		t.Fatalf("sizes differ: %dx%d vs %dx%d", a.W, a.H, b.W, b.H)
	}
	var sum float64
	for i := range a.Pix {
		sum += math.Abs(float64(a.Pix[i]) - float64(b.Pix[i]))
	}
	return sum / float64(len(a.Pix))
}

func requireEqual(t testing.TB, got, want *imgproc.Image) {
	t.Helper()
	if got.W != want.W || got.H != want.H {
		t.Fatalf("size %dx%d, want %dx%d", got.W, got.H, want.W, want.H)
	}
	for i := range got.Pix {
		if got.Pix[i] != want.Pix[i] {
			p := i / 3
			t.Fatalf("pixel (%d,%d) channel %d = %d, want %d", p%got.W, p/got.W, i%3, got.Pix[i], want.Pix[i])
		}
	}
}

func bgrAt(m *imgproc.Image, x, y int) [3]uint8 {
	o := m.Offset(x, y)
	return [3]uint8{m.Pix[o], m.Pix[o+1], m.Pix[o+2]}
}

func mustDecode(t testing.TB, data []byte, opts ...Option) (*imgproc.Image, Info) {
	t.Helper()
	m, info, err := Decode(data, opts...)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if m.W != info.Width || m.H != info.Height || len(m.Pix) != m.W*m.H*3 {
		t.Fatalf("image %dx%d (%d bytes) disagrees with info %+v", m.W, m.H, len(m.Pix), info)
	}
	return m, info
}

// PNG building, for colour types and chunks Go's encoder never writes.

func pngChunk(typ string, body []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(body)))
	b.WriteString(typ)
	b.Write(body)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), body...)))
	return b.Bytes()
}

func ihdr(w, h uint32, depth, colorType byte) []byte {
	body := binary.BigEndian.AppendUint32(nil, w)
	body = binary.BigEndian.AppendUint32(body, h)
	return pngChunk("IHDR", append(body, depth, colorType, 0, 0, 0))
}

// buildPNG writes unfiltered 8-bit rows; extra chunks go before IDAT.
func buildPNG(t testing.TB, w, h int, colorType byte, rows [][]byte, extra ...[]byte) []byte {
	t.Helper()
	var raw bytes.Buffer
	for _, r := range rows {
		raw.WriteByte(0)
		raw.Write(r)
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw.Bytes())
	zw.Close()
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, ihdr(uint32(w), uint32(h), 8, colorType)...)
	for _, c := range extra {
		out = append(out, c...)
	}
	out = append(out, pngChunk("IDAT", z.Bytes())...)
	return append(out, pngChunk("IEND", nil)...)
}

type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// exifTIFF is a minimal EXIF block: IFD0 holding only the orientation.
func exifTIFF(orientation uint16, bo byteOrder) []byte {
	b := []byte("II*\x00")
	if bo == binary.BigEndian {
		b = []byte("MM\x00*")
	}
	b = bo.AppendUint32(b, 8)
	b = bo.AppendUint16(b, 1)
	b = bo.AppendUint16(b, tagOrientation)
	b = bo.AppendUint16(b, 3)
	b = bo.AppendUint32(b, 1)
	b = bo.AppendUint16(b, orientation)
	b = bo.AppendUint16(b, 0)
	return bo.AppendUint32(b, 0)
}

// withJPEGExif inserts an Exif APP1 segment right after SOI.
func withJPEGExif(data []byte, orientation uint16, bo byteOrder) []byte {
	body := append([]byte("Exif\x00\x00"), exifTIFF(orientation, bo)...)
	seg := []byte{0xff, 0xe1, byte((len(body) + 2) >> 8), byte(len(body) + 2)}
	out := append([]byte{}, data[:2]...)
	out = append(out, seg...)
	out = append(out, body...)
	return append(out, data[2:]...)
}

type tiffPage struct {
	w, h        int
	pix         []byte // 8-bit gray, row-major
	orientation uint16 // 0: no tag
}

// buildTIFF writes uncompressed 8-bit gray pages, one strip each, with the
// tags x/image/tiff needs, little endian.
func buildTIFF(pages []tiffPage) []byte {
	bo := binary.LittleEndian
	out := []byte("II*\x00\x00\x00\x00\x00")
	prevNext := 4 // where the offset of the next IFD is written
	for _, p := range pages {
		pixOff := len(out)
		out = append(out, p.pix...)
		if len(out)%2 == 1 {
			out = append(out, 0)
		}
		type entry struct {
			tag, typ uint16
			val      uint32
		}
		entries := []entry{
			{256, 4, uint32(p.w)}, {257, 4, uint32(p.h)}, {258, 3, 8}, {259, 3, 1}, {262, 3, 1},
			{273, 4, uint32(pixOff)},
		}
		if p.orientation != 0 {
			entries = append(entries, entry{274, 3, uint32(p.orientation)})
		}
		entries = append(entries, entry{277, 3, 1}, entry{278, 4, uint32(p.h)}, entry{279, 4, uint32(len(p.pix))})
		ifdOff := len(out)
		bo.PutUint32(out[prevNext:], uint32(ifdOff))
		out = bo.AppendUint16(out, uint16(len(entries)))
		for _, e := range entries {
			out = bo.AppendUint16(out, e.tag)
			out = bo.AppendUint16(out, e.typ)
			out = bo.AppendUint32(out, 1)
			if e.typ == 3 {
				out = bo.AppendUint16(out, uint16(e.val))
				out = bo.AppendUint16(out, 0)
			} else {
				out = bo.AppendUint32(out, e.val)
			}
		}
		prevNext = len(out)
		out = bo.AppendUint32(out, 0)
	}
	return out
}

// buildNPY writes a version 1.0 .npy file.
func buildNPY(descr string, fortran bool, shape []int, data []byte) []byte {
	s := "("
	for _, d := range shape {
		s += fmt.Sprintf("%d, ", d)
	}
	s += ")"
	f := "False"
	if fortran {
		f = "True"
	}
	hdr := fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr, f, s)
	for (10+len(hdr)+1)%64 != 0 {
		hdr += " "
	}
	hdr += "\n"
	out := []byte("\x93NUMPY\x01\x00")
	out = binary.LittleEndian.AppendUint16(out, uint16(len(hdr)))
	return append(append(out, hdr...), data...)
}

// goroot is the Go toolchain's root as `go env GOROOT` reports it (where
// Go's own image fixtures live); the test skips without a go command.
func goroot(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skipf("go env GOROOT: %v", err)
	}
	return strings.TrimSpace(string(out))
}
