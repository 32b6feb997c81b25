// Package format writes an OCR result in the formats people who OCR
// documents use: hOCR and ALTO for archives and digital libraries,
// Tesseract's TSV for scripts, plain text and Markdown, a searchable PDF
// and an overlay picture for review. It reads the function's result types
// page by page, so a multi-page document is written as it is read.
package format

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/imgproc"
)

// ErrUnknown means a format name this package does not write.
var ErrUnknown = errors.New("format: unknown format")

// Format names an output format.
type Format string

const (
	JSON     Format = "json"
	Text     Format = "text"
	Markdown Format = "markdown"
	HOCR     Format = "hocr"
	ALTO     Format = "alto"
	TSV      Format = "tsv"
	PDF      Format = "pdf"
	Overlay  Format = "overlay"
)

// All lists every format, JSON (the default) first.
var All = []Format{JSON, Text, Markdown, HOCR, ALTO, TSV, PDF, Overlay}

// Parse returns the format named s; "" is JSON.
func Parse(s string) (Format, error) {
	if s == "" {
		return JSON, nil
	}
	for _, f := range All {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, len(All))
	for i, f := range All {
		names[i] = string(f)
	}
	return "", fmt.Errorf("%w %q (want %s)", ErrUnknown, s, strings.Join(names, ", "))
}

// ContentType is the media type of f's output.
func (f Format) ContentType() string {
	switch f {
	case Text:
		return "text/plain; charset=utf-8"
	case Markdown:
		return "text/markdown; charset=utf-8"
	case HOCR:
		return "application/xhtml+xml"
	case ALTO:
		return "application/alto+xml"
	case TSV:
		return "text/tab-separated-values; charset=utf-8"
	case PDF:
		return "application/pdf"
	case Overlay:
		return "image/png"
	}
	return "application/json"
}

// ForMediaType is the format whose output has media type mt (parameters
// ignored).
func ForMediaType(mt string) (Format, bool) {
	mt, _, _ = strings.Cut(mt, ";")
	mt = strings.TrimSpace(strings.ToLower(mt))
	if mt == "" {
		return "", false
	}
	for _, f := range All {
		ct, _, _ := strings.Cut(f.ContentType(), ";")
		if ct == mt {
			return f, true
		}
	}
	return "", false
}

// Ext is the usual file name extension of f's output.
func (f Format) Ext() string {
	switch f {
	case Text:
		return ".txt"
	case Markdown:
		return ".md"
	case HOCR:
		return ".hocr"
	case ALTO:
		return ".alto.xml"
	case TSV:
		return ".tsv"
	case PDF:
		return ".pdf"
	case Overlay:
		return ".overlay.png"
	}
	return ".json"
}

// Page is one page of a result, with what the writers need beyond it.
type Page struct {
	// Number is the page's 1-based number in its document.
	Number        int
	Width, Height int
	Lines         []function.Line
	Blocks        []function.Block
	// Text and Markdown are the page as the function writes them (Markdown
	// only when it was asked for).
	Text, Markdown string
	// Image is the page as it was read, for the formats that draw it;
	// JPEG, when set, is the same page as a JPEG file a PDF embeds
	// unchanged (see EmbeddableJPEG).
	Image *imgproc.Image
	JPEG  []byte
	// DPI is the page image's resolution (0: DefaultDPI).
	DPI float64
}

// NeedsImage reports whether f draws the page, so the page image must be
// kept for it.
func (f Format) NeedsImage() bool { return f == PDF || f == Overlay }

// FromResult is the page of a single-image result.
func FromResult(r *function.Result, markdown bool) Page {
	p := Page{Number: 1, Width: r.Width, Height: r.Height, Lines: r.Lines, Blocks: r.Blocks, Text: r.Text()}
	if markdown {
		p.Markdown = r.Markdown()
	}
	return p
}

// Writer writes a document page by page; Close ends the document. JSON
// is not written here: it is the host's answer as it stands.
type Writer interface {
	WritePage(Page) error
	Close() error
}

// NewWriter returns a writer of f to w.
func NewWriter(w io.Writer, f Format) (Writer, error) {
	switch f {
	case Text:
		return &textWriter{w: w}, nil
	case Markdown:
		return &textWriter{w: w, markdown: true}, nil
	case HOCR:
		return newHOCR(w), nil
	case ALTO:
		return newALTO(w), nil
	case TSV:
		return newTSV(w), nil
	case PDF:
		return newPDF(w), nil
	case Overlay:
		return newOverlay(w), nil
	}
	return nil, fmt.Errorf("%w %q for a page writer", ErrUnknown, f)
}

// textWriter writes each page's text, pages separated by a form feed, or
// its Markdown as given (a document's pages open with a comment naming
// them, as the host writes them).
type textWriter struct {
	w        io.Writer
	markdown bool
	pages    int
}

func (t *textWriter) WritePage(p Page) error {
	t.pages++
	var err error
	switch {
	case t.markdown:
		_, err = io.WriteString(t.w, p.Markdown)
	case t.pages > 1:
		_, err = io.WriteString(t.w, "\f"+p.Text)
	default:
		_, err = io.WriteString(t.w, p.Text)
	}
	return err
}

func (t *textWriter) Close() error { return nil }

// rect is an axis-aligned box in whole pixels: x0, y0 inclusive, x1, y1
// exclusive, as hOCR, ALTO and TSV count them.
type rect struct{ x0, y0, x1, y1 int }

func (r rect) w() int { return r.x1 - r.x0 }
func (r rect) h() int { return r.y1 - r.y0 }

func (r rect) union(o rect) rect {
	if r.w() <= 0 || r.h() <= 0 {
		return o
	}
	return rect{min(r.x0, o.x0), min(r.y0, o.y0), max(r.x1, o.x1), max(r.y1, o.y1)}
}

// bounds is the box around q, widened to whole pixels and kept on the page.
func bounds(q function.Quad, p Page) rect {
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, pt := range q {
		x0, y0 = min(x0, pt.X), min(y0, pt.Y)
		x1, y1 = max(x1, pt.X), max(y1, pt.Y)
	}
	c := func(v float64, hi int) int { return min(max(int(v), 0), hi) }
	r := rect{c(math.Floor(x0), p.Width), c(math.Floor(y0), p.Height), c(math.Ceil(x1), p.Width), c(math.Ceil(y1), p.Height)}
	r.x1, r.y1 = max(r.x1, r.x0+1), max(r.y1, r.y0+1) // never empty
	return r
}

// block is one block of a page as the XML writers nest it: a typed run of
// lines.
type block struct {
	typ   string
	lines []int
	box   rect
}

// blocks groups a page's lines: its layout blocks when it has them, one
// block of every line otherwise. A line no block holds gets a block of its
// own at the end, so no recognised text is ever left out.
func blocks(p Page) []block {
	held := make([]bool, len(p.Lines))
	var out []block
	add := func(typ string, idx []int) {
		b := block{typ: typ}
		for _, i := range idx {
			if i < 0 || i >= len(p.Lines) || held[i] {
				continue
			}
			held[i] = true
			b.lines = append(b.lines, i)
			b.box = b.box.union(bounds(p.Lines[i].Box, p))
		}
		if len(b.lines) > 0 {
			out = append(out, b)
		}
	}
	for _, b := range p.Blocks {
		add(b.Type, b.Lines)
	}
	var rest []int
	for i := range p.Lines {
		if !held[i] {
			rest = append(rest, i)
		}
	}
	add("", rest)
	return out
}

// words are a line's words, or the whole line as one word when it has
// none (recognition off, or a result from before word boxes).
func words(l function.Line) []function.Word {
	if len(l.Words) > 0 {
		return l.Words
	}
	if strings.TrimSpace(l.Text) == "" {
		return nil
	}
	return []function.Word{{Text: l.Text, Confidence: l.Confidence, Box: l.Box}}
}
