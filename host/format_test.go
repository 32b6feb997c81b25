package host

import (
	"bytes"
	"context"
	"errors"
	"html"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ocrhost/ocrhost/format"
	"github.com/ocrhost/ocrhost/function/imageio"
	"github.com/ocrhost/ocrhost/internal/testenv"
	"github.com/ocrhost/ocrhost/internal/textmetric"
)

// formatHost reads PDFs at 72 dpi, the engine's compiled code cached
// beside the user's as docHost does.
func formatHost(t *testing.T, opts ...Option) *Host {
	cache := ""
	if dir, err := os.UserCacheDir(); err == nil {
		cache = filepath.Join(dir, "ocrhost", "wazero")
	}
	return newHost(t, append([]Option{WithDocuments(72, 0, 0, cache)}, opts...)...)
}

// TestFormatsOfADocument asks for a three-page text PDF's result as a PDF
// and as ALTO, and reads both with real consumers: poppler finds three
// pages whose text is each page's, once (pages that carry text get no
// second layer), and xmllint validates the ALTO against its schema with a
// Page per page.
func TestFormatsOfADocument(t *testing.T) {
	testenv.Models(t)
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skipf("pdftotext not installed (Debian poppler-utils, see .ci/run): %v", err)
	}
	h := formatHost(t)
	texts := pageTexts(3)
	resp, err := h.Invoke(context.Background(), &Request{ID: "doc", Data: textPDF(texts), Options: []byte(`{"format":"pdf"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.OutputType != "application/pdf" || !strings.HasPrefix(string(resp.Output), "%PDF-") {
		t.Fatalf("output %q, %d bytes starting %q", resp.OutputType, len(resp.Output), resp.Output[:min(8, len(resp.Output))])
	}
	path := filepath.Join(t.TempDir(), "out.pdf")
	if err := os.WriteFile(path, resp.Output, 0o644); err != nil {
		t.Fatal(err)
	}
	pageText := strings.Split(resp.Text, "\f")
	for i, want := range texts {
		n := strconv.Itoa(i + 1)
		out, err := exec.Command(pdftotext, "-f", n, "-l", n, path, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		if cer := textmetric.CER(string(out), pageText[i]); cer > 0.01 || textmetric.CER(string(out), want) > 0.1 {
			t.Errorf("page %s: pdftotext %q, page text %q (CER %.3f), drawn %q", n, out, pageText[i], cer, want)
		}
	}
	if out, err := exec.Command(pdftotext, "-f", "4", "-l", "4", path, "-").CombinedOutput(); err == nil && len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("a fourth page: %q", out)
	}

	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skipf("xmllint not installed (Debian libxml2-utils, see .ci/run): %v", err)
	}
	xsd := testenv.Shared(t, "testdata/formats/alto-4-4.xsd")
	resp, err = h.Invoke(context.Background(), &Request{ID: "doc", Data: textPDF(texts), Options: []byte(`{"format":"alto"}`)})
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "out.alto.xml")
	if err := os.WriteFile(path, resp.Output, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", xsd, path).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
	if n := strings.Count(string(resp.Output), "<Page "); n != 3 {
		t.Errorf("%d ALTO pages, want 3", n)
	}
}

// TestFormatChoice: the options' format wins over the client's preferred
// media type, which wins over the deployment's format; JSON leaves the
// response as it is; a bad format is invalid input. (Detection alone
// of a bar gives the result: the choice is what is tested.)
func TestFormatChoice(t *testing.T) {
	testenv.Models(t)
	h := newHost(t, WithFormat(format.HOCR))
	img := image.NewGray(image.Rect(0, 0, 300, 200))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for y := 80; y < 100; y++ {
		for x := 40; x < 200; x++ {
			img.SetGray(x, y, color.Gray{0})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	for _, c := range []struct {
		options, accept, want string
	}{
		{`{"stages":["det"]}`, ``, "application/xhtml+xml"},
		{`{"stages":["det"]}`, `text/tab-separated-values`, "text/tab-separated-values; charset=utf-8"},
		{`{"stages":["det"],"format":"text"}`, `text/tab-separated-values`, "text/plain; charset=utf-8"},
		{`{"format":"json","stages":["det"]}`, `application/pdf`, ""},
		{`{"stages":["det"]}`, `application/json`, ""},
		{`{"stages":["det"]}`, `text/html`, "application/xhtml+xml"},
	} {
		resp, err := h.Invoke(context.Background(), &Request{Data: data, Options: []byte(c.options), Accept: c.accept})
		if err != nil {
			t.Fatalf("options %s accept %q: %v", c.options, c.accept, err)
		}
		if resp.OutputType != c.want {
			t.Errorf("options %s accept %q: output %q, want %q", c.options, c.accept, resp.OutputType, c.want)
		}
		if c.want == "" && resp.Output != nil {
			t.Errorf("json: output of %d bytes", len(resp.Output))
		}
	}
	for _, bad := range []string{`{"format":"docx"}`, `{"format":3}`} {
		_, err := h.Invoke(context.Background(), &Request{Data: data, Options: []byte(bad)})
		var f *Failure
		if !errors.As(err, &f) || f.Code != CodeInvalidInput {
			t.Errorf("options %s: %v, want invalid_input", bad, err)
		}
	}
}

// scannedPDF is a PDF of n pages, each the sample page's image and no
// text, as a scanner makes them.
func scannedPDF(t *testing.T, n int) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "testdata", "sample", "phototest.tif"))
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := imageio.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := format.NewWriter(&buf, format.PDF)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := w.WritePage(format.Page{Number: i + 1, Width: img.W, Height: img.H, Image: img, DPI: 72}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestPDFKeepsItsPages asks for a scanned three-page PDF as a PDF, OCRing
// page 2 only: the answer is the input grown by a few KB, a glyphless font
// of the page's characters and the text;
// pikepdf finds pages 1 and 3 the same objects with byte-identical content
// streams and images, and page 2 with more content; pdftotext reads page 2
// at CER ≤ 0.01 against our text, its words within 3 px of ours, and
// nothing on the others.
func TestPDFKeepsItsPages(t *testing.T) {
	testenv.Models(t)
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skipf("pdftotext not installed (Debian poppler-utils, see .ci/run): %v", err)
	}
	h := formatHost(t)
	in := scannedPDF(t, 3)
	resp, err := h.Invoke(context.Background(), &Request{Data: in, Options: []byte(`{"format":"pdf","first_page":2,"last_page":2,"dpi":72}`)})
	if err != nil {
		t.Fatal(err)
	}
	// The text layer adds the font, a few hundred bytes compressed, and a
	// content stream per page.
	t.Logf("%d bytes in, %d out", len(in), len(resp.Output))
	if extra := len(resp.Output) - len(in); extra <= 0 || extra > 8_000 {
		t.Errorf("output %d bytes for an input of %d", len(resp.Output), len(in))
	}
	dir := t.TempDir()
	inPath, outPath := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "out.pdf")
	if err := os.WriteFile(inPath, in, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(outPath, resp.Output, 0o644); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 3; n++ {
		out, err := exec.Command(pdftotext, "-f", strconv.Itoa(n), "-l", strconv.Itoa(n), outPath, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		got := strings.TrimSpace(string(out))
		switch {
		case n == 2:
			if cer := textmetric.CER(got, resp.Text); cer > 0.01 || resp.Text == "" {
				t.Errorf("page 2: pdftotext CER %.4f against our text %q; read %q", cer, resp.Text, got)
			}
		case got != "":
			t.Errorf("page %d was not OCRed but reads %q", n, got)
		}
	}
	// Word boxes: rendered at 72 dpi, a pixel is a point.
	bbox, err := exec.Command(pdftotext, "-bbox", "-f", "2", "-l", "2", outPath, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>`)
	theirs := re.FindAllStringSubmatch(string(bbox), -1)
	worst, words := 0.0, 0
	for _, l := range resp.Pages[0].Lines {
		for _, w := range l.Words {
			words++
			x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
			for _, p := range w.Box {
				x0, y0, x1, y1 = min(x0, p.X), min(y0, p.Y), max(x1, p.X), max(y1, p.Y)
			}
			best := math.Inf(1)
			for _, m := range theirs {
				if html.UnescapeString(m[5]) != w.Text {
					continue
				}
				v := make([]float64, 4)
				for k := range v {
					v[k], _ = strconv.ParseFloat(m[k+1], 64)
				}
				best = min(best, max(math.Abs(v[0]-x0), math.Abs(v[1]-y0), math.Abs(v[2]-x1), math.Abs(v[3]-y1)))
			}
			worst = max(worst, best)
		}
	}
	t.Logf("page 2: %d words, worst pdftotext -bbox edge %.2f px off ours", words, worst)
	if worst > 3 || words == 0 {
		t.Errorf("page 2: a word box is %.2f px off ours (of %d words)", worst, words)
	}

	py := "/usr/bin/python3"
	if exec.Command(py, "-c", "import pikepdf").Run() != nil {
		t.Skip("pikepdf not installed (Debian python3-pikepdf, with ocrmypdf; see .ci/run)")
	}
	out, err := exec.Command(py, "-c", `import sys, pikepdf
a, b = pikepdf.open(sys.argv[1]), pikepdf.open(sys.argv[2])
for i, (p, q) in enumerate(zip(a.pages, b.pages), 1):
    same = p.obj.objgen == q.obj.objgen and p.obj.Contents.objgen == q.obj.Contents.objgen and p.obj.Contents.read_raw_bytes() == q.obj.Contents.read_raw_bytes()
    xa, xb = p.obj.Resources.XObject, q.obj.Resources.XObject
    same = same and all(xa[k].objgen == xb[k].objgen and xa[k].read_raw_bytes() == xb[k].read_raw_bytes() for k in xa.keys())
    print(i, "same" if same else "changed")
print(len(a.pages), len(b.pages))`, inPath, outPath).CombinedOutput()
	if err != nil {
		t.Fatalf("pikepdf: %v\n%s", err, out)
	}
	if want := "1 same\n2 changed\n3 same\n3 3\n"; string(out) != want {
		t.Errorf("pikepdf:\n%s\nwant\n%s", out, want)
	}
}
