package document

import (
	"context"
	"fmt"
	"math"
	"strings"
	"unicode"

	"github.com/klippa-app/go-pdfium/enums"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
)

// TextMode says what Pages does with a PDF page's text layer.
type TextMode int

const (
	// TextIgnore renders every page for OCR and reads no text.
	TextIgnore TextMode = iota
	// TextAuto reads the text of pages that have it; pages without text,
	// and pages whose pictures cover a good part of them, are rendered
	// for OCR too.
	TextAuto
	// TextOnly reads text and renders nothing for OCR.
	TextOnly
)

// Method is how a page's text is had.
type Method string

const (
	// MethodOCR: the page is rendered and recognised.
	MethodOCR Method = "ocr"
	// MethodText: the page's text is read from its text layer.
	MethodText Method = "text"
	// MethodMixed: the text layer is read and the page, rendered, is
	// recognised too, for the text in its pictures.
	MethodMixed Method = "mixed"
	// MethodNone: TextOnly on a page with no text; it is left empty.
	MethodNone Method = "none"
)

// TextLine is a line of a page's text layer in the pixels of the page as
// rendered at Options.DPI (y down): Box's corners are top-left, top-right,
// bottom-right, bottom-left.
type TextLine struct {
	Text  string
	Box   [4][2]float64
	Words []TextWord
}

// TextWord is a run of a line's characters between spaces.
type TextWord struct {
	Text string
	Box  [4][2]float64
}

// pictureShare is the share of a page that pictures must cover for the
// page to be read as mixed: a scan under a text layer, or figures worth
// reading, but not a logo or a rule drawn as an image.
const pictureShare = 0.1

// method decides how page ref, w×h pt, is read under mode, and reads its
// text when the text layer is used. Text whose characters PDFium cannot
// map to Unicode is no text: it would read as garbage, so the page is
// recognised instead.
func (s *session) method(ctx context.Context, ref requests.Page, mode TextMode, w, h float64, px, py int) (Method, []TextLine, error) {
	if mode == TextIgnore {
		return MethodOCR, nil, nil
	}
	lines, err := s.readText(ctx, ref, px, py)
	if err != nil {
		return "", nil, err
	}
	switch {
	case len(lines) == 0 && mode == TextOnly:
		return MethodNone, nil, nil
	case len(lines) == 0:
		return MethodOCR, nil, nil
	case mode == TextOnly:
		return MethodText, lines, nil
	}
	pictured, err := s.pictureArea(ctx, ref)
	if err != nil {
		return "", nil, err
	}
	if pictured >= pictureShare*w*h {
		return MethodMixed, lines, nil
	}
	return MethodText, lines, nil
}

// readText reads the text layer of page ref into lines in the pixels of a
// px×py rendering. PDFium orders the characters as the content stream
// draws them and inserts spaces and line breaks where the layout has them
// ("generated" characters); words are split at spaces and lines at breaks,
// and at a character that does not sit on the line's baseline, in case a
// break was not generated.
func (s *session) readText(ctx context.Context, ref requests.Page, px, py int) ([]TextLine, error) {
	toPx, err := s.pageToPixels(ctx, ref, px, py)
	if err != nil {
		return nil, err
	}
	tp, err := s.inst.FPDFText_LoadPage(&requests.FPDFText_LoadPage{Page: ref})
	if err != nil {
		return nil, classifyPDF(ctx, err)
	}
	defer s.inst.FPDFText_ClosePage(&requests.FPDFText_ClosePage{TextPage: tp.TextPage})
	count, err := s.inst.FPDFText_CountChars(&requests.FPDFText_CountChars{TextPage: tp.TextPage})
	if err != nil {
		return nil, classifyPDF(ctx, err)
	}
	b := lineBuilder{toPx: toPx}
	unmapped, mapped := 0, 0
	for i := range count.Count {
		u, err := s.inst.FPDFText_GetUnicode(&requests.FPDFText_GetUnicode{TextPage: tp.TextPage, Index: i})
		if err != nil {
			return nil, classifyPDF(ctx, err)
		}
		r := rune(u.Unicode)
		switch {
		case r == '\r' || r == '\n':
			b.endLine()
			continue
		case unicode.IsSpace(r):
			b.endWord()
			continue
		case !unicode.IsPrint(r):
			continue // soft hyphens PDFium marks with control codes, and the like
		}
		box, err := s.inst.FPDFText_GetLooseCharBox(&requests.FPDFText_GetLooseCharBox{TextPage: tp.TextPage, Index: i})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			continue // a character with no glyph box cannot be placed
		}
		bad, err := s.inst.FPDFText_HasUnicodeMapError(&requests.FPDFText_HasUnicodeMapError{TextPage: tp.TextPage, Index: i})
		if err != nil {
			return nil, classifyPDF(ctx, err)
		}
		if bad.HasUnicodeMapError {
			unmapped++
		} else {
			mapped++
		}
		c := box.Rect
		b.add(r, rect{float64(c.Left), float64(c.Bottom), float64(c.Right), float64(c.Top)})
	}
	b.endLine()
	if unmapped > mapped {
		return nil, nil
	}
	return b.lines, nil
}

// pageToPixels is the affine map, in PDF's [a b c d e f] order, from page
// ref's user space to the pixels of a px×py rendering, rotation included.
func (s *session) pageToPixels(ctx context.Context, ref requests.Page, px, py int) ([6]float64, error) {
	dev, err := s.pixelsToPage(ctx, ref, px, py)
	if err != nil {
		return [6]float64{}, err
	}
	return invert(dev)
}

// pixelsToPage is the affine map from the pixels of a px×py rendering of
// page ref to its user space. Device to page space is affine: three
// points fix it, whatever the page's rotation and boxes.
func (s *session) pixelsToPage(ctx context.Context, ref requests.Page, px, py int) ([6]float64, error) {
	toPage := func(x, y int) ([2]float64, error) {
		res, err := s.inst.FPDF_DeviceToPage(&requests.FPDF_DeviceToPage{Page: ref, SizeX: px, SizeY: py,
			Rotate: enums.FPDF_PAGE_ROTATION_NONE, DeviceX: x, DeviceY: y})
		if err != nil {
			return [2]float64{}, classifyPDF(ctx, err)
		}
		return [2]float64{res.PageX, res.PageY}, nil
	}
	o, err := toPage(0, 0)
	if err != nil {
		return [6]float64{}, err
	}
	ex, err := toPage(px, 0)
	if err != nil {
		return [6]float64{}, err
	}
	ey, err := toPage(0, py)
	if err != nil {
		return [6]float64{}, err
	}
	return [6]float64{(ex[0] - o[0]) / float64(px), (ex[1] - o[1]) / float64(px),
		(ey[0] - o[0]) / float64(py), (ey[1] - o[1]) / float64(py), o[0], o[1]}, nil
}

// invert is the inverse of the affine map m.
func invert(m [6]float64) ([6]float64, error) {
	det := m[0]*m[3] - m[1]*m[2]
	if det == 0 || math.IsNaN(det) {
		return [6]float64{}, fmt.Errorf("%w: degenerate page transform %v", ErrBrokenPDF, m)
	}
	a, b, c, d := m[3]/det, -m[1]/det, -m[2]/det, m[0]/det
	return [6]float64{a, b, c, d, -(m[4]*a + m[5]*c), -(m[4]*b + m[5]*d)}, nil
}

// rect is an axis-aligned box, x0 ≤ x1 and y0 ≤ y1.
type rect struct{ x0, y0, x1, y1 float64 }

// in maps r through the affine map m and bounds the result.
func (r rect) in(m [6]float64) rect {
	out := rect{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, p := range [4][2]float64{{r.x0, r.y0}, {r.x1, r.y0}, {r.x1, r.y1}, {r.x0, r.y1}} {
		x, y := p[0]*m[0]+p[1]*m[2]+m[4], p[0]*m[1]+p[1]*m[3]+m[5]
		out = out.union(rect{x, y, x, y})
	}
	return out
}

func (r rect) union(o rect) rect {
	return rect{min(r.x0, o.x0), min(r.y0, o.y0), max(r.x1, o.x1), max(r.y1, o.y1)}
}

func (r rect) quad() [4][2]float64 {
	return [4][2]float64{{r.x0, r.y0}, {r.x1, r.y0}, {r.x1, r.y1}, {r.x0, r.y1}}
}

// lineBuilder gathers characters into words and words into lines. It
// works in page space, where the text of a page shown turned by /Rotate
// still runs along x, and maps each box into pixels through toPx.
type lineBuilder struct {
	toPx  [6]float64
	lines []TextLine
	words []TextWord
	line  rect
	word  strings.Builder
	wbox  rect
	last  rect // the last character's box
}

// add appends character r, boxed by box, to the current word. A new line
// starts first when the character's middle is outside the line's height,
// as it is drawn on another baseline, or when it stands apart from the
// previous character by more than the line's height, behind it or ahead:
// the next cell of a table row or the next column, which the detector
// would box apart too.
func (b *lineBuilder) add(r rune, box rect) {
	if b.word.Len() > 0 || len(b.words) > 0 {
		mid, h := (box.y0+box.y1)/2, b.line.y1-b.line.y0
		if mid < b.line.y0 || mid > b.line.y1 || box.x0-b.last.x1 > h || box.x1 < b.last.x0 {
			b.endLine()
		}
	}
	if b.word.Len() == 0 {
		b.wbox = box
	} else {
		b.wbox = b.wbox.union(box)
	}
	if b.word.Len() == 0 && len(b.words) == 0 {
		b.line = box
	} else {
		b.line = b.line.union(box)
	}
	b.last = box
	b.word.WriteRune(r)
}

func (b *lineBuilder) endWord() {
	if b.word.Len() == 0 {
		return
	}
	b.words = append(b.words, TextWord{Text: b.word.String(), Box: b.wbox.in(b.toPx).quad()})
	b.word.Reset()
}

func (b *lineBuilder) endLine() {
	b.endWord()
	if len(b.words) == 0 {
		return
	}
	texts := make([]string, len(b.words))
	for i, w := range b.words {
		texts[i] = w.Text
	}
	b.lines = append(b.lines, TextLine{Text: strings.Join(texts, " "), Box: b.line.in(b.toPx).quad(), Words: b.words})
	b.words = nil
}

// pictureArea is the area, in square points, of page ref's images: the
// bounds of each top-level object that is, or holds, an image (scanners
// and converters often wrap the scan in a form XObject).
func (s *session) pictureArea(ctx context.Context, ref requests.Page) (float64, error) {
	n, err := s.inst.FPDFPage_CountObjects(&requests.FPDFPage_CountObjects{Page: ref})
	if err != nil {
		return 0, classifyPDF(ctx, err)
	}
	area := 0.0
	for i := range n.Count {
		obj, err := s.inst.FPDFPage_GetObject(&requests.FPDFPage_GetObject{Page: ref, Index: i})
		if err != nil {
			return 0, classifyPDF(ctx, err)
		}
		has, err := s.hasImage(ctx, obj.PageObject, 0)
		if err != nil {
			return 0, err
		}
		if !has {
			continue
		}
		b, err := s.inst.FPDFPageObj_GetBounds(&requests.FPDFPageObj_GetBounds{PageObject: obj.PageObject})
		if err != nil {
			return 0, classifyPDF(ctx, err)
		}
		area += float64(b.Right-b.Left) * float64(b.Top-b.Bottom)
	}
	return area, nil
}

// maxFormDepth bounds the nesting of form XObjects looked into, against
// hostile files.
const maxFormDepth = 4

// hasImage reports whether obj is an image or a form XObject holding one.
func (s *session) hasImage(ctx context.Context, obj references.FPDF_PAGEOBJECT, depth int) (bool, error) {
	t, err := s.inst.FPDFPageObj_GetType(&requests.FPDFPageObj_GetType{PageObject: obj})
	if err != nil {
		return false, classifyPDF(ctx, err)
	}
	switch {
	case t.Type == enums.FPDF_PAGEOBJ_IMAGE:
		return true, nil
	case t.Type != enums.FPDF_PAGEOBJ_FORM || depth >= maxFormDepth:
		return false, nil
	}
	n, err := s.inst.FPDFFormObj_CountObjects(&requests.FPDFFormObj_CountObjects{PageObject: obj})
	if err != nil {
		return false, classifyPDF(ctx, err)
	}
	for i := range n.Count {
		child, err := s.inst.FPDFFormObj_GetObject(&requests.FPDFFormObj_GetObject{PageObject: obj, Index: uint64(i)})
		if err != nil {
			return false, classifyPDF(ctx, err)
		}
		if has, err := s.hasImage(ctx, child.PageObject, depth+1); has || err != nil {
			return has, err
		}
	}
	return false, nil
}
