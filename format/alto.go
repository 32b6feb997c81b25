package format

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"strconv"
)

// altoWriter writes ALTO 4.4 (www.loc.gov/standards/alto): one Page per
// page, a TextBlock per layout block (its type a LayoutTag), TextLine and
// String with WC, SP between words. ALTO puts its tags before the layout,
// so the pages are held until Close.
type altoWriter struct {
	out   io.Writer
	pages []Page
}

func newALTO(w io.Writer) *altoWriter { return &altoWriter{out: w} }

func (a *altoWriter) WritePage(p Page) error {
	a.pages = append(a.pages, p)
	return nil
}

func (a *altoWriter) Close() error {
	w := bufio.NewWriter(a.out)
	w.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.loc.gov/standards/alto/ns-v4# http://www.loc.gov/alto/v4/alto-4-4.xsd">
 <Description>
  <MeasurementUnit>pixel</MeasurementUnit>
  <sourceImageInformation><fileName></fileName></sourceImageInformation>
  <OCRProcessing ID="OCR_0"><ocrProcessingStep><processingSoftware><softwareName>ocrhost</softwareName></processingSoftware></ocrProcessingStep></OCRProcessing>
 </Description>
`)
	var types []string
	seen := map[string]bool{}
	for _, p := range a.pages {
		for _, b := range blocks(p) {
			if b.typ != "" && !seen[b.typ] {
				seen[b.typ] = true
				types = append(types, b.typ)
			}
		}
	}
	if len(types) > 0 {
		w.WriteString(" <Tags>\n")
		for _, t := range types {
			fmt.Fprintf(w, "  <LayoutTag ID=\"TAG_%s\" LABEL=\"%s\"/>\n", html.EscapeString(t), html.EscapeString(t))
		}
		w.WriteString(" </Tags>\n")
	}
	w.WriteString(" <Layout>\n")
	for pi, p := range a.pages {
		n := p.Number
		if n == 0 {
			n = pi + 1
		}
		fmt.Fprintf(w, "  <Page ID=\"page_%d\" PHYSICAL_IMG_NR=\"%d\" WIDTH=\"%d\" HEIGHT=\"%d\">\n", n, n, p.Width, p.Height)
		fmt.Fprintf(w, "   <PrintSpace HPOS=\"0\" VPOS=\"0\" WIDTH=\"%d\" HEIGHT=\"%d\">\n", p.Width, p.Height)
		for bi, b := range blocks(p) {
			tag := ""
			if b.typ != "" {
				tag = fmt.Sprintf(" TAGREFS=\"TAG_%s\"", html.EscapeString(b.typ))
			}
			fmt.Fprintf(w, "    <TextBlock ID=\"block_%d_%d\"%s %s>\n", n, bi+1, tag, altoBox(b.box))
			for _, li := range b.lines {
				l := p.Lines[li]
				ws := words(l)
				if len(ws) == 0 {
					continue // a TextLine needs a String
				}
				fmt.Fprintf(w, "     <TextLine ID=\"line_%d_%d\" %s>\n", n, li+1, altoBox(bounds(l.Box, p)))
				for wi, wd := range ws {
					wb := bounds(wd.Box, p)
					if wi > 0 {
						prev := bounds(ws[wi-1].Box, p)
						fmt.Fprintf(w, "      <SP WIDTH=\"%d\" HPOS=\"%d\" VPOS=\"%d\"/>\n", max(wb.x0-prev.x1, 0), prev.x1, prev.y0)
					}
					fmt.Fprintf(w, "      <String ID=\"string_%d_%d_%d\" %s WC=\"%s\" CONTENT=\"%s\"/>\n",
						n, li+1, wi+1, altoBox(wb), strconv.FormatFloat(float64(min(max(wd.Confidence, 0), 1)), 'f', 4, 32), html.EscapeString(wd.Text))
				}
				w.WriteString("     </TextLine>\n")
			}
			w.WriteString("    </TextBlock>\n")
		}
		w.WriteString("   </PrintSpace>\n  </Page>\n")
	}
	w.WriteString(" </Layout>\n</alto>\n")
	return w.Flush()
}

func altoBox(r rect) string {
	return fmt.Sprintf("HPOS=\"%d\" VPOS=\"%d\" WIDTH=\"%d\" HEIGHT=\"%d\"", r.x0, r.y0, r.w(), r.h())
}
