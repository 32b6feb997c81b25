package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocrhost/ocrhost/internal/pdfgen"
	"github.com/ocrhost/ocrhost/internal/testenv"
	"github.com/ocrhost/ocrhost/internal/textmetric"
	"github.com/ocrhost/ocrhost/memory"
)

// docLine is one line of Helvetica text on a generated page.
type docLine struct {
	pt   float64
	text string
}

// docPage is a generated w×h pt page of lines set from the top margin down,
// each at its own size with 1.45× leading.
type docPage struct {
	w, h  float64
	lines []docLine
}

// want is the page's text as OCR should read it, a line per line.
func (p docPage) want() string {
	s := make([]string, len(p.lines))
	for i, l := range p.lines {
		s[i] = l.text
	}
	return strings.Join(s, "\n")
}

func (p docPage) content() string {
	const margin = 54.0
	var b strings.Builder
	b.WriteString("BT\n")
	y := p.h - margin
	for _, l := range p.lines {
		y -= l.pt * 1.45
		// Absolute placement (Tm) so that each line's size is its own.
		fmt.Fprintf(&b, "/F1 %g Tf 1 0 0 1 %g %.2f Tm (%s) Tj\n", l.pt, margin, y, l.text)
	}
	b.WriteString("ET\n")
	return b.String()
}

// docPDF writes a PDF of the given pages.
func docPDF(pages []docPage) []byte {
	out := make([]pdfgen.Page, len(pages))
	for i, p := range pages {
		out[i] = pdfgen.Page{W: p.w, H: p.h, Content: p.content()}
	}
	return pdfgen.Write(out)
}

// docWords is the vocabulary of generated body text: words, figures and
// punctuation of the kind invoices and letters hold (no parentheses or
// backslashes, which PDF strings would need escaped).
var docWords = strings.Fields("Invoice 2024-0117 total amount due on 15 March: 1,284.50 EUR. " +
	"Please transfer the balance to account DE89 3704 0044 0532 0130 00 within 30 days; " +
	"late payments incur 2.5% interest per month. Delivery note 88213 lists 12 pallets, " +
	"gross weight 4,310 kg, shipped from Rotterdam via Antwerp to Basel on 2024-02-03. " +
	"Questions? Contact billing@example.com or call +41 61 555 0199, Monday to Friday.")

// docText fills lines of at most chars characters with docWords, starting
// at word k; it returns the lines and the next word.
func docText(k, lines, chars int) ([]string, int) {
	out := make([]string, lines)
	for i := range out {
		line := docWords[k%len(docWords)]
		for k++; len(line)+1+len(docWords[k%len(docWords)]) <= chars; k++ {
			line += " " + docWords[k%len(docWords)]
		}
		out[i] = line
	}
	return out, k
}

// docSizes are the type sizes of a generated page, body text dominating:
// 10 pt body interleaved with 8-9 pt small print and 12-14 pt headings.
var docSizes = []float64{10, 10, 9, 10, 8, 12, 10, 10, 9, 8, 10, 14}

// textDoc returns n pages of w×h pt, each opening with "Page <n>" and then
// holding lines cycling through docSizes, as many as fit the page (at
// most maxLines), each line as wide as the text column allows.
func textDoc(n int, w, h float64, maxLines int) []docPage {
	pages := make([]docPage, n)
	k := 0
	for i := range pages {
		p := docPage{w: w, h: h, lines: []docLine{{14, fmt.Sprintf("Page %d of %d", i+1, n)}}}
		used := 14 * 1.45
		for j := 0; len(p.lines) < maxLines; j++ {
			pt := docSizes[j%len(docSizes)]
			if used+pt*1.45 > h-2*54 {
				break
			}
			used += pt * 1.45
			// Helvetica averages about 0.5 em a character on this text;
			// 0.56 keeps lines inside the column.
			var text []string
			text, k = docText(k, 1, int((w-2*54)/(0.56*pt)))
			p.lines = append(p.lines, docLine{pt, text[0]})
		}
		pages[i] = p
	}
	return pages
}

// cycled returns n pages repeating the bodies of pages, each headed with
// its own number.
func cycled(pages []docPage, n int) []docPage {
	out := make([]docPage, n)
	for i := range out {
		p := pages[i%len(pages)]
		p.lines = append([]docLine{{14, fmt.Sprintf("Page %d of %d", i+1, n)}}, p.lines[1:]...)
		out[i] = p
	}
	return out
}

// pageText is a response page's text, a line per line.
func pageText(p Page) string {
	s := make([]string, len(p.Lines))
	for i, l := range p.Lines {
		s[i] = l.Text
	}
	return strings.Join(s, "\n")
}

// docHost is a warm host for document measurements: models and the PDF
// engine loaded, one document recognised (pdf_text ocr: read from its
// text layer, it would load no model), the allocator tuned as predWarmHost
// does. The engine's compiled code is cached beside the user's, so that
// only the first run of the package compiles it.
func docHost(t testing.TB, warm []byte, opts ...Option) *Host {
	t.Helper()
	predTuned()
	cache := ""
	if dir, err := os.UserCacheDir(); err == nil {
		cache = filepath.Join(dir, "ocrhost", "wazero")
	}
	h := newHost(t, append([]Option{WithMaxPredictions(1), WithDocuments(0, 0, 0, cache)}, opts...)...)
	if _, err := h.Invoke(context.Background(), &Request{Data: warm, Options: []byte(`{"pdf_text":"ocr"}`)}); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestPeakRSSFlatInPageCount checks that a document's memory follows the
// batch size, not its length: the peak RSS rise of a warm host reading a
// 50-page PDF (five batches of 10) must stay within 1.2× that of a 2-page
// one. The pages are A7 text pages (a heading, 10-14 pt body text, 8-9 pt
// small print) at the default DPI, small enough that 52 pages take about a
// minute on 2 cores; A4 figures are BenchmarkDocumentPages'. The pages are
// recognised (pdf_text ocr), which is what holds memory.
func TestPeakRSSFlatInPageCount(t *testing.T) {
	if testenv.Race() {
		t.Skip("-race build: the race detector's shadow memory grows with every allocation, so RSS says nothing " +
			"about the pipeline; make test runs this without -race (go test ./host -run TestPeakRSSFlatInPageCount)")
	}
	if testing.Short() {
		t.Skip("-short: OCRs 60 pages")
	}
	const w, h, lines = 210, 298, 8 // A7
	// The long document repeats the short one's two pages: a page's peak
	// depends on its widest recognition batch, and fifty different pages
	// would raise the maximum over pages, page count aside.
	short, long := textDoc(2, w, h, lines), cycled(textDoc(2, w, h, lines), 50)
	hst := docHost(t, docPDF(short))
	m := newPredMeter(t)
	measure := func(pages []docPage) uint64 {
		t.Helper()
		data := docPDF(pages)
		var resp *Response
		rise, err := m.rise(func() error {
			var err error
			resp, err = hst.Invoke(context.Background(), &Request{Data: data, Options: []byte(`{"pdf_text":"ocr"}`)})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		checkPages(t, resp, pages)
		return rise
	}
	// The long document first, so that whatever its run leaves resident
	// counts against it and not against the short one.
	p50 := measure(long)
	p2 := measure(short)
	t.Logf("peak RSS rise: 2 pages %s, 50 pages %s (%.2fx)", memory.FormatBytes(p2), memory.FormatBytes(p50), float64(p50)/float64(p2))
	if float64(p50) > 1.2*float64(p2) {
		t.Errorf("peak RSS rise of 50 pages %s > 1.2 × that of 2 pages %s", memory.FormatBytes(p50), memory.FormatBytes(p2))
	}
}

// checkPages checks that resp has pages in order, each read with a
// character error rate under 2%, and the "\f"-separated text.
func checkPages(t testing.TB, resp *Response, pages []docPage) {
	t.Helper()
	if len(resp.Pages) != len(pages) {
		t.Fatalf("%d pages, want %d", len(resp.Pages), len(pages))
	}
	for i, p := range resp.Pages {
		want := pages[i].want()
		got := pageText(p)
		// Spaces in the heading are not always read; CER ignores them too.
		if head := fmt.Sprintf("Page%dof%d", i+1, len(pages)); p.Number != i+1 || !strings.HasPrefix(string(textmetric.Normalize(got)), head) {
			t.Errorf("page %d: number %d, starts %q, want %q", i+1, p.Number, got[:min(len(got), 20)], head)
		}
		if cer := textmetric.CER(got, want); cer > 0.02 {
			t.Errorf("page %d: CER %.3f\ngot  %q\nwant %q", i+1, cer, got, want)
		}
	}
	if n := strings.Count(resp.Text, "\f"); n != len(pages)-1 {
		t.Errorf("text has %d page breaks, want %d", n, len(pages)-1)
	}
}
