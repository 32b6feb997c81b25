package format

import (
	"bufio"
	"fmt"
	"html"
	"io"

	"github.com/ocrhost/ocrhost/function/layout"
)

// hocrWriter writes hOCR 1.2 (kba.github.io/hocr-spec/1.2): an XHTML
// document with one ocr_page per page, an ocr_carea and ocr_par per layout
// block, and ocr_line / ocrx_word spans with bbox and x_wconf.
type hocrWriter struct {
	w     *bufio.Writer
	out   io.Writer
	pages int
}

func newHOCR(w io.Writer) *hocrWriter {
	h := &hocrWriter{w: bufio.NewWriter(w), out: w}
	h.w.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title></title>
  <meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>
  <meta name="ocr-system" content="ocrhost"/>
  <meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf"/>
 </head>
 <body>
`)
	return h
}

// hocrLineClass is the span class of a line in a block of type t: hOCR's
// ocr_header for titles and headings, ocr_textfloat for running headers,
// footers and page numbers, ocr_line otherwise (ocrmypdf's hocrtransform
// reads exactly these three).
func hocrLineClass(t string) string {
	switch layout.BlockType(t) {
	case layout.Title, layout.Heading:
		return "ocr_header"
	case layout.Header, layout.Footer, layout.PageNumber:
		return "ocr_textfloat"
	}
	return "ocr_line"
}

func (h *hocrWriter) WritePage(p Page) error {
	h.pages++
	n := p.Number
	if n == 0 {
		n = h.pages
	}
	w := h.w
	fmt.Fprintf(w, "  <div class=\"ocr_page\" id=\"page_%d\" title=\"bbox 0 0 %d %d; ppageno %d\">\n", n, p.Width, p.Height, n-1)
	for bi, b := range blocks(p) {
		box := b.box
		typ := ""
		if b.typ != "" {
			typ = fmt.Sprintf(" data-type=\"%s\"", html.EscapeString(b.typ))
		}
		fmt.Fprintf(w, "   <div class=\"ocr_carea\" id=\"block_%d_%d\"%s title=\"bbox %d %d %d %d\">\n", n, bi+1, typ, box.x0, box.y0, box.x1, box.y1)
		fmt.Fprintf(w, "    <p class=\"ocr_par\" id=\"par_%d_%d\" title=\"bbox %d %d %d %d\">\n", n, bi+1, box.x0, box.y0, box.x1, box.y1)
		for _, li := range b.lines {
			l := p.Lines[li]
			lb := bounds(l.Box, p)
			fmt.Fprintf(w, "     <span class=\"%s\" id=\"line_%d_%d\" title=\"bbox %d %d %d %d; baseline 0 0\">", hocrLineClass(b.typ), n, li+1, lb.x0, lb.y0, lb.x1, lb.y1)
			for wi, wd := range words(l) {
				if wi > 0 {
					w.WriteByte(' ')
				}
				wb := bounds(wd.Box, p)
				fmt.Fprintf(w, "<span class=\"ocrx_word\" id=\"word_%d_%d_%d\" title=\"bbox %d %d %d %d; x_wconf %d\">%s</span>",
					n, li+1, wi+1, wb.x0, wb.y0, wb.x1, wb.y1, int(wd.Confidence*100+0.5), html.EscapeString(wd.Text))
			}
			w.WriteString("</span>\n")
		}
		w.WriteString("    </p>\n   </div>\n")
	}
	w.WriteString("  </div>\n")
	return w.Flush()
}

func (h *hocrWriter) Close() error {
	h.w.WriteString(" </body>\n</html>\n")
	return h.w.Flush()
}
