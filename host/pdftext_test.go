package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/document"
	"github.com/ocrhost/ocrhost/internal/pdfgen"
	"github.com/ocrhost/ocrhost/internal/textmetric"
)

// coldDocHost is a host with nothing loaded, the PDF engine's compiled
// code cached as docHost caches it.
func coldDocHost(t *testing.T) *Host {
	t.Helper()
	cache := ""
	if dir, err := os.UserCacheDir(); err == nil {
		cache = filepath.Join(dir, "ocrhost", "wazero")
	}
	return newHost(t, WithMaxPredictions(1), WithDocuments(0, 0, 0, cache))
}

// pdfWords are a response's words, page by page.
func pdfWords(resp *Response) [][]string {
	out := make([][]string, len(resp.Pages))
	for i, p := range resp.Pages {
		for _, l := range p.Lines {
			for _, w := range l.Words {
				out[i] = append(out[i], w.Text)
			}
		}
	}
	return out
}

// TestPDFTextReadExactlyAndFast: pdf_text auto reads a text PDF's words
// exactly as they were drawn, sure of each, without loading a model, and
// at least 20 times faster than recognising the same pages.
func TestPDFTextReadExactlyAndFast(t *testing.T) {
	doc := textDoc(3, 420, 595, 12)
	data := docPDF(doc)
	h := coldDocHost(t)
	read := func() (*Response, time.Duration) {
		t.Helper()
		start := time.Now()
		resp, err := h.Invoke(context.Background(), &Request{Data: data})
		if err != nil {
			t.Fatal(err)
		}
		return resp, time.Since(start)
	}
	resp, _ := read() // loads the PDF engine
	if n := h.Pool().Loaded(); n != 0 || len(resp.Models) != 0 {
		t.Errorf("a PDF read from its text loaded %d models (%v)", n, resp.Models)
	}
	got := pdfWords(resp)
	for i, p := range doc {
		if m := resp.Pages[i].Method; m != "text" {
			t.Errorf("page %d: method %q, want text", i+1, m)
		}
		if want := strings.Fields(p.want()); !slices.Equal(got[i], want) {
			t.Errorf("page %d: words\n%q\nwant\n%q", i+1, got[i], want)
		}
		for _, l := range resp.Pages[i].Lines {
			if l.Confidence != 1 || l.Words[0].Confidence != 1 {
				t.Errorf("page %d %q: confidence %v, first word's %v, want 1", i+1, l.Text, l.Confidence, l.Words[0].Confidence)
			}
		}
	}
	textTook := time.Duration(1 << 62)
	for range 3 {
		_, took := read()
		textTook = min(textTook, took)
	}

	if _, err := h.Invoke(context.Background(), &Request{Data: data, Options: []byte(`{"pdf_text":"ocr"}`)}); err != nil {
		t.Fatal(err) // loads the models
	}
	start := time.Now()
	ocr, err := h.Invoke(context.Background(), &Request{Data: data, Options: []byte(`{"pdf_text":"ocr"}`)})
	if err != nil {
		t.Fatal(err)
	}
	ocrTook := time.Since(start)
	for i, p := range ocr.Pages {
		if p.Method != "ocr" {
			t.Errorf("pdf_text ocr: page %d method %q", i+1, p.Method)
		}
	}
	ratio := ocrTook.Seconds() / textTook.Seconds()
	t.Logf("%d pages: read %v, recognised %v (%.0fx)", len(doc), textTook.Round(time.Millisecond), ocrTook.Round(time.Millisecond), ratio)
	if ratio < 20 {
		t.Errorf("reading the text layer is %.1fx faster than recognising, want at least 20x", ratio)
	}
}

// scan is a grey inline image of page n of data rendered at dpi, drawn
// over (x, y)-(x+w, y+h) pt: a scanned picture of text, with no text
// objects.
func scan(t *testing.T, data []byte, dpi int, x, y, w, h float64) string {
	t.Helper()
	cache := ""
	if dir, err := os.UserCacheDir(); err == nil {
		cache = filepath.Join(dir, "ocrhost", "wazero")
	}
	r, err := document.NewRenderer(context.Background(), document.WithCompilationCacheDir(cache))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out string
	err = document.Pages(context.Background(), r, data, "pdf", document.Options{DPI: dpi}, func(p document.Page, _ int) error {
		grey := make([]byte, p.Image.W*p.Image.H)
		for i := range grey {
			px := p.Image.Pix[3*i : 3*i+3]
			grey[i] = byte((int(px[0]) + int(px[1]) + int(px[2])) / 3)
		}
		out = fmt.Sprintf("q %g 0 0 %g %g %g cm BI /W %d /H %d /CS /G /BPC 8 ID %s EI Q\n", w, h, x, y, p.Image.W, p.Image.H, grey)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPDFTextMixedDocument reads a PDF of a text page, a scanned page and
// a page with a caption under a scanned picture: auto reads the first,
// recognises the second and does both on the third, keeping the caption
// as read and the picture's text as recognised; extract leaves the scan
// empty and flagged, not failed.
func TestPDFTextMixedDocument(t *testing.T) {
	const w, ht = 420.0, 595.0
	textLine := "A page of plain text, read from its layer"
	scanned := "Scanned, then recognised"
	picture := "PICTURE OF A SIGN"
	caption := "Figure 1: the caption is text"
	scanPage := scan(t, pdfgen.Lines([]string{scanned}), 150, 0, 0, w, ht)
	signPDF := pdfgen.Write([]pdfgen.Page{{W: 360, H: 150, Content: fmt.Sprintf("BT /F1 30 Tf 20 60 Td (%s) Tj ET", picture)}})
	data := pdfgen.Write([]pdfgen.Page{
		{W: w, H: ht, Content: fmt.Sprintf("BT /F1 20 Tf 40 480 Td (%s) Tj ET", textLine)},
		{W: w, H: ht, Content: scanPage},
		{W: w, H: ht, Content: scan(t, signPDF, 150, 30, 380, 360, 150) +
			fmt.Sprintf("BT /F1 14 Tf 40 340 Td (%s) Tj ET", caption)},
	})
	h := coldDocHost(t)

	resp, err := h.Invoke(context.Background(), &Request{Data: data, Options: []byte(`{"pdf_text":"auto"}`)})
	if err != nil {
		t.Fatal(err)
	}
	methods := make([]string, len(resp.Pages))
	for i, p := range resp.Pages {
		methods[i] = p.Method
	}
	if want := []string{"text", "ocr", "mixed"}; !slices.Equal(methods, want) {
		t.Fatalf("methods %q, want %q", methods, want)
	}
	if got := pageText(resp.Pages[0]); got != textLine {
		t.Errorf("text page: %q, want %q", got, textLine)
	}
	if cer := textmetric.CER(pageText(resp.Pages[1]), scanned); cer > 0.05 {
		t.Errorf("scanned page: %q, CER %.3f against %q", pageText(resp.Pages[1]), cer, scanned)
	}
	var captions, signs int
	for _, l := range resp.Pages[2].Lines {
		switch {
		case l.Text == caption && l.Confidence == 1:
			captions++
		case textmetric.CER(l.Text, picture) < 0.1:
			signs++
		default:
			t.Errorf("mixed page: unexpected line %q (%.2f)", l.Text, l.Confidence)
		}
	}
	if captions != 1 || signs != 1 {
		t.Errorf("mixed page: caption read %d times and the sign %d times, want once each:\n%s", captions, signs, pageText(resp.Pages[2]))
	}

	resp, err = h.Invoke(context.Background(), &Request{Data: data, Options: []byte(`{"pdf_text":"extract"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if p := resp.Pages[1]; p.Method != "none" || len(p.Lines) != 0 {
		t.Errorf("extract, scanned page: method %q with %d lines, want none and empty", p.Method, len(p.Lines))
	}
	if p := resp.Pages[2]; p.Method != "text" || pageText(p) != caption {
		t.Errorf("extract, captioned picture: method %q, text %q, want text and %q", p.Method, pageText(p), caption)
	}
}

func TestPDFTextBadValue(t *testing.T) {
	h := coldDocHost(t)
	_, err := h.Invoke(context.Background(), &Request{Data: pdfgen.Lines([]string{"x"}), Options: []byte(`{"pdf_text":"fast"}`)})
	if f := AsFailure(err); f == nil || f.Code != CodeInvalidInput || !errors.Is(err, function.ErrInvalidOptions) ||
		!strings.Contains(err.Error(), "pdf_text") {
		t.Errorf("pdf_text fast: %v, want invalid_input naming pdf_text", err)
	}
}
