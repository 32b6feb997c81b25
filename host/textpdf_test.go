package host

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ocrhost/ocrhost/internal/pdfgen"
	"github.com/ocrhost/ocrhost/internal/testenv"
	"github.com/ocrhost/ocrhost/internal/textmetric"
)

// Clean text PDFs lose no line: the direction classifier flips some upright
// lines of such pages, and each line it disagrees with the page on is read
// both ways. Three fonts at the sizes that lost lines, at three DPIs, 20
// pages each, recognised (pdf_text ocr), not read from their text layer.
func TestTextPDFsLoseNoLine(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: OCRs 180 pages")
	}
	if testenv.Race() {
		t.Skip("-race build: 180 pages of Go-side rendering and pre-processing under the race detector cost minutes and " +
			"test nothing the race run of the document tests does not; make test runs this without -race")
	}
	const perPage, pages = 6, 20
	// Courier's remaining errors are characters the recogniser misreads in
	// a monospaced face (README, "Reading order and layout"), not lines.
	fonts := []struct {
		name   string
		pt     float64
		maxCER float64
	}{{"Helvetica", 20, 0.005}, {"Times-Roman", 11, 0.005}, {"Courier", 14, 0.02}}
	h := docHost(t, pdfgen.Lines([]string{"warm up"}))
	for _, f := range fonts {
		// A5 pages of six lines, each as wide as the column allows.
		const w, ht = 420.0, 595.0
		chars := int((w - 108) / (0.6 * f.pt))
		doc := make([]pdfgen.Page, pages)
		want := make([]string, pages)
		k := 0
		for i := range doc {
			var lines []string
			lines, k = docText(k, perPage, chars)
			var b strings.Builder
			b.WriteString("BT\n")
			for j, l := range lines {
				fmt.Fprintf(&b, "/F1 %g Tf 1 0 0 1 54 %.2f Tm (%s) Tj\n", f.pt, ht-80-float64(j)*f.pt*2.2, l)
			}
			b.WriteString("ET\n")
			doc[i] = pdfgen.Page{W: w, H: ht, Content: b.String()}
			want[i] = strings.Join(lines, "\n")
		}
		data := pdfgen.WriteFont(doc, f.name)
		for _, dpi := range []int{150, 200, 300} {
			t.Run(fmt.Sprintf("%s-%gpt-%ddpi", f.name, f.pt, dpi), func(t *testing.T) {
				resp, err := h.Invoke(context.Background(), &Request{Data: data, Options: []byte(fmt.Sprintf(`{"dpi":%d,"pdf_text":"ocr"}`, dpi))})
				if err != nil {
					t.Fatal(err)
				}
				if len(resp.Pages) != pages {
					t.Fatalf("%d pages, want %d", len(resp.Pages), pages)
				}
				lost, flipped := 0, 0
				var got []string
				for i, p := range resp.Pages {
					// A line the detector splits in two reads as two pieces;
					// fewer pieces than lines is a lost line.
					if len(p.Lines) < perPage || p.Dropped > 0 {
						lost += perPage - len(p.Lines)
						t.Errorf("page %d: %d lines, want %d (%d dropped)", i+1, len(p.Lines), perPage, p.Dropped)
					}
					for _, l := range p.Lines {
						if l.Rotated {
							flipped++
						}
					}
					got = append(got, pageText(p))
				}
				cer := textmetric.CER(strings.Join(got, "\n"), strings.Join(want, "\n"))
				t.Logf("CER %.4f, %d lines lost, %d read turned", cer, lost, flipped)
				if cer > f.maxCER {
					t.Errorf("CER %.4f > %g\ngot:\n%s", cer, f.maxCER, strings.Join(got, "\n"))
				}
				if flipped > 0 {
					t.Errorf("%d upright lines read turned", flipped)
				}
			})
		}
	}
}
