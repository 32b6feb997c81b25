package document

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"sync"

	"github.com/klippa-app/go-pdfium"
	"github.com/klippa-app/go-pdfium/enums"
	pdfiumerrors "github.com/klippa-app/go-pdfium/errors"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
	"github.com/klippa-app/go-pdfium/webassembly"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/ocrhost/ocrhost/function/imageio"
	"github.com/ocrhost/ocrhost/function/imgproc"
)

// Renderer is a loaded PDF engine: PDFium compiled to WebAssembly, with a
// pool of instances. Loading compiles the 5.8 MB module to machine code,
// which takes seconds (see WithCompilationCacheDir), so a Renderer is meant
// to be kept warm and shared like a model. It is safe for concurrent use:
// each page borrows an instance, waiting (bounded by its
// context) while all are busy.
//
// Instances are not reused: each page gets a fresh one (a few
// milliseconds) and its linear memory, which WebAssembly cannot shrink, is
// freed when the page is done. An idle Renderer holds only the compiled
// code.
type Renderer struct {
	mu     sync.RWMutex // held for reading while an instance is borrowed
	pool   pdfium.Pool
	closed bool
}

type rendererOptions struct {
	workers  int
	cacheDir string
}

// RendererOption configures NewRenderer.
type RendererOption func(*rendererOptions)

// WithCompilationCacheDir keeps wazero's compiled machine code in dir, so
// a Renderer created after the first (another process, or after eviction)
// loads in a fraction of a second instead of compiling for seconds.
func WithCompilationCacheDir(dir string) RendererOption {
	return func(o *rendererOptions) { o.cacheDir = dir }
}

// NewRenderer compiles PDFium. ctx only bounds the start: the engine
// lives until Close.
func NewRenderer(ctx context.Context, opts ...RendererOption) (*Renderer, error) {
	o := rendererOptions{workers: 1}
	for _, opt := range opts {
		opt(&o)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The module lowers setjmp/longjmp to WebAssembly exceptions, hence the
	// feature; closing on context lets a cancelled call stop a render.
	rc := wazero.NewRuntimeConfig().
		WithCoreFeatures(api.CoreFeaturesV2 | experimental.CoreFeaturesExceptionHandling).
		WithCloseOnContextDone(true)
	if o.cacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(o.cacheDir)
		if err != nil {
			return nil, fmt.Errorf("document: compilation cache: %w", err)
		}
		rc = rc.WithCompilationCache(cache)
	}
	pool, err := webassembly.Init(webassembly.Config{
		Context:       context.WithoutCancel(ctx),
		MaxIdle:       o.workers,
		MaxTotal:      o.workers,
		RuntimeConfig: rc,
		// Documents are passed as bytes: the sandbox needs no files at all.
		FSConfig: wazero.NewFSConfig(),
		Stdout:   io.Discard,
		Stderr:   io.Discard,
	})
	if err != nil {
		return nil, fmt.Errorf("document: starting pdfium: %w", err)
	}
	return &Renderer{pool: pool}, nil
}

// Close waits for borrowed instances to come back, then frees the engine.
// Calls after Close fail with ErrNoRenderer.
func (r *Renderer) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	return r.pool.Close()
}

// session is one borrowed instance with one open document.
type session struct {
	inst pdfium.Pdfium
	doc  references.FPDF_DOCUMENT
}

// open borrows an instance and opens data in it; end must be called when
// done. A cancelled ctx kills the instance mid-call, so a page that takes
// too long to render cannot hold the caller past its deadline.
func (r *Renderer) open(ctx context.Context, data []byte) (s *session, end func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		return nil, nil, ErrNoRenderer
	}
	inst, err := r.pool.GetInstanceWithContext(ctx)
	if err != nil {
		r.mu.RUnlock()
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, fmt.Errorf("document: borrowing a pdfium instance: %w", err)
	}
	killed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(killed)
		_ = inst.Kill() // the call in flight fails; the pool drops the instance
	})
	s = &session{inst: inst}
	end = func() {
		if stop() {
			if s.doc != "" {
				_, _ = inst.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: s.doc})
			}
			_ = inst.Close()
		} else {
			<-killed
		}
		r.mu.RUnlock()
	}
	doc, err := inst.OpenDocument(&requests.OpenDocument{File: &data})
	if err != nil {
		end()
		return nil, nil, classifyPDF(ctx, err)
	}
	s.doc = doc.Document
	return s, end, nil
}

// classifyPDF maps a PDFium error onto this package's kinds.
func classifyPDF(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, pdfiumerrors.ErrPassword), errors.Is(err, pdfiumerrors.ErrSecurity):
		return fmt.Errorf("%w: %v", ErrEncrypted, err)
	}
	return fmt.Errorf("%w: %v", ErrBrokenPDF, err)
}

func (s *session) pageCount(ctx context.Context) (int, error) {
	res, err := s.inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: s.doc})
	if err != nil {
		return 0, classifyPDF(ctx, err)
	}
	if res.PageCount < 1 {
		return 0, fmt.Errorf("%w: no pages", ErrBrokenPDF)
	}
	return res.PageCount, nil
}

func (r *Renderer) pageCount(ctx context.Context, data []byte) (int, error) {
	s, end, err := r.open(ctx, data)
	if err != nil {
		return 0, err
	}
	defer end()
	return s.pageCount(ctx)
}

// pdfSource opens the document afresh for every page: PDFium caches what
// it parses (fonts, images, page dictionaries) until the document is
// closed, and the instance is handed back between pages so a long
// document does not lock out other callers while fn runs.
type pdfSource struct {
	r    *Renderer
	data []byte
	o    Options
}

func (p pdfSource) count(ctx context.Context) (int, error) { return p.r.pageCount(ctx, p.data) }

// renderFlags: annotations carry visible text (stamps, filled-in forms).
const renderFlags = enums.FPDF_RENDER_FLAG_ANNOT | enums.FPDF_RENDER_FLAG_RENDER_LIMITEDIMAGECACHE

// page renders page n in an instance of its own, whose memory is freed
// when it is done (see Renderer).
func (p pdfSource) page(ctx context.Context, n int) (Page, error) {
	s, end, err := p.r.open(ctx, p.data)
	if err != nil {
		return Page{}, err
	}
	defer end()
	return s.render(ctx, n, p.o)
}

// render renders page n (1-based) after checking its size at the DPI,
// reading its text layer first under o.Text; a page whose text is all
// read is not rendered unless o.RenderAll.
func (s *session) render(ctx context.Context, n int, o Options) (Page, error) {
	ref := requests.Page{ByIndex: &requests.PageByIndex{Document: s.doc, Index: n - 1}}
	size, err := s.inst.GetPageSize(&requests.GetPageSize{Page: ref})
	if err != nil {
		return Page{}, fmt.Errorf("page %d: %w", n, classifyPDF(ctx, err))
	}
	// The rounding go-pdfium renders with.
	scale := float64(o.DPI) / 72
	w, h := math.Ceil(size.Width*scale), math.Ceil(size.Height*scale)
	if !(w >= 1 && h >= 1) {
		return Page{}, fmt.Errorf("page %d: %w: %gx%g pt", n, imageio.ErrZeroSize, size.Width, size.Height)
	}
	if w*h > float64(o.MaxPixels) {
		return Page{}, fmt.Errorf("page %d: %w: %.0fx%.0f px at %d dpi, limit %d pixels", n, imageio.ErrTooLarge, w, h, o.DPI, o.MaxPixels)
	}
	page := Page{Number: n, Width: int(w), Height: int(h), WidthPt: size.Width, HeightPt: size.Height}
	page.Method, page.Text, err = s.method(ctx, ref, o.Text, size.Width, size.Height, page.Width, page.Height)
	if err != nil {
		return Page{}, fmt.Errorf("page %d: reading its text: %w", n, err)
	}
	if !o.RenderAll && (page.Method == MethodText || page.Method == MethodNone) {
		return page, nil
	}
	res, err := s.inst.RenderPageInDPI(&requests.RenderPageInDPI{Page: ref, DPI: o.DPI, RenderFlags: renderFlags})
	if err != nil {
		return Page{}, fmt.Errorf("page %d: %w", n, classifyPDF(ctx, err))
	}
	defer res.Cleanup() // the pixels live in the instance's memory
	m, ok := res.Result.RenderedImage.(*image.RGBA)
	if !ok {
		return Page{}, fmt.Errorf("page %d: %w: render returned %T", n, ErrBrokenPDF, res.Result.RenderedImage)
	}
	page.Image = rgbaOnWhite(m)
	return page, nil
}

// rgbaOnWhite converts PDFium's straight-alpha RGBA to BGR on white paper.
// Opaque pages (go-pdfium fills them white first) convert exactly; pages
// with transparency are rendered onto transparent black and composited
// here, as a viewer shows them on white.
func rgbaOnWhite(m *image.RGBA) *imgproc.Image {
	b := m.Bounds()
	out := imgproc.New(b.Dx(), b.Dy())
	d := out.Pix
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := m.Pix[m.PixOffset(b.Min.X, y):m.PixOffset(b.Max.X, y)]
		for i := 0; i+3 < len(row); i += 4 {
			r, g, bl, a := uint32(row[i]), uint32(row[i+1]), uint32(row[i+2]), uint32(row[i+3])
			if a != 255 {
				paper := 255 * (255 - a)
				r, g, bl = (r*a+paper+127)/255, (g*a+paper+127)/255, (bl*a+paper+127)/255
			}
			d[0], d[1], d[2] = uint8(bl), uint8(g), uint8(r)
			d = d[3:]
		}
	}
	return out
}
