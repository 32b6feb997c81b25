// Package pdfgen writes small, valid PDFs of Helvetica text for tests and
// benchmarks that need documents with known text per page.
package pdfgen

import (
	"bytes"
	"fmt"
	"strings"
)

// Page is one page: its size in points and its content stream, which may
// use the font /F1 (Helvetica unless WriteFont names another, WinAnsi).
type Page struct {
	W, H    float64
	Content string
}

// Write returns a PDF of pages: catalog, page tree, font, then a page and
// its content stream per page, with the cross-reference table computed
// from the byte offsets as it goes.
func Write(pages []Page) []byte { return WriteFont(pages, "Helvetica") }

// WriteFont is Write with /F1 set to one of the standard 14 fonts
// ("Times-Roman", "Courier", ...), which every PDF reader carries.
func WriteFont(pages []Page, baseFont string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	n := 3 + 2*len(pages)
	off := make([]int, n+1)
	obj := func(num int, body string) {
		off[num] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", num, body)
	}
	kids := make([]string, len(pages))
	for i := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", 4+2*i)
	}
	obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	obj(2, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pages)))
	obj(3, fmt.Sprintf("<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>", baseFont))
	for i, p := range pages {
		obj(4+2*i, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Contents %d 0 R /Resources << /Font << /F1 3 0 R >> >> >>",
			p.W, p.H, 5+2*i))
		obj(5+2*i, fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(p.Content), p.Content))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", n+1)
	for _, o := range off[1:] {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", n+1, xref)
	return b.Bytes()
}

// Lines returns a PDF of one A5 page per text, each text one line of 28 pt
// Helvetica: large enough that OCR must read it exactly.
func Lines(texts []string) []byte {
	pages := make([]Page, len(texts))
	for i, t := range texts {
		pages[i] = Page{W: 420, H: 595, Content: fmt.Sprintf("BT /F1 28 Tf 50 480 Td (%s) Tj ET", t)}
	}
	return Write(pages)
}
