package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"
)

// header is what the cheap pass learns before any pixel is decoded.
type header struct {
	w, h          int // as stored, before orientation
	orientation   int
	pages         int
	conv          convOpts
	gifBackground int
	npy           *npyHeader
}

func readHeader(format string, data []byte) (*header, error) {
	h := &header{orientation: 1, pages: 1}
	var (
		cfg image.Config
		err error
	)
	r := bytes.NewReader(data)
	switch format {
	case "png":
		return h, h.readPNG(data)
	case "tiff":
		return h, h.readTIFF(data)
	case "npy":
		h.npy, err = parseNPY(data)
		if err != nil {
			return nil, err
		}
		h.w, h.h = h.npy.w, h.npy.h
		return h, nil
	case "jpeg":
		cfg, err = jpeg.DecodeConfig(r)
		h.orientation = jpegOrientation(data)
	case "gif":
		cfg, err = gif.DecodeConfig(r)
		if err == nil { // so the screen descriptor is complete
			h.pages, _ = gifScan(data)
			h.gifBackground = int(data[11])
		}
	case "bmp":
		// x/image/bmp calls a zero dimension unsupported; it is a zero size.
		if len(data) >= 26 && binary.LittleEndian.Uint32(data[14:18]) >= 40 &&
			(binary.LittleEndian.Uint32(data[18:22]) == 0 || binary.LittleEndian.Uint32(data[22:26]) == 0) {
			return h, nil
		}
		cfg, err = bmp.DecodeConfig(r)
	case "webp":
		cfg, err = webp.DecodeConfig(r)
		var animated bool
		h.orientation, animated = webpScan(data)
		if err == nil && animated {
			err = fmt.Errorf("%w: animated WebP", ErrUnsupported)
		}
		h.conv.studio = true
	}
	if err != nil {
		return nil, err
	}
	h.w, h.h = cfg.Width, cfg.Height
	return h, nil
}

func isEOF(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// truncation reports whether the container ends before its own structure
// says it should. For PNG, JPEG and GIF the walk decides either way (a
// complete or broken structure is not a cut-off file, whatever the decoder
// ran into); for the others only a positive answer is decisive.
func truncation(format string, data []byte) (truncated, decided bool) {
	switch format {
	case "png":
		return pngTruncated(data), true
	case "jpeg":
		return jpegWalk(data, func(byte, []byte) bool { return true }), true
	case "gif":
		_, truncated := gifScan(data)
		return truncated, true
	case "webp":
		truncated = len(data) < 12 || uint64(binary.LittleEndian.Uint32(data[4:8]))+8 > uint64(len(data))
	case "bmp":
		truncated = len(data) < 14 ||
			uint64(binary.LittleEndian.Uint32(data[2:6])) > uint64(len(data)) || // file size
			uint64(binary.LittleEndian.Uint32(data[10:14])) > uint64(len(data)) // pixel offset
	case "tiff":
		truncated = tiffTruncated(data)
	}
	return truncated, truncated
}

// PNG

// readPNG takes the IHDR itself: Go's decoder hides the colour type, which
// decides between gray+alpha and RGBA, and rejects a zero size as a format
// error.
func (h *header) readPNG(data []byte) error {
	if len(data) < 33 {
		return io.ErrUnexpectedEOF
	}
	if binary.BigEndian.Uint32(data[8:12]) != 13 || string(data[12:16]) != "IHDR" {
		// Said outright: a garbage length would otherwise read as truncation.
		return fmt.Errorf("%w: png: first chunk is not IHDR", ErrCorrupt)
	}
	w, hh := binary.BigEndian.Uint32(data[16:20]), binary.BigEndian.Uint32(data[20:24])
	if w > 1<<31-1 || hh > 1<<31-1 {
		return errors.New("png: dimension above 2^31-1")
	}
	h.w, h.h = int(w), int(hh)
	switch data[25] {
	case 0, 2:
		h.conv.alpha = alphaIgnore
	case 4:
		h.conv.alpha = alphaGray
	default:
		h.conv.alpha = alphaRGBA
	}
	pngChunks(data, func(typ string, body []byte) bool {
		if typ == "eXIf" {
			h.orientation = exifOrientation(body)
			return false
		}
		return true
	})
	return nil
}

// pngChunks visits the chunks after the signature until IEND or visit
// returns false; it reports whether the data ended first.
func pngChunks(data []byte, visit func(typ string, body []byte) bool) (truncated bool) {
	pos := uint64(8)
	n := uint64(len(data))
	for {
		if pos+12 > n {
			return true
		}
		length := uint64(binary.BigEndian.Uint32(data[pos:]))
		typ := string(data[pos+4 : pos+8])
		if !isChunkType(typ) {
			return false
		}
		end := pos + 12 + length
		if end > n {
			return true
		}
		if typ == "IEND" || !visit(typ, data[pos+8:pos+8+length]) {
			return false
		}
		pos = end
	}
}

// isChunkType tells a chunk header from garbage: types are four ASCII
// letters.
func isChunkType(typ string) bool {
	for _, c := range []byte(typ) {
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

func pngTruncated(data []byte) bool {
	return pngChunks(data, func(string, []byte) bool { return true })
}

// JPEG

// jpegWalk visits the marker segments in order, skipping the entropy-coded
// data after each SOS, until EOI or visit returns false. It reports whether
// the data ended first; a structure it cannot follow is not truncation.
func jpegWalk(data []byte, visit func(marker byte, body []byte) bool) (truncated bool) {
	pos := 2
	for {
		if pos >= len(data) {
			return true
		}
		if data[pos] != 0xff {
			return false
		}
		for pos+1 < len(data) && data[pos+1] == 0xff { // fill bytes
			pos++
		}
		if pos+2 > len(data) {
			return true
		}
		m := data[pos+1]
		pos += 2
		switch {
		case m == 0xd9:
			return false
		case m == 0x01 || m >= 0xd0 && m <= 0xd7:
			continue
		case m < 0xc0: // no such marker: garbage, not a cut-off file
			return false
		}
		if pos+2 > len(data) {
			return true
		}
		n := int(data[pos])<<8 | int(data[pos+1])
		if n < 2 {
			return false
		}
		if pos+n > len(data) {
			return true
		}
		if !visit(m, data[pos+2:pos+n]) {
			return false
		}
		pos += n
		if m != 0xda {
			continue
		}
		for {
			i := bytes.IndexByte(data[pos:], 0xff)
			if i < 0 || pos+i+1 >= len(data) {
				return true
			}
			pos += i
			if next := data[pos+1]; next != 0 && (next < 0xd0 || next > 0xd7) {
				break
			}
			pos += 2
		}
	}
}

// jpegOrientation reads the first Exif APP1 before the first scan, as PIL
// does.
func jpegOrientation(data []byte) int {
	o := 1
	jpegWalk(data, func(m byte, body []byte) bool {
		if m == 0xe1 && bytes.HasPrefix(body, []byte("Exif\x00\x00")) {
			o = exifOrientation(body)
			return false
		}
		return m != 0xda
	})
	return o
}

// GIF

// gifScan counts image descriptors by walking the block structure without
// decompressing; it reports whether the data ended before the trailer.
func gifScan(data []byte) (frames int, truncated bool) {
	if len(data) < 13 {
		return 0, true
	}
	pos := 13
	if flags := data[10]; flags&0x80 != 0 {
		pos += 3 << (flags&7 + 1)
	}
	for {
		if pos >= len(data) {
			return frames, true
		}
		switch data[pos] {
		case 0x21: // extension: introducer, label, sub-blocks
			pos += 2
		case 0x2c: // image descriptor, local colour table, LZW code size, sub-blocks
			if pos+10 > len(data) {
				return frames, true
			}
			flags := data[pos+9]
			pos += 10
			if flags&0x80 != 0 {
				pos += 3 << (flags&7 + 1)
			}
			pos++
			frames++
		case 0x3b:
			return frames, false
		default:
			return frames, false
		}
		for {
			if pos >= len(data) {
				return frames, true
			}
			n := int(data[pos])
			pos += 1 + n
			if n == 0 {
				break
			}
		}
	}
}

// WebP

// webpScan reads the RIFF chunks for the EXIF orientation and the VP8X
// animation flag (x/image/webp cannot decode animations).
func webpScan(data []byte) (orientation int, animated bool) {
	orientation = 1
	pos := uint64(12)
	n := uint64(len(data))
	for pos+8 <= n {
		id := string(data[pos : pos+4])
		size := uint64(binary.LittleEndian.Uint32(data[pos+4:]))
		body := data[pos+8 : min(pos+8+size, n)]
		switch id {
		case "VP8X":
			animated = len(body) > 0 && body[0]&0x02 != 0
		case "EXIF":
			orientation = exifOrientation(body)
		}
		pos += 8 + size + size&1
	}
	return orientation, animated
}
