// Package document turns multi-page documents (PDF, multi-page TIFF) into a
// stream of BGR page images for the OCR pipeline. Pages come one at a time,
// the next rendered while the callback reads the current one, and the
// package keeps no reference to a page once its callback returns, so peak
// memory follows two pages, not the page count: a 500-page upload costs
// what a 2-page one does.
//
// PDFs are rendered by PDFium compiled to WebAssembly (go-pdfium on wazero):
// no C library and no cgo, and a hostile PDF can at worst crash its sandboxed
// instance, not the host.
package document

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/ocrhost/ocrhost/function/imageio"
	"github.com/ocrhost/ocrhost/function/imgproc"
)

// The error kinds this package adds; imageio's errors pass through for
// raster pages, and a page over Options.MaxPixels is imageio.ErrTooLarge.
var (
	ErrEncrypted    = errors.New("document: pdf is password protected")
	ErrBrokenPDF    = errors.New("document: broken pdf")
	ErrTooManyPages = errors.New("document: too many pages")
	ErrPageRange    = errors.New("document: page range outside the document")
	ErrNoRenderer   = errors.New("document: no open pdf renderer")
)

const (
	// DefaultDPI is chosen by measurement (host BenchmarkPDFDPI; the
	// figures are in docs/figures.md): A4 at 200 DPI is a little larger
	// than the 2000 px the pipeline pre-resizes to before detection, so
	// detection sees a supersampled, smoother page, and recognition crops
	// come from the sharper full-resolution render.
	DefaultDPI = 200
	// DefaultMaxPages bounds the pages one call renders.
	DefaultMaxPages = 500
)

// Options configure Pages. Zero values take the defaults.
type Options struct {
	// DPI is the PDF render resolution (default DefaultDPI); raster pages
	// keep their own pixels.
	DPI int
	// FirstPage and LastPage select pages, 1-based and inclusive; 0 means
	// the first and the last page.
	FirstPage, LastPage int
	// MaxPages bounds the pages the selection may hold (default
	// DefaultMaxPages); it is checked before anything is rendered.
	MaxPages int
	// MaxPixels bounds width×height of each page (default
	// imageio.DefaultMaxPixels), checked before the page is rendered or
	// decoded.
	MaxPixels int64
	// Text is what is done with a PDF page's text layer; other formats'
	// pages are always recognised.
	Text TextMode
	// RenderAll renders every page, those whose text is read too, for an
	// output that draws the page.
	RenderAll bool
	// Sequential renders a page only after fn has returned for the one
	// before: one page held instead of two, at the cost of the overlap.
	Sequential bool
}

func (o Options) withDefaults() Options {
	if o.DPI <= 0 {
		o.DPI = DefaultDPI
	}
	if o.MaxPages <= 0 {
		o.MaxPages = DefaultMaxPages
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = imageio.DefaultMaxPixels
	}
	return o
}

// selection resolves the page range against a document of total pages.
func (o Options) selection(total int) (first, last int, err error) {
	first, last = o.FirstPage, o.LastPage
	if first == 0 {
		first = 1
	}
	if last == 0 {
		last = total
	}
	if first < 1 || last < first || last > total {
		return 0, 0, fmt.Errorf("%w: pages %d-%d of a %d-page document", ErrPageRange, o.FirstPage, o.LastPage, total)
	}
	if n := last - first + 1; n > o.MaxPages {
		return 0, 0, fmt.Errorf("%w: %d pages selected, limit %d", ErrTooManyPages, n, o.MaxPages)
	}
	return first, last, nil
}

// Page is one rendered or decoded page.
type Page struct {
	// Number is the 1-based page number in the document.
	Number int
	// Image is the page's pixels; nil for a page whose text is read from
	// its text layer (Method text or none) unless Options.RenderAll.
	Image *imgproc.Image
	// Width and Height are the page's size in pixels, rendered or not.
	Width, Height int
	// Method is how the page's text is had; Text holds the lines of its
	// text layer for methods text and mixed, in the order PDFium reads
	// them.
	Method Method
	Text   []TextLine
	// WidthPt and HeightPt are the PDF page size in points (1/72 in) as
	// displayed (after /Rotate), the scale from image pixels back to page
	// coordinates. Raster pages state no physical size and report 0.
	WidthPt, HeightPt float64
}

// IsDocument reports whether data holds a document that Pages should
// stream: a PDF ("%PDF-" at the start), or a TIFF with more than one page
// as its header, read by imageio.ReadHeader, says (hdr may be that of a
// page too large, or empty for data that is no image).
func IsDocument(data []byte, hdr imageio.Info) (format string, ok bool) {
	switch {
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return "pdf", true
	case hdr.Format == "tiff" && hdr.Pages > 1:
		return "tiff", true
	}
	return "", false
}

// PageCount counts the pages of data without rendering any: a PDF's page
// tree as its cross-reference table and /Count entries give it, a TIFF's
// chain of directories (at most 10001 counted), and 1 for other images
// once their header has been checked. r may be nil unless format is "pdf".
func PageCount(ctx context.Context, r *Renderer, data []byte, format string) (int, error) {
	switch format {
	case "pdf":
		if r == nil {
			return 0, ErrNoRenderer
		}
		return r.pageCount(ctx, data)
	case "tiff":
		return imageio.TIFFPageCount(data)
	}
	if _, err := imageio.DecodeConfig(data); err != nil {
		return 0, err
	}
	return 1, nil
}

// Pages calls fn with each selected page of data in order; total is the
// number of pages the call yields in all. The next page is rendered while
// fn reads the current one, and no further: at most two pages are held at
// a time (the one fn has, the one waiting for it), so memory stays
// bounded as long as fn does not keep the images. An error from fn stops
// the stream and is returned as is; Pages returns only once the page
// being rendered ahead has stopped.
//
// format is "pdf" (r must be an open Renderer), "tiff" (decoded page by
// page; r may be nil) or any other imageio format, which is a single page.
// The page count is checked against the range and MaxPages before
// anything is rendered. fn must not use r: the renderer may be busy with
// the next page.
func Pages(ctx context.Context, r *Renderer, data []byte, format string, o Options, fn func(p Page, total int) error) error {
	o = o.withDefaults()
	var src source
	switch format {
	case "pdf":
		if r == nil {
			return ErrNoRenderer
		}
		src = pdfSource{r: r, data: data, o: o}
	case "tiff":
		src = &tiffSource{data: data, o: o}
	default:
		src = imageSource{data: data, o: o}
	}
	total, err := src.count(ctx)
	if err != nil {
		return err
	}
	first, last, err := o.selection(total)
	if err != nil {
		return err
	}
	return stream(ctx, src, first, last, o.Sequential, fn)
}

// stream yields pages first to last of src to fn, each rendered while fn
// reads the one before unless sequential.
func stream(ctx context.Context, src source, first, last int, sequential bool, fn func(Page, int) error) error {
	if sequential {
		for n := first; n <= last; n++ {
			if err := yield(ctx, fn, src.page, n, first, last); err != nil {
				return err
			}
		}
		return nil
	}
	// Cancelling ctx on return stops a render in flight (the PDF instance
	// is killed); waiting for done means no render outlives the call.
	ctx, cancel := context.WithCancel(ctx)
	ahead := make(chan rendered) // unbuffered: the renderer waits with one page ready
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := first; n <= last && ctx.Err() == nil; n++ {
			p, err := src.page(ctx, n)
			// A render leaves garbage (a PDF instance's memory, grown by
			// copying): collected now, it does not add to what the page
			// being read allocates meanwhile.
			runtime.GC()
			select {
			case ahead <- rendered{p, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		cancel()
		<-done
	}()
	next := func(ctx context.Context, _ int) (Page, error) {
		select {
		case r := <-ahead:
			return r.page, r.err
		case <-ctx.Done():
			return Page{}, ctx.Err()
		}
	}
	for n := first; n <= last; n++ {
		if err := yield(ctx, fn, next, n, first, last); err != nil {
			return err
		}
	}
	return nil
}

// rendered is a page rendered ahead, or why it could not be.
type rendered struct {
	page Page
	err  error
}

// yield gets page n and hands it to fn.
func yield(ctx context.Context, fn func(Page, int) error, get func(context.Context, int) (Page, error), n, first, last int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	page, err := get(ctx, n)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err // a page finished as ctx ended is not delivered
	}
	if err := fn(page, last-first+1); err != nil {
		return err
	}
	if n < last {
		// Collect this page before the one after next is rendered. Left to
		// the pacer, garbage may grow to the live heap's size first, and
		// the live heap is mostly pages (BenchmarkPeakRSS measures it).
		// Pixel buffers hold no pointers, so the mark phase is cheap.
		runtime.GC()
	}
	return nil
}

// source is one document format's way to count and produce pages.
type source interface {
	count(ctx context.Context) (int, error)
	// page returns page n (1-based).
	page(ctx context.Context, n int) (Page, error)
}

// tiffSource walks the TIFF's directories once, in count, and decodes each
// page from them.
type tiffSource struct {
	data []byte
	o    Options
	tiff *imageio.TIFF
}

func (s *tiffSource) count(context.Context) (int, error) {
	t, err := imageio.ReadTIFF(s.data)
	if err != nil {
		return 0, err
	}
	s.tiff = t
	return t.Pages(), nil
}

func (s *tiffSource) page(_ context.Context, n int) (Page, error) {
	img, _, err := s.tiff.Decode(n-1, imageio.WithMaxPixels(s.o.MaxPixels))
	if err != nil {
		return Page{}, fmt.Errorf("page %d: %w", n, err)
	}
	return rasterPage(n, img), nil
}

// rasterPage is a decoded image's page: recognised, having no text layer.
func rasterPage(n int, img *imgproc.Image) Page {
	return Page{Number: n, Image: img, Width: img.W, Height: img.H, Method: MethodOCR}
}

// imageSource is a single-image upload: one page, decoded as the
// single-image path does (first frame, EXIF orientation applied).
type imageSource struct {
	data []byte
	o    Options
}

func (s imageSource) count(context.Context) (int, error) {
	if _, err := imageio.DecodeConfig(s.data, imageio.WithMaxPixels(s.o.MaxPixels)); err != nil {
		return 0, err
	}
	return 1, nil
}

func (s imageSource) page(context.Context, int) (Page, error) {
	img, _, err := imageio.Decode(s.data, imageio.WithMaxPixels(s.o.MaxPixels))
	if err != nil {
		return Page{}, err
	}
	return rasterPage(1, img), nil
}
