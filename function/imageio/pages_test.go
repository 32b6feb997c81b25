package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// grayPage is a w×h page whose every pixel is v.
func grayPage(w, h int, v byte) tiffPage {
	return tiffPage{w: w, h: h, pix: bytes.Repeat([]byte{v}, w*h)}
}

func TestTIFFPageCount(t *testing.T) {
	data := buildTIFF([]tiffPage{grayPage(2, 2, 1), grayPage(3, 1, 2), grayPage(1, 4, 3)})
	n, err := TIFFPageCount(data)
	if err != nil || n != 3 {
		t.Fatalf("count %d, %v; want 3", n, err)
	}

	// Point the last directory's next offset back at the second: the loop
	// must end the walk, not repeat pages.
	loop := bytes.Clone(data)
	binary.LittleEndian.PutUint32(loop[nextField(loop, 2):], uint32(dirOffset(loop, 1)))
	if n, err := TIFFPageCount(loop); err != nil || n != 3 {
		t.Fatalf("looped chain: count %d, %v; want 3", n, err)
	}

	// A next offset past the end ends the chain at the pages read so far.
	cut := bytes.Clone(data)
	binary.LittleEndian.PutUint32(cut[nextField(cut, 2):], uint32(len(cut)+100))
	if n, err := TIFFPageCount(cut); err != nil || n != 3 {
		t.Fatalf("dangling next offset: count %d, %v; want 3", n, err)
	}

	for name, tc := range map[string]struct {
		data []byte
		want error
	}{
		"empty":            {nil, ErrEmpty},
		"png":              {encode(t, "png", gradient(2, 2)), ErrUnsupported},
		"signature prefix": {[]byte("II*"), ErrTruncated},
		"first ifd past end": {func() []byte {
			b := bytes.Clone(data)
			binary.LittleEndian.PutUint32(b[4:], uint32(len(b)))
			return b
		}(), ErrTruncated},
	} {
		if _, err := TIFFPageCount(tc.data); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

// dirOffset is where directory i of a little-endian TIFF starts.
func dirOffset(data []byte, i int) int {
	off := int(binary.LittleEndian.Uint32(data[4:]))
	for ; i > 0; i-- {
		off = int(binary.LittleEndian.Uint32(data[entriesEnd(data, off):]))
	}
	return off
}

// nextField is where directory i stores the offset of the next one.
func nextField(data []byte, i int) int { return entriesEnd(data, dirOffset(data, i)) }

func entriesEnd(data []byte, dir int) int {
	return dir + 2 + 12*int(binary.LittleEndian.Uint16(data[dir:]))
}

func TestDecodeTIFFPage(t *testing.T) {
	pages := []tiffPage{grayPage(2, 2, 10), grayPage(3, 1, 20), grayPage(1, 4, 30)}
	pages[2].orientation = 6 // 1×4 stored, 4×1 shown
	data := buildTIFF(pages)
	orig := bytes.Clone(data)
	want := []struct {
		w, h int
		v    uint8
	}{{2, 2, 10}, {3, 1, 20}, {4, 1, 30}}
	for i, w := range want {
		m, info, err := DecodeTIFFPage(data, i)
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		if m.W != w.w || m.H != w.h || info.Width != w.w || info.Height != w.h || info.Pages != 3 || info.Format != "tiff" {
			t.Fatalf("page %d: image %dx%d, info %+v; want %dx%d of 3 pages", i, m.W, m.H, info, w.w, w.h)
		}
		for j, p := range m.Pix {
			if p != w.v {
				t.Fatalf("page %d: byte %d is %d, want %d", i, j, p, w.v)
			}
		}
	}
	if !bytes.Equal(data, orig) {
		t.Fatal("decoding a page modified the input")
	}

	for name, tc := range map[string]struct {
		index int
		opts  []Option
		data  []byte
		want  error
	}{
		"past the last page":   {3, nil, data, ErrNoPage},
		"negative index":       {-1, nil, data, ErrNoPage},
		"over the pixel limit": {1, []Option{WithMaxPixels(2)}, data, ErrTooLarge},
		"strip past the end": {1, nil, func() []byte {
			// Page 2's StripByteCounts (its last entry) claims more than the file holds.
			b := buildTIFF([]tiffPage{grayPage(2, 2, 1), grayPage(64, 64, 2)})
			binary.LittleEndian.PutUint32(b[entriesEnd(b, dirOffset(b, 1))-12+8:], uint32(len(b)))
			return b
		}(), ErrTruncated},
		"zero width page": {1, nil, buildTIFF([]tiffPage{grayPage(1, 1, 0), {w: 0, h: 3}}), ErrZeroSize},
	} {
		if _, _, err := DecodeTIFFPage(tc.data, tc.index, tc.opts...); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

func TestTIFFPageViewReadAt(t *testing.T) {
	data := []byte("II*\x00\x08\x00\x00\x00abcdefgh")
	v := &tiffPageView{data: data, ifd: 0x0a0b0c0d, bo: binary.LittleEndian}
	for _, tc := range []struct {
		off  int64
		n    int
		want string
		eof  bool
	}{
		{0, 8, "II*\x00\x0d\x0c\x0b\x0a", false},
		{5, 4, "\x0c\x0b\x0aa", false},
		{14, 4, "gh", true},
		{16, 1, "", true},
	} {
		p := make([]byte, tc.n)
		n, err := v.ReadAt(p, tc.off)
		if string(p[:n]) != tc.want || (err != nil) != tc.eof {
			t.Errorf("ReadAt(%d, %d) = %q, %v; want %q (eof %v)", tc.off, tc.n, p[:n], err, tc.want, tc.eof)
		}
	}
}

func FuzzDecodeTIFFPage(f *testing.F) {
	f.Add(buildTIFF([]tiffPage{grayPage(2, 2, 1), grayPage(3, 1, 2)}), 1)
	f.Add(buildTIFF([]tiffPage{grayPage(1, 1, 1), {w: 0, h: 3}}), 1)
	f.Fuzz(func(t *testing.T, data []byte, index int) {
		n, err := TIFFPageCount(data)
		m, _, derr := DecodeTIFFPage(data, index, WithMaxPixels(1<<20))
		if err != nil && derr == nil {
			t.Fatalf("page count failed (%v) but page %d decoded", err, index)
		}
		if derr == nil && (index < 0 || index >= n || len(m.Pix) != 3*m.W*m.H) {
			t.Fatalf("page %d of %d decoded to %dx%d with %d bytes", index, n, m.W, m.H, len(m.Pix))
		}
	})
}
