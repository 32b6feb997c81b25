package host

import (
	"context"
	"errors"
	"fmt"

	fmtpkg "github.com/ocrhost/ocrhost/format"
	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/document"
	"github.com/ocrhost/ocrhost/function/imageio"
	"github.com/ocrhost/ocrhost/warmpool"
)

// The PDF engine is pooled like a model: loaded on first use, shared,
// unloaded when idle.
const rendererModel = "pdfium"

func (h *Host) loadRenderer(ctx context.Context, _ warmpool.Key) (*document.Renderer, error) {
	var opts []document.RendererOption
	if h.cfg.rendererCache != "" {
		opts = append(opts, document.WithCompilationCacheDir(h.cfg.rendererCache))
	}
	r, err := document.NewRenderer(ctx, opts...)
	if err != nil {
		return nil, err
	}
	h.cfg.log.Info("PDF engine loaded")
	return r, nil
}

func (h *Host) closeRenderer(_ warmpool.Key, r *document.Renderer) error {
	h.cfg.log.Info("PDF engine unloaded")
	return r.Close()
}

// a4 is the page size a document's need is predicted at before its first
// page is rendered: A4 at the rendering resolution.
func a4(dpi int) (int, int) { return 827 * dpi / 100, 1169 * dpi / 100 }

// invokeDocument reads a multi-page document page by page, rendering the
// next page while one is recognised, so memory does not grow with the page
// count; req.Progress hears after every batch_size pages. A PDF page's
// text layer is read instead where option pdf_text says so, and the
// models are leased only when a page is to be recognised, so a PDF read
// wholly from its text loads none.
func (h *Host) invokeDocument(ctx context.Context, req *Request, opts function.Options, format string, out *output) (*Response, error) {
	d := opts.Document
	if d.DPI == 0 {
		d.DPI = h.cfg.dpi
	}
	if d.BatchSize == 0 {
		d.BatchSize = h.cfg.batchSize
	}
	pw, ph := a4(d.DPI)
	plan, err := function.PlanFor(pw, ph, opts)
	if err != nil {
		return nil, Fail(CodeInvalidInput, err)
	}
	ahead := 1 // the next page, rendered while one is read
	if h.cfg.sequentialPages {
		ahead = 0
	}
	need := h.cfg.predictor.Predict(OpOCR, h.params(pw, ph, plan, opts, ahead))
	w, err := h.reserve(ctx, need, opts)
	if err != nil {
		return nil, err
	}
	defer w.release()
	leased := false
	recognise := func(p document.Page) (*function.Result, error) {
		if !leased {
			if err := h.lease(ctx, w, opts); err != nil {
				return nil, err
			}
			leased = true
		}
		return h.run(ctx, w.models, p.Image, opts)
	}
	var renderer *document.Renderer
	if format == "pdf" {
		out.keepPages()
		lease, err := h.pdf.Acquire(ctx, "cpu", rendererModel)
		if err != nil {
			h.stats.rejected("lease")
			return nil, classifyAcquire(err)
		}
		defer lease.Release()
		renderer = lease.Get(rendererModel)
	}

	resp := &Response{ID: req.ID, Models: w.versions, Fallback: w.fallback}
	doc := function.NewDocumentText(d.Markdown)
	// Pages are rendered one ahead and each is dropped once read
	// (document.Pages collects it), so a long document costs about what
	// two pages do (TestPeakRSSFlatInPageCount);
	// batch_size only paces the progress events.
	err = document.Pages(ctx, renderer, req.Data, format, document.Options{
		DPI: d.DPI, FirstPage: d.FirstPage, LastPage: d.LastPage, MaxPages: h.cfg.maxPages, MaxPixels: h.cfg.maxPixels,
		Text: textMode(d.PdfText), RenderAll: out.drawsPages(), Sequential: h.cfg.sequentialPages,
	}, func(p document.Page, total int) error {
		var res *function.Result
		var err error
		switch p.Method {
		case document.MethodText, document.MethodNone:
			// Without the image, rendered only for an output that draws
			// it, so the blocks do not depend on the format asked for.
			res = function.Arrange(p.Width, p.Height, nil, readLines(p.Text), opts)
		case document.MethodMixed:
			if res, err = recognise(p); err == nil {
				res = function.Mix(readLines(p.Text), res, p.Image, opts)
			}
		default:
			res, err = recognise(p)
		}
		if err != nil {
			return err
		}
		h.stats.result(res)
		resp.Pages = append(resp.Pages, Page{Number: p.Number, Method: string(p.Method), Width: res.Width, Height: res.Height,
			Lines: res.Lines, Blocks: res.Blocks, Tables: res.Tables, Dropped: res.Dropped})
		resp.Dropped += res.Dropped
		resp.Lines = append(resp.Lines, res.Lines...)
		resp.Timings.Add(res.Timings)
		if len(resp.Pages) == 1 {
			resp.Width, resp.Height = res.Width, res.Height
		}
		pageText, pageMD := doc.Add(p.Number, res)
		dpi := 0.0 // an image's pages: the format's default
		if format == "pdf" {
			dpi = float64(d.DPI)
		}
		if err := out.page(formatPage(p.Number, res, pageText, pageMD, dpi), p.Image, nil, p.Method != document.MethodOCR); err != nil {
			return err
		}
		done := len(resp.Pages)
		if req.Progress != nil && (done%d.BatchSize == 0 || done == total) {
			req.Progress(done, total)
		}
		return nil
	})
	if err != nil {
		return nil, classifyDocument(err)
	}
	resp.Device = w.device // where the models ran, if any were leased
	if resp.Lines == nil {
		resp.Lines = []function.Line{}
	}
	resp.Text, resp.Markdown = doc.Text(), doc.Markdown()
	if out != nil && out.keep {
		err = out.finishPDF(ctx, renderer, req.Data, resp)
	} else {
		err = out.finish(resp)
	}
	if err != nil {
		return nil, classifyDocument(err)
	}
	return resp, nil
}

// textMode is what document.Pages does with a PDF's text layer under
// option pdf_text.
func textMode(p function.PdfText) document.TextMode {
	switch p {
	case function.PdfTextOCR:
		return document.TextIgnore
	case function.PdfTextExtract:
		return document.TextOnly
	}
	return document.TextAuto
}

// readLines are the lines of a page's text layer as result lines: read,
// not guessed, so sure (confidence 1).
func readLines(tl []document.TextLine) []function.Line {
	quad := func(q [4][2]float64) function.Quad {
		return function.Quad{{X: q[0][0], Y: q[0][1]}, {X: q[1][0], Y: q[1][1]}, {X: q[2][0], Y: q[2][1]}, {X: q[3][0], Y: q[3][1]}}
	}
	lines := make([]function.Line, len(tl))
	for i, l := range tl {
		words := make([]function.Word, len(l.Words))
		for j, w := range l.Words {
			words[j] = function.Word{Text: w.Text, Confidence: 1, Box: quad(w.Box)}
		}
		lines[i] = function.Line{Text: l.Text, Confidence: 1, Box: quad(l.Box), Words: words}
	}
	return lines
}

// formatPage is a document's page as the format writers take it.
func formatPage(n int, res *function.Result, text, md string, dpi float64) fmtpkg.Page {
	return fmtpkg.Page{Number: n, Width: res.Width, Height: res.Height, Lines: res.Lines, Blocks: res.Blocks,
		Text: text, Markdown: md, DPI: dpi}
}

func classifyDocument(err error) *Failure {
	var f *Failure
	switch {
	case errors.As(err, &f):
		return f
	case errors.Is(err, document.ErrTooManyPages), errors.Is(err, imageio.ErrTooLarge):
		return Fail(CodeTooLarge, err)
	case errors.Is(err, document.ErrEncrypted), errors.Is(err, document.ErrBrokenPDF), errors.Is(err, document.ErrPageRange):
		return Fail(CodeInvalidInput, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return Fail(CodeBusy, fmt.Errorf("host: document cancelled: %w", err))
	default:
		return classifyDecode(err)
	}
}
