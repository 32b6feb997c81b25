package document

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// grey is an inline w×h mid-grey image drawn over the page rectangle
// (x, y)-(x+sw, y+sh) pt: a picture without text objects.
func grey(x, y, sw, sh float64, w, h int) string {
	return fmt.Sprintf("q %g 0 0 %g %g %g cm BI /W %d /H %d /CS /G /BPC 8 ID %s EI Q\n",
		sw, sh, x, y, w, h, bytes.Repeat([]byte{0x80}, w*h))
}

// TestReadTextMethods checks the method each mode gives a text page, a
// page with text and a large picture, a picture alone and a page with a
// small picture beside its text, and that only the pages recognised are
// rendered.
func TestReadTextMethods(t *testing.T) {
	pages := []testPage{
		{w: 400, h: 300, text: "Only text"},
		{w: 400, h: 300, text: "Caption", ops: grey(50, 50, 300, 150, 4, 4)},
		{w: 400, h: 300, text: "", ops: grey(50, 50, 300, 150, 4, 4)},
		{w: 400, h: 300, text: "Logo beside", ops: grey(350, 10, 30, 20, 4, 4)},
	}
	data := buildPDF(pages, nil, 0)
	for _, c := range []struct {
		mode TextMode
		want []Method
	}{
		{TextIgnore, []Method{MethodOCR, MethodOCR, MethodOCR, MethodOCR}},
		{TextAuto, []Method{MethodText, MethodMixed, MethodOCR, MethodText}},
		{TextOnly, []Method{MethodText, MethodText, MethodNone, MethodText}},
	} {
		var got []Method
		err := Pages(context.Background(), renderer(t), data, "pdf", Options{DPI: testDPI, Text: c.mode}, func(p Page, _ int) error {
			got = append(got, p.Method)
			rendered := p.Method == MethodOCR || p.Method == MethodMixed
			if (p.Image != nil) != rendered {
				t.Errorf("mode %d page %d (%s): rendered %v", c.mode, p.Number, p.Method, p.Image != nil)
			}
			if p.Width != 400 || p.Height != 300 {
				t.Errorf("mode %d page %d: %dx%d px, want 400x300", c.mode, p.Number, p.Width, p.Height)
			}
			if (len(p.Text) > 0) != (p.Method == MethodText || p.Method == MethodMixed) {
				t.Errorf("mode %d page %d (%s): %d text lines", c.mode, p.Number, p.Method, len(p.Text))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("mode %d: methods %v, want %v", c.mode, got, c.want)
		}
	}
	// RenderAll renders the pages whose text is read, for outputs that draw them.
	err := Pages(context.Background(), renderer(t), data, "pdf", Options{DPI: testDPI, Text: TextOnly, RenderAll: true}, func(p Page, _ int) error {
		if p.Image == nil {
			t.Errorf("RenderAll: page %d not rendered", p.Number)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// pdftotextWord is a word as pdftotext -bbox boxes it, in points from the
// top left of the page.
type pdftotextWord struct {
	Text                   string
	XMin, YMin, XMax, YMax float64
}

// pdftotextWords runs poppler's pdftotext -bbox on data: each page's words.
func pdftotextWords(t *testing.T, data []byte) [][]pdftotextWord {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skip("pdftotext (poppler-utils) not installed: it is the reference for the word boxes")
	}
	in := filepath.Join(t.TempDir(), "in.pdf")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-bbox", in, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	// The attributes are read by hand: encoding/xml maps one attribute per field.
	var doc struct {
		Pages []struct {
			Words []struct {
				Text  string     `xml:",chardata"`
				Attrs []xml.Attr `xml:",any,attr"`
			} `xml:"word"`
		} `xml:"body>doc>page"`
	}
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("pdftotext output: %v", err)
	}
	pages := make([][]pdftotextWord, len(doc.Pages))
	for i, p := range doc.Pages {
		for _, w := range p.Words {
			pw := pdftotextWord{Text: w.Text}
			for _, a := range w.Attrs {
				v, err := strconv.ParseFloat(a.Value, 64)
				if err != nil {
					t.Fatalf("pdftotext output: %v", err)
				}
				switch a.Name.Local {
				case "xMin":
					pw.XMin = v
				case "yMin":
					pw.YMin = v
				case "xMax":
					pw.XMax = v
				case "yMax":
					pw.YMax = v
				}
			}
			pages[i] = append(pages[i], pw)
		}
	}
	return pages
}

// TestReadTextWordsWherePdftotextPutsThem reads generated pages (lines
// at several sizes, a page shown turned by /Rotate) and checks each word's
// text against what was drawn and its box against poppler's: the same
// horizontal extent within 1 px, and a box that holds poppler's (PDFium
// boxes a character from the font's bounding box, poppler from its ascent
// and descent) and is no more than 1.4 times as high.
func TestReadTextWordsWherePdftotextPutsThem(t *testing.T) {
	lines := "BT /F1 12 Tf 50 200 Td (two words) Tj 0 -20 Td (next line, here) Tj ET\n" +
		"BT /F1 9 Tf 50 120 Td (small print: 42 items) Tj ET\n"
	pages := []testPage{
		{w: 400, h: 300, text: "Hello world, again", ops: lines},
		{w: 400, h: 300, text: "Turned page", ops: lines, rotate: 90},
	}
	want := strings.Fields("Hello world, again two words next line, here small print: 42 items")
	wantLines := []string{"Hello world, again", "two words", "next line, here", "small print: 42 items"}
	const dpi = 144
	ref := pdftotextWords(t, buildPDF(pages, nil, 0))
	err := Pages(context.Background(), renderer(t), buildPDF(pages, nil, 0), "pdf", Options{DPI: dpi, Text: TextOnly}, func(p Page, _ int) error {
		var words []TextWord
		var texts []string
		for _, l := range p.Text {
			texts = append(texts, l.Text)
			words = append(words, l.Words...)
		}
		w := want
		wl := wantLines
		if p.Number == 2 {
			w = append([]string{"Turned", "page"}, want[3:]...)
			wl = append([]string{"Turned page"}, wantLines[1:]...)
		}
		// The order of a turned page's lines is PDFium's; reading order is
		// the layout's business. Words are matched by their text, each
		// drawn once.
		if p.Number == 2 {
			slices.Sort(texts)
			wl = slices.Sorted(slices.Values(wl))
		}
		if !slices.Equal(texts, wl) {
			t.Errorf("page %d: lines %q, want %q", p.Number, texts, wl)
		}
		got := make([]string, len(words))
		refs := map[string]pdftotextWord{}
		for i, word := range words {
			got[i] = word.Text
		}
		for _, r := range ref[p.Number-1] {
			refs[r.Text] = r
		}
		if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(w))) || len(refs) != len(w) {
			t.Fatalf("page %d: words %q, pdftotext %v, want %q", p.Number, got, refs, w)
		}
		for _, word := range words {
			r := refs[word.Text]
			x0, y0, x1, y1 := word.Box[0][0], word.Box[0][1], word.Box[2][0], word.Box[2][1]
			s := float64(dpi) / 72
			rx0, ry0, rx1, ry1 := r.XMin*s, r.YMin*s, r.XMax*s, r.YMax*s
			// On the turned page text runs down: the extent along it is y.
			along := math.Max(math.Abs(x0-rx0), math.Abs(x1-rx1))
			holds := y0 <= ry0+1 && y1 >= ry1-1
			tall := (y1 - y0) / (ry1 - ry0)
			if p.Number == 2 {
				along = math.Max(math.Abs(y0-ry0), math.Abs(y1-ry1))
				holds = x0 <= rx0+1 && x1 >= rx1-1
				tall = (x1 - x0) / (rx1 - rx0)
			}
			if along > 1 || !holds || tall > 1.4 {
				t.Errorf("page %d %q: box (%.1f,%.1f)-(%.1f,%.1f) px, pdftotext's (%.1f,%.1f)-(%.1f,%.1f)",
					p.Number, word.Text, x0, y0, x1, y1, rx0, ry0, rx1, ry1)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
