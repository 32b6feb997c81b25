package document

import (
	"bytes"
	"context"
	"fmt"

	"github.com/klippa-app/go-pdfium/enums"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
	"github.com/klippa-app/go-pdfium/structs"

	"github.com/ocrhost/ocrhost/format/glyphless"
)

// TextRun is a run of invisible text to lay over a page as it was
// rendered: Text at font size Size, its text space (baseline along x, up
// along y) mapped into the rendered image's pixels (y down) by Matrix, [a
// b c d e f] in PDF's order.
type TextRun struct {
	Text   string
	Size   float64
	Matrix [6]float64
}

// TextPage is the text to lay over page Number (1-based), rendered at
// Width × Height pixels.
type TextPage struct {
	Number        int
	Width, Height int
	Runs          []TextRun
}

// AddText returns PDF data with each page's runs added as invisible text
// (rendering mode 3) in a glyphless font made for the runs' characters
// (package glyphless): PDFium embeds a font whole, and drops a character
// its font has no glyph for, so the font has a glyph for each character
// used and nothing else; runs are measured in its uniform advance
// (glyphless.Advance per glyphless.UnitsPerEm). The other pages keep their
// objects: same numbers, streams byte for byte (PDFium writes a stream it
// did not change as it read it). The file is saved whole: PDFium's
// incremental save appended a second copy of every object, doubling the
// file. A page that already carries text is left as it is: it is
// searchable, and a second layer would double its text.
func (r *Renderer) AddText(ctx context.Context, data []byte, pages []TextPage) ([]byte, error) {
	s, end, err := r.open(ctx, data)
	if err != nil {
		return nil, err
	}
	defer end()
	// The font is made for, and added with, the pages that get text.
	var todo []TextPage
	var texts []string
	for _, p := range pages {
		has, err := s.hasText(ctx, p.Number)
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", p.Number, err)
		}
		if has || len(p.Runs) == 0 {
			continue
		}
		todo = append(todo, p)
		for _, r := range p.Runs {
			texts = append(texts, r.Text)
		}
	}
	if len(todo) > 0 {
		gf, err := glyphless.New(texts...)
		if err != nil {
			return nil, fmt.Errorf("document: making the text font: %w", err)
		}
		font, err := s.inst.FPDFText_LoadFont(&requests.FPDFText_LoadFont{Document: s.doc, Data: gf.TTF(), FontType: enums.FPDF_FONT_TRUETYPE, CID: true})
		if err != nil {
			return nil, fmt.Errorf("document: loading the text font: %w", classifyPDF(ctx, err))
		}
		defer s.inst.FPDFFont_Close(&requests.FPDFFont_Close{Font: font.Font})
		for _, p := range todo {
			if err := s.addText(ctx, font.Font, gf, p); err != nil {
				return nil, fmt.Errorf("page %d: %w", p.Number, err)
			}
		}
	}
	var out bytes.Buffer
	if _, err := s.inst.FPDF_SaveAsCopy(&requests.FPDF_SaveAsCopy{Document: s.doc, Flags: requests.SaveFlagNoIncremental, FileWriter: &out}); err != nil {
		return nil, fmt.Errorf("document: saving: %w", classifyPDF(ctx, err))
	}
	return out.Bytes(), nil
}

func (s *session) addText(ctx context.Context, font references.FPDF_FONT, gf *glyphless.Font, p TextPage) error {
	ref := requests.Page{ByIndex: &requests.PageByIndex{Document: s.doc, Index: p.Number - 1}}
	dev, err := s.pixelsToPage(ctx, ref, p.Width, p.Height)
	if err != nil {
		return err
	}
	for _, run := range p.Runs {
		obj, err := s.inst.FPDFPageObj_CreateTextObj(&requests.FPDFPageObj_CreateTextObj{Document: s.doc, Font: font, FontSize: float32(run.Size)})
		if err != nil {
			return classifyPDF(ctx, err)
		}
		// The codes are set as glyph indices (the font is Identity-H):
		// PDFium's FPDFText_SetText finds a character's code by reverse
		// lookup in the font's ToUnicode map, which misses characters
		// beyond the BMP (mapped to two UTF-16 units there).
		var codes []uint32
		for _, r := range run.Text {
			codes = append(codes, uint32(gf.Glyph(r)))
		}
		if _, err := s.inst.FPDFText_SetCharcodes(&requests.FPDFText_SetCharcodes{PageObject: obj.PageObject, CharCodes: codes}); err != nil {
			return classifyPDF(ctx, err)
		}
		if _, err := s.inst.FPDFTextObj_SetTextRenderMode(&requests.FPDFTextObj_SetTextRenderMode{PageObject: obj.PageObject,
			TextRenderMode: enums.FPDF_TEXTRENDERMODE_INVISIBLE}); err != nil {
			return classifyPDF(ctx, err)
		}
		m := concat(run.Matrix, dev)
		if _, err := s.inst.FPDFPageObj_Transform(&requests.FPDFPageObj_Transform{PageObject: obj.PageObject,
			Transform: structs.FPDF_FS_MATRIX{A: float32(m[0]), B: float32(m[1]), C: float32(m[2]), D: float32(m[3]), E: float32(m[4]), F: float32(m[5])}}); err != nil {
			return classifyPDF(ctx, err)
		}
		if _, err := s.inst.FPDFPage_InsertObject(&requests.FPDFPage_InsertObject{Page: ref, PageObject: obj.PageObject}); err != nil {
			return classifyPDF(ctx, err)
		}
	}
	if _, err := s.inst.FPDFPage_GenerateContent(&requests.FPDFPage_GenerateContent{Page: ref}); err != nil {
		return classifyPDF(ctx, err)
	}
	return nil
}

// hasText reports whether page n (1-based) carries any text.
func (s *session) hasText(ctx context.Context, n int) (bool, error) {
	ref := requests.Page{ByIndex: &requests.PageByIndex{Document: s.doc, Index: n - 1}}
	tp, err := s.inst.FPDFText_LoadPage(&requests.FPDFText_LoadPage{Page: ref})
	if err != nil {
		return false, classifyPDF(ctx, err)
	}
	defer s.inst.FPDFText_ClosePage(&requests.FPDFText_ClosePage{TextPage: tp.TextPage})
	count, err := s.inst.FPDFText_CountChars(&requests.FPDFText_CountChars{TextPage: tp.TextPage})
	if err != nil {
		return false, classifyPDF(ctx, err)
	}
	return count.Count > 0, nil
}

// concat is the matrix applying m, then n (PDF's row-vector order: m × n).
func concat(m, n [6]float64) [6]float64 {
	return [6]float64{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}
