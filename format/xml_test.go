package format_test

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/ocrhost/ocrhost/format"
	"github.com/ocrhost/ocrhost/internal/testenv"
	"github.com/ocrhost/ocrhost/internal/textmetric"
)

// twoPages is the sample as a two-page document.
func twoPages(s *samplePage) []format.Page {
	p2 := s.page
	p2.Number = 2
	return []format.Page{s.page, p2}
}

// TestALTOValidates checks ALTO with libxml2 against the ALTO 4.4 schema,
// single page and two pages, then reads back every String's CONTENT with
// xmllint's XPath: the words of our text, in order, none lost.
func TestALTOValidates(t *testing.T) {
	xmllint := tool(t, "xmllint")
	xsd := testenv.Shared(t, "testdata/formats/alto-4-4.xsd")
	s := readSample(t)
	for name, pages := range map[string][]format.Page{"one page": {s.page}, "two pages": twoPages(s)} {
		t.Run(name, func(t *testing.T) {
			doc := render(t, format.ALTO, pages...)
			path := writeTemp(t, "page.alto.xml", doc)
			run(t, xmllint, "--noout", "--nonet", "--schema", xsd, path)
			out := run(t, xmllint, "--xpath", `//*[local-name()="String"]/@CONTENT`, path)
			// xmllint prints each attribute as CONTENT="word".
			text := strings.NewReplacer("CONTENT=", " ", `"`, "").Replace(string(out))
			want := strings.Join(wordsOf(pages...), " ")
			if cer := textmetric.CER(text, want); cer != 0 || len(strings.Fields(text)) != len(wordsOf(pages...)) {
				t.Errorf("ALTO Strings read back at CER %.4f, %d words for our %d:\n%s", cer, len(strings.Fields(text)), len(wordsOf(pages...)), text)
			}
			if n := strings.Count(string(doc), "<Page "); n != len(pages) {
				t.Errorf("%d Page elements for %d pages", n, len(pages))
			}
		})
	}
}

// TestALTORejectedWhenBroken shows the schema check can fail: a String
// without its CONTENT must not validate.
func TestALTORejectedWhenBroken(t *testing.T) {
	xmllint := tool(t, "xmllint")
	xsd := testenv.Shared(t, "testdata/formats/alto-4-4.xsd")
	doc := strings.Replace(string(render(t, format.ALTO, readSample(t).page)), " CONTENT=", " NOTCONTENT=", 1)
	path := writeTemp(t, "broken.alto.xml", []byte(doc))
	if err := execQuiet(xmllint, "--noout", "--nonet", "--schema", xsd, path); err == nil {
		t.Fatal("xmllint accepted a String without CONTENT")
	}
}

// TestHOCRIsXHTML parses the hOCR as XML (hOCR is XHTML) and checks the
// hierarchy hOCR 1.2 asks for: pages hold careas, careas pars, pars lines,
// lines words, each with a bbox, words with x_wconf.
func TestHOCRIsXHTML(t *testing.T) {
	s := readSample(t)
	doc := render(t, format.HOCR, twoPages(s)...)
	dec := xml.NewDecoder(strings.NewReader(string(doc)))
	var stack []string
	counts := map[string]int{}
	parent := map[string]string{"ocr_carea": "ocr_page", "ocr_par": "ocr_carea", "ocr_line": "ocr_par", "ocr_header": "ocr_par", "ocr_textfloat": "ocr_par", "ocrx_word": "ocr_line"}
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch e := tok.(type) {
		case xml.StartElement:
			class, title := "", ""
			for _, a := range e.Attr {
				switch a.Name.Local {
				case "class":
					class = a.Value
				case "title":
					title = a.Value
				}
			}
			if class != "" {
				counts[class]++
				if !strings.HasPrefix(title, "bbox ") {
					t.Errorf("%s without a bbox: %q", class, title)
				}
				if class == "ocrx_word" && !strings.Contains(title, "x_wconf ") {
					t.Errorf("word without x_wconf: %q", title)
				}
				want := parent[class]
				if class == "ocrx_word" && len(stack) > 0 && stack[len(stack)-1] != "ocr_line" {
					want = stack[len(stack)-1] // ocr_header / ocr_textfloat lines hold words too
					if want != "ocr_header" && want != "ocr_textfloat" {
						t.Errorf("word inside %s", want)
					}
				} else if want != "" && (len(stack) == 0 || stack[len(stack)-1] != want) {
					t.Errorf("%s not inside %s (stack %v)", class, want, stack)
				}
			}
			stack = append(stack, class)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if counts["ocr_page"] != 2 || counts["ocrx_word"] != 2*len(wordsOf(s.page)) {
		t.Errorf("counts %v for 2 pages of %d words", counts, len(wordsOf(s.page)))
	}
}

// hocrPython finds a Python that imports ocrmypdf's hocrtransform
// (Debian's ocrmypdf installs it for /usr/bin/python3).
func hocrPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if execQuiet(py, "-c", "import ocrmypdf.hocrtransform") == nil {
			return py
		}
	}
	t.Skip("no Python with ocrmypdf.hocrtransform (Debian: ocrmypdf, see .ci/run)")
	return ""
}

// TestHOCRThroughOcrmypdf turns our hOCR into a PDF with ocrmypdf's
// hocrtransform, as ocrmypdf does with Tesseract's, and reads it back with
// pdftotext: the text must read at CER ≤ 0.02 against ours.
func TestHOCRThroughOcrmypdf(t *testing.T) {
	py := hocrPython(t)
	pdftotext := tool(t, "pdftotext")
	s := readSample(t)
	hocr := writeTemp(t, "page.hocr", render(t, format.HOCR, s.page))
	pdf := hocr + ".pdf"
	run(t, py, "-c", `import sys
from ocrmypdf.hocrtransform import HocrTransform
HocrTransform(hocr_filename=sys.argv[1], dpi=300).to_pdf(out_filename=sys.argv[2], interword_spaces=True)`, hocr, pdf)
	got := string(run(t, pdftotext, pdf, "-"))
	cer := textmetric.CER(got, s.page.Text)
	t.Logf("pdftotext of hocrtransform's PDF: CER %.4f against our text", cer)
	if cer > 0.02 {
		t.Errorf("CER %.4f > 0.02; pdftotext read:\n%s\nour text:\n%s", cer, got, s.page.Text)
	}
}
