package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"

	"github.com/ocrhost/ocrhost/function/imgproc"
)

// tiffFile reads the TIFF structure shared by TIFF images and EXIF blocks.
// Only what this package needs: directory entries of type SHORT or LONG.
type tiffFile struct {
	b  []byte
	bo binary.ByteOrder
}

const (
	tagImageWidth      = 256
	tagImageLength     = 257
	tagStripOffsets    = 273
	tagOrientation     = 274
	tagStripByteCounts = 279
	tagTileOffsets     = 324
	tagTileByteCounts  = 325

	// maxPages bounds the directory walk that counts pages.
	maxPages = 10000
)

func openTIFF(b []byte) (tiffFile, bool) {
	if len(b) < 8 {
		return tiffFile{}, false
	}
	switch string(b[:4]) {
	case "II*\x00":
		return tiffFile{b, binary.LittleEndian}, true
	case "MM\x00*":
		return tiffFile{b, binary.BigEndian}, true
	}
	return tiffFile{}, false
}

func (t tiffFile) firstIFD() uint32 { return t.bo.Uint32(t.b[4:8]) }

// ifd returns the 12-byte entries of the directory at off and the offset of
// the next directory.
func (t tiffFile) ifd(off uint32) (entries []byte, next uint32, err error) {
	n := uint64(len(t.b))
	if uint64(off)+2 > n {
		return nil, 0, io.ErrUnexpectedEOF
	}
	end := uint64(off) + 2 + 12*uint64(t.bo.Uint16(t.b[off:]))
	if end+4 > n {
		return nil, 0, io.ErrUnexpectedEOF
	}
	return t.b[off+2 : end], t.bo.Uint32(t.b[end:]), nil
}

// field is one directory entry's values.
type field struct {
	t     tiffFile
	size  int // bytes per value: 2 (SHORT) or 4 (LONG)
	count int
	vals  []byte
}

func (f field) at(i int) uint32 {
	if f.size == 2 {
		return uint32(f.t.bo.Uint16(f.vals[2*i:]))
	}
	return f.t.bo.Uint32(f.vals[4*i:])
}

var errTIFFType = errors.New("tiff: tag is neither SHORT nor LONG")

// lookup finds tag among entries; ok is false when it is absent.
func (t tiffFile) lookup(entries []byte, tag uint16) (f field, ok bool, err error) {
	for ; len(entries) >= 12; entries = entries[12:] {
		if t.bo.Uint16(entries) != tag {
			continue
		}
		switch t.bo.Uint16(entries[2:]) {
		case 3:
			f.size = 2
		case 4:
			f.size = 4
		default:
			return f, false, errTIFFType
		}
		count := uint64(t.bo.Uint32(entries[4:]))
		total := count * uint64(f.size)
		if total <= 4 {
			f.vals = entries[8 : 8+total]
		} else {
			off := uint64(t.bo.Uint32(entries[8:]))
			if off+total > uint64(len(t.b)) {
				return f, false, io.ErrUnexpectedEOF
			}
			f.vals = t.b[off : off+total]
		}
		f.t, f.count = t, int(count)
		return f, f.count > 0, nil
	}
	return f, false, nil
}

// scalar returns the first value of tag, or def when the tag is absent.
func (t tiffFile) scalar(entries []byte, tag uint16, def uint32) (uint32, error) {
	f, ok, err := t.lookup(entries, tag)
	if err != nil || !ok {
		return def, err
	}
	return f.at(0), nil
}

// readTIFF reads the first directory itself: x/image/tiff reports neither
// orientation nor page count, and calls a zero size a format error.
func (h *header) readTIFF(data []byte) error {
	t, ok := openTIFF(data)
	if !ok { // the signature matched, so the header is cut short
		return io.ErrUnexpectedEOF
	}
	entries, next, err := t.ifd(t.firstIFD())
	if err != nil {
		return err
	}
	wf, okW, err := t.lookup(entries, tagImageWidth)
	if err != nil {
		return err
	}
	hf, okH, err := t.lookup(entries, tagImageLength)
	if err != nil {
		return err
	}
	if !okW || !okH {
		return errors.New("tiff: first directory lacks ImageWidth or ImageLength")
	}
	w, hh := wf.at(0), hf.at(0)
	if w > 1<<31-1 || hh > 1<<31-1 {
		return errors.New("tiff: dimension above 2^31-1")
	}
	h.w, h.h = int(w), int(hh)
	if o, err := t.scalar(entries, tagOrientation, 1); err == nil && o >= 1 && o <= 8 {
		h.orientation = int(o)
	}
	seen := map[uint32]bool{t.firstIFD(): true}
	for next != 0 && !seen[next] && h.pages < maxPages {
		seen[next] = true
		if _, next, err = t.ifd(next); err != nil {
			break
		}
		h.pages++
	}
	return nil
}

// tiffTruncated reports whether the first directory, or the strips or
// tiles it points at, lie past the end of data.
func tiffTruncated(data []byte) bool {
	t, ok := openTIFF(data)
	if !ok {
		return len(data) < 8
	}
	entries, _, err := t.ifd(t.firstIFD())
	if err != nil {
		return true
	}
	for _, pair := range [][2]uint16{{tagStripOffsets, tagStripByteCounts}, {tagTileOffsets, tagTileByteCounts}} {
		offs, ok1, err1 := t.lookup(entries, pair[0])
		counts, ok2, err2 := t.lookup(entries, pair[1])
		if isEOF(err1) || isEOF(err2) {
			return true
		}
		if !ok1 || !ok2 {
			continue
		}
		for i := range min(offs.count, counts.count) {
			if uint64(offs.at(i))+uint64(counts.at(i)) > uint64(len(data)) {
				return true
			}
		}
	}
	return false
}

// exifOrientation reads tag 274 from IFD0 of an EXIF block (with or
// without the "Exif\0\0" prefix); 1 when absent or out of range.
func exifOrientation(b []byte) int {
	t, ok := openTIFF(bytes.TrimPrefix(b, []byte("Exif\x00\x00")))
	if !ok {
		return 1
	}
	entries, _, err := t.ifd(t.firstIFD())
	if err != nil {
		return 1
	}
	o, err := t.scalar(entries, tagOrientation, 1)
	if err != nil || o < 1 || o > 8 {
		return 1
	}
	return int(o)
}

// orient applies an EXIF orientation the way PIL's exif_transpose does, so
// the result is the image as a viewer shows it.
func orient(m *imgproc.Image, o int) *imgproc.Image {
	if o <= 1 || o > 8 {
		return m
	}
	w, h := m.W, m.H
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	// Destination of source (x, y) is (ax*x + bx*y + cx, ay*x + by*y + cy).
	var ax, bx, cx, ay, by, cy int
	switch o {
	case 2: // mirror horizontally
		ax, cx, by = -1, w-1, 1
	case 3: // rotate 180°
		ax, cx, by, cy = -1, w-1, -1, h-1
	case 4: // mirror vertically
		ax, by, cy = 1, -1, h-1
	case 5: // transpose
		bx, ay = 1, 1
	case 6: // rotate 90° clockwise
		bx, cx, ay = -1, h-1, 1
	case 7: // transverse
		bx, cx, ay, cy = -1, h-1, -1, w-1
	case 8: // rotate 90° counter-clockwise
		bx, ay, cy = 1, -1, w-1
	}
	out := imgproc.New(ow, oh)
	step := 3 * (ay*ow + ax)
	src := m.Pix
	for y := 0; y < h; y++ {
		d := 3 * ((by*y+cy)*ow + bx*y + cx)
		for x := 0; x < w; x++ {
			copy(out.Pix[d:d+3], src[:3])
			src = src[3:]
			d += step
		}
	}
	return out
}
