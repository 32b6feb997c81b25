// Package imageio turns uploaded document bytes into the 8-bit BGR image the
// PP-OCR models take, reproducing RapidOCR's loader (utils/load_image.py):
// PIL decodes, then gray is replicated, gray+alpha and RGBA are flattened by
// RapidOCR's own rules (see convert.go), and EXIF orientation is applied as
// RapidOCR v3 does with ImageOps.exif_transpose.
//
// Every size is checked against a pixel budget from the header alone, so a
// decompression bomb is refused before any pixel buffer is allocated.
package imageio

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"github.com/ocrhost/ocrhost/function/imgproc"
)

// The error kinds; every error returned by this package wraps exactly one.
var (
	ErrEmpty       = errors.New("imageio: empty input")
	ErrTruncated   = errors.New("imageio: truncated image data")
	ErrCorrupt     = errors.New("imageio: corrupt image data")
	ErrUnsupported = errors.New("imageio: unsupported image format")
	ErrZeroSize    = errors.New("imageio: image has zero width or height")
	ErrTooLarge    = errors.New("imageio: image exceeds the pixel limit")
)

// DefaultMaxPixels is the default pixel budget: 50 MP admits an A4 page
// scanned at 600 dpi (4961×7016 ≈ 35 MP) and a 48 MP phone photo, and caps
// the BGR buffer at 150 MB plus the decoder's own planes.
const DefaultMaxPixels = 50_000_000

// Info describes an image as Decode returns it. Width and Height are after
// EXIF orientation (swapped for orientations 5–8).
type Info struct {
	Format        string
	Width, Height int
	Orientation   int // EXIF orientation 1–8; 1 when absent or invalid
	Pages         int // TIFF directories or GIF frames; Decode reads the first
}

type options struct {
	maxPixels int64
}

// Option configures DecodeConfig and Decode.
type Option func(*options)

// WithMaxPixels sets the largest width×height accepted (default
// DefaultMaxPixels). It is checked against the header before decoding.
// Values <= 0 keep the default: an unlimited decoder is never what a
// service taking untrusted uploads wants.
func WithMaxPixels(n int64) Option {
	return func(o *options) {
		if n > 0 {
			o.maxPixels = n
		}
	}
}

func buildOptions(opts []Option) options {
	o := options{maxPixels: DefaultMaxPixels}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Header is what one look at an image's bytes learns before any pixel is
// decoded: its Info, and what Decode needs to decode it without reading the
// header again. An invocation is sized (admitted) from the header and
// decoded from it afterwards.
type Header struct {
	Info
	hdr *header
}

// ReadHeader sniffs data and reads its header, applying the pixel limit.
// On error Info.Format is still set when the signature was recognised, and
// on ErrTooLarge the whole Info is, so callers can report the offending
// size.
func ReadHeader(data []byte, opts ...Option) (Header, error) {
	o := buildOptions(opts)
	format, hdr, err := inspect(data, o)
	if hdr == nil {
		return Header{Info: Info{Format: format}}, err
	}
	return Header{Info: hdr.info(format), hdr: hdr}, err
}

// Decode decodes the first page/frame that h, read from data, describes,
// into BGR.
func (h Header) Decode(data []byte) (*imgproc.Image, error) {
	if h.hdr == nil {
		return nil, fmt.Errorf("%w: no header read", ErrEmpty)
	}
	img, err := decodePixels(h.Format, data, h.hdr)
	if err != nil {
		return nil, err
	}
	return orient(img, h.hdr.orientation), nil
}

// DecodeConfig reads only the header (ReadHeader's Info).
func DecodeConfig(data []byte, opts ...Option) (Info, error) {
	h, err := ReadHeader(data, opts...)
	return h.Info, err
}

// Decode decodes the first page/frame of data into BGR. The format is taken
// from the magic bytes, never from a name or content type. On ErrTooLarge
// the Info is filled in as for DecodeConfig.
func Decode(data []byte, opts ...Option) (*imgproc.Image, Info, error) {
	h, err := ReadHeader(data, opts...)
	if err != nil {
		if h.hdr != nil {
			return nil, h.Info, err
		}
		return nil, Info{}, err
	}
	img, err := h.Decode(data)
	if err != nil {
		return nil, Info{}, err
	}
	return img, h.Info, nil
}

// inspect sniffs and reads the header, applying the size checks. hdr is
// non-nil with a nil error or ErrTooLarge.
func inspect(data []byte, o options) (format string, hdr *header, err error) {
	if len(data) == 0 {
		return "", nil, ErrEmpty
	}
	format = Sniff(data)
	if format == "" {
		if isMagicPrefix(data) {
			return "", nil, fmt.Errorf("%w: %d bytes, a prefix of a known signature", ErrTruncated, len(data))
		}
		return "", nil, fmt.Errorf("%w: unrecognised signature % x", ErrUnsupported, data[:min(len(data), 8)])
	}
	err = guard(format, data, func() error {
		var e error
		hdr, e = readHeader(format, data)
		return e
	})
	if err != nil {
		return format, nil, err
	}
	if hdr.w <= 0 || hdr.h <= 0 {
		return format, nil, fmt.Errorf("%w: %s header says %dx%d", ErrZeroSize, format, hdr.w, hdr.h)
	}
	if int64(hdr.w) > o.maxPixels/int64(hdr.h) {
		return format, hdr, fmt.Errorf("%w: %s is %dx%d, limit %d pixels", ErrTooLarge, format, hdr.w, hdr.h, o.maxPixels)
	}
	return format, hdr, nil
}

// guard runs a third-party decoder step, turning its errors and panics into
// this package's error kinds.
func guard(format string, data []byte, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s decoder panicked: %v", ErrCorrupt, format, r)
		}
	}()
	return classify(format, data, f())
}

func decodePixels(format string, data []byte, hdr *header) (*imgproc.Image, error) {
	var out *imgproc.Image
	err := guard(format, data, func() error {
		switch {
		case format == "npy":
			var err error
			out, err = decodeNPY(data, hdr.npy)
			return err
		case format == "tiff" && tiffTruncated(data):
			// The CCITT decoder can finish a page whose strip is cut short.
			return fmt.Errorf("%w: tiff strips or tiles end past the data", ErrTruncated)
		}
		m, err := decodeStd(format, data)
		if err != nil {
			return err
		}
		if format == "gif" {
			m = gifCanvas(m.(*image.Paletted), hdr)
		}
		if b := m.Bounds(); b.Dx() != hdr.w || b.Dy() != hdr.h {
			return fmt.Errorf("%w: decoded %dx%d, header said %dx%d", ErrCorrupt, b.Dx(), b.Dy(), hdr.w, hdr.h)
		}
		out = toBGR(m, hdr.conv)
		return nil
	})
	return out, err
}

func decodeStd(format string, data []byte) (image.Image, error) {
	r := bytes.NewReader(data)
	switch format {
	case "png":
		return png.Decode(r)
	case "jpeg":
		return jpeg.Decode(r)
	case "gif":
		return gif.Decode(r)
	case "bmp":
		return bmp.Decode(r)
	case "webp":
		return webp.Decode(r)
	case "tiff":
		return tiff.Decode(r)
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupported, format)
}

// gifCanvas places the first frame on the logical screen, as a viewer shows
// it: the area the frame leaves uncovered is transparent if the palette has
// a transparent entry, else the background colour.
func gifCanvas(m *image.Paletted, hdr *header) image.Image {
	screen := image.Rect(0, 0, hdr.w, hdr.h)
	if m.Rect == screen {
		return m
	}
	fill := uint8(0)
	if hdr.gifBackground < len(m.Palette) {
		fill = uint8(hdr.gifBackground)
	}
	for i, c := range m.Palette {
		if _, _, _, a := c.RGBA(); a == 0 {
			fill = uint8(i)
			break
		}
	}
	canvas := image.NewPaletted(screen, m.Palette)
	for i := range canvas.Pix {
		canvas.Pix[i] = fill
	}
	r := m.Rect.Intersect(screen)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		copy(canvas.Pix[canvas.PixOffset(r.Min.X, y):canvas.PixOffset(r.Max.X, y)], m.Pix[m.PixOffset(r.Min.X, y):m.PixOffset(r.Max.X, y)])
	}
	return canvas
}

// classify maps a decoder error onto the package's kinds. Go's decoders say
// io.ErrUnexpectedEOF both for a cut-off file and for a garbage length
// field, and some fail with a format error on a cut stream, so the
// container structure decides where it can.
func classify(format string, data []byte, err error) error {
	if err == nil {
		return nil
	}
	for _, k := range []error{ErrEmpty, ErrTruncated, ErrCorrupt, ErrUnsupported, ErrZeroSize, ErrTooLarge} {
		if errors.Is(err, k) {
			return err
		}
	}
	truncated, decided := truncation(format, data)
	if !decided {
		truncated = isEOF(err)
	}
	kind := ErrCorrupt
	switch {
	case truncated:
		kind = ErrTruncated
	case isUnsupportedFeature(err):
		kind = ErrUnsupported
	}
	if strings.HasPrefix(err.Error(), format+":") { // Go's decoders name themselves
		return fmt.Errorf("%w: %v", kind, err)
	}
	return fmt.Errorf("%w: %s: %v", kind, format, err)
}

func isUnsupportedFeature(err error) bool {
	var (
		je jpeg.UnsupportedError
		pe png.UnsupportedError
		te tiff.UnsupportedError
	)
	return errors.As(err, &je) || errors.As(err, &pe) || errors.As(err, &te) || errors.Is(err, bmp.ErrUnsupported)
}

func (h *header) info(format string) Info {
	w, hh := h.w, h.h
	if h.orientation >= 5 {
		w, hh = hh, w
	}
	return Info{Format: format, Width: w, Height: hh, Orientation: h.orientation, Pages: h.pages}
}
