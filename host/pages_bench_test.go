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
	b.Run(f.name, func(b *testing.B) {
		h, data := docABBAHost(b, f.w, f.h, f.lines)
		rate, peak := docABBA(b, h, data, [2]string{"one at a time", "rendered ahead"}, func(i int) string {
			h.cfg.sequentialPages = i == 0
			return `{"pdf_text":"ocr"}`
		}, nil)
		b.ReportMetric(rate[0], "pages/s_seq")
		b.ReportMetric(rate[1], "pages/s")
		b.ReportMetric(rate[1]/rate[0], "speedup")
		b.ReportMetric(peak[0], "peak_MB_seq")
		b.ReportMetric(peak[1], "peak_MB")
	})
}

// BenchmarkTextPDF reads the same 20-page text PDF as
// BenchmarkDocumentPrefetch from its text layer (pdf_text auto, the
// default) and recognised (pdf_text ocr), alternating (ABBA), and reports
// pages/s and the highest peak RSS rise of each, and their ratio.
func BenchmarkTextPDF(b *testing.B) {
	f := docFormats[0]
	b.Run(f.name, func(b *testing.B) {
		h, data := docABBAHost(b, f.w, f.h, f.lines)
		methods := [2]string{"text", "ocr"}
		rate, peak := docABBA(b, h, data, methods, func(i int) string {
			return `{"pdf_text":"` + [2]string{"auto", "ocr"}[i] + `"}`
		}, func(i int, resp *Response) {
			if len(resp.Pages) != docABBAPages || resp.Pages[0].Method != methods[i] {
				b.Fatalf("%s: %d pages, the first read by %q", methods[i], len(resp.Pages), resp.Pages[0].Method)
			}
		})
		b.ReportMetric(rate[0], "pages/s_text")
		b.ReportMetric(rate[1], "pages/s_ocr")
		b.ReportMetric(rate[0]/rate[1], "speedup")
		b.ReportMetric(peak[0], "peak_MB_text")
		b.ReportMetric(peak[1], "peak_MB_ocr")
	})
}

// docABBAPages is the length of the PDF docABBA reads.
const docABBAPages = 20

// docABBAHost is a warm host and a docABBAPages-page text PDF of w×ht pt
// pages of up to lines lines.
func docABBAHost(b *testing.B, w, ht float64, lines int) (*Host, []byte) {
	return docHost(b, docPDF(textDoc(1, w, ht, lines))), docPDF(textDoc(docABBAPages, w, ht, lines))
}

// docABBA reads data through h two ways, alternating ABBA within each
// iteration so both see the same machine: way(i) sets way i up and returns
// its options, check (if set) looks at each response. It returns each
// way's pages/s and highest peak RSS rise (MiB).
func docABBA(b *testing.B, h *Host, data []byte, names [2]string, way func(i int) string, check func(i int, resp *Response)) (rate, peak [2]float64) {
	m := newPredMeter(b)
	var took [2]time.Duration
	runs := 0
	for b.Loop() {
		for _, i := range []int{0, 1, 1, 0} {
			resp, rise, d := docMeasure(b, h, m, data, way(i))
			if check != nil {
				check(i, resp)
			}
			took[i] += d
			peak[i] = max(peak[i], rise)
			b.Logf("%-14s: %.2f s/page, peak RSS rise %6.1f MiB", names[i], d.Seconds()/docABBAPages, rise)
		}
		runs++
	}
	for i := range took {
		rate[i] = float64(2*runs*docABBAPages) / took[i].Seconds()
	}
	return rate, peak
}
