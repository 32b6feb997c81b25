package host

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ocrhost/ocrhost/internal/textmetric"
)

// docFormats are the documents BenchmarkDocumentPages reads: text-heavy
// A4 pages (about 50 lines, minutes a page on 2 busy cores) and the A7
// pages of TestPeakRSSFlatInPageCount (8 lines).
var docFormats = []struct {
	name  string
	w, h  float64
	lines int
}{{"a7", 210, 298, 8}, {"a4", 595.28, 841.89, 200}}

// docMeasure runs data through h once and returns the response, the peak
// RSS rise and the wall time.
func docMeasure(b *testing.B, h *Host, m *predMeter, data []byte, options string) (*Response, float64, time.Duration) {
	b.Helper()
	var resp *Response
	start := time.Now()
	rise, err := m.rise(func() error {
		var err error
		resp, err = h.Invoke(context.Background(), &Request{Data: data, Options: []byte(options)})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return resp, float64(rise) / (1 << 20), time.Since(start)
}

// BenchmarkDocumentPages recognises (pdf_text ocr) text PDFs of 1 to 50
// pages through a warm host at the default DPI and batch size
// (document.DefaultDPI, 10) and reports pages/s over all of them and each
// document's peak RSS rise (peak_MB_<n>p): flat when pages are held one at
// a time. Run with -benchtime=1x, one format at a time (-bench
// DocumentPages/a7).
func BenchmarkDocumentPages(b *testing.B) {
	for _, f := range docFormats {
		b.Run(f.name, func(b *testing.B) { benchDocumentPages(b, f.w, f.h, f.lines) })
	}
}

func benchDocumentPages(b *testing.B, w, ht float64, lines int) {
	h := docHost(b, docPDF(textDoc(1, w, ht, lines)))
	m := newPredMeter(b)
	for b.Loop() {
		var pages int
		var busy time.Duration
		for _, n := range []int{1, 5, 10, 25, 50} {
			doc := textDoc(n, w, ht, lines)
			resp, rise, took := docMeasure(b, h, m, docPDF(doc), `{"pdf_text":"ocr"}`)
			var cer float64
			for i, p := range resp.Pages {
				cer += textmetric.CER(pageText(p), doc[i].want()) / float64(n)
			}
			b.Logf("%2d pages: peak RSS rise %6.1f MiB, %.2f s/page, mean CER %.4f", n, rise, took.Seconds()/float64(n), cer)
			b.ReportMetric(rise, fmt.Sprintf("peak_MB_%dp", n))
			pages += n
			busy += took
		}
		b.ReportMetric(float64(pages)/busy.Seconds(), "pages/s")
	}
}

// BenchmarkPDFDPI reads the same A4 pages (16 lines of 14, 12, 10, 9 and
// 8 pt text; A4 so that the presets' 2000 px cap on the long side comes
// into play above 170 DPI) rendered at each DPI and reports the character
// error rate against the known text, overall and on the 8-9 pt lines
// alone, seconds per page and the peak RSS rise: the evidence for
// DefaultDPI. Run with -benchtime=1x.
func BenchmarkPDFDPI(b *testing.B) {
	const pages = 3
	doc := textDoc(pages, 595.28, 841.89, 16)
	data := docPDF(doc)
	h := docHost(b, docPDF(doc[:1]))
	m := newPredMeter(b)
	for _, dpi := range []int{100, 130, 170, 200, 250, 300} {
		b.Run(fmt.Sprintf("dpi=%d", dpi), func(b *testing.B) {
			for b.Loop() {
				resp, rise, took := docMeasure(b, h, m, data, fmt.Sprintf(`{"dpi": %d, "pdf_text": "ocr"}`, dpi))
				var got, want, smallGot, smallWant []string
				for i, p := range resp.Pages {
					got, want = append(got, pageText(p)), append(want, doc[i].want())
					// Small print: the 8 and 9 pt lines, matched by their
					// place on the page, the text the OCR read in order.
					for _, l := range doc[i].lines {
						if l.pt < 10 {
							smallWant = append(smallWant, l.text)
						}
					}
					smallGot = append(smallGot, smallLines(p, doc[i])...)
				}
				cer := textmetric.CER(strings.Join(got, "\n"), strings.Join(want, "\n"))
				small := textmetric.CER(strings.Join(smallGot, "\n"), strings.Join(smallWant, "\n"))
				b.Logf("dpi %3d: CER %.4f, small print CER %.4f, %.2f s/page, peak RSS rise %.1f MiB", dpi, cer, small, took.Seconds()/pages, rise)
				b.ReportMetric(cer, "CER")
				b.ReportMetric(small, "CER_small")
				b.ReportMetric(took.Seconds()/pages, "s/page")
				b.ReportMetric(rise, "peak_MB")
			}
		})
	}
}

// smallLines returns the OCR lines of p whose vertical centre falls
// between a sub-10 pt line's baseline and the baseline above it.
func smallLines(p Page, d docPage) []string {
	var out []string
	scale := float64(p.Height) / d.h
	for _, l := range p.Lines {
		cy := 0.0
		for _, pt := range l.Box {
			cy += pt.Y / float64(len(l.Box))
		}
		y := 54.0 // top margin, pt from the top
		for _, dl := range d.lines {
			top := y * scale
			y += dl.pt * 1.45
			if dl.pt < 10 && cy > top && cy <= y*scale {
				out = append(out, l.Text)
				break
			}
		}
	}
	return out
}

// BenchmarkDocumentPrefetch recognises a 20-page text PDF (pdf_text ocr)
// through a warm host with the next page rendered while one is read and
// without, alternating (ABBA, twice per iteration) so both see the same
// machine, and reports pages/s and the highest peak RSS rise of each and
// their ratio (speedup). A7 pages only: 80 text-heavy A4 pages would take
// hours on 2 cores.
func BenchmarkDocumentPrefetch(b *testing.B) {
	f := docFormats[0]
	b.Run(f.name, func(b *testing.B) { benchDocumentPrefetch(b, f.w, f.h, f.lines) })
}

func benchDocumentPrefetch(b *testing.B, w, ht float64, lines int) {
	const pages = 20
	data := docPDF(textDoc(pages, w, ht, lines))
	h := docHost(b, docPDF(textDoc(1, w, ht, lines)))
	m := newPredMeter(b)
	var took [2]time.Duration // sequential, prefetch
	var peak [2]float64
	runs := 0
	for b.Loop() {
		for _, prefetch := range []bool{false, true, true, false} {
			h.cfg.sequentialPages = !prefetch
			_, rise, d := docMeasure(b, h, m, data, `{"pdf_text":"ocr"}`)
			i := 0
			if prefetch {
				i = 1
			}
			took[i] += d
			peak[i] = max(peak[i], rise)
			b.Logf("prefetch %-5v: %.2f s/page, peak RSS rise %6.1f MiB", prefetch, d.Seconds()/pages, rise)
		}
		runs += 2
	}
	b.ReportMetric(float64(runs*pages)/took[0].Seconds(), "pages/s_seq")
	b.ReportMetric(float64(runs*pages)/took[1].Seconds(), "pages/s")
	b.ReportMetric(took[0].Seconds()/took[1].Seconds(), "speedup")
	b.ReportMetric(peak[0], "peak_MB_seq")
	b.ReportMetric(peak[1], "peak_MB")
}

// BenchmarkTextPDF reads the same 20-page text PDF as
// BenchmarkDocumentPrefetch from its text layer (pdf_text auto, the
// default) and recognised (pdf_text ocr), alternating (ABBA), and reports
// pages/s and the highest peak RSS rise of each, and their ratio.
func BenchmarkTextPDF(b *testing.B) {
	f := docFormats[0]
	b.Run(f.name, func(b *testing.B) {
		const pages = 20
		data := docPDF(textDoc(pages, f.w, f.h, f.lines))
		h := docHost(b, docPDF(textDoc(1, f.w, f.h, f.lines)))
		m := newPredMeter(b)
		var took [2]time.Duration // text layer, recognised
		var peak [2]float64
		runs := 0
		for b.Loop() {
			for _, i := range []int{0, 1, 1, 0} {
				opts := `{"pdf_text":"auto"}`
				if i == 1 {
					opts = `{"pdf_text":"ocr"}`
				}
				resp, rise, d := docMeasure(b, h, m, data, opts)
				if len(resp.Pages) != pages || resp.Pages[0].Method != [2]string{"text", "ocr"}[i] {
					b.Fatalf("%s: %d pages, the first read by %q", opts, len(resp.Pages), resp.Pages[0].Method)
				}
				took[i] += d
				peak[i] = max(peak[i], rise)
			}
			runs += 2
		}
		b.ReportMetric(float64(runs*pages)/took[0].Seconds(), "pages/s_text")
		b.ReportMetric(float64(runs*pages)/took[1].Seconds(), "pages/s_ocr")
		b.ReportMetric(took[1].Seconds()/took[0].Seconds(), "speedup")
		b.ReportMetric(peak[0], "peak_MB_text")
		b.ReportMetric(peak[1], "peak_MB_ocr")
	})
}
