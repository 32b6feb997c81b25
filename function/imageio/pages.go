package imageio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/image/tiff"

	"github.com/ocrhost/ocrhost/function/imgproc"
)

// ErrNoPage means a page index past the last page (or below the first).
var ErrNoPage = errors.New("imageio: no such page")

// TIFF is a TIFF whose chain of directories (pages) was walked once, to
// count its pages and decode them one by one without walking it again.
type TIFF struct {
	data []byte
	dirs []uint32
}

// ReadTIFF walks the directories of a TIFF from their headers alone. Like
// Info.Pages it stops at a loop in the chain or at a directory cut short,
// and counts at most 10000 pages plus one: enough to exceed any sensible
// page limit without walking a chain that only a bomb would have.
func ReadTIFF(data []byte) (*TIFF, error) {
	dirs, err := tiffDirs(data)
	if err != nil {
		return nil, err
	}
	return &TIFF{data: data, dirs: dirs}, nil
}

// Pages is the number of pages.
func (t *TIFF) Pages() int { return len(t.dirs) }

// TIFFPageCount counts the pages of a TIFF (ReadTIFF).
func TIFFPageCount(data []byte) (int, error) {
	t, err := ReadTIFF(data)
	if err != nil {
		return 0, err
	}
	return t.Pages(), nil
}

// DecodeTIFFPage decodes page index (0-based) of a TIFF (ReadTIFF, then
// TIFF.Decode).
func DecodeTIFFPage(data []byte, index int, opts ...Option) (*imgproc.Image, Info, error) {
	t, err := ReadTIFF(data)
	if err != nil {
		return nil, Info{}, err
	}
	return t.Decode(index, opts...)
}

// Decode decodes page index (0-based), with the checks and conversion
// Decode applies to the first page; Info describes that page. The file is
// never copied: the decoder reads it through a view whose header points at
// the page's directory.
func (t *TIFF) Decode(index int, opts ...Option) (*imgproc.Image, Info, error) {
	data, dirs := t.data, t.dirs
	if index < 0 || index >= len(dirs) {
		return nil, Info{}, fmt.Errorf("%w: page %d of a %d-page tiff", ErrNoPage, index+1, len(dirs))
	}
	if index == 0 {
		return Decode(data, opts...)
	}
	o := buildOptions(opts)
	tf, _ := openTIFF(data)
	var hdr *header
	err := guard("tiff", data, func() error {
		var e error
		hdr, e = readTIFFDir(tf, dirs[index])
		return e
	})
	if err != nil {
		return nil, Info{}, err
	}
	hdr.pages = len(dirs)
	info := hdr.info("tiff")
	if hdr.w <= 0 || hdr.h <= 0 {
		return nil, Info{}, fmt.Errorf("%w: tiff page %d header says %dx%d", ErrZeroSize, index+1, hdr.w, hdr.h)
	}
	if int64(hdr.w) > o.maxPixels/int64(hdr.h) {
		return nil, info, fmt.Errorf("%w: tiff page %d is %dx%d, limit %d pixels", ErrTooLarge, index+1, hdr.w, hdr.h, o.maxPixels)
	}
	var img *imgproc.Image
	err = guard("tiff", data, func() error {
		entries, _, err := tf.ifd(dirs[index])
		if err != nil {
			return err
		}
		if tf.dirTruncated(entries) {
			return fmt.Errorf("%w: tiff page %d strips or tiles end past the data", ErrTruncated, index+1)
		}
		m, err := tiff.Decode(&tiffPageView{data: data, ifd: dirs[index], bo: tf.bo})
		if err != nil {
			return err
		}
		if b := m.Bounds(); b.Dx() != hdr.w || b.Dy() != hdr.h {
			return fmt.Errorf("%w: decoded %dx%d, header said %dx%d", ErrCorrupt, b.Dx(), b.Dy(), hdr.w, hdr.h)
		}
		img = toBGR(m, hdr.conv)
		return nil
	})
	if err != nil {
		return nil, Info{}, err
	}
	return orient(img, hdr.orientation), info, nil
}

// tiffDirs returns the offsets of the directories in chain order; the first
// must be readable, later ones end the chain when they are not.
func tiffDirs(data []byte) ([]uint32, error) {
	if len(data) == 0 {
		return nil, ErrEmpty
	}
	if Sniff(data) != "tiff" {
		if isMagicPrefix(data) {
			return nil, fmt.Errorf("%w: %d bytes, a prefix of a known signature", ErrTruncated, len(data))
		}
		return nil, fmt.Errorf("%w: not a tiff", ErrUnsupported)
	}
	t, ok := openTIFF(data)
	if !ok {
		return nil, fmt.Errorf("%w: tiff header cut short", ErrTruncated)
	}
	off := t.firstIFD()
	_, next, err := t.ifd(off)
	if err != nil {
		return nil, fmt.Errorf("%w: tiff first directory: %v", ErrTruncated, err)
	}
	dirs := []uint32{off}
	seen := map[uint32]bool{off: true}
	for next != 0 && !seen[next] && len(dirs) <= maxPages {
		off = next
		if _, next, err = t.ifd(off); err != nil {
			break
		}
		seen[off] = true
		dirs = append(dirs, off)
	}
	return dirs, nil
}

// readTIFFDir is readTIFF for the directory at off.
func readTIFFDir(t tiffFile, off uint32) (*header, error) {
	h := &header{orientation: 1, pages: 1}
	entries, _, err := t.ifd(off)
	if err != nil {
		return nil, err
	}
	wf, okW, err := t.lookup(entries, tagImageWidth)
	if err != nil {
		return nil, err
	}
	hf, okH, err := t.lookup(entries, tagImageLength)
	if err != nil {
		return nil, err
	}
	if !okW || !okH {
		return nil, errors.New("tiff: directory lacks ImageWidth or ImageLength")
	}
	w, hh := wf.at(0), hf.at(0)
	if w > 1<<31-1 || hh > 1<<31-1 {
		return nil, errors.New("tiff: dimension above 2^31-1")
	}
	h.w, h.h = int(w), int(hh)
	if o, err := t.scalar(entries, tagOrientation, 1); err == nil && o >= 1 && o <= 8 {
		h.orientation = int(o)
	}
	return h, nil
}

// dirTruncated is tiffTruncated for one directory's entries.
func (t tiffFile) dirTruncated(entries []byte) bool {
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
			if uint64(offs.at(i))+uint64(counts.at(i)) > uint64(len(t.b)) {
				return true
			}
		}
	}
	return false
}

// tiffPageView reads data with the first-directory offset replaced by ifd,
// so x/image/tiff, which decodes only the first directory, decodes that
// page. It is an io.ReaderAt, which the decoder uses instead of buffering.
type tiffPageView struct {
	data []byte
	ifd  uint32
	bo   binary.ByteOrder
	pos  int64
}

func (v *tiffPageView) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("tiff: negative offset")
	}
	if off >= int64(len(v.data)) {
		return 0, io.EOF
	}
	n := copy(p, v.data[off:])
	var head [4]byte
	v.bo.PutUint32(head[:], v.ifd)
	for i := range head { // bytes 4..7 hold the first directory's offset
		if j := int64(4+i) - off; j >= 0 && j < int64(n) {
			p[j] = head[i]
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (v *tiffPageView) Read(p []byte) (int, error) {
	n, err := v.ReadAt(p, v.pos)
	v.pos += int64(n)
	return n, err
}
